// SPDX-License-Identifier: MIT
// The data page on real fixture data: thumbnails with labels, the class histogram, the
// preprocessing shown before training; a QAT run from a JPEG class folder with an RGB
// model started from the window; a broken folder explained in the banner.
#include "test_paths.h"
#include "controllers/training_controller.h"
#include "main_window.h"
#include "window_test_util.h"
#include "views/data_view.h"
#include "views/training_view.h"
#include "widgets/message_banner.h"

#include <qcustomplot.h>

#include <QListWidget>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

using qat::ui::DataView;
using qat::ui::MainWindow;

using namespace qat::test::window;

namespace {

const QString kData = qat::test::path(QATWB_SOURCE_DIR, "/tests/fixtures/data/");



void chooseData(MainWindow& window, const QString& path)
{
    auto config = window.trainingView()->config();
    config.data = path.toStdString();
    window.trainingView()->setConfig(config);
}

} // namespace

class TestDataView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void jpegFolderShownAndTrainedFromTheWindow();
    void brokenFolderExplained();
};

void TestDataView::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("qat-workbench-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_data_view"));
    QSettings().clear();
}

void TestDataView::jpegFolderShownAndTrainedFromTheWindow()
{
    QTemporaryDir dir;
    MainWindow window;
    window.setRunDatabasePath(dir.filePath(QStringLiteral("runs.sqlite")));
    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(openAndWait(window, kData + QStringLiteral("rgb_cnn.pt")));
    chooseData(window, kData + QStringLiteral("rgb_jpeg_split"));
    auto* view = window.dataView();
    QSignalSpy inspected(view, &DataView::inspected);
    window.showPage(MainWindow::Page::Data);
    QVERIFY(inspected.wait(60000));
    QCOMPARE(inspected.last().at(0).toString(), QString());
    // every training sample (12), as the model will see it: cropped to the model's 32x32
    QCOMPARE(view->thumbnails()->count(), 12);
    QCOMPARE(view->thumbnails()->item(0)->text(), QStringLiteral("ant"));
    QCOMPARE(view->thumbnails()->item(1)->text(), QStringLiteral("bee"));
    QVERIFY(view->thumbnails()->item(0)->toolTip().endsWith(QStringLiteral(".jpg")));
    QCOMPARE(view->report().resolved.resize.height, int64_t(32));
    QVERIFY2(view->pipelineText().contains(QStringLiteral("centre crop 32x32")), qPrintable(view->pipelineText()));
    // histogram: training and evaluation bars per class
    QCOMPARE(view->histogram()->plottableCount(), 2);
    auto* train = qobject_cast<QCPBars*>(view->histogram()->plottable(0));
    QVERIFY(train != nullptr);
    QCOMPARE(train->data()->size(), 2);
    QCOMPARE(train->data()->at(1)->value, 6.0);
    saveScreenshot(window, QStringLiteral("data_page.png"));

    // a change of option is shown before training: normalisation by ImageNet statistics
    view->setOptions([] {
        qat::data::DataOptions o;
        o.normalize = qat::data::parseNormalize("imagenet");
        return o;
    }());
    QVERIFY(inspected.wait(60000));
    QVERIFY(view->pipelineText().contains(QStringLiteral("ImageNet")));

    // and a short QAT run from the window on these JPEGs
    window.trainingView()->setShortRun(3, 12, 4);
    auto* controller = window.training();
    QSignalSpy finished(controller, &qat::ui::TrainingController::finished);
    QVERIFY(window.startTraining());
    QVERIFY(finished.wait(180000));
    const auto& result = controller->lastResult();
    QVERIFY2(result.state == qat::train::RunState::Finished, result.message.c_str());
    QCOMPARE(result.steps, int64_t(3));
}

void TestDataView::brokenFolderExplained()
{
    QTemporaryDir dir;
    MainWindow window;
    window.setRunDatabasePath(dir.filePath(QStringLiteral("runs.sqlite")));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(openAndWait(window, kData + QStringLiteral("rgb_cnn.pt")));
    chooseData(window, kData + QStringLiteral("bad/unreadable"));
    auto* view = window.dataView();
    QSignalSpy inspected(view, &DataView::inspected);
    window.showPage(MainWindow::Page::Data);
    QVERIFY(inspected.wait(60000));
    const auto error = inspected.last().at(0).toString();
    QVERIFY2(error.contains(QStringLiteral("truncated.jpg: unreadable image")), qPrintable(error));
    QVERIFY(window.banner()->isVisible());
    QVERIFY(window.banner()->text().contains(QStringLiteral("truncated.jpg")));
    // skipping unreadable files makes the same folder usable
    view->setOptions([] {
        qat::data::DataOptions o;
        o.badImages = qat::data::BadImages::Skip;
        return o;
    }());
    QVERIFY(inspected.wait(60000));
    QCOMPARE(inspected.last().at(0).toString(), QString());
    QCOMPARE(view->report().skipped.size(), size_t(2));
}

QTEST_MAIN(TestDataView)
#include "tst_data_view.moc"
