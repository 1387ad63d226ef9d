// SPDX-License-Identifier: MIT
#pragma once
// BatchNorm, an optional ReLU / hardtanh, and a per-tensor quantizer as one kernel each way:
// the activation quantizer after a BatchNorm that trains (engine/bn_fusion.h). Internal.
//
// x is viewed as [outer, channels, inner] with channels x's dimension 1 (BatchNorm's). The
// forward takes a channel per task: its statistics, its normalisation and its quantization
// run while its values are in the core's cache. The backward streams through memory in fixed
// chunks of rows. Rows shorter than 32 values (4x4 maps, BatchNorm1d) go to the block form
// (batch_norm_blocks.cpp), whose loops run over a sample's channels at once. Values follow LibTorch's CPU batch_norm (float arithmetic
// y = x * alpha + beta with alpha = invstd * gamma, beta = bias - mean * alpha; sums in
// double), then kernels::forward's quantizer, bit for bit on the same statistics.

#include "quantizers/fused_kernels.h"

namespace qat::quant::kernels {

/// The normalisation's parameters, one value per channel: batch statistics, as training
/// computes them (with running statistics the ops run, math::quantizeBatchNorm).
struct Norm {
    const float* gamma = nullptr; ///< null: 1
    const float* beta = nullptr;  ///< null: 0
    float* mean = nullptr;        ///< written by normForward, read by normBackward
    float* invstd = nullptr;      ///< 1 / sqrt(var + eps), likewise
    double eps = 1e-5;
    double* unbiasedVar = nullptr; ///< normForward: the unbiased variance (running statistics), or null
};

/// q = quantize(clamp(x * alpha + beta)) on a per-tensor grid (channel 0 of grid).
void normForward(const float* x, float* q, const Layout& layout, const Norm& norm, const Grid& grid,
                 const InputClamp& clamp);

/// Outputs of normBackward; a null pointer is not computed.
struct NormGradients {
    float* dx = nullptr;
    double* dstep = nullptr;  ///< one sum (the grid's step)
    double* dlow = nullptr;   ///< one sum
    double* dgamma = nullptr; ///< per channel
    double* dbeta = nullptr;  ///< per channel
};

/// The backward of normForward for g = dL/dq, with the statistics it wrote: the quantizer's
/// rule (kernels::backward), the clamp's mask, then batch_norm's backward through the batch
/// statistics.
void normBackward(const float* x, const float* g, const Layout& layout, const Norm& norm, const Grid& grid, Rule rule,
                  const InputClamp& clamp, NormGradients out);

} // namespace qat::quant::kernels
