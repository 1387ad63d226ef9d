// SPDX-License-Identifier: MIT
#include "controllers/training_controller.h"

#include "common/error.h"
#include "data/data_report.h"
#include "storage/run_recorder.h"
#include "storage/run_store.h"
#include "training/trainer.h"

#include <QTimer>

#include <functional>
#include <mutex>
#include <optional>

namespace qat::ui {

namespace {
// 4 updates a second: each one re-lays out and repaints the status, progress and log. At 10
// a second that took the UI thread 0.7 % of a core more (perf, demo training in the window),
// all of it taken from training, which has every core.
constexpr int kTickMs = 250;
}

/// What the worker and the UI thread share; the worker holds it too, so it outlives
/// whichever side finishes last.
struct TrainingController::Shared {
    train::CancelToken token;
    std::mutex mutex;
    TrainEventBatch events;
    std::optional<train::TrainResult> result;
    int64_t runId = 0;
    std::string databasePath;
    bool runIdReported = false;

    void push(const train::TrainEvent& event)
    {
        const std::lock_guard<std::mutex> lock(mutex);
        events.push_back(event);
    }
};

namespace {

/// Queues every event for the UI thread and passes it to the recorder, on the training thread.
class QueueObserver : public train::TrainObserver {
public:
    QueueObserver(const std::function<void(const train::TrainEvent&)>& push, train::TrainObserver* recorder)
        : m_push(push), m_recorder(recorder)
    {
    }
    void onEvent(const train::TrainEvent& event) override
    {
        m_recorder->onEvent(event);
        m_push(event);
    }

private:
    std::function<void(const train::TrainEvent&)> m_push;
    train::TrainObserver* m_recorder;
};

} // namespace

TrainingController::TrainingController(QObject* parent) : QObject(parent)
{
    m_timer = new QTimer(this);
    m_timer->setInterval(kTickMs);
    connect(m_timer, &QTimer::timeout, this, &TrainingController::onTick);
}

TrainingController::~TrainingController()
{
    if (m_shared) {
        m_shared->token.cancel = true;
    }
    if (m_worker.joinable()) {
        m_worker.join();
    }
}

QString TrainingController::databasePath() const
{
    if (!m_databasePath.isEmpty()) {
        return m_databasePath;
    }
    const auto fromEnv = qEnvironmentVariable("QATWB_RUNS_DB");
    return fromEnv.isEmpty() ? QString::fromStdString(store::defaultDatabasePath()) : fromEnv;
}

bool TrainingController::start(const train::TrainConfig& config,
                               std::shared_ptr<const quant::QuantizerRegistry> registry)
{
    if (isActive() || !registry) {
        return false;
    }
    m_shared = std::make_shared<Shared>();
    m_shared->databasePath = databasePath().toStdString();
    m_runId = 0;
    m_result = {};
    auto shared = m_shared;
    // Everything that touches the database or the model runs here, off the UI thread: the
    // run record hashes the model file, and a RunStore connection belongs to one thread.
    m_worker = std::thread([shared, request = config, registry] {
        train::TrainResult result;
        try {
            // The data's automatic choices are resolved before the run is recorded, so the
            // run stores what is fed; a data mistake becomes a failed run with its reason.
            auto config = request;
            std::string dataError;
            std::vector<int64_t> modelInput;
            try {
                const auto report = data::inspectData(config.data, config.dataOptions, config.modelPath, 0);
                config.dataOptions = report.resolved;
                modelInput = report.modelInput;
            } catch (const Error& e) {
                dataError = e.what();
            }
            store::RunStore runs(shared->databasePath);
            const auto id = runs.createRun(store::describeRun(config, modelInput));
            {
                const std::lock_guard<std::mutex> lock(shared->mutex);
                shared->runId = id;
            }
            store::RunRecorder recorder(runs, id, config.snapshotEvery);
            QueueObserver observer([&shared](const train::TrainEvent& e) { shared->push(e); }, &recorder);
            if (dataError.empty()) {
                result = train::runTraining(config, *registry, &observer, &shared->token);
            } else {
                result.state = train::RunState::Failed;
                result.message = dataError;
                observer.onEvent(train::StateEvent{result.state, result.message});
            }
            result = recorder.finish(std::move(result));
        } catch (const std::exception& e) {
            // Without a record there is no run: nothing was trained.
            result.state = train::RunState::Failed;
            result.message = std::string("the run could not be recorded, so it did not start: ") + e.what();
        }
        const std::lock_guard<std::mutex> lock(shared->mutex);
        shared->result = std::move(result);
    });
    m_timer->start();
    Q_EMIT started();
    return true;
}

void TrainingController::setPaused(bool paused)
{
    if (m_shared && isActive()) {
        m_shared->token.pause = paused;
    }
}

bool TrainingController::isPaused() const
{
    return m_shared && isActive() && m_shared->token.pause;
}

void TrainingController::stop()
{
    if (m_shared && isActive()) {
        m_shared->token.cancel = true;
        m_shared->token.pause = false;
    }
}

void TrainingController::onTick()
{
    if (!m_shared) {
        return;
    }
    TrainEventBatch events;
    std::optional<train::TrainResult> result;
    int64_t runId = 0;
    {
        const std::lock_guard<std::mutex> lock(m_shared->mutex);
        events.swap(m_shared->events);
        result.swap(m_shared->result);
        runId = m_shared->runId;
    }
    if (runId != 0 && !m_shared->runIdReported) {
        m_shared->runIdReported = true;
        m_runId = runId;
        Q_EMIT runRecorded(runId, QString::fromStdString(m_shared->databasePath));
    }
    if (!events.empty()) {
        Q_EMIT eventsArrived(events);
    }
    if (result) {
        m_timer->stop();
        m_worker.join(); // the worker's last act was to publish the result
        m_result = std::move(*result);
        Q_EMIT finished(m_result);
    }
}

} // namespace qat::ui
