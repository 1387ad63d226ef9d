// SPDX-License-Identifier: MIT
// The QAT engine and trainer on the fixture zoo and the real Fashion-MNIST data: MCT's
// invariants, every model under every preset, determinism, cancel and divergence.
#include "test_paths.h"
#include "expected_layers.h"
#include "tst_training.h"

#include "common/version.h"
#include "engine/checkpoint.h"
#include "engine/qat_model.h"
#include "quantizers/plugin_loader.h"
#include "quantizers/quantizer_registry.h"
#include "training/optimizer.h"
#include "training/tensor_dataset.h"
#include "training/trainer.h"

#include <ATen/ATen.h>
#include <QtTest>

#include <limits>
#include <map>

using namespace qat;

namespace {

QString fixture(const QString& name)
{
    return test::fixturePath(name);
}

using test::trainableFixtures;

struct Recorder : train::TrainObserver {
    std::vector<double> losses;
    std::vector<train::RunState> states;
    int snapshots = 0;
    train::CancelToken* cancelAt = nullptr;
    int64_t cancelStep = -1;
    void onEvent(const train::TrainEvent& event) override
    {
        if (const auto* step = std::get_if<train::StepEvent>(&event)) {
            losses.push_back(step->loss);
            if (cancelAt != nullptr && step->step == cancelStep) {
                cancelAt->cancel = true;
            }
        } else if (const auto* state = std::get_if<train::StateEvent>(&event)) {
            states.push_back(state->state);
        } else if (std::holds_alternative<train::SnapshotEvent>(event)) {
            ++snapshots;
        }
    }
};

} // namespace

namespace qat::test::training {

QString stateName(train::RunState state)
{
    return QString::fromStdString(train::toString(state));
}

const train::TensorDataset& smallTrainSet()
{
    static const auto data = train::loadIdxDataset("fashion-mnist", "train", 2048);
    return data;
}

train::TrainConfig quickConfig(const QString& model)
{
    train::TrainConfig config;
    config.modelPath = fixture(model).toStdString();
    config.maxSteps = 10;
    config.batch = 64;
    config.limitTrain = 1024;
    config.limitTest = 256;
    config.calibrationBatches = 2;
    return config;
}

void calibrate(engine::QatModel& model, const at::Tensor& images)
{
    model.calibrateWeights();
    model.beginActivationCalibration();
    model.observeBatch(images);
    model.finishActivationCalibration();
}

void calibrateAndTrain(engine::QatModel& qat, int steps, double weightsLr)
{
    const auto& data = smallTrainSet();
    calibrate(qat, data.images.slice(0, 0, 128));
    train::Optimizer optimizer(train::OptimizerKind::Adam,
                               {{qat.modelParameters(), weightsLr}, {qat.quantizerParameters(), 1e-3}}, 0.9);
    qat.train(true);
    for (int step = 0; step < steps; ++step) {
        optimizer.zeroGrad();
        at::cross_entropy_loss(qat.forward(data.images.slice(0, step * 64, (step + 1) * 64)),
                               data.labels.slice(0, step * 64, (step + 1) * 64))
            .backward();
        optimizer.step();
    }
}

} // namespace qat::test::training

using namespace qat::test::training;

void TestTraining::initTestCase()
{
    quant::registerBuiltinQuantizers(m_registry);
    setComputeThreads(2);
}

void TestTraining::sixteenBitsIsNearFloat_data()
{
    QTest::addColumn<QString>("model");
    QTest::newRow("demo") << qat::test::path(QATWB_DEMO_MODEL);
    for (const auto& m : trainableFixtures()) {
        QTest::newRow(qPrintable(m)) << fixture(m);
    }
}

