// SPDX-License-Identifier: MIT
// The run database's schema and its forward migrations (PRAGMA user_version).
#include "storage/run_store.h"

#include "storage/sqlite_statement.h"

namespace qat::store {

namespace {

// Version 1 of the schema. Later versions add a migration step in migrate().
const char* const kSchemaV1 = R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created TEXT NOT NULL,
  finished TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  model_path TEXT NOT NULL,
  model_hash TEXT NOT NULL,
  layer_summary TEXT NOT NULL,
  dataset TEXT NOT NULL,
  plan TEXT NOT NULL,
  hyperparameters TEXT NOT NULL,
  seed INTEGER NOT NULL,
  app_version TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  notes TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '[]',
  float_top1 REAL, qat_top1 REAL, float_loss REAL, qat_loss REAL,
  steps INTEGER NOT NULL DEFAULT 0,
  seconds REAL NOT NULL DEFAULT 0
);
CREATE TABLE quantizers (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL, layer TEXT NOT NULL, target TEXT NOT NULL, training TEXT NOT NULL,
  method TEXT NOT NULL, config TEXT NOT NULL, initial TEXT NOT NULL, final TEXT NOT NULL,
  PRIMARY KEY (run_id, name)
);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL
);
CREATE INDEX metrics_by_run ON metrics(run_id, name, step);
CREATE TABLE traces (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL, quantizer TEXT NOT NULL, parameter TEXT NOT NULL,
  channel INTEGER NOT NULL, value REAL NOT NULL
);
CREATE INDEX traces_by_run ON traces(run_id, quantizer, step);
CREATE TABLE epochs (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch INTEGER NOT NULL, top1 REAL NOT NULL, loss REAL NOT NULL,
  PRIMARY KEY (run_id, epoch)
);
CREATE TABLE exports (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  created TEXT NOT NULL, format TEXT NOT NULL, path TEXT NOT NULL, parity TEXT NOT NULL DEFAULT '{}'
);
)sql";

// Version 2: each run's trained state, for export and re-runs.
const char* const kSchemaV2 = R"sql(
CREATE TABLE checkpoints (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  created TEXT NOT NULL, step INTEGER NOT NULL, data BLOB NOT NULL
);
)sql";

// Version 3: per-layer sensitivity (one layer quantized at a time). "drop" is an SQL
// keyword, hence top1_drop.
const char* const kSchemaV3 = R"sql(
CREATE TABLE sensitivity (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  layer TEXT NOT NULL, top1 REAL NOT NULL, top1_drop REAL NOT NULL, images INTEGER NOT NULL, created TEXT NOT NULL,
  PRIMARY KEY (run_id, layer)
);
)sql";

// Version 4: sensitivity in two modes (analysis/sensitivity.h) with its baselines. Rows of
// version 3 measured the trained weights with one layer quantized and the rest float: they
// are kept as mode "legacy" (their float top-1 was that of the trained weights, not the
// float model's, so it is left unset).
const char* const kSchemaV4 = R"sql(
CREATE TABLE sensitivity_v4 (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  mode TEXT NOT NULL, layer TEXT NOT NULL, kind TEXT NOT NULL DEFAULT '',
  top1 REAL NOT NULL, top1_drop REAL NOT NULL, float_top1 REAL, quantized_top1 REAL,
  images INTEGER NOT NULL, created TEXT NOT NULL,
  PRIMARY KEY (run_id, mode, layer)
);
INSERT INTO sensitivity_v4 (run_id, mode, layer, top1, top1_drop, images, created)
  SELECT run_id, 'legacy', layer, top1, top1_drop, images, created FROM sensitivity ORDER BY rowid;
DROP TABLE sensitivity;
ALTER TABLE sensitivity_v4 RENAME TO sensitivity;
)sql";

void exec(sqlite3* db, const std::string& path, const char* sql, const char* doing)
{
    const int code = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (code != SQLITE_OK) {
        throwSqlite(db, code, path, doing);
    }
}

} // namespace

void RunStore::migrate()
{
    // Read before writing anything: a foreign, damaged or newer file must stay untouched.
    int version = 0;
    int64_t objects = 0;
    {
        Statement s(m_db, m_path, "PRAGMA user_version");
        if (s.step()) version = int(s.integer(0));
    }
    {
        Statement s(m_db, m_path, "SELECT count(*) FROM sqlite_master");
        if (s.step()) objects = s.integer(0);
    }
    if (version > kSchemaVersion) {
        throw StoreError(m_path + ": written by a newer QAT Workbench (schema version " + std::to_string(version)
                         + ", this one knows up to " + std::to_string(kSchemaVersion)
                         + "); it was left untouched: update QAT Workbench or pass another file with --db");
    }
    if (version == 0 && objects > 0) {
        throw StoreError(m_path + ": an SQLite file that is not a QAT Workbench run database; it was left "
                                  "untouched: pass another file with --db");
    }
    exec(m_db, m_path, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    if (sqlite3_db_readonly(m_db, "main") == 1) {
        if (version < kSchemaVersion) {
            throw StoreError(m_path + ": the run database is read-only and needs upgrading or creating; "
                                      "make it writable");
        }
        return;
    }
    exec(m_db, m_path, "PRAGMA journal_mode = WAL", "switching to WAL mode");
    if (version == kSchemaVersion) {
        return;
    }
    Transaction transaction(m_db, m_path);
    if (version < 1) {
        exec(m_db, m_path, kSchemaV1, "creating the schema");
    }
    if (version < 2) {
        exec(m_db, m_path, kSchemaV2, "adding checkpoints to the schema");
    }
    if (version < 3) {
        exec(m_db, m_path, kSchemaV3, "adding per-layer sensitivity to the schema");
    }
    if (version < 4) {
        exec(m_db, m_path, kSchemaV4, "adding sensitivity modes to the schema");
    }
    // Future versions: if (version < 5) { ... } and so on, each step kept forever.
    exec(m_db, m_path, ("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str(), "setting the version");
    transaction.commit();
}

} // namespace qat::store
