// SPDX-License-Identifier: MIT
// The workbench window (tst_workbench, continued): short runs with the real trainer and a
// real (temporary) run database, plots, stopping, layout persistence, --run.
#include "test_paths.h"
#include "analysis/resources.h"
#include "controllers/training_controller.h"
#include "engine/quantization_plan.h"
#include "main_window.h"
#include "window_test_util.h"
#include "tst_workbench.h"
#include "models/plan_table_model.h"
#include "model/model_inspector.h"
#include "storage/run_store.h"
#include "views/fit_budget_dialog.h"
#include "views/plan_item_delegate.h"
#include "views/quantization_view.h"
#include "views/training_view.h"
#include "widgets/bits_chart.h"
#include "widgets/live_plots.h"
#include "widgets/weight_histogram.h"

#include <QAbstractItemModelTester>
#include <QAbstractItemView>
#include <QComboBox>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProcess>
#include <QProgressBar>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <qcustomplot.h>

#include <set>

using qat::ui::MainWindow;
using qat::ui::PlanTableModel;

using namespace qat::test::window;

using namespace qat::test::workbench;

namespace {

/// Measures the longest gap between two turns of the event loop (a 5 ms timer).
class LoopProbe : public QObject {
public:
    LoopProbe()
    {
        m_timer.setInterval(5);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            m_longestMs = std::max(m_longestMs, m_clock.restart());
        });
        m_clock.start();
        m_timer.start();
    }
    qint64 longestMs() const { return m_longestMs; }
    /// Around work the test itself does on the UI thread (screenshots), not the window's.
    void suspend() { m_timer.stop(); }
    void resume()
    {
        m_clock.restart();
        m_timer.start();
    }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_longestMs = 0;
};

} // namespace

