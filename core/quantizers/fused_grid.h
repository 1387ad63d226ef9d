// SPDX-License-Identifier: MIT
#pragma once
// The fused kernels' view of a grid given as tensors, shared by math::quantize and
// math::quantizeIntoConv. Internal.

#include "quantizers/fused_kernels.h"
#include "quantizers/quant_math.h"

#include <ATen/ATen.h>

namespace torch::autograd {
struct AutogradContext;
}

namespace qat::quant::math::detail {

struct GridTensors {
    at::Tensor step;      // [C] float, contiguous
    at::Tensor zeroPoint; // [C] or undefined
    at::Tensor low;       // [C] or undefined
    at::Tensor sign;      // [C] or undefined
    int64_t qmin = 0;
    int64_t qmax = 0;
    int64_t axis = -1;
    kernels::InputClamp clamp;
};

/// An autograd node keeps its grid between forward and backward.
void saveGrid(torch::autograd::AutogradContext* ctx, const GridTensors& grid);
GridTensors savedGrid(torch::autograd::AutogradContext* ctx);
/// The kernels' grid of quantize()'s arguments (clamp may be null, sign undefined).
GridTensors gridTensors(const at::Tensor& step, const at::Tensor& low, const at::Tensor& zeroPoint, int64_t qmin,
                        int64_t qmax, int64_t axis, const InputClamp* clamp, const at::Tensor& sign = {});
kernels::InputClamp kernelClamp(const InputClamp* clamp);
kernels::Layout layoutOf(const at::Tensor& x, int64_t axis);
/// The values of a per-channel parameter as a contiguous float vector, detached.
at::Tensor channelValues(const at::Tensor& t);
kernels::Grid gridOf(const GridTensors& t);
kernels::Rule ruleOf(ClipGradient mode);
/// The fused kernel's forward on a contiguous float x.
at::Tensor fusedValue(const at::Tensor& x, const GridTensors& grid);
/// Whether the fused kernels take x and step (float, CPU, not empty, and switched on).
bool fusedApplies(const at::Tensor& x, const at::Tensor& step);

} // namespace qat::quant::math::detail
