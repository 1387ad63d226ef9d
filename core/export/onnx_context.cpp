// SPDX-License-Identifier: MIT
#include "export/onnx_context.h"

#include "common/error.h"
#include "model/graph_util.h"

#include <ATen/ATen.h>

namespace qat::exporter {

using torch::jit::Node;
using torch::jit::Value;

void OnnxContext::unsupported(const Node* n, const std::string& why)
{
    throw Error("ONNX export: " + std::string(n->kind().toQualString()) + " is not supported"
                + (why.empty() ? "" : " (" + why + ")") + "; supported ops: see README (export section). "
                + "The TorchScript and spec exports do not have this limit.");
}

const quant::InferableQuantizer* OnnxContext::quantizerOf(Node* fakeQuant) const
{
    const auto found = m_quantizerOf.find(fakeQuant);
    return found == m_quantizerOf.end() ? nullptr : found->second;
}

std::optional<c10::IValue> OnnxContext::staticValue(Value* v) const
{
    if (auto c = torch::jit::toIValue(v)) {
        return c;
    }
    if (v->node()->kind() == c10::prim::unchecked_cast) { // a scripted Optional[Tensor] bias as a Tensor
        return staticValue(v->node()->input(0));
    }
    if (v->node()->kind() == c10::prim::GetAttr) {
        if (auto path = model::attributePath(v)) {
            return model::attributeValue(m_module, *path);
        }
    }
    if (v->node()->kind() == c10::prim::ListConstruct) {
        std::vector<int64_t> ints;
        for (auto* in : v->node()->inputs()) {
            auto item = staticValue(in);
            if (!item || !item->isInt()) return std::nullopt;
            ints.push_back(item->toInt());
        }
        return c10::IValue(ints);
    }
    return std::nullopt;
}

std::string OnnxContext::fresh(const std::string& hint)
{
    return hint + "_" + std::to_string(m_counter++);
}

std::string OnnxContext::out(Node* n, size_t i)
{
    return m_names[n->output(i)] = fresh("t");
}

std::string OnnxContext::addInitializer(const at::Tensor& value, const std::string& hint)
{
    const auto name = fresh(hint);
    auto* t = m_graph.add_initializer();
    t->set_name(name);
    auto c = value.contiguous();
    for (auto d : c.sizes()) t->add_dims(d);
    switch (c.scalar_type()) {
    case at::kFloat: t->set_data_type(onnx::TensorProto::FLOAT); break;
    case at::kLong: t->set_data_type(onnx::TensorProto::INT64); break;
    case at::kInt: t->set_data_type(onnx::TensorProto::INT32); break;
    case at::kChar: t->set_data_type(onnx::TensorProto::INT8); break;
    case at::kByte: t->set_data_type(onnx::TensorProto::UINT8); break;
    default: c = c.to(at::kFloat); t->set_data_type(onnx::TensorProto::FLOAT);
    }
    t->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), size_t(c.nbytes())));
    return name;
}

std::string OnnxContext::scalar(double v)
{
    return addInitializer(at::tensor({float(v)}).reshape({}), "const");
}

std::string OnnxContext::ints(const std::vector<int64_t>& v)
{
    return addInitializer(at::tensor(v, at::kLong), "shape");
}

std::string OnnxContext::tensor(Value* v)
{
    if (auto found = m_names.find(v); found != m_names.end()) {
        return found->second;
    }
    auto value = staticValue(v);
    if (value && value->isTensor()) {
        // One initializer per module attribute, however often the graph reads it.
        const auto path = model::attributePath(v);
        const auto key = path ? model::joinPath(*path) : std::string();
        if (!key.empty() && m_attributes.count(key) > 0) {
            return m_names[v] = m_attributes[key];
        }
        const auto name = addInitializer(value->toTensor().detach(), key.empty() ? "tensor" : key);
        if (!key.empty()) {
            m_attributes[key] = name;
        }
        m_names[v] = name;
        return name;
    }
    if (value && (value->isDouble() || value->isInt())) {
        return m_names[v] = scalar(value->isDouble() ? value->toDouble() : double(value->toInt()));
    }
    unsupported(v->node(), "its input is computed at run time in a way the writer cannot follow, as in a scripted "
                           "model's loops over modules; the same model saved by torch.jit.trace has no such values");
}

const std::vector<int64_t>& OnnxContext::shapeOf(Node* consumer, Value* v) const
{
    const auto found = m_shapes.find(v);
    if (found == m_shapes.end()) unsupported(consumer, "the size of its input is not known");
    return found->second;
}

bool OnnxContext::holdsIntegers(Value* v) const
{
    const auto found = m_types.find(v);
    return found != m_types.end() && c10::isIntegralType(found->second, false);
}