void TestWorkbench::shortRunPlotsAndRecords()
{
    const auto db = m_dir.filePath(QStringLiteral("runs.sqlite"));
    MainWindow window;
    window.setRunDatabasePath(db);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    auto* model = window.quantizationView()->planModel();
    QVERIFY(model->setColumn(rowsOfKind(*model, QStringLiteral("conv2d")), PlanTableModel::WeightQuantizer,
                             QStringLiteral("LSQ|symmetric")));
    window.showPage(MainWindow::Page::Model);
    saveScreenshot(window, QStringLiteral("workbench_model.png"));
    window.showPage(MainWindow::Page::Quantization);
    saveScreenshot(window, QStringLiteral("workbench_quantization.png"));

    window.trainingView()->setShortRun(30, 1024, 256);
    auto* controller = window.training();
    QSignalSpy finished(controller, &qat::ui::TrainingController::finished);
    int progressSeen = 0;
    int ticksWithSteps = 0;
    connect(controller, &qat::ui::TrainingController::eventsArrived, this, [&](const qat::ui::TrainEventBatch& events) {
        progressSeen = std::max(progressSeen, window.progressBar()->value());
        ticksWithSteps += std::any_of(events.begin(), events.end(),
                                      [](const auto& e) { return std::holds_alternative<qat::train::StepEvent>(e); });
    });
    LoopProbe probe;
    QTest::keyClick(&window, Qt::Key_R, Qt::ControlModifier); // Start
    QVERIFY(controller->isActive());
    QVERIFY(!window.trainingView()->startAction()->isEnabled());
    QVERIFY(window.quantizationView()->planModel()->isReadOnly());
    QVERIFY(!model->setColumn({0}, PlanTableModel::WeightBits, 4)); // the plan of a running run stays
    QVERIFY(!window.startTraining());
    QTRY_VERIFY_WITH_TIMEOUT(window.livePlots()->stepCount() >= 10, 180000);
    probe.suspend();
    saveScreenshot(window, QStringLiteral("workbench_training.png"));
    probe.resume();
    QVERIFY(finished.wait(180000));
    qInfo("short run: longest event-loop gap %lld ms (goal < 50 ms), %d ticks carried steps",
          probe.longestMs(), ticksWithSteps);

    const auto& result = controller->lastResult();
    QCOMPARE(QString::fromStdString(qat::train::toString(result.state)), QStringLiteral("finished"));
    QCOMPARE(result.steps, 30);
    QCOMPARE(window.livePlots()->stepCount(), 30);
    QVERIFY(progressSeen > 0);
    QVERIFY(ticksWithSteps > 1); // batched per tick, not one signal per run
    QVERIFY(window.livePlots()->floatTop1() > 0.5);
    QVERIFY(window.livePlots()->quantizers().contains(QStringLiteral("features.0.weight")));
    QVERIFY(window.livePlots()->parametersPlot()->graphCount() > 0);
    QVERIFY(window.trainingView()->startAction()->isEnabled());
    QVERIFY(!window.quantizationView()->planModel()->isReadOnly());
    QVERIFY(window.logView()->toPlainText().contains(QStringLiteral("float model: top-1")));

    // The run is in the database with its plan, metrics, traces and quantizers.
    qat::store::RunStore store(db.toStdString(), qat::store::RunStore::Access::ReadOnly);
    const auto run = store.run(controller->runId());
    QVERIFY(run.has_value());
    QCOMPARE(QString::fromStdString(run->state), QStringLiteral("finished"));
    QCOMPARE(run->steps, 30);
    QVERIFY(run->qatTop1.has_value() && run->floatTop1.has_value());
    QVERIFY(QString::fromStdString(run->plan).contains(QStringLiteral("LSQ")));
    QCOMPARE(store.metrics(controller->runId(), "loss").size(), size_t(30));
    QVERIFY(store.traceSteps(controller->runId()) > 0);
    QCOMPARE(store.quantizers(controller->runId()).size(), size_t(11));

    // Plots follow the newest data until the user zooms, and save as PNG and PDF.
    auto* plot = window.livePlots()->metricsPlot();
    QVERIFY(window.livePlots()->isFollowing(plot));
    QCOMPARE(plot->xAxis->range().upper > 29, true);
    QWheelEvent wheel(QPointF(plot->width() / 2, plot->height() / 2), plot->mapToGlobal(QPointF(plot->width() / 2, plot->height() / 2)),
                      QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(plot, &wheel);
    QVERIFY(!window.livePlots()->isFollowing(plot));
    QVERIFY(window.livePlots()->savePlot(plot, m_dir.filePath(QStringLiteral("loss.png"))));
    QVERIFY(window.livePlots()->savePlot(plot, m_dir.filePath(QStringLiteral("loss.pdf"))));
    QVERIFY(QFileInfo(m_dir.filePath(QStringLiteral("loss.pdf"))).size() > 1000);

    window.livePlots()->selectQuantizer(QStringLiteral("features.0.weight"));
    // The weight histogram shows the newest snapshot (steps 1, 10, 20, 30) on the grid.
    QCOMPARE(window.livePlots()->weightHistogram()->shownStep(), int64_t(30));
    window.showPage(MainWindow::Page::Plots);
    window.livePlots()->setFollowing(plot, true);
    QVERIFY(window.centralWidget()->minimumSizeHint().width() < 1000); // the training dock keeps its room
    saveScreenshot(window, QStringLiteral("workbench_plots.png"));
    window.livePlots()->selectQuantizer(QStringLiteral("features.0:output"));
    QCOMPARE(window.livePlots()->selectedQuantizer(), QStringLiteral("features.0:output"));
    QCOMPARE(window.livePlots()->weightHistogram()->shownStep(), int64_t(-1)); // activations: a hint
    saveScreenshot(*window.livePlots(), QStringLiteral("workbench_plots_activation.png"));
}

void TestWorkbench::stopMidRun()
{
    MainWindow window;
    window.setRunDatabasePath(m_dir.filePath(QStringLiteral("runs.sqlite")));
    window.show();
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    window.trainingView()->setShortRun(5000, 1024, 256);
    auto* controller = window.training();
    QSignalSpy finished(controller, &qat::ui::TrainingController::finished);
    LoopProbe probe;
    QVERIFY(window.startTraining());
    QTRY_VERIFY_WITH_TIMEOUT(window.livePlots()->stepCount() >= 5, 180000);

    // Pause holds the run; resume continues it.
    window.trainingView()->pauseAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(window.trainingView()->activity() == qat::ui::TrainingView::Activity::Paused, 30000);
    const int pausedAt = window.livePlots()->stepCount();
    QTest::qWait(300);
    QVERIFY(window.livePlots()->stepCount() <= pausedAt + 1);
    window.trainingView()->pauseAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(window.livePlots()->stepCount() > pausedAt + 1, 30000);

    QTest::keyClick(&window, Qt::Key_Period, Qt::ControlModifier);
    const int stoppedAt = window.livePlots()->stepCount();
    QVERIFY(window.trainingView()->activity() == qat::ui::TrainingView::Activity::Stopping);
    QVERIFY(finished.wait(60000));
    qInfo("stop: longest event-loop gap %lld ms (goal < 50 ms)", probe.longestMs());
    const auto& result = controller->lastResult();
    QCOMPARE(QString::fromStdString(qat::train::toString(result.state)), QStringLiteral("cancelled"));
    // Steps already queued when Stop was pressed, plus at most the one in flight.
    QVERIFY2(result.steps <= stoppedAt + 2, qPrintable(QStringLiteral("%1 vs %2").arg(result.steps).arg(stoppedAt)));
    QVERIFY(window.trainingView()->activity() == qat::ui::TrainingView::Activity::Idle);
    qat::store::RunStore store(m_dir.filePath(QStringLiteral("runs.sqlite")).toStdString(),
                               qat::store::RunStore::Access::ReadOnly);
    const auto stored = *store.run(controller->runId());
    QCOMPARE(QString::fromStdString(stored.state), QStringLiteral("cancelled"));
    // The Log and the status say what the database (and so `qatwb runs show`) says.
    const auto line = QString::fromStdString(stored.state + ": " + stored.message);
    QVERIFY2(window.logView()->toPlainText().contains(QStringLiteral("Run %1 %2").arg(stored.id).arg(line)),
             qPrintable(window.logView()->toPlainText()));
    QVERIFY2(window.statusBar()->currentMessage().contains(line), qPrintable(window.statusBar()->currentMessage()));
    saveScreenshot(window, QStringLiteral("workbench_stopped.png"));
}

// Issue #25 item 6: under mct-default the first quantizer is an STE weight threshold, which
// its training method keeps at its calibrated value; the plots open on one that learns,
// and say of a frozen one that it is frozen and why.
void TestWorkbench::plotsOpenOnAQuantizerThatLearns()
{
    MainWindow window;
    window.setRunDatabasePath(m_dir.filePath(QStringLiteral("runs.sqlite")));
    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    QCOMPARE(QString::fromStdString(window.quantizationView()->planModel()->plan().preset), QStringLiteral("mct-default"));
    window.trainingView()->setShortRun(12, 512, 100);
    QSignalSpy finished(window.training(), &qat::ui::TrainingController::finished);
    QVERIFY(window.startTraining());
    QVERIFY(finished.wait(180000));
    auto* plots = window.livePlots();
    window.showPage(MainWindow::Page::Plots);
    auto notes = [plots] {
        QStringList texts;
        for (auto* label : plots->findChildren<QLabel*>()) {
            if (label->isVisible()) {
                texts << label->text();
            }
        }
        return texts.join(QLatin1Char('\n'));
    };
    QCOMPARE(plots->quantizers().first(), QStringLiteral("features.0.weight"));
    const auto opened = plots->selectedQuantizer();
    QVERIFY2(opened.endsWith(QStringLiteral(":output")) || opened == QStringLiteral("input"), qPrintable(opened));
    QVERIFY2(!notes().contains(QStringLiteral("frozen")), qPrintable(notes()));
    // What it plots moves: a POT threshold's latent value (the POT value itself steps by 2x).
    auto* line = plots->parametersPlot()->graph(0);
    QVERIFY(line != nullptr && line->dataCount() >= 2);
    QVERIFY(line->data()->at(0)->value != line->data()->at(line->dataCount() - 1)->value);
    saveScreenshot(window, QStringLiteral("live_plots_learning.png"));

    plots->selectQuantizer(QStringLiteral("features.0.weight"));
    QVERIFY2(notes().contains(QStringLiteral("frozen by its training method (STE)")), qPrintable(notes()));
    saveScreenshot(window, QStringLiteral("live_plots_frozen.png"));
    plots->selectQuantizer(opened);
    QVERIFY(!notes().contains(QStringLiteral("frozen")));
}

// The Training dock's Calibration box starts at "the plan's": a run keeps its preset's
// initialisation (w4a8-lsq: auto for every quantizer); a method chosen in the box applies to
// every quantizer, as --init does.
void TestWorkbench::calibrationBoxLeavesThePlansInit()
{
    MainWindow window;
    window.setRunDatabasePath(m_dir.filePath(QStringLiteral("calibration_runs.sqlite")));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    QComboBox* box = nullptr;
    for (auto* combo : window.trainingView()->findChildren<QComboBox*>()) {
        box = combo->findText(QStringLiteral("MSE search")) >= 0 ? combo : box;
    }
    QVERIFY(box != nullptr);
    QCOMPARE(box->currentText(), QStringLiteral("the plan's (preset default)"));
    QVERIFY(!window.trainingView()->calibration().has_value());
    window.quantizationView()->planModel()->replacePlan(qat::engine::presetPlan("w4a8-lsq"), QStringLiteral("Preset w4a8-lsq"));
    window.trainingView()->setShortRun(2, 256, 64);
    auto initsOfARun = [&window] {
        QSignalSpy finished(window.training(), &qat::ui::TrainingController::finished);
        std::set<qat::quant::InitMethod> inits;
        if (!window.startTraining() || !finished.wait(180000)) {
            return inits;
        }
        for (const auto& q : window.training()->lastResult().quantizers) {
            inits.insert(q.config.init);
        }
        return inits;
    };
    QCOMPARE(initsOfARun(), std::set<qat::quant::InitMethod>{qat::quant::InitMethod::Auto});
    box->setCurrentIndex(box->findText(QStringLiteral("MSE search")));
    QCOMPARE(initsOfARun(), std::set<qat::quant::InitMethod>{qat::quant::InitMethod::Mse});
    box->setCurrentIndex(0);
}

void TestWorkbench::layoutPersists()
{
    QSettings().clear();
    {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* log = window.findChild<QDockWidget*>(QStringLiteral("logDock"));
        QVERIFY(log != nullptr && log->isVisible());
        log->hide();
        window.resize(1000, 650);
        window.close();
    }
    MainWindow second;
    second.show();
    QVERIFY(QTest::qWaitForWindowExposed(&second));
    QVERIFY(second.findChild<QDockWidget*>(QStringLiteral("logDock"))->isHidden());
    QCOMPARE(second.size(), QSize(1000, 650));
    QSettings().clear();
}

void TestWorkbench::runOption()
{
    const auto out = QDir(qat::test::path(QATWB_SCREENSHOT_DIR)).filePath(QStringLiteral("cli_run_screenshot.png"));
    QFile::remove(out);
    QProcess gui;
    auto env = guiEnvironment(m_dir.filePath(QStringLiteral("config")));
    env.insert(QStringLiteral("QATWB_RUNS_DB"), m_dir.filePath(QStringLiteral("cli_runs.sqlite")));
    gui.setProcessEnvironment(env);
    gui.start(qat::test::path(QATWB_GUI), {QStringLiteral("--model"), qat::test::path(QATWB_DEMO_MODEL),
                                          QStringLiteral("--screenshot"), out, QStringLiteral("--run"), QStringLiteral("12")});
    QVERIFY(gui.waitForFinished(240000));
    QCOMPARE(gui.exitCode(), 0);
    QVERIFY(!QImage(out).isNull());
    qat::store::RunStore store(m_dir.filePath(QStringLiteral("cli_runs.sqlite")).toStdString(),
                               qat::store::RunStore::Access::ReadOnly);
    const auto runs = store.listRuns();
    QCOMPARE(runs.size(), size_t(1));
    QCOMPARE(runs.front().steps, 12);
}

// --preset: the plan starts from that preset once the model is loaded (before --run's
// training), and an unknown name is refused with the list of presets.
void TestWorkbench::presetOption()
{
    const auto out = QDir(qat::test::path(QATWB_SCREENSHOT_DIR)).filePath(QStringLiteral("cli_preset_w2a3.png"));
    QFile::remove(out);
    const auto db = m_dir.filePath(QStringLiteral("preset_runs.sqlite"));
    auto env = guiEnvironment(m_dir.filePath(QStringLiteral("config")));
    env.insert(QStringLiteral("QATWB_RUNS_DB"), db);
    QProcess gui;
    gui.setProcessEnvironment(env);
    gui.start(qat::test::path(QATWB_GUI), {QStringLiteral("--demo"), QStringLiteral("--preset"), QStringLiteral("w2a3"),
                                          QStringLiteral("--screenshot"), out, QStringLiteral("--run"), QStringLiteral("9")});
    QVERIFY(gui.waitForFinished(240000));
    QCOMPARE(gui.exitCode(), 0);
    QVERIFY(!QImage(out).isNull());
    qat::store::RunStore store(db.toStdString(), qat::store::RunStore::Access::ReadOnly);
    const auto runs = store.listRuns();
    QCOMPARE(runs.size(), size_t(1));
    const auto run = store.run(runs.front().id);
    QVERIFY(run.has_value());
    QCOMPARE(qat::engine::parsePlan(run->plan, "run").preset, std::string("w2a3"));
    QVERIFY2(run->hyperparameters.find("\"freeze_bn_after\":-2") != std::string::npos, run->hyperparameters.c_str());

    QProcess wrong;
    wrong.setProcessEnvironment(env);
    wrong.start(qat::test::path(QATWB_GUI), {QStringLiteral("--demo"), QStringLiteral("--preset"), QStringLiteral("w3a3"),
                                            QStringLiteral("--screenshot"), out});
    QVERIFY(wrong.waitForFinished(60000));
    QCOMPARE(wrong.exitCode(), 2);
    const auto said = QString::fromUtf8(wrong.readAllStandardError());
    QVERIFY2(said.contains(QStringLiteral("unknown preset 'w3a3'")) && said.contains(QStringLiteral("w4a8-lsq")), qPrintable(said));
}
