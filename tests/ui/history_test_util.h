// SPDX-License-Identifier: MIT
#pragma once
// Helpers of tst_history: the real CLI filling a run database, screenshots, table columns.

#include "test_paths.h"
#include "main_window.h"
#include "window_test_util.h"
#include "models/run_table_model.h"

#include <QDir>
#include <QProcess>
#include <QStringList>
#include <QtTest>

namespace qat::test::history {

using namespace qat::test::window;

using qat::ui::MainWindow;
using qat::ui::RunTableModel;


inline const QString kDemo = qat::test::path(QATWB_DEMO_MODEL);


inline QStringList trainArgs(const QString& db, int steps)
{
    return {QStringLiteral("train"), QStringLiteral("--model"), kDemo, QStringLiteral("--db"), db,
            QStringLiteral("--limit-train"), QStringLiteral("1024"), QStringLiteral("--limit-test"), QStringLiteral("200"),
            QStringLiteral("--batch"), QStringLiteral("64"), QStringLiteral("--snapshot-every"), QStringLiteral("2"),
            QStringLiteral("--steps"), QString::number(steps), QStringLiteral("--json")};
}

/// Runs the CLI to completion; returns the run id it printed (0 when none).
inline qint64 runCli(const QStringList& args, int expectedExit)
{
    QProcess cli;
    cli.start(qat::test::path(QATWB_CLI), args);
    if (!cli.waitForFinished(300000)) {
        qWarning("qatwb did not finish");
        return 0;
    }
    if (cli.exitCode() != expectedExit) {
        qWarning("qatwb exited with %d, expected %d: %s", cli.exitCode(), expectedExit, cli.readAllStandardError().constData());
        return 0;
    }
    return QJsonDocument::fromJson(cli.readAllStandardOutput()).object().value(QStringLiteral("run_id")).toInteger();
}

/// Starts a long CLI run and returns once the database says it is training.
inline bool startLongRun(QProcess& cli, const QString& db, qint64* id)
{
    cli.start(qat::test::path(QATWB_CLI), trainArgs(db, 100000));
    if (!cli.waitForStarted()) {
        return false;
    }
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < 240000) {
        QTest::qWait(200);
        qat::store::RunStore store(db.toStdString(), qat::store::RunStore::Access::ReadOnly);
        const auto runs = store.listRuns();
        if (!runs.empty() && runs.back().state == "running" && store.metrics(runs.back().id, "loss").size() >= 2) {
            *id = runs.back().id;
            return true;
        }
    }
    return false;
}


/// window on its History page for the run database db, shown at 1280x800.
inline bool showHistory(MainWindow& window, const QString& db)
{
    window.setRunDatabasePath(db);
    window.resize(1280, 800);
    window.show();
    if (!QTest::qWaitForWindowExposed(&window)) {
        return false;
    }
    window.showPage(MainWindow::Page::History);
    return true;
}

inline QStringList column(const RunTableModel& model, int column)
{
    QStringList values;
    for (int r = 0; r < model.rowCount(); ++r) {
        values << model.index(r, column).data().toString();
    }
    return values;
}

} // namespace qat::test::history
