// SPDX-License-Identifier: MIT
#include "export/onnx_export.h"

#include "common/error.h"
#include "common/version.h"
#include "model/graph_util.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

namespace qat::exporter {

namespace {

using torch::jit::Node;
using torch::jit::Value;

class OnnxWriter {
public:
    OnnxWriter(const torch::jit::Module& module, onnx::GraphProto& graph) : m_module(module), m_graph(graph) {}

    int qdqPairs() const { return m_qdq; }

    void translate(torch::jit::Graph& g, const std::vector<int64_t>& inputShape, const std::vector<int64_t>& outputShape)
    {
        auto* input = m_graph.add_input();
        input->set_name("input");
        setTensorType(*input, onnx::TensorProto::FLOAT, inputShape);
        m_names[g.inputs()[1]] = "input";
        for (Node* node : g.nodes()) {
            translateNode(node);
        }
        std::vector<Value*> outputs;
        Value* returned = g.outputs()[0];
        if (returned->node()->kind() == c10::prim::TupleConstruct) {
            for (auto* v : returned->node()->inputs()) outputs.push_back(v);
        } else {
            outputs.push_back(returned);
        }
        for (size_t i = 0; i < outputs.size(); ++i) {
            const auto name = outputs.size() == 1 ? std::string("output") : "output_" + std::to_string(i);
            addNode("Identity", {tensor(outputs[i])}, {name});
            auto* out = m_graph.add_output();
            out->set_name(name);
            if (outputs.size() == 1) {
                setTensorType(*out, onnx::TensorProto::FLOAT, outputShape);
            } else {
                out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
                out->mutable_type()->mutable_tensor_type()->mutable_shape();
            }
        }
    }

private:
    static void setTensorType(onnx::ValueInfoProto& info, int type, const std::vector<int64_t>& shape)
    {
        auto* t = info.mutable_type()->mutable_tensor_type();
        t->set_elem_type(type);
        auto* s = t->mutable_shape();
        for (size_t i = 0; i < shape.size(); ++i) {
            auto* d = s->add_dim();
            if (i == 0) d->set_dim_param("batch_size");
            else d->set_dim_value(shape[i]);
        }
    }

    [[noreturn]] static void unsupported(const Node* n, const std::string& why = {})
    {
        throw Error("ONNX export: " + std::string(n->kind().toQualString()) + " is not supported"
                    + (why.empty() ? "" : " (" + why + ")") + "; supported ops: see README (export section). "
                    + "The TorchScript and spec exports do not have this limit.");
    }

    // A value known without running the model: constants, module attributes, constant lists.
    std::optional<c10::IValue> staticValue(Value* v) const
    {
        if (auto c = torch::jit::toIValue(v)) {
            return c;
        }
        if (v->node()->kind() == c10::prim::GetAttr) {
            if (auto path = model::attributePath(v)) {
                return model::attributeValue(m_module, *path);
            }
        }
        if (v->node()->kind() == c10::prim::ListConstruct) {
            c10::impl::GenericList list(c10::AnyType::get());
            std::vector<int64_t> ints;
            bool allInts = true;
            for (auto* in : v->node()->inputs()) {
                auto item = staticValue(in);
                if (!item) return std::nullopt;
                allInts = allInts && item->isInt();
                if (item->isInt()) ints.push_back(item->toInt());
            }
            if (allInts) return c10::IValue(ints);
        }
        return std::nullopt;
    }

    std::string fresh(const std::string& hint)
    {
        return hint + "_" + std::to_string(m_counter++);
    }

