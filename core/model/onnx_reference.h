// SPDX-License-Identifier: MIT
#pragma once
// An evaluator of ONNX graphs written from the ONNX operator specification, op by op with
// plain ATen, independently of the importer's builders: the import compares the module it
// built with this evaluation, and folds constant subgraphs with it. Internal to the core.

#include "model/onnx_graph.h"

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <vector>

namespace qat::model {

/// A node's inputs or outputs; undefined tensors stand for absent optional inputs.
using OnnxTensors = std::vector<at::Tensor>;

/// What an evaluation may do: the default opset's version and the largest tensor an op may
/// create (guards against files whose attributes ask for huge outputs).
struct ReferenceContext {
    int64_t opset = 17;
    int64_t maxElements = int64_t(1) << 28;
};

/// One op of the evaluator: the node's outputs from its inputs.
using ReferenceOp = OnnxTensors (*)(const OnnxNode& node, const OnnxTensors& inputs, const ReferenceContext& context);

/// Every op the evaluator knows, by op type (default domain). Filled once by the functions below.
const std::map<std::string, ReferenceOp>& referenceOps();
void addReferenceNnOps(std::map<std::string, ReferenceOp>& ops);     ///< conv, gemm, pools, norm, resize
void addReferenceTensorOps(std::map<std::string, ReferenceOp>& ops); ///< elementwise, activations, shapes

/// One node on the given inputs. Throws qat::ModelError naming the node.
OnnxTensors evaluateOnnxNode(const OnnxNode& node, const OnnxTensors& inputs, const ReferenceContext& context);

/// The shapes of every value and the graph's outputs for one input.
struct ReferenceRun {
    std::map<std::string, std::vector<int64_t>> shapes;
    OnnxTensors outputs;
};

/// Runs the whole graph on input (bound to its only graph input). Throws qat::ModelError.
ReferenceRun runOnnxReference(const OnnxGraph& graph, const at::Tensor& input, const ReferenceContext& context);

// Helpers shared by the evaluator's op files.
namespace reference {
const at::Tensor& required(const OnnxNode& node, const OnnxTensors& inputs, size_t i);
std::vector<int64_t> toInts(const at::Tensor& t);
int64_t normaliseAxis(const OnnxNode& node, int64_t axis, int64_t rank);
void checkElements(const OnnxNode& node, const std::vector<int64_t>& shape, const ReferenceContext& context);
[[noreturn]] void fail(const OnnxNode& node, const std::string& why);
} // namespace reference

} // namespace qat::model