void TestTraining::sixteenBitsIsNearFloat()
{
    QFETCH(QString, model);
    // 16-bit symmetric quantizers with max initialisation: the quantization error alone.
    auto plan = engine::presetPlan("mct-default");
    plan.target = "lowbit"; // 16 bits: beyond what a chip runs
    plan.weights.config.bits = 16;
    plan.activations.config.bits = 16;
    plan.activations.key.method = quant::Method::Symmetric;
    plan.weights.config.init = quant::InitMethod::MaxAbs;
    plan.activations.config.init = quant::InitMethod::MaxAbs;
    auto qat = engine::QatModel::build(model.toStdString(), plan, m_registry);
    const auto images = smallTrainSet().images.slice(0, 0, 256);
    calibrate(*qat, images);
    qat->train(false);
    at::NoGradGuard noGrad;
    const auto reference = qat->floatForward(images);
    const auto quantized = qat->forward(images);
    const double diff = (reference - quantized).abs().max().item<double>();
    qat->table().setMode(engine::QuantizerTable::Mode::Bypass);
    const double foldOnly = (reference - qat->forward(images)).abs().max().item<double>();
    qat->table().setMode(engine::QuantizerTable::Mode::Quantize);
    // Relative to the logits' scale: the fixtures' logits are below 1 (so this is within
    // 1e-4 absolute), the demo's reach ~25 (16-bit noise is then ~1e-3 absolute).
    const double scale = std::max(1.0, reference.abs().max().item<double>());
    QVERIFY2(diff <= 1e-4 * scale, qPrintable(QStringLiteral("max |diff| %1, logits up to %2").arg(diff).arg(scale)));
    QVERIFY2(foldOnly <= 1e-5 * scale, qPrintable(QStringLiteral("BatchNorm folding alone: %1").arg(foldOnly)));
    QVERIFY(qat->sites().size() >= 3);
}

void TestTraining::zeroLearningRatesChangeNothing()
{
    auto qat = engine::QatModel::build(QATWB_DEMO_MODEL, engine::presetPlan("w4a8-lsq"), m_registry);
    const auto& data = smallTrainSet();
    calibrate(*qat, data.images.slice(0, 0, 256));
    qat->train(false);
    const auto probe = data.images.slice(0, 1024, 1280);
    const auto before = qat->forward(probe).detach();
    train::Optimizer optimizer(train::OptimizerKind::Adam,
                               {{qat->modelParameters(), 0.0}, {qat->quantizerParameters(), 0.0}}, 0.9);
    qat->train(true);
    for (int step = 0; step < 8; ++step) {
        const auto x = data.images.slice(0, step * 128, (step + 1) * 128);
        const auto y = data.labels.slice(0, step * 128, (step + 1) * 128);
        optimizer.zeroGrad();
        at::cross_entropy_loss(qat->forward(x), y).backward();
        optimizer.step();
    }
    qat->train(false);
    QVERIFY(at::equal(qat->forward(probe).detach(), before));
}

void TestTraining::everyModelTrainsUnderEveryPreset_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("preset");
    for (const auto& m : trainableFixtures()) {
        for (const auto& p : engine::presetNames()) {
            QTest::newRow(qPrintable(m + QLatin1Char('/') + QString::fromStdString(p)))
                << m << QString::fromStdString(p);
        }
    }
}

void TestTraining::everyModelTrainsUnderEveryPreset()
{
    QFETCH(QString, model);
    QFETCH(QString, preset);
    auto qat = engine::QatModel::build(fixture(model).toStdString(), engine::presetPlan(preset.toStdString()),
                                       m_registry);
    const auto& data = smallTrainSet();
    calibrate(*qat, data.images.slice(0, 0, 128));
    auto quantizerParams = qat->quantizerParameters();
    std::vector<at::Tensor> gradientSeen;
    for (const auto& p : quantizerParams) {
        gradientSeen.push_back(at::zeros_like(p));
    }
    train::Optimizer optimizer(train::OptimizerKind::Adam, {{qat->modelParameters(), 1e-4}, {quantizerParams, 1e-4}},
                               0.9);
    qat->train(true);
    for (int step = 0; step < 20; ++step) {
        const auto x = data.images.slice(0, step * 64, (step + 1) * 64);
        const auto y = data.labels.slice(0, step * 64, (step + 1) * 64);
        optimizer.zeroGrad();
        const auto loss = at::cross_entropy_loss(qat->forward(x), y);
        QVERIFY2(std::isfinite(loss.item<double>()), qPrintable(QStringLiteral("step %1").arg(step)));
        loss.backward();
        for (size_t i = 0; i < quantizerParams.size(); ++i) {
            if (quantizerParams[i].grad().defined()) {
                gradientSeen[i] += quantizerParams[i].grad().abs();
            }
        }
        optimizer.step();
    }
    // A quantizer may legitimately get no gradient when it changes nothing: a concatenation of
    // two tensors already on its power-of-two grid. Any other one must have had a gradient.
    std::map<int64_t, at::Tensor> inputs;
    qat->table().setCapture(&inputs);
    {
        at::NoGradGuard noGrad;
        qat->forward(data.images.slice(0, 0, 64));
    }
    qat->table().setCapture(nullptr);
    size_t i = 0;
    for (size_t slot = 0; slot < qat->table().size(); ++slot) {
        auto& quantizer = qat->table().at(slot);
        for (const auto& p : quantizer.parameters()) {
            if (!p.tensor.requires_grad()) {
                continue;
            }
            if (gradientSeen[i].sum().item<double>() == 0) {
                at::NoGradGuard noGrad;
                const auto& x = inputs.at(int64_t(slot));
                QVERIFY2(at::equal(quantizer.forward(x), x),
                         qPrintable(QStringLiteral("quantizer parameter %1 (%2 of %3) never got a gradient")
                                        .arg(i)
                                        .arg(QString::fromStdString(p.name), QString::fromStdString(quantizer.layer().name))));
            }
            ++i;
        }
    }
    QCOMPARE(i, gradientSeen.size());
}

