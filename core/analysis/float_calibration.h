// SPDX-License-Identifier: MIT
#pragma once
// Quantizers initialised from the float weights, as a run does before its first step.
// Internal to the core (torch types).

#include "engine/qat_model.h"

#include <ATen/ATen.h>

#include <vector>

namespace qat::analysis {

/// Calibrates the weight quantizers, then the activation quantizers on batches.
void calibrateFromFloat(engine::QatModel& model, const std::vector<at::Tensor>& batches);

} // namespace qat::analysis
