// SPDX-License-Identifier: MIT
// math::uniformGrid for float tensors: uniformGridComposite's arithmetic per channel in plain
// float, as one autograd node. A uniform quantizer's grid took ~40 tiny tensor ops (and their
// backward nodes) per training step; here it takes one forward and one backward.
#include "quantizers/quant_math.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>

namespace qat::quant::math {

namespace {

// Which end adjustRangeToIncludeZero took: the whole range above zero, below zero, or across it.
enum Case : uint8_t { Positive, Negative, Across };

struct ChannelGrid {
    float step;
    float zeroPoint;
    float low;
    float rounded; // round(lo / scale): d low / d (hi - lo) is rounded / levels when Across
    Case which;
};

float clampMin(float v, float lo)
{
    return std::isnan(v) ? v : std::max(v, lo);
}

// representableStep: round(m 2^keep) 2^(e - keep), with v = m 2^e, m in [0.5, 1).
float representable(float v, int keep)
{
    int e = 0;
    const float m = std::frexp(v, &e);
    return std::nearbyint(m * std::ldexp(1.0f, keep)) * std::ldexp(1.0f, e - keep);
}

// Each line is the composite version's tensor op, in the same order and precision.
ChannelGrid channelGrid(float lo, float hi, float levels, int keep)
{
    const float scale = (hi - lo) / levels;
    const float rounded = std::nearbyint(lo / scale);
    const float minMid = scale * rounded;
    const float maxMid = minMid + (hi - lo);
    ChannelGrid g{};
    g.rounded = rounded;
    float high = 0;
    if (lo > 0) {
        g.which = Positive;
        g.low = 0;
        high = hi;
    } else if (hi < 0) {
        g.which = Negative;
        g.low = lo;
        high = 0;
    } else {
        g.which = Across;
        g.low = minMid;
        high = maxMid;
    }
    float step = (high - g.low) / levels;
    step = step + (clampMin(step, float(kMinThreshold)) - step);
    step = step + (representable(step, keep) - step);
    g.step = step;
    g.zeroPoint = std::min(std::max(std::nearbyint(-g.low / step), 0.0f), levels);
    return g;
}

struct Inputs {
    at::Tensor lo;
    at::Tensor hi;
};

Inputs floatInputs(const at::Tensor& lo, const at::Tensor& hi)
{
    auto sizes = at::infer_size(lo.sizes(), hi.sizes());
    return {lo.detach().expand(sizes).contiguous(), hi.detach().expand(sizes).contiguous()};
}

// Fills step, zero point and low (and, when asked, the per-channel case and rounding).
void computeGrid(const Inputs& in, int bits, at::Tensor& step, at::Tensor& zero, at::Tensor& low, at::Tensor* cases,
                 at::Tensor* rounded)
{
    const float levels = float(std::pow(2.0, bits) - 1.0);
    const int keep = std::max(1, 24 - bits);
    step = at::empty_like(in.lo);
    zero = at::empty_like(in.lo);
    low = at::empty_like(in.lo);
    const float* lo = in.lo.data_ptr<float>();
    const float* hi = in.hi.data_ptr<float>();
    float* stepOut = step.data_ptr<float>();
    float* zeroOut = zero.data_ptr<float>();
    float* lowOut = low.data_ptr<float>();
    float* caseOut = cases != nullptr ? cases->data_ptr<float>() : nullptr;
    float* roundedOut = rounded != nullptr ? rounded->data_ptr<float>() : nullptr;
    for (int64_t i = 0; i < in.lo.numel(); ++i) {
        const auto g = channelGrid(lo[i], hi[i], levels, keep);
        stepOut[i] = g.step;
        zeroOut[i] = g.zeroPoint;
        lowOut[i] = g.low;
        if (caseOut != nullptr) {
            caseOut[i] = float(g.which);
            roundedOut[i] = g.rounded;
        }
    }
}

struct UniformGridFunction : public torch::autograd::Function<UniformGridFunction> {
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& lo,
                                                  const at::Tensor& hi, int64_t bits, double stepGradScale)
    {
        const auto in = floatInputs(lo, hi);
        auto cases = at::empty_like(in.lo);
        auto rounded = at::empty_like(in.lo);
        at::Tensor step, zero, low;
        computeGrid(in, int(bits), step, zero, low, &cases, &rounded);
        ctx->save_for_backward({cases, rounded});
        ctx->saved_data["levels"] = std::pow(2.0, double(bits)) - 1.0;
        ctx->saved_data["scale"] = stepGradScale;
        ctx->saved_data["lo_shape"] = lo.sizes().vec();
        ctx->saved_data["hi_shape"] = hi.sizes().vec();
        ctx->mark_non_differentiable({zero});
        return {step, zero, low};
    }

    // Across zero: d step = (d hi - d lo) / levels, d low = rounded (d hi - d lo) / levels.
    // Above zero: low is 0, step = hi / levels. Below: low = lo, step = -lo / levels.
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto saved = ctx->get_saved_variables();
        const auto& cases = saved[0];
        const auto& rounded = saved[1];
        const float levels = float(ctx->saved_data["levels"].toDouble());
        const float scale = float(ctx->saved_data["scale"].toDouble());
        const auto gStep = grads[0].defined() ? grads[0].expand(cases.sizes()).contiguous() : at::zeros_like(cases);
        const auto gLow = grads[2].defined() ? grads[2].expand(cases.sizes()).contiguous() : at::zeros_like(cases);
        auto dlo = at::empty_like(cases);
        auto dhi = at::empty_like(cases);
        const float* which = cases.data_ptr<float>();
        const float* r = rounded.data_ptr<float>();
        const float* gs = gStep.data_ptr<float>();
        const float* gl = gLow.data_ptr<float>();
        float* l = dlo.data_ptr<float>();
        float* h = dhi.data_ptr<float>();
        for (int64_t i = 0; i < cases.numel(); ++i) {
            const float s = gs[i] * scale;
            l[i] = 0;
            h[i] = 0;
            switch (Case(which[i])) {
            case Positive: h[i] = s / levels; break;
            case Negative: l[i] = gl[i] - s / levels; break;
            case Across:
                h[i] = s / levels + gl[i] * r[i] / levels;
                l[i] = -h[i];
                break;
            }
        }
        const auto loShape = ctx->saved_data["lo_shape"].toIntVector();
        const auto hiShape = ctx->saved_data["hi_shape"].toIntVector();
        return {dlo.sum_to_size(loShape), dhi.sum_to_size(hiShape), at::Tensor(), at::Tensor()};
    }
};

bool fusedGridApplies(const at::Tensor& lo, const at::Tensor& hi)
{
    return fusedKernels() && lo.scalar_type() == at::kFloat && hi.scalar_type() == at::kFloat && lo.device().is_cpu()
           && hi.device().is_cpu();
}

} // namespace

UniformGrid uniformGrid(const at::Tensor& lo, const at::Tensor& hi, int bits, double stepGradScale)
{
    if (!fusedGridApplies(lo, hi)) {
        return uniformGridComposite(lo, hi, bits, stepGradScale);
    }
    const bool needsGrad = at::GradMode::is_enabled() && (lo.requires_grad() || hi.requires_grad());
    if (!needsGrad) {
        UniformGrid grid;
        computeGrid(floatInputs(lo, hi), bits, grid.step, grid.zeroPoint, grid.low, nullptr, nullptr);
        return grid;
    }
    const auto out = UniformGridFunction::apply(lo, hi, int64_t(bits), stepGradScale);
    return {out[0], out[1], out[2]};
}

} // namespace qat::quant::math
