// SPDX-License-Identifier: MIT
// The Model page on a real architecture (torchvision's MobileNet v3 small, 54 layers) and
// on the small fixtures: the Kind column names depthwise and grouped convolutions, the
// parameters chart keeps its labels apart at any layer count, names a bar's layer on hover
// and selects its table row on a click.
#include "test_paths.h"
#include "main_window.h"
#include "models/layer_table_model.h"
#include "views/model_view.h"
#include "window_test_util.h"

#include <QHeaderView>
#include <QSettings>
#include <QTableView>
#include <QToolTip>
#include <QtTest>
#include <qcustomplot.h>

using qat::ui::LayerTableModel;
using qat::ui::MainWindow;

using namespace qat::test::window;

namespace {

const QString kMobileNet = qat::test::path(QATWB_TORCHVISION_FIXTURES_DIR, "/mobilenet_v3_small_scripted.pt");

QStringList kinds(const LayerTableModel& model)
{
    QStringList out;
    for (int r = 0; r < model.rowCount(); ++r) {
        out << model.index(r, LayerTableModel::Kind).data().toString();
    }
    return out;
}

/// The pixel centre of bar `row` (0-based) of the parameters chart.
QPoint barCentre(QCustomPlot* plot, int row)
{
    const double x = plot->xAxis->coordToPixel(double(row + 1));
    const double y = plot->yAxis->coordToPixel(10.0); // low on the log axis: inside every bar
    return QPoint(int(x), int(y));
}

} // namespace

class TestModelView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void kindNamesDepthwiseAndGroupedConvolutions();
    void chartStaysReadableOnMobileNet();
};

void TestModelView::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("qat-workbench-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_model_view"));
    QSettings().clear();
    QVERIFY2(QFileInfo::exists(kMobileNet), "the build makes it (target torchvision_fixtures)");
}

void TestModelView::kindNamesDepthwiseAndGroupedConvolutions()
{
    MainWindow window;
    QVERIFY(openAndWait(window, fixture(QStringLiteral("residual_dw_traced.pt"))));
    auto* model = window.modelView()->layerModel();
    QCOMPARE(kinds(*model), (QStringList{"conv2d", "depthwise conv2d", "conv2d", "depthwise conv2d", "conv2d", "linear"}));
    QVERIFY(openAndWait(window, fixture(QStringLiteral("cnn_bn_relu_traced.pt")))); // features.3: 2 groups of 4 channels
    QCOMPARE(kinds(*model), (QStringList{"conv2d", "grouped conv2d", "conv2d", "linear"}));
    QVERIFY(openAndWait(window, kMobileNet));
    const auto all = kinds(*model);
    QCOMPARE(all.size(), 54);
    QCOMPARE(all.count(QStringLiteral("depthwise conv2d")), 11); // one per inverted-residual block
    QVERIFY(!all.contains(QStringLiteral("grouped conv2d")));
}

void TestModelView::chartStaysReadableOnMobileNet()
{
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(openAndWait(window, kMobileNet));
    window.showPage(MainWindow::Page::Model);
    auto* view = window.modelView();
    view->showGraph(false); // the Layers tab (the graph is the first)
    auto* plot = view->findChild<QCustomPlot*>();
    QVERIFY(plot != nullptr);
    QTest::qWait(50);
    plot->replot();

    // Every label drawn under the bars has room for itself: none overlaps the next.
    auto* ticker = dynamic_cast<QCPAxisTickerText*>(plot->xAxis->ticker().data());
    QVERIFY(ticker != nullptr);
    const QFontMetrics metrics(plot->xAxis->tickLabelFont());
    const auto ticks = ticker->ticks();
    QVERIFY(ticks.size() >= 5);
    double lastRight = -1e9;
    for (auto it = ticks.begin(); it != ticks.end(); ++it) {
        const double centre = plot->xAxis->coordToPixel(it.key());
        const double half = metrics.horizontalAdvance(it.value()) / 2.0;
        QVERIFY2(centre - half > lastRight, qPrintable(QStringLiteral("label '%1' overlaps the one before").arg(it.value())));
        lastRight = centre + half;
    }
    QCOMPARE(plot->xAxis->tickLabelRotation(), 0.0);

    // Hover names the layer in full; a click selects its row in the table.
    const auto* layers = view->layerModel();
    const int row = 37;
    const auto name = layers->index(row, LayerTableModel::Layer).data().toString();
    QTest::mouseMove(plot, barCentre(plot, row));
    QTRY_VERIFY2(QToolTip::text().contains(name), qPrintable(QToolTip::text()));
    QVERIFY(QToolTip::text().contains(layers->index(row, LayerTableModel::Kind).data().toString()));
    saveScreenshot(window, QStringLiteral("model_page_mobilenet.png"));
    QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, barCentre(plot, row));
    QCOMPARE(view->table()->currentIndex().row(), row);
    QVERIFY(view->table()->selectionModel()->isRowSelected(row, {}));
    // And the other way: the row picked in the table is the bar drawn highlighted.
    view->table()->selectRow(5);
    QCOMPARE(view->highlightedLayer(), 5);
    saveScreenshot(window, QStringLiteral("model_page_selected.png"));

    // A small model has room for the names themselves.
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    QTRY_COMPARE(dynamic_cast<QCPAxisTickerText*>(plot->xAxis->ticker().data())->ticks().values(),
                 (QStringList{"features.0", "features.4", "features.8", "classifier.1", "classifier.3"}));
}

QTEST_MAIN(TestModelView)
#include "tst_model_view.moc"
