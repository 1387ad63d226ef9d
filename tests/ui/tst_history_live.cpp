// SPDX-License-Identifier: MIT
// The History page (tst_history, continued): refreshes when the CLI or the window adds or
// ends a run, a killed run, the running row, delete, and thousands of runs loaded lazily.
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

void TestHistory::refreshesWhenTheCliAddsARun()
{
    HistoryView history;
    history.setDatabasePath(m_db);
    const int before = history.runModel()->rowCount();
    history.selectRuns({m_finishedA});
    const auto id = runCli(trainArgs(m_db, 3), 0);
    QVERIFY(id > 0);
    // The page polls the database (every 2 s); no call from the test.
    QTRY_COMPARE_WITH_TIMEOUT(history.runModel()->rowCount(), before + 1, 15000);
    QCOMPARE(history.runModel()->runId(0), id);
    QCOMPARE(history.currentRunId(), m_finishedA); // the selection stays
}

void TestHistory::killedCliRunBecomesInterruptedWhileShown()
{
    HistoryView history;
    history.setDatabasePath(m_db);
    QProcess cli;
    qint64 id = 0;
    QVERIFY(startLongRun(cli, m_db, &id));
    QTRY_VERIFY_WITH_TIMEOUT(history.runModel()->rowOf(id) >= 0, 15000);
    auto* model = history.runModel();
    QTRY_COMPARE_WITH_TIMEOUT(model->index(model->rowOf(id), RunTableModel::State).data().toString(),
                              QStringLiteral("running"), 15000);
    cli.kill();
    QVERIFY(cli.waitForFinished(60000));
    QTRY_COMPARE_WITH_TIMEOUT(model->index(model->rowOf(id), RunTableModel::State).data().toString(),
                              QStringLiteral("interrupted"), 15000);
    qat::store::RunStore store(m_db.toStdString());
    QVERIFY(store.deleteRun(id)); // the later tests expect the fixture as it was
}

// Issue #25 item 4: a run's row shows the float model's top-1 as soon as the run measured
// it (before its first step), and the latest epoch's top-1 as epochs end, while it trains.
void TestHistory::runningRowShowsWhatIsKnown()
{
    MainWindow window;
    QVERIFY(showHistory(window, m_db));
    auto* model = window.historyView()->runModel();
    const qint64 newest = model->runId(0);
    QProcess cli;
    // 4 steps an epoch, many epochs: epochs end while the run goes on.
    cli.start(qat::test::path(QATWB_CLI), trainArgs(m_db, 100000) << QStringLiteral("--limit-train") << QStringLiteral("256")
                                                                  << QStringLiteral("--epochs") << QStringLiteral("1000"));
    QVERIFY(cli.waitForStarted());
    qint64 id = 0;
    const auto cleanUp = qScopeGuard([&] {
        ::kill(pid_t(cli.processId()), SIGINT);
        cli.waitForFinished(60000);
        qat::store::RunStore store(m_db.toStdString());
        store.deleteRun(id); // the later tests expect the fixture as it was
    });
    QTRY_VERIFY_WITH_TIMEOUT((id = model->runId(0)) > newest, 60000);
    auto cell = [&](int column) { return model->index(model->rowOf(id), column).data().toString(); };
    // Measured before calibration: shown while the run calibrates or trains.
    QTRY_VERIFY_WITH_TIMEOUT(!cell(RunTableModel::FloatTop1).isEmpty(), 120000);
    QVERIFY2(cell(RunTableModel::State) == QStringLiteral("calibrating") || cell(RunTableModel::State) == QStringLiteral("running"),
             qPrintable(cell(RunTableModel::State)));
    QVERIFY2(cell(RunTableModel::FloatTop1).endsWith(QStringLiteral("%")), qPrintable(cell(RunTableModel::FloatTop1)));
    QTRY_VERIFY_WITH_TIMEOUT(!cell(RunTableModel::QatTop1).isEmpty(), 120000);
    QCOMPARE(cell(RunTableModel::State), QStringLiteral("running"));
    {
        qat::store::RunStore store(m_db.toStdString(), qat::store::RunStore::Access::ReadOnly);
        const auto epochs = store.epochs(id);
        QVERIFY(!epochs.empty());
        QVERIFY(store.run(id)->floatTop1.has_value());
        // The row shows an epoch's result (the latest one it has seen).
        QStringList epochTop1;
        for (const auto& e : epochs) {
            epochTop1 << QStringLiteral("%1 %").arg(e.top1 * 100, 0, 'f', 2);
        }
        QVERIFY2(epochTop1.contains(cell(RunTableModel::QatTop1)), qPrintable(cell(RunTableModel::QatTop1)));
    }
    window.historyView()->selectRuns({id});
    saveScreenshot(window, QStringLiteral("history_running.png"));
}

void TestHistory::refreshesWhenARunFinishesInTheWindow()
{
    MainWindow window;
    window.setRunDatabasePath(m_db);
    QVERIFY(openAndWait(window, kDemo));
    window.trainingView()->setShortRun(4, 512, 100);
    QSignalSpy finished(window.training(), &qat::ui::TrainingController::finished);
    QVERIFY(window.startTraining());
    QVERIFY(finished.wait(180000));
    auto* model = window.historyView()->runModel();
    const int row = model->rowOf(window.training()->runId());
    QVERIFY(row >= 0); // no poll needed
    QCOMPARE(model->index(row, RunTableModel::State).data().toString(), QStringLiteral("finished"));
}

