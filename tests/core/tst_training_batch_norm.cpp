// SPDX-License-Identifier: MIT
// BatchNorm in training (tst_training, continued): statistics that move when it is not folded,
// and train_batch_norm, trained and then folded into exactly what was evaluated.
#include "test_paths.h"
#include "expected_layers.h"
#include "tst_training.h"

#include "engine/checkpoint.h"
#include "engine/qat_model.h"
#include "training/optimizer.h"
#include "training/trainer.h"

#include <ATen/ATen.h>
#include <QtTest>

#include <cmath>
#include <map>
#include <string>
#include <variant>

using namespace qat;
using namespace qat::test::training;

void TestTraining::batchNormStatisticsMoveWhenNotFolded_data()
{
    QTest::addColumn<QString>("model");
    for (const auto* m : {"cnn_bn_relu_scripted.pt", "cnn_bn_relu_traced.pt", "residual_dw_scripted.pt",
                          "residual_dw_traced.pt", "conv1d_net_traced.pt"}) {
        QTest::newRow(m) << QString::fromLatin1(m);
    }
}

void TestTraining::batchNormStatisticsMoveWhenNotFolded()
{
    QFETCH(QString, model);
    auto plan = engine::presetPlan("w4a8-lsq");
    plan.foldBatchNorm = false;
    auto qat = engine::QatModel::build(test::fixturePath(model).toStdString(), plan, m_registry);
    QCOMPARE(qat->foldedBatchNorms(), 0);
    auto runningMeans = [&] {
        std::vector<at::Tensor> means;
        for (const auto& buffer : qat->module().named_buffers()) {
            if (buffer.name.find("running_mean") != std::string::npos) {
                means.push_back(buffer.value.clone());
            }
        }
        return means;
    };
    const auto before = runningMeans();
    QVERIFY(!before.empty());
    const auto& data = smallTrainSet();
    calibrate(*qat, data.images.slice(0, 0, 128));
    qat->train(true);
    at::cross_entropy_loss(qat->forward(data.images.slice(0, 0, 64)), data.labels.slice(0, 0, 64)).backward();
    const auto after = runningMeans();
    for (size_t i = 0; i < before.size(); ++i) {
        QVERIFY2(!at::equal(before[i], after[i]), qPrintable(QStringLiteral("BatchNorm %1 did not update").arg(i)));
    }
    // With folding (the default) the BatchNorms are gone from the graph.
    auto folded = engine::QatModel::build(test::fixturePath(model).toStdString(), engine::presetPlan("w4a8-lsq"), m_registry);
    QCOMPARE(folded->foldedBatchNorms(), int(before.size()));
}

// train_batch_norm: BatchNorm normalises each batch while the weight quantizers see the
// weights in the folded grid's orientation; folding at the end (foldedCopy) gives a model that
// computes what the trained one computes in eval mode, with 2-bit weights still on 4 levels,
// a channel with a negative gamma included. The folded state loads into the model export builds.
void TestTraining::trainedBatchNormFoldsIntoWhatWasEvaluated_data()
{
    QTest::addColumn<bool>("activations");
    QTest::newRow("weights only") << false; // no activation grid to amplify float rounding
    QTest::newRow("w2a3") << true;
}

