// SPDX-License-Identifier: MIT
// The graph view on real imported models, with the real plan model, undo stack and Graphviz,
// offscreen: layout without overlaps, selection shared with the Quantization table, edits
// with undo, float tensors drawn as such, training values on the badges.
#include "test_paths.h"
#include "graph/graph_canvas.h"
#include "main_window.h"
#include "views/model_view.h"
#include "controllers/training_controller.h"
#include "views/quantization_view.h"
#include "views/training_view.h"
#include "widgets/live_plots.h"
#include "window_test_util.h"
#include "graph/graph_items.h"
#include "model/model_inspector.h"
#include "models/plan_table_model.h"
#include "quantizers/registry_facade.h"
#include "views/graph_view.h"
#include "widgets/elided_label.h"

#include <QAction>
#include <QApplication>
#include <QContextMenuEvent>
#include <QDir>
#include <QMenu>
#include <QTimer>
#include <QProcess>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QGraphicsScene>
#include <QItemSelectionModel>
#include <QTableView>
#include <QUndoStack>
#include <QtTest>

using qat::ui::GraphView;
using qat::ui::NodeItem;
using qat::ui::PlanTableModel;

namespace {

// "demo", a fixture ("se_net_traced"), "tv/..." (torchvision, made by the build) or "onnx/..."
// (ONNX fixtures); without an extension, ".pt".
QString modelPath(const QString& name)
{
    if (name == QLatin1String("demo")) return qat::test::path(QATWB_DEMO_MODEL);
    const QString file = name.contains(QLatin1Char('.')) ? name.section(QLatin1Char('/'), -1)
                                                          : name.section(QLatin1Char('/'), -1) + QStringLiteral(".pt");
    if (name.startsWith(QLatin1String("tv/"))) return QDir(qat::test::path(QATWB_TORCHVISION_FIXTURES_DIR)).filePath(file);
    if (name.startsWith(QLatin1String("onnx/"))) return QDir(qat::test::path(QATWB_ONNX_FIXTURES_DIR)).filePath(file);
    return QDir(qat::test::path(QATWB_FIXTURES_DIR)).filePath(file);
}

/// A plan model, its table's selection, and a graph view on them, as the main window wires them.
struct Fixture {
    QUndoStack undo;
    PlanTableModel plan{&undo};
    QItemSelectionModel selection{&plan};
    GraphView view;
    qat::model::ModelInfo info;

    explicit Fixture(const QString& name)
    {
        std::vector<qat::quant::PluginReport> reports;
        plan.setRegistry(qat::quant::makeSessionRegistry({}, &reports));
        info = qat::model::inspectModel(modelPath(name).toStdString());
        plan.setModel(info.layers, info.opGraph);
        view.setPlanModel(&plan, &selection);
        view.resize(1100, 800);
        view.show();
        view.refresh();
        view.canvas()->showStart();
    }
    QList<int> selectedRows() const
    {
        QList<int> rows;
        for (const auto& index : selection.selectedRows()) rows << index.row();
        std::sort(rows.begin(), rows.end());
        return rows;
    }
    QList<qat::ui::EdgeItem*> edgesFrom(NodeItem* node) const
    {
        QList<qat::ui::EdgeItem*> out;
        const auto& edges = view.displayGraph().edges;
        for (size_t i = 0; i < edges.size(); ++i) {
            if (edges[i].from == node->displayNode()) out << view.edgeItems()[i];
        }
        return out;
    }
};

using qat::test::window::saveScreenshot;
using qat::test::window::guiEnvironment;

} // namespace

class TestGraphView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void laysOutWithoutOverlaps_data();
    void laysOutWithoutOverlaps();
    void selectionIsSharedWithTheTable();
    void editThroughTheGraphUndoes();
    void contextMenuEditsTheSelection();
    void floatEdgeFollowsThePlan();
    void trainingValuesOnBadges();
    void searchFindsNodes();
    void windowWiresGraphToTableAndPlots();
    void badgesFollowARun();
    void screenshotOptionRendersGraph();
};

void TestGraphView::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("qat-workbench-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_graph_view"));
}

