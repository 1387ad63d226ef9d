// SPDX-License-Identifier: MIT
#pragma once
// Records a training run into the run store as it happens, and turns stored runs back
// into training configurations (re-run).

#include "storage/run_store.h"
#include "training/train_types.h"

#include <chrono>
#include <set>

namespace qat::store {

/// A TrainObserver that writes a run's metrics, epoch results, states and (downsampled)
/// quantizer traces through its own RunStore connection, batching writes in transactions
/// (at most every 0.5 s, and at every state change). Lives on the training thread.
///
/// Trace downsampling: snapshots arrive every k steps; once a run holds more than
/// kMaxTraceSteps distinct steps, the kept interval doubles and the rows in between are
/// deleted (the first step is always kept), so a long run stays small while its curves
/// keep their shape.
class RunRecorder : public train::TrainObserver {
public:
    static constexpr int64_t kMaxTraceSteps = 256;

    RunRecorder(RunStore& store, int64_t runId, int snapshotEvery);
    ~RunRecorder() override;

    /// Throws StoreError when the database refuses a write (a full disk): the trainer then
    /// ends the run failed. Later events are dropped except the end state.
    void onEvent(const train::TrainEvent& event) override;
    void flush();
    /// Final metrics, per-quantizer initial/final parameters, state. When a write failed
    /// (now or during the run) the run is stored as failed with that message, keeping
    /// what was written. Returns result with the state and message as stored (or, when
    /// even that could not be stored, failed and why), for the caller to report: the CLI
    /// and the window then say what `qatwb runs show` says. Does not throw.
    train::TrainResult finish(train::TrainResult result);
    /// The first write the database refused, "" if none.
    const std::string& writeError() const { return m_writeError; }

private:
    void record(const train::TrainEvent& event);

    RunStore& m_store;
    int64_t m_runId;
    int64_t m_interval;
    std::set<int64_t> m_traceSteps;
    std::vector<MetricPoint> m_metrics;
    std::vector<TracePoint> m_traces;
    std::chrono::steady_clock::time_point m_lastFlush;
    std::string m_writeError;
};

/// The run row for config before training starts: model path and hash, layer summary,
/// plan, hyperparameters, seed, app version, host.
RunRecord describeRun(const train::TrainConfig& config);

/// Hyperparameters as stored (JSON) and back.
std::string hyperparametersJson(const train::TrainConfig& config);
/// Rebuilds the configuration of a stored run (same model, data, plan, hyperparameters,
/// seed). Throws StoreError when the model file is missing or has changed since.
train::TrainConfig configFromRun(const RunRecord& run);

} // namespace qat::store
