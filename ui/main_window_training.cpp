// SPDX-License-Identifier: MIT
// MainWindow's training side: starting a run from the Training dock, the controller's events
// (Live Plots, the Log, progress and ETA), the end of a run, and re-running a stored run.
#include "main_window.h"

#include "controllers/model_load_controller.h"
#include "controllers/training_controller.h"
#include "models/plan_table_model.h"
#include "models/run_table_model.h"
#include "storage/run_recorder.h"
#include "storage/run_state.h"
#include "views/data_view.h"
#include "views/history_view.h"
#include "views/quantization_view.h"
#include "views/training_view.h"
#include "widgets/live_plots.h"
#include "widgets/message_banner.h"

#include <QAction>
#include <QDockWidget>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>
#include <QTabWidget>
#include <QUndoStack>

namespace qat::ui {

namespace {

QString percent(double fraction)
{
    return QStringLiteral("%1 %").arg(fraction * 100, 0, 'f', 2);
}

QString duration(double seconds)
{
    const auto s = qint64(seconds + 0.5);
    return s >= 3600 ? QStringLiteral("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QLatin1Char('0')).arg(s % 60, 2, 10, QLatin1Char('0'))
                     : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

} // namespace

void MainWindow::setRunDatabasePath(const QString& path)
{
    m_training->setDatabasePath(path);
    m_history->setDatabasePath(m_training->databasePath());
}

bool MainWindow::loadRun(qint64 runId)
{
    auto fail = [this](const QString& text) {
        m_banner->showMessage(MessageBanner::Kind::Error, text);
        return false;
    };
    if (m_training->isActive()) {
        return fail(tr("A run is training; stop it (Ctrl+.) before loading another run's settings."));
    }
    auto* store = m_history->runModel()->store();
    const auto record = store != nullptr ? store->run(runId) : std::nullopt;
    if (!record) {
        return fail(tr("There is no run %1 in the history.").arg(runId));
    }
    train::TrainConfig config;
    try {
        config = store::configFromRun(*record);
    } catch (const std::exception& e) {
        return fail(tr("Run %1 cannot be loaded: %2").arg(runId).arg(QString::fromStdString(e.what())));
    }
    const auto path = QString::fromStdString(config.modelPath);
    if (!m_currentPath.isEmpty() && QFileInfo(path).canonicalFilePath() == QFileInfo(m_currentPath).canonicalFilePath()) {
        applyRun(runId, config);
        return true;
    }
    m_pendingRun = std::make_pair(runId, config);
    openModel(path);
    return true;
}

void MainWindow::applyRun(qint64 runId, const train::TrainConfig& config)
{
    auto* plan = m_quantView->planModel();
    if (!plan->replacePlan(config.plan, tr("Load the plan of run %1").arg(runId))) {
        m_banner->showMessage(MessageBanner::Kind::Error,
                              tr("The plan of run %1 does not fit this model: %2").arg(runId).arg(plan->lastError()));
        return;
    }
    m_trainingView->setConfig(config);
    m_dataView->setOptions(config.dataOptions);
    m_trainingDock->show();
    showPage(Page::Quantization);
    const auto text = tr("Loaded the plan and training settings of run %1: Start (Ctrl+R) runs it again as a new run, "
                         "or change the plan first.").arg(runId);
    m_banner->showMessage(MessageBanner::Kind::Info, text);
    appendLog(text);
}

bool MainWindow::startTraining()
{
    if (m_currentPath.isEmpty()) {
        m_banner->showMessage(MessageBanner::Kind::Error, tr("Open a model before starting a run (Ctrl+O)."));
        return false;
    }
    if (m_training->isActive()) {
        return false;
    }
    auto config = m_trainingView->config();
    config.modelPath = m_currentPath.toStdString();
    try {
        config.dataOptions = m_dataView->options();
    } catch (const std::exception& e) {
        m_banner->showMessage(MessageBanner::Kind::Error, tr("Data page: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    config.plan = m_quantView->planModel()->plan();
    // A calibration chosen in the dock applies to every quantizer, as the CLI's --init does.
    if (const auto init = m_trainingView->calibration()) {
        config.plan.weights.config.init = *init;
        config.plan.activations.config.init = *init;
    }
    m_plots->reset();
    m_firstStepSeconds = -1;
    m_banner->hide();
    if (!m_training->start(config, m_registry)) {
        return false;
    }
    setTrainingLocked(true);
    m_progress->setRange(0, 0);
    m_progress->setVisible(true);
    m_eta->setText(tr("preparing..."));
    m_trainingView->setStatus(tr("Starting: loading the data and the model..."));
    appendLog(tr("starting a run of %1 on %2").arg(QFileInfo(m_currentPath).fileName(), QString::fromStdString(config.data)));
    showPage(Page::Plots);
    return true;
}

void MainWindow::connectTraining()
{
    connect(m_trainingView, &TrainingView::startRequested, this, &MainWindow::startTraining);
    connect(m_trainingView, &TrainingView::pauseRequested, m_training, &TrainingController::setPaused);
    connect(m_trainingView, &TrainingView::stopRequested, this, [this] {
        m_training->stop();
        m_trainingView->setActivity(TrainingView::Activity::Stopping);
        m_trainingView->setStatus(tr("Stopping after the current step..."));
    });
    connect(m_training, &TrainingController::runRecorded, this, [this](qint64 id, const QString& db) {
        appendLog(tr("run %1 recorded in %2").arg(id).arg(db));
        m_history->refresh();
    });
    connect(m_training, &TrainingController::finished, this, &MainWindow::onTrainingFinished);
    connect(m_training, &TrainingController::eventsArrived, this, [this](const TrainEventBatch& events) {
        m_plots->append(events);
        const train::StepEvent* last = nullptr;
        for (const auto& event : events) {
            if (const auto* step = std::get_if<train::StepEvent>(&event)) {
                last = step;
                if (m_firstStepSeconds < 0) {
                    m_firstStepSeconds = step->seconds;
                    m_firstStep = step->step;
                }
            } else if (const auto* state = std::get_if<train::StateEvent>(&event)) {
                if (state->state == train::RunState::Paused) {
                    m_trainingView->setActivity(TrainingView::Activity::Paused);
                } else if (state->state == train::RunState::Running
                           && m_trainingView->activity() != TrainingView::Activity::Stopping) {
                    m_trainingView->setActivity(TrainingView::Activity::Running);
                }
                if (state->state == train::RunState::Calibrating) {
                    m_trainingView->setStatus(tr("Calibrating the quantizers..."));
                    m_eta->setText(tr("calibrating..."));
                }
                // How the run ended is logged once it is recorded (onTrainingFinished), in the
                // words the database keeps.
                const auto line = store::stateLine(train::toString(state->state), state->message);
                if (store::isTraining(train::toString(state->state))) {
                    appendLog(tr("run %1 %2").arg(m_training->runId()).arg(QString::fromStdString(line)));
                }
            } else if (const auto* log = std::get_if<train::LogEvent>(&event)) {
                appendLog(QString::fromStdString(log->text));
            } else if (const auto* epoch = std::get_if<train::EpochEvent>(&event)) {
                appendLog(tr("epoch %1: test top-1 %2, loss %3").arg(epoch->epoch).arg(percent(epoch->top1)).arg(epoch->loss, 0, 'f', 4));
            }
        }
        if (last != nullptr) {
            m_progress->setRange(0, int(last->totalSteps));
            m_progress->setValue(int(last->step));
            const auto done = last->step - m_firstStep;
            if (done > 0) {
                const double perStep = (last->seconds - m_firstStepSeconds) / double(done);
                m_eta->setText(tr("ETA %1").arg(duration(perStep * double(last->totalSteps - last->step))));
            }
            if (m_trainingView->activity() != TrainingView::Activity::Stopping) {
                m_trainingView->setStatus(tr("Run %1, epoch %2: step %3 of %4, loss %5")
                                              .arg(m_training->runId()).arg(last->epoch).arg(last->step)
                                              .arg(last->totalSteps).arg(last->loss, 0, 'f', 4));
            }
        }
    });
}

void MainWindow::onTrainingFinished(const train::TrainResult& result)
{
    setTrainingLocked(false);
    m_history->refresh();
    m_progress->setVisible(false);
    m_eta->clear();
    if (result.floatTop1 >= 0 && m_plots->floatTop1() < 0) {
        m_plots->setFloatTop1(result.floatTop1);
    }
    // The state and message as recorded (RunRecorder::finish), worded as `qatwb runs show`
    // and the History word them.
    QString text = tr("Run %1 %2").arg(m_training->runId()).arg(
        QString::fromStdString(store::stateLine(train::toString(result.state), result.message)));
    if (result.qatTop1 >= 0) {
        text += tr("; QAT top-1 %1").arg(percent(result.qatTop1));
        if (result.floatTop1 >= 0) {
            text += tr(" (float %1)").arg(percent(result.floatTop1));
        }
    }
    if (result.steps > 0) {
        text += tr(" after %n step(s)", nullptr, int(result.steps));
    }
    m_trainingView->setStatus(text);
    appendLog(text);
    statusBar()->showMessage(text, 15000);
    if (result.state == train::RunState::Failed || result.state == train::RunState::Diverged) {
        m_banner->showMessage(MessageBanner::Kind::Error, text);
    }
}

void MainWindow::setTrainingLocked(bool locked)
{
    m_trainingView->setActivity(locked ? TrainingView::Activity::Running : TrainingView::Activity::Idle);
    m_quantView->setLocked(locked);
    m_undoAction->setEnabled(!locked && m_undo->canUndo());
    m_redoAction->setEnabled(!locked && m_undo->canRedo());
}

} // namespace qat::ui
