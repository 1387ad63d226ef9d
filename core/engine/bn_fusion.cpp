// SPDX-License-Identifier: MIT
#include "engine/bn_fusion.h"

#include "engine/quantizer_table.h"
#include "model/graph_util.h"

#include <torch/csrc/jit/ir/constants.h>

#include <vector>

namespace qat::engine {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

// A constant input's value as a new constant at the insertion point (the original may be
// defined after it: the fused node takes the BatchNorm's place, before the quantizer).
Value* copyConstant(Graph& graph, Value* v)
{
    return graph.insertConstant(*torch::jit::toIValue(v));
}

bool isBatchNorm(Node* n)
{
    return n->kind() == c10::aten::batch_norm && n->inputs().size() == 9 && n->outputs().size() == 1;
}

} // namespace

int fuseBatchNorms(const std::shared_ptr<Graph>& graphPtr)
{
    Graph& graph = *graphPtr;
    const auto quantizeOp = c10::Symbol::fromQualString(kQuantizeOp);
    const auto clampedOp = c10::Symbol::fromQualString(kQuantizeClampedOp);
    const auto fusedOp = c10::Symbol::fromQualString(kQuantizeBatchNormOp);
    std::vector<std::pair<Node*, Node*>> matches; // (quantizer, batch_norm)
    for (Node* n : model::allNodes(graph)) {
        if (n->kind() != quantizeOp && n->kind() != clampedOp) continue;
        Node* bn = n->input(0)->node();
        if (!isBatchNorm(bn) || bn->output()->uses().size() != 1 || bn->owningBlock() != n->owningBlock()) continue;
        bool constants = true;
        for (size_t i = 1; i < n->inputs().size(); ++i) {
            constants = constants && torch::jit::toIValue(n->input(i)).has_value();
        }
        if (constants) {
            matches.emplace_back(n, bn);
        }
    }
    for (const auto& [q, bn] : matches) {
        // BatchNorm's inputs are all defined before it, and only the quantizer read its output:
        // the fused node computes it where BatchNorm stood.
        torch::jit::WithInsertPoint guard(bn);
        const bool clamped = q->kind() == clampedOp;
        std::vector<Value*> inputs{bn->input(0), copyConstant(graph, q->input(1)), copyConstant(graph, q->input(2))};
        for (size_t i = 1; i <= 7; ++i) {
            inputs.push_back(bn->input(i)); // weight, bias, running_mean, running_var, training, momentum, eps
        }
        inputs.push_back(graph.insertConstant(clamped));
        inputs.push_back(clamped ? copyConstant(graph, q->input(3)) : graph.insertConstant(0.0));
        inputs.push_back(clamped ? copyConstant(graph, q->input(4)) : graph.insertConstant(c10::IValue()));
        Node* fused = graph.insertNode(graph.create(fusedOp, inputs));
        fused->output()->setType(q->output()->type());
        fused->output()->copyMetadata(q->output());
        q->output()->replaceAllUsesWith(fused->output());
        q->destroy();
        bn->destroy();
    }
    return int(matches.size());
}

void unfuseBatchNorms(const std::shared_ptr<Graph>& graphPtr)
{
    Graph& graph = *graphPtr;
    const auto fusedOp = c10::Symbol::fromQualString(kQuantizeBatchNormOp);
    for (Node* n : model::allNodes(graph)) {
        if (n->kind() != fusedOp) continue;
        torch::jit::WithInsertPoint guard(n);
        std::vector<Value*> args{n->input(0)};
        for (size_t i = 3; i <= 9; ++i) {
            args.push_back(n->input(i));
        }
        args.push_back(graph.insertConstant(false)); // cudnn_enabled
        Node* bn = graph.insertNode(graph.create(c10::aten::batch_norm, args));
        bn->output()->setType(n->input(0)->type());
        const bool clamped = torch::jit::toIValue(n->input(10))->toBool();
        std::vector<Value*> quantizeArgs{bn->output(), n->input(1), n->input(2)};
        if (clamped) {
            quantizeArgs.push_back(n->input(11));
            quantizeArgs.push_back(n->input(12));
        }
        const auto op = c10::Symbol::fromQualString(clamped ? kQuantizeClampedOp : kQuantizeOp);
        Node* q = graph.insertNode(graph.create(op, quantizeArgs));
        q->output()->setType(n->output()->type());
        n->output()->replaceAllUsesWith(q->output());
        n->destroy();
    }
}

int countBatchNorms(Graph& graph)
{
    const auto fusedOp = c10::Symbol::fromQualString(kQuantizeBatchNormOp);
    int count = 0;
    for (const Node* n : model::allNodes(graph)) {
        count += n->kind() == c10::aten::batch_norm || n->kind() == fusedOp ? 1 : 0;
    }
    return count;
}

} // namespace qat::engine
