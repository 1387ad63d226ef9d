// SPDX-License-Identifier: MIT
// The History page (tst_history, continued): what the Quantizers tab says about a run's
// quantizers beyond their parameters (activation points calibration never reached).
#include "test_paths.h"
#include "history_test_util.h"
#include "tst_history.h"
#include "window_test_util.h"

#include "main_window.h"
#include "views/history_view.h"

#include <QStandardItemModel>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

using qat::ui::HistoryView;
using qat::ui::MainWindow;

using namespace qat::test::history;

// A scripted nn.MultiheadAttention's branches that calibration never takes: the Quantizers
// tab says which quantizers started at the default range, and only those.
void TestHistory::unreachedPointsAreMarked()
{
    QTemporaryDir dir;
    const auto db = dir.filePath(QStringLiteral("runs.sqlite"));
    auto args = trainArgs(db, 2);
    args[2] = qat::test::path(QATWB_FIXTURES_DIR, "/attention_net_scripted.pt");
    const auto id = runCli(args, 0);
    QVERIFY(id > 0);
    MainWindow window;
    window.setRunDatabasePath(db);
    auto* history = window.historyView();
    history->selectRuns({id});
    auto* quantizers = history->quantizerModel();
    int marked = 0;
    for (int row = 0; row < quantizers->rowCount(); ++row) {
        const auto init = quantizers->item(row, 4)->text();
        const bool weights = quantizers->item(row, 2)->text() == QStringLiteral("weights");
        if (init.endsWith(QStringLiteral(", unreached"))) {
            QVERIFY2(!weights, qPrintable(quantizers->item(row, 0)->text()));
            QVERIFY(quantizers->item(row, 4)->toolTip().contains(QStringLiteral("[-1, 1]")));
            ++marked;
        }
    }
    QVERIFY2(marked > 0 && marked < quantizers->rowCount(), qPrintable(QString::number(marked)));
    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.showPage(MainWindow::Page::History);
    history->selectRuns({id});
    history->tabs()->setCurrentIndex(HistoryView::QuantizersTab);
    saveScreenshot(window, QStringLiteral("history_unreached.png"));
}
