// SPDX-License-Identifier: MIT
#include "engine/conv_fusion.h"

#include "engine/quantizer_table.h"
#include "model/graph_util.h"

#include <torch/csrc/jit/ir/constants.h>

#include <string>
#include <vector>

namespace qat::engine {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

// The fused node remembers the op it replaced, for unfusing.
const c10::Symbol kConvAttribute = c10::Symbol::attr("qat_conv");

// Spatial dimensions of aten::conv1d / conv2d / conv3d; 0 for other ops.
int convDims(const std::string& name)
{
    if (name == "aten::conv1d") return 1;
    if (name == "aten::conv2d") return 2;
    if (name == "aten::conv3d") return 3;
    return 0;
}

// The fused op's arguments after (x, table, slot) for a convolution node, or empty when the
// node is not one the fusion takes.
std::vector<Value*> convArguments(Node* conv, Graph& graph)
{
    const std::string name = conv->kind().toQualString();
    const auto inputs = conv->inputs();
    if (const int dims = convDims(name); dims > 0 && inputs.size() == 7) {
        // (input, weight, bias, stride, padding, dilation, groups); padding may be a string.
        if (inputs[4]->type()->kind() != c10::TypeKind::ListType) {
            return {};
        }
        Value* transposed = graph.insertConstant(false);
        Value* outputPadding = graph.insertConstant(std::vector<int64_t>(size_t(dims), 0));
        return {inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], transposed, outputPadding, inputs[6]};
    }
    // (input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, ...)
    if ((name == "aten::convolution" && inputs.size() == 9) || (name == "aten::_convolution" && inputs.size() == 13)) {
        return {inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], inputs[6], inputs[7], inputs[8]};
    }
    return {};
}

bool isGraphInput(Value* v)
{
    return v->node()->kind() == c10::prim::Param;
}

} // namespace

int fuseInputConvs(const std::shared_ptr<Graph>& graphPtr)
{
    Graph& graph = *graphPtr;
    const auto quantizeOp = c10::Symbol::fromQualString(kQuantizeOp);
    const auto fusedOp = c10::Symbol::fromQualString(kQuantizeConvOp);
    std::vector<std::pair<Node*, Node*>> matches; // quantize, conv
    for (Node* n : model::allNodes(graph)) {
        if (n->kind() != quantizeOp || !isGraphInput(n->input(0)) || n->output()->uses().size() != 1) {
            continue;
        }
        const auto use = n->output()->uses()[0];
        if (use.offset == 0) {
            matches.emplace_back(n, use.user);
        }
    }
    int fused = 0;
    for (const auto& [n, conv] : matches) {
        torch::jit::WithInsertPoint guard(conv);
        const auto args = convArguments(conv, graph);
        if (args.empty()) {
            continue;
        }
        std::vector<Value*> inputs{n->input(0), n->input(1), n->input(2)};
        inputs.insert(inputs.end(), args.begin(), args.end());
        Node* node = graph.insertNode(graph.create(fusedOp, inputs));
        node->s_(kConvAttribute, conv->kind().toQualString());
        node->output()->setType(conv->output()->type());
        node->output()->copyMetadata(conv->output());
        conv->output()->replaceAllUsesWith(node->output());
        conv->destroy();
        n->destroy();
        ++fused;
    }
    return fused;
}

void unfuseInputConvs(const std::shared_ptr<Graph>& graphPtr)
{
    Graph& graph = *graphPtr;
    const auto quantizeOp = c10::Symbol::fromQualString(kQuantizeOp);
    const auto fusedOp = c10::Symbol::fromQualString(kQuantizeConvOp);
    for (Node* n : model::allNodes(graph)) {
        if (n->kind() != fusedOp) continue;
        torch::jit::WithInsertPoint guard(n);
        Node* q = graph.insertNode(graph.create(quantizeOp, {n->input(0), n->input(1), n->input(2)}));
        q->output()->setType(c10::TensorType::get());
        const auto kind = c10::Symbol::fromQualString(n->s(kConvAttribute));
        const auto a = n->inputs();
        // a: x, table, slot, weight, bias, stride, padding, dilation, transposed, output_padding, groups
        std::vector<Value*> inputs{q->output(), a[3], a[4], a[5], a[6], a[7]};
        if (convDims(kind.toQualString()) > 0) {
            inputs.push_back(a[10]);
        } else {
            inputs.insert(inputs.end(), {a[8], a[9], a[10]});
            if (kind.toQualString() == std::string("aten::_convolution")) {
                // benchmark, deterministic, cudnn_enabled, allow_tf32: a traced model's values on CPU
                for (const bool flag : {false, false, true, true}) {
                    inputs.push_back(graph.insertConstant(flag));
                }
            }
        }
        Node* conv = graph.insertNode(graph.create(kind, inputs));
        conv->output()->setType(n->output()->type());
        n->output()->replaceAllUsesWith(conv->output());
        n->destroy();
    }
}

} // namespace qat::engine
