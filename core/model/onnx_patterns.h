// SPDX-License-Identifier: MIT
#pragma once
// Exporters spell some PyTorch ops as several ONNX nodes. Recognising them lets the import
// build the one ATen op (gelu, silu, hardswish, linear) that layer discovery and folding
// know, as they are for a TorchScript model. Internal to the core.

#include "model/onnx_graph.h"

#include <map>
#include <string>

namespace qat::model {

/// Rewrites, in graph.nodes:
///  - Erf GELU  x * 0.5 * (1 + erf(x / sqrt 2)) and the tanh approximation
///    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) -> qatwb.Gelu (approximate none / tanh),
///  - x * Sigmoid(x) -> qatwb.Silu, x * HardSigmoid(x; 1/6, 0.5) -> HardSwish,
///  - MatMul(x, W) + Add(b) with constant W and b (Keras Dense) -> qatwb.Linear(x, W, b).
/// The fused node keeps the last node's output (and the first node's name). Returns how
/// many of each were found, by the fused op's name.
std::map<std::string, int> fuseOnnxPatterns(OnnxGraph& graph);

} // namespace qat::model
