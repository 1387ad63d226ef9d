// SPDX-License-Identifier: MIT
// The evaluator's elementwise, activation and shape ops, from the ONNX operator specification.
#include "model/onnx_reference.h"

#include "model/onnx_tensor.h"

#include <onnx/onnx_pb.h>

#include <cmath>

namespace qat::model {

namespace {

using reference::checkElements;
using reference::fail;
using reference::normaliseAxis;
using reference::required;
using reference::toInts;

// Multidirectional (numpy) broadcasting, checked for size before anything is computed.
void checkBroadcast(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    std::vector<int64_t> shape;
    for (const auto& t : in) {
        if (!t.defined()) continue;
        try {
            shape = at::infer_size(shape, t.sizes());
        } catch (const c10::Error&) {
            fail(node, "input shapes do not broadcast");
        }
    }
    checkElements(node, shape, context);
}

template <at::Tensor (*F)(const at::Tensor&, const at::Tensor&)>
OnnxTensors binary(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    checkBroadcast(node, in, context);
    return {F(required(node, in, 0), required(node, in, 1))};
}

at::Tensor add(const at::Tensor& a, const at::Tensor& b) { return a + b; }
at::Tensor sub(const at::Tensor& a, const at::Tensor& b) { return a - b; }
at::Tensor mul(const at::Tensor& a, const at::Tensor& b) { return a * b; }
at::Tensor pow(const at::Tensor& a, const at::Tensor& b) { return at::pow(a, b.to(a.scalar_type())); }
// Integer division truncates (C semantics), as the spec says.
at::Tensor div(const at::Tensor& a, const at::Tensor& b)
{
    if (at::isIntegralType(a.scalar_type(), true)) return at::div(a, b, "trunc");
    return a / b;
}

template <at::Tensor (*F)(const at::Tensor&)>
OnnxTensors unary(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    return {F(required(node, in, 0))};
}

at::Tensor relu(const at::Tensor& x) { return at::where(x > 0, x, at::zeros_like(x)); }
at::Tensor sigmoid(const at::Tensor& x) { return 1.0 / (1.0 + at::exp(-x)); }
at::Tensor tanh(const at::Tensor& x) { return at::tanh(x); }
at::Tensor sqrt(const at::Tensor& x) { return at::sqrt(x); }
at::Tensor exp(const at::Tensor& x) { return at::exp(x); }
at::Tensor log(const at::Tensor& x) { return at::log(x); }
at::Tensor erf(const at::Tensor& x) { return at::erf(x); }
at::Tensor neg(const at::Tensor& x) { return -x; }
at::Tensor abs(const at::Tensor& x) { return at::abs(x); }
at::Tensor reciprocal(const at::Tensor& x) { return 1.0 / x; }
at::Tensor identity(const at::Tensor& x) { return x; }
at::Tensor hardSwish(const at::Tensor& x) { return x * at::clamp(x / 6.0 + 0.5, 0.0, 1.0); }

OnnxTensors variadic(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context, bool max)
{
    checkBroadcast(node, in, context);
    auto y = required(node, in, 0);
    for (size_t i = 1; i < in.size(); ++i) {
        y = max ? at::maximum(y, required(node, in, i)) : at::minimum(y, required(node, in, i));
    }
    return {y};
}
OnnxTensors maxOp(const OnnxNode& n, const OnnxTensors& in, const ReferenceContext& c) { return variadic(n, in, c, true); }
OnnxTensors minOp(const OnnxNode& n, const OnnxTensors& in, const ReferenceContext& c) { return variadic(n, in, c, false); }

OnnxTensors leakyRelu(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    return {at::where(x < 0, x * double(node.f("alpha", 0.01f)), x)};
}

OnnxTensors prelu(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    checkBroadcast(node, in, context);
    const auto& x = required(node, in, 0);
    return {at::where(x < 0, x * required(node, in, 1), x)};
}

OnnxTensors clip(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    auto y = required(node, in, 0);
    if (in.size() > 1 && in[1].defined()) y = at::maximum(y, in[1].to(y.scalar_type()));
    if (in.size() > 2 && in[2].defined()) y = at::minimum(y, in[2].to(y.scalar_type()));
    return {y};
}

OnnxTensors hardSigmoid(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    return {at::clamp(x * double(node.f("alpha", 0.2f)) + double(node.f("beta", 0.5f)), 0.0, 1.0)};
}

OnnxTensors softmax(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    const auto stable = [](const at::Tensor& t, int64_t axis) {
        const auto e = at::exp(t - at::amax(t, {axis}, true));
        return e / e.sum({axis}, true);
    };
    if (context.opset >= 13) {
        return {stable(x, normaliseAxis(node, node.i("axis", -1), x.dim()))};
    }
    // Before opset 13 the input is coerced to 2-D at `axis` and normalised over the second part.
    const auto axis = x.dim() == 0 ? 0 : normaliseAxis(node, node.i("axis", 1), x.dim());
    int64_t rows = 1;
    for (int64_t d = 0; d < axis; ++d) rows *= x.size(d);
    return {stable(x.reshape({rows, -1}), 1).reshape(x.sizes())};
}

OnnxTensors reshape(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    auto shape = toInts(required(node, in, 1));
    const bool allowZero = node.i("allowzero", 0) != 0;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 0 && !allowZero) {
            if (int64_t(i) >= x.dim()) fail(node, "shape copies a dimension the input does not have");
            shape[i] = x.size(int64_t(i));
        }
    }
    return {x.reshape(shape)};
}

