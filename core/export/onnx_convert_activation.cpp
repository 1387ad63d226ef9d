// SPDX-License-Identifier: MIT
// Converters for activation functions.
#include "export/onnx_converters.h"

#include <cmath>

namespace qat::exporter {

namespace {

using torch::jit::Node;

void hardsigmoid(OnnxContext& c, Node* n)
{
    auto& hs = c.unary(n, "HardSigmoid");
    setFloatAttribute(hs, "alpha", 1.0 / 6.0);
    setFloatAttribute(hs, "beta", 0.5);
}

void relu6(OnnxContext& c, Node* n)
{
    c.addNode("Clip", {c.tensor(n->input(0)), c.scalar(0.0), c.scalar(6.0)}, {c.out(n)});
}

void hardtanh(OnnxContext& c, Node* n)
{
    c.addNode("Clip", {c.tensor(n->input(0)), c.scalar(c.numberArg(n, 1)), c.scalar(c.numberArg(n, 2))}, {c.out(n)});
}

void silu(OnnxContext& c, Node* n)
{
    const auto s = c.fresh("sigmoid");
    c.addNode("Sigmoid", {c.tensor(n->input(0))}, {s});
    c.addNode("Mul", {c.tensor(n->input(0)), s}, {c.out(n)});
}

// gelu(x, approximate): exact, 0.5 x (1 + erf(x / sqrt(2))), or the tanh approximation,
// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), written op by op (ONNX's Gelu is opset 20).
void gelu(OnnxContext& c, Node* n)
{
    const auto approximate = n->inputs().size() > 1 ? c.staticValue(n->input(1)) : std::nullopt;
    const bool tanhForm = approximate && approximate->isString() && approximate->toStringRef() == "tanh";
    if (approximate && approximate->isString() && !tanhForm && approximate->toStringRef() != "none") {
        OnnxContext::unsupported(n, "approximate='" + approximate->toStringRef() + "'");
    }
    const auto x = c.tensor(n->input(0));
    const auto inner = c.fresh("gelu"), squashed = c.fresh("gelu"), plus = c.fresh("gelu"), half = c.fresh("gelu");
    if (tanhForm) {
        const auto square = c.fresh("gelu"), cube = c.fresh("gelu"), cubic = c.fresh("gelu"), sum = c.fresh("gelu");
        c.addNode("Mul", {x, x}, {square});
        c.addNode("Mul", {square, x}, {cube});
        c.addNode("Mul", {cube, c.scalar(0.044715)}, {cubic});
        c.addNode("Add", {x, cubic}, {sum});
        c.addNode("Mul", {sum, c.scalar(std::sqrt(2.0 / M_PI))}, {inner});
        c.addNode("Tanh", {inner}, {squashed});
    } else {
        c.addNode("Div", {x, c.scalar(std::sqrt(2.0))}, {inner});
        c.addNode("Erf", {inner}, {squashed});
    }
    c.addNode("Add", {squashed, c.scalar(1.0)}, {plus});
    c.addNode("Mul", {x, plus}, {half});
    c.addNode("Mul", {half, c.scalar(0.5)}, {c.out(n)});
}

// prelu(x, slope): torch's slope is one value or one per channel (dim 1); ONNX broadcasts it
// from the trailing dimensions, so a per-channel slope is written as [C, 1, ..., 1].
void prelu(OnnxContext& c, Node* n)
{
    const auto rank = c.shapeOf(n, n->input(0)).size();
    const auto slope = c.staticValue(n->input(1));
    if (!slope || !slope->isTensor()) OnnxContext::unsupported(n, "a slope computed at run time");
    const auto weights = slope->toTensor().detach().to(at::kFloat).contiguous();
    std::vector<int64_t> shape(rank >= 2 ? rank - 1 : 1, 1);
    if (weights.numel() > 1) shape.front() = weights.numel();
    c.addNode("PRelu", {c.tensor(n->input(0)), c.addInitializer(weights.reshape(shape), "prelu_slope")}, {c.out(n)});
}

// softmax / log_softmax(x, dim, dtype): ONNX's (opset 13+) normalise along one axis, as torch does.
OnnxConverter softmax(const std::string& op)
{
    return [op](OnnxContext& c, Node* n) {
        if (n->inputs().size() > 2 && !OnnxContext::isNone(n, 2)) OnnxContext::unsupported(n, "a dtype argument");
        setAttribute(c.unary(n, op), "axis", c.intArg(n, 1));
    };
}

void leakyRelu(OnnxContext& c, Node* n)
{
    setFloatAttribute(c.unary(n, "LeakyRelu"), "alpha", n->inputs().size() > 1 ? c.numberArg(n, 1) : 0.01);
}

} // namespace

void addActivationConverters(OnnxConverterTable& table)
{
    table["aten::relu"] = unaryConverter("Relu");
    table["aten::sigmoid"] = unaryConverter("Sigmoid");
    table["aten::tanh"] = unaryConverter("Tanh");
    table["aten::hardswish"] = unaryConverter("HardSwish");
    table["aten::hardsigmoid"] = hardsigmoid;
    table["aten::relu6"] = relu6;
    table["aten::hardtanh"] = hardtanh;
    table["aten::silu"] = silu;
    table["aten::gelu"] = gelu;
    table["aten::softmax"] = softmax("Softmax");
    table["aten::log_softmax"] = softmax("LogSoftmax");
    table["aten::leaky_relu"] = leakyRelu;
    table["aten::prelu"] = prelu;
}

} // namespace qat::exporter