void TestGraphView::laysOutWithoutOverlaps_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("screenshot");
    QTest::newRow("demo") << "demo" << "graph_demo.png";
    QTest::newRow("residual_dw") << "residual_dw_traced" << "graph_residual_dw.png";
    QTest::newRow("se_net") << "se_net_scripted" << "graph_se_net.png";
    QTest::newRow("cat_net") << "cat_net_traced" << "graph_cat_net.png";
    QTest::newRow("shared_linear") << "shared_linear_scripted" << "graph_shared_linear.png"; // one layer, two boxes
    QTest::newRow("conv_transpose") << "conv_transpose_net_traced" << "graph_conv_transpose.png";
    QTest::newRow("resnet18") << "tv/resnet18_traced" << "graph_resnet18.png";
    QTest::newRow("mobilenet_v2") << "tv/mobilenet_v2_traced" << "graph_mobilenet_v2.png";
    // Scripted (Python branches collapsed), channel shuffles, SE blocks with hardsigmoid, fire modules.
    QTest::newRow("mobilenet_v2_scripted") << "tv/mobilenet_v2_scripted" << "graph_mobilenet_v2_scripted.png";
    QTest::newRow("efficientnet_b0") << "tv/efficientnet_b0_traced" << "graph_efficientnet_b0.png";
    QTest::newRow("shufflenet_v2") << "tv/shufflenet_v2_x0_5_traced" << "graph_shufflenet_v2.png";
    QTest::newRow("mobilenet_v3_small") << "tv/mobilenet_v3_small_scripted" << "graph_mobilenet_v3_small.png";
    QTest::newRow("squeezenet") << "tv/squeezenet1_1_traced" << "graph_squeezenet.png";
    QTest::newRow("regnet") << "tv/regnet_x_400mf_traced" << "graph_regnet.png";
    // ONNX files open as TorchScript modules: the same graph view.
    QTest::newRow("residual_dw_onnx") << "onnx/residual_dw_opset17.onnx" << "graph_residual_dw_onnx.png";
    QTest::newRow("mobilenet_v2_onnx") << "tv/mobilenet_v2_opset17.onnx" << "graph_mobilenet_v2_onnx.png";
}

void TestGraphView::laysOutWithoutOverlaps()
{
    QFETCH(QString, model);
    QFETCH(QString, screenshot);
    Fixture f(model);
    const auto& nodes = f.view.nodeItems();
    QVERIFY(!nodes.empty());
    // Every layer has a box, with its weight badge.
    for (const auto& layer : f.info.layers) {
        auto* node = f.view.nodeNamed(QString::fromStdString(layer.name));
        QVERIFY2(node, layer.name.c_str());
        QVERIFY(node->weightBadge().present);
    }
    // Every activation quantizer of the target is a badge on some node.
    int badges = 0;
    for (auto* n : nodes) badges += n->activationBadge().present ? 1 : 0;
    QCOMPARE(size_t(badges), f.plan.points().size());
    // No two nodes (box plus the badge row under it) overlap.
    for (size_t i = 0; i < nodes.size(); ++i) {
        const QRectF a(nodes[i]->pos(), nodes[i]->layoutSize());
        for (size_t j = i + 1; j < nodes.size(); ++j) {
            const QRectF b(nodes[j]->pos(), nodes[j]->layoutSize());
            QVERIFY2(!a.intersects(b), qPrintable(QStringLiteral("%1 overlaps %2").arg(nodes[i]->nodeToolTip(), nodes[j]->nodeToolTip())));
        }
    }
    // Under the default target (imx500) every tensor is quantized: no float edge.
    for (size_t i = 0; i < f.view.edgeItems().size(); ++i) {
        const auto& e = f.view.displayGraph().edges[i];
        QVERIFY2(!f.view.edgeItems()[i]->isFloat(),
                 qPrintable(QStringLiteral("float: %1 -> %2").arg(nodes[size_t(e.from)]->nodeToolTip(), nodes[size_t(e.to)]->nodeToolTip())));
    }
    qInfo("%s: %zu nodes, %zu edges, Graphviz layout %.1f ms, whole scene %.1f ms", qPrintable(model), nodes.size(),
          f.view.edgeItems().size(), f.view.layoutMilliseconds(), f.view.sceneMilliseconds());
    saveScreenshot(f.view, screenshot);
}

