// SPDX-License-Identifier: MIT
#include "model/onnx_reference.h"

#include "common/error.h"
#include "common/text.h"

#include <c10/util/Exception.h>

namespace qat::model {

namespace reference {

void fail(const OnnxNode& node, const std::string& why)
{
    throw ModelError(node.label() + ": " + why);
}

const at::Tensor& required(const OnnxNode& node, const OnnxTensors& inputs, size_t i)
{
    if (i >= inputs.size() || !inputs[i].defined()) {
        fail(node, "input " + std::to_string(i) + " is missing");
    }
    return inputs[i];
}

std::vector<int64_t> toInts(const at::Tensor& t)
{
    const auto flat = t.to(at::kLong).contiguous().reshape({-1});
    return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
}

int64_t normaliseAxis(const OnnxNode& node, int64_t axis, int64_t rank)
{
    if (axis < -rank || axis >= rank) {
        fail(node, "axis " + std::to_string(axis) + " is outside a tensor of rank " + std::to_string(rank));
    }
    return axis < 0 ? axis + rank : axis;
}

void checkElements(const OnnxNode& node, const std::vector<int64_t>& shape, const ReferenceContext& context)
{
    int64_t n = 1;
    for (auto d : shape) {
        if (d < 0) {
            fail(node, "would produce a negative dimension (" + std::to_string(d) + ")");
        }
        if (d > 0 && n > context.maxElements / d) {
            fail(node, "would produce a tensor of more than " + std::to_string(context.maxElements) + " elements");
        }
        n *= d;
    }
}

} // namespace reference

const std::map<std::string, ReferenceOp>& referenceOps()
{
    static const auto ops = [] {
        std::map<std::string, ReferenceOp> table;
        addReferenceNnOps(table);
        addReferenceTensorOps(table);
        return table;
    }();
    return ops;
}

OnnxTensors evaluateOnnxNode(const OnnxNode& node, const OnnxTensors& inputs, const ReferenceContext& context)
{
    const auto& ops = referenceOps();
    const auto op = node.domain.empty() ? ops.find(node.op) : ops.end();
    if (op == ops.end()) {
        reference::fail(node, "the op is not supported");
    }
    OnnxTensors outputs;
    try {
        outputs = op->second(node, inputs, context);
    } catch (const c10::Error& e) {
        reference::fail(node, "cannot be evaluated: " + firstLine(e.what_without_backtrace()));
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
        if (node.hasOutput(i) && (i >= outputs.size() || !outputs[i].defined())) {
            reference::fail(node, "output " + std::to_string(i) + " is not supported");
        }
        if (i < outputs.size() && outputs[i].defined()) {
            reference::checkElements(node, outputs[i].sizes().vec(), context);
        }
    }
    return outputs;
}

ReferenceRun runOnnxReference(const OnnxGraph& graph, const at::Tensor& input, const ReferenceContext& context)
{
    at::NoGradGuard noGrad;
    // Values are dropped after their last reader, so a run holds a few activations at a time.
    std::map<std::string, int> readers;
    for (const auto& node : graph.nodes) {
        for (const auto& name : node.inputs) ++readers[name];
    }
    for (const auto& name : graph.outputs) ++readers[name];
    std::map<std::string, at::Tensor> values;
    ReferenceRun run;
    const auto store = [&](const std::string& name, const at::Tensor& value) {
        run.shapes[name] = value.sizes().vec();
        if (readers[name] > 0) values[name] = value;
    };
    for (const auto& [name, tensor] : graph.initializers) store(name, tensor);
    if (graph.inputs.size() != 1) {
        throw ModelError(graph.path + ": the graph has " + std::to_string(graph.inputs.size()) + " inputs, not 1");
    }
    store(graph.inputs[0].name, input);
    for (const auto& node : graph.nodes) {
        OnnxTensors inputs;
        for (const auto& name : node.inputs) {
            if (name.empty()) {
                inputs.emplace_back();
                continue;
            }
            const auto found = values.find(name);
            if (found == values.end()) {
                reference::fail(node, "reads '" + name + "', which no earlier node or initializer defines");
            }
            inputs.push_back(found->second);
        }
        const auto outputs = evaluateOnnxNode(node, inputs, context);
        for (size_t i = 0; i < node.outputs.size() && i < outputs.size(); ++i) {
            if (node.hasOutput(i)) store(node.outputs[i], outputs[i]);
        }
        for (const auto& name : node.inputs) {
            if (!name.empty() && --readers[name] == 0) values.erase(name);
        }
    }
    for (const auto& name : graph.outputs) {
        const auto found = values.find(name);
        if (found == values.end()) {
            throw ModelError(graph.path + ": the graph output '" + name + "' is not computed by any node");
        }
        run.outputs.push_back(found->second);
    }
    return run;
}

} // namespace qat::model
