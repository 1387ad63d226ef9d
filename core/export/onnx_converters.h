// SPDX-License-Identifier: MIT
#pragma once
// The ONNX writer's op table: TorchScript op name -> a small function that writes the ONNX
// nodes for one node. One file per family adds its converters; converterFor() is the lookup.
// Internal to the core (torch and onnx types).

#include "export/onnx_context.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace qat::exporter {

using OnnxConverter = std::function<void(OnnxContext&, torch::jit::Node*)>;
/// Keyed by "aten::relu" (namespace and name, in-place suffix dropped: relu_ is relu).
using OnnxConverterTable = std::map<std::string, OnnxConverter>;

void addConvolutionConverters(OnnxConverterTable& table);
void addElementwiseConverters(OnnxConverterTable& table);
void addMathConverters(OnnxConverterTable& table);
void addActivationConverters(OnnxConverterTable& table);
void addShapeConverters(OnnxConverterTable& table);
void addPoolingConverters(OnnxConverterTable& table);
void addQuantizeConverters(OnnxConverterTable& table);

/// A converter writing one ONNX op on n's first input (Relu, Abs, ...).
OnnxConverter unaryConverter(const std::string& onnxOp);

/// The converter for n's op, or nullptr.
const OnnxConverter* converterFor(const torch::jit::Node* n);
/// The table's keys, for messages and the README.
std::vector<std::string> convertedOps();

} // namespace qat::exporter
