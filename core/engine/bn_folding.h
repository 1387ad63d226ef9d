// SPDX-License-Identifier: MIT
#pragma once
// Folds BatchNorm into the convolution before it, as MCT does before QAT. Internal.

#include "model/layer_discovery.h"

#include <torch/csrc/jit/api/module.h>

#include <vector>

namespace qat::engine {

/// For every conv (not linear; transposed only with groups 1) called once and followed by a
/// BatchNorm with running statistics: W' = W * s, b' = beta + (b - mean) * s with
/// s = gamma / sqrt(var + eps), written into module (the weight in place, the bias as a new
/// trainable parameter on the root module), and the BatchNorm node removed from the graph.
/// Updates the sites (a fused unit that ended at the BatchNorm now ends at the conv).
/// Returns how many BatchNorms were folded.
int foldBatchNorms(torch::jit::Graph& graph, torch::jit::Module& module, std::vector<model::LayerSite>& sites);

} // namespace qat::engine
