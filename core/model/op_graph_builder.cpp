// SPDX-License-Identifier: MIT
#include "model/op_graph_builder.h"

#include "model/graph_util.h"

#include <torch/csrc/jit/ir/scope.h>

#include <map>
#include <set>
#include <optional>

namespace qat::model {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

std::vector<std::vector<std::pair<int, int>>> OpGraph::consumers() const
{
    std::vector<std::vector<std::pair<int, int>>> result(nodes.size());
    for (const auto& node : nodes) {
        for (size_t i = 0; i < node.inputs.size(); ++i) {
            result.at(size_t(node.inputs[i])).emplace_back(node.id, int(i));
        }
    }
    return result;
}

std::string scopeOf(const Node* node)
{
    const auto stack = node->callstack();
    if (!stack) {
        return {};
    }
    std::string scope;
    for (const auto& entry : (*stack)->vec()) {
        const auto& info = std::get<2>(entry);
        if (!info) {
            continue; // a plain function (F.relu), not a module's method
        }
        const auto& name = info->instance_name();
        if (name == "SELF" || name.empty() || name == "INSTANCE_NAME_UNKNOWN") {
            continue; // a method calling another method of the same module
        }
        scope += (scope.empty() ? "" : ".") + name;
    }
    return scope;
}

namespace {

bool carriesTensors(const c10::TypePtr& type)
{
    if (type->kind() == c10::TypeKind::TensorType) {
        return true;
    }
    if (type->kind() == c10::TypeKind::ListType || type->kind() == c10::TypeKind::TupleType
        || type->kind() == c10::TypeKind::OptionalType) {
        for (const auto& contained : type->containedTypes()) {
            if (carriesTensors(contained)) {
                return true;
            }
        }
    }
    return false;
}

// Ops whose result carries none of their input's values: a constant of its shape, or a mask /
// index (not a tensor a quantizer could grid). They are left off the data path.
bool carriesNoValues(const std::string& op)
{
    static const std::set<std::string> ops = {
        "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "randint_like", "new_zeros",
        "new_ones", "new_full", "new_empty", "eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "logical_and",
        "logical_or", "logical_not", "logical_xor", "isnan", "isinf", "isfinite", "bernoulli", "multinomial"};
    return ops.count(op) > 0;
}

class Builder {
public:
    Builder(const std::vector<LayerSite>& sites)
    {
        for (const auto& site : sites) {
            m_layers[site.node] = {layerName(site.weightPath), site.kind};
        }
    }

    TorchOpGraph build(torch::jit::Graph& graph)
    {
        if (graph.inputs().size() > 1) {
            const int id = add("input", "", "", {}, nullptr);
            m_result.values.back() = graph.inputs()[1];
            m_ids[graph.inputs()[1]] = id;
        }
        visit(graph.block());
        std::vector<int> returned;
        for (Value* v : graph.outputs()) {
            collect(v, returned);
        }
        add("output", "", "", returned, nullptr);
        pruneDeadEnds();
        return std::move(m_result);
    }

private:
    struct LayerRef {
        std::string name;
        std::string kind;
    };

    int add(const std::string& op, const std::string& scope, const std::string& layer, std::vector<int> inputs,
            Node* node)
    {
        OpNode n;
        n.id = int(m_result.graph.nodes.size());
        n.op = op;
        n.scope = scope;
        n.layer = layer;
        n.inputs = std::move(inputs);
        m_result.graph.nodes.push_back(std::move(n));
        m_result.nodes.push_back(node);
        m_result.values.push_back(nullptr);
        return m_result.graph.nodes.back().id;
    }

    // The data nodes behind v: v itself when it is one, the elements of a list or tuple built
    // in the graph (cat's inputs), nothing for constants and attributes.
    void collect(Value* v, std::vector<int>& into)
    {
        if (auto found = m_ids.find(v); found != m_ids.end()) {
            into.push_back(found->second);
            return;
        }
        const auto kind = v->node()->kind();
        if (kind == c10::prim::ListConstruct || kind == c10::prim::TupleConstruct) {
            for (Value* element : v->node()->inputs()) {
                collect(element, into);
            }
        }
    }

    void visit(Block* block)
    {
        for (Node* n : block->nodes()) {
            if (n->kind() == c10::prim::If) {
                if (const auto taken = inferenceBranch(n)) {
                    // Only one branch runs in the deployed model (`if self.training:` paths such
                    // as stochastic depth): the other gets no quantizers.
                    Block* block = n->blocks()[*taken ? 0 : 1];
                    visit(block);
                    for (size_t i = 0; i < n->outputs().size(); ++i) {
                        if (auto found = m_ids.find(block->outputs()[i]); found != m_ids.end()) {
                            m_ids[n->outputs()[i]] = found->second;
                        }
                    }
                    continue;
                }
            }
            for (Block* sub : n->blocks()) {
                visit(sub);
            }
            handle(n);
        }
    }

