// SPDX-License-Identifier: MIT
// Builders for elementwise arithmetic and math functions. Arithmetic also runs on shape
// computations (sizes that follow the batch), which stay symbolic.
#include "model/onnx_builder.h"

#include <limits>

namespace qat::model {

namespace {

using torch::jit::Value;

enum class Arith { Add = 1, Sub, Mul, Div };

using Ints = std::vector<std::optional<int64_t>>;

// A shape operand as elements; a static integer tensor counts too.
Ints intsOf(OnnxBuilder& b, const OnnxNode& n, size_t i, bool& scalar)
{
    const auto& v = b.value(n, i);
    if (v.kind == BuiltValue::Kind::Ints) {
        scalar = v.scalar;
        return v.ints;
    }
    if (v.kind != BuiltValue::Kind::Static || v.value.is_floating_point() || v.value.dim() > 1) {
        b.fail(n, "mixes a size that follows the batch size with tensor data, which the importer does not follow");
    }
    scalar = v.value.dim() == 0;
    Ints out;
    for (auto x : reference::toInts(v.value)) out.emplace_back(x);
    return out;
}

void intsArithmetic(OnnxBuilder& b, const OnnxNode& n, Arith op)
{
    bool scalarA = false;
    bool scalarB = false;
    const auto a = intsOf(b, n, 0, scalarA);
    const auto c = intsOf(b, n, 1, scalarB);
    const auto size = std::max(a.size(), c.size());
    if ((a.size() != size && a.size() != 1) || (c.size() != size && c.size() != 1)) {
        b.fail(n, "size lists of different lengths");
    }
    Ints out;
    for (size_t i = 0; i < size; ++i) {
        const auto& x = a[a.size() == 1 ? 0 : i];
        const auto& y = c[c.size() == 1 ? 0 : i];
        if (!x || !y) {
            out.emplace_back(); // follows the batch
            continue;
        }
        int64_t result = 0;
        bool overflow = false;
        switch (op) {
        case Arith::Add: overflow = __builtin_add_overflow(*x, *y, &result); break;
        case Arith::Sub: overflow = __builtin_sub_overflow(*x, *y, &result); break;
        case Arith::Mul: overflow = __builtin_mul_overflow(*x, *y, &result); break;
        case Arith::Div:
            if (*y == 0) b.fail(n, "divides a size by zero");
            overflow = *y == -1 && *x == std::numeric_limits<int64_t>::min();
            result = overflow ? 0 : *x / *y; // C division truncates, as ONNX's integer Div
            break;
        }
        if (overflow) b.fail(n, "a size computation overflows");
        out.emplace_back(result);
    }
    b.setInts(n, 0, out, scalarA && scalarB);
}

// A static operand that ATen can take as a Python number: one value, not raising the rank.
std::optional<double> scalarOperand(OnnxBuilder& b, const OnnxNode& n, size_t i)
{
    if (!b.isStatic(n, i)) return std::nullopt;
    const auto t = b.constant(n, i, "operand");
    if (t.numel() != 1 || t.dim() > b.rank(n.outputs.at(0))) return std::nullopt;
    return t.reshape({}).item<double>();
}

c10::Symbol symbolOf(Arith op)
{
    switch (op) {
    case Arith::Add: return c10::aten::add;
    case Arith::Sub: return c10::aten::sub;
    case Arith::Mul: return c10::aten::mul;
    case Arith::Div: break;
    }
    return c10::aten::div;
}

// alpha is left at its default: a positional alpha would pick add.Scalar for two tensors.
Value* apply(OnnxBuilder& b, Arith op, Value* x, torch::jit::NamedValue y)
{
    return b.emit(symbolOf(op), {x, y});
}

void arithmetic(OnnxBuilder& b, const OnnxNode& n, Arith op)
{
    if (b.value(n, 0).kind == BuiltValue::Kind::Ints || b.value(n, 1).kind == BuiltValue::Kind::Ints) {
        return intsArithmetic(b, n, op);
    }
    if (auto c = scalarOperand(b, n, 1)) {
        return b.setTensor(n, 0, apply(b, op, b.tensor(n, 0), *c));
    }
    if (auto c = scalarOperand(b, n, 0)) {
        Value* x = b.tensor(n, 1);
        if (op == Arith::Add || op == Arith::Mul) return b.setTensor(n, 0, apply(b, op, x, *c));
        if (op == Arith::Sub) return b.setTensor(n, 0, b.emit(c10::aten::rsub, {x, *c}));
        auto* numerator = b.graph().insertConstant(at::scalar_tensor(*c, at::kFloat));
        return b.setTensor(n, 0, apply(b, op, numerator, x));
    }
    b.setTensor(n, 0, apply(b, op, b.tensor(n, 0), b.tensor(n, 1)));
}

void add(OnnxBuilder& b, const OnnxNode& n) { arithmetic(b, n, Arith::Add); }
void sub(OnnxBuilder& b, const OnnxNode& n) { arithmetic(b, n, Arith::Sub); }
void mul(OnnxBuilder& b, const OnnxNode& n) { arithmetic(b, n, Arith::Mul); }
void div(OnnxBuilder& b, const OnnxNode& n) { arithmetic(b, n, Arith::Div); }

void pow(OnnxBuilder& b, const OnnxNode& n)
{
    if (auto e = scalarOperand(b, n, 1)) {
        return b.setTensor(n, 0, b.emit(c10::aten::pow, {b.tensor(n, 0), *e}));
    }
    b.setTensor(n, 0, b.emit(c10::aten::pow, {b.tensor(n, 0), b.tensor(n, 1)}));
}

void variadic(OnnxBuilder& b, const OnnxNode& n, c10::Symbol op)
{
    Value* y = b.tensor(n, 0);
    for (size_t i = 1; i < n.inputs.size(); ++i) y = b.emit(op, {y, b.tensor(n, i)});
    b.setTensor(n, 0, y);
}

void max(OnnxBuilder& b, const OnnxNode& n) { variadic(b, n, c10::aten::maximum); }
void min(OnnxBuilder& b, const OnnxNode& n) { variadic(b, n, c10::aten::minimum); }

template <const c10::Symbol& Op>
void unary(OnnxBuilder& b, const OnnxNode& n)
{
    b.setTensor(n, 0, b.emit(Op, {b.tensor(n, 0)}));
}

const c10::Symbol kSqrt = c10::aten::sqrt;
const c10::Symbol kExp = c10::aten::exp;
const c10::Symbol kLog = c10::aten::log;
const c10::Symbol kErf = c10::aten::erf;
const c10::Symbol kNeg = c10::aten::neg;
const c10::Symbol kAbs = c10::aten::abs;
const c10::Symbol kReciprocal = c10::aten::reciprocal;

} // namespace

void addElementwiseBuilders(std::map<std::string, OpBuilder>& table)
{
    table["Add"] = add;
    table["Sub"] = sub;
    table["Mul"] = mul;
    table["Div"] = div;
    table["Pow"] = pow;
    table["Max"] = max;
    table["Min"] = min;
    table["Sqrt"] = unary<kSqrt>;
    table["Exp"] = unary<kExp>;
    table["Log"] = unary<kLog>;
    table["Erf"] = unary<kErf>;
    table["Neg"] = unary<kNeg>;
    table["Abs"] = unary<kAbs>;
    table["Reciprocal"] = unary<kReciprocal>;
}

} // namespace qat::model
