// SPDX-License-Identifier: MIT
#pragma once
// The element arithmetic of the BatchNorm kernels, shared by the row form
// (batch_norm_kernels.cpp: a channel's rows) and the block form (batch_norm_blocks.cpp: a
// sample's channels at once, for short rows), inline so each file's loops vectorise with it.
// Include only from files built with the kernels' flags (-fopenmp -ffp-contract=off
// -fno-trapping-math). Internal.

#include "quantizers/batch_norm_kernels.h"
#include "quantizers/kernel_math.h"

namespace qat::quant::kernels::detail {

// One channel's normalisation as batch_norm computes it, and what its backward needs.
struct Affine {
    float alpha; // invstd * gamma
    float beta;  // bias - mean * alpha
    float mean;
    float invstd;
    float gamma;
};

inline Affine affineOf(const Norm& norm, int64_t c)
{
    Affine a;
    a.mean = norm.mean[c];
    a.invstd = norm.invstd[c];
    a.gamma = norm.gamma ? norm.gamma[c] : 1.0f;
    a.alpha = a.invstd * a.gamma;
    a.beta = (norm.beta ? norm.beta[c] : 0.0f) - a.mean * a.alpha;
    return a;
}

// The quantized value of BatchNorm's input x: quantize(clamp(x * alpha + beta)).
template <bool Clamped>
__attribute__((always_inline)) inline float normValue(float x, float alpha, float beta, Channel c, float qmin,
                                                      float qmax, Pre p)
{
    const float z = x * alpha + beta;
    const float y = Clamped ? clampValue(z, p) : z;
    return (clip(code(y, c.inv, c.zp), qmin, qmax) - c.zp) * c.step;
}

// The gradient reaching BatchNorm's output z: g where the quantizer (by its rule) and the
// clamp let it through, else 0; with the quantizer's own sums for dstep and dlow.
template <bool Clamped, bool AllInside>
__attribute__((always_inline)) inline float reachingZ(float xj, float gj, float alpha, float beta, Channel c,
                                                      float qmin, float qmax, float insideWeight, Pre p,
                                                      float& stepTerm, float& lowTerm)
{
    const float z = xj * alpha + beta;
    const float y = Clamped ? clampValue(z, p) : z;
    const bool inside = quantizerTerms<AllInside>(y, gj, c, qmin, qmax, insideWeight, stepTerm, lowTerm);
    const bool through = Clamped ? inside & passes(z, p) : inside;
    return through ? gj : 0.0f;
}

// dx through the batch statistics, from dz: (dz - mean(dz) - (x - mean) k) invstd gamma with
// k = sum((x - mean) dz) invstd^2 / M, in batch_norm's backward's order.
__attribute__((always_inline)) inline float dxOf(float xj, float dz, float mean, float gradMean, float k,
                                                 float invstd, float gamma)
{
    const float centred = (xj - mean) * k;
    return (dz - gradMean - centred) * invstd * gamma;
}

// One channel's end of the backward, from its sums of dz and of (x - mean) dz: dgamma and dbeta
// into out, and mean(dz) and k for dxOf.
struct ChannelEnd {
    float gradMean;
    float centredScale;
};

inline ChannelEnd channelEnd(double dz, double dot, float invstd, int64_t count, int64_t c, const NormGradients& out)
{
    if (out.dgamma != nullptr) {
        out.dgamma[c] = dot * double(invstd);
    }
    if (out.dbeta != nullptr) {
        out.dbeta[c] = dz;
    }
    return {float(dz / double(count)), float(dot) * invstd * invstd / float(count)};
}

// The quantizer's two sums into out: d/dstep (the sum of step terms over the step) and d/dlow.
inline void quantizerEnd(double step, double low, const Grid& grid, const NormGradients& out)
{
    if (out.dstep != nullptr) {
        out.dstep[0] = step / double(grid.step[0]);
    }
    if (out.dlow != nullptr) {
        out.dlow[0] = low;
    }
}

/// The block kernels (batch_norm_blocks.cpp): normForward and normBackward for rows shorter
/// than kShortRow values.
constexpr int64_t kShortRow = 32;
void normForwardBlocks(const float* x, float* q, const Layout& layout, const Norm& norm, const Grid& grid,
                       const InputClamp& clamp);
void normBackwardBlocks(const float* x, const float* g, const Layout& layout, const Norm& norm, const Grid& grid,
                        Rule rule, const InputClamp& clamp, NormGradients out);

} // namespace qat::quant::kernels::detail
