// SPDX-License-Identifier: MIT
#include "quantizers/uniform_quantizer.h"

#include "quantizers/quantizer_error.h"

#include <cmath>

namespace qat::quant {

namespace {

int64_t levels(int bits)
{
    return (int64_t(1) << bits) - 1;
}

} // namespace

UniformQuantizer::UniformQuantizer(const QuantizerKey& key, const QuantizerConfig& config, TrainingStyle style)
    : BuiltinQuantizerBase(key, config, {Method::Uniform}), m_style(style)
{
}

void UniformQuantizer::allocate()
{
    const bool learn = m_style.trainable && !config().freeze;
    m_min = at::full(parameterShape(), -1.0f, at::kFloat).set_requires_grad(learn);
    m_max = at::full(parameterShape(), 1.0f, at::kFloat).set_requires_grad(learn);
}

std::pair<at::Tensor, at::Tensor> UniformQuantizer::range() const
{
    return {m_min, m_max};
}

void UniformQuantizer::setRange(const at::Tensor& lo, const at::Tensor& hi)
{
    m_min.copy_(lo.reshape(m_min.sizes()));
    m_max.copy_(hi.reshape(m_max.sizes()));
}

void UniformQuantizer::scaleChannels(const at::Tensor& factor)
{
    at::NoGradGuard noGrad;
    const auto [lo, hi] = range();
    setRange(lo.detach() * factor.reshape(lo.sizes()), hi.detach() * factor.reshape(hi.sizes()));
}

at::Tensor UniformQuantizer::gradientLow(const math::UniformGrid& grid) const
{
    return grid.low;
}

void UniformQuantizer::finishCalibration()
{
    auto [lo, hi] = calib::uniformRange(calibrationRows(), config().bits, config().init, config().percentile);
    at::NoGradGuard noGrad;
    setRange(lo, hi);
    markCalibrated();
}

at::Tensor UniformQuantizer::forward(const at::Tensor& x)
{
    requireCalibrated();
    const auto [lo, hi] = range();
    const auto qmax = double(levels(config().bits));
    const double scale = m_style.gradScaled ? lsqGradientScale(x, qmax, lo.numel()) : 1.0;
    const auto grid = math::uniformGrid(lo, hi, config().bits, scale);
    return quantizeFused(x, grid.step, gradientLow(grid), grid.zeroPoint, 0, levels(config().bits), m_style.clip);
}

std::vector<QuantizerParameter> UniformQuantizer::parameters() const
{
    return {{"min", m_min}, {"max", m_max}};
}

QuantizerSnapshot UniformQuantizer::snapshot() const
{
    at::NoGradGuard noGrad;
    const auto [lo, hi] = range();
    const auto grid = math::uniformGrid(lo, hi, config().bits);
    return {{{"min", math::toFloats(lo)},
             {"max", math::toFloats(hi)},
             {"step", math::toFloats(grid.step)},
             {"zero_point", math::toFloats(grid.zeroPoint)}}};
}

std::unique_ptr<InferableQuantizer> UniformQuantizer::convertToInferable() const
{
    requireCalibrated();
    at::NoGradGuard noGrad;
    const auto [lo, hi] = range();
    // The grid's own ends go out, not the raw range: a consumer that moves (min, max) so that
    // zero is on the grid (mct_quantizers does) finds nothing to move and quantizes as trained.
    const auto [low, high] = math::gridEnds(math::uniformGrid(lo, hi, config().bits), config().bits);
    return std::make_unique<UniformInferableQuantizer>(key().target, config().bits, math::toFloats(low),
                                                       math::toFloats(high), isPerChannel(),
                                                       isPerChannel() ? config().channelAxis : 0);
}

LsqPlusQuantizer::LsqPlusQuantizer(const QuantizerKey& key, const QuantizerConfig& config)
    : UniformQuantizer(key, config, TrainingStyle{math::ClipGradient::Masked, false, true})
{
}

at::Tensor LsqPlusQuantizer::forward(const at::Tensor& x)
{
    // range() applies the scale to the step and offset parameters themselves.
    m_lastScale = lsqGradientScale(x, double(levels(config().bits)), m_step.numel());
    return UniformQuantizer::forward(x);
}

void LsqPlusQuantizer::allocate()
{
    const bool learn = !config().freeze;
    m_step = at::full(parameterShape(), 2.0f / float(levels(config().bits)), at::kFloat).set_requires_grad(learn);
    m_offset = at::full(parameterShape(), -1.0f, at::kFloat).set_requires_grad(learn);
}

std::pair<at::Tensor, at::Tensor> LsqPlusQuantizer::range() const
{
    // LSQ+ scales the gradients of both its step and its offset.
    const auto step = math::gradScale(m_step, m_lastScale);
    const auto offset = math::gradScale(m_offset, m_lastScale);
    const auto positiveStep = step + (step.clamp_min(math::kMinThreshold) - step).detach();
    return {offset, offset + positiveStep * double(levels(config().bits))};
}

void LsqPlusQuantizer::setRange(const at::Tensor& lo, const at::Tensor& hi)
{
    m_offset.copy_(lo.reshape(m_offset.sizes()));
    m_step.copy_(((hi - lo) / double(levels(config().bits))).reshape(m_step.sizes()));
}

at::Tensor LsqPlusQuantizer::gradientLow(const math::UniformGrid& grid) const
{
    // The offset learns directly (straight through the snap of the range onto the grid).
    const auto offset = range().first;
    return offset + (grid.low - offset).detach();
}

std::vector<QuantizerParameter> LsqPlusQuantizer::parameters() const
{
    return {{"step", m_step}, {"offset", m_offset}};
}

} // namespace qat::quant