OnnxTensors flatten(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    auto axis = node.i("axis", 1);
    if (axis < -x.dim() || axis > x.dim()) fail(node, "axis is outside the input's rank");
    if (axis < 0) axis += x.dim();
    int64_t rows = 1;
    for (int64_t d = 0; d < axis; ++d) rows *= x.size(d);
    int64_t cols = 1;
    for (int64_t d = axis; d < x.dim(); ++d) cols *= x.size(d);
    return {x.reshape({rows, cols})};
}

OnnxTensors transpose(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    std::vector<int64_t> perm;
    for (int64_t d = x.dim() - 1; d >= 0; --d) perm.push_back(d);
    perm = node.ints("perm", perm);
    if (int64_t(perm.size()) != x.dim()) fail(node, "perm does not list every axis");
    return {x.permute(perm)};
}

OnnxTensors concat(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    std::vector<at::Tensor> parts;
    for (size_t i = 0; i < in.size(); ++i) parts.push_back(required(node, in, i));
    if (parts.empty()) fail(node, "has no inputs");
    const auto axis = normaliseAxis(node, node.i("axis", 0), parts[0].dim());
    int64_t total = 0;
    for (const auto& p : parts) total += p.dim() > axis ? p.size(axis) : 0;
    auto shape = parts[0].sizes().vec();
    if (!shape.empty()) shape[size_t(axis)] = total;
    checkElements(node, shape, context);
    return {at::cat(parts, axis)};
}

OnnxTensors split(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    const auto axis = normaliseAxis(node, node.i("axis", 0), x.dim());
    auto sizes = context.opset >= 13 ? (in.size() > 1 && in[1].defined() ? toInts(in[1]) : std::vector<int64_t>{})
                                     : node.ints("split");
    const auto parts = int64_t(node.outputs.size());
    if (sizes.empty()) {
        if (parts == 0 || x.size(axis) % parts != 0) fail(node, "cannot split the axis into equal parts");
        sizes.assign(size_t(parts), x.size(axis) / parts);
    }
    if (int64_t(sizes.size()) != parts) fail(node, "split lists a size for each output");
    OnnxTensors outputs;
    int64_t start = 0;
    for (auto s : sizes) {
        if (s < 0 || s > x.size(axis) - start) fail(node, "split sizes exceed the axis");
        outputs.push_back(x.narrow(axis, start, s));
        start += s;
    }
    if (start != x.size(axis)) fail(node, "split sizes do not add up to the axis");
    return outputs;
}

