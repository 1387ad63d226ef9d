// SPDX-License-Identifier: MIT
#pragma once
// What the graph view draws: the model's op graph condensed for reading. A layer's fused unit
// (conv + batch_norm + relu) is one box, grid-preserving shape ops (view, flatten, ...) are
// folded into the edge they sit on, every other op is a small node. No Qt, no torch.

#include "model/op_graph.h"
#include "targets/deployment_target.h"

#include <string>
#include <vector>

namespace qat::ui {

/// One box or small node of the drawn graph. Plain data.
struct DisplayNode {
    enum class Kind { Input = 1, Output, Layer, Op };
    Kind kind = Kind::Op;
    int opNode = 0;                 ///< OpGraph node of the unit's first op
    std::string op;                 ///< "conv2d", "add", "max_pool2d", "input", "output"
    std::string layer;              ///< Layer: the layer name ("features.0")
    std::string scope;              ///< module path whose forward() runs the op
    std::vector<std::string> fused; ///< ops fused after it and drawn inside it ("batch_norm", "relu")
    std::vector<int64_t> shape;     ///< output shape of the unit, empty when unknown
    int point = -1;                 ///< activation point quantizing its output, -1 when none
};

/// A tensor from one node to another. Plain data.
struct DisplayEdge {
    int from = 0;                    ///< DisplayGraph::nodes index
    int to = 0;
    std::vector<std::string> folded; ///< grid-preserving ops on the way ("flatten")
    int point = -1;                  ///< the point whose quantizer the tensor carries, -1: float
};

struct DisplayGraph {
    std::vector<DisplayNode> nodes; ///< graph order: the input first, the output last
    std::vector<DisplayEdge> edges;
};

/// Condenses graph under target, given the target's points (target::placeActivationPoints).
DisplayGraph buildDisplayGraph(const model::OpGraph& graph, const std::vector<model::ActivationPointInfo>& points,
                               const target::DeploymentTarget& target);

/// True for ops folded into edges when they pass the grid through: they only reshape or
/// drop values (a max-pool also preserves the grid, but a reader looks for it as a node).
bool isFoldedOp(const std::string& op);

} // namespace qat::ui
