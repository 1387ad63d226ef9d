// SPDX-License-Identifier: MIT
// The History page against a run database that the real CLI filled with runs of every
// state (finished, failed, cancelled, diverged, interrupted): listing, filtering, sorting,
// lazy loading, notes, compare, re-run, export, sensitivity, delete, and refreshes.
#include "test_paths.h"
#include "analysis/resources.h"
#include "history_test_util.h"
#include "tst_history.h"

#include "controllers/history_controller.h"
#include "controllers/training_controller.h"
#include "main_window.h"
#include "models/plan_table_model.h"
#include "models/run_table_model.h"
#include "storage/run_store.h"
#include "views/compare_view.h"
#include "views/export_dialog.h"
#include "views/history_view.h"
#include "views/quantization_view.h"
#include "views/sensitivity_view.h"
#include "views/training_view.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QScopeGuard>
#include <QSpinBox>
#include <QSettings>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QCheckBox>
#include <QtTest>
#include <qcustomplot.h>
#include <sqlite3.h>

#include <csignal>
#include <set>

using qat::ui::HistoryView;
using qat::ui::MainWindow;
using qat::ui::RunTableModel;

using namespace qat::test::history;

void TestHistory::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("qat-workbench-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_history"));
    QSettings().clear();
    QVERIFY(m_dir.isValid());
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite"));

    // The fixture: real CLI runs of every end state, in one database.
    m_finishedA = runCli(trainArgs(m_db, 16), 0);
    QVERIFY(m_finishedA > 0);
    m_finishedB = runCli(trainArgs(m_db, 16) << QStringLiteral("--preset") << QStringLiteral("w4a8-lsq")
                                              << QStringLiteral("--init") << QStringLiteral("auto")
                                              << QStringLiteral("--quantizer-warmup") << QStringLiteral("4")
                                              << QStringLiteral("--freeze-bn-after") << QStringLiteral("10"),
                         0);
    QVERIFY(m_finishedB > 0);
    m_diverged = runCli(trainArgs(m_db, 10) << QStringLiteral("--inject-nan-at") << QStringLiteral("2"), 3);
    QVERIFY(m_diverged > 0);
    m_failed = runCli(trainArgs(m_db, 10) << QStringLiteral("--data") << m_dir.filePath(QStringLiteral("no-such-data")), 1);
    QVERIFY(m_failed > 0);
    {
        QProcess cli;
        QVERIFY(startLongRun(cli, m_db, &m_cancelled));
        ::kill(pid_t(cli.processId()), SIGINT); // Ctrl-C: stops cleanly after the current step
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 130);
    }
    {
        QProcess cli;
        QVERIFY(startLongRun(cli, m_db, &m_interrupted));
        cli.kill(); // SIGKILL: the run stays "running" until a writer notices its process is gone
        QVERIFY(cli.waitForFinished(60000));
    }
    qat::store::RunStore store(m_db.toStdString()); // read-write: marks the killed run interrupted
    std::map<qint64, std::string> states;
    for (const auto& r : store.listRuns()) {
        states[r.id] = r.state;
    }
    QCOMPARE(states.size(), size_t(6));
    QCOMPARE(states[m_finishedA], std::string("finished"));
    QCOMPARE(states[m_finishedB], std::string("finished"));
    QCOMPARE(states[m_diverged], std::string("diverged"));
    QCOMPARE(states[m_failed], std::string("failed"));
    QCOMPARE(states[m_cancelled], std::string("cancelled"));
    QCOMPARE(states[m_interrupted], std::string("interrupted"));
}

