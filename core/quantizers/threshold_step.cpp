// SPDX-License-Identifier: MIT
// math::thresholdStep: a symmetric quantizer's step from its threshold parameter, in one
// autograd node. Each channel's value and derivative are computed in plain float arithmetic.
#include "quantizers/quant_math.h"

#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

namespace qat::quant::math {

namespace {

struct Rule {
    float divisor = 1;
    bool keepPositive = false;
    bool pot = false;
};

// 2^ceil(log2 v) for v > 0, exactly (frexp: v = m 2^e with m in [0.5, 1)).
float potCeilOf(float v)
{
    int e = 0;
    const float m = std::frexp(v, &e);
    return std::ldexp(1.0f, m == 0.5f ? e - 1 : e);
}

// The step of one channel and d(effective threshold)/d(threshold): 1, or t_pot / t for POT
// (the derivative of 2^log2(t) with a straight-through ceil).
float stepOf(float t, const Rule& rule, float* slope)
{
    *slope = 1.0f;
    if (rule.keepPositive || rule.pot) {
        const float clamped = std::isnan(t) ? t : std::max(t, float(kMinThreshold));
        t = t + (clamped - t); // the straight-through clamp's value, rounded as before
    }
    if (rule.pot && std::isfinite(t) && t > 0) {
        const float p = potCeilOf(t);
        *slope = p / t;
        t = p;
    }
    return t / rule.divisor;
}

at::Tensor stepValues(const at::Tensor& threshold, const Rule& rule, at::Tensor* slopes)
{
    const auto t = threshold.detach().contiguous();
    auto step = at::empty_like(t);
    if (slopes != nullptr) {
        *slopes = at::empty_like(t);
    }
    const float* in = t.data_ptr<float>();
    float* out = step.data_ptr<float>();
    float* slope = slopes != nullptr ? slopes->data_ptr<float>() : nullptr;
    for (int64_t i = 0; i < t.numel(); ++i) {
        float s = 1;
        out[i] = stepOf(in[i], rule, &s);
        if (slope != nullptr) {
            slope[i] = s;
        }
    }
    return step;
}

struct ThresholdStep : public torch::autograd::Function<ThresholdStep> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& threshold, Rule rule,
                              double gradScale)
    {
        at::Tensor slopes;
        auto step = stepValues(threshold, rule, &slopes);
        // d step / d threshold per channel, the grad scale included.
        slopes.mul_(float(gradScale / double(rule.divisor)));
        ctx->save_for_backward({slopes});
        return step;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto slopes = ctx->get_saved_variables()[0];
        return {grads[0] * slopes, at::Tensor(), at::Tensor()};
    }
};

} // namespace

at::Tensor thresholdStep(const at::Tensor& threshold, double divisor, bool keepPositive, bool pot, double gradScale)
{
    if (!fusedKernels() || threshold.scalar_type() != at::kFloat) {
        return thresholdStepComposite(threshold, divisor, keepPositive, pot, gradScale);
    }
    const Rule rule{float(divisor), keepPositive, pot};
    if (!(at::GradMode::is_enabled() && threshold.requires_grad())) {
        return stepValues(threshold, rule, nullptr);
    }
    return ThresholdStep::apply(threshold, rule, gradScale);
}

} // namespace qat::quant::math
