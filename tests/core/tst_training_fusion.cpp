// SPDX-License-Identifier: MIT
// ReLU / ReLU6 run inside the quantizer after them, a BatchNorm that trains inside the quantizer
// after it, and the model input's quantizer inside the first convolution (tst_training,
// continued): training with the fused ops computes what the model's own ops and the
// quantizers compute apart, an in-place clamp whose input is read again is left alone, and
// only a convolution that alone reads the input's quantizer is fused.
#include "expected_layers.h"
#include "test_paths.h"
#include "tst_training.h"

#include "engine/bn_fusion.h"
#include "engine/clamp_fusion.h"
#include "engine/conv_fusion.h"
#include "engine/qat_model.h"
#include "engine/quantizer_table.h"
#include "quantizers/quant_math.h"
#include "model/graph_util.h"

#include <ATen/ATen.h>
#include <QtTest>
#include <torch/csrc/jit/ir/irparser.h>

#include <algorithm>
#include <optional>

using namespace qat;
using namespace qat::test::training;

namespace {

int count(torch::jit::Graph& graph, const char* op)
{
    const auto kind = c10::Symbol::fromQualString(op);
    int n = 0;
    for (auto* node : model::allNodes(graph)) {
        n += node->kind() == kind ? 1 : 0;
    }
    return n;
}

struct Step {
    at::Tensor out;
    std::vector<at::Tensor> grads;
};

Step trainStep(engine::QatModel& qat, const at::Tensor& images, const at::Tensor& labels)
{
    qat.train(true);
    Step step;
    step.out = qat.forward(images);
    at::cross_entropy_loss(step.out, labels).backward();
    for (const auto& params : {qat.modelParameters(), qat.quantizerParameters()}) {
        for (const auto& p : params) {
            step.grads.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
        }
    }
    return step;
}

// Runs the composite quantizers (ops, not the fused kernels) while it lives.
struct Composite {
    Composite() { quant::math::setFusedKernels(false); }
    ~Composite() { quant::math::setFusedKernels(true); }
    Composite(const Composite&) = delete;
    Composite& operator=(const Composite&) = delete;
};

// One training step of two builds of a model, the second unfused (or, apartComposite, with
// the composite quantizers): outputs and every gradient equal within rounding.
void compareSteps(engine::QatModel& fused, engine::QatModel& apart, bool apartComposite = false)
{
    const auto& data = smallTrainSet();
    const auto images = data.images.slice(0, 0, 128);
    calibrate(fused, images);
    calibrate(apart, images);
    const auto labels = data.labels.slice(0, 128, 192);
    const auto a = trainStep(fused, data.images.slice(0, 128, 192), labels);
    const auto b = [&] {
        std::optional<Composite> composite;
        if (apartComposite) composite.emplace();
        return trainStep(apart, data.images.slice(0, 128, 192), labels);
    }();
    // The composite ops sum in another order than the kernels.
    const double outputs = apartComposite ? 1e-4 : 1e-5;
    const double gradients = apartComposite ? 1e-3 : 1e-4;
    QVERIFY2(at::allclose(a.out, b.out, outputs, outputs),
             qPrintable(QStringLiteral("outputs differ by %1").arg((a.out - b.out).abs().max().item<double>())));
    QCOMPARE(a.grads.size(), b.grads.size());
    double largest = 0;
    for (const auto& g : b.grads) largest = std::max(largest, g.abs().max().item<double>());
    // A conv bias in front of a BatchNorm with batch statistics has gradient zero: what both
    // builds compute for it is rounding noise of sums over the batch, and noise is not
    // compared, only required to stay negligible (1e-4 of the model's largest gradient; the
    // noise grows with the values summed: cnn_bn_relu's first bias, 64 x 28 x 28 values per
    // channel, measured 1.1e-5 of it in the sanitizer build).
    const double negligible = 1e-4 * largest;
    for (size_t i = 0; i < a.grads.size(); ++i) {
        const double scale = b.grads[i].abs().max().item<double>();
        const double other = a.grads[i].abs().max().item<double>();
        QVERIFY2(at::allclose(a.grads[i], b.grads[i], 1e-3, gradients * scale + 1e-7)
                     || std::max(scale, other) <= negligible,
                 qPrintable(QStringLiteral("gradient %1 differs by %2 (largest %3, model's largest %4)")
                                .arg(i)
                                .arg((a.grads[i] - b.grads[i]).abs().max().item<double>())
                                .arg(scale)
                                .arg(largest)));
    }
}

} // namespace

