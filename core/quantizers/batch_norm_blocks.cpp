// SPDX-License-Identifier: MIT
// The BatchNorm kernels (batch_norm_kernels.h) for short rows: a sample's channel holds fewer
// than kShortRow values (4x4 and 2x2 maps deep in a network at 64x64, BatchNorm1d's one).
// Walked a channel's row at a time, such rows leave the loops 4 or 16 iterations long; here
// every loop runs over a sample's whole [channels, inner] block instead, with each channel's
// parameters spread over its positions. Per-channel sums are first summed per position over
// the samples of a chunk, then folded per channel; chunks are fixed and added in order, so the
// result does not depend on the thread count. Same values as the row form, on the same
// statistics; built with its flags (core/CMakeLists.txt).
#include "quantizers/batch_norm_math.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace qat::quant::kernels::detail {

namespace {

constexpr int64_t kBlock = 1024;                   // float sums are folded into doubles this often
constexpr int64_t kChunk = int64_t(1) << 15;       // values per task, at least one sample
constexpr int64_t kMaxPartials = int64_t(1) << 16; // per-chunk channel sums kept at most
constexpr int64_t kFloatSamples = 16; // the backward's float sums per position run over this many samples

// Samples are taken in chunks of this many.
int64_t samplesPerChunk(const Layout& layout)
{
    const int64_t block = layout.channels * layout.inner;
    const int64_t forPartials = (layout.outer * layout.channels + kMaxPartials - 1) / kMaxPartials;
    return std::max({int64_t(1), kChunk / std::max<int64_t>(1, block), forPartials});
}

// A per-channel value spread over a block's positions.
std::vector<float> spread(const Layout& layout, const float* perChannel, float otherwise)
{
    std::vector<float> out(static_cast<size_t>(layout.channels * layout.inner));
    for (int64_t c = 0; c < layout.channels; ++c) {
        std::fill_n(out.begin() + c * layout.inner, layout.inner, perChannel ? perChannel[c] : otherwise);
    }
    return out;
}

// Each channel's alpha and beta (Affine) spread over its positions.
void spreadAffine(const Layout& layout, const Norm& norm, std::vector<float>& alpha, std::vector<float>& beta)
{
    alpha.assign(static_cast<size_t>(layout.channels * layout.inner), 0.0f);
    beta.assign(alpha.size(), 0.0f);
    for (int64_t c = 0; c < layout.channels; ++c) {
        const Affine a = affineOf(norm, c);
        std::fill_n(alpha.begin() + c * layout.inner, layout.inner, a.alpha);
        std::fill_n(beta.begin() + c * layout.inner, layout.inner, a.beta);
    }
}

// acc[p] holds a sum over samples of one position: adds them up per channel, into
// perChannel[c * stride].
template <typename T>
void addPerChannel(const std::vector<T>& acc, const Layout& layout, double* perChannel, int64_t stride = 1)
{
    for (int64_t c = 0; c < layout.channels; ++c) {
        double s = 0;
        for (int64_t j = 0; j < layout.inner; ++j) {
            s += double(acc[size_t(c * layout.inner + j)]);
        }
        perChannel[c * stride] += s;
    }
}

__attribute__((target_clones("avx2", "default"))) void addValues(const float* __restrict x, double* __restrict acc,
                                                                    int64_t n)
{
#pragma omp simd
    for (int64_t p = 0; p < n; ++p) {
        acc[p] += double(x[p]);
    }
}

// Squares of (x - centre) in float, summed in double (as the row form does).
__attribute__((target_clones("avx2", "default"))) void addSquares(const float* __restrict x,
                                                                     const float* __restrict centre,
                                                                     double* __restrict acc, int64_t n)
{
#pragma omp simd
    for (int64_t p = 0; p < n; ++p) {
        const float d = x[p] - centre[p];
        acc[p] += double(d * d);
    }
}

// Per channel, the sum over every sample of add(sample's block, acc): chunk by chunk in parallel,
// the chunks' sums added in order.
template <typename Add>
std::vector<double> sumPerChannel(const Layout& layout, Add add)
{
    const int64_t block = layout.channels * layout.inner;
    const int64_t per = samplesPerChunk(layout);
    const int64_t chunks = (layout.outer + per - 1) / per;
    std::vector<double> parts(static_cast<size_t>(chunks * layout.channels), 0.0);
    at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
        std::vector<double> acc(static_cast<size_t>(block));
        for (int64_t k = first; k < last; ++k) {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t n = k * per; n < std::min(layout.outer, (k + 1) * per); ++n) {
                add(n * block, acc.data());
            }
            addPerChannel(acc, layout, parts.data() + k * layout.channels);
        }
    });
    std::vector<double> sums(static_cast<size_t>(layout.channels), 0.0);
    for (int64_t k = 0; k < chunks; ++k) {
        for (int64_t c = 0; c < layout.channels; ++c) {
            sums[size_t(c)] += parts[size_t(k * layout.channels + c)];
        }
    }
    return sums;
}

