// SPDX-License-Identifier: MIT
#pragma once
// Built-in uniform quantizers: STE and LSQ (weights and activations), and LSQ+ (activations,
// learned step and offset).

#include "quantizers/symmetric_quantizer.h"

namespace qat::quant {

/// A range [min, max] per channel (weights) or per tensor, adjusted to include zero;
/// step = (max - min) / (2^bits - 1) and an integer zero point.
class UniformQuantizer : public BuiltinQuantizerBase {
public:
    UniformQuantizer(const QuantizerKey& key, const QuantizerConfig& config, TrainingStyle style);

    void finishCalibration() override;
    at::Tensor forward(const at::Tensor& x) override;
    std::vector<QuantizerParameter> parameters() const override;
    QuantizerSnapshot snapshot() const override;
    std::unique_ptr<InferableQuantizer> convertToInferable() const override;
    /// As SymmetricQuantizer's: per-channel ranges scale with their channel (zero points stay).
    bool canScaleChannels() const { return isPerChannel(); }
    void scaleChannels(const at::Tensor& factor);

protected:
    void allocate() override;
    /// The raw (min, max) this quantizer trains; LSQ+ derives them from step and offset.
    virtual std::pair<at::Tensor, at::Tensor> range() const;
    /// Sets the parameters from a calibrated range.
    virtual void setRange(const at::Tensor& lo, const at::Tensor& hi);
    /// The low end gradients flow into (the adjusted min; LSQ+ its offset).
    virtual at::Tensor gradientLow(const math::UniformGrid& grid) const;

    const TrainingStyle& style() const { return m_style; }

private:
    TrainingStyle m_style;
    at::Tensor m_min;
    at::Tensor m_max;
};

/// LSQ+ (Bhalgat et al. 2020): learns a step s and an offset beta; the range is
/// [beta, beta + s (2^bits - 1)]. Both get LSQ's gradient scale.
class LsqPlusQuantizer : public UniformQuantizer {
public:
    LsqPlusQuantizer(const QuantizerKey& key, const QuantizerConfig& config);

    at::Tensor forward(const at::Tensor& x) override;
    std::vector<QuantizerParameter> parameters() const override;

protected:
    void allocate() override;
    std::pair<at::Tensor, at::Tensor> range() const override;
    void setRange(const at::Tensor& lo, const at::Tensor& hi) override;
    at::Tensor gradientLow(const math::UniformGrid& grid) const override;

private:
    at::Tensor m_step;
    at::Tensor m_offset;
    double m_lastScale = 1.0;
};

} // namespace qat::quant
