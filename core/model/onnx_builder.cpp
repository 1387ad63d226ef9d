// SPDX-License-Identifier: MIT
#include "model/onnx_builder.h"

#include "common/error.h"
#include "model/onnx_names.h"

#include <torch/csrc/jit/ir/constants.h>

namespace qat::model {

const std::map<std::string, OpBuilder>& opBuilders()
{
    static const auto table = [] {
        std::map<std::string, OpBuilder> t;
        addConvolutionBuilders(t);
        addElementwiseBuilders(t);
        addActivationBuilders(t);
        addShapeBuilders(t);
        addPoolingBuilders(t);
        return t;
    }();
    return table;
}

std::string builderKey(const OnnxNode& node)
{
    return node.domain.empty() ? node.op : node.domain + "." + node.op;
}

OnnxBuilder::OnnxBuilder(const OnnxGraph& graph, const ShapeProbe& probe, OnnxModuleTree& tree, torch::jit::Graph& g,
                         const ReferenceContext& context)
    : m_onnx(graph), m_probe(probe), m_tree(tree), m_g(g), m_context(context)
{
    for (const auto& [name, tensor] : graph.initializers) {
        BuiltValue v;
        v.kind = BuiltValue::Kind::Static;
        v.value = tensor;
        m_values[name] = v;
    }
}

void OnnxBuilder::fail(const OnnxNode& n, const std::string& why) const
{
    throw ModelError(n.label() + ": " + why);
}

const BuiltValue& OnnxBuilder::value(const OnnxNode& n, size_t i) const
{
    if (!n.hasInput(i)) {
        fail(n, "input " + std::to_string(i) + " is missing");
    }
    const auto found = m_values.find(n.inputs[i]);
    if (found == m_values.end()) {
        fail(n, "reads '" + n.inputs[i] + "', which no earlier node or initializer defines");
    }
    return found->second;
}

bool OnnxBuilder::isStatic(const OnnxNode& n, size_t i) const
{
    return n.hasInput(i) && value(n, i).kind == BuiltValue::Kind::Static;
}

at::Tensor OnnxBuilder::constant(const OnnxNode& n, size_t i, const std::string& what) const
{
    const auto& v = value(n, i);
    if (v.kind != BuiltValue::Kind::Static) {
        fail(n, what + " (input " + std::to_string(i) + ") is computed by the graph; the importer needs it to be a "
                       "constant (an initializer or Constant)");
    }
    return v.value;
}

std::vector<int64_t> OnnxBuilder::constantInts(const OnnxNode& n, size_t i, const std::string& what) const
{
    const auto t = constant(n, i, what);
    if (t.is_floating_point() || t.dim() > 1) {
        fail(n, what + " (input " + std::to_string(i) + ") should be a list of integers");
    }
    return reference::toInts(t);
}

torch::jit::Value* OnnxBuilder::tensor(const OnnxNode& n, size_t i)
{
    const auto& v = value(n, i);
    switch (v.kind) {
    case BuiltValue::Kind::Tensor: return v.tensor;
    case BuiltValue::Kind::Static:
        if (v.value.is_floating_point()) {
            return parameter(n, i, "constant", TensorKind::Buffer);
        }
        return m_g.insertConstant(v.value);
    case BuiltValue::Kind::Ints: break;
    }
    fail(n, "uses a size that follows the batch size as tensor data, which the importer does not follow");
}

torch::jit::Value* OnnxBuilder::parameter(const OnnxNode& n, size_t i, const std::string& role, TensorKind kind,
                                          const std::string& moduleClass, const std::string& variant,
                                          const at::Tensor& stored)
{
    const auto value = constant(n, i, role);
    const auto& name = n.inputs[i];
    const auto key = variant.empty() ? name : name + "#" + variant;
    if (auto found = m_registered.find(key); found != m_registered.end()) {
        return found->second;
    }
    auto path = isPyTorchLikeName(name) ? splitDottedName(name) : modulePath(n);
    if (!isPyTorchLikeName(name)) {
        path.push_back(sanitiseNamePart(role));
    }
    const auto used = m_tree.add(path, stored.defined() ? stored : value, kind, moduleClass);
    auto* attr = m_tree.getAttr(m_g, used);
    m_registered[key] = attr;
    return attr;
}

torch::jit::Value* OnnxBuilder::trainingFlagOf(torch::jit::Value* registered)
{
    return m_g.insertGetAttr(registered->node()->input(0), "training");
}

void OnnxBuilder::setTensor(const OnnxNode& n, size_t output, torch::jit::Value* v)
{
    if (!n.hasOutput(output)) {
        return;
    }
    const auto& name = n.outputs[output];
    BuiltValue built;
    built.tensor = v;
    m_values[name] = built;
    if (v->node()->kind() != c10::prim::GetAttr && v->node()->kind() != c10::prim::Param) {
        bool digits = !name.empty();
        for (char c : name) digits = digits && std::isdigit(static_cast<unsigned char>(c));
        v->setDebugName(digits ? "v" + name : name);
    }
}

void OnnxBuilder::setStatic(const OnnxNode& n, size_t output, const at::Tensor& v)
{
    if (!n.hasOutput(output)) {
        return;
    }
    BuiltValue built;
    built.kind = BuiltValue::Kind::Static;
    built.value = v;
    m_values[n.outputs[output]] = built;
}

void OnnxBuilder::setInts(const OnnxNode& n, size_t output, std::vector<std::optional<int64_t>> ints, bool scalar)
{
    bool known = true;
    for (const auto& i : ints) known = known && i.has_value();
    if (known) {
        std::vector<int64_t> values;
        for (const auto& i : ints) values.push_back(*i);
        auto t = at::tensor(values, at::kLong);
        return setStatic(n, output, scalar ? t.reshape({}) : t);
    }
    if (!n.hasOutput(output)) {
        return;
    }
    BuiltValue built;
    built.kind = BuiltValue::Kind::Ints;
    built.ints = std::move(ints);
    built.scalar = scalar;
    m_values[n.outputs[output]] = built;
}

void OnnxBuilder::bind(const std::string& name, BuiltValue value)
{
    m_values[name] = std::move(value);
}

torch::jit::Value* OnnxBuilder::emit(c10::Symbol op, std::vector<torch::jit::NamedValue> args,
                                     std::vector<torch::jit::NamedValue> kwargs)
{
    return m_g.insert(op, args, kwargs);
}

torch::jit::Value* OnnxBuilder::none()
{
    return m_g.insertConstant(c10::IValue());
}

std::vector<int64_t> OnnxBuilder::shape(const std::string& name) const
{
    const auto found = m_probe.atTwo.find(name);
    if (found == m_probe.atTwo.end()) {
        throw ModelError(m_onnx.path + ": no shape is known for '" + name + "'");
    }
    return found->second;
}

std::vector<bool> OnnxBuilder::batchDims(const std::string& name) const
{
    const auto two = shape(name);
    const auto three = m_probe.atThree.find(name);
    std::vector<bool> follows(two.size(), false);
    for (size_t d = 0; d < two.size(); ++d) {
        follows[d] = three == m_probe.atThree.end() || three->second.size() != two.size() || three->second[d] != two[d];
    }
    return follows;
}

std::vector<int64_t> OnnxBuilder::spatialSizes(const OnnxNode& n, size_t i) const
{
    const auto sizes = shape(n.inputs.at(i));
    const auto follows = batchDims(n.inputs.at(i));
    if (sizes.size() < 3) {
        fail(n, "expects an input of rank 3 to 5 ([N, C, spatial...]), got rank " + std::to_string(sizes.size()));
    }
    for (size_t d = 2; d < sizes.size(); ++d) {
        if (follows[d]) fail(n, "a spatial size follows the batch size, which the importer does not support");
    }
    return std::vector<int64_t>(sizes.begin() + 2, sizes.end());
}

std::vector<std::string> OnnxBuilder::modulePath(const OnnxNode& n) const
{
    auto found = m_paths.find(n.index);
    if (found == m_paths.end()) {
        const auto fallback = n.op + "_" + std::to_string(n.index);
        found = m_paths.emplace(n.index, modulePathOfNode(n.name, fallback)).first;
    }
    return found->second;
}

bool OnnxBuilder::tryFold(const OnnxNode& n)
{
    if (!n.domain.empty() || referenceOps().count(n.op) == 0) {
        return false;
    }
    OnnxTensors inputs;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (!n.hasInput(i)) {
            inputs.emplace_back();
            continue;
        }
        if (!isStatic(n, i)) {
            return false;
        }
        inputs.push_back(value(n, i).value);
    }
    const auto outputs = evaluateOnnxNode(n, inputs, m_context);
    for (size_t o = 0; o < outputs.size(); ++o) {
        setStatic(n, o, outputs[o]);
    }
    return true;
}

} // namespace qat::model
