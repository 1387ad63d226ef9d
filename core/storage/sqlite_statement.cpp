// SPDX-License-Identifier: MIT
#include "storage/sqlite_statement.h"

namespace qat::store {

void throwSqlite(sqlite3* db, int code, const std::string& path, const std::string& doing)
{
    const int primary = code & 0xff;
    const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        throw StoreError(path + ": the run database is locked by another process (" + detail + ") while " + doing
                         + "; wait for it to finish or close it, then try again");
    }
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
        throw StoreError(path + ": not a QAT Workbench run database, or a damaged one (" + detail
                         + "); it was left untouched: move it away and a new database will be created, "
                           "or pass another one with --db");
    }
    if (primary == SQLITE_READONLY || primary == SQLITE_PERM || primary == SQLITE_CANTOPEN) {
        throw StoreError(path + ": cannot write the run database (" + detail + ") while " + doing
                         + "; check the file and folder permissions, or pass another one with --db");
    }
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR) {
        throw StoreError(path + ": writing the run database failed (" + detail + ") while " + doing
                         + "; the disk may be full. What was written before is kept");
    }
    throw StoreError(path + ": SQLite error while " + doing + ": " + detail);
}

Statement::Statement(sqlite3* db, const std::string& path, const char* sql) : m_db(db), m_path(path)
{
    const int code = sqlite3_prepare_v2(db, sql, -1, &m_statement, nullptr);
    if (code != SQLITE_OK) {
        throwSqlite(db, code, path, "preparing a query");
    }
}

Statement::~Statement()
{
    sqlite3_finalize(m_statement);
}

Statement& Statement::bind(int index, int64_t value)
{
    sqlite3_bind_int64(m_statement, index, value);
    return *this;
}

Statement& Statement::bind(int index, double value)
{
    sqlite3_bind_double(m_statement, index, value);
    return *this;
}

Statement& Statement::bind(int index, const std::string& value)
{
    sqlite3_bind_text(m_statement, index, value.c_str(), int(value.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bindBlob(int index, const std::string& bytes)
{
    sqlite3_bind_blob(m_statement, index, bytes.data(), int(bytes.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind(int index, const std::optional<double>& value)
{
    if (value) {
        sqlite3_bind_double(m_statement, index, *value);
    } else {
        sqlite3_bind_null(m_statement, index);
    }
    return *this;
}

bool Statement::step()
{
    const int code = sqlite3_step(m_statement);
    if (code == SQLITE_ROW) {
        return true;
    }
    if (code == SQLITE_DONE) {
        return false;
    }
    sqlite3_reset(m_statement);
    throwSqlite(m_db, code, m_path, "running a query");
}

void Statement::run()
{
    while (step()) {
    }
    reset();
}

void Statement::reset()
{
    sqlite3_reset(m_statement);
    sqlite3_clear_bindings(m_statement);
}

int64_t Statement::integer(int column) const
{
    return sqlite3_column_int64(m_statement, column);
}

double Statement::real(int column) const
{
    return sqlite3_column_double(m_statement, column);
}

std::optional<double> Statement::optionalReal(int column) const
{
    if (sqlite3_column_type(m_statement, column) == SQLITE_NULL) {
        return std::nullopt;
    }
    return sqlite3_column_double(m_statement, column);
}

std::string Statement::text(int column) const
{
    const auto* text = sqlite3_column_text(m_statement, column);
    return text != nullptr ? reinterpret_cast<const char*>(text) : std::string();
}

std::string Statement::blob(int column) const
{
    const auto* data = static_cast<const char*>(sqlite3_column_blob(m_statement, column));
    return data != nullptr ? std::string(data, size_t(sqlite3_column_bytes(m_statement, column))) : std::string();
}

Transaction::Transaction(sqlite3* db, const std::string& path) : m_db(db), m_path(path)
{
    const int code = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (code != SQLITE_OK) {
        throwSqlite(db, code, path, "starting a transaction");
    }
}

Transaction::~Transaction()
{
    if (!m_done) {
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void Transaction::commit()
{
    const int code = sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr);
    if (code != SQLITE_OK) {
        throwSqlite(m_db, code, m_path, "committing");
    }
    m_done = true;
}

} // namespace qat::store
