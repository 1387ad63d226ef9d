// SPDX-License-Identifier: MIT
// Converters for elementwise math beyond the four operations: unary functions, powers,
// elementwise extremes, comparisons and selection (what imported ONNX models use: Abs, Exp,
// Sqrt, Pow, Max, Min, a PRelu with a slope of any shape as Where(x < 0, ...)).
#include "export/onnx_converters.h"

namespace qat::exporter {

namespace {

using torch::jit::Node;

OnnxConverter binaryOp(const std::string& op)
{
    return [op](OnnxContext& c, Node* n) {
        c.addNode(op, {c.tensor(n->input(0)), c.tensor(n->input(1))}, {c.out(n)});
    };
}

// where(condition, x, y)
void where(OnnxContext& c, Node* n)
{
    c.addNode("Where", {c.tensor(n->input(0)), c.tensor(n->input(1)), c.tensor(n->input(2))}, {c.out(n)});
}

// ones_like(x): ones of x's (run-time) shape, float as the models' tensors are.
void onesLike(OnnxContext& c, Node* n)
{
    const auto shape = c.fresh("shape");
    c.addNode("Shape", {c.tensor(n->input(0))}, {shape});
    c.addNode("Expand", {c.scalar(1.0), shape}, {c.out(n)});
}

} // namespace

void addMathConverters(OnnxConverterTable& table)
{
    table["aten::abs"] = unaryConverter("Abs");
    table["aten::exp"] = unaryConverter("Exp");
    table["aten::log"] = unaryConverter("Log");
    table["aten::neg"] = unaryConverter("Neg");
    table["aten::reciprocal"] = unaryConverter("Reciprocal");
    table["aten::sqrt"] = unaryConverter("Sqrt");
    table["aten::erf"] = unaryConverter("Erf");
    table["aten::pow"] = binaryOp("Pow");
    table["aten::maximum"] = binaryOp("Max");
    table["aten::minimum"] = binaryOp("Min");
    table["aten::lt"] = binaryOp("Less");
    table["aten::gt"] = binaryOp("Greater");
    table["aten::where"] = where;
    table["aten::ones_like"] = onesLike;
}

} // namespace qat::exporter