void TestHistory::deleteRemovesRowsAndTraces()
{
    HistoryView history;
    history.setDatabasePath(m_db);
    auto* model = history.runModel();
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const int before = model->rowCount();
    {
        qat::store::RunStore store(m_db.toStdString(), qat::store::RunStore::Access::ReadOnly);
        QVERIFY(!store.traces(m_diverged).empty() || !store.metrics(m_diverged).empty());
        QVERIFY(!store.traces(m_cancelled).empty());
    }
    // Through the confirmation box, answered Yes.
    history.selectRuns({m_diverged, m_cancelled});
    QTimer::singleShot(100, this, [] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            box->button(QMessageBox::Yes)->click();
        }
    });
    QCOMPARE(history.deleteRuns(history.selectedRunIds(), HistoryView::Confirm::Ask), 2);
    QCOMPARE(model->rowCount(), before - 2);
    QCOMPARE(model->rowOf(m_diverged), -1);
    QCOMPARE(model->rowOf(m_cancelled), -1);
    // Answered Cancel: nothing happens.
    QTimer::singleShot(100, this, [] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            box->button(QMessageBox::Cancel)->click();
        }
    });
    QCOMPARE(history.deleteRuns({m_interrupted}, HistoryView::Confirm::Ask), 0);
    QCOMPARE(model->rowCount(), before - 2);

    qat::store::RunStore store(m_db.toStdString(), qat::store::RunStore::Access::ReadOnly);
    for (auto id : {m_diverged, m_cancelled}) {
        QVERIFY(!store.run(id).has_value());
        QVERIFY(store.traces(id).empty());
        QVERIFY(store.metrics(id).empty());
        QVERIFY(store.quantizers(id).empty());
    }
    QVERIFY(store.run(m_interrupted).has_value());
}

void TestHistory::thousandsOfRunsLoadLazily()
{
    // Copy the fixture's runs into a new database until it holds > 3000 of them.
    const auto big = m_dir.filePath(QStringLiteral("big.sqlite"));
    QVERIFY(QFile::copy(m_db, big));
    {
        qat::store::RunStore store(big.toStdString()); // folds the copied WAL in
    }
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(big.toUtf8().constData(), &db), SQLITE_OK);
    const char* copy =
        "INSERT INTO runs (name, created, finished, state, message, model_path, model_hash, layer_summary, dataset, plan, "
        "hyperparameters, seed, app_version, host, pid, notes, tags, float_top1, qat_top1, float_loss, qat_loss, steps, "
        "seconds) SELECT name, created, finished, state, message, model_path, model_hash, layer_summary, dataset, plan, "
        "hyperparameters, seed, app_version, host, pid, notes, tags, float_top1, qat_top1 - random() % 1000 / 1e5, "
        "float_loss, qat_loss, steps, seconds FROM runs";
    for (int i = 0; i < 9; ++i) {
        QCOMPARE(sqlite3_exec(db, copy, nullptr, nullptr, nullptr), SQLITE_OK);
    }
    sqlite3_close(db);

    QElapsedTimer clock;
    clock.start();
    HistoryView history;
    history.setDatabasePath(big);
    const auto openMs = clock.elapsed();
    auto* model = history.runModel();
    const auto total = model->totalCount();
    QVERIFY2(total > 3000, qPrintable(QString::number(total)));
    QCOMPARE(model->rowCount(), RunTableModel::kPageSize); // one page, not everything
    QVERIFY(model->canFetchMore({}));
    clock.restart();
    model->fetchMore({});
    const auto pageMs = clock.elapsed();
    QCOMPARE(model->rowCount(), 2 * RunTableModel::kPageSize);
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    clock.restart();
    history.table()->sortByColumn(RunTableModel::QatTop1, Qt::DescendingOrder);
    const auto sortMs = clock.elapsed();
    // Sorted over all runs, not only the loaded pages.
    QVERIFY(model->record(0)->qatTop1.has_value());
    clock.restart();
    history.setFilter(QStringLiteral("w4a8"), QStringLiteral("finished"));
    const auto filterMs = clock.elapsed();
    QVERIFY(model->totalCount() > 100 && model->totalCount() < total);
    clock.restart();
    while (model->canFetchMore({})) {
        model->fetchMore({});
    }
    const auto allMs = clock.elapsed();
    QCOMPARE(qint64(model->rowCount()), model->totalCount());
    clock.restart();
    QVERIFY(!model->refresh()); // nothing changed: one cheap query
    const auto pollMs = clock.elapsed();
    qInfo("%lld runs: open + first page %lld ms, next page %lld ms, sort by QAT top-1 %lld ms, filter %lld ms, "
          "all %lld filtered rows %lld ms, unchanged poll %lld ms",
          total, openMs, pageMs, sortMs, filterMs, model->totalCount(), allMs, pollMs);
}