    std::string addInitializer(const at::Tensor& value, const std::string& hint)
    {
        const auto name = fresh(hint);
        auto* t = m_graph.add_initializer();
        t->set_name(name);
        auto c = value.contiguous();
        for (auto d : c.sizes()) t->add_dims(d);
        switch (c.scalar_type()) {
        case at::kFloat: t->set_data_type(onnx::TensorProto::FLOAT); break;
        case at::kLong: t->set_data_type(onnx::TensorProto::INT64); break;
        case at::kChar: t->set_data_type(onnx::TensorProto::INT8); break;
        case at::kByte: t->set_data_type(onnx::TensorProto::UINT8); break;
        default: c = c.to(at::kFloat); t->set_data_type(onnx::TensorProto::FLOAT);
        }
        t->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), size_t(c.nbytes())));
        return name;
    }

    std::string scalar(double v) { return addInitializer(at::tensor({float(v)}).reshape({}), "const"); }
    std::string ints(const std::vector<int64_t>& v) { return addInitializer(at::tensor(v, at::kLong), "shape"); }

    // The ONNX name of a tensor value: a computed one, or an initializer for a static tensor.
    std::string tensor(Value* v)
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
        unsupported(v->node(), "its input is computed at run time in a way the writer cannot follow");
    }

    int64_t intArg(Node* n, size_t i)
    {
        auto v = staticValue(n->input(i));
        if (!v || !v->isInt()) unsupported(n, "argument " + std::to_string(i) + " must be a constant integer");
        return v->toInt();
    }
    double numberArg(Node* n, size_t i)
    {
        auto v = staticValue(n->input(i));
        if (!v || !(v->isDouble() || v->isInt())) unsupported(n, "argument " + std::to_string(i) + " must be a constant");
        return v->isDouble() ? v->toDouble() : double(v->toInt());
    }
    std::vector<int64_t> intsArg(Node* n, size_t i)
    {
        auto v = staticValue(n->input(i));
        if (v && v->isInt()) return {v->toInt()};
        if (!v || !v->isIntList()) unsupported(n, "argument " + std::to_string(i) + " must be a constant list of integers");
        return v->toIntVector();
    }
    bool isNone(Node* n, size_t i) { return n->input(i)->type()->kind() == c10::TypeKind::NoneType; }

    onnx::NodeProto& addNode(const std::string& op, const std::vector<std::string>& inputs,
                             const std::vector<std::string>& outputs)
    {
        auto* node = m_graph.add_node();
        node->set_op_type(op);
        node->set_name(fresh(op));
        for (const auto& i : inputs) node->add_input(i);
        for (const auto& o : outputs) node->add_output(o);
        return *node;
    }
    static void attr(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values)
    {
        auto* a = node.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (auto v : values) a->add_ints(v);
    }
    static void attr(onnx::NodeProto& node, const std::string& name, int64_t value)
    {
        auto* a = node.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(value);
    }
    static void attrFloat(onnx::NodeProto& node, const std::string& name, double value)
    {
        auto* a = node.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(float(value));
    }

    // Output name for node n's first output.
    std::string out(Node* n) { return m_names[n->output(0)] = fresh("t"); }

    static std::vector<int64_t> expand(std::vector<int64_t> v, size_t rank)
    {
        if (v.size() == 1 && rank > 1) v.assign(rank, v[0]);
        return v;
    }

    void conv(Node* n, size_t weightRank, bool transposed, std::vector<int64_t> stride, std::vector<int64_t> padding,
              std::vector<int64_t> dilation, std::vector<int64_t> outputPadding, int64_t groups)
    {
        const size_t spatial = weightRank - 2;
        std::vector<std::string> inputs{tensor(n->input(0)), tensor(n->input(1))};
        if (!isNone(n, 2)) inputs.push_back(tensor(n->input(2)));
        auto& node = addNode(transposed ? "ConvTranspose" : "Conv", inputs, {out(n)});
        padding = expand(padding, spatial);
        std::vector<int64_t> pads(padding);
        pads.insert(pads.end(), padding.begin(), padding.end());
        attr(node, "strides", expand(stride, spatial));
        attr(node, "pads", pads);
        attr(node, "dilations", expand(dilation, spatial));
        attr(node, "group", groups);
        if (transposed && !outputPadding.empty()) attr(node, "output_padding", expand(outputPadding, spatial));
    }

    size_t weightRank(Node* n)
    {
        auto w = staticValue(n->input(1));
        if (!w || !w->isTensor()) {
            // The weight passes through its fake-quant node: look behind it.
            Node* q = n->input(1)->node();
            if (q->kind() == c10::aten::fake_quantize_per_channel_affine
                || q->kind() == c10::aten::fake_quantize_per_tensor_affine) {
                w = staticValue(q->input(0));
            }
        }
        if (!w || !w->isTensor()) unsupported(n, "the weight is not a module parameter");
        return size_t(w->toTensor().dim());
    }

    void fakeQuant(Node* n, bool perChannel)
    {
        at::Tensor scale;
        at::Tensor zeroPoint;
        int64_t qmin = 0;
        int64_t qmax = 0;
        int64_t axis = 0;
        if (perChannel) {
            scale = staticValue(n->input(1))->toTensor().to(at::kFloat);
            zeroPoint = staticValue(n->input(2))->toTensor().to(at::kLong);
            axis = intArg(n, 3);
            qmin = intArg(n, 4);
            qmax = intArg(n, 5);
        } else {
            scale = at::tensor({float(numberArg(n, 1))}).reshape({});
            zeroPoint = at::tensor({intArg(n, 2)}, at::kLong).reshape({});
            qmin = intArg(n, 3);
            qmax = intArg(n, 4);
        }
        const bool isUnsigned = qmin >= 0;
        if ((isUnsigned && qmax > 255) || (!isUnsigned && (qmin < -128 || qmax > 127))) {
            throw Error("ONNX export: a quantizer with the integer range [" + std::to_string(qmin) + ", "
                        + std::to_string(qmax) + "] (more than 8 bits) cannot be written as QuantizeLinear at opset "
                        + std::to_string(kOnnxOpset) + "; use at most 8 bits for an ONNX export, or export TorchScript");
        }
        std::string x = tensor(n->input(0));
        // A shared weight is quantized once (one quantizer, one Q/DQ pair) however often it is used.
        if (auto done = m_quantized.find(x); done != m_quantized.end() && staticValue(n->input(0))) {
            m_names[n->output(0)] = done->second;
            return;
        }
        const std::string source = x;
        const bool full = isUnsigned ? (qmin == 0 && qmax == 255) : (qmin == -128 && qmax == 127);
        if (!full && !perChannel) {
            // Narrower than the int8/uint8 range: clip in float so Q/DQ saturates where fake_quantize does.
            const double s = scale.item<double>();
            const double z = double(zeroPoint.item<int64_t>());
            const auto clipped = fresh("clipped");
            addNode("Clip", {x, scalar((double(qmin) - z) * s), scalar((double(qmax) - z) * s)}, {clipped});
            x = clipped;
        }
        const auto s = addInitializer(scale, "scale");
        const auto z = addInitializer(zeroPoint.to(isUnsigned ? at::kByte : at::kChar), "zero_point");
        const auto q = fresh("quantized");
        auto& qn = addNode("QuantizeLinear", {x, s, z}, {q});
        auto& dn = addNode("DequantizeLinear", {q, s, z}, {out(n)});
        m_quantized[source] = m_names[n->output(0)];
        if (perChannel) {
            attr(qn, "axis", axis);
            attr(dn, "axis", axis);
        }
        ++m_qdq;
    }

    void unary(Node* n, const std::string& op) { addNode(op, {tensor(n->input(0))}, {out(n)}); }

    void binary(Node* n, const std::string& op)
    {
        if (n->inputs().size() > 2 && numberArg(n, 2) != 1.0) unsupported(n, "alpha other than 1");
        addNode(op, {tensor(n->input(0)), tensor(n->input(1))}, {out(n)});
    }

    void translateNode(Node* n)
    {
        const auto kind = n->kind();
        const std::string name = model::normalisedOpName(n);
        if (kind == c10::prim::Constant || kind == c10::prim::GetAttr || kind == c10::prim::ListConstruct) {
            return; // static values, materialised where used
        }
        if (kind == c10::prim::TupleConstruct && n->output()->uses().size() == 1
            && n->output()->uses()[0].user->kind() == c10::prim::Return) {
            return;
        }
        if (kind == c10::aten::fake_quantize_per_tensor_affine) return fakeQuant(n, false);
        if (kind == c10::aten::fake_quantize_per_channel_affine) return fakeQuant(n, true);
        if (kind == c10::aten::conv1d || kind == c10::aten::conv2d || kind == c10::aten::conv3d) {
            if (!staticValue(n->input(4)) || !staticValue(n->input(4))->isIntList()) unsupported(n, "string padding");
            return conv(n, weightRank(n), false, intsArg(n, 3), intsArg(n, 4), intsArg(n, 5), {}, intArg(n, 6));
        }
        if (kind == c10::aten::conv_transpose1d || kind == c10::aten::conv_transpose2d
            || kind == c10::aten::conv_transpose3d) {
            return conv(n, weightRank(n), true, intsArg(n, 3), intsArg(n, 4), intsArg(n, 7), intsArg(n, 5), intArg(n, 6));
        }
        if (kind == c10::aten::_convolution) {
            const auto transposed = staticValue(n->input(6));
            if (!transposed || !transposed->isBool()) unsupported(n, "transposed flag not constant");
            return conv(n, weightRank(n), transposed->toBool(), intsArg(n, 3), intsArg(n, 4), intsArg(n, 5),
                        intsArg(n, 7), intArg(n, 8));
        }
        if (kind == c10::aten::linear) {
            const auto wt = fresh("weight_t");
            auto& t = addNode("Transpose", {tensor(n->input(1))}, {wt});
            attr(t, "perm", std::vector<int64_t>{1, 0});
            if (isNone(n, 2)) {
                addNode("MatMul", {tensor(n->input(0)), wt}, {out(n)});
            } else {
                const auto product = fresh("matmul");
                addNode("MatMul", {tensor(n->input(0)), wt}, {product});
                addNode("Add", {product, tensor(n->input(2))}, {out(n)});
            }
            return;
        }
        if (kind == c10::aten::batch_norm) {
            const auto mean = staticValue(n->input(3));
            if (!mean || !mean->isTensor()) unsupported(n, "no running statistics");
            const auto channels = mean->toTensor().size(0);
            const auto scaleName = isNone(n, 1) ? addInitializer(at::ones({channels}), "bn_scale") : tensor(n->input(1));
            const auto biasName = isNone(n, 2) ? addInitializer(at::zeros({channels}), "bn_bias") : tensor(n->input(2));
            auto& bn = addNode("BatchNormalization",
                               {tensor(n->input(0)), scaleName, biasName, tensor(n->input(3)), tensor(n->input(4))},
                               {out(n)});
            attrFloat(bn, "epsilon", numberArg(n, 7));
            return;
        }
        if (name == "relu") return unary(n, "Relu");
        if (name == "sigmoid") return unary(n, "Sigmoid");
        if (name == "tanh") return unary(n, "Tanh");
        if (name == "hardswish") return unary(n, "HardSwish");
        if (name == "dropout" || name == "contiguous" || name == "detach" || name == "feature_dropout") {
            return unary(n, "Identity");
        }
        if (name == "hardsigmoid") {
            auto& hs = addNode("HardSigmoid", {tensor(n->input(0))}, {out(n)});
            attrFloat(hs, "alpha", 1.0 / 6.0);
            attrFloat(hs, "beta", 0.5);
            return;
        }
        if (name == "relu6" || name == "hardtanh") {
            const double lo = name == "relu6" ? 0.0 : numberArg(n, 1);
            const double hi = name == "relu6" ? 6.0 : numberArg(n, 2);
            addNode("Clip", {tensor(n->input(0)), scalar(lo), scalar(hi)}, {out(n)});
            return;
        }
        if (name == "silu") {
            const auto s = fresh("sigmoid");
            addNode("Sigmoid", {tensor(n->input(0))}, {s});
            addNode("Mul", {tensor(n->input(0)), s}, {out(n)});
            return;
        }
        if (name == "gelu") {
            const auto approximate = n->inputs().size() > 1 ? staticValue(n->input(1)) : std::nullopt;
            if (approximate && approximate->isString() && approximate->toStringRef() != "none") {
                unsupported(n, "approximate='tanh'");
            }
            // 0.5 x (1 + erf(x / sqrt(2)))
            const auto x = tensor(n->input(0));
            const auto scaled = fresh("gelu"), erf = fresh("gelu"), plus = fresh("gelu"), half = fresh("gelu");
            addNode("Div", {x, scalar(std::sqrt(2.0))}, {scaled});
            addNode("Erf", {scaled}, {erf});
            addNode("Add", {erf, scalar(1.0)}, {plus});
            addNode("Mul", {x, plus}, {half});
            addNode("Mul", {half, scalar(0.5)}, {out(n)});
            return;
        }
        if (name == "add") return binary(n, "Add");
        if (name == "sub") return binary(n, "Sub");
        if (name == "mul") return binary(n, "Mul");
        if (name == "div" && n->inputs().size() == 2) return binary(n, "Div");
        if (kind == c10::aten::flatten) {
            const auto start = intArg(n, 1);
            if (intArg(n, 2) != -1 || start < 0) unsupported(n, "only flatten(x, start_dim >= 0, -1)");
            std::vector<int64_t> shape(size_t(start), 0);
            shape.push_back(-1);
            addNode("Reshape", {tensor(n->input(0)), ints(shape)}, {out(n)});
            return;
        }
        if (kind == c10::aten::mean && n->inputs().size() >= 3) {
            auto& r = addNode("ReduceMean", {tensor(n->input(0))}, {out(n)});
            attr(r, "axes", intsArg(n, 1));
            attr(r, "keepdims", int64_t(staticValue(n->input(2))->toBool() ? 1 : 0));
            return;
        }
        if (kind == c10::aten::adaptive_avg_pool1d || kind == c10::aten::adaptive_avg_pool2d
            || kind == c10::aten::adaptive_avg_pool3d) {
            for (auto s : intsArg(n, 1)) {
                if (s != 1) unsupported(n, "output size other than 1");
            }
            return unary(n, "GlobalAveragePool");
        }
        if (kind == c10::aten::max_pool1d || kind == c10::aten::max_pool2d || kind == c10::aten::max_pool3d
            || kind == c10::aten::avg_pool1d || kind == c10::aten::avg_pool2d || kind == c10::aten::avg_pool3d) {
            return pool(n, name.rfind("max", 0) == 0);
        }
        if (kind == c10::aten::unsqueeze) {
            addNode("Unsqueeze", {tensor(n->input(0)), ints({intArg(n, 1)})}, {out(n)});
            return;
        }
        if (kind == c10::aten::cat) {
            std::vector<std::string> inputs;
            if (n->input(0)->node()->kind() != c10::prim::ListConstruct) unsupported(n, "inputs not a list");
            for (auto* v : n->input(0)->node()->inputs()) inputs.push_back(tensor(v));
            auto& c = addNode("Concat", inputs, {out(n)});
            attr(c, "axis", intArg(n, 1));
            return;
        }
        unsupported(n);
    }

    void pool(Node* n, bool isMax)
    {
        const auto kernel = intsArg(n, 1);
        auto stride = intsArg(n, 2);
        if (stride.empty()) stride = kernel;
        auto padding = expand(intsArg(n, 3), kernel.size());
        std::vector<int64_t> pads(padding);
        pads.insert(pads.end(), padding.begin(), padding.end());
        auto& p = addNode(isMax ? "MaxPool" : "AveragePool", {tensor(n->input(0))}, {out(n)});
        attr(p, "kernel_shape", kernel);
        attr(p, "strides", expand(stride, kernel.size()));
        attr(p, "pads", pads);
        if (isMax) {
            attr(p, "dilations", expand(intsArg(n, 4), kernel.size()));
            attr(p, "ceil_mode", int64_t(staticValue(n->input(5))->toBool() ? 1 : 0));
        } else {
            attr(p, "ceil_mode", int64_t(staticValue(n->input(4))->toBool() ? 1 : 0));
            attr(p, "count_include_pad", int64_t(staticValue(n->input(5))->toBool() ? 1 : 0));
            if (n->inputs().size() > 6 && !isNone(n, 6)) unsupported(n, "divisor_override");
        }
    }

    const torch::jit::Module& m_module;
    onnx::GraphProto& m_graph;
    std::map<Value*, std::string> m_names;
    std::map<std::string, std::string> m_attributes; ///< attribute path -> initializer
    std::map<std::string, std::string> m_quantized;  ///< static input -> its Q/DQ output
    int m_counter = 0;
    int m_qdq = 0;
};

