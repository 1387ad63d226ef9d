// SPDX-License-Identifier: MIT
#pragma once
// Part of the plugin SDK: initial quantizer parameters from data (max, MSE search,
// percentile), per channel. Rows of `values` are channels: [C, K].

#include "quantizers/quantizer_types.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace qat::quant::calib {

/// Collects activation values over calibration batches: exact min and max, and a
/// deterministic subsample (at most kMaxValues) for MSE and percentile searches.
class ValueSample {
public:
    static constexpr int64_t kMaxValues = 1 << 21;

    void add(const at::Tensor& batch);
    bool empty() const { return m_count == 0; }
    double min() const { return m_min; }
    double max() const { return m_max; }
    /// The sample, with the exact minimum and maximum, as one row [1, K].
    at::Tensor values() const;

    /// Distributed runs: what was kept, one part per batch until the sample was thinned,
    /// and how many values were seen.
    const std::vector<at::Tensor>& parts() const { return m_parts; }
    int64_t count() const { return m_count; }
    /// Replaces the content with parts merged from several processes (count values seen in
    /// all, between min and max), thinned as add() thins.
    void assign(std::vector<at::Tensor> parts, int64_t count, double min, double max);

private:
    std::vector<at::Tensor> m_parts;
    int64_t m_kept = 0;
    int64_t m_count = 0;
    double m_min = 0;
    double m_max = 0;
};

/// Rows of t (rank >= 1) as [C, K], channels taken along axis.
at::Tensor channelRows(const at::Tensor& t, int64_t axis);

/// Thresholds [C] of a symmetric (or POT) grid for each row of values.
at::Tensor symmetricThreshold(const at::Tensor& values, int bits, bool isSigned, bool pot, InitMethod method,
                              double percentile);

/// An activation's sign and thresholds [C] as the MSE search chooses them.
struct SignAndThreshold {
    bool isSigned = true;
    at::Tensor threshold;
};

/// For an activation that went negative: the signed grid or the unsigned one (negatives
/// clipped to 0), whichever quantizes `values` with less squared error, each at its MSE
/// threshold. Unsigned wins for hardswish, GELU or SiLU outputs at low bits, whose small
/// negative part would otherwise take half the levels.
SignAndThreshold mseSignAndThreshold(const at::Tensor& values, int bits, bool pot);

/// (min [C], max [C]) of a uniform grid for each row of values.
std::pair<at::Tensor, at::Tensor> uniformRange(const at::Tensor& values, int bits, InitMethod method,
                                               double percentile);

} // namespace qat::quant::calib
