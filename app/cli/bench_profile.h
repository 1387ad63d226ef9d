// SPDX-License-Identifier: MIT
#pragma once
// `qatwb bench --profile`: where the time of a float step and of a QAT step goes, op by op,
// from LibTorch's own profiler (self time: an op's time minus that of the ops it called).

#include "quantizers/quantizer_registry.h"
#include "training/tensor_dataset.h"

#include <nlohmann/json.hpp>

#include <string>

namespace qat::cli::bench {

/// {"float": [...], "qat": [...], "steps": N, ...}: per step, the ops with the most self time
/// ({op, self_ms, calls}), largest first, and each step's total of self times.
nlohmann::json stepProfile(const std::string& modelPath, const std::string& preset, int batch, int steps,
                           const train::TensorDataset& data, const quant::QuantizerRegistry& registry);

void printStepProfile(const nlohmann::json& profile);

} // namespace qat::cli::bench
