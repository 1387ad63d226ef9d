// SPDX-License-Identifier: MIT
#pragma once
// The run history: one SQLite file (WAL) holding every QAT run, its metrics and quantizer
// traces. Plain data in and out (no torch, no Qt).

#include "common/error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace qat::store {

/// A database that cannot be opened, read or written: the message names the file, says
/// what is wrong and what to do; the file is left as it was.
class StoreError : public qat::Error {
public:
    using qat::Error::Error;
};

/// One run's row. JSON-valued fields hold JSON text.
struct RunRecord {
    int64_t id = 0;
    std::string name;
    std::string created;  ///< ISO 8601, UTC
    std::string finished; ///< empty while running
    std::string state = "created";
    std::string message;
    std::string modelPath;
    std::string modelHash; ///< SHA-256 of the model file
    std::string layerSummary = "[]";
    std::string dataset;
    std::string plan = "{}";
    std::string hyperparameters = "{}";
    int64_t seed = 0;
    std::string appVersion;
    std::string host;
    int64_t pid = 0;
    std::string notes;
    std::vector<std::string> tags;
    std::optional<double> floatTop1;
    std::optional<double> qatTop1;
    std::optional<double> floatLoss;
    std::optional<double> qatLoss;
    int64_t steps = 0;
    double seconds = 0;
};

struct QuantizerRow {
    std::string name;
    std::string layer;
    std::string target;
    std::string training;
    std::string method;
    std::string config = "{}";  ///< JSON
    std::string initial = "{}"; ///< JSON snapshot
    std::string final = "{}";
};

struct MetricPoint {
    int64_t step = 0;
    std::string name; ///< "loss", "accuracy", "lr", ...
    double value = 0;
};

struct TracePoint {
    int64_t step = 0;
    std::string quantizer;
    std::string parameter; ///< "threshold", "step", "min", ...
    int64_t channel = 0;
    double value = 0;
};

struct EpochRow {
    int epoch = 0;
    double top1 = 0;
    double loss = 0;
};

/// One file written by an export, with the parity report (JSON) of that export.
struct ExportRow {
    int64_t id = 0;
    std::string created;
    std::string format; ///< "spec", "torchscript", "onnx"
    std::string path;
    std::string parity = "{}";
};

/// One layer's per-layer sensitivity (analysis/sensitivity.h), measured in one mode on
/// `images` test images.
struct SensitivityRow {
    std::string mode;    ///< "trained", "float", or "legacy" (an older version's measurement)
    std::string layer;
    std::string kind;    ///< "" for legacy rows
    double top1 = 0;
    double drop = 0;     ///< the top-1 this layer costs (see analysis::LayerSensitivity::drop)
    int64_t images = 0;
    std::optional<double> floatTop1;     ///< the float model (legacy rows: unset)
    std::optional<double> quantizedTop1; ///< every quantizer on (legacy rows: unset)
    std::string created; ///< ISO 8601, UTC (set by the store)
};

/// Which runs listRuns returns and in what order.
struct RunFilter {
    enum class Order { Id = 1, Name, Model, Preset, WeightBits, State, Created, FloatTop1, QatTop1, Seconds, Tags };

    std::string state;  ///< empty: any; matched against the state as true now
    std::string model;  ///< substring of the model path; empty: any
    std::string text;   ///< case-insensitive substring of name, model, state, preset, tags or notes
    Order order = Order::Id;
    bool descending = false; ///< ties are broken by id, in the same direction
    int64_t limit = 0;  ///< > 0: at most this many runs (a page)
    int64_t offset = 0; ///< with limit: skip this many first
};

/// Changes whenever a run is added, deleted, changes state (also by its process dying),
/// finishes, or a training run gets its float or epoch top-1 (also from another process),
/// but not on every metric written: cheap to read, so a window can poll it.
struct ChangeStamp {
    int64_t runs = 0;
    int64_t maxId = 0;
    std::string lastFinished;
    std::string unfinished; ///< "id:state,..." of the runs still training (or recorded so)
    bool operator==(const ChangeStamp& o) const
    {
        return runs == o.runs && maxId == o.maxId && lastFinished == o.lastFinished && unfinished == o.unfinished;
    }
    bool operator!=(const ChangeStamp& o) const { return !(*this == o); }
};