template <bool Clamped>
__attribute__((always_inline)) inline void forwardLoop(const float* __restrict x, float* __restrict q,
                                                       const float* __restrict alpha, const float* __restrict beta,
                                                       int64_t n, Channel c, float qmin, float qmax, Pre p)
{
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
        q[j] = normValue<Clamped>(x[j], alpha[j], beta[j], c, qmin, qmax, p);
    }
}

__attribute__((target_clones("avx2", "default"))) void forwardBlock(const float* x, float* q, const float* alpha,
                                                                       const float* beta, int64_t n, Channel c,
                                                                       float qmin, float qmax, bool clamped, Pre p)
{
    if (clamped) {
        forwardLoop<true>(x, q, alpha, beta, n, c, qmin, qmax, p);
    } else {
        forwardLoop<false>(x, q, alpha, beta, n, c, qmin, qmax, p);
    }
}

// The spread parameters of the backward's first sweep, from a position on.
struct Spread {
    const float* alpha;
    const float* beta;
    const float* mean;
    Spread from(int64_t p) const { return {alpha + p, beta + p, mean + p}; }
};

struct BlockSums {
    float step = 0;
    float low = 0;
};

// First sweep over one sample's block: the quantizer's sums returned, sum(dz) and
// sum((x - mean) dz) added per position into dz and dot, dz left in dx (when not null).
template <bool Clamped, bool AllInside, bool WriteDz>
__attribute__((always_inline)) inline BlockSums sumLoop(const float* __restrict x, const float* __restrict g,
                                                        float* __restrict dx, Spread s,
                                                        float* __restrict dzSum, float* __restrict dotSum,
                                                        int64_t n, Channel c, float qmin, float qmax,
                                                        float insideWeight, Pre p)
{
    const float* __restrict alpha = s.alpha;
    const float* __restrict beta = s.beta;
    const float* __restrict mean = s.mean;
    float sStep = 0;
    float sLow = 0;
#pragma omp simd reduction(+ : sStep, sLow)
    for (int64_t j = 0; j < n; ++j) {
        float stepTerm;
        float lowTerm;
        const float dz = reachingZ<Clamped, AllInside>(x[j], g[j], alpha[j], beta[j], c, qmin, qmax, insideWeight,
                                                       p, stepTerm, lowTerm);
        sStep += stepTerm;
        sLow += lowTerm;
        dzSum[j] += dz;
        dotSum[j] += (x[j] - mean[j]) * dz;
        if constexpr (WriteDz) {
            dx[j] = dz;
        }
    }
    return {sStep, sLow};
}

// rule: 0 straight, 1 masked, 2 pact (as Rule).
template <bool Clamped>
__attribute__((always_inline)) inline BlockSums sumRule(const float* x, const float* g, float* dx, Spread s,
                                                        float* dzSum, float* dotSum, int64_t n, Channel c,
                                                        float qmin, float qmax, int rule, Pre p)
{
    const float w = rule == 2 ? 0.0f : 1.0f;
    if (rule == 0) {
        return dx ? sumLoop<Clamped, true, true>(x, g, dx, s, dzSum, dotSum, n, c, qmin, qmax, 1.0f, p)
                  : sumLoop<Clamped, true, false>(x, g, dx, s, dzSum, dotSum, n, c, qmin, qmax, 1.0f, p);
    }
    return dx ? sumLoop<Clamped, false, true>(x, g, dx, s, dzSum, dotSum, n, c, qmin, qmax, w, p)
              : sumLoop<Clamped, false, false>(x, g, dx, s, dzSum, dotSum, n, c, qmin, qmax, w, p);
}

__attribute__((target_clones("avx2", "default"))) BlockSums sumBlock(const float* x, const float* g, float* dx,
                                                                        Spread s, float* dzSum,
                                                                        float* dotSum, int64_t n, Channel c,
                                                                        float qmin, float qmax, int rule,
                                                                        bool clamped, Pre p)
{
    return clamped ? sumRule<true>(x, g, dx, s, dzSum, dotSum, n, c, qmin, qmax, rule, p)
                   : sumRule<false>(x, g, dx, s, dzSum, dotSum, n, c, qmin, qmax, rule, p);
}

// The second sweep over one sample's block (dxOf), over the dz the first one left in dx.
__attribute__((target_clones("avx2", "default"))) void dxBlock(const float* __restrict x, float* __restrict dx,
                                                                  const float* __restrict mean,
                                                                  const float* __restrict gradMean,
                                                                  const float* __restrict k,
                                                                  const float* __restrict invstd,
                                                                  const float* __restrict gamma, int64_t n)
{
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
        dx[j] = dxOf(x[j], dx[j], mean[j], gradMean[j], k[j], invstd[j], gamma[j]);
    }
}

} // namespace

