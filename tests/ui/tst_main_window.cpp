// SPDX-License-Identifier: MIT
// The GUI skeleton with real widgets and the real importer (QT_QPA_PLATFORM=offscreen).
#include "test_paths.h"
#include "controllers/model_load_controller.h"
#include "main_window.h"
#include "window_test_util.h"
#include "engine/quantization_plan.h"
#include "models/layer_table_model.h"
#include "models/plan_table_model.h"
#include "views/model_view.h"
#include "views/quantization_view.h"
#include "views/training_view.h"
#include "widgets/message_banner.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QMimeData>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QTableView>
#include <QPlainTextEdit>
#include <QtTest>

using qat::ui::MainWindow;
using qat::ui::MessageBanner;

using namespace qat::test::window;

namespace {




} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void opensDemoModel();
    void badFileShowsBannerAndKeepsView();
    void dropOpensModel();
    void opensOnnxModel();
    void newerLoadWins();
    void remembersRecentFiles();
    void layerModelPassesTester();
    void screenshotOption();
    void trainingDockShowsAutomaticRates();
};

void TestMainWindow::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("qat-workbench-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_main_window"));
    QSettings().clear();
}

void TestMainWindow::opensDemoModel()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    saveScreenshot(window, QStringLiteral("welcome.png"));
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    auto* model = window.modelView()->layerModel();
    QCOMPARE(model->rowCount(), 5);
    QCOMPARE(model->index(0, qat::ui::LayerTableModel::Layer).data().toString(), QStringLiteral("features.0"));
    QCOMPARE(model->index(3, qat::ui::LayerTableModel::Kind).data().toString(), QStringLiteral("linear"));
    QCOMPARE(model->index(0, qat::ui::LayerTableModel::ActivationPoint).data().toString(),
             QStringLiteral("after batch_norm \u2192 relu"));
    QVERIFY(window.modelView()->isVisible());
    QVERIFY(window.modelView()->summary().contains(QStringLiteral("5 layers to quantize")));
    QVERIFY(window.windowTitle().startsWith(QStringLiteral("demo_cnn.pt")));
    QVERIFY(!window.banner()->isVisible());
    saveScreenshot(window, QStringLiteral("model_view.png"));
}

void TestMainWindow::badFileShowsBannerAndKeepsView()
{
    MainWindow window;
    window.show();
    QVERIFY(openAndWait(window, fixture(QStringLiteral("mlp_traced.pt"))));
    QCOMPARE(window.modelView()->layerModel()->rowCount(), 3);
    const auto bad = fixture(QStringLiteral("bad_state_dict.pt"));
    QVERIFY(!openAndWait(window, bad));
    QVERIFY(window.banner()->isVisible());
    QCOMPARE(window.banner()->kind(), MessageBanner::Kind::Error);
    QVERIFY2(window.banner()->text().contains(bad), qPrintable(window.banner()->text()));
    QVERIFY(window.banner()->text().contains(QStringLiteral("torch.jit.script")));
    // Nothing lost: the model shown before is still there, and the window still works.
    QCOMPARE(window.modelView()->layerModel()->rowCount(), 3);
    QCOMPARE(window.currentModelPath(), fixture(QStringLiteral("mlp_traced.pt")));
    saveScreenshot(window, QStringLiteral("error_banner.png"));
    QVERIFY(openAndWait(window, fixture(QStringLiteral("residual_dw_scripted.pt"))));
    QVERIFY(!window.banner()->isVisible());
    QCOMPARE(window.modelView()->layerModel()->rowCount(), 6);
}

void TestMainWindow::dropOpensModel()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(fixture(QStringLiteral("shared_linear_scripted.pt")))});
    QSignalSpy finished(&window, &MainWindow::modelLoadFinished);
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&window, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&window, &drop);
    QVERIFY(finished.wait(60000));
    QCOMPARE(window.modelView()->layerModel()->rowCount(), 3);
    QCOMPARE(window.modelView()->layerModel()->index(1, qat::ui::LayerTableModel::CallSites).data().toInt(), 2);
}

// A dropped .onnx opens like a .pt: its layers under their exporter's names, and the page
// says what the import did (the check against the ONNX graph, the absorbed NHWC transpose).
void TestMainWindow::opensOnnxModel()
{
    MainWindow window;
    window.resize(1200, 760);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const auto path = fixture(QStringLiteral("keras_nhwc_opset13.onnx"));
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    QSignalSpy finished(&window, &MainWindow::modelLoadFinished);
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&window, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&window, &drop);
    QVERIFY(finished.wait(60000));
    QVERIFY(finished.takeFirst().at(0).toBool());
    auto* model = window.modelView()->layerModel();
    QCOMPARE(model->rowCount(), 4);
    QCOMPARE(model->index(0, qat::ui::LayerTableModel::Layer).data().toString(),
             QStringLiteral("sequential.conv2d"));
    const auto summary = window.modelView()->summary();
    QVERIFY2(summary.contains(QStringLiteral("matches the ONNX graph evaluated op by op")), qPrintable(summary));
    QVERIFY2(summary.contains(QStringLiteral("channels-last")), qPrintable(summary));
    QVERIFY(window.windowTitle().startsWith(QStringLiteral("keras_nhwc_opset13.onnx")));
    QVERIFY(!window.banner()->isVisible());
    QCOMPARE(window.recentFiles().value(0), path);
    saveScreenshot(window, QStringLiteral("onnx_model.png"));
}

