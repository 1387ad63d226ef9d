// SPDX-License-Identifier: MIT
// Converters for LibTorch's fake-quant ops (the exported quantizers): a QuantizeLinear /
// DequantizeLinear pair each, or, for MCT's format, the mct_quantizers node of the inferable
// quantizer behind it (targets.md section 3).
#include "export/onnx_converters.h"

#include "common/error.h"
#include "export/onnx_export.h"
#include "quantizers/inferable_quantizer.h"

#include <limits>

namespace qat::exporter {

namespace {

using torch::jit::Node;

std::string floatsInitializer(OnnxContext& c, const nlohmann::json& values, const std::string& hint)
{
    return c.addInitializer(at::tensor(values.get<std::vector<float>>(), at::kFloat), hint);
}

// One mct_quantizers node: float in, float out, the quantizer's own parameters as MCT's
// exporter writes them (weights: constant inputs; activations: attributes).
void mctqNode(OnnxContext& c, Node* n)
{
    const auto* q = c.quantizerOf(n);
    if (!q) OnnxContext::unsupported(n, "no inferable quantizer is known for this fake-quant node");
    const auto cls = q->className();
    const bool weights = q->target() == quant::Target::Weights;
    const auto stem = cls.substr(weights ? 7 : 10);
    std::string kind;
    if (stem == "SymmetricInferableQuantizer") kind = "Symmetric";
    else if (stem == "POTInferableQuantizer") kind = "POT";
    else if (stem == "UniformInferableQuantizer") kind = "Uniform";
    else {
        throw Error("mctq-onnx export: the quantizer class " + cls + " has no mct_quantizers node; export it as "
                    + "onnx (Q/DQ), TorchScript or spec instead");
    }
    const auto x = c.tensor(n->input(0));
    if (auto done = c.quantizedOnce(x); done && c.staticValue(n->input(0))) {
        c.bind(n->output(0), *done);
        return;
    }
    const auto args = q->arguments();
    std::vector<std::string> inputs{x};
    if (weights && kind == "Uniform") {
        inputs.push_back(floatsInitializer(c, args.at("min_range"), "min_range"));
        inputs.push_back(floatsInitializer(c, args.at("max_range"), "max_range"));
    } else if (weights) {
        inputs.push_back(floatsInitializer(c, args.at("threshold"), "threshold"));
    }
    auto& node = c.addNode((weights ? "Weights" : "Activation") + kind + "Quantizer", inputs, {c.out(n)});
    node.set_domain(kMctqDomain);
    setAttribute(node, "num_bits", args.at("num_bits").get<int64_t>());
    if (weights) {
        setAttribute(node, "per_channel", int64_t(args.at("per_channel").get<bool>() ? 1 : 0));
        setAttribute(node, "channel_axis", args.at("channel_axis").get<int64_t>());
        setAttribute(node, "signed", int64_t(1));
    } else if (kind == "Uniform") {
        setFloatAttribute(node, "min_range", args.at("min_range").at(0).get<double>());
        setFloatAttribute(node, "max_range", args.at("max_range").at(0).get<double>());
    } else {
        setFloatAttribute(node, "threshold", args.at("threshold").at(0).get<double>());
        setAttribute(node, "signed", int64_t(args.at("signed").get<bool>() ? 1 : 0));
    }
    setStringAttribute(node, "mctq_version", kMctqVersion);
    c.rememberQuantized(x, c.tensor(n->output(0)));
    c.countQuantizer();
}

// A bias on its integer kernel's int32 grid (integer bias, the only fake-quant with the int32
// range). The integers are recovered exactly from LibTorch's own fake-quant values (what the
// TorchScript computes), so q * s gives the same floats. Q/DQ: an int32 initializer and a
// DequantizeLinear, as ONNX Runtime's quantizer writes biases; MCT's format has no bias
// quantizer (its converter quantizes biases itself): the on-grid floats as a constant.
bool integerBias(OnnxContext& c, Node* n)
{
    constexpr auto lo = std::numeric_limits<int32_t>::min();
    constexpr auto hi = std::numeric_limits<int32_t>::max();
    if (n->kind() != c10::aten::fake_quantize_per_channel_affine || c.intArg(n, 4) != lo || c.intArg(n, 5) != hi) {
        return false;
    }
    const auto bias = c.staticValue(n->input(0));
    if (!bias) OnnxContext::unsupported(n, "a bias on the int32 grid that is not a constant");
    const auto scale = c.staticValue(n->input(1))->toTensor().to(at::kFloat);
    const auto zeroPoint = c.staticValue(n->input(2))->toTensor().to(at::kInt);
    const auto axis = c.intArg(n, 3);
    at::NoGradGuard noGrad;
    const auto onGrid = at::fake_quantize_per_channel_affine(bias->toTensor().detach().to(at::kFloat), scale, zeroPoint,
                                                             axis, lo, hi);
    if (c.options().quantizers == OnnxQuantizers::Mctq) {
        c.bind(n->output(0), c.addInitializer(onGrid, "bias"));
        return true;
    }
    const auto q = c.addInitializer(at::round(onGrid / scale).to(at::kInt), "bias_int32");
    auto& dn = c.addNode("DequantizeLinear", {q, c.addInitializer(scale, "bias_scale"), c.addInitializer(zeroPoint, "bias_zero_point")},
                         {c.out(n)});
    setAttribute(dn, "axis", axis);
    return true;
}

// fake_quantize_per_tensor_affine(x, scale, zero_point, qmin, qmax);
// fake_quantize_per_channel_affine(x, scale, zero_point, axis, qmin, qmax)
void fakeQuant(OnnxContext& c, Node* n, bool perChannel)
{
    if (integerBias(c, n)) {
        return;
    }
    if (c.options().quantizers == OnnxQuantizers::Mctq) {
        return mctqNode(c, n);
    }
    at::Tensor scale;
    at::Tensor zeroPoint;
    int64_t qmin = 0;
    int64_t qmax = 0;
    int64_t axis = 0;
    if (perChannel) {
        scale = c.staticValue(n->input(1))->toTensor().to(at::kFloat);
        zeroPoint = c.staticValue(n->input(2))->toTensor().to(at::kLong);
        axis = c.intArg(n, 3);
        qmin = c.intArg(n, 4);
        qmax = c.intArg(n, 5);
    } else {
        scale = at::tensor({float(c.numberArg(n, 1))}).reshape({});
        zeroPoint = at::tensor({c.intArg(n, 2)}, at::kLong).reshape({});
        qmin = c.intArg(n, 3);
        qmax = c.intArg(n, 4);
    }
    const bool isUnsigned = qmin >= 0;
    if ((isUnsigned && qmax > 255) || (!isUnsigned && (qmin < -128 || qmax > 127))) {
        throw Error("ONNX export: a quantizer with the integer range [" + std::to_string(qmin) + ", "
                    + std::to_string(qmax) + "] (more than 8 bits) cannot be written as QuantizeLinear at opset "
                    + std::to_string(kOnnxOpset) + "; use at most 8 bits for an ONNX export, or export TorchScript");
    }
    std::string x = c.tensor(n->input(0));
    // A shared weight is quantized once (one quantizer, one Q/DQ pair) however often it is used.
    if (auto done = c.quantizedOnce(x); done && c.staticValue(n->input(0))) {
        c.bind(n->output(0), *done);
        return;
    }
    const std::string source = x;
    const bool full = isUnsigned ? (qmin == 0 && qmax == 255) : (qmin == -128 && qmax == 127);
    if (!full && !perChannel) {
        // Narrower than the int8/uint8 range: clip in float so Q/DQ saturates where fake_quantize does.
        const double s = scale.item<double>();
        const double z = double(zeroPoint.item<int64_t>());
        const auto clipped = c.fresh("clipped");
        c.addNode("Clip", {x, c.scalar((double(qmin) - z) * s), c.scalar((double(qmax) - z) * s)}, {clipped});
        x = clipped;
    }
    const auto s = c.addInitializer(scale, "scale");
    const auto z = c.addInitializer(zeroPoint.to(isUnsigned ? at::kByte : at::kChar), "zero_point");
    const auto q = c.fresh("quantized");
    auto& qn = c.addNode("QuantizeLinear", {x, s, z}, {q});
    auto& dn = c.addNode("DequantizeLinear", {q, s, z}, {c.out(n)});
    c.rememberQuantized(source, c.tensor(n->output(0)));
    if (perChannel) {
        setAttribute(qn, "axis", axis);
        setAttribute(dn, "axis", axis);
    }
    c.countQuantizer();
}

} // namespace

void addQuantizeConverters(OnnxConverterTable& table)
{
    table["aten::fake_quantize_per_tensor_affine"] = [](OnnxContext& c, Node* n) { fakeQuant(c, n, false); };
    table["aten::fake_quantize_per_channel_affine"] = [](OnnxContext& c, Node* n) { fakeQuant(c, n, true); };
}

} // namespace qat::exporter