void TestTraining::trainedBatchNormFoldsIntoWhatWasEvaluated()
{
    QFETCH(bool, activations);
    auto plan = engine::presetPlan("w2a3");
    plan.trainBatchNorm = true;
    plan.integerBias = false; // the integer grid of a folded bias is not trained
    plan.activations.enabled = activations;
    plan.quantizeInput = activations;
    plan.input.enabled = activations;
    plan.output.enabled = activations;
    plan.lastLayerInput.enabled = activations;
    // Power-of-two thresholds cannot take BatchNorm's scale: that conv's BatchNorm is folded
    // before training, the others train (the folded biases keep their names either way).
    plan.layers["features.4"].weights.method = quant::Method::PowerOfTwo;
    auto qat = engine::QatModel::build(QATWB_DEMO_MODEL, plan, m_registry, true);
    QCOMPARE(qat->trainingBatchNorms(), 2);
    QCOMPARE(qat->foldedBatchNorms(), 1);
    {
        at::NoGradGuard noGrad;
        int flipped = 0;
        for (const auto& buffer : qat->module().named_buffers()) {
            const auto pos = buffer.name.rfind("running_var");
            if (pos == std::string::npos) continue;
            for (const auto& p : qat->module().named_parameters()) {
                if (p.name == buffer.name.substr(0, pos) + "weight") {
                    p.value[0].mul_(-1); // a negative scale: its channel's grid is mirrored
                    ++flipped;
                }
            }
        }
        QCOMPARE(flipped, 3);
    }
    calibrateAndTrain(*qat, 20, 3e-3);
    qat->train(false);
    const auto& data = smallTrainSet();
    const auto x = data.images.slice(0, 2000, 2512);
    const auto trained = qat->forward(x).detach();
    // What the plots show before folding is what the folded model has: no jump at the end.
    std::map<std::string, std::vector<float>> stepsBefore;
    for (const auto& site : qat->sites()) {
        if (site.target == quant::Target::Weights) stepsBefore[site.name] = qat->snapshot(site).values.at("step");
    }
    auto folded = qat->foldedCopy();
    for (const auto& site : folded->sites()) {
        if (site.target != quant::Target::Weights) continue;
        const auto after = folded->snapshot(site).values.at("step");
        const auto& before = stepsBefore.at(site.name);
        QCOMPARE(after.size(), before.size());
        for (size_t c = 0; c < after.size(); ++c) {
            QVERIFY2(std::abs(after[c] - before[c]) <= 1e-5f * std::abs(before[c]) + 1e-12f, site.name.c_str());
        }
    }
    folded->train(false);
    QCOMPARE(folded->trainingBatchNorms(), 0);
    QCOMPARE(folded->foldedBatchNorms(), 3);
    const auto deployed = folded->forward(x).detach();
    const double tolerance = 1e-4 * trained.abs().max().item<double>();
    const auto rowsApart = (trained - deployed).abs().amax(1) > tolerance;
    if (activations) {
        // The two compute in another float order; an activation on a rounding boundary of
        // its 3-bit grid can land one step apart (measured: 11 of 512 rows), no prediction does.
        QVERIFY2(rowsApart.to(at::kFloat).mean().item<double>() < 0.05, qPrintable(QString::number(rowsApart.sum().item<int64_t>())));
        QCOMPARE(trained.argmax(1).ne(deployed.argmax(1)).sum().item<int64_t>(), int64_t(0));
    } else {
        QVERIFY2(!rowsApart.any().item<bool>(), qPrintable(QString::number((trained - deployed).abs().max().item<double>())));
    }
    int checked = 0;
    for (const auto& site : folded->sites()) {
        if (site.target == quant::Target::Weights && folded->table().at(size_t(site.slot)).config().bits == 2) {
            const auto q = folded->table().at(size_t(site.slot)).forward(site.weight).detach();
            for (int64_t c = 0; c < q.size(0); ++c) {
                QVERIFY2(std::get<0>(at::_unique(q[c])).numel() <= 4, site.name.c_str());
            }
            ++checked;
        }
    }
    QVERIFY(checked > 0);
    auto exported = engine::QatModel::build(QATWB_DEMO_MODEL, plan, m_registry);
    engine::loadCheckpoint(*exported, engine::saveCheckpoint(*folded));
    exported->train(false);
    QVERIFY(at::equal(exported->forward(x), deployed));
}

// freezeBatchNorm (`--freeze-bn-after`): from then on BatchNorm normalises with its running
// statistics and leaves them alone, in training mode too, including after the train(true) each
// epoch starts with; so a training step computes what evaluation (and the folded model) does.
void TestTraining::frozenBatchNormStaysFrozenInTraining_data()
{
    QTest::addColumn<QString>("model");
    QTest::newRow("demo, scripted") << QString::fromUtf8(QATWB_DEMO_MODEL);
    QTest::newRow("cnn_bn_relu, traced") << test::fixturePath("cnn_bn_relu_traced.pt");
    QTest::newRow("residual_dw, scripted") << test::fixturePath("residual_dw_scripted.pt");
}

