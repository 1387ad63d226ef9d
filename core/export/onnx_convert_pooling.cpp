// SPDX-License-Identifier: MIT
// Converters for pooling and reductions over spatial dimensions.
#include "export/onnx_converters.h"

#include <algorithm>

namespace qat::exporter {

namespace {

using torch::jit::Node;

// max_poolNd(x, kernel, stride, padding, dilation, ceil_mode);
// avg_poolNd(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
void pool(OnnxContext& c, Node* n, bool isMax)
{
    const auto kernel = c.intsArg(n, 1);
    auto stride = c.intsArg(n, 2);
    if (stride.empty()) stride = kernel;
    auto padding = expandToRank(c.intsArg(n, 3), kernel.size());
    std::vector<int64_t> pads(padding);
    pads.insert(pads.end(), padding.begin(), padding.end());
    auto& p = c.unary(n, isMax ? "MaxPool" : "AveragePool");
    setAttribute(p, "kernel_shape", kernel);
    setAttribute(p, "strides", expandToRank(stride, kernel.size()));
    setAttribute(p, "pads", pads);
    if (isMax) {
        setAttribute(p, "dilations", expandToRank(c.intsArg(n, 4), kernel.size()));
        setAttribute(p, "ceil_mode", int64_t(c.boolArg(n, 5) ? 1 : 0));
    } else {
        setAttribute(p, "ceil_mode", int64_t(c.boolArg(n, 4) ? 1 : 0));
        setAttribute(p, "count_include_pad", int64_t(c.boolArg(n, 5) ? 1 : 0));
        if (n->inputs().size() > 6 && !OnnxContext::isNone(n, 6)) OnnxContext::unsupported(n, "divisor_override");
    }
}

// The averaging matrix [out, in] of adaptive pooling along one axis: output i averages inputs
// floor(i * in / out) to ceil((i + 1) * in / out), as PyTorch computes it.
at::Tensor adaptiveWindows(int64_t in, int64_t out)
{
    auto m = at::zeros({out, in});
    auto a = m.accessor<float, 2>();
    for (int64_t i = 0; i < out; ++i) {
        const int64_t start = i * in / out;
        const int64_t end = ((i + 1) * in + out - 1) / out;
        for (int64_t j = start; j < end; ++j) {
            a[i][j] = 1.0F / float(end - start);
        }
    }
    return m;
}

// adaptive_avg_pool{1,2,3}d(x, output_size) at the export's fixed input size: output 1 is
// GlobalAveragePool; sizes that divide the input, an AveragePool of that kernel and stride;
// other 2-D sizes (VGG's and AlexNet's pool to 7x7 or 6x6 from a smaller map) each axis's
// averaging matrix, applied by MatMul.
void adaptiveAveragePool(OnnxContext& c, Node* n)
{
    const auto out = c.intsArg(n, 1);
    if (std::all_of(out.begin(), out.end(), [](int64_t s) { return s == 1; })) {
        c.unary(n, "GlobalAveragePool");
        return;
    }
    const auto shape = c.shapeOf(n, n->input(0));
    if (shape.size() < out.size() + 1) OnnxContext::unsupported(n, "an input of unexpected rank");
    const size_t first = shape.size() - out.size();
    std::vector<int64_t> kernel;
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i] < 1) OnnxContext::unsupported(n, "an output size below 1");
        if (shape[first + i] % out[i] == 0) kernel.push_back(shape[first + i] / out[i]);
    }
    if (kernel.size() == out.size()) {
        auto& pool = c.unary(n, "AveragePool");
        setAttribute(pool, "kernel_shape", kernel);
        setAttribute(pool, "strides", kernel);
        return;
    }
    if (out.size() != 2) OnnxContext::unsupported(n, "output sizes that do not divide the input, except in 2-D");
    const auto columns = c.fresh("adaptive_pool");
    c.addNode("MatMul", {c.tensor(n->input(0)),
                         c.addInitializer(adaptiveWindows(shape[first + 1], out[1]).t().contiguous(), "pool_columns")},
              {columns});
    c.addNode("MatMul", {c.addInitializer(adaptiveWindows(shape[first], out[0]), "pool_rows"), columns}, {c.out(n)});
}