/// One connection to a run database. Opening creates the file and schema if needed,
/// migrates older schemas forward, and (read-write only) writes down as "interrupted" the
/// runs whose process on this host is gone. Every read reports states as true now
/// (run_state.h: settleState), so a read-only connection sees those runs interrupted too,
/// without writing. A connection belongs to one thread; use one per thread (WAL lets
/// readers and the one writer work side by side).
class RunStore {
public:
    enum class Access { ReadWrite = 1, ReadOnly };

    /// 2: checkpoints, 3: per-layer sensitivity, 4: sensitivity in two modes
    static constexpr int kSchemaVersion = 4;

    explicit RunStore(const std::string& path, Access access = Access::ReadWrite);
    ~RunStore();
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;

    const std::string& path() const { return m_path; }

    int64_t createRun(const RunRecord& run);
    void setState(int64_t id, const std::string& state, const std::string& message = {});
    /// Final metrics and state; sets `finished`.
    void finishRun(const RunRecord& run);
    void updateNotes(int64_t id, const std::string& notes, const std::vector<std::string>& tags);
    /// Replaces the hyperparameters JSON (what only the end of a run knows, e.g. the
    /// throughput of each rank of a distributed run).
    void updateHyperparameters(int64_t id, const std::string& json);
    void saveQuantizers(int64_t id, const std::vector<QuantizerRow>& rows);
    /// Also the run's QAT top-1 and loss until the run ends (so a reader shows the latest).
    void saveEpoch(int64_t id, const EpochRow& epoch);
    /// The float model's top-1 and loss, measured before the first step.
    void saveFloatResult(int64_t id, double top1, double loss);
    /// Appends in one transaction.
    void appendMetrics(int64_t id, const std::vector<MetricPoint>& points);
    void appendTraces(int64_t id, const std::vector<TracePoint>& points);
    /// Both in one transaction: a reader sees a step's metrics and traces together.
    void append(int64_t id, const std::vector<MetricPoint>& metrics, const std::vector<TracePoint>& traces);
    /// Deletes trace rows whose step is not a multiple of interval (downsampling).
    void thinTraces(int64_t id, int64_t interval);

    std::vector<RunRecord> listRuns(const RunFilter& filter = {}) const;
    /// How many runs match filter (its order, limit and offset are ignored).
    int64_t countRuns(const RunFilter& filter = {}) const;
    ChangeStamp changeStamp() const;
    std::optional<RunRecord> run(int64_t id) const;
    std::vector<QuantizerRow> quantizers(int64_t id) const;
    std::vector<EpochRow> epochs(int64_t id) const;
    std::vector<MetricPoint> metrics(int64_t id, const std::string& name = {}) const;
    std::vector<TracePoint> traces(int64_t id, const std::string& quantizer = {}) const;
    int64_t traceSteps(int64_t id) const; ///< distinct steps with traces
    /// The run's trained state (model and quantizers; see engine/checkpoint.h), replacing any.
    void saveCheckpoint(int64_t id, int64_t step, const std::string& bytes);
    /// Empty when the run has none (failed before training, or recorded by an older version).
    std::string checkpoint(int64_t id) const;
    bool hasCheckpoint(int64_t id) const; ///< without reading the blob
    void saveExport(int64_t id, const ExportRow& row);
    std::vector<ExportRow> exports(int64_t id) const;
    /// Replaces the run's per-layer sensitivity of one mode (rows in layer order).
    void saveSensitivity(int64_t id, const std::string& mode, const std::vector<SensitivityRow>& rows);
    /// Every mode measured (ordered by mode, then as saved), or only `mode`; empty when never measured.
    std::vector<SensitivityRow> sensitivity(int64_t id, const std::string& mode = {}) const;
    /// Removes the run and everything recorded for it. Returns false when there was none.
    bool deleteRun(int64_t id);
    /// Marks runs still training on this host whose process is gone as "interrupted" (done
    /// when a writer opens the file; a window that stays open calls it while polling).
    /// Returns how many it marked.
    int markInterrupted();
    /// Runs PRAGMA integrity_check; "ok" when the file is sound.
    std::string integrityCheck() const;

private:
    void migrate();

    std::string m_path;
    sqlite3* m_db = nullptr;
};

/// $XDG_DATA_HOME/qat-workbench/runs.sqlite, else ~/.local/share/qat-workbench/runs.sqlite.
std::string defaultDatabasePath();

/// The current time as ISO 8601 UTC ("2026-11-27T10:05:17Z").
std::string nowIso8601();

} // namespace qat::store
