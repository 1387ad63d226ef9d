// SPDX-License-Identifier: MIT
// The evaluator's layer ops: convolution, matrix products, normalisation, pooling, resize.
// Written from the ONNX operator specification: padding is always applied explicitly and
// pooled windows are counted explicitly, so these do not share the builders' shortcuts.
#include "model/onnx_reference.h"
#include "model/onnx_window.h"

#include <cmath>

namespace qat::model {

namespace {

using reference::checkElements;
using reference::fail;
using reference::required;

std::vector<int64_t> spatialSizes(const at::Tensor& x) { return x.sizes().slice(2).vec(); }

void checkSpatialRank(const OnnxNode& node, const at::Tensor& x)
{
    if (x.dim() < 3 || x.dim() > 5) {
        fail(node, "expects an input of rank 3 to 5 ([N, C, spatial...]), got rank " + std::to_string(x.dim()));
    }
}

OnnxTensors conv(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    const auto& weight = required(node, in, 1);
    checkSpatialRank(node, x);
    if (weight.dim() != x.dim()) fail(node, "weight rank differs from input rank");
    const auto kernel = weight.sizes().slice(2).vec();
    const auto w = convWindow(node, kernel, spatialSizes(x), true);
    std::vector<int64_t> outShape{x.size(0), weight.size(0)};
    for (size_t i = 0; i < kernel.size(); ++i) {
        const auto extent = x.size(int64_t(i) + 2) + w.begin[i] + w.end[i] - ((kernel[i] - 1) * w.dilations[i] + 1);
        outShape.push_back(extent < 0 ? -1 : extent / w.strides[i] + 1);
    }
    checkElements(node, outShape, context);
    const auto padded = at::constant_pad_nd(x, torchPads(w.begin, w.end), 0);
    const std::vector<int64_t> zeros(kernel.size(), 0);
    const auto bias = in.size() > 2 ? in[2] : at::Tensor();
    return {at::convolution(padded, weight, bias, w.strides, zeros, w.dilations, false, zeros, node.i("group", 1))};
}

OnnxTensors convTranspose(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    const auto& weight = required(node, in, 1);
    checkSpatialRank(node, x);
    if (weight.dim() != x.dim()) fail(node, "weight rank differs from input rank");
    const auto kernel = weight.sizes().slice(2).vec();
    const size_t rank = kernel.size();
    const auto strides = perAxis(node, "strides", rank, 1);
    const auto dilations = perAxis(node, "dilations", rank, 1);
    const auto outputPadding = perAxis(node, "output_padding", rank, 0);
    auto outputShape = node.ints("output_shape");
    if (outputShape.size() == rank + 2) outputShape.erase(outputShape.begin(), outputShape.begin() + 2);
    const auto autoPad = node.s("auto_pad", "NOTSET");
    std::vector<int64_t> begin(rank), end(rank), full(rank);
    auto pads = node.ints("pads", std::vector<int64_t>(2 * rank, 0));
    if (pads.size() != 2 * rank) fail(node, "attribute 'pads' needs " + std::to_string(2 * rank) + " values");
    for (auto p : pads) {
        if (p < 0 || p > kMaxWindowValue) fail(node, "pads must be between 0 and " + std::to_string(kMaxWindowValue));
    }
    for (auto k : kernel) {
        if (k > kMaxWindowValue) fail(node, "a kernel size of " + std::to_string(k));
    }
    for (auto& o : outputShape) {
        if (o < 0 || o > kMaxWindowValue * kMaxWindowValue) fail(node, "output_shape out of range");
    }
    for (size_t i = 0; i < rank; ++i) {
        const auto in_ = x.size(int64_t(i) + 2);
        full[i] = strides[i] * (in_ - 1) + (kernel[i] - 1) * dilations[i] + 1;
        if (!outputShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            if (!outputShape.empty() && outputShape.size() != rank) fail(node, "output_shape has the wrong length");
            const auto target = outputShape.empty() ? in_ * strides[i] : outputShape[i];
            const auto total = full[i] + outputPadding[i] - target;
            const bool upper = autoPad == "SAME_UPPER";
            begin[i] = upper ? total / 2 : total - total / 2;
            end[i] = upper ? total - total / 2 : total / 2;
        } else if (autoPad == "NOTSET" || autoPad == "VALID") {
            begin[i] = autoPad == "VALID" ? 0 : pads[i];
            end[i] = autoPad == "VALID" ? 0 : pads[i + rank];
        } else {
            fail(node, "auto_pad '" + autoPad + "' is not an ONNX value");
        }
    }
    std::vector<int64_t> outShape{x.size(0), weight.size(1) * node.i("group", 1)};
    for (size_t i = 0; i < rank; ++i) outShape.push_back(full[i] + outputPadding[i] - begin[i] - end[i]);
    checkElements(node, outShape, context);
    std::vector<int64_t> fullShape{x.size(0), outShape[1]};
    fullShape.insert(fullShape.end(), full.begin(), full.end());
    checkElements(node, fullShape, context);
    const std::vector<int64_t> zeros(rank, 0);
    auto y = at::convolution(x, weight, {}, strides, zeros, dilations, true, zeros, node.i("group", 1));
    // output_padding appends zeros at the end of each axis, pads crop (or, negative, extend) both ends.
    std::vector<int64_t> cropBegin(rank), cropEnd(rank);
    for (size_t i = 0; i < rank; ++i) {
        cropBegin[i] = -begin[i];
        cropEnd[i] = outputPadding[i] - end[i];
    }
    y = at::constant_pad_nd(y, torchPads(cropBegin, cropEnd), 0);
    if (in.size() > 2 && in[2].defined()) {
        std::vector<int64_t> shape(size_t(y.dim()), 1);
        shape[1] = -1;
        y = y + in[2].reshape(shape);
    }
    return {y};
}

OnnxTensors gemm(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    auto a = required(node, in, 0);
    auto b = required(node, in, 1);
    if (a.dim() != 2 || b.dim() != 2) fail(node, "Gemm takes 2-D matrices");
    if (node.i("transA", 0) != 0) a = a.t();
    if (node.i("transB", 0) != 0) b = b.t();
    auto y = at::matmul(a, b) * double(node.f("alpha", 1.0f));
    if (in.size() > 2 && in[2].defined()) {
        y = y + in[2] * double(node.f("beta", 1.0f));
    }
    return {y};
}

OnnxTensors matMul(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    return {at::matmul(required(node, in, 0), required(node, in, 1))};
}

OnnxTensors batchNorm(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    if (node.i("training_mode", 0) != 0 || node.hasOutput(1) || node.hasOutput(2)) {
        fail(node, "BatchNormalization in training mode is not supported; export the model in eval mode");
    }
    if (x.dim() < 2) fail(node, "expects an input of rank 2 or more");
    std::vector<int64_t> shape(size_t(x.dim()), 1);
    shape[1] = -1;
    const auto per = [&](size_t i) { return required(node, in, i).reshape(shape); };
    const double eps = node.f("epsilon", 1e-5f);
    return {(x - per(3)) / at::sqrt(per(4) + eps) * per(1) + per(2)};
}

// The spec's formula: (x - mean) / sqrt(var + epsilon) * Scale + B over the axes from `axis`
// on, the (biased) variance computed as mean((x - mean)^2).
OnnxTensors layerNorm(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    auto axis = node.i("axis", -1);
    if (axis < -x.dim() || axis >= x.dim()) fail(node, "axis outside the input's rank");
    if (axis < 0) axis += x.dim();
    std::vector<int64_t> axes;
    for (int64_t d = axis; d < x.dim(); ++d) axes.push_back(d);
    const auto mean = x.mean(axes, true);
    const auto centred = x - mean;
    const auto var = (centred * centred).mean(axes, true);
    auto y = centred / at::sqrt(var + double(node.f("epsilon", 1e-5f))) * required(node, in, 1);
    if (in.size() > 2 && in[2].defined()) y = y + in[2];
    return {y};
}

struct PoolPlan {
    Window w;
    std::vector<int64_t> out;
    std::vector<int64_t> extra; ///< padding after `end` so the last (ceil_mode) window is whole
};

PoolPlan poolPlan(const OnnxNode& node, const at::Tensor& x, bool hasDilations, const ReferenceContext& context)
{
    checkSpatialRank(node, x);
    const auto kernel = node.ints("kernel_shape");
    if (int64_t(kernel.size()) != x.dim() - 2) fail(node, "kernel_shape does not match the input's spatial rank");
    for (auto k : kernel) {
        if (k < 1) fail(node, "kernel_shape must be positive");
    }
    PoolPlan plan;
    plan.w = convWindow(node, kernel, spatialSizes(x), hasDilations);
    const bool ceil = node.i("ceil_mode", 0) != 0;
    std::vector<int64_t> outShape{x.size(0), x.size(1)};
    for (size_t i = 0; i < kernel.size(); ++i) {
        const int64_t in_ = x.size(int64_t(i) + 2);
        const int64_t extent = (kernel[i] - 1) * plan.w.dilations[i] + 1;
        const int64_t span = in_ + plan.w.begin[i] + plan.w.end[i] - extent;
        if (span < 0) fail(node, "the pooling window is larger than the padded input");
        int64_t out = span / plan.w.strides[i] + 1;
        if (ceil && span % plan.w.strides[i] != 0) {
            ++out;
            // A window may not start in the end padding (the spec's rule since opset 19, and ORT's).
            if ((out - 1) * plan.w.strides[i] >= in_ + plan.w.begin[i]) --out;
        }
        plan.out.push_back(out);
        plan.extra.push_back(std::max<int64_t>(0, (out - 1) * plan.w.strides[i] + extent - (span + extent)));
        outShape.push_back(out);
    }
    checkElements(node, outShape, context);
    return plan;
}

at::Tensor maxPoolN(const at::Tensor& x, const Window& w)
{
    const std::vector<int64_t> zeros(w.kernel.size(), 0);
    switch (w.kernel.size()) {
    case 1: return at::max_pool1d(x, w.kernel, w.strides, zeros, w.dilations, false);
    case 2: return at::max_pool2d(x, w.kernel, w.strides, zeros, w.dilations, false);
    default: return at::max_pool3d(x, w.kernel, w.strides, zeros, w.dilations, false);
    }
}

OnnxTensors maxPool(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    if (node.hasOutput(1)) fail(node, "the Indices output of MaxPool is not supported");
    const auto plan = poolPlan(node, x, true, context);
    std::vector<int64_t> end(plan.w.end);
    for (size_t i = 0; i < end.size(); ++i) end[i] += plan.extra[i];
    const auto padded = at::constant_pad_nd(x, torchPads(plan.w.begin, end), -std::numeric_limits<double>::infinity());
    return {maxPoolN(padded, plan.w)};
}

// Window sums as a depthwise convolution with a kernel of ones.
at::Tensor windowSums(const at::Tensor& x, const Window& w)
{
    const auto channels = x.size(1);
    std::vector<int64_t> kshape{channels, 1};
    kshape.insert(kshape.end(), w.kernel.begin(), w.kernel.end());
    const std::vector<int64_t> zeros(w.kernel.size(), 0);
    return at::convolution(x, at::ones(kshape, x.options()), {}, w.strides, zeros, w.dilations, false, zeros, channels);
}

OnnxTensors averagePool(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    const auto plan = poolPlan(node, x, false, context);
    const size_t rank = plan.w.kernel.size();
    std::vector<int64_t> end(plan.w.end);
    for (size_t i = 0; i < rank; ++i) end[i] += plan.extra[i];
    const auto sums = windowSums(at::constant_pad_nd(x, torchPads(plan.w.begin, end), 0), plan.w);
    // Which positions count: the input only, or the input and the pads (never the ceil_mode extra).
    std::vector<int64_t> oneShape{1, 1};
    for (size_t i = 0; i < rank; ++i) oneShape.push_back(x.size(int64_t(i) + 2));
    auto mask = at::ones(oneShape, x.options());
    if (node.i("count_include_pad", 0) != 0) {
        mask = at::constant_pad_nd(mask, torchPads(plan.w.begin, plan.w.end), 1);
        mask = at::constant_pad_nd(mask, torchPads(std::vector<int64_t>(rank, 0), plan.extra), 0);
    } else {
        mask = at::constant_pad_nd(mask, torchPads(plan.w.begin, end), 0);
    }
    return {sums / windowSums(mask, plan.w)};
}

std::vector<int64_t> spatialAxes(const at::Tensor& x)
{
    std::vector<int64_t> axes;
    for (int64_t d = 2; d < x.dim(); ++d) axes.push_back(d);
    return axes;
}

OnnxTensors globalAveragePool(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    checkSpatialRank(node, x);
    return {x.mean(spatialAxes(x), true)};
}

OnnxTensors globalMaxPool(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    checkSpatialRank(node, x);
    return {at::amax(x, spatialAxes(x), true)};
}

OnnxTensors reduceMean(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext&)
{
    const auto& x = required(node, in, 0);
    auto axes = node.ints("axes");
    if (axes.empty()) {
        for (int64_t d = 0; d < x.dim(); ++d) axes.push_back(d);
    }
    for (auto& a : axes) a = reference::normaliseAxis(node, a, x.dim());
    return {x.mean(axes, node.i("keepdims", 1) != 0)};
}

// Resize along one axis, from the spec's coordinate transformation and interpolation.
at::Tensor resizeAxis(const OnnxNode& node, const at::Tensor& x, int64_t axis, int64_t outSize, double scale)
{
    const int64_t inSize = x.size(axis);
    const auto mode = node.s("mode", "nearest");
    const auto transform = node.s("coordinate_transformation_mode", "half_pixel");
    const auto nearestMode = node.s("nearest_mode", "round_prefer_floor");
    std::vector<int64_t> lo, hi;
    std::vector<double> weight;
    for (int64_t o = 0; o < outSize; ++o) {
        double c = 0;
        if (transform == "half_pixel") c = (double(o) + 0.5) / scale - 0.5;
        else if (transform == "pytorch_half_pixel") c = outSize > 1 ? (double(o) + 0.5) / scale - 0.5 : 0.0;
        else if (transform == "align_corners") c = outSize == 1 ? 0.0 : double(o) * double(inSize - 1) / double(outSize - 1);
        else if (transform == "asymmetric") c = double(o) / scale;
        else if (transform == "tf_half_pixel_for_nn") c = (double(o) + 0.5) / scale;
        else fail(node, "coordinate_transformation_mode '" + transform + "' is not supported");
        if (mode == "nearest") {
            double r = 0;
            if (nearestMode == "round_prefer_floor") r = std::ceil(c - 0.5);
            else if (nearestMode == "round_prefer_ceil") r = std::floor(c + 0.5);
            else if (nearestMode == "floor") r = std::floor(c);
            else if (nearestMode == "ceil") r = std::ceil(c);
            else fail(node, "nearest_mode '" + nearestMode + "' is not an ONNX value");
            const auto i = std::clamp<int64_t>(int64_t(r), 0, inSize - 1);
            lo.push_back(i);
            hi.push_back(i);
            weight.push_back(0);
        } else if (mode == "linear") {
            const double clamped = std::clamp(c, 0.0, double(inSize - 1));
            const auto i0 = int64_t(std::floor(clamped));
            lo.push_back(i0);
            hi.push_back(std::min(i0 + 1, inSize - 1));
            weight.push_back(clamped - double(i0));
        } else {
            fail(node, "mode '" + mode + "' is not supported (nearest and linear are)");
        }
    }
    const auto lower = x.index_select(axis, at::tensor(lo, at::kLong));
    if (mode == "nearest") return lower;
    std::vector<int64_t> shape(size_t(x.dim()), 1);
    shape[size_t(axis)] = outSize;
    const auto w = at::tensor(weight, at::kDouble).to(x.scalar_type()).reshape(shape);
    return lower + (x.index_select(axis, at::tensor(hi, at::kLong)) - lower) * w;
}

OnnxTensors resize(const OnnxNode& node, const OnnxTensors& in, const ReferenceContext& context)
{
    const auto& x = required(node, in, 0);
    const auto scales = in.size() > 2 && in[2].defined() && in[2].numel() > 0 ? in[2].to(at::kDouble) : at::Tensor();
    const auto sizes = in.size() > 3 && in[3].defined() && in[3].numel() > 0 ? reference::toInts(in[3])
                                                                             : std::vector<int64_t>{};
    if (scales.defined() == !sizes.empty()) fail(node, "needs exactly one of scales and sizes");
    if ((scales.defined() && scales.numel() != x.dim()) || (!sizes.empty() && int64_t(sizes.size()) != x.dim())) {
        fail(node, "scales or sizes do not have one value per input axis");
    }
    std::vector<int64_t> outShape;
    std::vector<double> scale;
    for (int64_t d = 0; d < x.dim(); ++d) {
        const double s = scales.defined() ? scales[d].item<double>() : double(sizes[size_t(d)]) / double(x.size(d));
        if (!(s > 0) || !std::isfinite(s)) fail(node, "scales must be positive");
        const double out = scales.defined() ? std::floor(double(x.size(d)) * s) : double(sizes[size_t(d)]);
        if (out > double(context.maxElements)) fail(node, "the output would be too large");
        outShape.push_back(int64_t(out));
        scale.push_back(s);
    }
    checkElements(node, outShape, context);
    auto y = x;
    for (int64_t d = 0; d < x.dim(); ++d) {
        if (outShape[size_t(d)] != x.size(d) || scale[size_t(d)] != 1.0) {
            y = resizeAxis(node, y, d, outShape[size_t(d)], scale[size_t(d)]);
        }
    }
    return {y};
}

} // namespace

void addReferenceNnOps(std::map<std::string, ReferenceOp>& ops)
{
    ops["Conv"] = conv;
    ops["ConvTranspose"] = convTranspose;
    ops["Gemm"] = gemm;
    ops["MatMul"] = matMul;
    ops["BatchNormalization"] = batchNorm;
    ops["LayerNormalization"] = layerNorm;
    ops["MaxPool"] = maxPool;
    ops["AveragePool"] = averagePool;
    ops["GlobalAveragePool"] = globalAveragePool;
    ops["GlobalMaxPool"] = globalMaxPool;
    ops["ReduceMean"] = reduceMean;
    ops["Resize"] = resize;
}

} // namespace qat::model
