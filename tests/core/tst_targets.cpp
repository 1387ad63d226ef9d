// SPDX-License-Identifier: MIT
// Deployment targets and where they place activation quantizers, on hand-built op graphs
// (the placement is plain C++: no model file needed to pin down each rule).
#include "common/error.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <QtTest>

using qat::model::ActivationPointInfo;
using qat::model::OpGraph;
using qat::target::builtinTargets;

namespace {

/// Builds an OpGraph: node(op, inputs, scope, layer); input is node 0, output added last.
class GraphBuilder {
public:
    GraphBuilder() { node("input", {}); }
    int node(const std::string& op, std::vector<int> inputs, const std::string& scope = {},
             const std::string& layer = {})
    {
        qat::model::OpNode n;
        n.id = int(m_graph.nodes.size());
        n.op = op;
        n.inputs = std::move(inputs);
        n.scope = scope;
        n.layer = layer;
        m_graph.nodes.push_back(n);
        return n.id;
    }
    OpGraph done(std::vector<int> returned)
    {
        node("output", std::move(returned));
        return m_graph;
    }

private:
    OpGraph m_graph;
};

QString describe(const std::vector<ActivationPointInfo>& points)
{
    QStringList parts;
    for (const auto& p : points) {
        QString text = QString::fromStdString(p.name);
        for (const auto& f : p.fusedOps) {
            text += QLatin1Char('+') + QString::fromStdString(f);
        }
        if (p.isModelOutput) {
            text += QStringLiteral("!");
        }
        if (p.feedsLastLayer) {
            text += QStringLiteral("^");
        }
        parts << text;
    }
    return parts.join(QLatin1Char(' '));
}

QString place(const OpGraph& graph, const char* target)
{
    return describe(qat::target::placeActivationPoints(graph, builtinTargets().find(target)));
}

// A residual block: conv-BN-ReLU, conv-BN, add (reads the block input too), ReLU, then
// mean, view and a linear head whose output is viewed before it is returned.
OpGraph residualBlock()
{
    GraphBuilder g;
    const int conv1 = g.node("conv2d", {0}, "block.conv1", "block.conv1");
    const int bn1 = g.node("batch_norm", {conv1}, "block.bn1");
    const int relu1 = g.node("relu", {bn1}, "block");
    const int conv2 = g.node("conv2d", {relu1}, "block.conv2", "block.conv2");
    const int bn2 = g.node("batch_norm", {conv2}, "block.bn2");
    const int add = g.node("add", {bn2, 0}, "block");
    const int relu2 = g.node("relu", {add}, "block");
    const int mean = g.node("mean", {relu2});
    const int flat = g.node("flatten", {mean});
    const int fc = g.node("linear", {flat}, "fc", "fc");
    const int view = g.node("view", {fc});
    return g.done({view});
}

} // namespace

class TestTargets : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void builtinTargetsAreListed();
    void unknownTargetNamesTheKnownOnes();
    void duplicateTargetRefused();
    void placement_data();
    void placement();
    void fusionNeedsASoleReader();
    void fusionIsPerTarget();
    void repeatedOpsAreNumberedPerModule();
    void layerCalledTwiceHasTwoPoints();
    void quantizedByFollowsGridPreservingOps();
    void lastLayerInputIsWhatTheHeadReads();
    void numberFormatsDescribeThemselves();
};

void TestTargets::builtinTargetsAreListed()
{
    QStringList names;
    for (const auto& t : builtinTargets().all()) {
        names << QString::fromStdString(t.name);
        QVERIFY2(!t.description.empty(), t.name.c_str());
    }
    QCOMPARE(names, (QStringList{"imx500", "tflite-int8", "qnnpack", "lowbit", "generic"}));
    const auto& imx = builtinTargets().find("imx500");
    QVERIFY(imx.weights.allowsBits(2) && imx.weights.allowsBits(4) && imx.weights.allowsBits(8));
    QVERIFY(!imx.weights.allowsBits(3));
    QVERIFY(!imx.activations.allows(qat::quant::Method::Uniform));
    QVERIFY(!builtinTargets().find("qnnpack").weights.perChannel);
    QVERIFY(builtinTargets().find("lowbit").activations.allowsBits(3));
}