void TestTraining::clampsRunInsideTheirQuantizers_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("preset");
    QTest::addColumn<int>("fused");
    // demo: conv+bn+relu x3 and linear+relu; residual_dw: ReLU6 (hardtanh) after conv+bn.
    QTest::newRow("demo mct-default") << QString::fromUtf8(QATWB_DEMO_MODEL) << "mct-default" << 4;
    QTest::newRow("demo w4a4-lsq-uniform") << QString::fromUtf8(QATWB_DEMO_MODEL) << "w4a4-lsq-uniform" << 4;
    QTest::newRow("demo w2a3 (BatchNorm trains)") << QString::fromUtf8(QATWB_DEMO_MODEL) << "w2a3" << 4;
    for (const auto* m : {"cnn_bn_relu_scripted.pt", "cnn_bn_relu_traced.pt", "residual_dw_scripted.pt",
                          "residual_dw_traced.pt", "mlp_scripted.pt"}) {
        QTest::newRow(m) << test::fixturePath(QString::fromLatin1(m)) << "w4a8-lsq" << -1;
    }
}

void TestTraining::clampsRunInsideTheirQuantizers()
{
    QFETCH(QString, model);
    QFETCH(QString, preset);
    QFETCH(int, fused);
    const auto plan = engine::presetPlan(preset.toStdString());
    auto withFusion = engine::QatModel::build(model.toStdString(), plan, m_registry);
    auto withOps = engine::QatModel::build(model.toStdString(), plan, m_registry);
    auto graph = withOps->module().get_method(engine::QatModel::kMethodName).graph();
    QCOMPARE(count(*graph, engine::kQuantizeClampedOp), withFusion->fusedClamps());
    engine::unfuseInputClamps(graph);
    QCOMPARE(count(*graph, engine::kQuantizeClampedOp), 0);
    qInfo("%d clamps fused", withFusion->fusedClamps());
    if (fused >= 0) {
        QCOMPARE(withFusion->fusedClamps(), fused);
    } else {
        QVERIFY(withFusion->fusedClamps() > 0);
    }
    compareSteps(*withFusion, *withOps);
}

void TestTraining::inputQuantizerRunsInsideTheFirstConv_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("preset");
    QTest::addColumn<int>("fused");
    // Every activation quantizer kind of the presets (STE and LSQ power-of-two, LSQ uniform with
    // its low end), BatchNorm trained (w2a3: the conv's weight is q(W s) s), integer biases,
    // scripted conv2d, traced _convolution, an ONNX import's conv. The conv1d net reshapes its
    // input first and the MLP starts with a linear layer: nothing to fuse, and still the same step.
    QTest::newRow("demo mct-default") << QString::fromUtf8(QATWB_DEMO_MODEL) << "mct-default" << 1;
    QTest::newRow("demo w4a4-lsq-uniform") << QString::fromUtf8(QATWB_DEMO_MODEL) << "w4a4-lsq-uniform" << 1;
    QTest::newRow("demo w2a3 (BatchNorm trains)") << QString::fromUtf8(QATWB_DEMO_MODEL) << "w2a3" << 1;
    for (const auto* m : {"cnn_bn_relu_scripted.pt", "cnn_bn_relu_traced.pt", "residual_dw_traced.pt"}) {
        QTest::newRow(m) << test::fixturePath(QString::fromLatin1(m)) << "w4a8-lsq" << 1;
    }
    QTest::newRow("cnn_bn_relu_opset13.onnx") << test::path(QATWB_ONNX_FIXTURES_DIR, "/cnn_bn_relu_opset13.onnx")
                                              << "w2a3" << 1;
    QTest::newRow("conv1d_net_scripted.pt") << test::fixturePath(QStringLiteral("conv1d_net_scripted.pt")) << "w4a8-lsq" << 0;
    QTest::newRow("mlp_scripted.pt") << test::fixturePath(QStringLiteral("mlp_scripted.pt")) << "w4a8-lsq" << 0;
}

void TestTraining::inputQuantizerRunsInsideTheFirstConv()
{
    QFETCH(QString, model);
    QFETCH(QString, preset);
    QFETCH(int, fused);
    const auto plan = engine::presetPlan(preset.toStdString());
    auto withFusion = engine::QatModel::build(model.toStdString(), plan, m_registry, true);
    auto apart = engine::QatModel::build(model.toStdString(), plan, m_registry, true);
    QCOMPARE(withFusion->fusedConvs(), fused);
    auto graph = apart->module().get_method(engine::QatModel::kMethodName).graph();
    QCOMPARE(count(*graph, engine::kQuantizeConvOp), fused);
    engine::unfuseInputConvs(graph);
    QCOMPARE(count(*graph, engine::kQuantizeConvOp), 0);
    compareSteps(*withFusion, *apart);
}

