// SPDX-License-Identifier: MIT
#pragma once
// Builds the plain OpGraph from a prepared TorchScript graph. Internal: includes torch.

#include "model/layer_discovery.h"
#include "model/op_graph.h"

#include <torch/csrc/jit/ir/ir.h>

#include <vector>

namespace qat::model {

/// An OpGraph plus, for each of its nodes, the TorchScript node and value behind it, so that
/// the engine can insert quantizers where a target places them.
struct TorchOpGraph {
    OpGraph graph;
    std::vector<torch::jit::Node*> nodes;   ///< nullptr for "input" and "output"
    std::vector<torch::jit::Value*> values; ///< the tensor each node produces (graph input for "input")
};

/// Walks graph in order (nested blocks included). sites marks the conv / linear layers.
TorchOpGraph buildOpGraph(torch::jit::Graph& graph, const std::vector<LayerSite>& sites);

/// The module path of the forward() a node belongs to, from its inlined call stack.
std::string scopeOf(const torch::jit::Node* node);

} // namespace qat::model
