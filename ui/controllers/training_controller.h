// SPDX-License-Identifier: MIT
#pragma once

#include "training/train_types.h"

#include <QObject>
#include <QString>

#include <memory>
#include <thread>
#include <vector>

class QTimer;

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::ui {

using TrainEventBatch = std::vector<train::TrainEvent>;

/// Runs one QAT run at a time on a worker thread: records it in the run store (as the CLI
/// does: created before training, metrics from the first step, final quantizers at the
/// end), trains through train::runTraining, and hands the trainer's events to the UI
/// thread in batches, once per tick (~30 Hz), never once per step. UI thread only; the
/// destructor stops a running run and waits for its current step.
class TrainingController : public QObject {
    Q_OBJECT
public:
    explicit TrainingController(QObject* parent = nullptr);
    ~TrainingController() override;

    /// The run database; default: $QATWB_RUNS_DB, else the CLI's default path.
    void setDatabasePath(const QString& path) { m_databasePath = path; }
    QString databasePath() const;

    /// Starts a run; false when one is active already.
    bool start(const train::TrainConfig& config, std::shared_ptr<const quant::QuantizerRegistry> registry);
    void setPaused(bool paused);
    /// Asks the run to stop before its next step.
    void stop();
    bool isActive() const { return m_worker.joinable(); }
    bool isPaused() const;
    /// The id of the current (or last) run in the database; 0 before it is recorded.
    qint64 runId() const { return m_runId; }
    const train::TrainResult& lastResult() const { return m_result; }

Q_SIGNALS:
    void started();
    /// The run is in the database (id) before training starts.
    void runRecorded(qint64 runId, const QString& databasePath);
    /// Events since the last tick, in order.
    void eventsArrived(const qat::ui::TrainEventBatch& events);
    /// The run ended (finished, cancelled, diverged or failed); result.message says why.
    void finished(const qat::train::TrainResult& result);

private:
    struct Shared;
    void onTick();

    std::shared_ptr<Shared> m_shared;
    std::thread m_worker;
    QTimer* m_timer = nullptr;
    QString m_databasePath;
    qint64 m_runId = 0;
    train::TrainResult m_result;
};

} // namespace qat::ui
