// SPDX-License-Identifier: MIT
#pragma once
// The state of one TorchScript -> ONNX translation that every op converter shares: ONNX
// names of the values translated so far, initializers for static values, node and attribute
// helpers, and the refusal message. Internal to the core (torch and onnx types).

#include "export/onnx_export.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <onnx/onnx_pb.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qat::exporter {

/// One graph being written. Single-threaded; lives for one writeOnnxModel call.
class OnnxContext {
public:
    OnnxContext(const torch::jit::Module& module, onnx::GraphProto& graph, const OnnxWriteOptions& options)
        : m_module(module), m_graph(graph), m_options(options)
    {
    }

    onnx::GraphProto& graph() { return m_graph; }
    const OnnxWriteOptions& options() const { return m_options; }

    /// The inferable quantizer behind a fake-quant node (OnnxWriteOptions' slots, matched in
    /// graph order), or nullptr.
    void setQuantizer(torch::jit::Node* fakeQuant, const quant::InferableQuantizer* q) { m_quantizerOf[fakeQuant] = q; }
    const quant::InferableQuantizer* quantizerOf(torch::jit::Node* fakeQuant) const;

    /// Refuses node n, naming its op (and why); the caller's export then writes nothing.
    [[noreturn]] static void unsupported(const torch::jit::Node* n, const std::string& why = {});

    /// A value known without running the model: constants, module attributes, constant lists.
    std::optional<c10::IValue> staticValue(torch::jit::Value* v) const;

    /// The ONNX name of a tensor value: a computed one, or an initializer for a static tensor
    /// or number. Refuses the consumer when v is neither.
    std::string tensor(torch::jit::Value* v);
    bool known(torch::jit::Value* v) const { return m_names.count(v) > 0; }
    void bind(torch::jit::Value* v, const std::string& name) { m_names[v] = name; }
    /// A fresh name bound to output i of n.
    std::string out(torch::jit::Node* n, size_t i = 0);
    std::string fresh(const std::string& hint);

    std::string addInitializer(const at::Tensor& value, const std::string& hint);
    /// A 0-d float initializer.
    std::string scalar(double v);
    /// A 1-d int64 initializer.
    std::string ints(const std::vector<int64_t>& v);

    /// Sizes of the tensors the graph computes, from one run on a batch of two (the batch
    /// size stays free in the file; the other sizes are what the model computes).
    void setShapes(std::map<torch::jit::Value*, std::vector<int64_t>> shapes,
                   std::map<torch::jit::Value*, at::ScalarType> types)
    {
        m_shapes = std::move(shapes);
        m_types = std::move(types);
    }
    /// Whether v held integers in that run (sizes a trace turned into 0-d tensors).
    bool holdsIntegers(torch::jit::Value* v) const;
    /// v's sizes in that run; refuses consumer when v was not seen.
    const std::vector<int64_t>& shapeOf(torch::jit::Node* consumer, torch::jit::Value* v) const;

    /// The ONNX name of an integer (a 0-d int64): a constant, or a size computed at run time.
    std::string intValue(torch::jit::Node* consumer, torch::jit::Value* v);
    /// The ONNX name of an int list (1-d int64): constant, or assembled from computed sizes.
    std::string intList(torch::jit::Node* consumer, torch::jit::Value* v);
    /// The ONNX names of a list of tensors (a list literal, or the parts of a split).
    std::vector<std::string> tensorList(torch::jit::Node* consumer, torch::jit::Value* v);
    void bindList(torch::jit::Value* v, std::vector<std::string> names) { m_lists[v] = std::move(names); }

    int64_t intArg(torch::jit::Node* n, size_t i) const;
    double numberArg(torch::jit::Node* n, size_t i) const;
    bool boolArg(torch::jit::Node* n, size_t i) const;
    /// A constant int list (a single int counts as a list of one).
    std::vector<int64_t> intsArg(torch::jit::Node* n, size_t i) const;
    static bool isNone(torch::jit::Node* n, size_t i);

    onnx::NodeProto& addNode(const std::string& op, const std::vector<std::string>& inputs,
                             const std::vector<std::string>& outputs);
    /// addNode(op, {tensor(n's input 0)}, {out(n)}).
    onnx::NodeProto& unary(torch::jit::Node* n, const std::string& op);

    /// Q/DQ pairs (or custom quantizer nodes) written so far.
    int quantizers() const { return m_quantizers; }
    void countQuantizer() { ++m_quantizers; }
    /// A static tensor quantized once however often it is read: its quantized name, if any.
    std::optional<std::string> quantizedOnce(const std::string& source) const;
    void rememberQuantized(const std::string& source, const std::string& quantized) { m_quantized[source] = quantized; }

private:
    const torch::jit::Module& m_module;
    onnx::GraphProto& m_graph;
    const OnnxWriteOptions& m_options;
    std::map<torch::jit::Node*, const quant::InferableQuantizer*> m_quantizerOf;
    std::map<torch::jit::Value*, std::string> m_names;
    std::map<torch::jit::Value*, std::vector<std::string>> m_lists;
    std::map<torch::jit::Value*, std::vector<int64_t>> m_shapes;
    std::map<torch::jit::Value*, at::ScalarType> m_types;
    std::map<std::string, std::string> m_attributes; ///< attribute path -> initializer
    std::map<std::string, std::string> m_quantized;  ///< static input -> its quantized output
    int m_counter = 0;
    int m_quantizers = 0;
};

void setAttribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);
void setAttribute(onnx::NodeProto& node, const std::string& name, int64_t value);
void setFloatAttribute(onnx::NodeProto& node, const std::string& name, double value);
void setStringAttribute(onnx::NodeProto& node, const std::string& name, const std::string& value);

/// v repeated to rank entries when it holds one (PyTorch's `stride=2` for `(2, 2)`).
std::vector<int64_t> expandToRank(std::vector<int64_t> v, size_t rank);

} // namespace qat::exporter
