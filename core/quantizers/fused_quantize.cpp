// SPDX-License-Identifier: MIT
// math::quantize: the fused kernels as one autograd node, and the composite reference.
#include "quantizers/fused_grid.h"
#include "quantizers/fused_kernels.h"
#include "quantizers/quant_math.h"

#include <torch/csrc/autograd/custom_function.h>

#include <atomic>

namespace qat::quant::math {

using namespace detail;

namespace {

std::atomic<bool> g_fused{true};

// Inputs with gradients: x, step, low (an empty tensor stands for "no low end").
struct FusedQuantize : public torch::autograd::Function<FusedQuantize> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& step,
                              const at::Tensor& low, GridTensors grid, ClipGradient mode)
    {
        const auto input = x.contiguous();
        ctx->save_for_backward({input});
        saveGrid(ctx, grid);
        ctx->saved_data["mode"] = int64_t(mode);
        ctx->saved_data["step_shape"] = step.sizes().vec();
        ctx->saved_data["low_shape"] = low.sizes().vec();
        return fusedValue(input, grid);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list outputGrads)
    {
        const auto x = ctx->get_saved_variables()[0];
        const auto grid = savedGrid(ctx);
        const auto mode = ClipGradient(ctx->saved_data["mode"].toInt());
        // Straight through: dx is g itself, unless a fused clamp stops some of it.
        const bool dxIsG = mode == ClipGradient::Straight && !grid.clamp.on;
        const auto g = outputGrads[0].contiguous();
        const bool wantX = ctx->needs_input_grad(0);
        const bool wantStep = ctx->needs_input_grad(1);
        const bool wantLow = ctx->needs_input_grad(2) && mode != ClipGradient::Straight && grid.low.defined();

        at::Tensor dx;
        if (wantX) {
            dx = dxIsG ? g : at::empty_like(x);
        }
        at::Tensor dstep;
        at::Tensor dlow;
        if (wantStep || wantLow || (wantX && !dxIsG)) {
            const auto channels = grid.step.numel();
            auto stepSums = at::empty({channels}, at::kDouble);
            auto lowSums = at::empty({channels}, at::kDouble);
            kernels::Gradients out;
            out.dx = wantX && !dxIsG ? dx.data_ptr<float>() : nullptr;
            out.dstep = stepSums.data_ptr<double>();
            out.dlow = lowSums.data_ptr<double>();
            kernels::backward(x.data_ptr<float>(), g.data_ptr<float>(), layoutOf(x, grid.axis), gridOf(grid),
                              ruleOf(mode), out, grid.clamp);
            if (wantStep) {
                dstep = stepSums.to(at::kFloat).reshape(ctx->saved_data["step_shape"].toIntVector());
            }
            if (wantLow) {
                dlow = lowSums.to(at::kFloat).reshape(ctx->saved_data["low_shape"].toIntVector());
            }
        }
        return {dx, dstep, dlow, at::Tensor(), at::Tensor()};
    }
};

} // namespace