// Where the target computes in integers, each layer whose input, weights and output are
// quantized adds its bias on the int32 grid s_in * s_w (per output channel), as integer
// kernels do: the bias the forward uses is round(b / (s_in s_w)) * s_in s_w; `integer_bias:
// false` keeps it float, and `generic` (before targets) never quantizes it.
void TestTraining::biasOnTheIntegerKernelsGrid()
{
    const auto path = fixture(QStringLiteral("cnn_bn_relu_traced.pt")).toStdString();
    auto plan = engine::presetPlan("w4a8-lsq");
    auto qat = engine::QatModel::build(path, plan, m_registry);
    // features.0 (input: the model input), features.3 (bias folded from its BatchNorm),
    // features.7 and fc: every layer here has a bias after folding, and a quantized input.
    QCOMPARE(qat->integerBiases().size(), size_t(4));
    const auto images = smallTrainSet().images.slice(0, 0, 128);
    calibrate(*qat, images);
    qat->train(false);
    for (const auto& b : qat->integerBiases()) {
        const auto input = qat->table().at(size_t(b.inputSlot)).convertToInferable()->fakeQuant();
        const auto weights = qat->table().at(size_t(b.weightSlot)).convertToInferable()->fakeQuant();
        const auto grid = qat->table().biasGrid(b.inputSlot, b.weightSlot, int64_t(weights.scale.size()));
        QCOMPARE(grid.qmin, int64_t(std::numeric_limits<int32_t>::min()));
        for (size_t c = 0; c < grid.scale.size(); ++c) {
            QCOMPARE(grid.scale[c], input.scale[0] * weights.scale[c]);
            QCOMPARE(grid.zeroPoint[c], 0);
        }
    }
    at::Tensor withInteger;
    {
        at::NoGradGuard noGrad;
        withInteger = qat->forward(images);
    }
    plan.integerBias = false;
    auto floatBias = engine::QatModel::build(path, plan, m_registry);
    QVERIFY(floatBias->integerBiases().empty());
    calibrate(*floatBias, images);
    floatBias->train(false);
    at::NoGradGuard noGrad;
    const auto withFloat = floatBias->forward(images);
    // At 4-bit weights s_in * s_w is coarse enough to move the logits, not to break them.
    const double diff = (withInteger - withFloat).abs().max().item<double>();
    QVERIFY2(diff > 0 && diff < 0.5, qPrintable(QString::number(diff)));
    auto legacy = engine::presetPlan("w4a8-lsq");
    legacy.target = "generic";
    QVERIFY(engine::QatModel::build(path, legacy, m_registry)->integerBiases().empty());
    // 16-bit operands have no int32-accumulator kernel: no integer bias.
    auto wide = engine::presetPlan("mct-default");
    wide.target = "lowbit";
    wide.weights.config.bits = 16;
    QVERIFY(engine::QatModel::build(path, wide, m_registry)->integerBiases().empty());
    // The model input not quantized: the first layer's input is float, its bias stays float.
    auto noInput = engine::presetPlan("w4a8-lsq");
    noInput.quantizeInput = false;
    QCOMPARE(engine::QatModel::build(path, noInput, m_registry)->integerBiases().size(), size_t(3));
}