void TestTraining::frozenBatchNormStaysFrozenInTraining()
{
    QFETCH(QString, model);
    auto plan = engine::presetPlan("w2a3");
    plan.trainBatchNorm = true;
    auto qat = engine::QatModel::build(model.toStdString(), plan, m_registry, true);
    QVERIFY(qat->trainingBatchNorms() > 0);
    const auto& data = smallTrainSet();
    calibrate(*qat, data.images.slice(0, 0, 128));
    auto statistics = [&] {
        std::vector<at::Tensor> values;
        for (const auto& buffer : qat->module().named_buffers()) {
            if (buffer.name.find("running_") != std::string::npos) values.push_back(buffer.value.clone());
        }
        return values;
    };
    const auto x = data.images.slice(0, 256, 384);
    qat->train(true);
    const auto before = statistics();
    const auto batchStatistics = qat->forward(x).detach();
    QVERIFY(!at::equal(statistics()[0], before[0])); // not frozen yet: a training step updates them
    qat->freezeBatchNorm();
    QVERIFY(qat->batchNormFrozen());
    for (int epoch = 1; epoch <= 2; ++epoch) {
        qat->train(false);
        const auto evaluated = qat->forward(x).detach();
        qat->train(true); // what each epoch starts with
        const auto frozen = statistics();
        const auto trained = qat->forward(x);
        trained.sum().backward();
        const auto after = statistics();
        QCOMPARE(after.size(), frozen.size());
        for (size_t i = 0; i < after.size(); ++i) {
            QVERIFY2(at::equal(after[i], frozen[i]), qPrintable(QStringLiteral("statistics %1 moved (epoch %2)").arg(i).arg(epoch)));
        }
        QVERIFY2(at::allclose(trained.detach(), evaluated, 1e-5, 1e-5),
                 qPrintable(QString::number((trained.detach() - evaluated).abs().max().item<double>())));
    }
    QVERIFY(!at::allclose(batchStatistics, qat->forward(x).detach(), 1e-3, 1e-3)); // batch and running statistics differ
}

namespace {
// How many steps had run when the trainer said it folded BatchNorm, and what it said.
// With stopAtFold, the run is cancelled right after the fold.
struct FoldRecorder : train::TrainObserver {
    int steps = 0;
    int stepsAtFold = -1;
    std::string said;
    train::CancelToken* stopAtFold = nullptr;
    void onEvent(const train::TrainEvent& event) override
    {
        if (std::holds_alternative<train::StepEvent>(event)) {
            ++steps;
        } else if (const auto* log = std::get_if<train::LogEvent>(&event);
                   log != nullptr && log->text.find("BatchNorm folded") != std::string::npos && stepsAtFold < 0) {
            stepsAtFold = steps;
            said = log->text;
            if (stopAtFold != nullptr) stopAtFold->cancel = true;
        }
    }
};

// A run's final state: its parameters by name.
std::map<std::string, at::Tensor> finalParameters(const train::TrainConfig& config, const std::string& checkpoint,
                                                  const quant::QuantizerRegistry& registry)
{
    auto model = engine::QatModel::build(config.modelPath, config.plan, registry);
    engine::loadCheckpoint(*model, checkpoint);
    std::map<std::string, at::Tensor> params;
    for (const auto& p : model->module().named_parameters()) {
        params[p.name] = p.value.detach().clone();
    }
    return params;
}
} // namespace

