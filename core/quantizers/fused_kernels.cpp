// SPDX-License-Identifier: MIT
// Built with -fopenmp -ffp-contract=off -fno-trapping-math (see core/CMakeLists.txt):
// the loops vectorise, at::parallel_for splits them over LibTorch's OpenMP threads, nothing
// is contracted into an FMA (values must stay bit-identical to LibTorch's kernels), and each
// function is also compiled for AVX2, picked at load time.
#include "quantizers/fused_kernels.h"
#include "quantizers/kernel_math.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace qat::quant::kernels {

namespace {

using namespace detail;

constexpr int64_t kMinChunk = int64_t(1) << 15; // elements per task
constexpr int64_t kMaxPartials = int64_t(1) << 20; // per-chunk channel sums kept at most
constexpr int64_t kBlock = 1024;                   // float sums are folded into doubles this often

template <bool Clamped>
__attribute__((always_inline)) inline void forwardLoop(const float* __restrict x, float* __restrict q, int64_t n,
                                                       Channel c, float qmin, float qmax, Pre p)
{
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
        const float v = Clamped ? clampValue(x[j], p) : x[j] * c.sign;
        q[j] = (clip(code(v, c.inv, c.zp), qmin, qmax) - c.zp) * c.step * c.sign;
    }
}

__attribute__((target_clones("avx2", "default"))) void forwardSpan(const float* __restrict x, float* __restrict q,
                                                                      int64_t n, Channel c, float qmin, float qmax)
{
    forwardLoop<false>(x, q, n, c, qmin, qmax, {});
}

__attribute__((target_clones("avx2", "default"))) void forwardSpanClamped(const float* __restrict x,
                                                                             float* __restrict q, int64_t n, Channel c,
                                                                             float qmin, float qmax, Pre p)
{
    forwardLoop<true>(x, q, n, c, qmin, qmax, p);
}

// Sums of g * (q - x) [inside] and g * (q - low) [outside] for dstep (divided by the step later),
// and of g [outside] for dlow; dx (g inside, 0 outside) written in the same pass when WriteDx:
// the backward is memory-bound, and a second pass over x and g cost LSQ steps ~40 % more here.
// Clamped: x is clamped first and dx is also 0 where the clamp's backward stops it. Straight
// (insideWeight 1, AllInside) counts every element as inside.
template <bool WriteDx, bool Clamped, bool AllInside>
__attribute__((always_inline)) inline void clippedBlock(const float* __restrict x, const float* __restrict g,
                                                        float* __restrict dx, int64_t n, Channel c, float qmin,
                                                        float qmax, float insideWeight, Pre p, float* stepSum,
                                                        float* lowSum)
{
    float sStep = 0;
    float sLow = 0;
#pragma omp simd reduction(+ : sStep, sLow)
    for (int64_t j = 0; j < n; ++j) {
        // With a sign s, the quantizer sees s x and its gradient s g; dx = s (s g) = g.
        const float xj = Clamped ? clampValue(x[j], p) : x[j] * c.sign;
        float stepTerm;
        float lowTerm;
        const bool inside =
            quantizerTerms<AllInside>(xj, g[j] * c.sign, c, qmin, qmax, insideWeight, stepTerm, lowTerm);
        sStep += stepTerm;
        sLow += lowTerm;
        if constexpr (WriteDx) {
            const bool through = Clamped ? inside & passes(x[j], p) : inside;
            dx[j] = through ? g[j] : 0.0f;
        }
    }
    *stepSum = sStep;
    *lowSum = sLow;
}

template <bool Clamped>
__attribute__((always_inline)) inline void backwardRule(const float* __restrict x, const float* __restrict g,
                                                        float* __restrict dx, int64_t n, Channel c, float qmin,
                                                        float qmax, int rule, Pre p, float* stepSum, float* lowSum)
{
    // rule: 0 straight, 1 masked, 2 pact (as Rule)
    if (rule == 0) {
        if (dx != nullptr && Clamped) {
            clippedBlock<true, Clamped, true>(x, g, dx, n, c, qmin, qmax, 1.0f, p, stepSum, lowSum);
        } else {
            clippedBlock<false, Clamped, true>(x, g, dx, n, c, qmin, qmax, 1.0f, p, stepSum, lowSum);
            if (dx != nullptr) {
                std::copy(g, g + n, dx);
            }
        }
        *lowSum = 0;
        return;
    }
    const float insideWeight = rule == 2 ? 0.0f : 1.0f;
    if (dx != nullptr) {
        clippedBlock<true, Clamped, false>(x, g, dx, n, c, qmin, qmax, insideWeight, p, stepSum, lowSum);
    } else {
        clippedBlock<false, Clamped, false>(x, g, dx, n, c, qmin, qmax, insideWeight, p, stepSum, lowSum);
    }
}

__attribute__((target_clones("avx2", "default"))) void backwardBlock(const float* __restrict x,
                                                                        const float* __restrict g,
                                                                        float* __restrict dx, int64_t n, Channel c,
                                                                        float qmin, float qmax, int rule,
                                                                        float* stepSum, float* lowSum)
{
    backwardRule<false>(x, g, dx, n, c, qmin, qmax, rule, {}, stepSum, lowSum);
}

__attribute__((target_clones("avx2", "default"))) void backwardBlockClamped(const float* __restrict x,
                                                                               const float* __restrict g,
                                                                               float* __restrict dx, int64_t n,
                                                                               Channel c, float qmin, float qmax,
                                                                               int rule, Pre p, float* stepSum,
                                                                               float* lowSum)
{
    backwardRule<true>(x, g, dx, n, c, qmin, qmax, rule, p, stepSum, lowSum);
}

