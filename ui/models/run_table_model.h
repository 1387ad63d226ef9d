// SPDX-License-Identifier: MIT
#pragma once

#include "storage/run_store.h"

#include <QAbstractTableModel>
#include <QList>

#include <memory>
#include <vector>

namespace qat::ui {

/// The run history as a table, loaded a page at a time (canFetchMore/fetchMore), so a
/// database with thousands of runs opens at once. Filtering and sorting happen in SQL (over
/// every run, not only the loaded pages). refresh() picks up runs added, deleted or finished
/// by this or another process. Owns its own read-write RunStore connection. UI thread only.
class RunTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Id, Model, Plan, Bits, State, Created, FloatTop1, QatTop1, Duration, Tags, ColumnCount };
    enum Role { RunIdRole = Qt::UserRole + 1 };
    static constexpr int kPageSize = 200;

    explicit RunTableModel(QObject* parent = nullptr);
    ~RunTableModel() override;

    /// Opens path (creating or migrating it); throws store::StoreError.
    void setDatabasePath(const QString& path);
    QString databasePath() const;
    /// The connection the history view reads details through (nullptr before setDatabasePath).
    store::RunStore* store() const { return m_store.get(); }

    /// text: a case-insensitive substring of name, model, state, preset, tags or notes;
    /// state: exact, empty for any. Reloads from the first page.
    void setFilter(const QString& text, const QString& state);
    /// Reloads when the database changed since the last load (cheap when it did not);
    /// true when it reloaded.
    bool refresh();
    /// Reloads now (after this window changed something).
    void reload();
    /// Runs matching the filter in the database (loaded or not).
    qint64 totalCount() const { return m_total; }

    qint64 runId(int row) const;
    const store::RunRecord* record(int row) const;
    int rowOf(qint64 runId) const; ///< -1 when not loaded

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    bool canFetchMore(const QModelIndex& parent) const override;
    void fetchMore(const QModelIndex& parent) override;
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

private:
    void load(int count);
    void resetTo(int count);

    std::unique_ptr<store::RunStore> m_store;
    store::RunFilter m_filter;
    store::ChangeStamp m_stamp;
    std::vector<store::RunRecord> m_rows;
    qint64 m_total = 0;
    bool m_fetchBlocked = false;
};

/// "w4 a8" from a plan's JSON (defaults; "*" when rules or per-layer overrides change some).
QString planBits(const std::string& planJson);
/// The preset the plan started from, or "custom".
QString planPreset(const std::string& planJson);
/// The deployment target a stored plan used ("generic" for plans from before targets).
QString planTarget(const std::string& planJson);

} // namespace qat::ui
