// SPDX-License-Identifier: MIT
// Converters for elementwise arithmetic between tensors (and numbers), integer size
// arithmetic (channels // groups), clamping and matrix products.
#include "export/onnx_converters.h"

namespace qat::exporter {

namespace {

using torch::jit::Node;

bool isInteger(torch::jit::Value* v)
{
    return v->type()->kind() == c10::TypeKind::IntType;
}

// Sizes are int64 in ONNX: a constant next to one must be an int64 too, not a float.
bool onSizes(OnnxContext& c, Node* n)
{
    return isInteger(n->output(0)) || c.holdsIntegers(n->output(0));
}

std::string operand(OnnxContext& c, Node* n, size_t i, bool sizes)
{
    const auto value = sizes ? c.staticValue(n->input(i)) : std::nullopt;
    return value && value->isInt() ? c.intValue(n, n->input(i)) : c.tensor(n->input(i));
}

OnnxConverter binary(const std::string& op)
{
    return [op](OnnxContext& c, Node* n) {
        // add/sub(x, y, alpha): only alpha 1 is a plain Add/Sub.
        if (n->inputs().size() > 2 && c.numberArg(n, 2) != 1.0) OnnxContext::unsupported(n, "alpha other than 1");
        const bool sizes = onSizes(c, n);
        c.addNode(op, {operand(c, n, 0, sizes), operand(c, n, 1, sizes)}, {c.out(n)});
    };
}

// rsub(x, y, alpha) = y - alpha x (a trace's `window - size % window` is one on sizes)
void rsub(OnnxContext& c, Node* n)
{
    if (n->inputs().size() > 2 && c.numberArg(n, 2) != 1.0) OnnxContext::unsupported(n, "alpha other than 1");
    const bool sizes = onSizes(c, n);
    c.addNode("Sub", {operand(c, n, 1, sizes), operand(c, n, 0, sizes)}, {c.out(n)});
}

// div(a, b[, rounding_mode]). With 'trunc' or 'floor' only on sizes (a trace's
// `embed_dim // num_heads`): non-negative integers, which ONNX's integer Div truncates.
void divide(OnnxContext& c, Node* n)
{
    if (n->inputs().size() > 2 && !OnnxContext::isNone(n, 2)) {
        if (!onSizes(c, n)) OnnxContext::unsupported(n, "a rounding mode");
        c.addNode("Div", {operand(c, n, 0, true), operand(c, n, 1, true)}, {c.out(n)});
        return;
    }
    c.addNode("Div", {c.tensor(n->input(0)), c.tensor(n->input(1))}, {c.out(n)});
}

// a // b: on sizes (ints, or the 0-d integer tensors a trace makes of them; non-negative, so
// ONNX's truncating integer Div is the floor), else Floor(Div).
void floorDivide(OnnxContext& c, Node* n)
{
    if (onSizes(c, n)) {
        c.addNode("Div", {operand(c, n, 0, true), operand(c, n, 1, true)}, {c.out(n)});
        return;
    }
    const auto quotient = c.fresh("quotient");
    c.addNode("Div", {c.tensor(n->input(0)), c.tensor(n->input(1))}, {quotient});
    c.addNode("Floor", {quotient}, {c.out(n)});
}

// a % b on sizes (Swin's padding to whole windows, (w - W % w) % w): ONNX's integer Mod takes
// the divisor's sign, as Python and torch.remainder do. On float tensors it would not be the
// same rounding: refused.
void remainder(OnnxContext& c, Node* n)
{
    if (!onSizes(c, n)) OnnxContext::unsupported(n, "a remainder of float tensors");
    c.addNode("Mod", {operand(c, n, 0, true), operand(c, n, 1, true)}, {c.out(n)});
}

// clamp(x, min, max) with either bound optional; clamp_min / clamp_max.
void clamp(OnnxContext& c, Node* n)
{
    const auto bound = [&](size_t i) { return OnnxContext::isNone(n, i) ? std::string() : c.scalar(c.numberArg(n, i)); };
    c.addNode("Clip", {c.tensor(n->input(0)), bound(1), bound(2)}, {c.out(n)});
}

void clampMin(OnnxContext& c, Node* n)
{
    c.addNode("Clip", {c.tensor(n->input(0)), c.scalar(c.numberArg(n, 1))}, {c.out(n)});
}

void clampMax(OnnxContext& c, Node* n)
{
    c.addNode("Clip", {c.tensor(n->input(0)), std::string(), c.scalar(c.numberArg(n, 1))}, {c.out(n)});
}

void matmul(OnnxContext& c, Node* n)
{
    c.addNode("MatMul", {c.tensor(n->input(0)), c.tensor(n->input(1))}, {c.out(n)});
}

} // namespace

void addElementwiseConverters(OnnxConverterTable& table)
{
    table["aten::add"] = binary("Add");
    table["aten::sub"] = binary("Sub");
    table["aten::rsub"] = rsub;
    table["aten::mul"] = binary("Mul");
    table["aten::div"] = divide;
    table["aten::floordiv"] = floorDivide;
    table["aten::floor_divide"] = floorDivide;
    table["aten::remainder"] = remainder;
    table["aten::__mod__"] = remainder;
    table["aten::clamp"] = clamp;
    table["aten::clip"] = clamp;
    table["aten::clamp_min"] = clampMin;
    table["aten::clamp_max"] = clampMax;
    table["aten::matmul"] = matmul;
    table["aten::mm"] = matmul;
    table["aten::bmm"] = matmul;
}

} // namespace qat::exporter
