// SPDX-License-Identifier: MIT
// Builders for activations, as the ATen ops PyTorch models use (relu, hardtanh for ReLU6,
// hardswish, gelu, silu, ...) so that layer discovery fuses them into a layer's activation
// point exactly as it does for TorchScript models.
#include "model/onnx_builder.h"

#include <cmath>
#include <limits>

namespace qat::model {

namespace {

using torch::jit::Value;

template <const c10::Symbol& Op>
void unary(OnnxBuilder& b, const OnnxNode& n)
{
    b.setTensor(n, 0, b.emit(Op, {b.tensor(n, 0)}));
}

const c10::Symbol kRelu = c10::aten::relu;
const c10::Symbol kSigmoid = c10::aten::sigmoid;
const c10::Symbol kTanh = c10::aten::tanh;
const c10::Symbol kHardSwish = c10::aten::hardswish;
const c10::Symbol kSilu = c10::aten::silu;

bool near(double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b)); }

void leakyRelu(OnnxBuilder& b, const OnnxNode& n)
{
    b.setTensor(n, 0, b.emit(c10::aten::leaky_relu, {b.tensor(n, 0), double(n.f("alpha", 0.01f))}));
}

void prelu(OnnxBuilder& b, const OnnxNode& n)
{
    const auto inShape = b.shape(n.inputs[0]);
    if (b.isStatic(n, 1) && inShape.size() >= 2) {
        // PyTorch's PReLU: one slope, or one per channel (axis 1) broadcast over the rest.
        const auto slope = b.constant(n, 1, "slope");
        // Numpy broadcasting aligns the slope's last axis with the input's last axis: it is
        // per channel when, so aligned, its only axis longer than 1 is axis 1.
        const auto rank = int64_t(inShape.size());
        const auto offset = rank - slope.dim();
        bool perChannel = offset >= 0 && slope.numel() == inShape[1];
        for (int64_t j = 0; perChannel && j < slope.dim(); ++j) {
            perChannel = offset + j == 1 || slope.size(j) == 1;
        }
        if ((slope.numel() == 1 && offset >= 0) || perChannel) {
            auto* w = b.parameter(n, 1, "weight", TensorKind::Parameter, "PReLU", "flat",
                                  slope.reshape({-1}).contiguous());
            return b.setTensor(n, 0, b.emit(c10::aten::prelu, {b.tensor(n, 0), w}));
        }
    }
    auto* x = b.tensor(n, 0);
    auto* negative = b.emit(c10::aten::lt, {x, 0.0});
    b.setTensor(n, 0, b.emit(c10::aten::where, {negative, b.emit(c10::aten::mul, {x, b.tensor(n, 1)}), x}));
}

std::optional<double> bound(OnnxBuilder& b, const OnnxNode& n, size_t i)
{
    if (!b.has(n, i)) return std::nullopt;
    const auto t = b.constant(n, i, i == 1 ? "min" : "max");
    if (t.numel() != 1) b.fail(n, "min and max must be single values");
    return t.reshape({}).item<double>();
}

void clip(OnnxBuilder& b, const OnnxNode& n)
{
    const auto lo = bound(b, n, 1);
    const auto hi = bound(b, n, 2);
    auto* x = b.tensor(n, 0);
    const bool finite = lo && hi && std::isfinite(*lo) && std::isfinite(*hi);
    if (lo && *lo == 0.0 && (!hi || std::isinf(*hi))) {
        return b.setTensor(n, 0, b.emit(c10::aten::relu, {x}));
    }
    if (finite) {
        // hardtanh(0, 6) is how PyTorch writes ReLU6; layer discovery knows it as relu6.
        return b.setTensor(n, 0, b.emit(c10::aten::hardtanh, {x, *lo, *hi}));
    }
    const auto lower = lo ? c10::IValue(*lo) : c10::IValue();
    const auto upper = hi ? c10::IValue(*hi) : c10::IValue();
    b.setTensor(n, 0, b.emit(c10::aten::clamp, {x, b.graph().insertConstant(lower), b.graph().insertConstant(upper)}));
}

void hardSigmoid(OnnxBuilder& b, const OnnxNode& n)
{
    const double alpha = n.f("alpha", 0.2f);
    const double beta = n.f("beta", 0.5f);
    auto* x = b.tensor(n, 0);
    if (near(alpha, 1.0 / 6.0) && near(beta, 0.5)) {
        return b.setTensor(n, 0, b.emit(c10::aten::hardsigmoid, {x}));
    }
    // Keras' hard_sigmoid (alpha 0.2) and others: clamp(alpha x + beta, 0, 1).
    auto* scaled = b.emit(c10::aten::add, {b.emit(c10::aten::mul, {x, alpha}), beta});
    b.setTensor(n, 0, b.emit(c10::aten::hardtanh, {scaled, 0.0, 1.0}));
}

void softmax(OnnxBuilder& b, const OnnxNode& n)
{
    const auto rank = b.rank(n.inputs[0]);
    auto* x = b.tensor(n, 0);
    if (b.opset() >= 13) {
        auto axis = n.i("axis", -1);
        if (axis < -rank || axis >= rank) b.fail(n, "axis outside the input's rank");
        return b.setTensor(n, 0, b.emit(c10::aten::softmax, {x, axis < 0 ? axis + rank : axis, b.none()}));
    }
    // Before opset 13: softmax over all axes from `axis` on, the input seen as 2-D.
    auto axis = n.i("axis", 1);
    if (axis < -rank || axis >= rank) b.fail(n, "axis outside the input's rank");
    if (axis < 0) axis += rank;
    if (axis == rank - 1) {
        return b.setTensor(n, 0, b.emit(c10::aten::softmax, {x, axis, b.none()}));
    }
    auto* flat = b.emit(c10::aten::flatten, {x, axis, -1});
    auto* y = b.emit(c10::aten::softmax, {flat, axis, b.none()});
    b.setTensor(n, 0, b.emit(c10::aten::reshape_as, {y, x}));
}

// The importer's own ops for recognised patterns (see onnx_patterns.cpp).
void gelu(OnnxBuilder& b, const OnnxNode& n)
{
    b.setTensor(n, 0, b.emit(c10::aten::gelu, {b.tensor(n, 0)}, {{"approximate", n.s("approximate", "none")}}));
}

} // namespace

void addActivationBuilders(std::map<std::string, OpBuilder>& table)
{
    table["Relu"] = unary<kRelu>;
    table["Sigmoid"] = unary<kSigmoid>;
    table["Tanh"] = unary<kTanh>;
    table["HardSwish"] = unary<kHardSwish>;
    table["LeakyRelu"] = leakyRelu;
    table["PRelu"] = prelu;
    table["Clip"] = clip;
    table["HardSigmoid"] = hardSigmoid;
    table["Softmax"] = softmax;
    table["qatwb.Gelu"] = gelu;
    table["qatwb.Silu"] = unary<kSilu>;
}

} // namespace qat::model
