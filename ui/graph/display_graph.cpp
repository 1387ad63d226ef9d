// SPDX-License-Identifier: MIT
#include "graph/display_graph.h"

#include "targets/point_placement.h"

#include <set>

namespace qat::ui {

bool isFoldedOp(const std::string& op)
{
    static const std::set<std::string> ops = {
        "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze", "permute",
        "transpose", "t", "movedim", "swapaxes", "contiguous", "expand", "expand_as", "narrow", "select", "slice",
        "__getitem__", "ListUnpack", "TupleUnpack", "TupleIndex", "chunk", "split", "split_with_sizes",
        "unsafe_chunk", "unsafe_split", "unbind", "tensor_split", "dropout", "feature_dropout", "alpha_dropout",
        "feature_alpha_dropout", "to", "type_as", "float", "detach", "clone", "identity"};
    return ops.count(op) > 0;
}

namespace {

// Where an op graph node's output is drawn from: a display node, through folded ops.
struct Source {
    int node = -1;
    std::vector<std::string> folded;
};

} // namespace

DisplayGraph buildDisplayGraph(const model::OpGraph& graph, const std::vector<model::ActivationPointInfo>& points,
                               const target::DeploymentTarget& target)
{
    DisplayGraph out;
    const size_t n = graph.nodes.size();
    if (n == 0) {
        return out;
    }
    const auto consumers = graph.consumers();
    const auto carried = target::quantizedBy(graph, points, target);
    // A fused unit (root .. node) is one display node: every member maps to the root.
    std::vector<int> unitRoot(n, -1);
    std::vector<int> pointAt(n, -1); // point whose unit starts at a node
    for (size_t p = 0; p < points.size(); ++p) {
        const auto& point = points[p];
        pointAt[size_t(point.root)] = int(p);
        for (int m = point.root;; m = consumers[size_t(m)].front().first) {
            unitRoot[size_t(m)] = point.root;
            if (m == point.node) {
                break;
            }
        }
    }
    std::vector<Source> source(n);
    std::vector<int> owner(n, -1); // display node each op is drawn in (-1: folded into edges)
    for (const auto& node : graph.nodes) {
        const auto id = size_t(node.id);
        if (unitRoot[id] >= 0 && unitRoot[id] != node.id) {
            // A fused op: drawn inside its unit's node, named there.
            const int d = owner[size_t(unitRoot[id])];
            owner[id] = d;
            out.nodes[size_t(d)].fused.push_back(node.op);
            out.nodes[size_t(d)].shape = node.shape;
            source[id] = {d, {}};
            continue;
        }
        const bool first = node.id == 0;
        const bool last = id + 1 == n;
        if (!first && !last && node.inputs.size() == 1 && target.roleOf(node) == target::OpRole::PassThrough
            && isFoldedOp(node.op)) {
            source[id] = source[size_t(node.inputs.front())];
            source[id].folded.push_back(node.op);
            continue;
        }
        DisplayNode d;
        d.kind = first ? DisplayNode::Kind::Input
                       : last ? DisplayNode::Kind::Output
                              : node.layer.empty() ? DisplayNode::Kind::Op : DisplayNode::Kind::Layer;
        d.opNode = node.id;
        d.op = node.op;
        d.layer = node.layer;
        d.scope = node.scope;
        d.shape = node.shape;
        d.point = pointAt[id];
        owner[id] = int(out.nodes.size());
        source[id] = {owner[id], {}};
        out.nodes.push_back(std::move(d));
    }
    // Edges: every data input of a drawn op that comes from another display node.
    for (const auto& node : graph.nodes) {
        const int to = owner[size_t(node.id)];
        if (to < 0) {
            continue;
        }
        for (int input : node.inputs) {
            const auto& from = source[size_t(input)];
            if (from.node < 0 || from.node == to) {
                continue;
            }
            out.edges.push_back({from.node, to, from.folded, carried[size_t(input)]});
        }
    }
    return out;
}

} // namespace qat::ui
