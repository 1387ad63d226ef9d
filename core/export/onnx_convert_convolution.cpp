// SPDX-License-Identifier: MIT
// Converters for the layers with weights: convolutions (plain, transposed, traced
// _convolution), linear, batch_norm and layer_norm.
#include "export/onnx_converters.h"

namespace qat::exporter {

namespace {

using torch::jit::Node;

// The rank of the weight (argument 1), looking behind its fake-quant node.
size_t weightRank(OnnxContext& c, Node* n)
{
    auto w = c.staticValue(n->input(1));
    if (!w || !w->isTensor()) {
        Node* q = n->input(1)->node();
        if (q->kind() == c10::aten::fake_quantize_per_channel_affine
            || q->kind() == c10::aten::fake_quantize_per_tensor_affine) {
            w = c.staticValue(q->input(0));
        }
    }
    if (!w || !w->isTensor()) OnnxContext::unsupported(n, "the weight is not a module parameter");
    return size_t(w->toTensor().dim());
}

struct ConvArgs {
    bool transposed = false;
    std::vector<int64_t> stride, padding, dilation, outputPadding;
    int64_t groups = 1;
};

void writeConv(OnnxContext& c, Node* n, const ConvArgs& a)
{
    const size_t spatial = weightRank(c, n) - 2;
    std::vector<std::string> inputs{c.tensor(n->input(0)), c.tensor(n->input(1))};
    if (!OnnxContext::isNone(n, 2)) inputs.push_back(c.tensor(n->input(2)));
    auto& node = c.addNode(a.transposed ? "ConvTranspose" : "Conv", inputs, {c.out(n)});
    const auto padding = expandToRank(a.padding, spatial);
    std::vector<int64_t> pads(padding);
    pads.insert(pads.end(), padding.begin(), padding.end());
    setAttribute(node, "strides", expandToRank(a.stride, spatial));
    setAttribute(node, "pads", pads);
    setAttribute(node, "dilations", expandToRank(a.dilation, spatial));
    setAttribute(node, "group", a.groups);
    if (a.transposed && !a.outputPadding.empty()) {
        setAttribute(node, "output_padding", expandToRank(a.outputPadding, spatial));
    }
}

// conv{1,2,3}d(input, weight, bias, stride, padding, dilation, groups)
void conv(OnnxContext& c, Node* n)
{
    const auto padding = c.staticValue(n->input(4));
    if (!padding || !padding->isIntList()) OnnxContext::unsupported(n, "string padding");
    writeConv(c, n, {false, c.intsArg(n, 3), c.intsArg(n, 4), c.intsArg(n, 5), {}, c.intArg(n, 6)});
}

// conv_transpose{1,2,3}d(input, weight, bias, stride, padding, output_padding, groups, dilation)
void convTranspose(OnnxContext& c, Node* n)
{
    writeConv(c, n, {true, c.intsArg(n, 3), c.intsArg(n, 4), c.intsArg(n, 7), c.intsArg(n, 5), c.intArg(n, 6)});
}

// _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, ...)
void tracedConvolution(OnnxContext& c, Node* n)
{
    const auto transposed = c.staticValue(n->input(6));
    if (!transposed || !transposed->isBool()) OnnxContext::unsupported(n, "transposed flag not constant");
    writeConv(c, n, {transposed->toBool(), c.intsArg(n, 3), c.intsArg(n, 4), c.intsArg(n, 5), c.intsArg(n, 7),
                     c.intArg(n, 8)});
}

// linear(x, W, b): Gemm (y = x W^T + b) for the usual 2-d input, MatMul (+ Add) otherwise.
void linear(OnnxContext& c, Node* n)
{
    const bool hasBias = !OnnxContext::isNone(n, 2);
    if (c.shapeOf(n, n->input(0)).size() == 2) {
        std::vector<std::string> inputs{c.tensor(n->input(0)), c.tensor(n->input(1))};
        if (hasBias) inputs.push_back(c.tensor(n->input(2)));
        setAttribute(c.addNode("Gemm", inputs, {c.out(n)}), "transB", int64_t(1));
        return;
    }
    const auto wt = c.fresh("weight_t");
    setAttribute(c.addNode("Transpose", {c.tensor(n->input(1))}, {wt}), "perm", std::vector<int64_t>{1, 0});
    if (!hasBias) {
        c.addNode("MatMul", {c.tensor(n->input(0)), wt}, {c.out(n)});
        return;
    }
    const auto product = c.fresh("matmul");
    c.addNode("MatMul", {c.tensor(n->input(0)), wt}, {product});
    c.addNode("Add", {product, c.tensor(n->input(2))}, {c.out(n)});
}

// batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn)
void batchNorm(OnnxContext& c, Node* n)
{
    const auto mean = c.staticValue(n->input(3));
    if (!mean || !mean->isTensor()) OnnxContext::unsupported(n, "no running statistics");
    const auto channels = mean->toTensor().size(0);
    const auto scale = OnnxContext::isNone(n, 1) ? c.addInitializer(at::ones({channels}), "bn_scale") : c.tensor(n->input(1));
    const auto bias = OnnxContext::isNone(n, 2) ? c.addInitializer(at::zeros({channels}), "bn_bias") : c.tensor(n->input(2));
    auto& bn = c.addNode("BatchNormalization",
                         {c.tensor(n->input(0)), scale, bias, c.tensor(n->input(3)), c.tensor(n->input(4))}, {c.out(n)});
    setFloatAttribute(bn, "epsilon", c.numberArg(n, 7));
}

// layer_norm(input, normalized_shape, weight, bias, eps, cudnn): ONNX's LayerNormalization
// (opset 17) over the trailing axes normalized_shape names; Scale and B are required there.
void layerNorm(OnnxContext& c, Node* n)
{
    const auto normalized = c.intsArg(n, 1);
    const auto rank = int64_t(c.shapeOf(n, n->input(0)).size());
    if (normalized.empty() || int64_t(normalized.size()) > rank) OnnxContext::unsupported(n, "normalized_shape");
    const auto scale = OnnxContext::isNone(n, 2) ? c.addInitializer(at::ones(normalized), "ln_scale") : c.tensor(n->input(2));
    const auto bias = OnnxContext::isNone(n, 3) ? c.addInitializer(at::zeros(normalized), "ln_bias") : c.tensor(n->input(3));
    auto& ln = c.addNode("LayerNormalization", {c.tensor(n->input(0)), scale, bias}, {c.out(n)});
    setAttribute(ln, "axis", rank - int64_t(normalized.size()));
    setFloatAttribute(ln, "epsilon", c.numberArg(n, 4));
}

} // namespace

void addConvolutionConverters(OnnxConverterTable& table)
{
    for (const char* op : {"aten::conv1d", "aten::conv2d", "aten::conv3d"}) table[op] = conv;
    for (const char* op : {"aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d"}) {
        table[op] = convTranspose;
    }
    table["aten::_convolution"] = tracedConvolution;
    table["aten::linear"] = linear;
    table["aten::batch_norm"] = batchNorm;
    table["aten::layer_norm"] = layerNorm;
}

} // namespace qat::exporter
