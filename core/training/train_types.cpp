// SPDX-License-Identifier: MIT
#include "training/train_types.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace qat::train {

std::string toString(RunState state)
{
    switch (state) {
    case RunState::Created: return "created";
    case RunState::Calibrating: return "calibrating";
    case RunState::Running: return "running";
    case RunState::Paused: return "paused";
    case RunState::Finished: return "finished";
    case RunState::Cancelled: return "cancelled";
    case RunState::Diverged: return "diverged";
    case RunState::Failed: return "failed";
    }
    return "?";
}

std::string toString(OptimizerKind kind)
{
    return kind == OptimizerKind::Adam ? "adam" : "sgd";
}

std::string toString(Schedule schedule)
{
    switch (schedule) {
    case Schedule::Cosine: return "cosine";
    case Schedule::Step: return "step";
    case Schedule::Constant: return "constant";
    }
    return "?";
}

bool probesLearningRates(const TrainConfig& config)
{
    // Off unless asked: on the zoo the probe was better in three cases of seven and worse in
    // two, for a fifth more time per epoch (README).
    constexpr bool kByDefault = false;
    return config.lrProbe.value_or(kByDefault) && config.lr < 0 && config.quantizerLr < 0;
}

int64_t quantizerWarmupSteps(const TrainConfig& config, int64_t totalSteps)
{
    if (config.quantizerWarmup >= 0) {
        return config.quantizerWarmup;
    }
    constexpr double kDefaultShare = 0.0; // README, "No quantizer warm-up by default"
    return int64_t(kDefaultShare * double(totalSteps));
}

int64_t batchNormFreezeStep(const TrainConfig& config, int64_t totalSteps, bool foldsAfterTraining, bool hasBatchNorm)
{
    if (!hasBatchNorm) {
        return -1;
    }
    if (config.freezeBatchNormAfter != TrainConfig::kAutoFreeze) {
        return config.freezeBatchNormAfter < 0 ? -1 : config.freezeBatchNormAfter;
    }
    if (!foldsAfterTraining || totalSteps < 2) {
        return -1; // a one-step run folds at its end, as without the freeze
    }
    constexpr double kShare = 2.0 / 3.0; // README, "BatchNorm folded two thirds of the way"
    return std::max<int64_t>(1, int64_t(kShare * double(totalSteps)));
}

double warmupFactor(int64_t step, int64_t warmupSteps)
{
    return step >= warmupSteps ? 1.0 : double(step + 1) / double(warmupSteps);
}

double autoLearningRate(int lowestWeightBits, int lowestActivationBits)
{
    if (lowestActivationBits <= 3) return 3e-3;
    return lowestWeightBits <= 3 || lowestActivationBits <= 4 ? 1e-3 : 1e-4;
}

double autoQuantizerLearningRate(int lowestWeightBits, bool uniformRanges)
{
    const double lr = autoLearningRate(lowestWeightBits); // the weights' rule without activations
    return uniformRanges && lowestWeightBits > 3 ? lr / 10 : lr;
}

std::pair<double, double> autoLearningRates(const std::vector<engine::LayerPlan>& layers,
                                            const std::vector<engine::PointPlan>& points)
{
    int lowestWeightBits = 32;
    int lowestActivationBits = 32;
    bool uniformRanges = false;
    for (const auto& lp : layers) {
        if (lp.weights.enabled) {
            lowestWeightBits = std::min(lowestWeightBits, lp.weights.config.bits);
            uniformRanges = uniformRanges || lp.weights.key.method == quant::Method::Uniform;
        }
    }
    for (const auto& point : points) {
        if (point.choice.enabled) {
            lowestActivationBits = std::min(lowestActivationBits, point.choice.config.bits);
            uniformRanges = uniformRanges || point.choice.key.method == quant::Method::Uniform;
        }
    }
    return {autoLearningRate(lowestWeightBits, lowestActivationBits),
            autoQuantizerLearningRate(lowestWeightBits, uniformRanges)};
}

OptimizerKind parseOptimizer(const std::string& text)
{
    if (text == "adam") return OptimizerKind::Adam;
    if (text == "sgd") return OptimizerKind::Sgd;
    throw Error("unknown optimizer '" + text + "' (use adam or sgd)");
}

Schedule parseSchedule(const std::string& text)
{
    if (text == "cosine") return Schedule::Cosine;
    if (text == "step") return Schedule::Step;
    if (text == "constant") return Schedule::Constant;
    throw Error("unknown schedule '" + text + "' (use cosine, step or constant)");
}

void addInitChoice(nlohmann::json& config, const QuantizerSummary& quantizer)
{
    if (!quantizer.reached) {
        config["unreached"] = true;
    }
    if (quantizer.config.init != quant::InitMethod::Auto || quantizer.initScores.empty()) {
        return;
    }
    config["init_choice"] = quant::toString(quantizer.initChosen);
    for (const auto& [method, score] : quantizer.initScores) {
        config["init_scores"][quant::toString(method)] = score;
    }
}

} // namespace qat::train