// An output-less prim::If whose every branch is empty or raises: an input check
// (`assert x.dim() > 2`), which ONNX cannot express and inference never fails.
bool isAssertion(Node* node)
{
    if (node->kind() != c10::prim::If || node->outputs().size() != 0) {
        return false;
    }
    for (auto* block : node->blocks()) {
        const auto nodes = block->nodes();
        const bool raises = std::any_of(nodes.begin(), nodes.end(),
                                        [](const Node* n) { return n->kind() == c10::prim::RaiseException; });
        if (nodes.begin() != nodes.end() && !raises) {
            return false;
        }
    }
    return true;
}

// Drops input checks, bottom-up: destroying an If frees the nodes of its blocks, so a
// walk must never visit them afterwards (issue #26: a list of all nodes made first did).
// Nested checks go first; an `if` left holding only what a dropped `assert` computed is
// then dead code for DCE.
void removeAssertions(torch::jit::Block* block)
{
    for (auto it = block->nodes().begin(); it != block->nodes().end();) {
        Node* node = *it;
        ++it; // before node may be destroyed
        for (auto* sub : node->blocks()) {
            removeAssertions(sub);
        }
        if (isAssertion(node)) {
            node->destroy();
        }
    }
}

} // namespace

std::vector<std::string> supportedOnnxOps()
{
    return {"conv1d/2d/3d", "conv_transpose1d/2d/3d", "_convolution", "linear", "batch_norm", "relu", "relu6",
            "hardtanh", "hardswish", "hardsigmoid", "sigmoid", "tanh", "silu", "gelu (exact)", "add", "sub", "mul",
            "div", "flatten", "mean", "adaptive_avg_pool (output 1)", "max_pool", "avg_pool", "unsqueeze", "cat",
            "dropout (eval)", "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"};
}

