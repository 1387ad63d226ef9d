// SPDX-License-Identifier: MIT
// Built with the flags of fused_kernels.cpp (-fopenmp -ffp-contract=off
// -fno-trapping-math, see core/CMakeLists.txt), for the same reasons: the loops vectorise and
// no multiply-add is contracted, so the values equal batch_norm's followed by the quantizer's.
#include "quantizers/batch_norm_kernels.h"
#include "quantizers/batch_norm_math.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace qat::quant::kernels {

namespace {

using namespace detail;

constexpr int64_t kBlock = 1024; // float sums are folded into doubles this often
constexpr int64_t kChunk = int64_t(1) << 15;       // elements per task of the backward, at least
constexpr int64_t kMaxPartials = int64_t(1) << 16; // per-chunk channel sums kept at most (of each kind)

template <bool Clamped>
__attribute__((always_inline)) inline void forwardLoop(const float* __restrict x, float* __restrict q, int64_t n,
                                                       Affine a, Channel c, float qmin, float qmax, Pre p)
{
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
        q[j] = normValue<Clamped>(x[j], a.alpha, a.beta, c, qmin, qmax, p);
    }
}

__attribute__((target_clones("avx2", "default"))) void forwardRow(const float* __restrict x, float* __restrict q,
                                                                     int64_t n, Affine a, Channel c, float qmin,
                                                                     float qmax, bool clamped, Pre p)
{
    if (clamped) {
        forwardLoop<true>(x, q, n, a, c, qmin, qmax, p);
    } else {
        forwardLoop<false>(x, q, n, a, c, qmin, qmax, p);
    }
}

struct Sums {
    float step = 0;
    float low = 0;
    float dz = 0;  // sum of dz: dbeta
    float dot = 0; // sum of (x - mean) dz: dgamma / invstd
};

// First sweep over a block: the sums, and dz into dx (when not null), which the second sweep
// turns into dx in place.
template <bool Clamped, bool AllInside, bool WriteDz>
__attribute__((always_inline)) inline Sums sumBlock(const float* __restrict x, const float* __restrict g,
                                                    float* __restrict dx, int64_t n, Affine a, Channel c, float qmin,
                                                    float qmax, float insideWeight, Pre p)
{
    float sStep = 0;
    float sLow = 0;
    float sDz = 0;
    float sDot = 0;
#pragma omp simd reduction(+ : sStep, sLow, sDz, sDot)
    for (int64_t j = 0; j < n; ++j) {
        float stepTerm;
        float lowTerm;
        const float dz = reachingZ<Clamped, AllInside>(x[j], g[j], a.alpha, a.beta, c, qmin, qmax, insideWeight, p,
                                                        stepTerm, lowTerm);
        sStep += stepTerm;
        sLow += lowTerm;
        sDz += dz;
        sDot += (x[j] - a.mean) * dz;
        if constexpr (WriteDz) {
            dx[j] = dz;
        }
    }
    return {sStep, sLow, sDz, sDot};
}

// Second sweep, through the batch statistics (dxOf), over the dz the first one left in dx.
__attribute__((target_clones("avx2", "default"))) void dxRow(const float* __restrict x, float* __restrict dx,
                                                                int64_t n, Affine a, float gradMean, float k)
{
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
        dx[j] = dxOf(x[j], dx[j], a.mean, gradMean, k, a.invstd, a.gamma);
    }
}

// rule: 0 straight, 1 masked, 2 pact (as Rule).
template <bool Clamped>
__attribute__((always_inline)) inline Sums sumRule(const float* x, const float* g, float* dx, int64_t n, Affine a,
                                                   Channel c, float qmin, float qmax, int rule, Pre p)
{
    const float w = rule == 2 ? 0.0f : 1.0f;
    if (rule == 0) {
        return dx ? sumBlock<Clamped, true, true>(x, g, dx, n, a, c, qmin, qmax, 1.0f, p)
                  : sumBlock<Clamped, true, false>(x, g, dx, n, a, c, qmin, qmax, 1.0f, p);
    }
    return dx ? sumBlock<Clamped, false, true>(x, g, dx, n, a, c, qmin, qmax, w, p)
              : sumBlock<Clamped, false, false>(x, g, dx, n, a, c, qmin, qmax, w, p);
}

__attribute__((target_clones("avx2", "default"))) Sums sumRow(const float* x, const float* g, float* dx, int64_t n,
                                                                 Affine a, Channel c, float qmin, float qmax, int rule,
                                                                 bool clamped, Pre p)
{
    return clamped ? sumRule<true>(x, g, dx, n, a, c, qmin, qmax, rule, p)
                   : sumRule<false>(x, g, dx, n, a, c, qmin, qmax, rule, p);
}

__attribute__((target_clones("avx2", "default"))) double rowSum(const float* __restrict x, int64_t n)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) {
        s += double(x[j]);
    }
    return s;
}

// Squares of (x - centre) in float, summed in double.
__attribute__((target_clones("avx2", "default"))) double rowSquares(const float* __restrict x, int64_t n, float centre)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < n; ++j) {
        const float d = x[j] - centre;
        s += double(d * d);
    }
    return s;
}