void TestTargets::unknownTargetNamesTheKnownOnes()
{
    try {
        builtinTargets().find("imx600");
        QFAIL("no error");
    } catch (const qat::Error& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(QStringLiteral("imx600")) && message.contains(QStringLiteral("tflite-int8")),
                 qPrintable(message));
    }
}

void TestTargets::duplicateTargetRefused()
{
    qat::target::TargetRegistry registry;
    qat::target::registerBuiltinTargets(registry);
    auto again = registry.find("imx500");
    QVERIFY_THROWS_EXCEPTION(qat::Error, registry.add(again));
}

void TestTargets::placement_data()
{
    QTest::addColumn<QString>("target");
    QTest::addColumn<QString>("expected");
    // imx500: conv-BN-ReLU fuse; conv-BN has no activation; add fuses the ReLU; mean gets its
    // own; flatten and view pass the grid on, so the head's output is the model output.
    QTest::newRow("imx500") << "imx500"
                            << "input block.conv1:output+batch_norm+relu block.conv2:output+batch_norm "
                               "block:add+relu mean^ fc:output!";
    QTest::newRow("tflite-int8") << "tflite-int8"
                                 << "input block.conv1:output+batch_norm+relu block.conv2:output+batch_norm "
                                    "block:add+relu mean^ fc:output!";
    QTest::newRow("lowbit") << "lowbit"
                            << "input block.conv1:output+batch_norm+relu block.conv2:output+batch_norm "
                               "block:add+relu mean^ fc:output!";
    // generic: layer outputs only, and "output" means returned as it is (the view hides it),
    // so no layer is the last one either.
    QTest::newRow("generic") << "generic"
                             << "input block.conv1:output+batch_norm+relu block.conv2:output+batch_norm fc:output";
}

void TestTargets::placement()
{
    QFETCH(QString, target);
    QFETCH(QString, expected);
    QCOMPARE(place(residualBlock(), target.toUtf8().constData()), expected);
}

void TestTargets::fusionNeedsASoleReader()
{
    // The conv's output is read by the ReLU and by the add: the ReLU cannot fuse (the add
    // needs the value before it), so the conv's output is quantized where it is.
    GraphBuilder g;
    const int conv = g.node("conv2d", {0}, "c", "c");
    const int relu = g.node("relu", {conv});
    const int add = g.node("add", {relu, conv});
    const auto graph = g.done({add});
    QCOMPARE(place(graph, "imx500"), QStringLiteral("input c:output relu add!"));
    // A value that is also returned is stored: nothing after it fuses.
    GraphBuilder h;
    const int a = h.node("add", {0, 0});
    const int r = h.node("relu", {a});
    QCOMPARE(place(h.done({a, r}), "imx500"), QStringLiteral("input add! relu!"));
}

void TestTargets::fusionIsPerTarget()
{
    GraphBuilder g;
    const int fc = g.node("linear", {0}, "fc", "fc");
    const int gelu = g.node("gelu", {fc});
    const int conv = g.node("conv2d", {gelu}, "c", "c");
    const int hs = g.node("hardswish", {conv});
    const int add = g.node("add", {hs, hs});
    const int relu6 = g.node("relu6", {add});
    const auto graph = g.done({relu6});
    // The IMX500 fuses hardswish into a conv and ReLU6 into an add, but not GELU into a linear.
    QCOMPARE(place(graph, "imx500"), QStringLiteral("input fc:output gelu c:output+hardswish add+relu6!"));
    // TFLite fuses only ReLU-like activations.
    QCOMPARE(place(graph, "tflite-int8"), QStringLiteral("input fc:output gelu c:output hardswish add+relu6!"));
    // QNNPACK fuses ReLU only.
    QCOMPARE(place(graph, "qnnpack"), QStringLiteral("input fc:output gelu c:output hardswish add relu6!"));
    // Before targets: any elementwise activation fused into a layer, nothing else quantized.
    QCOMPARE(place(graph, "generic"), QStringLiteral("input fc:output+gelu c:output+hardswish"));
}

void TestTargets::repeatedOpsAreNumberedPerModule()
{
    GraphBuilder g;
    const int a1 = g.node("add", {0, 0}, "b1");
    const int a2 = g.node("add", {a1, 0}, "b1");
    const int a3 = g.node("add", {a2, 0}, "b2");
    const int s = g.node("sigmoid", {a3});
    const int s2 = g.node("sigmoid", {s});
    QCOMPARE(place(g.done({s2}), "imx500"), QStringLiteral("input b1:add b1:add#2 b2:add sigmoid sigmoid#2!"));
}

