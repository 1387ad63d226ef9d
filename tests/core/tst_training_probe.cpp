// SPDX-License-Identifier: MIT
// The learning-rate probe (tst_training, continued): its choice rule, the coordinate search on
// the trained demo model with the model put back, and a run that trains at the probed pair;
// and the quantizers' warm-up.
#include "test_paths.h"
#include "tst_training.h"

#include "engine/qat_model.h"
#include "training/lr_probe.h"
#include "training/trainer.h"

#include <QtTest>

#include <limits>

using namespace qat;
using namespace qat::test::training;

// The pure choice: the lowest held-out loss, but the rule's pair (the first trial) unless
// another beats it by more than the margin; a diverged trial never wins.
void TestTraining::learningRateChoiceNeedsAClearWin()
{
    const double inf = std::numeric_limits<double>::infinity();
    using T = train::LrTrial;
    QCOMPARE(train::chooseLearningRates({T{1e-4, 1e-4, 1.00}, T{3e-5, 1e-4, 0.995}, T{3e-4, 1e-4, 1.2}}).lr, 1e-4);
    const auto better = train::chooseLearningRates({T{1e-4, 1e-4, 1.00}, T{3e-5, 1e-4, 0.95}, T{3e-4, 1e-4, 0.90},
                                                    T{3e-4, 3e-5, inf}});
    QCOMPARE(better.lr, 3e-4);
    QCOMPARE(better.quantizerLr, 1e-4);
    QCOMPARE(train::chooseLearningRates({T{1e-4, 1e-4, inf}, T{3e-5, 1e-4, 5.0}, T{3e-4, 1e-4, inf}}).lr, 3e-5);
    QCOMPARE(train::chooseLearningRates({}).lr, 0.0);
}

// The probe on the trained demo model from a pair too high for it (Adam at 3e-3, 30 times
// the rule's 1e-4): the trials are the coordinate search around it, the choice is the lowest
// measured loss and a lower rate, and the model is put back exactly as it was. (Far higher,
// at 0.1, every trial wrecks the model and the losses no longer order by rate.)
void TestTraining::learningRateProbeTurnsDownATooHighRateAndRollsBack()
{
    auto qat = engine::QatModel::build(QATWB_DEMO_MODEL, engine::presetPlan("w4a8-lsq"), m_registry);
    const auto& data = smallTrainSet();
    calibrate(*qat, data.images.slice(0, 0, 256));
    qat->train(false);
    const auto check = data.images.slice(0, 1536, 2048);
    const auto before = qat->forward(check).detach();
    train::LrProbeData probe;
    for (int b = 0; b < 8; ++b) {
        probe.stepImages.push_back(data.images.slice(0, b * 64, (b + 1) * 64));
        probe.stepLabels.push_back(data.labels.slice(0, b * 64, (b + 1) * 64));
    }
    probe.scoreImages.push_back(data.images.slice(0, 1024, 1280));
    probe.scoreLabels.push_back(data.labels.slice(0, 1024, 1280));
    auto& model = *qat;
    const auto loss = [&model](const at::Tensor& x, const at::Tensor& y) { return at::cross_entropy_loss(model.forward(x), y); };
    train::TrainConfig config;
    const auto trials = train::probeLearningRates(model, config, {3e-3, 3e-3}, probe, loss, loss, [](double v) { return v; });
    QCOMPARE(trials.size(), size_t(5));
    QCOMPARE(trials[0].lr, 3e-3);
    QCOMPARE(trials[1].lr, 3e-3 / 3);
    QCOMPARE(trials[2].lr, 3e-3 * 3);
    for (int i = 0; i < 3; ++i) QCOMPARE(trials[size_t(i)].quantizerLr, 3e-3);
    const auto firstChoice = train::chooseLearningRates({trials[0], trials[1], trials[2]});
    QCOMPARE(trials[3].lr, firstChoice.lr);
    QCOMPARE(trials[4].lr, firstChoice.lr);
    QCOMPARE(trials[3].quantizerLr, 3e-3 / 3);
    QCOMPARE(trials[4].quantizerLr, 3e-3 * 3);
    for (const auto& t : trials) {
        qInfo("trial %g / %g: held-out loss %g", t.lr, t.quantizerLr, t.loss);
    }
    const auto chosen = train::chooseLearningRates(trials);
    QVERIFY2(chosen.lr < 3e-3, qPrintable(QStringLiteral("chose %1 (losses %2 at 3e-3, %3 at 1e-3, %4 at 9e-3)")
                                              .arg(chosen.lr).arg(trials[0].loss).arg(trials[1].loss).arg(trials[2].loss)));
    for (const auto& t : trials) {
        QVERIFY(chosen.loss <= t.loss);
    }
    QVERIFY(at::equal(qat->forward(check).detach(), before));
}

