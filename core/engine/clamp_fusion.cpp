// SPDX-License-Identifier: MIT
#include "engine/clamp_fusion.h"

#include "engine/quantizer_table.h"
#include "model/graph_util.h"

#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/ir/constants.h>

#include <optional>

namespace qat::engine {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

struct Bounds {
    double low = 0;
    std::optional<double> high;
};

std::optional<double> constantNumber(Value* v)
{
    const auto iv = torch::jit::toIValue(v);
    if (!iv) return std::nullopt;
    if (iv->isDouble()) return iv->toDouble();
    if (iv->isInt()) return double(iv->toInt());
    return std::nullopt;
}

// The clamp a node applies, when it is one the kernels fuse.
std::optional<Bounds> boundsOf(Node* n)
{
    const std::string name = n->kind().toQualString();
    if (name == "aten::relu" || name == "aten::relu_") {
        return Bounds{};
    }
    if (name == "aten::relu6" || name == "aten::relu6_") {
        return Bounds{0.0, 6.0};
    }
    if ((name == "aten::hardtanh" || name == "aten::hardtanh_") && n->inputs().size() == 3) {
        const auto lo = constantNumber(n->input(1));
        const auto hi = constantNumber(n->input(2));
        if (lo && hi && *lo < *hi) {
            return Bounds{*lo, *hi};
        }
    }
    return std::nullopt;
}

bool inPlace(Node* n)
{
    const std::string name = n->kind().toUnqualString();
    return !name.empty() && name.back() == '_';
}

// An in-place clamp changed its input's memory: fusing it is only right when nothing but the
// quantizer reads that memory afterwards.
bool nothingReadsAfter(Node* clamp, Node* quantize, Graph& graph, torch::jit::AliasDb& aliases)
{
    Value* input = clamp->input(0);
    for (Node* n : model::allNodes(graph)) {
        if (n == clamp || n == quantize || !n->isAfter(clamp)) {
            continue;
        }
        for (Value* v : n->inputs()) {
            if (aliases.mayAlias(v, input)) {
                return false;
            }
        }
    }
    for (Value* v : graph.outputs()) {
        if (aliases.mayAlias(v, input)) {
            return false;
        }
    }
    return true;
}

} // namespace

int fuseInputClamps(const std::shared_ptr<Graph>& graphPtr)
{
    Graph& graph = *graphPtr;
    const auto quantizeOp = c10::Symbol::fromQualString(kQuantizeOp);
    const auto fusedOp = c10::Symbol::fromQualString(kQuantizeClampedOp);
    struct Match {
        Node* quantize;
        Node* clamp;
        Bounds bounds;
    };
    std::vector<Match> matches;
    {
        torch::jit::AliasDb aliases(graphPtr);
        for (Node* n : model::allNodes(graph)) {
            if (n->kind() != quantizeOp) continue;
            Value* v = n->input(0);
            Node* clamp = v->node();
            const auto bounds = boundsOf(clamp);
            if (!bounds || v->uses().size() != 1) continue;
            if (inPlace(clamp) && !nothingReadsAfter(clamp, n, graph, aliases)) continue;
            matches.push_back({n, clamp, *bounds});
        }
    }
    for (const auto& m : matches) {
        torch::jit::WithInsertPoint guard(m.quantize);
        const auto high = m.bounds.high ? graph.insertConstant(*m.bounds.high) : graph.insertConstant(c10::IValue());
        Node* fused = graph.insertNode(graph.create(fusedOp, {m.clamp->input(0), m.quantize->input(1),
                                                              m.quantize->input(2), graph.insertConstant(m.bounds.low),
                                                              high}));
        fused->output()->setType(m.quantize->output()->type());
        fused->output()->copyMetadata(m.quantize->output());
        m.quantize->output()->replaceAllUsesWith(fused->output());
        m.quantize->destroy();
        m.clamp->destroy();
    }
    return int(matches.size());
}

void unfuseInputClamps(const std::shared_ptr<Graph>& graphPtr)
{
    Graph& graph = *graphPtr;
    const auto quantizeOp = c10::Symbol::fromQualString(kQuantizeOp);
    const auto fusedOp = c10::Symbol::fromQualString(kQuantizeClampedOp);
    for (Node* n : model::allNodes(graph)) {
        if (n->kind() != fusedOp) continue;
        torch::jit::WithInsertPoint guard(n);
        const auto high = constantNumber(n->input(4));
        Value* clamped = high ? graph.insert(c10::aten::hardtanh, {n->input(0), n->input(3), n->input(4)})
                              : graph.insert(c10::aten::relu, {n->input(0)});
        Node* q = graph.insertNode(graph.create(quantizeOp, {clamped, n->input(1), n->input(2)}));
        q->output()->setType(n->output()->type());
        n->output()->replaceAllUsesWith(q->output());
        n->destroy();
    }
}

} // namespace qat::engine
