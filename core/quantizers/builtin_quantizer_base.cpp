// SPDX-License-Identifier: MIT
#include "quantizers/builtin_quantizer_base.h"

#include "quantizers/quant_math.h"
#include "quantizers/quantizer_error.h"

#include <cmath>

namespace qat::quant {

namespace {

// Sets what forward() is to apply for the length of one call.
template <typename T>
struct Applying {
    Applying(const T*& what, const T* value) : m_what(what) { m_what = value; }
    ~Applying() { m_what = nullptr; }
    Applying(const Applying&) = delete;
    Applying& operator=(const Applying&) = delete;
    const T*& m_what;
};

} // namespace

void BuiltinQuantizerBase::observe(const at::Tensor& data)
{
    if (key().target == Target::Weights) {
        m_weightRows = isPerChannel() ? calib::channelRows(data, config().channelAxis)
                                      : data.detach().reshape({1, -1}).to(at::kFloat);
    } else {
        m_sample.add(data);
    }
}

void BuiltinQuantizerBase::restore(const nlohmann::json& /*state*/)
{
    markCalibrated();
}

at::Tensor BuiltinQuantizerBase::calibrationRows() const
{
    const auto rows = key().target == Target::Weights ? m_weightRows
                                                      : (m_sample.empty() ? at::Tensor() : m_sample.values());
    if (!rows.defined()) {
        throw QuantizerError(toString(key()) + " for " + layer().name + ": no calibration data was observed");
    }
    return rows;
}

double BuiltinQuantizerBase::observedMin() const
{
    return key().target == Target::Weights ? m_weightRows.min().item<double>() : m_sample.min();
}

at::Tensor BuiltinQuantizerBase::forwardClamped(const at::Tensor& x, const math::InputClamp& clamp)
{
    const Applying applying(m_clamp, &clamp);
    return forward(x);
}

at::Tensor BuiltinQuantizerBase::forwardIntoConv(const at::Tensor& x, const math::ConvReader& conv)
{
    const Applying applying(m_conv, &conv);
    return forward(x);
}

at::Tensor BuiltinQuantizerBase::forwardSigned(const at::Tensor& x, const at::Tensor& sign)
{
    const Applying applying(m_sign, &sign);
    return forward(x);
}

at::Tensor BuiltinQuantizerBase::forwardBatchNorm(const at::Tensor& x, const math::BatchNormInput& bn,
                                                  const math::InputClamp* clamp)
{
    const Applying applyingNorm(m_batchNorm, &bn);
    const Applying applyingClamp(m_clamp, clamp);
    return forward(x);
}

at::Tensor BuiltinQuantizerBase::quantizeFused(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low,
                                               const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax,
                                               math::ClipGradient mode) const
{
    if (m_batchNorm != nullptr) {
        return math::quantizeBatchNorm(x, step, low, zeroPoint, qmin, qmax, kernelAxis(), mode, m_clamp, *m_batchNorm);
    }
    if (m_conv != nullptr) {
        return math::quantizeIntoConv(x, step, low, zeroPoint, qmin, qmax, kernelAxis(), mode, *m_conv);
    }
    return math::quantize(x, step, low, zeroPoint, qmin, qmax, kernelAxis(), mode, m_clamp,
                          m_sign != nullptr ? *m_sign : at::Tensor());
}

void BuiltinQuantizerBase::markCalibrated()
{
    m_calibrated = true;
    m_weightRows = at::Tensor();
    m_sample = calib::ValueSample();
}

void BuiltinQuantizerBase::requireCalibrated() const
{
    if (!m_calibrated) {
        throw QuantizerError(toString(key()) + " for " + layer().name
                             + ": used before calibration (observe data, then finishCalibration())");
    }
}

std::vector<int64_t> BuiltinQuantizerBase::parameterShape() const
{
    if (!isPerChannel()) {
        return {1};
    }
    const auto& shape = layer().shape;
    const auto axis = config().channelAxis;
    return math::channelParameterShape(static_cast<int64_t>(shape.size()), axis, shape[size_t(axis)]);
}

double BuiltinQuantizerBase::lsqGradientScale(const at::Tensor& x, double qmax, int64_t scales) const
{
    const bool weights = key().target == Target::Weights;
    double count = 1;
    if (config().gradScale == GradScale::Mct) {
        // MCT: thresholds per layer (weights) or input channels (activations), not elements.
        count = weights ? double(scales) : (x.dim() > 1 ? double(x.size(1)) : 1.0);
    } else {
        count = weights ? double(x.numel()) / double(scales)
                        : double(x.numel()) / double(std::max<int64_t>(x.dim() > 0 ? x.size(0) : 1, 1));
    }
    return 1.0 / std::sqrt(qmax * std::max(count, 1.0));
}

} // namespace qat::quant
