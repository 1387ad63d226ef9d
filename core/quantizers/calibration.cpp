// SPDX-License-Identifier: MIT
#include "quantizers/calibration.h"

#include "quantizers/quant_math.h"

#include <cmath>

namespace qat::quant::calib {

namespace {

constexpr int kSymmetricCandidates = 64;
constexpr int kPotCandidates = 10;
constexpr int kUniformCandidates = 48;

at::Tensor symmetricError(const at::Tensor& values, const at::Tensor& threshold, int bits, bool isSigned)
{
    const auto range = math::symmetricRange(bits, isSigned);
    const auto step = (threshold / range.divisor).unsqueeze(1);
    const auto q = at::clamp(at::round(values / step), range.qmin, range.qmax) * step;
    return (q - values).pow(2).mean(1);
}

at::Tensor uniformError(const at::Tensor& values, const at::Tensor& lo, const at::Tensor& hi, int bits)
{
    const auto grid = math::uniformGrid(lo.unsqueeze(1), hi.unsqueeze(1), bits);
    const double levels = std::pow(2.0, bits) - 1.0;
    const auto codes = at::clamp(at::round(values / grid.step) + grid.zeroPoint, 0, levels);
    return ((codes - grid.zeroPoint) * grid.step - values).pow(2).mean(1);
}

// Keeps, per row, the candidate with the smallest error.
void keepBetter(at::Tensor& bestError, at::Tensor& best, const at::Tensor& error, const at::Tensor& candidate)
{
    const auto better = error < bestError;
    bestError = at::where(better, error, bestError);
    best = at::where(better, candidate, best);
}

at::Tensor rowQuantile(const at::Tensor& values, double q)
{
    return at::quantile(values, std::clamp(q, 0.0, 1.0), 1);
}

} // namespace

void ValueSample::add(const at::Tensor& batch)
{
    auto flat = batch.detach().reshape({-1}).to(at::kFloat);
    if (flat.numel() == 0) {
        return;
    }
    const double lo = flat.min().item<double>();
    const double hi = flat.max().item<double>();
    m_min = m_count == 0 ? lo : std::min(m_min, lo);
    m_max = m_count == 0 ? hi : std::max(m_max, hi);
    m_count += flat.numel();
    // A fixed stride keeps the subsample deterministic (same data -> same thresholds).
    const int64_t budget = kMaxValues / 8;
    if (flat.numel() > budget) {
        flat = flat.slice(0, 0, flat.numel(), (flat.numel() + budget - 1) / budget);
    }
    m_parts.push_back(flat.clone());
    m_kept += flat.numel();
    if (m_kept > kMaxValues) {
        auto all = at::cat(m_parts);
        m_parts = {all.slice(0, 0, all.numel(), 2).clone()};
        m_kept = m_parts.front().numel();
    }
}

void ValueSample::assign(std::vector<at::Tensor> parts, int64_t count, double min, double max)
{
    m_parts = std::move(parts);
    m_count = count;
    m_min = min;
    m_max = max;
    m_kept = 0;
    for (const auto& p : m_parts) {
        m_kept += p.numel();
    }
    while (m_kept > kMaxValues) {
        auto all = at::cat(m_parts);
        m_parts = {all.slice(0, 0, all.numel(), 2).clone()};
        m_kept = m_parts.front().numel();
    }
}

at::Tensor ValueSample::values() const
{
    const auto kept = at::cat(m_parts);
    if (m_kept == m_count) {
        return kept.unsqueeze(0);
    }
    // The subsample may miss the extremes; they decide max initialisation, so add them.
    const auto extremes = at::tensor({float(m_min), float(m_max)});
    return at::cat({kept, extremes}).unsqueeze(0);
}

at::Tensor channelRows(const at::Tensor& t, int64_t axis)
{
    if (t.dim() == 0) {
        return t.reshape({1, 1});
    }
    return t.detach().movedim(axis, 0).reshape({t.size(axis), -1}).to(at::kFloat);
}

at::Tensor symmetricThreshold(const at::Tensor& values, int bits, bool isSigned, bool pot, InitMethod method,
                              double percentile)
{
    at::NoGradGuard noGrad;
    const auto magnitude = isSigned ? values.abs() : values.clamp_min(0);
    const auto maxAbs = magnitude.amax(1).clamp_min(math::kMinThreshold);
    at::Tensor threshold;
    if (method == InitMethod::MaxAbs) {
        threshold = maxAbs;
    } else if (method == InitMethod::Percentile) {
        threshold = rowQuantile(magnitude, percentile / 100.0).clamp_min(math::kMinThreshold);
    } else if (pot) {
        // MCT's POT search: from twice the max's power of two downwards.
        threshold = math::potCeil(maxAbs) * 2;
        auto bestError = symmetricError(values, threshold, bits, isSigned);
        for (int i = 1; i < kPotCandidates; ++i) {
            const auto candidate = (math::potCeil(maxAbs) * 2 / std::pow(2.0, i)).clamp_min(math::kMinThreshold);
            keepBetter(bestError, threshold, symmetricError(values, candidate, bits, isSigned), candidate);
        }
    } else {
        threshold = maxAbs;
        auto bestError = symmetricError(values, threshold, bits, isSigned);
        for (int i = 1; i < kSymmetricCandidates; ++i) {
            const auto candidate = (maxAbs * (1.0 - i / 80.0)).clamp_min(math::kMinThreshold);
            keepBetter(bestError, threshold, symmetricError(values, candidate, bits, isSigned), candidate);
        }
    }
    return pot ? math::potCeil(threshold) : threshold;
}

SignAndThreshold mseSignAndThreshold(const at::Tensor& values, int bits, bool pot)
{
    at::NoGradGuard noGrad;
    const auto fit = [&](bool isSigned) {
        return SignAndThreshold{isSigned, symmetricThreshold(values, bits, isSigned, pot, InitMethod::Mse, 0)};
    };
    const auto error = [&](const SignAndThreshold& s) {
        return symmetricError(values, s.threshold, bits, s.isSigned).sum().item<double>();
    };
    auto unsignedFit = fit(false);
    auto signedFit = fit(true);
    return error(unsignedFit) < error(signedFit) ? unsignedFit : signedFit;
}

std::pair<at::Tensor, at::Tensor> uniformRange(const at::Tensor& values, int bits, InitMethod method,
                                               double percentile)
{
    at::NoGradGuard noGrad;
    auto lo = values.amin(1).clamp_max(0);
    auto hi = values.amax(1).clamp_min(0);
    if (method == InitMethod::Percentile) {
        lo = rowQuantile(values, 1.0 - percentile / 100.0).clamp_max(0);
        hi = rowQuantile(values, percentile / 100.0).clamp_min(0);
    } else if (method == InitMethod::Mse || method == InitMethod::Auto) { // auto alone: as mse
        auto bestLo = lo;
        auto bestHi = hi;
        auto bestError = uniformError(values, lo, hi, bits);
        for (int i = 1; i < kUniformCandidates; ++i) {
            const double alpha = 1.0 - i / 60.0;
            const auto error = uniformError(values, lo * alpha, hi * alpha, bits);
            const auto better = error < bestError;
            bestError = at::where(better, error, bestError);
            bestLo = at::where(better, lo * alpha, bestLo);
            bestHi = at::where(better, hi * alpha, bestHi);
        }
        lo = bestLo;
        hi = bestHi;
    }
    // A row of zeros still needs a non-empty range.
    hi = at::where(hi - lo < math::kMinThreshold, lo + math::kMinThreshold, hi);
    return {lo, hi};
}

} // namespace qat::quant::calib