// The spec's Slice: clamp starts and ends per axis, then step (possibly backwards).
OnnxTensors slice(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    auto y = required(node, in, 0);
    const auto starts = toInts(required(node, in, 1));
    const auto ends = toInts(required(node, in, 2));
    std::vector<int64_t> axes;
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
    if (in.size() > 3 && in[3].defined()) axes = toInts(in[3]);
    std::vector<int64_t> steps(starts.size(), 1);
    if (in.size() > 4 && in[4].defined()) steps = toInts(in[4]);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
        fail(node, "starts, ends, axes and steps differ in length");
    }
    for (size_t i = 0; i < starts.size(); ++i) {
        const auto axis = normaliseAxis(node, axes[i], y.dim());
        const auto dim = y.size(axis);
        const auto step = steps[i];
        if (step == 0) fail(node, "a step of 0");
        auto start = starts[i] < 0 ? starts[i] + dim : starts[i];
        auto end = ends[i] < 0 ? std::max(ends[i], -dim - 1) + dim : ends[i];
        if (step > 0) {
            start = std::clamp<int64_t>(start, 0, dim);
            end = std::clamp<int64_t>(end, 0, dim);
        } else {
            start = std::clamp<int64_t>(start, 0, dim - 1);
            end = std::clamp<int64_t>(end, -1, dim - 1);
        }
        std::vector<int64_t> index;
        for (int64_t j = start; step > 0 ? j < end : j > end; j += step) index.push_back(j);
        y = y.index_select(axis, at::tensor(index, at::kLong));
    }
    return {y};
}

std::vector<int64_t> axesOf(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    if (context.opset >= 13) return in.size() > 1 && in[1].defined() ? toInts(in[1]) : std::vector<int64_t>{};
    return node.ints("axes");
}

OnnxTensors squeeze(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    auto axes = axesOf(node, in, context);
    std::vector<int64_t> shape;
    for (int64_t d = 0; d < x.dim(); ++d) {
        bool drop = axes.empty() && x.size(d) == 1;
        for (auto a : axes) drop = drop || normaliseAxis(node, a, x.dim()) == d;
        if (drop && x.size(d) != 1) fail(node, "squeezes an axis whose size is not 1");
        if (!drop) shape.push_back(x.size(d));
    }
    return {x.reshape(shape)};
}

OnnxTensors unsqueeze(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    const auto axes = axesOf(node, in, context);
    const auto rank = x.dim() + int64_t(axes.size());
    std::vector<bool> inserted(size_t(rank), false);
    for (auto a : axes) {
        const auto axis = normaliseAxis(node, a, rank);
        if (inserted[size_t(axis)]) fail(node, "an axis is listed twice");
        inserted[size_t(axis)] = true;
    }
    std::vector<int64_t> shape;
    int64_t next = 0;
    for (int64_t d = 0; d < rank; ++d) shape.push_back(inserted[size_t(d)] ? 1 : x.size(next++));
    return {x.reshape(shape)};
}

OnnxTensors pad(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    auto y = required(node, in, 0);
    const auto pads = toInts(required(node, in, 1));
    const auto rank = y.dim();
    if (int64_t(pads.size()) != 2 * rank) fail(node, "pads needs two values per axis");
    const double value = in.size() > 2 && in[2].defined() && in[2].numel() > 0 ? in[2].reshape({-1})[0].item<double>() : 0.0;
    const auto mode = node.s("mode", "constant");
    for (auto p : pads) {
        if (p < -(int64_t(1) << 40) || p > (int64_t(1) << 40)) fail(node, "pads out of range");
    }
    std::vector<int64_t> outShape;
    for (int64_t d = 0; d < rank; ++d) outShape.push_back(y.size(d) + pads[size_t(d)] + pads[size_t(d + rank)]);
    checkElements(node, outShape, context);
    for (int64_t d = 0; d < rank; ++d) {
        const auto begin = pads[size_t(d)];
        const auto end = pads[size_t(d + rank)];
        const auto n = y.size(d);
        if (begin == 0 && end == 0) continue;
        if (mode == "constant") {
            std::vector<int64_t> torch(size_t(2 * (rank - d)), 0);
            torch[torch.size() - 2] = begin;
            torch[torch.size() - 1] = end;
            y = at::constant_pad_nd(y, torch, value);
            continue;
        }
        if (mode != "reflect" && mode != "edge") fail(node, "mode '" + mode + "' is not an ONNX value");
        if (n == 0 || (mode == "reflect" && (begin >= n || end >= n))) fail(node, "pads too large for reflect");
        std::vector<int64_t> index;
        for (int64_t j = -begin; j < n + end; ++j) {
            int64_t i = j;
            if (mode == "edge") {
                i = std::clamp<int64_t>(j, 0, n - 1);
            } else if (j < 0) {
                i = -j;
            } else if (j >= n) {
                i = 2 * (n - 1) - j;
            }
            index.push_back(i);
        }
        y = y.index_select(d, at::tensor(index, at::kLong));
    }
    return {y};
}