void TestMainWindow::newerLoadWins()
{
    MainWindow window;
    QSignalSpy finished(&window, &MainWindow::modelLoadFinished);
    window.openModel(fixture(QStringLiteral("mlp_scripted.pt")));
    window.openModel(fixture(QStringLiteral("conv3d_net_traced.pt")));
    QVERIFY(finished.wait(60000));
    QTRY_VERIFY_WITH_TIMEOUT(!window.loader()->isLoading(), 60000);
    QCOMPARE(finished.size(), 1);
    QCOMPARE(window.currentModelPath(), fixture(QStringLiteral("conv3d_net_traced.pt")));
    QCOMPARE(window.modelView()->layerModel()->rowCount(), 2);
}

void TestMainWindow::remembersRecentFiles()
{
    QSettings().clear();
    MainWindow window;
    QVERIFY(openAndWait(window, fixture(QStringLiteral("mlp_scripted.pt"))));
    QVERIFY(openAndWait(window, fixture(QStringLiteral("cnn_bn_relu_traced.pt"))));
    QVERIFY(!openAndWait(window, fixture(QStringLiteral("bad_empty.pt"))));
    MainWindow second;
    QCOMPARE(second.recentFiles(), QStringList({fixture(QStringLiteral("cnn_bn_relu_traced.pt")),
                                               fixture(QStringLiteral("mlp_scripted.pt"))}));
}

void TestMainWindow::layerModelPassesTester()
{
    qat::ui::LayerTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    MainWindow window;
    QVERIFY(openAndWait(window, fixture(QStringLiteral("residual_dw_traced.pt"))));
    model.setLayers(window.modelView()->layerModel()->layers());
    QCOMPARE(model.rowCount(), 6);
    model.setLayers({});
    QCOMPARE(model.rowCount(), 0);
}

void TestMainWindow::screenshotOption()
{
    const auto out = QDir(qat::test::path(QATWB_SCREENSHOT_DIR)).filePath(QStringLiteral("cli_screenshot.png"));
    QFile::remove(out);
    QTemporaryDir config;
    QProcess gui;
    gui.setProcessEnvironment(guiEnvironment(config.path()));
    gui.start(qat::test::path(QATWB_GUI), {QStringLiteral("--model"), qat::test::path(QATWB_DEMO_MODEL),
                                          QStringLiteral("--screenshot"), out});
    QVERIFY(gui.waitForFinished(120000));
    QCOMPARE(gui.exitCode(), 0);
    QImage image(out);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= 800 && image.height() >= 500);
}

// The Training dock's "auto" rates show what the plan resolves them to (what a run of it
// trains at, greyed), and a rate typed by hand comes back when "auto" is unticked.
void TestMainWindow::trainingDockShowsAutomaticRates()
{
    MainWindow window;
    window.show();
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    auto* view = window.trainingView();
    auto* lr = view->findChild<QDoubleSpinBox*>(QStringLiteral("weightsRate"));
    auto* qlr = view->findChild<QDoubleSpinBox*>(QStringLiteral("quantizerRate"));
    auto* lrAuto = view->findChild<QCheckBox*>(QStringLiteral("weightsRateAuto"));
    QVERIFY(lr && qlr && lrAuto);
    QVERIFY(lrAuto->isChecked());
    // mct-default: 8-bit weights and activations.
    QCOMPARE(lr->value(), 1e-4);
    QCOMPARE(qlr->value(), 1e-4);
    QVERIFY(!lr->isEnabled());
    auto* plan = window.quantizationView()->planModel();
    QVERIFY(plan->replacePlan(qat::engine::presetPlan("w4a4-lsq-uniform"), QStringLiteral("Preset w4a4")));
    QCOMPARE(lr->value(), 1e-3); // 4-bit activations
    QCOMPARE(qlr->value(), 1e-5); // uniform ranges
    QCOMPARE(view->config().lr, -1.0);
    saveScreenshot(*view, QStringLiteral("training_dock_auto_rates.png"));
    lrAuto->setChecked(false);
    QVERIFY(lr->isEnabled());
    QCOMPARE(lr->value(), 1e-4); // the rate typed by hand (the default)
    lr->setValue(5e-4);
    QCOMPARE(view->config().lr, 5e-4);
    lrAuto->setChecked(true);
    QCOMPARE(lr->value(), 1e-3);
    QCOMPARE(view->config().lr, -1.0);
    QVERIFY(plan->replacePlan(qat::engine::presetPlan("w2a3"), QStringLiteral("Preset w2a3")));
    // The log's load line named the target of the plan then (imx500); the preset's line names
    // the one it brings.
    const auto log = window.logView()->toPlainText();
    QVERIFY2(log.contains(QStringLiteral("under target imx500")), qPrintable(log));
    QVERIFY2(log.contains(QStringLiteral("Preset w2a3, %1 activation point(s) under target lowbit").arg(plan->points().size())),
             qPrintable(log));
    QCOMPARE(lr->value(), 3e-3); // 3-bit activations
    QCOMPARE(qlr->value(), 1e-3); // 2-bit weights
    window.undoStack()->undo();
    QCOMPARE(qlr->value(), 1e-5);
    lrAuto->setChecked(false);
    QCOMPARE(lr->value(), 5e-4);
    lrAuto->setChecked(true); // as the next window should find it
}

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
