// SPDX-License-Identifier: MIT
#pragma once
// Part of the plugin SDK: what the built-in quantizers share (calibration data, the
// calibrated state, LSQ's gradient scale).

#include "quantizers/calibration.h"
#include "quantizers/quant_math.h"
#include "quantizers/trainable_quantizer.h"

namespace qat::quant {

/// Collects calibration data (the weight as channel rows, or a sample of activations)
/// and tracks whether parameters were set from it.
class BuiltinQuantizerBase : public TrainableQuantizer {
public:
    using TrainableQuantizer::TrainableQuantizer;

    void observe(const at::Tensor& data) override;
    /// Marks the quantizer calibrated (its parameters were loaded from a checkpoint).
    void restore(const nlohmann::json& state) override;
    /// Distributed runs: the activation values observed so far, merged across processes
    /// before finishCalibration() (core/distributed/distributed_model.cpp).
    calib::ValueSample& activationSample() { return m_sample; }
    /// forward(math::applyInputClamp(x, clamp)) in one fused pass each way (the engine's
    /// relu -> quantizer fusion). Only for the built-in classes themselves, whose forward()
    /// hands the clamp to math::quantize: a subclass that overrides forward() would drop it.
    at::Tensor forwardClamped(const at::Tensor& x, const math::InputClamp& clamp);
    /// math::convolve(forward(x), conv) as one node whose backward skips the convolution's input
    /// gradient when x has none (the engine's fusion of the model input's quantizer with the
    /// first layer). The same restriction as forwardClamped.
    at::Tensor forwardIntoConv(const at::Tensor& x, const math::ConvReader& conv);
    /// forward(x * sign) * sign for a +1 / -1 per channel of a per-channel grid, in the kernel's
    /// single pass (a weight whose BatchNorm trains, see math::quantize). The same restriction.
    at::Tensor forwardSigned(const at::Tensor& x, const at::Tensor& sign);
    /// forward(clamp(batch_norm(x))) (clamp null: none) for an activation quantizer, BatchNorm's
    /// and the quantizer's passes as one kernel each way (math::quantizeBatchNorm; the engine's
    /// fusion of a training BatchNorm with the quantizer after it). The same restriction.
    at::Tensor forwardBatchNorm(const at::Tensor& x, const math::BatchNormInput& bn, const math::InputClamp* clamp);

protected:
    /// Rows [C, K] of what observe() saw (weights: per channel when configured; activations:
    /// one row). Throws QuantizerError when nothing was observed.
    at::Tensor calibrationRows() const;
    /// The smallest value observed (activations: decides signedness).
    double observedMin() const;
    /// Frees the calibration data and allows forward().
    void markCalibrated();
    void requireCalibrated() const;
    bool isPerChannel() const { return key().target == Target::Weights && config().perChannel; }
    /// The clamp forwardClamped() is applying (null outside it): forward() passes it on.
    const math::InputClamp* inputClamp() const { return m_clamp; }
    /// What forward() ends with: math::quantize of x on this grid, with the clamp, into the
    /// convolution, with the sign or behind the BatchNorm that forwardClamped() /
    /// forwardIntoConv() / forwardSigned() / forwardBatchNorm() are applying.
    at::Tensor quantizeFused(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low,
                             const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax, math::ClipGradient mode) const;
    /// Channel axis for the fake-quant kernel, -1 for per-tensor.
    int64_t kernelAxis() const { return isPerChannel() ? config().channelAxis : -1; }
    /// Parameter shape: C at the channel axis for per-channel weights, else [1].
    std::vector<int64_t> parameterShape() const;
    /// LSQ's g for a grid with qmax codes and `scales` step sizes, for input x.
    double lsqGradientScale(const at::Tensor& x, double qmax, int64_t scales) const;

private:
    bool m_calibrated = false;
    at::Tensor m_weightRows;
    calib::ValueSample m_sample;
    const math::InputClamp* m_clamp = nullptr;
    const math::ConvReader* m_conv = nullptr;
    const at::Tensor* m_sign = nullptr;
    const math::BatchNormInput* m_batchNorm = nullptr;
};

} // namespace qat::quant
