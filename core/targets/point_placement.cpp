// SPDX-License-Identifier: MIT
#include "targets/point_placement.h"

#include <map>

namespace qat::target {

using model::ActivationPointInfo;
using model::OpGraph;

namespace {

class Placement {
public:
    Placement(const OpGraph& graph, const DeploymentTarget& target)
        : m_graph(graph), m_target(target), m_consumers(graph.consumers()), m_absorbed(graph.nodes.size(), false),
          m_feedsLast(graph.nodes.size(), 0)
    {
    }

    std::vector<ActivationPointInfo> run()
    {
        for (const auto& node : m_graph.nodes) {
            if (node.op == "output" || m_absorbed[size_t(node.id)]) {
                continue;
            }
            if (node.op == "input") {
                ActivationPointInfo p;
                p.name = "input";
                p.op = "input";
                p.root = p.node = node.id;
                p.isInput = true;
                m_points.push_back(p);
                continue;
            }
            const auto role = m_target.roleOf(node);
            if (role == OpRole::Layer) {
                placeLayer(node);
            } else if (role == OpRole::Quantize && !m_target.layerOutputsOnly && node.tensor) {
                placeOp(node);
            }
        }
        for (auto& p : m_points) {
            p.isModelOutput = reachesOutput(p.node);
        }
        std::map<int, const ActivationPointInfo*> byRoot;
        for (const auto& p : m_points) {
            byRoot[p.root] = &p;
        }
        for (auto& p : m_points) {
            p.feedsLastLayer = !p.isInput && feedsLastLayer(p.node, byRoot);
        }
        return std::move(m_points);
    }

private:
    // The one node that reads id's output, as its first input; -1 when none or several.
    int soleConsumer(int id) const
    {
        const auto& uses = m_consumers[size_t(id)];
        if (uses.size() != 1 || uses.front().second != 0) {
            return -1;
        }
        const int next = uses.front().first;
        return m_graph.nodes[size_t(next)].op == "output" ? -1 : next;
    }

    // Grows a unit from root: a BatchNorm first when allowed, then one fused activation.
    int follow(int root, const std::set<std::string>& fusable, bool batchNorm, std::vector<std::string>& fused)
    {
        int last = root;
        while (true) {
            const int next = soleConsumer(last);
            if (next < 0) {
                break;
            }
            const auto& op = m_graph.nodes[size_t(next)].op;
            if (batchNorm && op == "batch_norm") {
                batchNorm = false;
            } else if (fusable.count(op) == 0) {
                break;
            }
            fused.push_back(op);
            m_absorbed[size_t(next)] = true;
            last = next;
            if (op != "batch_norm") {
                break;
            }
        }
        return last;
    }

    void placeLayer(const model::OpNode& node)
    {
        ActivationPointInfo p;
        p.op = node.op;
        p.afterLayer = node.layer;
        p.callSite = node.scope;
        p.root = node.id;
        p.node = follow(node.id, m_target.fusedAfter(node.op), true, p.fusedOps);
        p.call = ++m_layerCalls[node.layer];
        p.name = node.layer + ":output" + (p.call > 1 ? "#" + std::to_string(p.call) : "");
        m_points.push_back(p);
    }

    void placeOp(const model::OpNode& node)
    {
        ActivationPointInfo p;
        p.op = node.op;
        p.callSite = node.scope;
        p.root = node.id;
        p.node = follow(node.id, m_target.fusedAfter(node.op), false, p.fusedOps);
        const auto base = (node.scope.empty() ? "" : node.scope + ":") + node.op;
        const int count = ++m_opCounts[base];
        p.name = base + (count > 1 ? "#" + std::to_string(count) : "");
        m_points.push_back(p);
    }

    // Whether id's value is what forward() returns: directly, or (targets that quantize every
    // tensor) through grid-preserving ops only.
    bool reachesOutput(int id) const
    {
        for (const auto& [user, position] : m_consumers[size_t(id)]) {
            (void)position;
            const auto& consumer = m_graph.nodes[size_t(user)];
            if (consumer.op == "output") {
                return true;
            }
            if (!m_target.layerOutputsOnly && m_target.roleOf(consumer) == OpRole::PassThrough
                && reachesOutput(user)) {
                return true;
            }
        }
        return false;
    }

    // Whether a layer whose output point reaches the model output reads id's value, directly
    // or through nodes that start no quantizer (grid-preserving ops; under a target that
    // quantizes layer outputs only, any op between layers).
    // Memoised: a chain of adds under such a target would otherwise be walked once per path.
    bool feedsLastLayer(int id, const std::map<int, const ActivationPointInfo*>& byRoot)
    {
        auto& known = m_feedsLast[size_t(id)];
        if (known != 0) {
            return known > 0;
        }
        known = -1;
        const bool feeds = readByLastLayer(id, byRoot);
        m_feedsLast[size_t(id)] = feeds ? 1 : -1;
        return feeds;
    }

    bool readByLastLayer(int id, const std::map<int, const ActivationPointInfo*>& byRoot)
    {
        for (const auto& use : m_consumers[size_t(id)]) {
            const int user = use.first;
            if (m_graph.nodes[size_t(user)].op == "output") {
                continue;
            }
            if (const auto found = byRoot.find(user); found != byRoot.end()) {
                if (!found->second->afterLayer.empty() && found->second->isModelOutput) {
                    return true;
                }
            } else if (!m_absorbed[size_t(user)] && feedsLastLayer(user, byRoot)) {
                return true;
            }
        }
        return false;
    }

    const OpGraph& m_graph;
    const DeploymentTarget& m_target;
    std::vector<std::vector<std::pair<int, int>>> m_consumers;
    std::vector<bool> m_absorbed;
    std::vector<ActivationPointInfo> m_points;
    std::map<std::string, int> m_layerCalls;
    std::map<std::string, int> m_opCounts;
    std::vector<signed char> m_feedsLast; // per node: 1 read by a last layer, -1 not (or being walked), 0 unknown
};

} // namespace

std::vector<ActivationPointInfo> placeActivationPoints(const OpGraph& graph, const DeploymentTarget& target)
{
    return Placement(graph, target).run();
}

std::vector<int> quantizedBy(const OpGraph& graph, const std::vector<ActivationPointInfo>& points,
                             const DeploymentTarget& target)
{
    std::vector<int> by(graph.nodes.size(), -1);
    const auto consumers = graph.consumers();
    for (size_t i = 0; i < points.size(); ++i) {
        // Inside a fused unit nothing is stored; the unit's end carries the point.
        for (int n = points[i].root; n != points[i].node;) {
            by[size_t(n)] = -2;
            n = consumers[size_t(n)].front().first;
        }
        by[size_t(points[i].node)] = int(i);
    }
    for (const auto& node : graph.nodes) {
        if (by[size_t(node.id)] == -1 && target.roleOf(node) == OpRole::PassThrough && !node.inputs.empty()) {
            by[size_t(node.id)] = by[size_t(node.inputs.front())];
        }
    }
    return by;
}

} // namespace qat::target