void TestTraining::twoBitWeightsKeepFourValuesAfterTraining()
{
    auto config = quickConfig(QStringLiteral("cnn_bn_relu_traced.pt"));
    config.modelPath = QATWB_DEMO_MODEL;
    config.plan = engine::presetPlan("w2a3");
    config.maxSteps = 30;
    auto qat = engine::QatModel::build(config.modelPath, config.plan, m_registry);
    calibrateAndTrain(*qat, 30, 1e-3);
    int checked = 0;
    for (const auto& site : qat->sites()) {
        if (site.target != quant::Target::Weights || qat->table().at(size_t(site.slot)).config().bits != 2) {
            continue; // w2a3 keeps the first and last layers at 8 bits
        }
        ++checked;
        const auto q = qat->table().at(size_t(site.slot)).forward(site.weight).detach();
        for (int64_t c = 0; c < q.size(0); ++c) {
            QVERIFY2(std::get<0>(at::_unique(q[c])).numel() <= 4, site.name.c_str());
        }
    }
    QVERIFY(checked > 0);
}

void TestTraining::sameSeedSameRun()
{
    auto run = [&](uint64_t seed) {
        auto config = quickConfig(QStringLiteral("residual_dw_traced.pt"));
        config.seed = seed;
        config.plan = engine::presetPlan("w4a8-lsq");
        Recorder recorder;
        const auto result = train::runTraining(config, m_registry, &recorder);
        return std::make_pair(result, recorder.losses);
    };
    const auto [first, firstLosses] = run(7);
    const auto [second, secondLosses] = run(7);
    const auto [other, otherLosses] = run(8);
    QCOMPARE(stateName(first.state), QStringLiteral("finished"));
    QCOMPARE(firstLosses.size(), size_t(10));
    QVERIFY(firstLosses == secondLosses);
    QCOMPARE(first.qatTop1, second.qatTop1);
    QVERIFY(firstLosses != otherLosses); // another seed, another data order
}

void TestTraining::cancelStopsWithinAStep()
{
    auto config = quickConfig(QStringLiteral("mlp_scripted.pt"));
    config.maxSteps = 50;
    train::CancelToken token;
    Recorder recorder;
    recorder.cancelAt = &token;
    recorder.cancelStep = 5;
    const auto result = train::runTraining(config, m_registry, &recorder, &token);
    QCOMPARE(stateName(result.state), QStringLiteral("cancelled"));
    QCOMPARE(result.steps, 5);
    QCOMPARE(stateName(recorder.states.back()), QStringLiteral("cancelled"));
    QVERIFY(result.qatTop1 >= 0 && std::isfinite(result.qatLoss)); // the model as it was is still evaluated
    QVERIFY(recorder.snapshots > 0);
}

void TestTraining::nanDivergesAndKeepsLastGoodState()
{
    auto config = quickConfig(QStringLiteral("cnn_bn_relu_scripted.pt"));
    config.injectNanAtStep = 4;
    config.distill = false; // the cross-entropy path
    Recorder recorder;
    const auto result = train::runTraining(config, m_registry, &recorder);
    QCOMPARE(stateName(result.state), QStringLiteral("diverged"));
    QCOMPARE(result.steps, 3);
    QVERIFY2(QString::fromStdString(result.message).contains(QStringLiteral("nan")), result.message.c_str());
    QCOMPARE(stateName(recorder.states.back()), QStringLiteral("diverged"));
    // The last good parameters are kept: finite, and the model still evaluates.
    QVERIFY(result.qatTop1 >= 0 && std::isfinite(result.qatLoss));
    for (const auto& q : result.quantizers) {
        for (const auto& [name, values] : q.final.values) {
            for (float v : values) {
                QVERIFY(std::isfinite(v));
            }
        }
    }
}

// A quantizer driven below zero by a finite step (the test plugin's Shrinking): the run
// diverges at step 4 and ends with exactly the model weights and quantizers of a run
// stopped at step 3, because the quantizers are stepped and checked before the weights.
void TestTraining::divergedRunEqualsRunStoppedAtLastGoodStep()
{
    quant::QuantizerRegistry registry;
    quant::registerBuiltinQuantizers(registry);
    const auto reports = quant::loadPlugins(registry, {std::string(QATWB_TEST_PLUGIN_DIR) + "/faulty_plugin.so"});
    QVERIFY(reports.size() == 1 && reports[0].loaded);
    auto config = quickConfig(QStringLiteral("cnn_bn_relu_scripted.pt"));
    config.plan = engine::presetPlan("mct-default");
    engine::parseChoiceSpec("shrinking:symmetric:8", "weights").applyTo(config.plan.weights);
    config.plan.rules.clear();
    config.optimizer = train::OptimizerKind::Sgd;
    const auto diverged = train::runTraining(config, registry);
    QCOMPARE(stateName(diverged.state), QStringLiteral("diverged"));
    QVERIFY2(QString::fromStdString(diverged.message).contains(QStringLiteral("no longer positive")), diverged.message.c_str());
    QCOMPARE(diverged.steps, 3);
    config.maxSteps = diverged.steps;
    const auto stopped = train::runTraining(config, registry);
    QCOMPARE(stateName(stopped.state), QStringLiteral("finished"));
    QCOMPARE(diverged.qatLoss, stopped.qatLoss);
    QCOMPARE(diverged.qatTop1, stopped.qatTop1);
}

