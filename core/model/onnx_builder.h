// SPDX-License-Identifier: MIT
#pragma once
// Builds a TorchScript module from an ONNX graph: the state shared by the op builders (what
// each ONNX value became, the module tree that holds the parameters, the graph being
// written) and the table of op builders. Internal to the core.

#include "model/onnx_graph.h"
#include "model/onnx_module_tree.h"
#include "model/onnx_reference.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qat::model {

/// What an ONNX value became while building.
struct BuiltValue {
    enum class Kind {
        Tensor = 1, ///< computed by the graph: `tensor`
        Static,     ///< known at import (initializer, Constant, folded): `value`
        Ints,       ///< a shape computation (rank 0 or 1, int64) with batch-dependent elements
    };
    Kind kind = Kind::Tensor;
    torch::jit::Value* tensor = nullptr;
    at::Tensor value;
    std::vector<std::optional<int64_t>> ints; ///< nullopt where the element follows the batch size
    bool scalar = false;                      ///< Ints of rank 0
};

/// Every value's shape in two reference runs, at batch sizes 2 and 3: the dimensions that
/// differ follow the batch; all others are fixed, and the graph may treat them as constants.
struct ShapeProbe {
    std::map<std::string, std::vector<int64_t>> atTwo;
    std::map<std::string, std::vector<int64_t>> atThree;
};

class OnnxBuilder;

/// One op builder: adds the ATen ops for node to the graph (or folds it).
using OpBuilder = void (*)(OnnxBuilder& b, const OnnxNode& node);

/// The table of op builders, by op type ("qatwb." prefix for the importer's own fused ops).
const std::map<std::string, OpBuilder>& opBuilders();
void addConvolutionBuilders(std::map<std::string, OpBuilder>& table); ///< Conv, ConvTranspose, Gemm, MatMul, BN
void addElementwiseBuilders(std::map<std::string, OpBuilder>& table); ///< Add, Mul, Erf, ...
void addActivationBuilders(std::map<std::string, OpBuilder>& table);  ///< Relu, Clip, Softmax, GELU, ...
void addShapeBuilders(std::map<std::string, OpBuilder>& table);       ///< Reshape, Concat, Slice, Pad, ...
void addPoolingBuilders(std::map<std::string, OpBuilder>& table);     ///< pools, ReduceMean, Resize

/// The op type a builder is registered under ("Conv", "qatwb.Gelu").
std::string builderKey(const OnnxNode& node);

/// The state of one import. One thread.
class OnnxBuilder {
public:
    OnnxBuilder(const OnnxGraph& graph, const ShapeProbe& probe, OnnxModuleTree& tree, torch::jit::Graph& g,
                const ReferenceContext& context);

    // Values.
    bool has(const OnnxNode& n, size_t i) const { return n.hasInput(i); }
    const BuiltValue& value(const OnnxNode& n, size_t i) const;
    bool isStatic(const OnnxNode& n, size_t i) const;
    /// A computed tensor; a static input becomes a graph constant or buffer.
    torch::jit::Value* tensor(const OnnxNode& n, size_t i);
    /// A static input's value. Throws (naming the node) when it is computed by the graph.
    at::Tensor constant(const OnnxNode& n, size_t i, const std::string& what) const;
    std::vector<int64_t> constantInts(const OnnxNode& n, size_t i, const std::string& what) const;
    /// A static input as a parameter (or buffer) of the module: kept under the ONNX name when
    /// PyTorch-like, else under the node's module path and `role` ("weight", "bias", ...).
    /// `variant` names a transformed copy ("transposed"); `stored` is what is registered.
    torch::jit::Value* parameter(const OnnxNode& n, size_t i, const std::string& role, TensorKind kind,
                                 const std::string& moduleClass = {}, const std::string& variant = {},
                                 const at::Tensor& stored = {});
    /// The `training` flag of the module that holds the given registered tensor's path.
    torch::jit::Value* trainingFlagOf(torch::jit::Value* registered);

    void setTensor(const OnnxNode& n, size_t output, torch::jit::Value* v);
    void setStatic(const OnnxNode& n, size_t output, const at::Tensor& v);
    void setInts(const OnnxNode& n, size_t output, std::vector<std::optional<int64_t>> ints, bool scalar);
    /// Binds an ONNX value name directly (graph input, absorbed transposes).
    void bind(const std::string& name, BuiltValue value);

    // The graph.
    torch::jit::Graph& graph() { return m_g; }
    torch::jit::Value* emit(c10::Symbol op, std::vector<torch::jit::NamedValue> args,
                            std::vector<torch::jit::NamedValue> kwargs = {});
    torch::jit::Value* none();

    // Shapes from the probe.
    std::vector<int64_t> shape(const std::string& name) const;
    std::vector<bool> batchDims(const std::string& name) const;
    int64_t rank(const std::string& name) const { return int64_t(shape(name).size()); }
    /// Spatial sizes (dims 2..) of an input, which must not follow the batch.
    std::vector<int64_t> spatialSizes(const OnnxNode& n, size_t i) const;

    int64_t opset() const { return m_context.opset; }
    const ReferenceContext& context() const { return m_context; }
    const OnnxGraph& onnx() const { return m_onnx; }
    std::vector<std::string> modulePath(const OnnxNode& n) const;
    [[noreturn]] void fail(const OnnxNode& n, const std::string& why) const;

    /// Evaluates node with the reference ops when every input is known at import.
    bool tryFold(const OnnxNode& n);

private:
    const OnnxGraph& m_onnx;
    const ShapeProbe& m_probe;
    OnnxModuleTree& m_tree;
    torch::jit::Graph& m_g;
    ReferenceContext m_context;
    std::map<std::string, BuiltValue> m_values;
    std::map<std::string, torch::jit::Value*> m_registered; ///< ONNX name + variant -> GetAttr
    mutable std::map<int, std::vector<std::string>> m_paths; ///< node index -> module path
};

} // namespace qat::model
