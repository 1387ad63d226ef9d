// SPDX-License-Identifier: MIT
#pragma once
// Small helpers over TorchScript IR shared by the import passes and layer discovery.
// Internal to the core: includes torch headers.

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qat::model {

/// Calls fn on every node of block and of its nested blocks, in graph order.
void forEachNode(torch::jit::Block* block, const std::function<void(torch::jit::Node*)>& fn);

/// Every node of the graph (nested blocks included), collected first so callers may mutate.
std::vector<torch::jit::Node*> allNodes(torch::jit::Graph& graph);

/// Attribute names from `self` (graph input 0) to value through prim::GetAttr, or nullopt
/// when value is not such a chain. {"features", "0", "weight"} for features.0.weight.
std::optional<std::vector<std::string>> attributePath(const torch::jit::Value* value);

/// The attribute of root at path, or nullopt when a step does not exist.
std::optional<c10::IValue> attributeValue(const torch::jit::Module& root,
                                          const std::vector<std::string>& path);

std::string joinPath(const std::vector<std::string>& path);

/// "aten::relu_" -> "relu": the op's name without namespace and in-place suffix.
std::string normalisedOpName(const torch::jit::Node* node);

} // namespace qat::model
