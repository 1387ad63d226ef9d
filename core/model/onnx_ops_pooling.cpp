// SPDX-License-Identifier: MIT
// Builders for pooling, reductions and Resize, as the ATen ops PyTorch models use
// (max_pool2d, avg_pool2d, adaptive_avg_pool2d, mean, upsample_*).
#include "model/onnx_builder.h"
#include "model/onnx_window.h"

#include <cmath>
#include <limits>

namespace qat::model {

namespace {

using torch::jit::Value;

c10::Symbol bySpatialRank(OnnxBuilder& b, const OnnxNode& n, size_t rank, const c10::Symbol (&ops)[3])
{
    if (rank < 1 || rank > 3) b.fail(n, "supports 1-D, 2-D and 3-D inputs");
    return ops[rank - 1];
}

Window poolWindow(OnnxBuilder& b, const OnnxNode& n, bool hasDilations)
{
    const auto in = b.spatialSizes(n, 0);
    const auto kernel = n.ints("kernel_shape");
    if (kernel.size() != in.size()) b.fail(n, "kernel_shape does not match the input's spatial rank");
    return convWindow(n, kernel, in, hasDilations);
}

// ATen pads both sides alike and at most half a window: other padding goes in explicitly.
bool atenPadding(const Window& w)
{
    if (!w.symmetric()) return false;
    for (size_t i = 0; i < w.kernel.size(); ++i) {
        if (w.begin[i] > w.kernel[i] / 2) return false;
    }
    return true;
}

void maxPool(OnnxBuilder& b, const OnnxNode& n)
{
    if (n.hasOutput(1)) b.fail(n, "the Indices output of MaxPool is not supported");
    auto w = poolWindow(b, n, true);
    Value* x = b.tensor(n, 0);
    if (!atenPadding(w)) {
        x = b.emit(c10::aten::constant_pad_nd, {x, torchPads(w.begin, w.end), -std::numeric_limits<double>::infinity()});
        w.begin.assign(w.kernel.size(), 0);
    }
    static const c10::Symbol ops[] = {c10::aten::max_pool1d, c10::aten::max_pool2d, c10::aten::max_pool3d};
    b.setTensor(n, 0, b.emit(bySpatialRank(b, n, w.kernel.size(), ops),
                             {x, w.kernel, w.strides, w.begin, w.dilations, n.i("ceil_mode", 0) != 0}));
}

Value* avgPool(OnnxBuilder& b, const OnnxNode& n, Value* x, const Window& w, const std::vector<int64_t>& padding,
               bool countPads)
{
    const bool ceil = n.i("ceil_mode", 0) != 0;
    if (w.kernel.size() == 1) {
        return b.emit(c10::aten::avg_pool1d, {x, w.kernel, w.strides, padding, ceil, countPads});
    }
    static const c10::Symbol ops[] = {c10::aten::avg_pool1d, c10::aten::avg_pool2d, c10::aten::avg_pool3d};
    return b.emit(bySpatialRank(b, n, w.kernel.size(), ops),
                  {x, w.kernel, w.strides, padding, ceil, countPads, b.none()});
}

void averagePool(OnnxBuilder& b, const OnnxNode& n)
{
    const auto w = poolWindow(b, n, false);
    const bool countPads = n.i("count_include_pad", 0) != 0;
    Value* x = b.tensor(n, 0);
    if (atenPadding(w)) {
        return b.setTensor(n, 0, avgPool(b, n, x, w, w.begin, countPads));
    }
    const std::vector<int64_t> zeros(w.kernel.size(), 0);
    auto* padded = b.emit(c10::aten::constant_pad_nd, {x, torchPads(w.begin, w.end), 0.0});
    auto* sums = avgPool(b, n, padded, w, zeros, true);
    if (countPads) {
        return b.setTensor(n, 0, sums);
    }
    // Averages over the input only: divide by the share of each window that is input.
    auto* ones = b.emit(c10::aten::ones_like, {b.emit(c10::aten::slice, {x, 1, 0, 1, 1})});
    auto* share = avgPool(b, n, b.emit(c10::aten::constant_pad_nd, {ones, torchPads(w.begin, w.end), 0.0}), w, zeros,
                          true);
    b.setTensor(n, 0, b.emit(c10::aten::div, {sums, share}));
}

void globalAveragePool(OnnxBuilder& b, const OnnxNode& n)
{
    const auto rank = b.spatialSizes(n, 0).size();
    static const c10::Symbol ops[] = {c10::aten::adaptive_avg_pool1d, c10::aten::adaptive_avg_pool2d,
                                      c10::aten::adaptive_avg_pool3d};
    b.setTensor(n, 0, b.emit(bySpatialRank(b, n, rank, ops), {b.tensor(n, 0), std::vector<int64_t>(rank, 1)}));
}

void globalMaxPool(OnnxBuilder& b, const OnnxNode& n)
{
    std::vector<int64_t> axes;
    for (int64_t d = 2; d < b.rank(n.inputs[0]); ++d) axes.push_back(d);
    b.setTensor(n, 0, b.emit(c10::aten::amax, {b.tensor(n, 0), axes, true}));
}

void reduceMean(OnnxBuilder& b, const OnnxNode& n)
{
    const auto rank = b.rank(n.inputs[0]);
    auto axes = n.ints("axes");
    if (axes.empty()) {
        for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    for (auto& a : axes) {
        if (a < -rank || a >= rank) b.fail(n, "axis outside the input's rank");
        if (a < 0) a += rank;
    }
    b.setTensor(n, 0, b.emit(c10::aten::mean, {b.tensor(n, 0), axes, n.i("keepdims", 1) != 0}));
}

// ONNX Resize as PyTorch's interpolate: nearest (asymmetric + floor) is upsample_nearest,
// nearest with half-pixel centres is nearest-exact, linear with half-pixel centres (or
// align_corners) is upsample_(bi|tri)linear. Other combinations have no ATen equivalent.
void resize(OnnxBuilder& b, const OnnxNode& n)
{
    const auto mode = n.s("mode", "nearest");
    const auto transform = n.s("coordinate_transformation_mode", "half_pixel");
    const auto nearestMode = n.s("nearest_mode", "round_prefer_floor");
    const auto in = b.shape(n.inputs[0]);
    const auto out = b.shape(n.outputs.at(0));
    const auto inBatch = b.batchDims(n.inputs[0]);
    if (in.size() < 3 || in.size() > 5) b.fail(n, "resizes inputs of rank 3 to 5 only");
    if (inBatch[1] || out[1] != in[1]) b.fail(n, "resizes the batch or channel axis");
    // Scales as the file gives them (the coordinate transform uses them); with sizes given,
    // ATen's own in / out is the transform ONNX uses.
    std::vector<c10::IValue> scales;
    at::Tensor given;
    if (b.has(n, 2) && b.isStatic(n, 2) && b.constant(n, 2, "scales").numel() > 0) {
        given = b.constant(n, 2, "scales").to(at::kDouble);
    }
    bool integerUpscale = true;
    std::vector<int64_t> outSize;
    for (size_t d = 2; d < in.size(); ++d) {
        const double s = given.defined() ? given[int64_t(d)].item<double>() : double(out[d]) / double(in[d]);
        scales.emplace_back(given.defined() ? c10::IValue(s) : c10::IValue());
        outSize.push_back(out[d]);
        if (transform == "pytorch_half_pixel" && out[d] == 1) {
            b.fail(n, "pytorch_half_pixel resize to a size of 1 is not supported");
        }
        integerUpscale = integerUpscale && s >= 1 && std::floor(s) == s;
    }
    const auto spatial = in.size() - 2;
    Value* x = b.tensor(n, 0);
    std::vector<torch::jit::NamedValue> args{x, outSize};
    if (mode == "nearest") {
        static const c10::Symbol plain[] = {c10::aten::upsample_nearest1d, c10::aten::upsample_nearest2d,
                                            c10::aten::upsample_nearest3d};
        static const c10::Symbol exact[] = {c10::aten::_upsample_nearest_exact1d, c10::aten::_upsample_nearest_exact2d,
                                            c10::aten::_upsample_nearest_exact3d};
        const bool half = transform == "half_pixel" || transform == "pytorch_half_pixel";
        // Rounding ties never happen when every scale is a whole upscale factor.
        const bool exactRounding = nearestMode == "round_prefer_ceil" || integerUpscale;
        const c10::Symbol* ops = nullptr;
        if (transform == "asymmetric" && nearestMode == "floor") ops = plain;
        if (half && exactRounding) ops = exact;
        if (!ops) {
            b.fail(n, "nearest resize with coordinate_transformation_mode '" + transform + "' and nearest_mode '"
                          + nearestMode + "' is not supported (asymmetric + floor, or half_pixel + round_prefer_ceil, "
                          "are)");
        }
        for (const auto& s : scales) args.emplace_back(s);
        return b.setTensor(n, 0, b.emit(ops[spatial - 1], args));
    }
    if (mode != "linear") b.fail(n, "mode '" + mode + "' is not supported (nearest and linear are)");
    static const c10::Symbol linear[] = {c10::aten::upsample_linear1d, c10::aten::upsample_bilinear2d,
                                         c10::aten::upsample_trilinear3d};
    bool alignCorners = false;
    if (transform == "align_corners") {
        alignCorners = true;
    } else if (transform != "half_pixel" && transform != "pytorch_half_pixel") {
        b.fail(n, "linear resize with coordinate_transformation_mode '" + transform
                      + "' is not supported (half_pixel, pytorch_half_pixel and align_corners are)");
    }
    args.emplace_back(alignCorners);
    for (const auto& s : scales) args.emplace_back(alignCorners ? c10::IValue() : s);
    b.setTensor(n, 0, b.emit(linear[spatial - 1], args));
}

} // namespace

void addPoolingBuilders(std::map<std::string, OpBuilder>& table)
{
    table["MaxPool"] = maxPool;
    table["AveragePool"] = averagePool;
    table["GlobalAveragePool"] = globalAveragePool;
    table["GlobalMaxPool"] = globalMaxPool;
    table["ReduceMean"] = reduceMean;
    table["Resize"] = resize;
}

} // namespace qat::model