namespace detail {

kernels::InputClamp kernelClamp(const InputClamp* clamp)
{
    kernels::InputClamp k;
    if (clamp != nullptr) {
        k.on = true;
        k.low = float(clamp->low);
        k.hasHigh = clamp->high.has_value();
        k.high = k.hasHigh ? float(*clamp->high) : 0.0f;
    }
    return k;
}

kernels::Layout layoutOf(const at::Tensor& x, int64_t axis)
{
    kernels::Layout layout;
    if (axis < 0) {
        layout.inner = x.numel();
        return layout;
    }
    layout.channels = x.size(axis);
    for (int64_t d = 0; d < axis; ++d) {
        layout.outer *= x.size(d);
    }
    for (int64_t d = axis + 1; d < x.dim(); ++d) {
        layout.inner *= x.size(d);
    }
    return layout;
}

at::Tensor channelValues(const at::Tensor& t)
{
    return t.detach().reshape({-1}).to(at::kFloat).contiguous();
}

kernels::Grid gridOf(const GridTensors& t)
{
    kernels::Grid grid;
    grid.step = t.step.data_ptr<float>();
    grid.zeroPoint = t.zeroPoint.defined() ? t.zeroPoint.data_ptr<float>() : nullptr;
    grid.low = t.low.defined() ? t.low.data_ptr<float>() : nullptr;
    grid.sign = t.sign.defined() ? t.sign.data_ptr<float>() : nullptr;
    grid.qmin = float(t.qmin);
    grid.qmax = float(t.qmax);
    return grid;
}

kernels::Rule ruleOf(ClipGradient mode)
{
    switch (mode) {
    case ClipGradient::Straight: return kernels::Rule::Straight;
    case ClipGradient::Masked: return kernels::Rule::Masked;
    case ClipGradient::Pact: return kernels::Rule::Pact;
    }
    return kernels::Rule::Straight;
}

at::Tensor fusedValue(const at::Tensor& x, const GridTensors& grid)
{
    auto q = at::empty_like(x, at::MemoryFormat::Contiguous);
    kernels::forward(x.data_ptr<float>(), q.data_ptr<float>(), layoutOf(x, grid.axis), gridOf(grid), grid.clamp);
    return q;
}

void saveGrid(torch::autograd::AutogradContext* ctx, const GridTensors& grid)
{
    auto& d = ctx->saved_data;
    d["step"] = grid.step;
    d["zero"] = grid.zeroPoint;
    d["low"] = grid.low;
    d["sign"] = grid.sign;
    d["qmin"] = grid.qmin;
    d["qmax"] = grid.qmax;
    d["axis"] = grid.axis;
    d["clamp"] = grid.clamp.on;
    d["clamp_low"] = double(grid.clamp.low);
    d["clamp_has_high"] = grid.clamp.hasHigh;
    d["clamp_high"] = double(grid.clamp.high);
}

GridTensors savedGrid(torch::autograd::AutogradContext* ctx)
{
    auto& d = ctx->saved_data;
    GridTensors grid;
    grid.step = d["step"].toTensor();
    grid.zeroPoint = d["zero"].toTensor();
    grid.low = d["low"].toTensor();
    grid.sign = d["sign"].toTensor();
    grid.qmin = d["qmin"].toInt();
    grid.qmax = d["qmax"].toInt();
    grid.axis = d["axis"].toInt();
    grid.clamp.on = d["clamp"].toBool();
    grid.clamp.low = float(d["clamp_low"].toDouble());
    grid.clamp.hasHigh = d["clamp_has_high"].toBool();
    grid.clamp.high = float(d["clamp_high"].toDouble());
    return grid;
}

GridTensors gridTensors(const at::Tensor& step, const at::Tensor& low, const at::Tensor& zeroPoint, int64_t qmin,
                        int64_t qmax, int64_t axis, const InputClamp* clamp, const at::Tensor& sign)
{
    GridTensors grid;
    grid.step = channelValues(step);
    grid.zeroPoint = zeroPoint.defined() ? channelValues(zeroPoint) : at::Tensor();
    grid.low = low.defined() ? channelValues(low) : at::Tensor();
    grid.qmin = qmin;
    grid.qmax = qmax;
    grid.axis = axis;
    grid.clamp = kernelClamp(clamp);
    grid.sign = sign.defined() ? channelValues(sign) : at::Tensor();
    return grid;
}

bool fusedApplies(const at::Tensor& x, const at::Tensor& step)
{
    return g_fused.load(std::memory_order_relaxed) && x.scalar_type() == at::kFloat && x.device().is_cpu()
           && step.scalar_type() == at::kFloat && x.numel() > 0;
}

} // namespace detail

void setFusedKernels(bool on)
{
    g_fused.store(on);
}

bool fusedKernels()
{
    return g_fused.load();
}

at::Tensor applyInputClamp(const at::Tensor& x, const InputClamp& clamp)
{
    return clamp.high ? at::hardtanh(x, clamp.low, *clamp.high) : at::relu(x);
}

at::Tensor quantize(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low, const at::Tensor& zeroPoint,
                    int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode)
{
    return quantize(x, step, low, zeroPoint, qmin, qmax, axis, mode, nullptr);
}

at::Tensor quantize(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low, const at::Tensor& zeroPoint,
                    int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode, const InputClamp* clamp)
{
    return quantize(x, step, low, zeroPoint, qmin, qmax, axis, mode, clamp, at::Tensor());
}

at::Tensor quantize(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low, const at::Tensor& zeroPoint,
                    int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode, const InputClamp* clamp,
                    const at::Tensor& sign)
{
    // The kernels apply a sign per channel of the grid, not with a clamp.
    const bool kernelSign = !sign.defined() || (axis >= 0 && clamp == nullptr && sign.numel() == x.size(axis));
    if (!fusedApplies(x, step) || !kernelSign) {
        const auto input = clamp != nullptr ? applyInputClamp(x, *clamp) : x;
        if (sign.defined()) {
            return quantizeComposite(input * sign, step, low, zeroPoint, qmin, qmax, axis, mode) * sign;
        }
        return quantizeComposite(input, step, low, zeroPoint, qmin, qmax, axis, mode);
    }
    const auto grid = gridTensors(step, low, zeroPoint, qmin, qmax, axis, clamp, sign);
    const bool needsGrad = at::GradMode::is_enabled()
                           && (x.requires_grad() || step.requires_grad() || (low.defined() && low.requires_grad()));
    if (!needsGrad) {
        return fusedValue(x.detach().contiguous(), grid);
    }
    // An undefined low still needs a tensor argument; an empty one has no gradient edge.
    const auto lowArg = low.defined() ? low : at::empty({0}, step.options());
    return FusedQuantize::apply(x, step, lowArg, grid, mode);
}

at::Tensor quantizeComposite(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low,
                             const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode)
{
    const auto zero = zeroPoint.defined() ? zeroPoint : at::zeros_like(step.detach());
    const auto q = fakeQuantValue(x, step, zero, qmin, qmax, axis);
    return withQuantGradient(q, x, step, low, zero, qmin, qmax, mode);
}

} // namespace qat::quant::math
