// SPDX-License-Identifier: MIT
#pragma once
// Built-in symmetric / power-of-two quantizers: STE and LSQ (weights and activations), PACT.

#include "quantizers/builtin_inferable.h"
#include "quantizers/builtin_quantizer_base.h"
#include "quantizers/quant_math.h"

namespace qat::quant {

/// How a quantizer learns (one per training method id).
struct TrainingStyle {
    math::ClipGradient clip = math::ClipGradient::Straight;
    bool gradScaled = false; ///< LSQ's g on the step size
    bool trainable = true;   ///< parameters learn (MCT's STE weight quantizers do not)
};

/// A threshold t per channel (weights) or per tensor; step = t / 2^(bits - signed).
/// Weights are signed; activations are signed when calibration saw negative values.
class SymmetricQuantizer : public BuiltinQuantizerBase {
public:
    SymmetricQuantizer(const QuantizerKey& key, const QuantizerConfig& config, TrainingStyle style);

    void finishCalibration() override;
    at::Tensor forward(const at::Tensor& x) override;
    std::vector<QuantizerParameter> parameters() const override;
    QuantizerSnapshot snapshot() const override;
    std::unique_ptr<InferableQuantizer> convertToInferable() const override;
    nlohmann::json state() const override;
    void restore(const nlohmann::json& state) override;

    bool isSigned() const { return m_signed; }
    /// BatchNorm folded after training (W -> W * f, f > 0 per output channel): true when the
    /// thresholds can follow, so that forward(W * f) == f * forward(W) (per-channel weights,
    /// not power-of-two); scaleChannels() then multiplies them by f.
    bool canScaleChannels() const { return isPerChannel() && !m_pot; }
    void scaleChannels(const at::Tensor& factor);

protected:
    void allocate() override;

private:
    at::Tensor effectiveThreshold() const;

    TrainingStyle m_style;
    bool m_pot = false;
    bool m_signed = true;
    at::Tensor m_threshold;
};

} // namespace qat::quant
