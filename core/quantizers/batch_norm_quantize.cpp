// SPDX-License-Identifier: MIT
// math::quantizeBatchNorm: a BatchNorm, the clamp after it and the quantizer after that as one
// autograd node over the fused kernels (batch_norm_kernels.h), and the ops they stand for.
#include "quantizers/batch_norm_kernels.h"
#include "quantizers/fused_grid.h"
#include "quantizers/quant_math.h"

#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <vector>

namespace qat::quant::math {

using namespace detail;

namespace {

kernels::Layout normLayout(const at::Tensor& x)
{
    kernels::Layout layout;
    layout.outer = x.size(0);
    layout.channels = x.size(1);
    layout.inner = x.numel() / std::max<int64_t>(1, layout.outer * layout.channels);
    return layout;
}

// The per-channel tensors the kernels read: gamma and beta (undefined: none), and the batch
// statistics the forward writes and the backward reads.
struct NormTensors {
    at::Tensor gamma;
    at::Tensor beta;
    at::Tensor mean;
    at::Tensor invstd;
    double eps = 1e-5;

    kernels::Norm view(double* unbiasedVar = nullptr)
    {
        kernels::Norm norm;
        norm.gamma = gamma.defined() ? gamma.data_ptr<float>() : nullptr;
        norm.beta = beta.defined() ? beta.data_ptr<float>() : nullptr;
        norm.mean = mean.data_ptr<float>();
        norm.invstd = invstd.data_ptr<float>();
        norm.eps = eps;
        norm.unbiasedVar = unbiasedVar;
        return norm;
    }
};

at::Tensor valuesOrNone(const at::Tensor& t)
{
    return t.defined() && t.numel() > 0 ? channelValues(t) : at::Tensor();
}

// BatchNorm's forward with the quantizer under batch statistics: q, and the statistics in
// `norm`. The running ones move as batch_norm moves them (momentum, unbiased variance).
at::Tensor normValue(const at::Tensor& x, const GridTensors& grid, const BatchNormInput& bn, NormTensors& norm)
{
    const auto layout = normLayout(x);
    const auto channels = layout.channels;
    norm.mean = at::empty({channels}, at::kFloat);
    norm.invstd = at::empty({channels}, at::kFloat);
    norm.eps = bn.eps;
    std::vector<double> unbiased(size_t(channels), 0.0);
    auto q = at::empty_like(x, at::MemoryFormat::Contiguous);
    kernels::normForward(x.data_ptr<float>(), q.data_ptr<float>(), layout, norm.view(unbiased.data()), gridOf(grid),
                         grid.clamp);
    if (bn.runningMean.defined() && bn.runningVar.defined()) {
        // As batch_norm: momentum * batch + (1 - momentum) * running, in double.
        float* rm = bn.runningMean.data_ptr<float>();
        float* rv = bn.runningVar.data_ptr<float>();
        const float* mean = norm.mean.data_ptr<float>();
        const double m = bn.momentum;
        for (int64_t c = 0; c < channels; ++c) {
            rm[c] = float(m * double(mean[c]) + (1 - m) * double(rm[c]));
            rv[c] = float(m * unbiased[size_t(c)] + (1 - m) * double(rv[c]));
        }
    }
    return q;
}

// Inputs with gradients: x, gamma, beta, step, low (an empty tensor stands for "none").
struct FusedBatchNormQuantize : public torch::autograd::Function<FusedBatchNormQuantize> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& gamma,
                              const at::Tensor& beta, const at::Tensor& step, const at::Tensor& low, GridTensors grid,
                              ClipGradient mode, BatchNormInput bn)
    {
        const auto input = x.contiguous();
        NormTensors norm;
        norm.gamma = valuesOrNone(gamma);
        norm.beta = valuesOrNone(beta);
        auto q = normValue(input, grid, bn, norm);
        ctx->save_for_backward({input});
        saveGrid(ctx, grid);
        auto& d = ctx->saved_data;
        d["mode"] = int64_t(mode);
        d["norm_gamma"] = norm.gamma;
        d["norm_beta"] = norm.beta;
        d["norm_mean"] = norm.mean;
        d["norm_invstd"] = norm.invstd;
        d["gamma_shape"] = gamma.sizes().vec();
        d["beta_shape"] = beta.sizes().vec();
        d["step_shape"] = step.sizes().vec();
        d["low_shape"] = low.sizes().vec();
        return q;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list outputGrads)
    {
        const auto x = ctx->get_saved_variables()[0];
        const auto grid = savedGrid(ctx);
        auto& d = ctx->saved_data;
        const auto mode = ClipGradient(d["mode"].toInt());
        NormTensors norm;
        norm.gamma = d["norm_gamma"].toTensor();
        norm.beta = d["norm_beta"].toTensor();
        norm.mean = d["norm_mean"].toTensor();
        norm.invstd = d["norm_invstd"].toTensor();
        const auto g = outputGrads[0].contiguous();
        const auto channels = x.size(1);
        const bool wantGamma = ctx->needs_input_grad(1) && norm.gamma.defined();
        const bool wantBeta = ctx->needs_input_grad(2) && norm.beta.defined();
        const bool wantLow = ctx->needs_input_grad(4) && mode != ClipGradient::Straight && grid.low.defined();

        at::Tensor dx = ctx->needs_input_grad(0) ? at::empty_like(x) : at::Tensor();
        auto gammaSums = at::empty({channels}, at::kDouble);
        auto betaSums = at::empty({channels}, at::kDouble);
        auto stepSum = at::empty({1}, at::kDouble);
        auto lowSum = at::empty({1}, at::kDouble);
        kernels::NormGradients out;
        out.dx = dx.defined() ? dx.data_ptr<float>() : nullptr;
        out.dgamma = gammaSums.data_ptr<double>();
        out.dbeta = betaSums.data_ptr<double>();
        out.dstep = stepSum.data_ptr<double>();
        out.dlow = lowSum.data_ptr<double>();
        kernels::normBackward(x.data_ptr<float>(), g.data_ptr<float>(), normLayout(x), norm.view(), gridOf(grid),
                              ruleOf(mode), grid.clamp, out);
        const auto shaped = [&](const at::Tensor& sums, const char* key) {
            return sums.to(at::kFloat).reshape(d[key].toIntVector());
        };
        return {dx,
                wantGamma ? shaped(gammaSums, "gamma_shape") : at::Tensor(),
                wantBeta ? shaped(betaSums, "beta_shape") : at::Tensor(),
                ctx->needs_input_grad(3) ? shaped(stepSum, "step_shape") : at::Tensor(),
                wantLow ? shaped(lowSum, "low_shape") : at::Tensor(),
                at::Tensor(),
                at::Tensor(),
                at::Tensor()};
    }
};

