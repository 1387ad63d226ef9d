// SPDX-License-Identifier: MIT
// Builders for the layers: Conv, ConvTranspose, Gemm, MatMul (and MatMul + Add fused into
// one linear), BatchNormalization. Weights become parameters so that layer discovery finds
// them as it finds a TorchScript model's (conv2d / linear whose weight is a module attribute).
#include "model/onnx_builder.h"
#include "model/onnx_window.h"

namespace qat::model {

namespace {

using torch::jit::Value;

c10::Symbol convSymbol(size_t spatial, bool transposed)
{
    static const c10::Symbol plain[] = {c10::aten::conv1d, c10::aten::conv2d, c10::aten::conv3d};
    static const c10::Symbol trans[] = {c10::aten::conv_transpose1d, c10::aten::conv_transpose2d,
                                        c10::aten::conv_transpose3d};
    return transposed ? trans[spatial - 1] : plain[spatial - 1];
}

// The weight's shape, whether a parameter or computed.
std::vector<int64_t> weightShape(OnnxBuilder& b, const OnnxNode& n)
{
    return b.isStatic(n, 1) ? b.constant(n, 1, "weight").sizes().vec() : b.shape(n.inputs[1]);
}

Value* weightOf(OnnxBuilder& b, const OnnxNode& n, const std::string& moduleClass)
{
    return b.isStatic(n, 1) ? b.parameter(n, 1, "weight", TensorKind::Parameter, moduleClass) : b.tensor(n, 1);
}

Value* biasOf(OnnxBuilder& b, const OnnxNode& n, size_t i, const std::string& moduleClass)
{
    if (!b.has(n, i)) return b.none();
    return b.isStatic(n, i) ? b.parameter(n, i, "bias", TensorKind::Parameter, moduleClass) : b.tensor(n, i);
}

void conv(OnnxBuilder& b, const OnnxNode& n)
{
    const auto wshape = weightShape(b, n);
    if (wshape.size() < 3 || wshape.size() > 5) b.fail(n, "supports 1-D, 2-D and 3-D convolutions");
    const std::vector<int64_t> kernel(wshape.begin() + 2, wshape.end());
    const auto w = convWindow(n, kernel, b.spatialSizes(n, 0), true);
    Value* x = b.tensor(n, 0);
    std::vector<int64_t> padding = w.begin;
    if (!w.symmetric()) {
        // ATen pads both sides alike: pad explicitly (SAME_UPPER with an even total, asymmetric pads).
        x = b.emit(c10::aten::constant_pad_nd, {x, torchPads(w.begin, w.end), 0.0});
        padding.assign(kernel.size(), 0);
    }
    b.setTensor(n, 0, b.emit(convSymbol(kernel.size(), false),
                             {x, weightOf(b, n, "Conv"), biasOf(b, n, 2, "Conv"), w.strides, padding, w.dilations,
                              n.i("group", 1)}));
}

void convTranspose(OnnxBuilder& b, const OnnxNode& n)
{
    const auto wshape = weightShape(b, n);
    if (wshape.size() < 3 || wshape.size() > 5) b.fail(n, "supports 1-D, 2-D and 3-D transposed convolutions");
    const std::vector<int64_t> kernel(wshape.begin() + 2, wshape.end());
    const size_t rank = kernel.size();
    const auto in = b.spatialSizes(n, 0);
    const auto strides = perAxis(n, "strides", rank, 1);
    const auto dilations = perAxis(n, "dilations", rank, 1);
    const auto outputPadding = perAxis(n, "output_padding", rank, 0);
    // The probe knows the output size; what ATen needs is the padding that gives it.
    const auto out = b.shape(n.outputs.at(0));
    std::vector<int64_t> padding, atenOutputPadding, cropEnd;
    bool fits = true;
    for (size_t i = 0; i < rank; ++i) {
        const auto full = strides[i] * (in[i] - 1) + (kernel[i] - 1) * dilations[i] + 1;
        const auto total = full + outputPadding[i] - out.at(i + 2); // begin + end
        auto begin = total / 2;
        if (n.has("pads") && n.s("auto_pad", "NOTSET") == "NOTSET" && !n.has("output_shape")) {
            begin = n.ints("pads").at(i);
        } else if (n.s("auto_pad", "NOTSET") != "SAME_UPPER") {
            begin = total - total / 2;
        }
        const auto extra = begin - (total - begin) + outputPadding[i]; // ATen's output_padding
        fits = fits && begin >= 0 && extra >= 0 && extra < std::max(strides[i], dilations[i]);
        padding.push_back(begin);
        atenOutputPadding.push_back(extra);
        cropEnd.push_back(outputPadding[i] - (total - begin));
    }
    Value* x = b.tensor(n, 0);
    const auto group = n.i("group", 1);
    if (fits) {
        b.setTensor(n, 0, b.emit(convSymbol(rank, true), {x, weightOf(b, n, "ConvTranspose"),
                                                           biasOf(b, n, 2, "ConvTranspose"), strides, padding,
                                                           atenOutputPadding, group, dilations}));
        return;
    }
    // Padding ATen cannot express: the whole transposed convolution, then crop.
    for (auto e : cropEnd) {
        if (e > 0) b.fail(n, "output_padding beyond the padding is not supported");
    }
    std::vector<int64_t> cropBegin;
    for (auto p : padding) cropBegin.push_back(-p);
    const std::vector<int64_t> zeros(rank, 0);
    auto* y = b.emit(convSymbol(rank, true), {x, weightOf(b, n, "ConvTranspose"), biasOf(b, n, 2, "ConvTranspose"),
                                              strides, zeros, zeros, group, dilations});
    b.setTensor(n, 0, b.emit(c10::aten::constant_pad_nd, {y, torchPads(cropBegin, cropEnd), 0.0}));
}

// A linear layer: weight [out, in] registered under the ONNX weight's name; `variant` and
// `stored` describe a transposed or scaled copy of it.
Value* linear(OnnxBuilder& b, const OnnxNode& n, Value* x, const std::string& variant, const at::Tensor& stored,
              Value* bias)
{
    auto* w = b.parameter(n, 1, "weight", TensorKind::Parameter, "Linear", variant, stored);
    return b.emit(c10::aten::linear, {x, w, bias});
}

// beta * C as a linear layer's bias when it is one value per output, else nullptr.
Value* gemmBias(OnnxBuilder& b, const OnnxNode& n, int64_t outFeatures, double beta)
{
    if (!b.has(n, 2)) return b.none();
    if (!b.isStatic(n, 2)) return nullptr;
    const auto c = b.constant(n, 2, "C");
    const bool perOutput = c.numel() == outFeatures && (c.dim() == 1 || (c.dim() == 2 && c.size(0) == 1));
    if (!perOutput && c.numel() != 1) return nullptr;
    const auto bias = (perOutput ? c.reshape({outFeatures}) : c.reshape({1}).expand({outFeatures})) * beta;
    return b.parameter(n, 2, "bias", TensorKind::Parameter, "Linear", beta == 1.0 && perOutput ? "" : "scaled",
                       bias.to(at::kFloat).contiguous());
}

void gemm(OnnxBuilder& b, const OnnxNode& n)
{
    const double alpha = n.f("alpha", 1.0f);
    const double beta = n.f("beta", 1.0f);
    const bool transB = n.i("transB", 0) != 0;
    Value* a = b.tensor(n, 0);
    if (n.i("transA", 0) != 0) a = b.emit(c10::aten::t, {a});
    if (b.isStatic(n, 1)) {
        const auto B = b.constant(n, 1, "B");
        if (B.dim() != 2) b.fail(n, "B must be a matrix");
        auto weight = transB ? B : B.t();
        if (alpha != 1.0) weight = weight * alpha;
        const auto variant = std::string(transB ? "" : "transposed") + (alpha != 1.0 ? "scaled" : "");
        if (auto* bias = gemmBias(b, n, weight.size(0), beta)) {
            return b.setTensor(n, 0, linear(b, n, a, variant, weight.contiguous(), bias));
        }
        auto* y = linear(b, n, a, variant, weight.contiguous(), b.none());
        auto* c = b.tensor(n, 2);
        return b.setTensor(n, 0, b.emit(c10::aten::add, {y, beta == 1.0 ? c : b.emit(c10::aten::mul, {c, beta})}));
    }
    // Both operands computed: a plain matrix product.
    Value* B = b.tensor(n, 1);
    if (transB) B = b.emit(c10::aten::t, {B});
    Value* y = b.emit(c10::aten::matmul, {a, B});
    if (alpha != 1.0) y = b.emit(c10::aten::mul, {y, alpha});
    if (b.has(n, 2)) {
        auto* c = b.tensor(n, 2);
        y = b.emit(c10::aten::add, {y, beta == 1.0 ? c : b.emit(c10::aten::mul, {c, beta})});
    }
    b.setTensor(n, 0, y);
}

void matMul(OnnxBuilder& b, const OnnxNode& n)
{
    if (b.isStatic(n, 1) && b.constant(n, 1, "B").dim() == 2 && !b.isStatic(n, 0)) {
        const auto B = b.constant(n, 1, "B");
        return b.setTensor(n, 0, linear(b, n, b.tensor(n, 0), "transposed", B.t().contiguous(), b.none()));
    }
    b.setTensor(n, 0, b.emit(c10::aten::matmul, {b.tensor(n, 0), b.tensor(n, 1)}));
}

// The importer's own op for MatMul(x, W) + Add(bias) (Keras Dense, tf2onnx): one linear layer.
void fusedLinear(OnnxBuilder& b, const OnnxNode& n)
{
    const auto W = b.constant(n, 1, "weight");
    const auto bias = b.constant(n, 2, "bias");
    auto* biasValue = b.parameter(n, 2, "bias", TensorKind::Parameter, "Linear", bias.dim() == 1 ? "" : "flat",
                                  bias.reshape({-1}).contiguous());
    b.setTensor(n, 0, linear(b, n, b.tensor(n, 0), "transposed", W.t().contiguous(), biasValue));
}

void batchNorm(OnnxBuilder& b, const OnnxNode& n)
{
    if (n.i("training_mode", 0) != 0 || n.hasOutput(1) || n.hasOutput(2)) {
        b.fail(n, "BatchNormalization in training mode is not supported; export the model in eval mode");
    }
    const auto klass = "BatchNorm" + std::to_string(std::max<int64_t>(1, b.rank(n.inputs[0]) - 2)) + "d";
    auto* weight = b.parameter(n, 1, "weight", TensorKind::Parameter, klass);
    auto* bias = b.parameter(n, 2, "bias", TensorKind::Parameter, klass);
    auto* mean = b.parameter(n, 3, "running_mean", TensorKind::Buffer, klass);
    auto* var = b.parameter(n, 4, "running_var", TensorKind::Buffer, klass);
    // As a scripted BatchNorm: the flag is the module's, so train()/eval() switch it.
    auto* training = b.trainingFlagOf(mean);
    const double momentum = 1.0 - double(n.f("momentum", 0.9f));
    b.setTensor(n, 0, b.emit(c10::aten::batch_norm, {b.tensor(n, 0), weight, bias, mean, var, training, momentum,
                                                      double(n.f("epsilon", 1e-5f)), true}));
}

// LayerNormalization (opset 17): normalised over the axes from `axis` on, as aten::layer_norm,
// its Scale and B parameters of a LayerNorm module (transformers, ConvNeXt).
void layerNorm(OnnxBuilder& b, const OnnxNode& n)
{
    if (n.hasOutput(1) || n.hasOutput(2)) {
        b.fail(n, "LayerNormalization's Mean and InvStdDev outputs are not supported (a training graph)");
    }
    const auto rank = b.rank(n.inputs[0]);
    auto axis = n.i("axis", -1);
    if (axis < -rank || axis >= rank) b.fail(n, "axis outside the input's rank");
    if (axis < 0) axis += rank;
    const auto shape = b.shape(n.inputs[0]);
    const auto batch = b.batchDims(n.inputs[0]);
    std::vector<int64_t> normalized(shape.begin() + axis, shape.end());
    for (int64_t d = axis; d < rank; ++d) {
        if (batch[size_t(d)]) b.fail(n, "normalises over an axis that follows the batch size");
    }
    const auto scale = b.constant(n, 1, "Scale");
    if (scale.sizes().vec() != normalized) {
        b.fail(n, "Scale's shape is not that of the normalised axes (broadcast scales are not supported)");
    }
    if (b.has(n, 2) && b.constant(n, 2, "B").sizes().vec() != normalized) {
        b.fail(n, "B's shape is not that of the normalised axes (broadcast biases are not supported)");
    }
    auto* weight = b.parameter(n, 1, "weight", TensorKind::Parameter, "LayerNorm");
    auto* bias = b.has(n, 2) ? b.parameter(n, 2, "bias", TensorKind::Parameter, "LayerNorm") : b.none();
    b.setTensor(n, 0, b.emit(c10::aten::layer_norm, {b.tensor(n, 0), c10::IValue(normalized), weight, bias,
                                                      double(n.f("epsilon", 1e-5f)), true}));
}

} // namespace

void addConvolutionBuilders(std::map<std::string, OpBuilder>& table)
{
    table["Conv"] = conv;
    table["ConvTranspose"] = convTranspose;
    table["Gemm"] = gemm;
    table["MatMul"] = matMul;
    table["qatwb.Linear"] = fusedLinear;
    table["BatchNormalization"] = batchNorm;
    table["LayerNormalization"] = layerNorm;
}

} // namespace qat::model