// BatchNorm that trains to be folded (w2a3) is folded two thirds of the way by default, with
// statistics measured then; the folded convs, biases included, train for the steps left, so
// the model evaluated at the end is the one those steps trained. Explicit steps and "never"
// are taken as given, and BatchNorm the plan keeps is not frozen unless asked.
void TestTraining::batchNormFoldsPartWayThenTheFoldedConvsTrain()
{
    auto config = quickConfig(QStringLiteral("cnn_bn_relu_scripted.pt"));
    config.modelPath = QATWB_DEMO_MODEL;
    config.plan = engine::presetPlan("w2a3");
    QVERIFY(config.plan.trainBatchNorm);
    QCOMPARE(config.freezeBatchNormAfter, train::TrainConfig::kAutoFreeze);
    QCOMPARE(train::batchNormFreezeStep(config, 9, true), int64_t(6));
    QCOMPARE(train::batchNormFreezeStep(config, 1407, true), int64_t(938));
    QCOMPARE(train::batchNormFreezeStep(config, 9, false), int64_t(-1));
    QCOMPARE(train::batchNormFreezeStep(config, 1, true), int64_t(-1));
    // Nothing to freeze: no step, whether automatic or asked for.
    QCOMPARE(train::batchNormFreezeStep(config, 9, true, false), int64_t(-1));
    auto asked = config;
    asked.freezeBatchNormAfter = 4;
    QCOMPARE(train::batchNormFreezeStep(asked, 9, false), int64_t(4));
    QCOMPARE(train::batchNormFreezeStep(asked, 9, false, false), int64_t(-1));

    config.maxSteps = 9;
    config.schedule = train::Schedule::Constant; // the steps after the fold at the full rate (below)
    FoldRecorder automatic;
    const auto result = train::runTraining(config, m_registry, &automatic);
    QCOMPARE(stateName(result.state), QStringLiteral("finished"));
    QCOMPARE(result.batchNormFreezeStep, int64_t(6));
    QCOMPARE(automatic.stepsAtFold, 6);
    QVERIFY2(automatic.said.find("at step 6") != std::string::npos, automatic.said.c_str());
    QCOMPARE(result.foldedBatchNorms, 3);
    QCOMPARE(automatic.steps, 9);

    // The same run stopped right after the fold: the three steps after it moved the folded
    // biases, and the folded weights by more than Adam moves a weight at the rate (at most
    // about the rate per step from a fresh state; at most 3.02 times it in three steps): the
    // fold multiplied the demo's first conv by |gamma| / sigma ~ 12, and its steps with it.
    train::CancelToken token;
    FoldRecorder stoppedAtFold;
    stoppedAtFold.stopAtFold = &token;
    const auto early = train::runTraining(config, m_registry, &stoppedAtFold, &token);
    QCOMPARE(stateName(early.state), QStringLiteral("cancelled"));
    QCOMPARE(stoppedAtFold.stepsAtFold, 6);
    QCOMPARE(early.steps, int64_t(6));
    const auto before = finalParameters(config, early.checkpoint, m_registry);
    const auto after = finalParameters(config, result.checkpoint, m_registry);
    QCOMPARE(after.size(), before.size());
    int biases = 0;
    double foldedMoved = 0;
    for (const auto& [name, value] : after) {
        const double moved = (value - before.at(name)).abs().max().item<double>();
        if (name.find("qat_folded_bias") != std::string::npos) {
            QVERIFY2(moved > 0, (name + " did not train").c_str());
            ++biases;
        } else if (value.dim() == 4) {
            foldedMoved = std::max(foldedMoved, moved); // the demo's convs are the folded ones
        } else {
            QVERIFY2(moved <= 3.1 * result.lr, (name + " moved " + std::to_string(moved)).c_str());
        }
    }
    QCOMPARE(biases, 3);
    QVERIFY2(foldedMoved > 4 * result.lr, qPrintable(QString::number(foldedMoved / result.lr)));

    // never: BatchNorm trains to the last step and is folded after it.
    config.freezeBatchNormAfter = -1;
    FoldRecorder never;
    const auto folded = train::runTraining(config, m_registry, &never);
    QCOMPARE(folded.batchNormFreezeStep, int64_t(-1));
    QCOMPARE(never.stepsAtFold, 9);
    QVERIFY2(never.said.find("final statistics") != std::string::npos, never.said.c_str());
    QCOMPARE(folded.foldedBatchNorms, 3);

    // A plan that keeps BatchNorm: automatic leaves it training; an explicit step freezes it.
    config.plan = engine::presetPlan("w4a8-lsq");
    config.plan.foldBatchNorm = false;
    config.freezeBatchNormAfter = train::TrainConfig::kAutoFreeze;
    QCOMPARE(train::runTraining(config, m_registry).batchNormFreezeStep, int64_t(-1));
    config.freezeBatchNormAfter = 4;
    QCOMPARE(train::runTraining(config, m_registry).batchNormFreezeStep, int64_t(4));

    // A plan that folds every BatchNorm before training leaves nothing to freeze: the run says
    // so, measures nothing and reports no freeze step.
    config.plan = engine::presetPlan("w4a8-lsq");
    struct Said : train::TrainObserver {
        std::string log;
        void onEvent(const train::TrainEvent& event) override
        {
            if (const auto* l = std::get_if<train::LogEvent>(&event)) log += l->text + "\n";
        }
    } said;
    QCOMPARE(train::runTraining(config, m_registry, &said).batchNormFreezeStep, int64_t(-1));
    QVERIFY2(said.log.find("no BatchNorm left to freeze") != std::string::npos, said.log.c_str());
    QVERIFY2(said.log.find("measured and frozen") == std::string::npos, said.log.c_str());
}