bool floatChannels(const at::Tensor& t, int64_t channels)
{
    return !t.defined()
           || (t.scalar_type() == at::kFloat && t.numel() == channels && t.device().is_cpu() && t.is_contiguous());
}

// What the kernels take: batch statistics, a float CPU input [N, C, ...] (rows of any length:
// short ones run the block form), a per-tensor grid and float per-channel tensors.
bool kernelsTake(const at::Tensor& x, const at::Tensor& step, int64_t axis, const BatchNormInput& bn)
{
    if (!fusedApplies(x, step) || axis >= 0 || step.numel() != 1 || x.dim() < 2) {
        return false;
    }
    const auto channels = x.size(1);
    // Batch statistics only: with running ones (evaluation, frozen statistics) the ops run, so
    // an evaluated model and its export compute the same values bit for bit.
    return bn.training && floatChannels(bn.weight, channels)
           && floatChannels(bn.bias, channels) && floatChannels(bn.runningMean, channels)
           && floatChannels(bn.runningVar, channels);
}

} // namespace

at::Tensor batchNorm(const at::Tensor& x, const BatchNormInput& bn)
{
    return at::batch_norm(x, bn.weight, bn.bias, bn.runningMean, bn.runningVar, bn.training, bn.momentum, bn.eps,
                          false);
}

at::Tensor quantizeBatchNorm(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low,
                             const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode,
                             const InputClamp* clamp, const BatchNormInput& bn)
{
    if (!kernelsTake(x, step, axis, bn)) {
        return quantize(batchNorm(x, bn), step, low, zeroPoint, qmin, qmax, axis, mode, clamp);
    }
    const auto grid = gridTensors(step, low, zeroPoint, qmin, qmax, axis, clamp);
    const auto wants = [](const at::Tensor& t) { return t.defined() && t.requires_grad(); };
    const bool needsGrad = at::GradMode::is_enabled()
                           && (wants(x) || wants(step) || wants(low) || wants(bn.weight) || wants(bn.bias));
    if (!needsGrad) {
        NormTensors norm;
        norm.gamma = valuesOrNone(bn.weight);
        norm.beta = valuesOrNone(bn.bias);
        return normValue(x.detach().contiguous(), grid, bn, norm);
    }
    const auto none = at::empty({0}, step.options());
    return FusedBatchNormQuantize::apply(x, bn.weight.defined() ? bn.weight : none,
                                         bn.bias.defined() ? bn.bias : none, step, low.defined() ? low : none, grid,
                                         mode, bn);
}

} // namespace qat::quant::math
