// SPDX-License-Identifier: MIT
// Builders for shape and data-movement ops. Shape computations (Shape -> Gather -> Unsqueeze
// -> Concat -> Reshape, as exporters write x.view(x.size(0), -1)) are followed as lists of
// sizes in which only the batch-dependent entries are unknown; a Reshape then takes its
// target from the probe (every other size is fixed), with -1 where the batch goes.
#include "model/onnx_builder.h"
#include "model/onnx_window.h"

#include <onnx/onnx_pb.h>

namespace qat::model {

namespace {

using torch::jit::Value;
using Ints = std::vector<std::optional<int64_t>>;

bool isInts(OnnxBuilder& b, const OnnxNode& n, size_t i)
{
    return b.has(n, i) && b.value(n, i).kind == BuiltValue::Kind::Ints;
}

// A shape-computation operand as elements (Ints, or a static integer tensor of rank <= 1).
Ints elements(OnnxBuilder& b, const OnnxNode& n, size_t i, bool* scalar = nullptr)
{
    const auto& v = b.value(n, i);
    if (v.kind == BuiltValue::Kind::Ints) {
        if (scalar) *scalar = v.scalar;
        return v.ints;
    }
    const auto values = b.constantInts(n, i, "a size list");
    if (scalar) *scalar = v.value.dim() == 0;
    return Ints(values.begin(), values.end());
}

int64_t axisOf(OnnxBuilder& b, const OnnxNode& n, int64_t axis, int64_t rank)
{
    if (axis < -rank || axis >= rank) {
        b.fail(n, "axis " + std::to_string(axis) + " is outside a tensor of rank " + std::to_string(rank));
    }
    return axis < 0 ? axis + rank : axis;
}

void passThrough(OnnxBuilder& b, const OnnxNode& n)
{
    b.bind(n.outputs.at(0), b.value(n, 0));
}

void identity(OnnxBuilder& b, const OnnxNode& n) { passThrough(b, n); }

void dropout(OnnxBuilder& b, const OnnxNode& n)
{
    if (n.hasOutput(1)) b.fail(n, "the mask output of Dropout is not supported");
    if (b.has(n, 2) && b.constant(n, 2, "training_mode").to(at::kBool).item<bool>()) {
        b.fail(n, "Dropout in training mode is not supported; export the model in eval mode");
    }
    passThrough(b, n);
}

void constant(OnnxBuilder& b, const OnnxNode& n)
{
    if (!b.tryFold(n)) b.fail(n, "cannot be read");
}

void cast(OnnxBuilder& b, const OnnxNode& n)
{
    const auto to = n.i("to", 0);
    const auto& v = b.value(n, 0);
    const bool toInt = to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32;
    if ((v.kind == BuiltValue::Kind::Ints && toInt) || (v.kind == BuiltValue::Kind::Tensor && to == onnx::TensorProto::FLOAT)) {
        return passThrough(b, n); // sizes stay sizes; the graph computes in float32 already
    }
    b.fail(n, "casts computed values to another type than float32, which the importer does not support");
}

void shapeOf(OnnxBuilder& b, const OnnxNode& n)
{
    if (b.value(n, 0).kind != BuiltValue::Kind::Tensor) {
        const auto count = int64_t(elements(b, n, 0).size());
        return b.setInts(n, 0, {count}, false);
    }
    const auto sizes = b.shape(n.inputs[0]);
    const auto follows = b.batchDims(n.inputs[0]);
    const auto rank = int64_t(sizes.size());
    auto start = n.i("start", 0);
    auto end = n.i("end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, start, rank);
    Ints out;
    for (int64_t d = start; d < end; ++d) {
        out.push_back(follows[size_t(d)] ? std::nullopt : std::optional<int64_t>(sizes[size_t(d)]));
    }
    b.setInts(n, 0, out, false);
}

void gather(OnnxBuilder& b, const OnnxNode& n)
{
    const auto indices = b.constant(n, 1, "indices");
    if (indices.is_floating_point() || indices.dim() > 1) b.fail(n, "indices must be integers of rank 0 or 1");
    const auto index = reference::toInts(indices);
    if (isInts(b, n, 0)) {
        const auto list = elements(b, n, 0);
        Ints out;
        for (auto i : index) {
            const auto at = i < 0 ? i + int64_t(list.size()) : i;
            if (at < 0 || at >= int64_t(list.size())) b.fail(n, "index out of range");
            out.push_back(list[size_t(at)]);
        }
        return b.setInts(n, 0, out, indices.dim() == 0);
    }
    const auto rank = b.rank(n.inputs[0]);
    const auto axis = axisOf(b, n, n.i("axis", 0), rank);
    const auto dim = b.shape(n.inputs[0])[size_t(axis)];
    std::vector<int64_t> normalised;
    for (auto i : index) {
        if (i < -dim || i >= dim) b.fail(n, "index out of range");
        normalised.push_back(i < 0 ? i + dim : i);
    }
    auto* x = b.tensor(n, 0);
    if (indices.dim() == 0) {
        return b.setTensor(n, 0, b.emit(c10::aten::select, {x, axis, normalised[0]}));
    }
    auto* idx = b.graph().insertConstant(at::tensor(normalised, at::kLong));
    b.setTensor(n, 0, b.emit(c10::aten::index_select, {x, axis, idx}));
}

std::vector<int64_t> axesOf(OnnxBuilder& b, const OnnxNode& n)
{
    if (b.opset() >= 13) return b.has(n, 1) ? b.constantInts(n, 1, "axes") : std::vector<int64_t>{};
    return n.ints("axes");
}

void unsqueeze(OnnxBuilder& b, const OnnxNode& n)
{
    auto axes = axesOf(b, n);
    if (isInts(b, n, 0)) {
        bool scalar = false;
        const auto list = elements(b, n, 0, &scalar);
        if (!scalar || axes.size() != 1 || (axes[0] != 0 && axes[0] != -1)) b.fail(n, "unsqueezes a size list");
        return b.setInts(n, 0, list, false);
    }
    const auto rank = b.rank(n.inputs[0]) + int64_t(axes.size());
    for (auto& a : axes) a = axisOf(b, n, a, rank);
    std::sort(axes.begin(), axes.end());
    Value* y = b.tensor(n, 0);
    for (auto a : axes) y = b.emit(c10::aten::unsqueeze, {y, a});
    b.setTensor(n, 0, y);
}

void squeeze(OnnxBuilder& b, const OnnxNode& n)
{
    auto axes = axesOf(b, n);
    if (isInts(b, n, 0)) {
        const auto list = elements(b, n, 0);
        if (list.size() != 1) b.fail(n, "squeezes a size list");
        return b.setInts(n, 0, list, true);
    }
    const auto sizes = b.shape(n.inputs[0]);
    const auto follows = b.batchDims(n.inputs[0]);
    const auto rank = int64_t(sizes.size());
    if (axes.empty()) {
        for (int64_t d = 0; d < rank; ++d) {
            if (sizes[size_t(d)] == 1 && !follows[size_t(d)]) axes.push_back(d);
        }
    }
    for (auto& a : axes) a = axisOf(b, n, a, rank);
    std::sort(axes.rbegin(), axes.rend());
    Value* y = b.tensor(n, 0);
    for (auto a : axes) y = b.emit(c10::aten::squeeze, {y, a});
    b.setTensor(n, 0, y);
}

void concat(OnnxBuilder& b, const OnnxNode& n)
{
    bool sizes = false;
    for (size_t i = 0; i < n.inputs.size(); ++i) sizes = sizes || isInts(b, n, i);
    if (sizes) {
        Ints out;
        for (size_t i = 0; i < n.inputs.size(); ++i) {
            const auto part = elements(b, n, i);
            out.insert(out.end(), part.begin(), part.end());
        }
        return b.setInts(n, 0, out, false);
    }
    const auto axis = axisOf(b, n, n.i("axis", 0), b.rank(n.outputs.at(0)));
    std::vector<Value*> parts;
    for (size_t i = 0; i < n.inputs.size(); ++i) parts.push_back(b.tensor(n, i));
    auto* list = b.graph().insertNode(b.graph().createList(c10::TensorType::get(), parts))->output();
    b.setTensor(n, 0, b.emit(c10::aten::cat, {list, axis}));
}

void split(OnnxBuilder& b, const OnnxNode& n)
{
    const auto rank = b.rank(n.inputs[0]);
    const auto axis = axisOf(b, n, n.i("axis", 0), rank);
    if (b.batchDims(n.inputs[0])[size_t(axis)]) b.fail(n, "splits the batch axis");
    const auto dim = b.shape(n.inputs[0])[size_t(axis)];
    auto sizes = b.opset() >= 13 ? (b.has(n, 1) ? b.constantInts(n, 1, "split") : std::vector<int64_t>{})
                                 : n.ints("split");
    if (sizes.empty()) {
        const auto parts = int64_t(n.outputs.size());
        if (parts == 0 || dim % parts != 0) b.fail(n, "cannot split the axis into equal parts");
        sizes.assign(size_t(parts), dim / parts);
    }
    if (sizes.size() != n.outputs.size()) b.fail(n, "split lists a size for each output");
    int64_t total = 0;
    for (auto s : sizes) {
        if (s < 0 || s > dim - total) b.fail(n, "split sizes exceed the axis");
        total += s;
    }
    auto* x = b.tensor(n, 0);
    int64_t start = 0;
    for (size_t o = 0; o < sizes.size(); ++o) {
        b.setTensor(n, o, b.emit(c10::aten::slice, {x, axis, start, start + sizes[o], 1}));
        start += sizes[o];
    }
}

void sliceOf(OnnxBuilder& b, const OnnxNode& n)
{
    const auto starts = b.constantInts(n, 1, "starts");
    const auto ends = b.constantInts(n, 2, "ends");
    std::vector<int64_t> axes;
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
    if (b.has(n, 3)) axes = b.constantInts(n, 3, "axes");
    std::vector<int64_t> steps(starts.size(), 1);
    if (b.has(n, 4)) steps = b.constantInts(n, 4, "steps");
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
        b.fail(n, "starts, ends, axes and steps differ in length");
    }
    if (isInts(b, n, 0)) {
        const auto list = elements(b, n, 0);
        if (starts.size() != 1 || steps[0] != 1) b.fail(n, "slices a size list other than with step 1");
        const auto size = int64_t(list.size());
        const auto clampIndex = [&](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + size : i, 0, size); };
        const auto from = clampIndex(starts[0]);
        const auto to = std::max(from, clampIndex(ends[0]));
        return b.setInts(n, 0, Ints(list.begin() + from, list.begin() + to), false);
    }
    const auto rank = b.rank(n.inputs[0]);
    Value* y = b.tensor(n, 0);
    for (size_t i = 0; i < starts.size(); ++i) {
        const auto axis = axisOf(b, n, axes[i], rank);
        if (steps[i] > 0) {
            // aten::slice wraps negative bounds and clamps as ONNX does, also on the batch axis.
            y = b.emit(c10::aten::slice, {y, axis, starts[i], ends[i], steps[i]});
            continue;
        }
        if (steps[i] == 0) b.fail(n, "a step of 0");
        if (b.batchDims(n.inputs[0])[size_t(axis)]) b.fail(n, "slices the batch axis backwards");
        // Backwards: flip the axis and slice forwards over the mirrored bounds.
        const auto dim = b.shape(n.inputs[0])[size_t(axis)];
        const auto start = std::clamp<int64_t>(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim - 1);
        const auto end = std::clamp<int64_t>(ends[i] < 0 ? std::max(ends[i], -dim - 1) + dim : ends[i], -1, dim - 1);
        auto* flipped = b.emit(c10::aten::flip, {y, std::vector<int64_t>{axis}});
        y = b.emit(c10::aten::slice, {flipped, axis, dim - 1 - start, dim - 1 - end, -steps[i]});
    }
    b.setTensor(n, 0, y);
}

void transpose(OnnxBuilder& b, const OnnxNode& n)
{
    const auto rank = b.rank(n.inputs[0]);
    std::vector<int64_t> perm;
    for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    perm = n.ints("perm", perm);
    if (int64_t(perm.size()) != rank) b.fail(n, "perm does not list every axis");
    b.setTensor(n, 0, b.emit(c10::aten::permute, {b.tensor(n, 0), perm}));
}

// The output shape with -1 where the batch goes; flatten() when it merges trailing axes.
Value* reshapeTo(OnnxBuilder& b, const OnnxNode& n, Value* x, const std::string& output)
{
    const auto inShape = b.shape(n.inputs[0]);
    const auto inBatch = b.batchDims(n.inputs[0]);
    auto target = b.shape(output);
    const auto follows = b.batchDims(output);
    int dynamic = 0;
    for (size_t d = 0; d < target.size(); ++d) {
        if (follows[d]) {
            target[d] = -1;
            ++dynamic;
        }
    }
    if (dynamic > 1) b.fail(n, "reshapes so that several axes follow the batch size");
    if (target == inShape && std::find(inBatch.begin(), inBatch.end(), true) == inBatch.end()) return x;
    // [d0, ..., d(k-1), product of the rest] with the leading axes unchanged is flatten(x, k).
    const size_t k = target.size() - 1;
    if (target.size() >= 2 && k < inShape.size() && target.back() != -1) {
        bool same = true;
        for (size_t d = 0; d < k; ++d) same = same && (inBatch[d] ? target[d] == -1 : target[d] == inShape[d]);
        if (same) return b.emit(c10::aten::flatten, {x, int64_t(k), -1});
    }
    return b.emit(c10::aten::reshape, {x, target});
}

void reshape(OnnxBuilder& b, const OnnxNode& n)
{
    b.setTensor(n, 0, reshapeTo(b, n, b.tensor(n, 0), n.outputs.at(0)));
}

void flatten(OnnxBuilder& b, const OnnxNode& n)
{
    const auto rank = b.rank(n.inputs[0]);
    auto axis = n.i("axis", 1);
    if (axis < -rank || axis > rank) b.fail(n, "axis outside the input's rank");
    if (axis < 0) axis += rank;
    auto* x = b.tensor(n, 0);
    if (axis == 1) return b.setTensor(n, 0, rank == 2 ? x : b.emit(c10::aten::flatten, {x, 1, -1}));
    b.setTensor(n, 0, reshapeTo(b, n, x, n.outputs.at(0)));
}

void pad(OnnxBuilder& b, const OnnxNode& n)
{
    const auto pads = b.constantInts(n, 1, "pads");
    const auto rank = b.rank(n.inputs[0]);
    if (int64_t(pads.size()) != 2 * rank) b.fail(n, "pads needs two values per axis");
    if (b.has(n, 3)) b.fail(n, "the axes input of Pad is not supported");
    const std::vector<int64_t> begin(pads.begin(), pads.begin() + rank);
    const std::vector<int64_t> end(pads.begin() + rank, pads.end());
    const auto mode = n.s("mode", "constant");
    auto* x = b.tensor(n, 0);
    if (mode == "constant") {
        double value = 0;
        if (b.has(n, 2)) {
            const auto v = b.constant(n, 2, "constant_value");
            if (v.numel() > 0) value = v.reshape({-1})[0].item<double>();
        }
        return b.setTensor(n, 0, b.emit(c10::aten::constant_pad_nd, {x, torchPads(begin, end), value}));
    }
    // Reflect and edge pad the spatial axes only (ATen's reflection / replication pads).
    if (rank < 3 || rank > 5 || begin[0] || begin[1] || end[0] || end[1]) {
        b.fail(n, "'" + mode + "' padding of other than the spatial axes of a [N, C, ...] tensor is not supported");
    }
    const std::vector<int64_t> sb(begin.begin() + 2, begin.end());
    const std::vector<int64_t> se(end.begin() + 2, end.end());
    static const c10::Symbol reflect[] = {c10::aten::reflection_pad1d, c10::aten::reflection_pad2d,
                                          c10::aten::reflection_pad3d};
    static const c10::Symbol edge[] = {c10::aten::replication_pad1d, c10::aten::replication_pad2d,
                                       c10::aten::replication_pad3d};
    if (mode != "reflect" && mode != "edge") b.fail(n, "mode '" + mode + "' is not supported");
    const auto op = (mode == "reflect" ? reflect : edge)[rank - 3];
    b.setTensor(n, 0, b.emit(op, {x, torchPads(sb, se)}));
}

} // namespace

void addShapeBuilders(std::map<std::string, OpBuilder>& table)
{
    table["Identity"] = identity;
    table["Dropout"] = dropout;
    table["Constant"] = constant;
    table["Cast"] = cast;
    table["Shape"] = shapeOf;
    table["Gather"] = gather;
    table["Unsqueeze"] = unsqueeze;
    table["Squeeze"] = squeeze;
    table["Concat"] = concat;
    table["Split"] = split;
    table["Slice"] = sliceOf;
    table["Transpose"] = transpose;
    table["Reshape"] = reshape;
    table["Flatten"] = flatten;
    table["Pad"] = pad;
}

} // namespace qat::model