// One channel's batch statistics as batch_norm computes them: the mean, then the squares about
// it (a second sweep, from cache when the channel fits), both summed in double.
void channelMoments(const float* x, const Layout& layout, int64_t c, const Norm& norm)
{
    const int64_t inner = layout.inner;
    const int64_t stride = layout.channels * inner;
    const int64_t count = layout.outer * inner;
    double sum = 0;
    for (int64_t n = 0; n < layout.outer; ++n) {
        sum += rowSum(x + n * stride + c * inner, inner);
    }
    const float mean = float(sum / double(count));
    double squares = 0;
    for (int64_t n = 0; n < layout.outer; ++n) {
        squares += rowSquares(x + n * stride + c * inner, inner, mean);
    }
    norm.mean[c] = mean;
    norm.invstd[c] = float(1.0 / std::sqrt(squares / double(count) + norm.eps));
    if (norm.unbiasedVar != nullptr) {
        norm.unbiasedVar[c] = count > 1 ? squares / double(count - 1) : squares;
    }
}

} // namespace

void normForward(const float* x, float* q, const Layout& layout, const Norm& norm, const Grid& grid,
                 const InputClamp& clamp)
{
    if (layout.inner < kShortRow) {
        normForwardBlocks(x, q, layout, norm, grid, clamp);
        return;
    }
    const Pre pre = preOf(clamp);
    const Channel ch = channel(grid, 0);
    const int64_t inner = layout.inner;
    const int64_t stride = layout.channels * inner;
    // Tasks of whole channels, at least kChunk values each: a small tensor stays on one thread.
    const int64_t grain = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, layout.outer * inner));
    at::parallel_for(0, layout.channels, grain, [&](int64_t first, int64_t last) {
        for (int64_t c = first; c < last; ++c) {
            channelMoments(x, layout, c, norm);
            const Affine a = affineOf(norm, c);
            for (int64_t n = 0; n < layout.outer; ++n) {
                const int64_t at = n * stride + c * inner;
                forwardRow(x + at, q + at, inner, a, ch, grid.qmin, grid.qmax, clamp.on, pre);
            }
        }
    });
}

void normBackward(const float* x, const float* g, const Layout& layout, const Norm& norm, const Grid& grid, Rule rule,
                  const InputClamp& clamp, NormGradients out)
{
    if (layout.inner < kShortRow) {
        normBackwardBlocks(x, g, layout, norm, grid, rule, clamp, out);
        return;
    }
    const Pre pre = preOf(clamp);
    const Channel ch = channel(grid, 0);
    const int64_t channels = layout.channels;
    const int64_t inner = layout.inner;
    const int64_t rows = layout.outer * channels;
    const int64_t count = layout.outer * inner;
    // Rows (one sample, one channel) in memory order, in chunks of a fixed size: both sweeps
    // stream through memory (a channel's rows lie a sample apart, and short ones, 7x7 or 4x4,
    // defeat the hardware prefetcher when walked by channel), and each chunk keeps its own
    // per-channel sums, added in chunk order: the result does not depend on the thread count.
    // Chunks grow past kChunk when there are many channels, so the partial sums (chunks x
    // channels) stay small: [256, 1280, 4, 4] would otherwise allocate and add 13 MB of them.
    const int64_t forPartials = (rows * channels + kMaxPartials - 1) / kMaxPartials;
    const int64_t rowsPerChunk = std::max({int64_t(1), kChunk / inner, forPartials});
    const int64_t chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
    enum { kStep, kLow, kDz, kDot, kSums };
    std::vector<double> parts(size_t(chunks * channels * kSums), 0.0);
    std::vector<Affine> affine(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
        affine[size_t(c)] = affineOf(norm, c);
    }
    at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
        for (int64_t k = first; k < last; ++k) {
            double* part = parts.data() + k * channels * kSums;
            for (int64_t r = k * rowsPerChunk; r < std::min(rows, (k + 1) * rowsPerChunk); ++r) {
                const int64_t c = r % channels;
                const Affine& a = affine[size_t(c)];
                double* sums = part + c * kSums;
                for (int64_t p = r * inner; p < (r + 1) * inner; p += kBlock) {
                    const int64_t len = std::min(kBlock, (r + 1) * inner - p);
                    const Sums s = sumRow(x + p, g + p, out.dx ? out.dx + p : nullptr, len, a, ch, grid.qmin,
                                          grid.qmax, int(rule), clamp.on, pre);
                    sums[kStep] += s.step;
                    sums[kLow] += s.low;
                    sums[kDz] += s.dz;
                    sums[kDot] += s.dot;
                }
            }
        }
    });
    double step = 0;
    double low = 0;
    std::vector<float> gradMean(static_cast<size_t>(channels));
    std::vector<float> centredScale(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
        double sums[kSums] = {0, 0, 0, 0};
        for (int64_t k = 0; k < chunks; ++k) {
            for (int i = 0; i < kSums; ++i) {
                sums[i] += parts[size_t((k * channels + c) * kSums + i)];
            }
        }
        step += sums[kStep];
        low += sums[kLow];
        const ChannelEnd end = channelEnd(sums[kDz], sums[kDot], affine[size_t(c)].invstd, count, c, out);
        gradMean[size_t(c)] = end.gradMean;
        centredScale[size_t(c)] = end.centredScale;
    }
    if (out.dx != nullptr) {
        at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
            for (int64_t r = first * rowsPerChunk; r < std::min(rows, last * rowsPerChunk); ++r) {
                const int64_t c = r % channels;
                dxRow(x + r * inner, out.dx + r * inner, inner, affine[size_t(c)], gradMean[size_t(c)],
                      centredScale[size_t(c)]);
            }
        });
    }
    quantizerEnd(step, low, grid, out);
}

} // namespace qat::quant::kernels