OnnxTensors shape(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto sizes = required(node, in, 0).sizes().vec();
    const auto rank = int64_t(sizes.size());
    auto start = node.i("start", 0);
    auto end = node.i("end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    return {at::tensor(std::vector<int64_t>(sizes.begin() + start, sizes.begin() + std::max(start, end)), at::kLong)};
}

OnnxTensors gather(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    const auto& indices = required(node, in, 1);
    const auto axis = normaliseAxis(node, node.i("axis", 0), x.dim());
    auto index = indices.to(at::kLong).reshape({-1});
    index = at::where(index < 0, index + x.size(axis), index);
    auto shape = x.sizes().vec();
    shape.erase(shape.begin() + axis);
    const auto idxShape = indices.sizes();
    shape.insert(shape.begin() + axis, idxShape.begin(), idxShape.end());
    return {x.index_select(axis, index).reshape(shape)};
}

OnnxTensors cast(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto to = node.i("to", 0);
    switch (to) {
    case onnx::TensorProto::FLOAT: return {required(node, in, 0).to(at::kFloat)};
    case onnx::TensorProto::DOUBLE: return {required(node, in, 0).to(at::kDouble)};
    case onnx::TensorProto::INT64: return {required(node, in, 0).to(at::kLong)};
    case onnx::TensorProto::INT32: return {required(node, in, 0).to(at::kInt)};
    case onnx::TensorProto::BOOL: return {required(node, in, 0).to(at::kBool)};
    default: fail(node, "casts to " + onnxTypeName(int(to)) + ", which is not supported");
    }
}

OnnxTensors dropout(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    if (in.size() > 2 && in[2].defined() && in[2].numel() == 1 && in[2].to(at::kBool).item<bool>()) {
        fail(node, "Dropout in training mode is not supported");
    }
    const auto& x = required(node, in, 0);
    return {x, at::ones_like(x, x.options().dtype(at::kBool))};
}

OnnxTensors constant(const OnnxNode& node, const OnnxTensors&, const ReferenceContext&)
{
    if (node.has("value")) return {node.t("value")};
    if (node.has("value_float")) return {at::scalar_tensor(node.f("value_float", 0))};
    if (node.has("value_int")) return {at::scalar_tensor(node.i("value_int", 0), at::kLong)};
    if (node.has("value_floats")) return {at::tensor(node.floats("value_floats"))};
    if (node.has("value_ints")) return {at::tensor(node.ints("value_ints"), at::kLong)};
    fail(node, "a Constant without a tensor, float or integer value is not supported");
}

} // namespace

void addReferenceTensorOps(std::map<std::string, ReferenceOp>& ops)
{
    ops["Add"] = binary<add>;
    ops["Sub"] = binary<sub>;
    ops["Mul"] = binary<mul>;
    ops["Div"] = binary<div>;
    ops["Pow"] = binary<pow>;
    ops["Max"] = maxOp;
    ops["Min"] = minOp;
    ops["Sqrt"] = unary<sqrt>;
    ops["Exp"] = unary<exp>;
    ops["Log"] = unary<log>;
    ops["Erf"] = unary<erf>;
    ops["Neg"] = unary<neg>;
    ops["Abs"] = unary<abs>;
    ops["Reciprocal"] = unary<reciprocal>;
    ops["Identity"] = unary<identity>;
    ops["Relu"] = unary<relu>;
    ops["Sigmoid"] = unary<sigmoid>;
    ops["Tanh"] = unary<tanh>;
    ops["HardSwish"] = unary<hardSwish>;
    ops["LeakyRelu"] = leakyRelu;
    ops["PRelu"] = prelu;
    ops["Clip"] = clip;
    ops["HardSigmoid"] = hardSigmoid;
    ops["Softmax"] = softmax;
    ops["Reshape"] = reshape;
    ops["Flatten"] = flatten;
    ops["Transpose"] = transpose;
    ops["Concat"] = concat;
    ops["Split"] = split;
    ops["Slice"] = slice;
    ops["Squeeze"] = squeeze;
    ops["Unsqueeze"] = unsqueeze;
    ops["Pad"] = pad;
    ops["Shape"] = shape;
    ops["Gather"] = gather;
    ops["Cast"] = cast;
    ops["Dropout"] = dropout;
    ops["Constant"] = constant;
}

} // namespace qat::model
