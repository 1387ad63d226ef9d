// SPDX-License-Identifier: MIT
#pragma once
// init: "auto": each quantizer's initialisation chosen by the error it causes where it
// matters, measured on calibration inputs (core/quantizers/README.md). Internal to the core.

#include "quantizers/calibration.h"
#include "quantizers/quantizer_types.h"

#include <ATen/ATen.h>

#include <map>
#include <vector>

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::engine {

class QatModel;

/// What init: auto decided for one quantizer.
struct InitChoice {
    int64_t slot = 0;
    quant::InitMethod chosen = quant::InitMethod::Mse;
    /// Each candidate's output error (squared error over the float output's mean square).
    std::map<quant::InitMethod, double> scores;
};

/// The candidates auto tries, in order (ties keep the earlier one).
const std::vector<quant::InitMethod>& autoInitCandidates();

/// For every slot in `slots` (built-in quantizers whose config says auto, already calibrated
/// once), calibrates one quantizer per candidate from the same data (weights: the weight;
/// activations: `samples[slot]`, the values the slot observed), measures each with only that
/// slot quantizing on `inputs` (weights: at their layer's output activation point, or the
/// model output when the layer has none; activations: at the model output), and installs
/// the candidate with the smallest error in the slot.
std::vector<InitChoice> chooseInitialisations(QatModel& model, const std::vector<int64_t>& slots,
                                              const std::map<int64_t, quant::calib::ValueSample>& samples,
                                              const at::Tensor& inputs, const quant::QuantizerRegistry& registry);

} // namespace qat::engine
