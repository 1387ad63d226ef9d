// SPDX-License-Identifier: MIT
#include "quantizers/symmetric_quantizer.h"

#include "quantizers/quantizer_error.h"

#include <cmath>

namespace qat::quant {

SymmetricQuantizer::SymmetricQuantizer(const QuantizerKey& key, const QuantizerConfig& config, TrainingStyle style)
    : BuiltinQuantizerBase(key, config, {Method::Symmetric, Method::PowerOfTwo}), m_style(style),
      m_pot(key.method == Method::PowerOfTwo)
{
}

void SymmetricQuantizer::allocate()
{
    m_threshold = at::ones(parameterShape(), at::kFloat);
    m_threshold.set_requires_grad(m_style.trainable && !config().freeze);
}

void SymmetricQuantizer::finishCalibration()
{
    const auto rows = calibrationRows();
    const auto& c = config();
    m_signed = key().target == Target::Weights || c.isSigned.value_or(observedMin() < 0);
    // The error-minimising initialisations also choose the sign: a small negative tail is
    // cheaper clipped than paid for with half the grid (max and percentile keep every value).
    const bool searches = c.init == InitMethod::Mse || c.init == InitMethod::Auto;
    at::Tensor t;
    if (m_signed && key().target == Target::Activations && !c.isSigned && searches) {
        auto choice = calib::mseSignAndThreshold(rows, c.bits, m_pot);
        m_signed = choice.isSigned;
        t = std::move(choice.threshold);
    } else {
        t = calib::symmetricThreshold(rows, c.bits, m_signed, m_pot, c.init, c.percentile);
    }
    at::NoGradGuard noGrad;
    m_threshold.copy_(t.reshape(m_threshold.sizes()));
    markCalibrated();
}

nlohmann::json SymmetricQuantizer::state() const
{
    return {{"signed", m_signed}};
}

void SymmetricQuantizer::restore(const nlohmann::json& state)
{
    m_signed = key().target == Target::Weights || state.value("signed", true);
    BuiltinQuantizerBase::restore(state);
}

void SymmetricQuantizer::scaleChannels(const at::Tensor& factor)
{
    at::NoGradGuard noGrad;
    m_threshold.mul_(factor.reshape(m_threshold.sizes()));
}

at::Tensor SymmetricQuantizer::effectiveThreshold() const
{
    return math::effectiveThreshold(m_threshold, config().keepThresholdPositive, m_pot && config().potDuringTraining);
}

at::Tensor SymmetricQuantizer::forward(const at::Tensor& x)
{
    requireCalibrated();
    const auto range = math::symmetricRange(config().bits, m_signed);
    const double scale = m_style.gradScaled ? lsqGradientScale(x, double(range.qmax), m_threshold.numel()) : 1.0;
    const auto step = math::thresholdStep(m_threshold, range.divisor, config().keepThresholdPositive,
                                          m_pot && config().potDuringTraining, scale);
    return quantizeFused(x, step, at::Tensor(), at::Tensor(), range.qmin, range.qmax, m_style.clip);
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
    QuantizerSnapshot snap{{{"threshold", math::toFloats(t)}, {"step", math::toFloats(t / range.divisor)}}};
    if (m_pot && config().potDuringTraining) {
        // The threshold training moves: the one above only changes when this crosses a power
        // of two, so a plot of it alone is flat for most of a run.
        snap.values["latent_threshold"] =
            math::toFloats(math::effectiveThreshold(m_threshold, config().keepThresholdPositive, false));
    }
    return snap;
}

std::unique_ptr<InferableQuantizer> SymmetricQuantizer::convertToInferable() const
{
    requireCalibrated();
    at::NoGradGuard noGrad;
    auto t = effectiveThreshold();
    if (m_pot) {
        t = math::potCeil(t); // MCT rounds up at conversion; a no-op when POT was kept in training
    }
    return std::make_unique<SymmetricInferableQuantizer>(key().target, m_pot, config().bits, math::toFloats(t),
                                                         isPerChannel(), isPerChannel() ? config().channelAxis : 0,
                                                         m_signed);
}

} // namespace qat::quant
