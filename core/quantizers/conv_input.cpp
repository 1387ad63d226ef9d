// SPDX-License-Identifier: MIT
// math::quantizeIntoConv: a quantizer whose output only a convolution reads, with an input
// that needs no gradient, as one autograd node that never computes the convolution's input
// gradient.
#include "quantizers/fused_grid.h"
#include "quantizers/quant_math.h"

#include <torch/csrc/autograd/custom_function.h>

namespace qat::quant::math {

using namespace detail;

namespace {

// sum(dL/dq * map) = sum(W * dL/dW on input map): conv(map, W) is linear in W, so
// <g, conv(map, W)> = <dW, W>, where dW is the weight gradient the convolution computes for
// input map and upstream gradient g. One weight-gradient pass instead of the input gradient,
// which mkldnn computes slowly for the few channels of a model input (README, speed).
double throughWeights(const at::Tensor& g, const at::Tensor& map, const at::Tensor& weight, const ConvReader& conv)
{
    const auto dW = std::get<1>(at::convolution_backward(g, map, weight, c10::nullopt, conv.stride, conv.padding,
                                                         conv.dilation, conv.transposed, conv.outputPadding,
                                                         conv.groups, {false, true, false}));
    return (dW.to(at::kDouble) * weight.to(at::kDouble)).sum().item<double>();
}

// Inputs with gradients: step, low (empty: none), weight, bias (empty: none). x is saved.
struct QuantizedConv : public torch::autograd::Function<QuantizedConv> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& step, const at::Tensor& low,
                              const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& x,
                              GridTensors grid, ClipGradient mode, ConvReader conv)
    {
        const auto input = x.contiguous();
        const auto q = fusedValue(input, grid);
        const bool hasBias = bias.numel() > 0;
        ctx->save_for_backward({input, q, weight});
        saveGrid(ctx, grid);
        ctx->saved_data["mode"] = int64_t(mode);
        ctx->saved_data["step_shape"] = step.sizes().vec();
        ctx->saved_data["low_shape"] = low.sizes().vec();
        ctx->saved_data["has_bias"] = hasBias;
        ctx->saved_data["bias_shape"] = bias.sizes().vec();
        ctx->saved_data["stride"] = conv.stride;
        ctx->saved_data["padding"] = conv.padding;
        ctx->saved_data["dilation"] = conv.dilation;
        ctx->saved_data["transposed"] = conv.transposed;
        ctx->saved_data["output_padding"] = conv.outputPadding;
        ctx->saved_data["groups"] = conv.groups;
        conv.weight = weight;
        conv.bias = hasBias ? bias : at::Tensor();
        return convolve(q, conv);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list outputGrads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto& x = saved[0];
        const auto& q = saved[1];
        const auto& weight = saved[2];
        const auto grid = savedGrid(ctx);
        const auto mode = ClipGradient(ctx->saved_data["mode"].toInt());
        auto conv = convReader(ctx->saved_data["stride"].toIntVector(), ctx->saved_data["padding"].toIntVector(),
                               ctx->saved_data["dilation"].toIntVector(), ctx->saved_data["transposed"].toBool(),
                               ctx->saved_data["output_padding"].toIntVector(), ctx->saved_data["groups"].toInt());
        const bool hasBias = ctx->saved_data["has_bias"].toBool();
        const auto& g = outputGrads[0];
        const bool wantStep = ctx->needs_input_grad(0);
        const bool wantLow = ctx->needs_input_grad(1) && mode != ClipGradient::Straight && grid.low.defined();
        const bool wantWeight = ctx->needs_input_grad(2);
        const bool wantBias = hasBias && ctx->needs_input_grad(3);

        at::Tensor dweight;
        at::Tensor dbias;
        if (wantWeight || wantBias) {
            const auto biasShape = ctx->saved_data["bias_shape"].toIntVector();
            std::tie(std::ignore, dweight, dbias) = at::convolution_backward(
                g, q, weight, hasBias ? c10::optional<at::IntArrayRef>(biasShape) : c10::nullopt, conv.stride,
                conv.padding, conv.dilation, conv.transposed, conv.outputPadding, conv.groups,
                {false, wantWeight, wantBias});
        }
        at::Tensor dstep;
        at::Tensor dlow;
        if (wantStep || wantLow) {
            auto stepMap = at::empty_like(x);
            auto lowMap = wantLow ? at::empty_like(x) : at::Tensor();
            kernels::gradientMaps(x.data_ptr<float>(), layoutOf(x, -1), gridOf(grid), ruleOf(mode),
                                  stepMap.data_ptr<float>(), wantLow ? lowMap.data_ptr<float>() : nullptr);
            if (wantStep) {
                const double sum = throughWeights(g, stepMap, weight, conv) / double(grid.step.item<float>());
                dstep = at::full(ctx->saved_data["step_shape"].toIntVector(), sum, grid.step.options());
            }
            if (wantLow) {
                dlow = at::full(ctx->saved_data["low_shape"].toIntVector(), throughWeights(g, lowMap, weight, conv),
                                grid.step.options());
            }
        }
        return {dstep, dlow, dweight, wantBias ? dbias : at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(),
                at::Tensor()};
    }
};

} // namespace

ConvReader convReader(std::vector<int64_t> stride, std::vector<int64_t> padding, std::vector<int64_t> dilation,
                      bool transposed, std::vector<int64_t> outputPadding, int64_t groups)
{
    ConvReader conv;
    conv.stride = std::move(stride);
    conv.padding = std::move(padding);
    conv.dilation = std::move(dilation);
    conv.transposed = transposed;
    conv.outputPadding = std::move(outputPadding);
    conv.groups = groups;
    return conv;
}

at::Tensor convolve(const at::Tensor& input, const ConvReader& conv)
{
    return at::convolution(input, conv.weight, conv.bias.defined() ? c10::optional<at::Tensor>(conv.bias) : c10::nullopt,
                           conv.stride, conv.padding, conv.dilation, conv.transposed, conv.outputPadding, conv.groups);
}

at::Tensor quantizeIntoConv(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low,
                            const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode,
                            const ConvReader& conv)
{
    const bool paramsLearn = step.requires_grad() || (low.defined() && low.requires_grad());
    // Per tensor only (one step, one sum), and only where x has no gradient of its own to compute.
    if (!fusedApplies(x, step) || axis >= 0 || step.numel() != 1 || x.requires_grad() || !paramsLearn
        || !at::GradMode::is_enabled() || conv.weight.scalar_type() != at::kFloat) {
        return convolve(quantize(x, step, low, zeroPoint, qmin, qmax, axis, mode), conv);
    }
    const auto grid = gridTensors(step, low, zeroPoint, qmin, qmax, axis, nullptr);
    // Undefined tensors still need a tensor argument; an empty one has no gradient edge.
    const auto lowArg = low.defined() ? low : at::empty({0}, step.options());
    const auto biasArg = conv.bias.defined() ? conv.bias : at::empty({0}, conv.weight.options());
    return QuantizedConv::apply(step, lowArg, conv.weight, biasArg, x.detach(), grid, mode, conv);
}

} // namespace qat::quant::math