// mean / amax(x, dims, keepdim, ...)
OnnxConverter reduce(const std::string& op)
{
    return [op](OnnxContext& c, Node* n) {
        if (n->inputs().size() < 3) OnnxContext::unsupported(n, "a reduction over all dimensions");
        auto& r = c.unary(n, op);
        setAttribute(r, "axes", c.intsArg(n, 1));
        setAttribute(r, "keepdims", int64_t(c.boolArg(n, 2) ? 1 : 0));
    };
}

// PyTorch's pad list (last dimension first: left, right, top, bottom, ...) as ONNX's pads
// (every dimension's begin, then every end).
std::vector<int64_t> onnxPads(const std::vector<int64_t>& torchPads, size_t rank)
{
    std::vector<int64_t> pads(2 * rank, 0);
    for (size_t i = 0; i + 1 < torchPads.size() && i / 2 < rank; i += 2) {
        const auto dim = rank - 1 - i / 2;
        pads[dim] = torchPads[i];
        pads[rank + dim] = torchPads[i + 1];
    }
    return pads;
}

// The same reordering for pad sizes computed at run time (Swin pads to whole windows, by
// sizes it computes): the list with a 0 appended, gathered in ONNX's order.
std::string computedOnnxPads(OnnxContext& c, Node* n, size_t rank)
{
    const auto* list = n->input(1)->node();
    if (list->kind() != c10::prim::ListConstruct) OnnxContext::unsupported(n, "a list of pad sizes it cannot follow");
    const auto count = int64_t(list->inputs().size());
    if (count % 2 != 0) OnnxContext::unsupported(n, "an odd number of pad sizes");
    std::vector<int64_t> order(2 * rank, count); // `count` indexes the appended 0
    for (int64_t i = 0; i + 1 < count && size_t(i / 2) < rank; i += 2) {
        const auto dim = rank - 1 - size_t(i / 2);
        order[dim] = i;
        order[rank + dim] = i + 1;
    }
    const auto withZero = c.fresh("pads");
    setAttribute(c.addNode("Concat", {c.intList(n, n->input(1)), c.ints({0})}, {withZero}), "axis", int64_t(0));
    const auto pads = c.fresh("pads");
    setAttribute(c.addNode("Gather", {withZero, c.ints(order)}, {pads}), "axis", int64_t(0));
    return pads;
}

void writePad(OnnxContext& c, Node* n, const std::string& mode, double value)
{
    const auto rank = c.shapeOf(n, n->input(0)).size();
    std::string pads;
    if (const auto fixed = c.staticValue(n->input(1)); fixed && fixed->isIntList()) {
        const auto torchPads = fixed->toIntVector();
        if (torchPads.size() % 2 != 0) OnnxContext::unsupported(n, "an odd number of pad sizes");
        pads = c.ints(onnxPads(torchPads, rank));
    } else {
        pads = computedOnnxPads(c, n, rank);
    }
    auto& node = c.addNode("Pad", {c.tensor(n->input(0)), pads, c.scalar(value)}, {c.out(n)});
    setStringAttribute(node, "mode", mode);
}

// pad(x, pad, mode, value)
void pad(OnnxContext& c, Node* n)
{
    const auto mode = c.staticValue(n->input(2));
    const std::string name = mode && mode->isString() ? mode->toStringRef() : "constant";
    const double value = n->inputs().size() > 3 && !OnnxContext::isNone(n, 3) ? c.numberArg(n, 3) : 0.0;
    if (name == "constant") return writePad(c, n, "constant", value);
    if (name == "reflect") return writePad(c, n, "reflect", 0.0);
    if (name == "replicate") return writePad(c, n, "edge", 0.0);
    OnnxContext::unsupported(n, "padding mode " + name);
}

enum class Sampling { Nearest, NearestExact, Linear };

