// SPDX-License-Identifier: MIT
#pragma once
// Fills OpNode::shape by one forward of a zero input: what activation memory and MACs need.
// Internal to the core: includes torch.

#include "model/op_graph_builder.h"

#include <torch/csrc/jit/api/module.h>

#include <cstdint>
#include <vector>

namespace qat::model {

/// Runs graph (a prepared forward of module, in eval mode) on zeros of inputShape
/// ([1, C, H, W] or any shape forward takes) and stores each node's output shape in
/// ops.graph. Nodes inside an If / Loop block keep an empty shape (their values are not
/// visible outside the block). Returns false, shapes untouched, when the forward throws.
bool probeShapes(torch::jit::Module& module, torch::jit::Graph& graph, TorchOpGraph& ops,
                 const std::vector<int64_t>& inputShape);

/// The input shapes tried when none is given, in order: 28x28 (the default data) and the
/// usual image sizes up to 384, with 1 then 3 channels; batch 1.
std::vector<std::vector<int64_t>> usualInputShapes();

} // namespace qat::model