void normForwardBlocks(const float* x, float* q, const Layout& layout, const Norm& norm, const Grid& grid,
                       const InputClamp& clamp)
{
    const int64_t block = layout.channels * layout.inner;
    const int64_t count = layout.outer * layout.inner;
    // The statistics as the row form computes them: the mean, then the squares about it.
    const auto sums = sumPerChannel(layout, [&](int64_t at, double* acc) { addValues(x + at, acc, block); });
    for (int64_t c = 0; c < layout.channels; ++c) {
        norm.mean[c] = float(sums[size_t(c)] / double(count));
    }
    const auto centre = spread(layout, norm.mean, 0.0f);
    const auto squares = sumPerChannel(
        layout, [&](int64_t at, double* acc) { addSquares(x + at, centre.data(), acc, block); });
    for (int64_t c = 0; c < layout.channels; ++c) {
        const double s = squares[size_t(c)];
        norm.invstd[c] = float(1.0 / std::sqrt(s / double(count) + norm.eps));
        if (norm.unbiasedVar != nullptr) {
            norm.unbiasedVar[c] = count > 1 ? s / double(count - 1) : s;
        }
    }
    std::vector<float> alpha;
    std::vector<float> beta;
    spreadAffine(layout, norm, alpha, beta);
    const Pre pre = preOf(clamp);
    const Channel ch = channel(grid, 0);
    at::parallel_for(0, layout.outer, samplesPerChunk(layout), [&](int64_t first, int64_t last) {
        for (int64_t n = first; n < last; ++n) {
            forwardBlock(x + n * block, q + n * block, alpha.data(), beta.data(), block, ch, grid.qmin, grid.qmax,
                         clamp.on, pre);
        }
    });
}

void normBackwardBlocks(const float* x, const float* g, const Layout& layout, const Norm& norm, const Grid& grid,
                        Rule rule, const InputClamp& clamp, NormGradients out)
{
    const int64_t channels = layout.channels;
    const int64_t inner = layout.inner;
    const int64_t block = channels * inner;
    const int64_t count = layout.outer * inner;
    const int64_t per = samplesPerChunk(layout);
    const int64_t chunks = (layout.outer + per - 1) / per;
    const Pre pre = preOf(clamp);
    const Channel ch = channel(grid, 0);
    std::vector<float> alpha;
    std::vector<float> beta;
    spreadAffine(layout, norm, alpha, beta);
    const auto mean = spread(layout, norm.mean, 0.0f);
    const Spread s{alpha.data(), beta.data(), mean.data()};
    // Per chunk: its dz and dot sums per channel, and the quantizer's two sums.
    enum { kDz, kDot, kSums };
    std::vector<double> parts(size_t(chunks * channels * kSums), 0.0);
    std::vector<double> quantizerParts(size_t(chunks * 2), 0.0);
    at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
        std::vector<float> dzSum(static_cast<size_t>(block));
        std::vector<float> dotSum(static_cast<size_t>(block));
        for (int64_t k = first; k < last; ++k) {
            double* part = parts.data() + k * channels * kSums;
            const int64_t end = std::min(layout.outer, (k + 1) * per);
            for (int64_t group = k * per; group < end; group += kFloatSamples) {
                std::fill(dzSum.begin(), dzSum.end(), 0.0f);
                std::fill(dotSum.begin(), dotSum.end(), 0.0f);
                for (int64_t n = group; n < std::min(end, group + kFloatSamples); ++n) {
                    for (int64_t p = 0; p < block; p += kBlock) {
                        const int64_t at = n * block + p;
                        const BlockSums b = sumBlock(x + at, g + at, out.dx ? out.dx + at : nullptr, s.from(p),
                                                     dzSum.data() + p, dotSum.data() + p, std::min(kBlock, block - p),
                                                     ch, grid.qmin, grid.qmax, int(rule), clamp.on, pre);
                        quantizerParts[size_t(2 * k)] += b.step;
                        quantizerParts[size_t(2 * k + 1)] += b.low;
                    }
                }
                addPerChannel(dzSum, layout, part + kDz, kSums);
                addPerChannel(dotSum, layout, part + kDot, kSums);
            }
        }
    });
    double step = 0;
    double low = 0;
    for (int64_t k = 0; k < chunks; ++k) {
        step += quantizerParts[size_t(2 * k)];
        low += quantizerParts[size_t(2 * k + 1)];
    }
    std::vector<float> gradMean(static_cast<size_t>(channels));
    std::vector<float> centredScale(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
        double dz = 0;
        double dot = 0;
        for (int64_t k = 0; k < chunks; ++k) {
            dz += parts[size_t((k * channels + c) * kSums + kDz)];
            dot += parts[size_t((k * channels + c) * kSums + kDot)];
        }
        const ChannelEnd end = channelEnd(dz, dot, norm.invstd[c], count, c, out);
        gradMean[size_t(c)] = end.gradMean;
        centredScale[size_t(c)] = end.centredScale;
    }
    if (out.dx != nullptr) {
        const auto gm = spread(layout, gradMean.data(), 0.0f);
        const auto k = spread(layout, centredScale.data(), 0.0f);
        const auto invstd = spread(layout, norm.invstd, 0.0f);
        const auto gamma = spread(layout, norm.gamma, 1.0f);
        at::parallel_for(0, layout.outer, per, [&](int64_t first, int64_t last) {
            for (int64_t n = first; n < last; ++n) {
                dxBlock(x + n * block, out.dx + n * block, mean.data(), gm.data(), k.data(), invstd.data(),
                        gamma.data(), block);
            }
        });
    }
    quantizerEnd(step, low, grid, out);
}

} // namespace qat::quant::kernels::detail