// gradientMaps' loop: the per-element terms clippedBlock sums (g = 1), stored instead.
template <bool AllInside>
__attribute__((always_inline)) inline void mapLoop(const float* __restrict x, float* __restrict stepMap,
                                                   float* __restrict lowMap, int64_t n, Channel c, float qmin,
                                                   float qmax, float insideWeight)
{
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
        float stepTerm;
        float lowTerm;
        quantizerTerms<AllInside>(x[j], 1.0f, c, qmin, qmax, insideWeight, stepTerm, lowTerm);
        stepMap[j] = stepTerm;
        if (lowMap != nullptr) {
            lowMap[j] = lowTerm;
        }
    }
}

__attribute__((target_clones("avx2", "default"))) void mapSpan(const float* __restrict x, float* __restrict stepMap,
                                                                  float* __restrict lowMap, int64_t n, Channel c,
                                                                  float qmin, float qmax, int rule)
{
    if (rule == 0) {
        mapLoop<true>(x, stepMap, nullptr, n, c, qmin, qmax, 1.0f);
        if (lowMap != nullptr) {
            std::fill(lowMap, lowMap + n, 0.0f);
        }
    } else {
        mapLoop<false>(x, stepMap, lowMap, n, c, qmin, qmax, rule == 2 ? 0.0f : 1.0f);
    }
}

int64_t chunkSize(const Layout& layout)
{
    const int64_t forPartials = (layout.numel() * layout.channels + kMaxPartials - 1) / kMaxPartials;
    return std::max(kMinChunk, forPartials);
}

// Calls span(begin, end, channel) for the runs of one channel inside [begin, end).
template <typename Span>
void forEachRun(const Layout& layout, int64_t begin, int64_t end, Span&& span)
{
    for (int64_t p = begin; p < end;) {
        const int64_t row = p / layout.inner;
        const int64_t stop = std::min(end, (row + 1) * layout.inner);
        span(p, stop, row % layout.channels);
        p = stop;
    }
}

} // namespace

void forward(const float* x, float* q, const Layout& layout, const Grid& grid, const InputClamp& clamp)
{
    const Pre pre = preOf(clamp);
    at::parallel_for(0, layout.numel(), kMinChunk, [&](int64_t begin, int64_t end) {
        forEachRun(layout, begin, end, [&](int64_t b, int64_t e, int64_t c) {
            if (clamp.on) {
                forwardSpanClamped(x + b, q + b, e - b, channel(grid, c), grid.qmin, grid.qmax, pre);
            } else {
                forwardSpan(x + b, q + b, e - b, channel(grid, c), grid.qmin, grid.qmax);
            }
        });
    });
}

void gradientMaps(const float* x, const Layout& layout, const Grid& grid, Rule rule, float* stepMap, float* lowMap)
{
    at::parallel_for(0, layout.numel(), kMinChunk, [&](int64_t begin, int64_t end) {
        forEachRun(layout, begin, end, [&](int64_t b, int64_t e, int64_t c) {
            mapSpan(x + b, stepMap + b, lowMap != nullptr ? lowMap + b : nullptr, e - b, channel(grid, c), grid.qmin,
                    grid.qmax, int(rule));
        });
    });
}

void backward(const float* x, const float* g, const Layout& layout, const Grid& grid, Rule rule, Gradients out,
              const InputClamp& clamp)
{
    const Pre pre = preOf(clamp);
    const int64_t total = layout.numel();
    const int64_t channels = layout.channels;
    const int64_t chunk = chunkSize(layout);
    const int64_t chunks = std::max<int64_t>(1, (total + chunk - 1) / chunk);
    // Fixed chunks and a fixed order of summing them: the result does not depend on the thread count.
    std::vector<double> stepParts(size_t(chunks * channels), 0.0);
    std::vector<double> lowParts(size_t(chunks * channels), 0.0);
    at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
        for (int64_t k = first; k < last; ++k) {
            double* stepPart = stepParts.data() + k * channels;
            double* lowPart = lowParts.data() + k * channels;
            forEachRun(layout, k * chunk, std::min(total, (k + 1) * chunk), [&](int64_t b, int64_t e, int64_t c) {
                const Channel ch = channel(grid, c);
                for (int64_t p = b; p < e; p += kBlock) {
                    const int64_t n = std::min(kBlock, e - p);
                    float s = 0;
                    float l = 0;
                    float* dx = out.dx ? out.dx + p : nullptr;
                    if (clamp.on) {
                        backwardBlockClamped(x + p, g + p, dx, n, ch, grid.qmin, grid.qmax, int(rule), pre, &s, &l);
                    } else {
                        backwardBlock(x + p, g + p, dx, n, ch, grid.qmin, grid.qmax, int(rule), &s, &l);
                    }
                    stepPart[c] += s;
                    lowPart[c] += l;
                }
            });
        }
    });
    for (int64_t c = 0; c < channels; ++c) {
        double s = 0;
        double l = 0;
        for (int64_t k = 0; k < chunks; ++k) {
            s += stepParts[size_t(k * channels + c)];
            l += lowParts[size_t(k * channels + c)];
        }
        if (out.dstep != nullptr) {
            out.dstep[c] = s / double(grid.step[c]);
        }
        if (out.dlow != nullptr) {
            out.dlow[c] = l;
        }
    }
}

} // namespace qat::quant::kernels