void TestHistory::listsEveryStateFiltersAndSorts()
{
    MainWindow window;
    window.setRunDatabasePath(m_db);
    auto* history = window.historyView();
    auto* model = history->runModel();
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(model->rowCount(), 6);
    QCOMPARE(model->totalCount(), 6);
    // Newest first.
    QCOMPARE(model->runId(0), m_interrupted);
    const auto states = column(*model, RunTableModel::State);
    QCOMPARE(std::set<QString>(states.begin(), states.end()),
             (std::set<QString>{QStringLiteral("finished"), QStringLiteral("failed"), QStringLiteral("cancelled"),
                                QStringLiteral("diverged"), QStringLiteral("interrupted")}));
    const int rowB = model->rowOf(m_finishedB);
    QCOMPARE(model->index(rowB, RunTableModel::Plan).data().toString(), QStringLiteral("w4a8-lsq"));
    QCOMPARE(model->index(rowB, RunTableModel::Bits).data().toString(), QStringLiteral("w4 a8"));
    QCOMPARE(model->index(model->rowOf(m_finishedA), RunTableModel::Bits).data().toString(), QStringLiteral("w8 a8"));
    QCOMPARE(model->index(rowB, RunTableModel::Model).data().toString(), QStringLiteral("demo_cnn.pt"));
    QVERIFY(model->index(rowB, RunTableModel::QatTop1).data().toString().endsWith(QStringLiteral("%")));
    QVERIFY(model->index(model->rowOf(m_failed), RunTableModel::QatTop1).data().toString().isEmpty());

    // Filters: by state, and by text (preset, state, model, tag, note).
    history->setFilter(QString(), QStringLiteral("diverged"));
    QCOMPARE(model->rowCount(), 1);
    QCOMPARE(model->runId(0), m_diverged);
    history->setFilter(QStringLiteral("W4A8"), QString());
    QCOMPARE(model->rowCount(), 1);
    QCOMPARE(model->runId(0), m_finishedB);
    history->setFilter(QStringLiteral("no-such-thing"), QString());
    QCOMPARE(model->rowCount(), 0);
    history->setFilter(QString(), QString());
    QCOMPARE(model->rowCount(), 6);

    // Sorting (in SQL, over every run): by QAT top-1, runs without one first.
    history->table()->sortByColumn(RunTableModel::QatTop1, Qt::AscendingOrder);
    QCOMPARE(model->rowCount(), 6);
    std::vector<double> top1;
    for (int r = 0; r < model->rowCount(); ++r) {
        if (const auto* rec = model->record(r); rec->qatTop1) {
            top1.push_back(*rec->qatTop1);
        } else {
            QVERIFY2(top1.empty(), "runs without a QAT top-1 sort first");
        }
    }
    QVERIFY(top1.size() >= 2);
    QVERIFY(std::is_sorted(top1.begin(), top1.end()));
    history->table()->sortByColumn(RunTableModel::State, Qt::DescendingOrder);
    auto sortedStates = column(*model, RunTableModel::State);
    QVERIFY(std::is_sorted(sortedStates.rbegin(), sortedStates.rend()));
    history->table()->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
    QCOMPARE(model->runId(0), m_interrupted);

    // Selecting a run shows its configuration and per-layer quantizers.
    history->selectRuns({m_finishedB});
    QCOMPARE(history->currentRunId(), m_finishedB);
    QVERIFY(history->details()->toPlainText().contains(QStringLiteral("w4a8-lsq")));
    // What each plan costs, stored with the run: 4-bit weights take half the 8-bit run's bytes.
    {
        qat::store::RunStore store(m_db.toStdString(), qat::store::RunStore::Access::ReadOnly);
        const auto a = qat::analysis::resourcesFromJson(store.run(m_finishedA)->resources);
        const auto b = qat::analysis::resourcesFromJson(store.run(m_finishedB)->resources);
        QCOMPARE(a.weightsBytes, a.weightsBytes8bit);
        QVERIFY(b.weightsBytes < a.weightsBytes);
        QCOMPARE(model->index(model->rowOf(m_finishedB), RunTableModel::Weights).data().toString(),
                 QString::fromStdString(qat::analysis::formatBytes(b.weightsBytes)));
        const auto line = QString::fromStdString(qat::analysis::describeResources(b));
        QVERIFY2(history->details()->toPlainText().contains(line), qPrintable(history->details()->toPlainText()));
        // Automatic learning rates read "auto", with the rates the run started from; B's
        // quantizers warmed up over 4 steps, so their rate is given where the rise ended.
        const auto quantizerLr = store.metrics(m_finishedB, "quantizer_lr");
        QVERIFY(quantizerLr.at(0).value < quantizerLr.at(3).value && quantizerLr.at(3).value > quantizerLr.at(4).value);
        const auto warmedUp = QStringLiteral("weights %1 at the first step, quantizers warming up from 0 to %2 at step 4")
                                  .arg(store.metrics(m_finishedB, "lr").at(0).value, 0, 'g', 3)
                                  .arg(quantizerLr.at(3).value, 0, 'g', 3);
        for (const auto& text : {QStringLiteral("lr = auto, "), QStringLiteral("quantizer_lr = auto"), warmedUp}) {
            QVERIFY2(history->details()->toPlainText().contains(text), qPrintable(history->details()->toPlainText()));
        }
        history->selectRuns({m_finishedA});
        const auto started = QStringLiteral("weights %1, quantizers %2 at the first step")
                                 .arg(store.metrics(m_finishedA, "lr").at(0).value, 0, 'g', 3)
                                 .arg(store.metrics(m_finishedA, "quantizer_lr").at(0).value, 0, 'g', 3);
        QVERIFY2(history->details()->toPlainText().contains(started), qPrintable(history->details()->toPlainText()));
        QVERIFY(history->details()->toPlainText().contains(QStringLiteral("quantizer_warmup = auto")));
        history->selectRuns({m_finishedB});
    }
    auto* quantizers = history->quantizerModel();
    QAbstractItemModelTester quantizerTester(quantizers, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(quantizers->rowCount(), 11);
    const auto weight = quantizers->findItems(QStringLiteral("features.0.weight"));
    QCOMPARE(weight.size(), 1);
    const int w = weight.front()->row();
    QVERIFY(quantizers->item(w, 3)->text().contains(QStringLiteral("4-bit")));
    // init auto: the method it chose, each candidate's output error in the tooltip.
    QVERIFY2(quantizers->item(w, 4)->text().startsWith(QStringLiteral("auto: ")), qPrintable(quantizers->item(w, 4)->text()));
    for (const char* candidate : {"max ", "mse ", "percentile "}) {
        QVERIFY2(quantizers->item(w, 4)->toolTip().contains(QLatin1String(candidate)),
                 qPrintable(quantizers->item(w, 4)->toolTip()));
    }
    QVERIFY2(quantizers->item(w, 5)->text().contains(QStringLiteral("(16 ch)")), qPrintable(quantizers->item(w, 5)->text()));
    QVERIFY2(quantizers->item(w, 6)->text().contains(QStringLiteral("(16 ch)")), qPrintable(quantizers->item(w, 6)->text()));
    history->selectRuns({m_failed});
    QVERIFY(history->details()->toPlainText().contains(QStringLiteral("no-such-data")));

    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.showPage(MainWindow::Page::History);
    history->selectRuns({m_finishedB});
    history->tabs()->setCurrentIndex(HistoryView::DetailsTab);
    saveScreenshot(window, QStringLiteral("history.png"));
    history->tabs()->setCurrentIndex(HistoryView::QuantizersTab);
    saveScreenshot(window, QStringLiteral("history_quantizers.png"));
}

// Issue #25 item 5: `qatwb runs list`, `runs show` and the History say the same state and
// the same words about it, for runs of every end state.
void TestHistory::statesAndMessagesAgreeEverywhere()
{
    HistoryView history;
    history.setDatabasePath(m_db);
    auto* model = history.runModel();
    QProcess cli;
    cli.start(qat::test::path(QATWB_CLI), {QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json"),
                                          QStringLiteral("--db"), m_db});
    QVERIFY(cli.waitForFinished(60000));
    const auto rows = QJsonDocument::fromJson(cli.readAllStandardOutput()).array();
    QCOMPARE(rows.size(), 6);
    for (const auto& value : rows) {
        const auto row = value.toObject();
        const auto id = row[QStringLiteral("id")].toInteger();
        const auto state = row[QStringLiteral("state")].toString();
        const auto message = row[QStringLiteral("message")].toString();
        const auto line = message.isEmpty() ? state : state + QStringLiteral(": ") + message;
        const int r = model->rowOf(id);
        QVERIFY(r >= 0);
        QCOMPARE(model->index(r, RunTableModel::State).data().toString(), state);
        QCOMPARE(model->index(r, RunTableModel::State).data(Qt::ToolTipRole).toString(), line);
        history.selectRuns({id});
        QVERIFY2(history.details()->toPlainText().contains(line), qPrintable(line));
        QProcess show;
        show.start(qat::test::path(QATWB_CLI), {QStringLiteral("runs"), QStringLiteral("show"), QString::number(id),
                                               QStringLiteral("--db"), m_db});
        QVERIFY(show.waitForFinished(60000));
        const auto text = QString::fromUtf8(show.readAllStandardOutput());
        QVERIFY2(text.contains(QStringLiteral("  state      ") + line + QLatin1Char('\n')), qPrintable(text));
    }
    // Every state a run can be in can be picked in the filter, in the order a run goes.
    QComboBox* combo = nullptr;
    for (auto* c : history.findChildren<QComboBox*>()) {
        if (c->findData(QStringLiteral("interrupted")) >= 0) {
            combo = c;
        }
    }
    QVERIFY(combo != nullptr);
    QStringList offered;
    for (int i = 1; i < combo->count(); ++i) {
        offered << combo->itemData(i).toString();
    }
    QCOMPARE(offered, (QStringList{"created", "calibrating", "running", "paused", "finished", "cancelled", "diverged",
                                   "failed", "interrupted"}));
}

void TestHistory::notesAndTagsAreSaved()
{
    HistoryView history;
    history.setDatabasePath(m_db);
    history.selectRuns({m_finishedA});
    history.notesEdit()->setPlainText(QStringLiteral("baseline for the paper"));
    history.tagsEdit()->setText(QStringLiteral("baseline, mct , "));
    QVERIFY(history.saveNotes());
    qat::store::RunStore store(m_db.toStdString(), qat::store::RunStore::Access::ReadOnly);
    const auto run = store.run(m_finishedA);
    QCOMPARE(QString::fromStdString(run->notes), QStringLiteral("baseline for the paper"));
    QCOMPARE(run->tags, (std::vector<std::string>{"baseline", "mct"}));
    // The table shows the tags, the filter finds them, and the selection survived the reload.
    QCOMPARE(history.currentRunId(), m_finishedA);
    auto* model = history.runModel();
    QCOMPARE(model->index(model->rowOf(m_finishedA), RunTableModel::Tags).data().toString(), QStringLiteral("baseline, mct"));
    history.setFilter(QStringLiteral("paper"), QString());
    QCOMPARE(model->rowCount(), 1);
    QCOMPARE(model->runId(0), m_finishedA);
}

void TestHistory::compareOverlaysRuns()
{
    MainWindow window;
    window.setRunDatabasePath(m_db);
    window.resize(1280, 860);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.showPage(MainWindow::Page::History);
    auto* history = window.historyView();
    history->selectRuns({m_finishedA, m_finishedB});
    QCOMPARE(history->selectedRunIds().size(), 2);
    history->compareSelected();
    QCOMPARE(history->tabs()->currentIndex(), int(HistoryView::CompareTab));
    auto* compare = history->compareView();
    QCOMPARE(compare->runIds().size(), size_t(2));
    // One loss and one accuracy series per run, named in the legend.
    QCOMPARE(compare->lossPlot()->graphCount(), 2);
    for (int g = 0; g < 2; ++g) {
        QCOMPARE(compare->lossPlot()->graph(g)->dataCount(), 16);
    }
    const QStringList names{compare->lossPlot()->graph(0)->name(), compare->lossPlot()->graph(1)->name()};
    QVERIFY(names.contains(QStringLiteral("#%1 mct-default w8 a8").arg(m_finishedA)));
    QVERIFY(names.contains(QStringLiteral("#%1 w4a8-lsq w4 a8").arg(m_finishedB)));
    QVERIFY(compare->accuracyPlot()->graphCount() >= 2);
    // Threshold traces of a chosen layer, one per run.
    QVERIFY(compare->quantizers().contains(QStringLiteral("features.4.weight")));
    compare->selectQuantizer(QStringLiteral("features.4.weight"));
    QCOMPARE(compare->tracePlot()->graphCount(), 2);
    QVERIFY(compare->tracePlot()->graph(0)->dataCount() > 1);
    QVERIFY(compare->tracePlot()->graph(1)->dataCount() > 1);
    // Where the plans differ: w8 vs w4 LSQ weights, so every weight quantizer.
    auto* diff = compare->diffModel();
    QAbstractItemModelTester diffTester(diff, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QVERIFY(diff->rowCount() >= 5);
    QCOMPARE(diff->columnCount(), 3);
    const int columnA = diff->horizontalHeaderItem(1)->text() == QStringLiteral("#%1 mct-default").arg(m_finishedA) ? 1 : 2;
    const int columnB = 3 - columnA;
    QCOMPARE(diff->horizontalHeaderItem(columnB)->text(), QStringLiteral("#%1 w4a8-lsq").arg(m_finishedB));
    bool sawWeights = false;
    for (int r = 0; r < diff->rowCount(); ++r) {
        if (diff->item(r, 0)->text() == QStringLiteral("features.4.weight")) {
            sawWeights = true;
            QVERIFY(diff->item(r, columnA)->text().contains(QStringLiteral("8-bit")));
            QVERIFY(diff->item(r, columnB)->text().contains(QStringLiteral("LSQ")));
            QVERIFY(diff->item(r, columnB)->text().contains(QStringLiteral("4-bit")));
        }
    }
    QVERIFY(sawWeights);
    saveScreenshot(window, QStringLiteral("history_compare.png"));

    // One run is not a comparison.
    history->selectRuns({m_finishedA});
    history->compareSelected();
    QVERIFY(!compare->lossPlot()->isVisible());
}

// A mixed plan beside a uniform one: what each costs and reached, smallest weights first,
// the top-1 of the runs no smaller run beats in bold. Demo weights: features.0 144,
// features.4 4608, features.8 18432, classifier.1 401408, classifier.3 1280 elements.
void TestHistory::compareShowsWhatPlansCost()
{
    QTemporaryDir dir;
    const auto db = dir.filePath(QStringLiteral("runs.sqlite"));
    const auto mixedPlan = dir.filePath(QStringLiteral("mixed.json"));
    {
        QFile f(mixedPlan);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"format": "qat-workbench-plan", "version": 2, "target": "imx500", "layers": {
                     "features.0": {"weights": {"bits": 8}}, "classifier.1": {"weights": {"bits": 2}}}})");
    }
    const auto uniform = runCli(trainArgs(db, 3) << QStringLiteral("--preset") << QStringLiteral("w4a8-lsq"), 0);
    const auto mixed = runCli(trainArgs(db, 3) << QStringLiteral("--preset") << QStringLiteral("w4a8-lsq")
                                               << QStringLiteral("--plan") << mixedPlan,
                              0);
    QVERIFY(uniform > 0 && mixed > 0);
    qat::store::RunStore store(db.toStdString(), qat::store::RunStore::Access::ReadOnly);
    qat::ui::CompareView compare;
    compare.resize(1100, 700);
    compare.showRuns(&store, {uniform, mixed});
    auto* model = compare.resourcesModel();
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(model->rowCount(), 2);
    QCOMPARE(model->columnCount(), 7);
    QCOMPARE(model->horizontalHeaderItem(2)->text(), QStringLiteral("Weights"));
    // 144 + 4608/2 + 18432/2 + 401408/4 + 1280/2 = 112656 bytes (26.5 % of 425872) before
    // the uniform 4 bits' 212936 (50.0 %).
    QVERIFY(model->item(0, 0)->text().startsWith(QStringLiteral("#%1 ").arg(mixed)));
    QCOMPARE(model->item(0, 1)->text(), QStringLiteral("mixed 8/4/4/2/4"));
    QCOMPARE(model->item(0, 2)->text(), QStringLiteral("110.0 KB (26.5 % of 8-bit)"));
    QVERIFY(model->item(1, 0)->text().startsWith(QStringLiteral("#%1 ").arg(uniform)));
    QCOMPARE(model->item(1, 1)->text(), QStringLiteral("uniform 4"));
    QCOMPARE(model->item(1, 2)->text(), QStringLiteral("207.9 KB (50.0 % of 8-bit)"));
    const auto top1Mixed = *store.run(mixed)->qatTop1;
    const auto top1Uniform = *store.run(uniform)->qatTop1;
    QCOMPARE(model->item(0, 6)->text(), QString::number(top1Mixed * 100, 'f', 2));
    QCOMPARE(model->item(1, 6)->text(), QString::number(top1Uniform * 100, 'f', 2));
    QVERIFY(model->item(0, 6)->font().bold());                              // nothing is smaller
    QCOMPARE(model->item(1, 6)->font().bold(), top1Uniform > top1Mixed); // bold only when it beats the smaller run
    for (int c : {3, 4}) {
        QVERIFY(!model->item(0, c)->text().isEmpty() && model->item(0, c)->text() != QStringLiteral("-"));
    }
    saveScreenshot(compare, QStringLiteral("history_compare_resources.png"));
}

