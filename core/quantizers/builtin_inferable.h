// SPDX-License-Identifier: MIT
#pragma once
// Part of the plugin SDK: the six inferable quantizers of mct_quantizers.

#include "quantizers/inferable_quantizer.h"

namespace qat::quant {

/// Weights/Activation Symmetric and POT inferable quantizers: scale = t / 2^(b - signed),
/// zero point 0. POT thresholds must be exact powers of two.
class SymmetricInferableQuantizer : public InferableQuantizer {
public:
    /// thresholds: one per channel (perChannel) or one; weights are always signed.
    SymmetricInferableQuantizer(Target target, bool pot, int bits, std::vector<float> thresholds,
                                bool perChannel, int64_t channelAxis, bool isSigned);

    Target target() const override { return m_target; }
    std::string className() const override;
    nlohmann::json arguments() const override;
    FakeQuantSpec fakeQuant() const override;

private:
    Target m_target;
    bool m_pot;
    int m_bits;
    std::vector<float> m_thresholds;
    bool m_perChannel;
    int64_t m_axis;
    bool m_signed;
};

/// Weights/Activation Uniform inferable quantizers: the range is first adjusted to include
/// zero (as MCT does); scale = (b - a) / (2^bits - 1), zero point = round(-a / scale).
/// (MCT truncates the weights' zero point; rounding is the safe choice, see README.)
class UniformInferableQuantizer : public InferableQuantizer {
public:
    UniformInferableQuantizer(Target target, int bits, std::vector<float> minRange, std::vector<float> maxRange,
                              bool perChannel, int64_t channelAxis);

    Target target() const override { return m_target; }
    std::string className() const override;
    nlohmann::json arguments() const override;
    FakeQuantSpec fakeQuant() const override;

private:
    Target m_target;
    int m_bits;
    std::vector<float> m_min;
    std::vector<float> m_max;
    bool m_perChannel;
    int64_t m_axis;
};

} // namespace qat::quant
