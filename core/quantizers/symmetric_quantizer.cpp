// SPDX-License-Identifier: MIT
#include "quantizers/symmetric_quantizer.h"

#include "quantizers/quantizer_error.h"

#include <cmath>

namespace qat::quant {

SymmetricQuantizer::SymmetricQuantizer(const QuantizerKey& key, const QuantizerConfig& config, TrainingStyle style)
    : TrainableQuantizer(key, config, {Method::Symmetric, Method::PowerOfTwo}), m_style(style),
      m_pot(key.method == Method::PowerOfTwo)
{
}

void SymmetricQuantizer::allocate()
{
    const auto& shape = layer().shape;
    std::vector<int64_t> paramShape{1};
    if (key().target == Target::Weights && config().perChannel) {
        const auto axis = config().channelAxis;
        paramShape = math::channelParameterShape(static_cast<int64_t>(shape.size()), axis, shape[size_t(axis)]);
    }
    m_threshold = at::ones(paramShape, at::kFloat);
    m_threshold.set_requires_grad(m_style.trainable && !config().freeze);
}

void SymmetricQuantizer::observe(const at::Tensor& data)
{
    if (key().target == Target::Weights) {
        m_weightRows = config().perChannel ? calib::channelRows(data, config().channelAxis)
                                           : data.detach().reshape({1, -1}).to(at::kFloat);
    } else {
        m_sample.add(data);
    }
}

void SymmetricQuantizer::finishCalibration()
{
    at::Tensor rows;
    if (key().target == Target::Weights) {
        rows = m_weightRows;
        m_signed = true;
    } else if (!m_sample.empty()) {
        rows = m_sample.values();
        m_signed = config().isSigned.value_or(m_sample.min() < 0);
    }
    if (!rows.defined()) {
        throw QuantizerError(toString(key()) + " for " + layer().name + ": no calibration data was observed");
    }
    const auto& c = config();
    const auto t = calib::symmetricThreshold(rows, c.bits, m_signed, m_pot, c.init, c.percentile);
    at::NoGradGuard noGrad;
    m_threshold.copy_(t.reshape(m_threshold.sizes()));
    m_calibrated = true;
    m_weightRows = at::Tensor();
    m_sample = calib::ValueSample();
}

at::Tensor SymmetricQuantizer::effectiveThreshold() const
{
    return math::effectiveThreshold(m_threshold, config().keepThresholdPositive, m_pot && config().potDuringTraining);
}

double SymmetricQuantizer::gradientScale(const at::Tensor& x) const
{
    const double qmax = static_cast<double>(math::symmetricRange(config().bits, m_signed).qmax);
    const bool weights = key().target == Target::Weights;
    double count = 1;
    if (config().gradScale == GradScale::Mct) {
        // MCT: thresholds per layer (weights) or input channels (activations), not elements.
        count = weights ? double(m_threshold.numel()) : (x.dim() > 1 ? double(x.size(1)) : 1.0);
    } else {
        count = weights ? double(x.numel()) / double(m_threshold.numel())
                        : double(x.numel()) / double(std::max<int64_t>(x.dim() > 0 ? x.size(0) : 1, 1));
    }
    return 1.0 / std::sqrt(qmax * std::max(count, 1.0));
}

void SymmetricQuantizer::requireCalibrated() const
{
    if (!m_calibrated) {
        throw QuantizerError(toString(key()) + " for " + layer().name
                             + ": used before calibration (observe data, then finishCalibration())");
    }
}

at::Tensor SymmetricQuantizer::forward(const at::Tensor& x)
{
    requireCalibrated();
    const auto range = math::symmetricRange(config().bits, m_signed);
    const auto step = effectiveThreshold() / range.divisor;
    const bool perChannel = key().target == Target::Weights && config().perChannel;
    const auto zero = at::zeros_like(step.detach());
    const auto q = math::fakeQuantValue(x, step, zero, range.qmin, range.qmax, perChannel ? config().channelAxis : -1);
    const auto trainedStep = m_style.gradScaled ? math::gradScale(step, gradientScale(x)) : step;
    return math::withQuantGradient(q, x, trainedStep, at::Tensor(), zero, range.qmin, range.qmax, m_style.clip);
}

std::vector<QuantizerParameter> SymmetricQuantizer::parameters() const
{
    return {{"threshold", m_threshold}};
}

QuantizerSnapshot SymmetricQuantizer::snapshot() const
{
    at::NoGradGuard noGrad;
    const auto t = effectiveThreshold();
    const auto range = math::symmetricRange(config().bits, m_signed);
    return {{{"threshold", math::toFloats(t)}, {"step", math::toFloats(t / range.divisor)}}};
}

std::unique_ptr<InferableQuantizer> SymmetricQuantizer::convertToInferable() const
{
    requireCalibrated();
    at::NoGradGuard noGrad;
    auto t = effectiveThreshold();
    if (m_pot) {
        t = math::potCeil(t); // MCT rounds up at conversion; a no-op when POT was kept in training
    }
    const bool perChannel = key().target == Target::Weights && config().perChannel;
    return std::make_unique<SymmetricInferableQuantizer>(key().target, m_pot, config().bits, math::toFloats(t), perChannel,
                                                         perChannel ? config().channelAxis : 0, m_signed);
}

} // namespace qat::quant