    // The If's condition in the deployed model (training false), when it depends on nothing else.
    static std::optional<bool> inferenceBranch(Node* n) { return inferenceValue(n->input(0)); }

    static std::optional<bool> inferenceValue(Value* v)
    {
        Node* n = v->node();
        const auto kind = n->kind();
        if (auto constant = torch::jit::toIValue(v); constant && constant->isBool()) {
            return constant->toBool();
        }
        if (kind == c10::prim::GetAttr && n->s(c10::attr::name) == "training") {
            return false;
        }
        if (kind == c10::aten::__not__) {
            const auto in = inferenceValue(n->input(0));
            return in ? std::optional<bool>(!*in) : std::nullopt;
        }
        if (kind == c10::prim::If && n->outputs().size() == 1) { // `a or b`, `a and b`
            const auto cond = inferenceValue(n->input(0));
            if (!cond) {
                return std::nullopt;
            }
            Block* taken = n->blocks()[*cond ? 0 : 1];
            const auto index = size_t(v->offset());
            return index < taken->outputs().size() ? inferenceValue(taken->outputs()[index]) : std::nullopt;
        }
        return std::nullopt;
    }

    void handle(Node* n)
    {
        const auto kind = n->kind();
        if (kind == c10::prim::Constant || kind == c10::prim::GetAttr || kind == c10::prim::ListConstruct
            || kind == c10::prim::TupleConstruct || carriesNoValues(normalisedOpName(n))) {
            return;
        }
        std::vector<int> inputs;
        const auto layer = m_layers.find(n);
        if (layer != m_layers.end()) {
            collect(n->input(0), inputs); // the weight and bias are parameters, not data
        } else {
            for (Value* v : n->inputs()) {
                collect(v, inputs);
            }
            // An If / Loop passes on what its blocks return.
            for (Block* sub : n->blocks()) {
                for (Value* v : sub->outputs()) {
                    collect(v, inputs);
                }
            }
        }
        std::vector<Value*> outputs;
        for (Value* out : n->outputs()) {
            if (carriesTensors(out->type())) {
                outputs.push_back(out);
            }
        }
        if (inputs.empty() || outputs.empty()) {
            return; // not on the data path (shape queries, constants computed from attributes)
        }
        std::string op = normalisedOpName(n);
        if (layer != m_layers.end()) {
            op = layer->second.kind;
        } else if (kind == c10::prim::If) {
            op = "if";
        } else if (kind == c10::prim::Loop) {
            op = "loop";
        } else if (op == "hardtanh" && isRelu6(n)) {
            op = "relu6";
        }
        const int id = add(op, scopeOf(n), layer != m_layers.end() ? layer->second.name : "", inputs, n);
        m_result.graph.nodes.back().tensor =
            n->outputs().size() == 1 && outputs.front()->type()->kind() == c10::TypeKind::TensorType;
        m_result.values.back() = outputs.front();
        for (Value* out : outputs) {
            m_ids[out] = id;
        }
    }

    // Drops the nodes whose results never reach the output: a scripted model's checks that
    // build lists of tensors (attention's `why_not_fast_path` tests) carry no data on, and
    // would only add activation points nothing reads and clutter to the graph view.
    void pruneDeadEnds()
    {
        auto& nodes = m_result.graph.nodes;
        std::vector<bool> keep(nodes.size(), false);
        keep.back() = true;
        for (size_t i = nodes.size(); i-- > 0;) {
            if (keep[i] || nodes[i].op == "input") {
                keep[i] = true;
                for (int in : nodes[i].inputs) {
                    keep[size_t(in)] = true;
                }
            }
        }
        std::vector<int> newId(nodes.size(), -1);
        TorchOpGraph kept;
        for (size_t i = 0; i < nodes.size(); ++i) {
            if (!keep[i]) {
                continue;
            }
            newId[i] = int(kept.graph.nodes.size());
            auto node = std::move(nodes[i]);
            node.id = newId[i];
            for (auto& in : node.inputs) {
                in = newId[size_t(in)];
            }
            kept.graph.nodes.push_back(std::move(node));
            kept.nodes.push_back(m_result.nodes[i]);
            kept.values.push_back(m_result.values[i]);
        }
        m_result = std::move(kept);
    }

    static bool isRelu6(const Node* n)
    {
        if (n->inputs().size() < 3) {
            return false;
        }
        const auto lo = torch::jit::toIValue(n->input(1));
        const auto hi = torch::jit::toIValue(n->input(2));
        return lo && hi && lo->isScalar() && hi->isScalar() && lo->toScalar().toDouble() == 0.0
               && hi->toScalar().toDouble() == 6.0;
    }

    std::map<const Node*, LayerRef> m_layers;
    std::map<const Value*, int> m_ids;
    TorchOpGraph m_result;
};

} // namespace

TorchOpGraph buildOpGraph(torch::jit::Graph& graph, const std::vector<LayerSite>& sites)
{
    return Builder(sites).build(graph);
}

} // namespace qat::model