void TestTraining::batchNormsRunInsideTheirQuantizers_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("preset");
    QTest::addColumn<bool>("frozen");
    // Every activation quantizer kind of the presets: LSQ power-of-two (w2a3), STE power-of-two
    // (mct-default), LSQ uniform with its low end (w4a4-lsq-uniform), BatchNorm trained; after
    // ReLU (demo, cnn_bn_relu), ReLU6 and none (residual_dw); batch statistics and frozen ones.
    const auto demo = QString::fromUtf8(QATWB_DEMO_MODEL);
    for (const char* preset : {"w2a3", "mct-default", "w4a4-lsq-uniform"}) {
        for (const bool frozen : {false, true}) {
            QTest::addRow("demo %s%s", preset, frozen ? " frozen" : "") << demo << preset << frozen;
        }
    }
    for (const auto* m : {"cnn_bn_relu_scripted.pt", "cnn_bn_relu_traced.pt", "residual_dw_scripted.pt",
                          "residual_dw_traced.pt"}) {
        QTest::newRow(m) << test::fixturePath(QString::fromLatin1(m)) << "w2a3" << false;
    }
}

void TestTraining::batchNormsRunInsideTheirQuantizers()
{
    QFETCH(QString, model);
    QFETCH(QString, preset);
    QFETCH(bool, frozen);
    auto plan = engine::presetPlan(preset.toStdString());
    plan.trainBatchNorm = true;
    auto withFusion = engine::QatModel::build(model.toStdString(), plan, m_registry, true);
    auto withOps = engine::QatModel::build(model.toStdString(), plan, m_registry, true);
    auto graph = withOps->module().get_method(engine::QatModel::kMethodName).graph();
    QCOMPARE(count(*graph, engine::kQuantizeBatchNormOp), withFusion->fusedBatchNorms());
    const int batchNorms = count(*graph, "aten::batch_norm");
    engine::unfuseBatchNorms(graph);
    QCOMPARE(count(*graph, engine::kQuantizeBatchNormOp), 0);
    QCOMPARE(count(*graph, "aten::batch_norm"), batchNorms + withFusion->fusedBatchNorms());
    qInfo("%d of %d training BatchNorms fused", withFusion->fusedBatchNorms(), withFusion->trainingBatchNorms());
    QVERIFY(withFusion->fusedBatchNorms() > 0);
    if (model.endsWith(QLatin1String("demo_cnn.pt"))) {
        QCOMPARE(withFusion->fusedBatchNorms(), 3); // conv-bn-relu x3
    }
    if (frozen) {
        withFusion->freezeBatchNorm();
        withOps->freezeBatchNorm();
    }
    compareSteps(*withFusion, *withOps);
    // Under batch statistics the step moved the running ones, the same in both.
    const auto buffers = withOps->module().named_buffers();
    int compared = 0;
    for (const auto& b : withFusion->module().named_buffers()) {
        for (const auto& o : buffers) {
            if (o.name != b.name || b.name.find("running_") == std::string::npos) continue;
            QVERIFY2(at::allclose(b.value, o.value, 1e-5, 1e-6), b.name.c_str());
            ++compared;
        }
    }
    QVERIFY(compared >= 2 * withFusion->trainingBatchNorms());
}

void TestTraining::signedWeightsTrainAsTheMultiplicationsDo_data()
{
    QTest::addColumn<QString>("model");
    QTest::newRow("demo") << QString::fromUtf8(QATWB_DEMO_MODEL);
    for (const auto* m : {"cnn_bn_relu_scripted.pt", "residual_dw_traced.pt", "conv_transpose_net_traced.pt"}) {
        QTest::newRow(m) << test::fixturePath(QString::fromLatin1(m));
    }
}

void TestTraining::signedWeightsTrainAsTheMultiplicationsDo()
{
    // w2a3 trains BatchNorm: each such conv's weight is quantized as q(W s) s, the sign s
    // applied inside the weight quantizer's kernel (no multiplication left in the graph). One
    // step against the same model with the composite quantizers, which multiply by s as ops;
    // one gamma per BatchNorm made negative so that some s are -1.
    const QString model = [] { QFETCH(QString, model); return model; }();
    auto build = [&] {
        auto qat = engine::QatModel::build(model.toStdString(), engine::presetPlan("w2a3"), m_registry, true);
        at::NoGradGuard noGrad;
        for (const auto& buffer : qat->module().named_buffers()) {
            const auto pos = buffer.name.rfind("running_var");
            if (pos == std::string::npos) continue;
            for (const auto& p : qat->module().named_parameters()) {
                if (p.name == buffer.name.substr(0, pos) + "weight") p.value[0].mul_(-1);
            }
        }
        return qat;
    };
    auto kernels = build();
    auto ops = build();
    QVERIFY(kernels->trainingBatchNorms() > 0);
    auto graph = kernels->module().get_method(engine::QatModel::kMethodName).graph();
    for (auto* node : model::allNodes(*graph)) {
        QVERIFY2(node->kind() != c10::prim::GetAttr || node->s(c10::attr::name).rfind("qat_fold_sign", 0) != 0,
                 "a fold sign is multiplied in the graph");
    }
    compareSteps(*kernels, *ops, true);
}