void TestHistory::rerunLoadsPlanAndSettings()
{
    MainWindow window;
    window.setRunDatabasePath(m_db);
    QVERIFY(window.currentModelPath().isEmpty());
    QSignalSpy loaded(&window, &MainWindow::modelLoadFinished);
    window.historyView()->selectRuns({m_finishedB});
    // The page's Re-run button: the run's model opens, then its plan and settings apply.
    QPushButton* rerun = nullptr;
    for (auto* b : window.historyView()->findChildren<QPushButton*>()) {
        rerun = b->text() == QStringLiteral("Re-run...") ? b : rerun;
    }
    QVERIFY(rerun != nullptr && rerun->isEnabled());
    rerun->click();
    QVERIFY(loaded.wait(60000));
    QCOMPARE(QFileInfo(window.currentModelPath()).fileName(), QStringLiteral("demo_cnn.pt"));
    auto* plan = window.quantizationView()->planModel();
    QCOMPARE(QString::fromStdString(plan->plan().preset), QStringLiteral("w4a8-lsq"));
    QCOMPARE(plan->index(1, qat::ui::PlanTableModel::WeightBits).data().toInt(), 4);
    QCOMPARE(plan->index(1, qat::ui::PlanTableModel::WeightQuantizer).data().toString(), QStringLiteral("LSQ symmetric"));
    const auto config = window.trainingView()->config();
    QCOMPARE(config.maxSteps, 16);
    QCOMPARE(config.limitTrain, 1024);
    QCOMPARE(config.limitTest, 200);
    QCOMPARE(config.batch, 64);
    QVERIFY(!config.lrProbe.value_or(false));
    QCOMPARE(config.quantizerWarmup, int64_t(4)); // the dock's Quantizer warm-up box, from the run
    QCOMPARE(config.freezeBatchNormAfter, int64_t(10)); // and its Freeze BatchNorm box
    QSpinBox* freezeBox = nullptr;
    QStringList texts;
    for (auto* box : window.trainingView()->findChildren<QSpinBox*>()) {
        texts << box->text();
        freezeBox = box->text() == QStringLiteral("after step 10") ? box : freezeBox;
    }
    QVERIFY2(freezeBox != nullptr, qPrintable(texts.join(QStringLiteral(", "))));
    // Typed: the two words and a step.
    for (const auto& [typed, value] : {std::pair{"never", int64_t(-1)}, std::pair{"25", int64_t(25)},
                                       std::pair{"auto", qat::train::TrainConfig::kAutoFreeze}}) {
        freezeBox->selectAll();
        QTest::keyClicks(freezeBox, QString::fromLatin1(typed));
        QTest::keyClick(freezeBox, Qt::Key_Return);
        QCOMPARE(window.trainingView()->config().freezeBatchNormAfter, value);
    }
    freezeBox->setValue(10);
    QVERIFY(window.undoStack()->undoText().contains(QString::number(m_finishedB)));
    // A run that probed its learning rates is re-run with the probe (the dock's box); the
    // box is off limits, and the probe off, while a rate is given by hand.
    QCheckBox* probeBox = nullptr;
    for (auto* box : window.trainingView()->findChildren<QCheckBox*>()) {
        probeBox = box->text() == QStringLiteral("Probe learning rates first") ? box : probeBox;
    }
    QVERIFY(probeBox != nullptr && !probeBox->isChecked() && probeBox->isEnabled());
    auto probed = config;
    probed.lrProbe = true;
    window.trainingView()->setConfig(probed);
    QVERIFY(probeBox->isChecked());
    QVERIFY(window.trainingView()->config().lrProbe.value_or(false));
    probed.lr = 1e-3;
    window.trainingView()->setConfig(probed);
    QVERIFY(!probeBox->isEnabled());
    QVERIFY(!window.trainingView()->config().lrProbe.value_or(false));
    window.trainingView()->setConfig(config);

    // A second run of the same model applies at once, and is one undo step.
    QVERIFY(window.loadRun(m_finishedA));
    QCOMPARE(QString::fromStdString(plan->plan().preset), QStringLiteral("mct-default"));
    QCOMPARE(window.trainingView()->config().quantizerWarmup, int64_t(-1)); // auto
    QCOMPARE(window.trainingView()->config().freezeBatchNormAfter, qat::train::TrainConfig::kAutoFreeze);
    QCOMPARE(plan->index(1, qat::ui::PlanTableModel::WeightBits).data().toInt(), 8);
    window.undoStack()->undo();
    QCOMPARE(QString::fromStdString(plan->plan().preset), QStringLiteral("w4a8-lsq"));
}

