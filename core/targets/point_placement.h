// SPDX-License-Identifier: MIT
#pragma once
// Where a deployment target puts activation quantizers in a model's op graph. No torch.

#include "model/op_graph.h"
#include "targets/deployment_target.h"

#include <vector>

namespace qat::target {

/// Every activation point of graph under target, in graph order, the model input first:
///  - a layer's fused unit ends after a following BatchNorm and, when the target fuses it, one
///    activation; its point is named "<layer>:output" ("#2" for a second call);
///  - under targets that quantize every tensor, each other op whose role is Quantize gets a
///    point after it (after a fused ReLU-like op when the target fuses one), named
///    "<module path>:<op>" ("<op>" at the top level; "#2", "#3" for repeats in one module);
///  - grid-preserving ops get none.
/// A unit only grows through a value that nothing else reads. Points whose value a model
/// output's layer reads are marked feedsLastLayer (see model::ActivationPointInfo).
std::vector<model::ActivationPointInfo> placeActivationPoints(const model::OpGraph& graph,
                                                              const DeploymentTarget& target);

/// For each OpGraph node, the point whose quantizer its output carries (through
/// grid-preserving ops), or -1 when the tensor is float under the target: the graph view's
/// float edges. Fused intermediates (a conv's output before its ReLU) are -2.
std::vector<int> quantizedBy(const model::OpGraph& graph, const std::vector<model::ActivationPointInfo>& points,
                             const DeploymentTarget& target);

} // namespace qat::target