void TestGraphView::selectionIsSharedWithTheTable()
{
    Fixture f(QStringLiteral("residual_dw_traced"));
    // Graph to table: a layer box and an add node.
    auto* pw = f.view.nodeNamed(QStringLiteral("block1.pw"));
    auto* add = f.view.nodeNamed(QStringLiteral("block1:add"));
    QVERIFY(pw && add);
    pw->setSelected(true);
    QCOMPARE(f.selectedRows(), QList<int>{f.plan.rowOf(QStringLiteral("block1.pw"))});
    QCOMPARE(f.selection.currentIndex().row(), f.plan.rowOf(QStringLiteral("block1.pw")));
    add->setSelected(true);
    QList<int> both{f.plan.rowOf(QStringLiteral("block1.pw")), f.plan.rowOf(QStringLiteral("block1:add"))};
    std::sort(both.begin(), both.end());
    QCOMPARE(f.selectedRows(), both);
    // Table to graph.
    const int head = f.plan.rowOf(QStringLiteral("head"));
    f.selection.select(f.plan.index(head, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QVERIFY(f.view.nodeNamed(QStringLiteral("head"))->isSelected());
    QVERIFY(!pw->isSelected());
    QVERIFY(!add->isSelected());
    QCOMPARE(f.view.scene()->selectedItems().size(), 1);
    saveScreenshot(f.view, QStringLiteral("graph_selection.png"));
}

void TestGraphView::editThroughTheGraphUndoes()
{
    Fixture f(QStringLiteral("residual_dw_traced"));
    auto* stem = f.view.nodeNamed(QStringLiteral("stem"));
    auto* head = f.view.nodeNamed(QStringLiteral("head"));
    QCOMPARE(stem->weightBadge().text, QStringLiteral("W8"));
    QCOMPARE(head->activationBadge().text, QStringLiteral("A8"));
    QVERIFY(!f.view.applyToSelection(PlanTableModel::WeightBits, 4)); // nothing selected
    stem->setSelected(true);
    head->setSelected(true);
    QVERIFY(f.view.applyToSelection(PlanTableModel::WeightBits, 4));
    QCOMPARE(f.undo.count(), 1);
    // The same items, restyled (an edit does not lay the graph out again).
    QCOMPARE(f.view.nodeNamed(QStringLiteral("stem")), stem);
    QCOMPARE(stem->weightBadge().text, QStringLiteral("W4"));
    QCOMPARE(head->weightBadge().text, QStringLiteral("W4"));
    QCOMPARE(f.plan.index(f.plan.rowOf(QStringLiteral("stem")), PlanTableModel::WeightBits).data().toInt(), 4);
    QCOMPARE(f.view.nodeNamed(QStringLiteral("block1.dw"))->weightBadge().text, QStringLiteral("W8"));
    // A quantizer change colours the badge by its grid.
    QVERIFY(f.view.applyToSelection(PlanTableModel::WeightQuantizer, QStringLiteral("LSQ|power-of-two")));
    QCOMPARE(stem->weightBadge().color, qat::ui::graph_colors::forMethod(QStringLiteral("power-of-two")));
    f.undo.undo();
    QCOMPARE(stem->weightBadge().color, qat::ui::graph_colors::forMethod(QStringLiteral("symmetric")));
    f.undo.undo();
    QCOMPARE(stem->weightBadge().text, QStringLiteral("W8"));
    QCOMPARE(head->weightBadge().text, QStringLiteral("W8"));
    f.undo.redo();
    QCOMPARE(stem->weightBadge().text, QStringLiteral("W4"));
    // An illegal edit (3-bit activations on the IMX500) is refused and changes nothing.
    QSignalSpy refused(&f.plan, &PlanTableModel::editRefused);
    QVERIFY(!f.view.applyToSelection(PlanTableModel::ActivationBits, 3));
    QCOMPARE(refused.size(), 1);
    QCOMPARE(head->activationBadge().text, QStringLiteral("A8"));
}

// The right-click menu a user edits with: it names the node, offers the table's editors, and
// an entry in a submenu changes the plan (one undoable step).
void TestGraphView::contextMenuEditsTheSelection()
{
    Fixture f(QStringLiteral("residual_dw_traced"));
    auto* stem = f.view.nodeNamed(QStringLiteral("stem"));
    auto* canvas = f.view.canvas();
    canvas->focusOn(stem->sceneBoundingRect());
    const QPoint at = canvas->viewport()->mapTo(&f.view, canvas->mapFromScene(stem->mapToScene(stem->boxRect().center())));
    QStringList entries;
    bool triggered = false;
    QTimer::singleShot(100, &f.view, [&] {
        auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
        if (!menu) return;
        for (auto* action : menu->actions()) {
            entries << action->text();
            if (action->menu() && action->text() == QStringLiteral("Weight bits")) {
                for (auto* bits : action->menu()->actions()) {
                    if (bits->text() == QStringLiteral("4 bits")) {
                        bits->trigger();
                        triggered = true;
                    }
                }
            }
        }
        saveScreenshot(*menu, QStringLiteral("graph_context_menu.png"));
        menu->close();
    });
    QContextMenuEvent event(QContextMenuEvent::Mouse, at, f.view.mapToGlobal(at));
    QApplication::sendEvent(&f.view, &event);
    QVERIFY2(triggered, qPrintable(entries.join(QStringLiteral(", "))));
    QVERIFY(stem->isSelected()); // right-clicking a node selects it
    QVERIFY(entries.contains(QStringLiteral("stem")));
    QVERIFY(entries.contains(QStringLiteral("Quantize")));
    QVERIFY(entries.contains(QStringLiteral("Activation quantizer")));
    QCOMPARE(stem->weightBadge().text, QStringLiteral("W4"));
    QCOMPARE(f.undo.count(), 1);
    f.undo.undo();
    QCOMPARE(stem->weightBadge().text, QStringLiteral("W8"));
}

void TestGraphView::floatEdgeFollowsThePlan()
{
    Fixture f(QStringLiteral("residual_dw_traced"));
    auto* add = f.view.nodeNamed(QStringLiteral("block1:add"));
    QVERIFY(add);
    const auto out = f.edgesFrom(add);
    QVERIFY(!out.isEmpty());
    for (auto* e : out) QVERIFY(!e->isFloat());
    const auto quantizedColor = out.first()->currentPen().color();
    // Leave the add unquantized, through the graph.
    add->setSelected(true);
    QVERIFY(f.view.applyToSelection(PlanTableModel::Enabled, false));
    QVERIFY(!add->activationBadge().enabled);
    for (auto* e : out) {
        QVERIFY(e->isFloat());
        QCOMPARE(e->currentPen().color(), qat::ui::graph_colors::floatEdge());
    }
    int floats = 0;
    for (auto* e : f.view.edgeItems()) floats += e->isFloat() ? 1 : 0;
    QCOMPARE(floats, int(out.size())); // only the add's output is float
    saveScreenshot(f.view, QStringLiteral("graph_float_edge.png"));
    // Fixed: undo, and the colour is gone.
    f.undo.undo();
    for (auto* e : out) {
        QVERIFY(!e->isFloat());
        QCOMPARE(e->currentPen().color(), quantizedColor);
    }
    // Under `generic` (layer outputs only) the add's output is float whatever the plan says.
    QVERIFY(f.plan.setTarget(QStringLiteral("generic")));
    auto* genericAdd = f.view.nodeNamed(QStringLiteral("block1:add"));
    QVERIFY(!genericAdd); // no quantizer there: the node is only an op
    floats = 0;
    for (auto* e : f.view.edgeItems()) floats += e->isFloat() ? 1 : 0;
    QCOMPARE(floats, 3); // add -> relu -> block2.dw, and mean -> head
    saveScreenshot(f.view, QStringLiteral("graph_generic.png"));
}

void TestGraphView::trainingValuesOnBadges()
{
    Fixture f(QStringLiteral("residual_dw_traced"));
    auto* stem = f.view.nodeNamed(QStringLiteral("stem"));
    qat::train::SnapshotEvent weights;
    weights.step = 7;
    weights.quantizer = "stem.weight";
    weights.values.values["threshold"] = {0.25f, 0.75f};
    qat::train::SnapshotEvent output;
    output.step = 7;
    output.quantizer = "stem:output";
    output.values.values["threshold"] = {4.0f};
    f.view.showTrainingEvents({weights, output});
    QCOMPARE(stem->weightBadge().text, QStringLiteral("W8 0.5"));
    QCOMPARE(stem->activationBadge().text, QStringLiteral("A8 4"));
    QVERIFY(stem->weightBadge().toolTip.contains(QStringLiteral("mean of 2 channels")));
    // A click on a badge names its quantizer (the window opens it in the Live Plots).
    QSignalSpy activated(&f.view, &GraphView::quantizerActivated);
    f.view.canvas()->focusOn(stem->sceneBoundingRect());
    const QPointF badge = stem->mapToScene(stem->activationBadgeRect().center());
    QTest::mouseClick(f.view.canvas()->viewport(), Qt::LeftButton, {}, f.view.canvas()->mapFromScene(badge));
    QCOMPARE(activated.size(), 1);
    QCOMPARE(activated.first().first().toString(), QStringLiteral("stem:output"));
    saveScreenshot(f.view, QStringLiteral("graph_training_values.png"));
    f.view.clearTrainingValues();
    QCOMPARE(stem->weightBadge().text, QStringLiteral("W8"));
}

void TestGraphView::searchFindsNodes()
{
    Fixture f(QStringLiteral("tv/mobilenet_v2_traced"));
    QVERIFY(f.view.search(QStringLiteral("features.17")));
    const auto selected = f.view.scene()->selectedItems();
    QCOMPARE(selected.size(), 1);
    QVERIFY(static_cast<NodeItem*>(selected.first())->content().search.contains(QStringLiteral("features.17")));
    QVERIFY(f.view.canvas()->mapToScene(f.view.canvas()->viewport()->rect()).boundingRect().contains(selected.first()->sceneBoundingRect().center()));
    QCOMPARE(f.selectedRows().size(), 1); // the table follows
    QVERIFY(!f.view.search(QStringLiteral("no such layer")));
    // Large graphs get an overview.
    f.view.canvas()->zoomBy(4);
    QVERIFY(f.view.canvas()->overview()->isVisible());
}

// In the window: the graph is the Model page's first tab; a click selects the row on the
// Quantization page, a double click goes there, a badge click opens the Live Plots on it.
void TestGraphView::windowWiresGraphToTableAndPlots()
{
    qat::ui::MainWindow window;
    window.resize(1280, 800);
    window.show();
    QVERIFY(qat::test::window::openAndWait(window, modelPath(QStringLiteral("residual_dw_traced"))));
    window.showGraph();
    auto* graph = window.modelView()->graphView();
    QVERIFY(graph->isVisible());
    QVERIFY(!graph->nodeItems().empty());
    // The toolbar's status keeps its start when the window is narrow: cut at its end, whole
    // in its tooltip.
    auto* status = graph->findChild<qat::ui::ElidedLabel*>();
    QVERIFY(status);
    QVERIFY2(status->text().startsWith(QStringLiteral("%1 nodes").arg(graph->nodeItems().size())), qPrintable(status->text()));
    window.resize(900, 800);
    QTRY_VERIFY(status->shownText() != status->text());
    QVERIFY2(status->shownText().endsWith(QChar(0x2026)), qPrintable(status->shownText()));
    QVERIFY(status->text().startsWith(status->shownText().chopped(1)));
    window.resize(1280, 800);
    auto* canvas = graph->canvas();
    QSignalSpy plotted(window.quantizationView(), &qat::ui::QuantizationView::quantizerSelected);
    QSignalSpy opened(graph, &GraphView::quantizerActivated);
    auto* pw = graph->nodeNamed(QStringLiteral("block1.pw"));
    canvas->focusOn(pw->sceneBoundingRect());
    const QPoint title = canvas->mapFromScene(pw->mapToScene(pw->boxRect().center()));
    QTest::mouseClick(canvas->viewport(), Qt::LeftButton, {}, title);
    auto* plan = window.quantizationView()->planModel();
    const auto selected = window.quantizationView()->table()->selectionModel()->selectedRows();
    QCOMPARE(selected.size(), 1);
    QCOMPARE(selected.first().row(), plan->rowOf(QStringLiteral("block1.pw")));
    // The current row is what the Live Plots follow.
    QCOMPARE(plotted.size(), 1);
    QCOMPARE(plotted.first().first().toString(), QStringLiteral("block1.pw.weight"));
    saveScreenshot(window, QStringLiteral("graph_window.png"));
    QTest::mouseDClick(canvas->viewport(), Qt::LeftButton, {}, title);
    QVERIFY(window.quantizationView()->isVisible());
    window.showGraph();
    const QPoint badge = canvas->mapFromScene(pw->mapToScene(pw->activationBadgeRect().center()));
    QTest::mouseClick(canvas->viewport(), Qt::LeftButton, {}, badge);
    QCOMPARE(opened.size(), 1);
    QCOMPARE(opened.first().first().toString(), QStringLiteral("block1.pw:output"));
    // No run yet: nothing to plot, and the status bar says why instead of an empty page.
    QVERIFY(graph->isVisible());
    QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("block1.pw:output")));

    // The README's picture: 4-bit LSQ power-of-two weights in the blocks, the add left float.
    QList<int> blocks;
    for (const char* layer : {"block1.dw", "block1.pw", "block2.dw", "block2.pw"}) {
        blocks << plan->rowOf(QString::fromLatin1(layer));
    }
    QVERIFY(plan->setColumn(blocks, qat::ui::PlanTableModel::WeightBits, 4));
    QVERIFY(plan->setColumn(blocks, qat::ui::PlanTableModel::WeightQuantizer, QStringLiteral("LSQ|power-of-two")));
    QVERIFY(plan->setColumn({plan->rowOf(QStringLiteral("block1:add"))}, qat::ui::PlanTableModel::Enabled, false));
    window.showGraph();
    window.resize(1280, 1000);
    QTest::qWait(20);
    canvas->fitAll();
    saveScreenshot(window, QStringLiteral("graph_view.png"));
}