OnnxWriteResult writeOnnxModel(const torch::jit::Module& module, const std::vector<int64_t>& inputShape,
                               const std::vector<int64_t>& outputShape, const std::string& path)
{
    onnx::ModelProto proto;
    proto.set_ir_version(onnx::IR_VERSION);
    proto.set_producer_name("qat-workbench");
    proto.set_producer_version(appVersion());
    auto* opset = proto.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOnnxOpset);
    auto* graph = proto.mutable_graph();
    graph->set_name("qat_workbench_export");
    OnnxWriter writer(module, *graph);
    const auto g = module.get_method("forward").graph()->copy();
    removeAssertions(g->block());
    torch::jit::EliminateDeadCode(g);
    if (g->inputs().size() != 2) {
        throw Error("ONNX export: the model's forward takes " + std::to_string(g->inputs().size() - 1)
                    + " inputs; the writer handles one tensor input");
    }
    writer.translate(*g, inputShape, outputShape);
    try {
        onnx::checker::check_model(proto);
        onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                           onnx::ShapeInferenceOptions(true, 1, false));
    } catch (const std::exception& e) {
        throw Error(std::string("ONNX export: the translated model does not pass the ONNX checker (") + e.what()
                    + "); nothing was written");
    }
    const auto partial = path + ".partial";
    {
        std::ofstream out(partial, std::ios::binary);
        if (!proto.SerializeToOstream(&out) || !out.flush()) {
            std::remove(partial.c_str());
            throw Error("cannot write " + path + " (disk full or no permission?)");
        }
    }
    std::filesystem::rename(partial, path);
    return {writer.qdqPairs()};
}

} // namespace qat::exporter