void TestHistory::exportWritesFilesAndRecordsThem()
{
    MainWindow window; // the session registry comes from the window
    window.setRunDatabasePath(m_db);
    auto* view = window.historyView();
    const auto out = m_dir.filePath(QStringLiteral("exports"));
    QSignalSpy done(view, &HistoryView::jobFinished);
    QVERIFY(view->exportRun(m_finishedA, out,
                            {qat::exporter::Format::Spec, qat::exporter::Format::TorchScript, qat::exporter::Format::Onnx}));
    QVERIFY(!view->exportRun(m_finishedB, out, {qat::exporter::Format::Spec})); // one job at a time
    QVERIFY(done.wait(300000));
    QCOMPARE(done.first().at(1).toBool(), true);
    const auto base = QDir(out).filePath(QStringLiteral("demo_cnn_run%1").arg(m_finishedA));
    for (const auto* ext : {".json", ".pt", ".onnx"}) {
        QVERIFY2(QFileInfo(base + QString::fromLatin1(ext)).size() > 100, qPrintable(base + QString::fromLatin1(ext)));
    }
    qat::store::RunStore store(m_db.toStdString(), qat::store::RunStore::Access::ReadOnly);
    const auto exports = store.exports(m_finishedA);
    QCOMPARE(exports.size(), size_t(3));
    QVERIFY(QString::fromStdString(exports.front().parity).contains(QStringLiteral("top1_agreement")));
    // The parity report is shown, with a way to open the folder.
    QVERIFY(view->exportReport() != nullptr);
    QVERIFY(view->exportReport()->informativeText().contains(QStringLiteral("same class")));
    // The ONNX file was run in ONNX Runtime (installed by packaging/install-deps.sh).
    QVERIFY2(view->exportReport()->informativeText().contains(QStringLiteral("ONNX Runtime 1.30.0 (CPU, default optimizations): top-1")),
             qPrintable(view->exportReport()->informativeText()));
    QVERIFY(view->exportReport()->text().contains(QStringLiteral("demo_cnn_run%1.onnx").arg(m_finishedA)));
    const auto buttons = view->exportReport()->buttons();
    QVERIFY(std::any_of(buttons.begin(), buttons.end(), [](auto* b) { return b->text() == QStringLiteral("Open Folder"); }));
    saveScreenshot(*view->exportReport(), QStringLiteral("history_export_report.png"));
    view->exportReport()->close();

    // The dialog that asks for formats and folder (exec() in the app).
    qat::ui::ExportDialog dialog(m_finishedA);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QCOMPARE(dialog.formats().size(), size_t(3)); // MCT's ONNX format is there, unticked
    const auto boxes = dialog.findChildren<QCheckBox*>();
    QVERIFY(std::any_of(boxes.begin(), boxes.end(),
                        [](auto* b) { return b->text().contains(QStringLiteral("mct_quantizers")) && !b->isChecked(); }));
    QVERIFY(!dialog.folder().isEmpty());
    saveScreenshot(dialog, QStringLiteral("history_export_dialog.png"));

    // A run that never trained has nothing to export: the user is told why.
    QSignalSpy failed(view->controller(), &qat::ui::HistoryController::failed);
    QVERIFY(view->exportRun(m_failed, out, {qat::exporter::Format::Spec}));
    QVERIFY(failed.wait(60000));
    QVERIFY2(failed.first().at(2).toString().contains(QStringLiteral("no trained state")),
             qPrintable(failed.first().at(2).toString()));
}