// upsample_{nearest,nearest_exact,bilinear}Nd: ONNX Resize with PyTorch's coordinate
// conventions, by the scale factors when given, else by the output size (batch and channels
// kept from the input).
void upsample(OnnxContext& c, Node* n, Sampling sampling)
{
    const bool linear = sampling == Sampling::Linear;
    const auto rank = c.shapeOf(n, n->input(0)).size();
    const size_t scalesAt = linear ? 3 : 2;
    std::string scales;
    std::string sizes;
    const auto factors = n->inputs().size() > scalesAt ? c.staticValue(n->input(scalesAt)) : std::nullopt;
    if (factors && factors->isDoubleList()) {
        std::vector<float> all(2, 1.0f);
        for (double f : factors->toDoubleVector()) all.push_back(float(f));
        if (all.size() != rank) OnnxContext::unsupported(n, "scale factors for some dimensions only");
        scales = c.addInitializer(at::tensor(all), "scales");
    } else if (!OnnxContext::isNone(n, 1)) {
        const auto shape = c.fresh("shape"), head = c.fresh("shape");
        c.addNode("Shape", {c.tensor(n->input(0))}, {shape});
        c.addNode("Slice", {shape, c.ints({0}), c.ints({2})}, {head});
        sizes = c.fresh("sizes");
        setAttribute(c.addNode("Concat", {head, c.intList(n, n->input(1))}, {sizes}), "axis", int64_t(0));
    } else {
        OnnxContext::unsupported(n, "neither an output size nor constant scale factors");
    }
    std::vector<std::string> inputs{c.tensor(n->input(0)), std::string(), scales};
    if (!sizes.empty()) inputs.push_back(sizes);
    auto& node = c.addNode("Resize", inputs, {c.out(n)});
    if (linear) {
        const bool alignCorners = c.boolArg(n, 2);
        setStringAttribute(node, "mode", "linear");
        setStringAttribute(node, "coordinate_transformation_mode", alignCorners ? "align_corners" : "pytorch_half_pixel");
    } else if (sampling == Sampling::NearestExact) {
        // torch: source = floor((i + 0.5) / scale); ONNX: round_prefer_ceil((i + 0.5) / scale - 0.5).
        setStringAttribute(node, "mode", "nearest");
        setStringAttribute(node, "coordinate_transformation_mode", "half_pixel");
        setStringAttribute(node, "nearest_mode", "round_prefer_ceil");
    } else {
        setStringAttribute(node, "mode", "nearest");
        setStringAttribute(node, "coordinate_transformation_mode", "asymmetric");
        setStringAttribute(node, "nearest_mode", "floor");
    }
}

} // namespace

void addPoolingConverters(OnnxConverterTable& table)
{
    for (const char* op : {"aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d"}) {
        table[op] = [](OnnxContext& c, Node* n) { pool(c, n, true); };
    }
    for (const char* op : {"aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d"}) {
        table[op] = [](OnnxContext& c, Node* n) { pool(c, n, false); };
    }
    for (const char* op : {"aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d"}) {
        table[op] = adaptiveAveragePool;
    }
    table["aten::mean"] = reduce("ReduceMean");
    table["aten::amax"] = reduce("ReduceMax");
    table["aten::pad"] = pad;
    table["aten::constant_pad_nd"] = [](OnnxContext& c, Node* n) {
        writePad(c, n, "constant", n->inputs().size() > 2 ? c.numberArg(n, 2) : 0.0);
    };
    for (const char* op : {"aten::reflection_pad1d", "aten::reflection_pad2d", "aten::reflection_pad3d"}) {
        table[op] = [](OnnxContext& c, Node* n) { writePad(c, n, "reflect", 0.0); };
    }
    for (const char* op : {"aten::replication_pad1d", "aten::replication_pad2d", "aten::replication_pad3d"}) {
        table[op] = [](OnnxContext& c, Node* n) { writePad(c, n, "edge", 0.0); };
    }
    for (const char* op : {"aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d"}) {
        table[op] = [](OnnxContext& c, Node* n) { upsample(c, n, Sampling::Nearest); };
    }
    for (const char* op : {"aten::_upsample_nearest_exact1d", "aten::_upsample_nearest_exact2d",
                           "aten::_upsample_nearest_exact3d"}) {
        table[op] = [](OnnxContext& c, Node* n) { upsample(c, n, Sampling::NearestExact); };
    }
    for (const char* op : {"aten::upsample_linear1d", "aten::upsample_bilinear2d", "aten::upsample_trilinear3d"}) {
        table[op] = [](OnnxContext& c, Node* n) { upsample(c, n, Sampling::Linear); };
    }
}

} // namespace qat::exporter
