// SPDX-License-Identifier: MIT
#pragma once
// A prepared SQLite statement with bound values; throws StoreError with the database's path
// and SQLite's message. Internal to the run store.

#include "storage/run_store.h"

#include <sqlite3.h>

#include <optional>
#include <string>

namespace qat::store {

/// Turns an SQLite result code into a StoreError a user can act on.
[[noreturn]] void throwSqlite(sqlite3* db, int code, const std::string& path, const std::string& doing);

class Statement {
public:
    Statement(sqlite3* db, const std::string& path, const char* sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, int64_t value);
    Statement& bind(int index, double value);
    Statement& bind(int index, const std::string& value);
    Statement& bind(int index, const std::optional<double>& value);
    /// Binds bytes as a BLOB (text binds go through bind(int, std::string)).
    Statement& bindBlob(int index, const std::string& bytes);
    /// Steps once; true while a row is available.
    bool step();
    /// Steps to completion and resets for another use.
    void run();
    void reset();

    int64_t integer(int column) const;
    double real(int column) const;
    std::optional<double> optionalReal(int column) const;
    std::string text(int column) const;
    std::string blob(int column) const;

private:
    sqlite3* m_db;
    std::string m_path;
    sqlite3_stmt* m_statement = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT, rolled back when an exception leaves the scope.
class Transaction {
public:
    Transaction(sqlite3* db, const std::string& path);
    ~Transaction();
    void commit();

private:
    sqlite3* m_db;
    std::string m_path;
    bool m_done = false;
};

} // namespace qat::store