void TestTraining::onlyAConvReadingTheInputQuantizerAloneIsFused()
{
    // %qy is also read by an add, %qz's conv pads by a string, %qm quantizes no graph input;
    // %qx is fused, unless (the second graph) another conv reads it too, as its weight.
    const std::string ir = R"IR(
graph(%self : Tensor, %x : Tensor, %y : Tensor, %z : Tensor):
  %t : int = prim::Constant[value=1]()
  %s : int = prim::Constant[value=0]()
  %none : NoneType = prim::Constant()
  %one : int[] = prim::ListConstruct(%t, %t)
  %zero : int[] = prim::ListConstruct(%s, %s)
  %same : str = prim::Constant[value="same"]()
  %w : Tensor = aten::mul(%x, %t)
  %qx : Tensor = qat::quantize(%x, %t, %s)
  %a : Tensor = aten::conv2d(%qx, %w, %none, %one, %zero, %one, %t)
  %qy : Tensor = qat::quantize(%y, %t, %s)
  %b : Tensor = aten::conv2d(%qy, %w, %none, %one, %zero, %one, %t)
  %c : Tensor = aten::add(%b, %qy, %t)
  %qz : Tensor = qat::quantize(%z, %t, %s)
  %d : Tensor = aten::conv2d(%qz, %w, %none, %one, %same, %one, %t)
  %m : Tensor = aten::mul(%x, %t)
  %qm : Tensor = qat::quantize(%m, %t, %s)
  %e : Tensor = aten::conv2d(%qm, %w, %none, %one, %zero, %one, %t)
  %out : Tensor = aten::add(%a, %c, %t)
  %out2 : Tensor = aten::add(%out, %d, %t)
  %out3 : Tensor = aten::add(%out2, %e, %t)
  %f : Tensor = aten::conv2d(%w, %X, %none, %one, %zero, %one, %t)
  return (%out3)
)IR";
    auto parse = [&](const std::string& read) {
        auto graph = std::make_shared<torch::jit::Graph>();
        std::string text = ir;
        text.replace(text.find("%X"), 2, read);
        torch::jit::parseIR(text, graph.get());
        return graph;
    };
    auto graph = parse("%w");
    QCOMPARE(engine::fuseInputConvs(graph), 1);
    QCOMPARE(count(*graph, engine::kQuantizeConvOp), 1);
    QCOMPARE(count(*graph, "aten::conv2d"), 4);
    engine::unfuseInputConvs(graph);
    QCOMPARE(count(*graph, engine::kQuantizeConvOp), 0);
    QCOMPARE(count(*graph, "aten::conv2d"), 5);
    QCOMPARE(count(*graph, engine::kQuantizeOp), 4);
    QCOMPARE(engine::fuseInputConvs(parse("%qx")), 0);
}

void TestTraining::inPlaceClampIsFusedOnlyWhenItsInputIsNotReadAgain()
{
    // relu_ writes its input: fusing it must not change what a later reader of that input sees.
    const char* ir = R"IR(
graph(%self : Tensor, %x : Tensor):
  %t : int = prim::Constant[value=1]()
  %s : int = prim::Constant[value=0]()
  %a : Tensor = aten::mul(%x, %t)
  %b : Tensor = aten::relu_(%a)
  %q : Tensor = qat::quantize(%b, %t, %s)
  %c : Tensor = aten::mul(%x, %t)
  %d : Tensor = aten::relu_(%c)
  %r : Tensor = qat::quantize(%d, %t, %s)
  %e : Tensor = aten::add(%r, %c, %t)
  %f : Tensor = aten::relu(%x)
  %g : Tensor = qat::quantize(%f, %t, %s)
  %h : Tensor = aten::add(%g, %f, %t)
  %out : Tensor = aten::add(%q, %e, %t)
  %all : Tensor = aten::add(%out, %h, %t)
  return (%all)
)IR";
    auto graph = std::make_shared<torch::jit::Graph>();
    torch::jit::parseIR(ir, graph.get());
    // %b: fused. %d: its input %c is read by the add after it, left. %f: read by two ops, left.
    QCOMPARE(engine::fuseInputClamps(graph), 1);
    QCOMPARE(count(*graph, "aten::relu_"), 1);
    QCOMPARE(count(*graph, "aten::relu"), 1);
    QCOMPARE(count(*graph, engine::kQuantizeClampedOp), 1);
    engine::unfuseInputClamps(graph);
    QCOMPARE(count(*graph, engine::kQuantizeClampedOp), 0);
    QCOMPARE(count(*graph, "aten::relu"), 2);
}
