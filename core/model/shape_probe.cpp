// SPDX-License-Identifier: MIT
#include "model/shape_probe.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

namespace qat::model {

std::vector<std::vector<int64_t>> usualInputShapes()
{
    std::vector<std::vector<int64_t>> shapes;
    for (int64_t s : {28, 32, 224, 64, 96, 112, 128, 160, 192, 256, 299, 384}) {
        for (int64_t c : {1, 3}) {
            shapes.push_back({1, c, s, s});
        }
    }
    return shapes;
}

bool probeShapes(torch::jit::Module& module, torch::jit::Graph& graph, TorchOpGraph& ops,
                 const std::vector<int64_t>& inputShape)
{
    if (graph.inputs().size() != 2) {
        return false; // forward(self, x) only: that is what training feeds
    }
    // The values to observe become extra graph outputs for one run, then are removed again.
    const size_t firstExtra = graph.outputs().size();
    std::vector<size_t> observed; // op node index of each extra output
    for (size_t i = 0; i < ops.values.size(); ++i) {
        torch::jit::Value* v = ops.values[i];
        if (!v || ops.graph.nodes[i].op == "output") {
            continue;
        }
        const bool topLevel = v->node()->kind() == c10::prim::Param || v->node()->owningBlock() == graph.block();
        if (topLevel && v->type()->kind() == c10::TypeKind::TensorType) {
            graph.registerOutput(v);
            observed.push_back(i);
        }
    }
    std::vector<c10::IValue> stack;
    bool ok = true;
    try {
        at::NoGradGuard noGrad;
        module.eval();
        // A graph executor works on its own copy of the graph.
        torch::jit::GraphExecutor executor(graph.copy(), "shape_probe");
        stack = {module._ivalue(), at::zeros(inputShape)};
        executor.run(stack);
    } catch (const std::exception&) {
        ok = false;
    }
    while (graph.outputs().size() > firstExtra) {
        graph.eraseOutput(graph.outputs().size() - 1);
    }
    if (!ok || stack.size() != firstExtra + observed.size()) {
        return false;
    }
    for (size_t k = 0; k < observed.size(); ++k) {
        const auto& value = stack[firstExtra + k];
        if (value.isTensor()) {
            const auto sizes = value.toTensor().sizes();
            ops.graph.nodes[observed[k]].shape.assign(sizes.begin(), sizes.end());
        }
    }
    // The output node shows what forward returns when it is one tensor.
    auto& output = ops.graph.nodes.back();
    if (output.inputs.size() == 1) {
        output.shape = ops.graph.nodes[size_t(output.inputs.front())].shape;
    }
    return true;
}

} // namespace qat::model