// A short real run on the demo model: the badges show the trained parameters, and a badge
// click opens that quantizer in the Live Plots.
void TestGraphView::badgesFollowARun()
{
    QTemporaryDir dir;
    qat::ui::MainWindow window;
    window.setRunDatabasePath(dir.filePath(QStringLiteral("runs.sqlite")));
    window.resize(1280, 800);
    window.show();
    QVERIFY(qat::test::window::openAndWait(window, modelPath(QStringLiteral("demo"))));
    window.trainingView()->setShortRun(4, 256, 64);
    QSignalSpy finished(window.training(), &qat::ui::TrainingController::finished);
    QVERIFY(window.startTraining());
    QVERIFY(finished.wait(180000));
    window.showGraph();
    auto* graph = window.modelView()->graphView();
    auto* first = graph->nodeNamed(QStringLiteral("features.0"));
    QVERIFY(first);
    // "W8 0.42": the bits, then the threshold's mean over channels.
    const auto weightText = first->weightBadge().text;
    QVERIFY2(weightText.startsWith(QStringLiteral("W8 ")) && weightText.size() > 3, qPrintable(weightText));
    QVERIFY2(first->activationBadge().text.startsWith(QStringLiteral("A8 ")), qPrintable(first->activationBadge().text));
    QVERIFY(first->weightBadge().toolTip.contains(QStringLiteral("threshold")));
    saveScreenshot(window, QStringLiteral("graph_after_run.png"));
    auto* canvas = graph->canvas();
    canvas->focusOn(first->sceneBoundingRect());
    QTest::mouseClick(canvas->viewport(), Qt::LeftButton, {},
                      canvas->mapFromScene(first->mapToScene(first->weightBadgeRect().center())));
    QVERIFY(window.livePlots()->isVisible());
    QCOMPARE(window.livePlots()->selectedQuantizer(), QStringLiteral("features.0.weight"));
    // The next run starts without the old values.
    QVERIFY(window.startTraining());
    QCOMPARE(first->weightBadge().text, QStringLiteral("W8"));
    QVERIFY(finished.wait(180000));
}

void TestGraphView::screenshotOptionRendersGraph()
{
    const auto out = QDir(qat::test::path(QATWB_SCREENSHOT_DIR)).filePath(QStringLiteral("cli_graph.png"));
    QFile::remove(out);
    QTemporaryDir config;
    QProcess gui;
    gui.setProcessEnvironment(guiEnvironment(config.path()));
    gui.start(qat::test::path(QATWB_GUI), {modelPath(QStringLiteral("se_net_traced")), QStringLiteral("--page"),
                                          QStringLiteral("graph"), QStringLiteral("--screenshot"), out});
    QVERIFY(gui.waitForFinished(120000));
    QCOMPARE(gui.exitCode(), 0);
    QVERIFY(!QImage(out).isNull());
    QProcess bad;
    bad.start(qat::test::path(QATWB_GUI), {QStringLiteral("--page"), QStringLiteral("graphs")});
    QVERIFY(bad.waitForFinished(60000));
    QCOMPARE(bad.exitCode(), 2);
    QVERIFY(bad.readAllStandardError().contains("model, graph, quantization"));
}

QTEST_MAIN(TestGraphView)
#include "tst_graph_view.moc"
