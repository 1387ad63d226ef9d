// SPDX-License-Identifier: MIT
#pragma once
// Finds the quantizable layers of a prepared forward graph. Internal: includes torch.

#include "model/model_info.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <vector>

namespace qat::model {

/// One call of a quantizable op in the graph.
struct LayerSite {
    torch::jit::Node* node = nullptr;        ///< the conv / linear node
    torch::jit::Value* weight = nullptr;     ///< its weight input
    torch::jit::Node* batchNormNode = nullptr;  ///< the BatchNorm that alone reads the layer's output, if any
    std::string weightPath;
    std::string kind;
};

/// Every call of conv1d/2d/3d, conv_transpose1d/2d/3d, linear and traced _convolution
/// whose weight is a parameter of module, in graph order.
std::vector<LayerSite> findLayerSites(torch::jit::Graph& graph, const torch::jit::Module& module,
                                      std::vector<std::string>* notes = nullptr);

/// The layer a weight belongs to: its owning module's path ("features.0" for
/// "features.0.weight"), or the weight's own name when the root module holds it (a
/// functional `F.conv2d(x, self.conv_weight)`), so every layer has a distinct, usable name.
std::string layerName(const std::string& weightPath);

/// Groups sites by weight path (one LayerInfo per parameter), fills shapes from module and
/// each layer's activation points from points (the `generic` target's placement).
std::vector<LayerInfo> summariseLayers(const std::vector<LayerSite>& sites, const torch::jit::Module& module,
                                       const std::vector<ActivationPointInfo>& points);

} // namespace qat::model
