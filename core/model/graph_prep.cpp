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

#include <set>

namespace qat::model {

using torch::jit::Graph;
using torch::jit::Node;

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

// The trainer feeds forward() one image batch; anything else cannot be trained here.
void checkSignature(const torch::jit::Method& forward)
{
    const auto& arguments = forward.function().getSchema().arguments();
    if (arguments.size() == 2 && arguments[1].type()->kind() == c10::TypeKind::TensorType) {
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
    cleanUp(prepared.graph);
    return prepared;
}

} // namespace qat::model
