// SPDX-License-Identifier: MIT
#include "training/lr_probe.h"

#include "engine/checkpoint.h"
#include "engine/qat_model.h"
#include "training/optimizer.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace qat::train {

namespace {

constexpr double kFactor = 3.0;

// Trains the model for the probe's steps at one pair and returns the held-out loss.
double runTrial(engine::QatModel& model, const TrainConfig& config, double lr, double quantizerLr,
                const LrProbeData& data, const LossFunction& loss, const LossFunction& score)
{
    constexpr double kDiverged = std::numeric_limits<double>::infinity();
    std::vector<ParameterGroup> groups{{model.modelParameters(), lr}, {model.quantizerParameters(), quantizerLr}};
    Optimizer optimizer(config.optimizer, std::move(groups), config.momentum);
    model.train(true);
    for (size_t i = 0; i < data.stepImages.size(); ++i) {
        const auto value = loss(data.stepImages[i], data.stepLabels[i]);
        if (!std::isfinite(value.item<double>())) {
            model.train(false);
            return kDiverged;
        }
        optimizer.zeroGrad();
        value.backward();
        optimizer.step();
    }
    model.train(false);
    at::NoGradGuard noGrad;
    double sum = 0;
    for (size_t i = 0; i < data.scoreImages.size(); ++i) {
        sum += score(data.scoreImages[i], data.scoreLabels[i]).item<double>() * double(data.scoreImages[i].size(0));
    }
    return std::isfinite(sum) ? sum : kDiverged;
}

} // namespace

std::vector<LrTrial> probeLearningRates(engine::QatModel& model, const TrainConfig& config, std::pair<double, double> base,
                                        const LrProbeData& data, const LossFunction& loss, const LossFunction& score,
                                        const std::function<double(double)>& sumAcrossRanks)
{
    const auto saved = engine::saveCheckpoint(model);
    double images = 0;
    for (const auto& x : data.scoreImages) images += double(x.size(0));
    images = sumAcrossRanks(images);
    std::vector<LrTrial> trials;
    auto trial = [&](double lr, double quantizerLr) {
        if (!trials.empty()) engine::loadCheckpoint(model, saved);
        const double sum = sumAcrossRanks(runTrial(model, config, lr, quantizerLr, data, loss, score));
        trials.push_back({lr, quantizerLr, images > 0 ? sum / images : sum});
        return trials.back();
    };
    const auto [lr, quantizerLr] = base;
    trial(lr, quantizerLr);
    trial(lr / kFactor, quantizerLr);
    trial(lr * kFactor, quantizerLr);
    const double bestLr = chooseLearningRates(trials).lr;
    trial(bestLr, quantizerLr / kFactor);
    trial(bestLr, quantizerLr * kFactor);
    engine::loadCheckpoint(model, saved);
    return trials;
}

LrTrial chooseLearningRates(const std::vector<LrTrial>& trials, double margin)
{
    if (trials.empty()) return {};
    const auto& base = trials.front();
    LrTrial best = base;
    for (const auto& t : trials) {
        if (std::isfinite(t.loss) && (!std::isfinite(best.loss) || t.loss < best.loss)) best = t;
    }
    if (std::isfinite(base.loss) && best.loss > base.loss * (1.0 - margin)) return base;
    return best;
}

std::string describeProbe(const std::vector<LrTrial>& trials, const LrTrial& chosen, int64_t steps, double seconds)
{
    auto rate = [](double v) {
        char text[32];
        std::snprintf(text, sizeof text, "%.3g", v);
        return std::string(text);
    };
    std::string line = "learning rates probed in " + rate(seconds) + " s (" + std::to_string(steps)
                       + " steps each, held-out loss):";
    for (const auto& t : trials) {
        line += " " + rate(t.lr) + "/" + rate(t.quantizerLr) + " " + rate(t.loss) + ";";
    }
    return line + " training with " + rate(chosen.lr) + " (weights) and " + rate(chosen.quantizerLr) + " (quantizers)";
}

} // namespace qat::train
