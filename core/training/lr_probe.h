// SPDX-License-Identifier: MIT
#pragma once
// Learning rates chosen by measurement (issue #27): from the calibrated state, a few QAT
// steps at each candidate pair (model weights, quantizer parameters), each scored on
// held-out training batches (for distillation, the loss's excess over the float model's
// own), then rolled back. Internal to the core.

#include "training/train_types.h"

#include <ATen/ATen.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace qat::engine {
class QatModel;
}

namespace qat::train {

/// What the probe trains and scores on: images (and labels, undefined without them).
struct LrProbeData {
    std::vector<at::Tensor> stepImages, stepLabels;
    std::vector<at::Tensor> scoreImages, scoreLabels;
};

/// The training loss of the model as it is now, for a batch (the trainer's loss: distillation
/// or cross-entropy).
using LossFunction = std::function<at::Tensor(const at::Tensor& images, const at::Tensor& labels)>;

/// Runs the trials and puts the model back as it was. The search is coordinate-wise around
/// base: the weights' rate at base / 3, base, base x 3 (quantizers at base), then the
/// quantizers' rate at / 3 and x 3 around the best of those; sumAcrossRanks adds a value over
/// the processes of a distributed run (so every rank chooses alike), identity otherwise.
/// `loss` is what the steps minimise, `score` what the held-out batches are measured by (the
/// same, less any part no rate can change).
std::vector<LrTrial> probeLearningRates(engine::QatModel& model, const TrainConfig& config, std::pair<double, double> base,
                                        const LrProbeData& data, const LossFunction& loss, const LossFunction& score,
                                        const std::function<double(double)>& sumAcrossRanks);

/// The trial to train with: the lowest loss, but base (the first trial) unless another is
/// lower by more than `margin` of base's loss (a few steps' differences below that are noise
/// more than a trend). A base that diverged loses to any finite trial.
LrTrial chooseLearningRates(const std::vector<LrTrial>& trials, double margin = 0.01);

/// The run log's line for a probe of `steps` steps per trial that took `seconds`: every
/// trial's rates and loss, then the rates chosen.
std::string describeProbe(const std::vector<LrTrial>& trials, const LrTrial& chosen, int64_t steps, double seconds);

} // namespace qat::train
