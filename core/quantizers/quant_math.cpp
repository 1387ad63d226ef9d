// SPDX-License-Identifier: MIT
#include "quantizers/quant_math.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>

namespace qat::quant::math {

SymmetricRange symmetricRange(int bits, bool isSigned)
{
    const int s = isSigned ? 1 : 0;
    const auto levels = int64_t(1) << (bits - s);
    return {isSigned ? -levels : 0, levels - 1, static_cast<double>(levels)};
}

at::Tensor potCeil(const at::Tensor& threshold)
{
    return at::pow(2.0, at::ceil(at::log2(threshold.detach().clamp_min(kMinThreshold))));
}

at::Tensor effectiveThreshold(const at::Tensor& threshold, bool keepPositive, bool pot)
{
    return thresholdStep(threshold, 1.0, keepPositive, pot, 1.0);
}

at::Tensor thresholdStepComposite(const at::Tensor& threshold, double divisor, bool keepPositive, bool pot,
                                  double stepGradScale)
{
    at::Tensor t = threshold;
    if (keepPositive || pot) {
        t = t + (t.clamp_min(kMinThreshold) - t).detach();
    }
    if (pot) {
        // 2^(log2 t) with a straight-through ceil: value 2^ceil(log2 t), gradient t_pot / t.
        auto logT = at::log2(t);
        t = at::pow(2.0, logT + (at::ceil(logT) - logT).detach());
    }
    if (divisor != 1.0) {
        t = t / divisor;
    }
    return stepGradScale != 1.0 ? gradScale(t, stepGradScale) : t;
}

std::pair<at::Tensor, at::Tensor> adjustRangeToIncludeZero(const at::Tensor& lo, const at::Tensor& hi, int bits)
{
    const double levels = std::pow(2.0, bits) - 1.0;
    const auto scale = (hi - lo) / levels;
    const auto minMid = scale * at::round(lo / scale);
    const auto maxMid = minMid + (hi - lo);
    const auto allPositive = lo > 0;
    const auto allNegative = hi < 0;
    const auto zeros = at::zeros_like(lo);
    auto low = at::where(allPositive, zeros, at::where(allNegative, lo, minMid));
    auto high = at::where(allPositive, hi, at::where(allNegative, zeros, maxMid));
    return {low, high};
}

at::Tensor representableStep(const at::Tensor& step, int bits)
{
    const int keep = std::max(1, 24 - bits);
    const auto [mantissa, exponent] = at::frexp(step);
    return at::ldexp(at::round(mantissa * double(int64_t(1) << keep)), exponent - keep);
}

UniformGrid uniformGridComposite(const at::Tensor& lo, const at::Tensor& hi, int bits, double stepGradScale)
{
    const double levels = std::pow(2.0, bits) - 1.0;
    auto [low, high] = adjustRangeToIncludeZero(lo, hi, bits);
    auto step = (high - low) / levels;
    // A collapsed range would divide by zero; keep the step at least MCT's minimum.
    step = step + (step.clamp_min(kMinThreshold) - step).detach();
    // Value only: the step keeps 24 - bits significant bits, so every grid point and both ends
    // of the grid, (k - zero point) * step, are exact float32 numbers; exported as (min, max),
    // they are then a fixed point of the zero-on-grid adjustment that consumers (mct_quantizers)
    // apply, in float32 and float64 alike (targets.md section 4).
    step = step + (representableStep(step.detach(), bits) - step.detach());
    auto zeroPoint = at::round(-low.detach() / step.detach()).clamp(0, levels);
    if (stepGradScale != 1.0) {
        step = gradScale(step, stepGradScale);
    }
    return {step, zeroPoint, low};
}

std::pair<at::Tensor, at::Tensor> gridEnds(const UniformGrid& grid, int bits)
{
    const double levels = std::pow(2.0, bits) - 1.0;
    const auto step = grid.step.detach();
    const auto zero = grid.zeroPoint.detach();
    return {-zero * step, (levels - zero) * step};
}

at::Tensor fakeQuantValue(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& zeroPoint,
                          int64_t qmin, int64_t qmax, int64_t axis)
{
    at::NoGradGuard noGrad;
    const auto input = x.detach();
    if (axis < 0) {
        return at::fake_quantize_per_tensor_affine(input, scale.detach().item<double>(),
                                                   std::lround(zeroPoint.detach().item<double>()),
                                                   qmin, qmax);
    }
    return at::fake_quantize_per_channel_affine(input, scale.detach().reshape({-1}).to(at::kFloat),
                                                zeroPoint.detach().reshape({-1}).to(at::kInt), axis, qmin, qmax);
}

at::Tensor gradScale(const at::Tensor& v, double g)
{
    return v.detach() + (v - v.detach()) * g;
}

at::Tensor withQuantGradient(const at::Tensor& q, const at::Tensor& x, const at::Tensor& step,
                             const at::Tensor& low, const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax,
                             ClipGradient mode)
{
    const bool needsGrad = at::GradMode::is_enabled()
                           && (x.requires_grad() || step.requires_grad() || (low.defined() && low.requires_grad()));
    if (!needsGrad) {
        return q;
    }
    const auto stepValue = step.detach();
    at::Tensor surrogate;
    if (mode == ClipGradient::Straight) {
        surrogate = x + step * ((q - x.detach()) / stepValue);
    } else {
        const auto codes = at::round(x.detach() * stepValue.reciprocal()) + zeroPoint;
        const auto inside = (codes >= qmin).logical_and(codes <= qmax);
        const auto lowValue = low.defined() ? low.detach() : at::zeros_like(stepValue);
        const auto outsideSlope = (q - lowValue) / stepValue;
        const auto insideSlope = mode == ClipGradient::Masked ? (q - x.detach()) / stepValue : at::zeros_like(q);
        surrogate = x * inside + step * at::where(inside, insideSlope, outsideSlope);
        if (low.defined()) {
            surrogate = surrogate + low * inside.logical_not();
        }
    }
    return q + (surrogate - surrogate.detach());
}

std::vector<float> toFloats(const at::Tensor& t)
{
    const auto flat = t.detach().reshape({-1}).to(at::kFloat).contiguous();
    return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

std::vector<int64_t> channelParameterShape(int64_t rank, int64_t axis, int64_t channels)
{
    std::vector<int64_t> shape(static_cast<size_t>(std::max<int64_t>(rank, 1)), 1);
    shape[static_cast<size_t>(axis)] = channels;
    return shape;
}

} // namespace qat::quant::math
