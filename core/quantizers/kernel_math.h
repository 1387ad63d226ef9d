// SPDX-License-Identifier: MIT
#pragma once
// The element arithmetic the fused kernels share (fused_kernels.cpp, batch_norm_kernels.cpp),
// inline so each file's loops vectorise with it. Include only from files built with the
// kernels' flags (-fopenmp -ffp-contract=off -fno-trapping-math). Internal.

#include "quantizers/fused_kernels.h"

#include <cmath>
#include <limits>

// at::parallel_for is inline: compiled without OpenMP it runs every kernel on one thread.
#ifndef _OPENMP
#error "the fused kernels must be compiled with -fopenmp (see core/CMakeLists.txt)"
#endif

namespace qat::quant::kernels::detail {

// nearbyint in round-to-nearest-even without a libm call, so the loops vectorise: below 2^23
// adding and removing 2^23 leaves the nearest integer (ties to even); above, floats are integers.
inline float roundEven(float v)
{
    const float a = std::fabs(v);
    const float r = std::copysign((a + 8388608.0f) - 8388608.0f, v);
    return a < 8388608.0f ? r : v;
}

// The code before clipping, as LibTorch computes it: zp + nearbyint(x * inv).
inline float code(float x, float inv, float zp)
{
    return zp + roundEven(x * inv);
}

// Clip as LibTorch does after its int64 cast (a NaN code ends at qmin there too).
inline float clip(float v, float qmin, float qmax)
{
    v = v >= qmin ? v : qmin;
    return v <= qmax ? v : qmax;
}

struct Channel {
    float step;
    float inv;
    float zp;
    float low;
    float sign; // +1 or -1: multiplying by it is exact, so values stay bit-identical
};

// The input clamp as the loops use it: high is +inf and passHigh NaN without a high end, so
// the same compares serve ReLU and hardtanh (and a NaN input stays NaN, and passes).
struct Pre {
    float low;
    float high;
    float passHigh;
};

inline Pre preOf(const InputClamp& clamp)
{
    constexpr float inf = std::numeric_limits<float>::infinity();
    constexpr float nan = std::numeric_limits<float>::quiet_NaN();
    return {clamp.low, clamp.hasHigh ? clamp.high : inf, clamp.hasHigh ? clamp.high : nan};
}

inline float clampValue(float v, Pre p)
{
    v = v < p.low ? p.low : v;
    return v > p.high ? p.high : v;
}

// Where the clamp op's own backward lets the gradient through: threshold_backward and
// hardtanh_backward zero it at x <= low and x >= high.
inline bool passes(float v, Pre p)
{
    return !(v <= p.low) & !(v >= p.passHigh); // & not &&: no branch, so the loops vectorise
}

// The quantizer's backward at one element: y the value it quantized, g the gradient reaching
// its output. Returns whether the code lies within [qmin, qmax] (a NaN code does not); stepTerm
// gets g (q - y) inside (times insideWeight: 1, or 0 for PACT) and g (q - low) outside, lowTerm
// g outside. The rule's choice is a select of the factor, not of the sum's update: written as
// a conditional update, GCC kept the loops' sums in a stack array behind masked stores, and the
// LSQ backward took twice the straight-through one's time (README, speed).
template <bool AllInside>
__attribute__((always_inline)) inline bool quantizerTerms(float y, float g, Channel c, float qmin, float qmax,
                                                          float insideWeight, float& stepTerm, float& lowTerm)
{
    const float v = code(y, c.inv, c.zp);
    const float clipped = clip(v, qmin, qmax);
    const bool inside = AllInside || clipped == v;
    const float q = (clipped - c.zp) * c.step;
    stepTerm = g * (inside ? insideWeight * (q - y) : q - c.low);
    lowTerm = inside ? 0.0f : g;
    return inside;
}

inline Channel channel(const Grid& grid, int64_t c)
{
    const float step = grid.step[c];
    return {step, 1.0f / step, grid.zeroPoint ? grid.zeroPoint[c] : 0.0f, grid.low ? grid.low[c] : 0.0f,
            grid.sign ? grid.sign[c] : 1.0f};
}

} // namespace qat::quant::kernels::detail