void TestTargets::layerCalledTwiceHasTwoPoints()
{
    GraphBuilder g;
    const int fc1 = g.node("linear", {0}, "fc", "fc");
    const int r = g.node("relu", {fc1});
    const int fc2 = g.node("linear", {r}, "fc", "fc");
    const auto graph = g.done({fc2});
    const auto points = qat::target::placeActivationPoints(graph, builtinTargets().find("imx500"));
    QCOMPARE(describe(points), QStringLiteral("input fc:output+relu^ fc:output#2!"));
    QCOMPARE(points[2].call, 2);
    QCOMPARE(points[2].afterLayer, std::string("fc"));
}

void TestTargets::quantizedByFollowsGridPreservingOps()
{
    const auto graph = residualBlock();
    for (const char* name : {"imx500", "generic"}) {
        const auto& target = builtinTargets().find(name);
        const auto points = qat::target::placeActivationPoints(graph, target);
        const auto by = qat::target::quantizedBy(graph, points, target);
        auto pointAt = [&](int node) { return by[size_t(node)] >= 0 ? points[size_t(by[size_t(node)])].name : std::to_string(by[size_t(node)]); };
        // node ids: 0 input, 1 conv1, 2 bn1, 3 relu1, 4 conv2, 5 bn2, 6 add, 7 relu2, 8 mean, 9 flatten, 10 fc, 11 view
        QCOMPARE(pointAt(0), std::string("input"));
        QCOMPARE(pointAt(1), std::string("-2")); // inside the conv-BN-ReLU unit: never stored
        QCOMPARE(pointAt(3), std::string("block.conv1:output"));
        if (std::string(name) == "imx500") {
            QCOMPARE(pointAt(7), std::string("block:add"));
            QCOMPARE(pointAt(9), std::string("mean")); // flatten carries the mean's grid
            QCOMPARE(pointAt(11), std::string("fc:output"));
        } else {
            QCOMPARE(pointAt(7), std::string("-1")); // float: the add has no quantizer before targets
            QCOMPARE(pointAt(9), std::string("-1"));
        }
    }
}

void TestTargets::lastLayerInputIsWhatTheHeadReads()
{
    // Two branches concatenated, pooled and flattened into a linear head, which a second head
    // (not returned) also reads.
    GraphBuilder g;
    const int left = g.node("conv2d", {0}, "left", "left");
    const int right = g.node("conv2d", {0}, "right", "right");
    const int cat = g.node("cat", {left, right});
    const int pool = g.node("adaptive_avg_pool2d", {cat});
    const int flat = g.node("flatten", {pool});
    const int fc = g.node("linear", {flat}, "fc", "fc");
    const int aux = g.node("linear", {flat}, "aux", "aux");
    (void)aux;
    const auto graph = g.done({fc});
    // Where the target quantizes every tensor, the head reads the pool's grid through flatten.
    QCOMPARE(place(graph, "imx500"), QStringLiteral("input left:output right:output cat adaptive_avg_pool2d^ fc:output! "
                                                    "aux:output"));
    // Where only layer outputs are quantized, the head reads both branches' quantizers.
    QCOMPARE(place(graph, "generic"), QStringLiteral("input left:output^ right:output^ fc:output! aux:output"));
    // A model that is one layer reads the input: the plan's `input` governs that, never this.
    GraphBuilder one;
    const int only = one.node("linear", {0}, "fc", "fc");
    QCOMPARE(place(one.done({only}), "imx500"), QStringLiteral("input fc:output!"));
}

void TestTargets::numberFormatsDescribeThemselves()
{
    const auto& imx = builtinTargets().find("imx500");
    QCOMPARE(imx.weights.describe(true), std::string("symmetric or power-of-two, 8, 4 or 2 bits"));
    QCOMPARE(imx.activations.describe(false), std::string("power-of-two, 8 bits"));
    QCOMPARE(builtinTargets().find("qnnpack").weights.describe(true),
             std::string("symmetric, power-of-two or uniform, 8 bits, per tensor"));
    QCOMPARE(builtinTargets().find("lowbit").weights.describe(true), std::string("any method, any bit width"));
}

QTEST_GUILESS_MAIN(TestTargets)
#include "tst_targets.moc"