// Folded part-way, a conv's weights W' = s * W (s = gamma / sqrt(var + eps) per output channel)
// step |s| times the rate: given the gradient the chain rule gives (dL/dW' = dL/dW / s), two
// Adam steps move W' by s times what they move W with the BatchNorm kept (up to Adam's eps), so
// the fold leaves the pace of training alone. Every other parameter steps at the rate.
void TestTraining::foldedWeightsStepAsBeforeTheFold()
{
    auto qat = engine::QatModel::build(QATWB_DEMO_MODEL, engine::presetPlan("w2a3"), m_registry, true);
    QCOMPARE(qat->trainingBatchNorms(), 3);
    calibrateAndTrain(*qat, 3, 3e-3);
    std::map<std::string, at::Tensor> before;
    for (const auto& p : qat->module().named_parameters()) {
        before[p.name] = p.value.detach().clone();
    }
    auto folded = qat->foldedCopy();
    QVERIFY(qat->modelStepScales().size() == qat->modelParameters().size());
    for (const auto& s : qat->modelStepScales()) {
        QVERIFY(!s.defined()); // a model that was not made by folding part-way
    }
    const auto params = folded->modelParameters();
    const auto scales = folded->modelStepScales();
    QCOMPARE(scales.size(), params.size());
    const auto named = folded->module().named_parameters();
    int scaled = 0;
    size_t i = 0;
    for (const auto& p : named) {
        const auto& scale = scales[i++];
        const auto old = before.find(p.name);
        if (!scale.defined()) {
            // Not a folded weight: the same tensor as before (or a folded bias, new).
            QVERIFY2(old == before.end() || at::equal(old->second, p.value), p.name.c_str());
            continue;
        }
        ++scaled;
        QVERIFY2(old != before.end(), p.name.c_str());
        const auto& w = old->second;
        const auto signedScale = (p.value / w).flatten(1).amax(1).reshape(scale.sizes()); // W' / W per channel
        QVERIFY2(at::allclose(scale, signedScale.abs(), 1e-5, 1e-7), p.name.c_str());
        QVERIFY2(scale.max().item<double>() > 1.05 * scale.min().item<double>(), p.name.c_str()); // per channel

        // The same gradients in both coordinates, two steps of Adam (in double: a step is
        // a thousandth of a weight, too close to float rounding for a tight comparison).
        at::manual_seed(3);
        const auto w64 = w.to(at::kDouble);
        const auto folded64 = p.value.detach().to(at::kDouble);
        const auto s64 = signedScale.to(at::kDouble);
        auto unfolded = w64.clone().requires_grad_(true);
        auto foldedWeight = folded64.clone().requires_grad_(true);
        train::Optimizer plain(train::OptimizerKind::Adam, {{{unfolded}, 3e-3}}, 0.9);
        train::Optimizer scaledSteps(train::OptimizerKind::Adam, {{{foldedWeight}, 3e-3, {scale.to(at::kDouble)}}}, 0.9);
        for (int step = 0; step < 2; ++step) {
            // Away from 0, where Adam's eps (which the fold scales too) would show.
            const auto g = at::randn_like(w64).sign() * (0.5 + at::rand_like(w64));
            unfolded.mutable_grad() = g.clone();
            foldedWeight.mutable_grad() = g / s64;
            plain.step();
            scaledSteps.step();
        }
        const auto moved = (unfolded - w64).detach();
        const auto movedFolded = (foldedWeight - folded64).detach();
        QVERIFY2(moved.abs().min().item<double>() > 0, p.name.c_str());
        QVERIFY2(at::allclose(movedFolded, moved * s64, 1e-5, 0),
                 qPrintable(QString::number((movedFolded - moved * s64).abs().max().item<double>())));
    }
    QCOMPARE(scaled, 3);
}