void TestHistory::sensitivityPerLayer()
{
    MainWindow window;
    QVERIFY(showHistory(window, m_db));
    auto* view = window.historyView();
    auto* sensitivity = view->sensitivityView();
    view->selectRuns({m_finishedB});
    QVERIFY(sensitivity->measureButton()->isEnabled());
    QSignalSpy done(view, &HistoryView::jobFinished);
    QSignalSpy progress(view->controller(), &qat::ui::HistoryController::sensitivityProgress);
    // Both modes, one after the other, each stored with the run.
    for (const auto* mode : {"trained", "float"}) {
        done.clear();
        progress.clear();
        QVERIFY(view->measureSensitivity(m_finishedB, 200, QString::fromLatin1(mode)));
        QVERIFY(done.wait(300000));
        QCOMPARE(done.first().at(1).toBool(), true);
        QCOMPARE(progress.size(), 7); // the float model, all quantized, then 5 layers
        QCOMPARE(sensitivity->mode(), QString::fromLatin1(mode));
        QCOMPARE(sensitivity->barCount(), 5);
    }
    qat::store::RunStore store(m_db.toStdString(), qat::store::RunStore::Access::ReadOnly);
    const auto trained = store.sensitivity(m_finishedB, "trained");
    const auto fromFloat = store.sensitivity(m_finishedB, "float");
    QCOMPARE(trained.size(), size_t(5)); // one per layer of the demo CNN
    QCOMPARE(fromFloat.size(), size_t(5));
    QCOMPARE(QString::fromStdString(trained.front().layer), QStringLiteral("features.0"));
    for (const auto& r : trained) {
        QCOMPARE(r.images, 200);
        QVERIFY(r.top1 > 0.1 && r.top1 <= 1.0);
        QVERIFY(std::abs(r.top1 - r.drop - *r.quantizedTop1) < 1e-9); // against the run, all quantized
    }
    for (const auto& r : fromFloat) {
        QVERIFY(std::abs(r.top1 + r.drop - *r.floatTop1) < 1e-9); // against the float model
    }
    // The page says which measurement it shows.
    QVERIFY2(sensitivity->summary()->text().contains(QStringLiteral("float model's weights")),
             qPrintable(sensitivity->summary()->text()));
    saveScreenshot(window, QStringLiteral("history_sensitivity_float.png"));
    sensitivity->setMode(QStringLiteral("trained"));
    QCOMPARE(sensitivity->barCount(), 5);
    QVERIFY2(sensitivity->summary()->text().contains(QStringLiteral("quantizers off")), qPrintable(sensitivity->summary()->text()));
    saveScreenshot(window, QStringLiteral("history_sensitivity.png"));

    // Stored with the run: a fresh window shows it without measuring.
    HistoryView again;
    again.setDatabasePath(m_db);
    again.selectRuns({m_finishedB});
    QCOMPARE(again.sensitivityView()->barCount(), 5);
    // A run without a trained state cannot be measured as trained, but its plan can be from the float model.
    again.selectRuns({m_failed});
    again.sensitivityView()->setMode(QStringLiteral("trained"));
    QVERIFY(!again.sensitivityView()->measureButton()->isEnabled());
    again.sensitivityView()->setMode(QStringLiteral("float"));
    QVERIFY(again.sensitivityView()->measureButton()->isEnabled());

    // The same analysis from the command line, for scripts.
    QProcess cli;
    cli.start(qat::test::path(QATWB_CLI), {QStringLiteral("runs"), QStringLiteral("sensitivity"), QString::number(m_finishedA),
                                          QStringLiteral("--limit-test"), QStringLiteral("100"), QStringLiteral("--json"),
                                          QStringLiteral("--db"), m_db});
    QVERIFY(cli.waitForFinished(300000));
    QCOMPARE(cli.exitCode(), 0);
    const auto doc = QJsonDocument::fromJson(cli.readAllStandardOutput()).object();
    QCOMPARE(doc.value(QStringLiteral("mode")).toString(), QStringLiteral("trained"));
    QCOMPARE(doc.value(QStringLiteral("layers")).toArray().size(), 5);
    QCOMPARE(doc.value(QStringLiteral("images")).toInt(), 100);
    QCOMPARE(store.sensitivity(m_finishedA).size(), size_t(5));
}

QTEST_MAIN(TestHistory)