std::string OnnxContext::intValue(Node* consumer, Value* v)
{
    // A constant gets an int64 initializer of its own (tensor() would make it a float).
    if (const auto value = staticValue(v); value && value->isInt()) {
        return addInitializer(at::tensor(value->toInt(), at::kLong).reshape({}), "int");
    }
    if (auto found = m_names.find(v); found != m_names.end()) {
        return found->second;
    }
    unsupported(consumer, "an integer argument the writer cannot follow");
}

std::string OnnxContext::intList(Node* consumer, Value* v)
{
    if (auto found = m_names.find(v); found != m_names.end()) {
        return found->second;
    }
    if (const auto value = staticValue(v); value && (value->isIntList() || value->isInt())) {
        return m_names[v] = ints(value->isInt() ? std::vector<int64_t>{value->toInt()} : value->toIntVector());
    }
    if (v->node()->kind() != c10::prim::ListConstruct) unsupported(consumer, "a list of sizes the writer cannot follow");
    // Sizes computed at run time (the batch size above all): one 1-d piece each, concatenated.
    std::vector<std::string> parts;
    for (auto* item : v->node()->inputs()) {
        const auto value = staticValue(item);
        if (value && value->isInt()) {
            parts.push_back(ints({value->toInt()}));
        } else {
            const auto piece = fresh("size");
            addNode("Unsqueeze", {intValue(consumer, item), ints({0})}, {piece});
            parts.push_back(piece);
        }
    }
    const auto name = fresh("sizes");
    setAttribute(addNode("Concat", parts, {name}), "axis", int64_t(0));
    return m_names[v] = name;
}

std::vector<std::string> OnnxContext::tensorList(Node* consumer, Value* v)
{
    if (auto found = m_lists.find(v); found != m_lists.end()) {
        return found->second;
    }
    if (v->node()->kind() != c10::prim::ListConstruct) unsupported(consumer, "a list of tensors the writer cannot follow, built in a scripted model's branches or "
                             "loops; the same model saved by torch.jit.trace has none");
    std::vector<std::string> names;
    for (auto* item : v->node()->inputs()) names.push_back(tensor(item));
    return names;
}

int64_t OnnxContext::intArg(Node* n, size_t i) const
{
    auto v = staticValue(n->input(i));
    if (!v || !v->isInt()) unsupported(n, "argument " + std::to_string(i) + " must be a constant integer");
    return v->toInt();
}

double OnnxContext::numberArg(Node* n, size_t i) const
{
    auto v = staticValue(n->input(i));
    if (!v || !(v->isDouble() || v->isInt())) unsupported(n, "argument " + std::to_string(i) + " must be a constant");
    return v->isDouble() ? v->toDouble() : double(v->toInt());
}

bool OnnxContext::boolArg(Node* n, size_t i) const
{
    auto v = staticValue(n->input(i));
    if (!v || !v->isBool()) unsupported(n, "argument " + std::to_string(i) + " must be a constant true/false");
    return v->toBool();
}

std::vector<int64_t> OnnxContext::intsArg(Node* n, size_t i) const
{
    auto v = staticValue(n->input(i));
    if (v && v->isInt()) return {v->toInt()};
    if (!v || !v->isIntList()) unsupported(n, "argument " + std::to_string(i) + " must be a constant list of integers");
    return v->toIntVector();
}

bool OnnxContext::isNone(Node* n, size_t i)
{
    return n->input(i)->type()->kind() == c10::TypeKind::NoneType;
}

onnx::NodeProto& OnnxContext::addNode(const std::string& op, const std::vector<std::string>& inputs,
                                      const std::vector<std::string>& outputs)
{
    auto* node = m_graph.add_node();
    node->set_op_type(op);
    node->set_name(fresh(op));
    for (const auto& i : inputs) node->add_input(i);
    for (const auto& o : outputs) node->add_output(o);
    return *node;
}

onnx::NodeProto& OnnxContext::unary(Node* n, const std::string& op)
{
    return addNode(op, {tensor(n->input(0))}, {out(n)});
}

std::optional<std::string> OnnxContext::quantizedOnce(const std::string& source) const
{
    if (auto done = m_quantized.find(source); done != m_quantized.end()) {
        return done->second;
    }
    return std::nullopt;
}

void setAttribute(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values)
{
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto v : values) a->add_ints(v);
}

void setAttribute(onnx::NodeProto& node, const std::string& name, int64_t value)
{
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
}

void setFloatAttribute(onnx::NodeProto& node, const std::string& name, double value)
{
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(float(value));
}

void setStringAttribute(onnx::NodeProto& node, const std::string& name, const std::string& value)
{
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
}

std::vector<int64_t> expandToRank(std::vector<int64_t> v, size_t rank)
{
    if (v.size() == 1 && rank > 1) v.assign(rank, v[0]);
    return v;
}

} // namespace qat::exporter