// A run with the probe trains at the pair the probe chose, says so, and stores the trials.
void TestTraining::trainerUsesTheProbedRates()
{
    auto config = quickConfig(QStringLiteral("mlp_traced.pt"));
    config.plan = engine::presetPlan("w4a8-lsq");
    config.lrProbe = false;
    const auto without = train::runTraining(config, m_registry);
    QCOMPARE(stateName(without.state), QStringLiteral("finished"));
    QVERIFY(without.lrTrials.empty());
    config.lrProbe = true;
    const auto with = train::runTraining(config, m_registry);
    QCOMPARE(stateName(with.state), QStringLiteral("finished"));
    QCOMPARE(with.lrTrials.size(), size_t(5));
    QCOMPARE(with.lrTrials.front().lr, without.lr);
    QCOMPARE(with.lrTrials.front().quantizerLr, without.quantizerLr);
    const auto chosen = train::chooseLearningRates(with.lrTrials);
    QCOMPARE(with.lr, chosen.lr);
    QCOMPARE(with.quantizerLr, chosen.quantizerLr);
    // Rates given by hand are not probed.
    config.lr = 2e-4;
    QVERIFY(train::runTraining(config, m_registry).lrTrials.empty());
}

namespace {
struct RateRecorder : train::TrainObserver {
    std::vector<double> lr;
    std::vector<double> quantizerLr;
    void onEvent(const train::TrainEvent& event) override
    {
        if (const auto* step = std::get_if<train::StepEvent>(&event)) {
            lr.push_back(step->lr);
            quantizerLr.push_back(step->quantizerLr);
        }
    }
};
} // namespace

// The quantizers' rate rises linearly over the warm-up's steps and the weights' does not;
// without a warm-up the first step already has the full rate.
void TestTraining::quantizerWarmupRampsOnlyTheQuantizersRate()
{
    auto config = quickConfig(QStringLiteral("cnn_bn_relu_traced.pt"));
    config.maxSteps = 6;
    config.schedule = train::Schedule::Constant;
    config.lr = 1e-3;
    config.quantizerLr = 2e-3;
    config.quantizerWarmup = 4;
    RateRecorder ramped;
    const auto result = train::runTraining(config, m_registry, &ramped);
    QCOMPARE(stateName(result.state), QStringLiteral("finished"));
    QCOMPARE(result.quantizerWarmupSteps, int64_t(4)); // what train --json reports
    QCOMPARE(ramped.quantizerLr.size(), size_t(6));
    const double expected[] = {0.5e-3, 1e-3, 1.5e-3, 2e-3, 2e-3, 2e-3};
    for (size_t i = 0; i < 6; ++i) {
        QCOMPARE(ramped.quantizerLr[i], expected[i]);
        QCOMPARE(ramped.lr[i], 1e-3);
    }
    config.quantizerWarmup = 0;
    RateRecorder flat;
    QCOMPARE(train::runTraining(config, m_registry, &flat).quantizerWarmupSteps, int64_t(0));
    QCOMPARE(flat.quantizerLr.front(), 2e-3);
    // A given warm-up is taken as it is; the automatic one is a share of the run, whatever
    // its length.
    config.quantizerWarmup = 7;
    QCOMPARE(train::quantizerWarmupSteps(config, 1000), int64_t(7));
    config.quantizerWarmup = -1;
    QVERIFY(train::quantizerWarmupSteps(config, 100) <= 100);
    QCOMPARE(train::quantizerWarmupSteps(config, 1000), 10 * train::quantizerWarmupSteps(config, 100));
    QCOMPARE(train::warmupFactor(9, 10), 1.0);
    QCOMPARE(train::warmupFactor(0, 0), 1.0);
}