void TestTraining::distillationWorksWithoutLabels()
{
    auto config = quickConfig(QStringLiteral("conv_transpose_net_traced.pt"));
    QVERIFY(config.distill); // the default
    const auto result = train::runTraining(config, m_registry);
    QCOMPARE(stateName(result.state), QStringLiteral("finished"));
    QCOMPARE(result.steps, 10);
    // Automatic learning rates follow the lowest weight bit width, and the weights' rate the
    // lowest activation bit width too.
    QCOMPARE(result.lr, 1e-4);
    QCOMPARE(result.quantizerLr, 1e-4);
    config.plan = engine::presetPlan("w2a3");
    QCOMPARE(train::runTraining(config, m_registry).quantizerLr, 1e-3);
    // 4-bit activations raise the weights' rate to 1e-3; uniform (min, max) ranges learn at
    // 1e-5 (issue #27).
    config.plan = engine::presetPlan("w4a4-lsq-uniform");
    const auto uniform = train::runTraining(config, m_registry);
    QCOMPARE(uniform.lr, 1e-3);
    QCOMPARE(uniform.quantizerLr, 1e-5);
    config.plan.activations.config.bits = 8;
    QCOMPARE(train::runTraining(config, m_registry).lr, 1e-4);
    QCOMPARE(train::autoQuantizerLearningRate(2, true), 1e-3);
    QCOMPARE(train::autoLearningRate(8, 4), 1e-3);
    QCOMPARE(train::autoLearningRate(2, 3), 3e-3); // 3-bit activations, whatever the weights
    QCOMPARE(train::autoQuantizerLearningRate(2, false), 1e-3); // the quantizers do not follow
    QCOMPARE(train::autoLearningRate(4, 5), 1e-4);
}

void TestTraining::badModelFailsWithMessage()
{
    auto config = quickConfig(QStringLiteral("bad_state_dict.pt"));
    auto result = train::runTraining(config, m_registry);
    QCOMPARE(stateName(result.state), QStringLiteral("failed"));
    QVERIFY(QString::fromStdString(result.message).contains(QStringLiteral("torch.save()")));
    config = quickConfig(QStringLiteral("no_layers_traced.pt"));
    result = train::runTraining(config, m_registry);
    QCOMPARE(stateName(result.state), QStringLiteral("failed"));
    QVERIFY(QString::fromStdString(result.message).contains(QStringLiteral("no quantizable layer")));
    config = quickConfig(QStringLiteral("mlp_traced.pt"));
    config.plan.weights.config.bits = 1;
    result = train::runTraining(config, m_registry);
    QCOMPARE(stateName(result.state), QStringLiteral("failed"));
    QVERIFY2(QString::fromStdString(result.message).contains(QStringLiteral("layer layers.1 weights")), result.message.c_str());
}

// A model written functionally keeps its weights itself (F.conv2d(x, self.conv_weight)):
// each layer is named after its weight, a plan can address it, and it trains. Building it
// once failed with "map::at" (found by the graph-pass fuzzer, issue #26).
void TestTraining::weightsOnTheRootModuleTrain()
{
    auto config = quickConfig(QStringLiteral("root_weights_scripted.pt"));
    config.plan.layers["fc_weight"].weights.bits = 4;
    const auto result = train::runTraining(config, m_registry);
    QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
    QStringList layers;
    for (const auto& q : result.quantizers) {
        layers << QString::fromStdString(q.name + " in " + q.layer);
        if (q.name == "fc_weight") {
            QCOMPARE(q.config.bits, 4);
        }
    }
    QCOMPARE(layers.join(QStringLiteral(", ")),
             QStringLiteral("conv_weight in conv_weight, conv_weight:output in conv_weight, fc_weight in fc_weight, "
                            "fc_weight:output in fc_weight, input in input"));
}

QTEST_GUILESS_MAIN(TestTraining)
