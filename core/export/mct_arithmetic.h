// SPDX-License-Identifier: MIT
#pragma once
// What mct_quantizers itself computes when a consumer rebuilds an inferable quantizer from
// the export's class name and arguments (its PyTorch classes: float32 tensors, the uniform
// range moved so zero is on the grid, the weights' zero point truncated). Written from
// design/quantizers.md section 5, independently of our own inferable quantizers, so the export
// can check that a consumer gets the numbers we trained. Internal to the core.

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace qat::exporter {

/// mct_quantizers' forward of className(arguments) on x, or nullopt for a class it does not
/// have (a plugin's own).
std::optional<at::Tensor> mctInferableForward(const std::string& className, const nlohmann::json& arguments,
                                              const at::Tensor& x);

} // namespace qat::exporter
