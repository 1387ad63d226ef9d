// SPDX-License-Identifier: MIT
#include "export/onnx_converters.h"

#include "model/graph_util.h"

namespace qat::exporter {

namespace {

// The one list of families; each file adds its own ops.
const OnnxConverterTable& table()
{
    static const OnnxConverterTable all = [] {
        OnnxConverterTable t;
        addConvolutionConverters(t);
        addElementwiseConverters(t);
        addMathConverters(t);
        addActivationConverters(t);
        addShapeConverters(t);
        addPoolingConverters(t);
        addQuantizeConverters(t);
        return t;
    }();
    return all;
}

} // namespace

OnnxConverter unaryConverter(const std::string& onnxOp)
{
    return [onnxOp](OnnxContext& c, torch::jit::Node* n) { c.unary(n, onnxOp); };
}

const OnnxConverter* converterFor(const torch::jit::Node* n)
{
    const auto key = std::string(n->kind().ns().toUnqualString()) + "::" + model::normalisedOpName(n);
    const auto found = table().find(key);
    return found == table().end() ? nullptr : &found->second;
}

std::vector<std::string> convertedOps()
{
    std::vector<std::string> ops;
    for (const auto& [name, converter] : table()) {
        ops.push_back(name);
    }
    return ops;
}

} // namespace qat::exporter
