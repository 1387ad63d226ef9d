// SPDX-License-Identifier: MIT
#include "model/graph_prep.h"

#include "common/error.h"
#include "model/graph_util.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_pooling.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/peephole.h>

#include <cmath>
#include <set>

namespace qat::model {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

constexpr int kMaxInlineRounds = 64;

bool hasCalls(Graph& graph)
{
    bool found = false;
    forEachNode(graph.block(), [&](Node* n) {
        found = found || n->kind() == c10::prim::CallMethod || n->kind() == c10::prim::CallFunction;
    });
    return found;
}

void inlineCompletely(Graph& graph)
{
    for (int round = 0; round < kMaxInlineRounds && hasCalls(graph); ++round) {
        torch::jit::Inline(graph);
    }
    if (hasCalls(graph)) {
        throw ModelError("forward() still calls other methods after inlining; "
                         "the model may be recursive, which QAT Workbench cannot rewrite");
    }
}

void cleanUp(std::shared_ptr<Graph>& graph)
{
    torch::jit::ConstantPropagationImmutableTypes(graph);
    torch::jit::PeepholeOptimize(graph);
    torch::jit::ConstantPooling(graph);
    torch::jit::EliminateDeadCode(graph);
}

bool holdsTensor(const c10::TypePtr& type)
{
    if (type->kind() == c10::TypeKind::TensorType) {
        return true;
    }
    for (const auto& contained : type->containedTypes()) {
        if (holdsTensor(contained)) {
            return true;
        }
    }
    return false;
}

bool isPlainValue(const c10::IValue& v)
{
    if (v.isBool() || v.isInt() || v.isDouble() || v.isString() || v.isNone() || v.isIntList()
        || v.isDoubleList() || v.isBoolList()) {
        return true;
    }
    if (v.isTuple()) {
        for (const auto& element : v.toTupleRef().elements()) {
            if (!isPlainValue(element)) {
                return false;
            }
        }
        return true;
    }
    return false;
}

// Attributes such as use_res_connect or padding_mode are fixed during QAT. Turning them
// into constants removes the untaken branch of `if self.flag:`; otherwise both branches
// stay in the inlined graph and every layer in them is found twice.
int freezePlainAttributes(Graph& graph, const torch::jit::Module& module)
{
    std::set<std::string> written;
    forEachNode(graph.block(), [&](Node* n) {
        if (n->kind() == c10::prim::SetAttr) {
            written.insert(n->s(c10::attr::name));
        }
    });
    int frozen = 0;
    for (Node* n : allNodes(graph)) {
        if (n->kind() != c10::prim::GetAttr) {
            continue;
        }
        const auto& name = n->s(c10::attr::name);
        const auto type = n->output()->type();
        if (name == "training" || written.count(name) || type->kind() == c10::TypeKind::ClassType
            || holdsTensor(type)) {
            continue;
        }
        const auto path = attributePath(n->output());
        if (!path) {
            continue;
        }
        const auto value = attributeValue(module, *path);
        if (!value || !isPlainValue(*value)) {
            continue;
        }
        torch::jit::WithInsertPoint guard(n);
        auto constant = torch::jit::tryInsertConstant(graph, *value);
        if (!constant) {
            continue;
        }
        if (!(*constant)->type()->isSubtypeOf(*type)) {
            (*constant)->node()->destroy();
            continue;
        }
        n->output()->replaceAllUsesWith(*constant);
        n->destroy();
        ++frozen;
    }
    return frozen;
}

// torch.jit.trace records BatchNorm's `training` as a constant (False when traced in
// eval mode), so running statistics would never update during QAT. Read the module's
// flag instead, as a scripted BatchNorm does.
int fixTracedBatchNorm(Graph& graph)
{
    int fixed = 0;
    for (Node* n : allNodes(graph)) {
        if (n->kind() != c10::aten::batch_norm || n->inputs().size() < 6) {
            continue;
        }
        auto* runningMean = n->input(3);
        if (n->input(5)->node()->kind() != c10::prim::Constant
            || runningMean->node()->kind() != c10::prim::GetAttr) {
            continue;
        }
        auto* owner = runningMean->node()->input(0);
        auto cls = owner->type()->cast<c10::ClassType>();
        if (!cls || !cls->hasAttribute("training")) {
            continue;
        }
        torch::jit::WithInsertPoint guard(n);
        n->replaceInput(5, graph.insertGetAttr(owner, "training"));
        ++fixed;
    }
    return fixed;
}

// A traced `_native_multi_head_attention` (traced without gradients: the fused op alone) of
// self-attention without a mask, rewritten as the composite math nn.MultiheadAttention runs
// while training: the packed projection as one linear, heads split, softmax(q k^T / sqrt(d))
// v, heads merged, the output projection. The projections become layers and every tensor
// between them gets its activation point. False when the op is used otherwise (separate
// query / key / value, a mask, the attention weights read).
bool decomposeTracedAttention(Graph& graph, Node* n)
{
    const auto embed = torch::jit::toIValue(n->input(3));
    const auto heads = torch::jit::toIValue(n->input(4));
    const auto mask = torch::jit::toIValue(n->input(9));
    if (n->input(0) != n->input(1) || n->input(1) != n->input(2) || !embed || !heads || !embed->isInt()
        || !heads->isInt() || heads->toInt() <= 0 || embed->toInt() % heads->toInt() != 0 || !mask || !mask->isNone()
        || n->output(1)->hasUses()) {
        return false;
    }
    const int64_t width = embed->toInt();
    const int64_t count = heads->toInt();
    const int64_t depth = width / count;
    Node* before = n->prev();
    torch::jit::WithInsertPoint guard(n);
    Value* x = n->input(0);
    Value* batch = graph.insert(c10::aten::size, {x, 0});
    Value* tokens = graph.insert(c10::aten::size, {x, 1});
    const auto shape = [&](std::vector<Value*> sizes) {
        return graph.insertNode(graph.createList(c10::IntType::get(), sizes))->output();
    };
    Value* split = shape({batch, tokens, graph.insertConstant(count), graph.insertConstant(depth)});
    Value* qkv = graph.insert(c10::aten::linear, {x, n->input(5), n->input(6)});
    Node* parts = graph.insertNode(graph.createListUnpack(graph.insert(c10::aten::chunk, {qkv, 3, -1}), 3));
    const auto perHead = [&](Value* t) {
        return graph.insert(c10::aten::transpose, {graph.insert(c10::aten::reshape, {t, split}), 1, 2});
    };
    Value* q = graph.insert(c10::aten::div, {perHead(parts->output(0)), std::sqrt(double(depth))});
    Value* kT = graph.insert(c10::aten::transpose, {perHead(parts->output(1)), -2, -1});
    Value* weights = graph.insert(c10::aten::softmax, {graph.insert(c10::aten::matmul, {q, kT}), -1});
    Value* context = graph.insert(c10::aten::matmul, {weights, perHead(parts->output(2))});
    Value* merged = graph.insert(c10::aten::reshape, {graph.insert(c10::aten::transpose, {context, 1, 2}),
                                                       shape({batch, tokens, graph.insertConstant(width)})});
    Value* out = graph.insert(c10::aten::linear, {merged, n->input(7), n->input(8)});
    if (n->callstack()) {
        for (Node* m = before->next(); m != n; m = m->next()) {
            m->setCallStack(*n->callstack()); // named after the attention module, as scripted
        }
    }
    n->output(0)->replaceAllUsesWith(out);
    n->destroy();
    return true;
}

// nn.MultiheadAttention and nn.TransformerEncoderLayer take a fused fast path in inference
// (no grad, eval mode) and the composite one while training: the fused op reads the projection
// weights itself and returns a tuple, so no quantizer can sit inside it, and evaluation would
// run ops other than those trained. Each such op's enclosing `if` is pinned to its other
// branch, so the composite path (linear, bmm, softmax, ...) is what trains, evaluates and
// exports. Traced without gradients the fused op is all there is: it is rewritten as its
// composite math where it can be (decomposeTracedAttention), else left and counted.
void pinCompositeAttention(Graph& graph, PreparedGraph& prepared)
{
    static const std::set<std::string> fused = {"aten::_native_multi_head_attention",
                                                "aten::_transformer_encoder_layer_fwd"};
    for (Node* n : allNodes(graph)) {
        if (fused.count(n->kind().toQualString()) == 0) {
            continue;
        }
        Node* owner = n->owningBlock()->owningNode();
        if (owner == nullptr || owner->kind() != c10::prim::If) {
            if (n->kind() == c10::aten::_native_multi_head_attention && decomposeTracedAttention(graph, n)) {
                ++prepared.decomposedAttention;
            } else {
                ++prepared.fusedAttention;
            }
            continue;
        }
        // The condition, not just this `if`: the early return's "returned" flag reads it too.
        const bool inThen = n->owningBlock() == owner->blocks()[0];
        torch::jit::WithInsertPoint guard(graph.nodes().front());
        owner->input(0)->replaceAllUsesWith(graph.insertConstant(!inThen));
        ++prepared.pinnedAttention;
    }
}

// The trainer feeds forward() one image batch; anything else cannot be trained here.
void checkSignature(const torch::jit::Method& forward)
{
    const auto& schema = forward.function().getSchema();
    const auto& arguments = schema.arguments();
    if (arguments.size() == 2 && arguments[1].type()->kind() == c10::TypeKind::TensorType) {
        const auto& returns = schema.returns();
        if (returns.size() == 1 && returns[0].type()->kind() != c10::TypeKind::TensorType) {
            // Scripted GoogLeNet and Inception v3 return (logits, aux logits, ...) named tuples.
            throw ModelError("forward() returns " + returns[0].type()->annotation_str()
                             + ", not one tensor of logits; QAT Workbench trains classifiers whose forward returns "
                               "their logits. Wrap the model in a module whose forward(x) returns them (for a tuple "
                               "such as GoogLeNet's outputs: model(x)[0]), and save that");
        }
        return;
    }
    std::string signature;
    for (size_t i = 1; i < arguments.size(); ++i) {
        signature += (i > 1 ? ", " : "") + arguments[i].name() + ": " + arguments[i].type()->annotation_str();
    }
    throw ModelError("forward(" + signature + ") takes " + std::to_string(arguments.size() - 1)
                     + " argument(s); QAT Workbench trains models whose forward takes exactly one tensor (an image "
                       "batch). Wrap the model in a module whose forward(x) calls it, and save that");
}

} // namespace

PreparedGraph prepareForwardGraph(const torch::jit::Module& module)
{
    auto method = module.find_method("forward");
    if (!method) {
        throw ModelError("the module has no forward() method");
    }
    checkSignature(*method);
    PreparedGraph prepared;
    prepared.graph = method->graph()->copy();
    inlineCompletely(*prepared.graph);
    cleanUp(prepared.graph);
    prepared.frozenAttributes = freezePlainAttributes(*prepared.graph, module);
    prepared.batchNormTrainingFixes = fixTracedBatchNorm(*prepared.graph);
    pinCompositeAttention(*prepared.graph, prepared);
    cleanUp(prepared.graph);
    return prepared;
}

} // namespace qat::model
