// SPDX-License-Identifier: MIT
#pragma once

#include "training/train_types.h"

#include <utility>

namespace qat::quant {
class QuantizerRegistry;
}
namespace qat::engine {
class QatModel;
}

namespace qat::train {

/// Runs one QAT run to its end on the calling thread: loads the model and data, checks
/// that they fit (a dry forward), evaluates the float model, builds and calibrates the
/// quantized model, trains, evaluates after every epoch. Never throws for a user's file or
/// a training fault: the result's state says finished / cancelled / diverged / failed and
/// its message why. observer and token may be null.
TrainResult runTraining(const TrainConfig& config, const quant::QuantizerRegistry& registry,
                        TrainObserver* observer = nullptr, CancelToken* token = nullptr);

/// The learning rates a run of this model's plan uses when none is given: {model weights,
/// quantizer parameters}, from its lowest weight bits and whether any range is uniform.
std::pair<double, double> autoLearningRates(engine::QatModel& model);

} // namespace qat::train
