// SPDX-License-Identifier: MIT
// Example plugin: a new training method "MyTraining" with a weights quantizer and an
// activations quantizer, each with its own parameter, forward and inferable conversion.
// Walk-through: core/quantizers/README.md.
#include "quantizers/builtin_inferable.h"
#include "quantizers/calibration.h"
#include "quantizers/plugin_api.h"
#include "quantizers/quant_math.h"

#include <cmath>

namespace {

using namespace qat::quant;

/// Weights: a learned per-tensor (or per-channel) threshold; rounding through a
/// straight-through estimator, clipping masked (no gradient for clipped weights).
class MyTrainingWeightQuantizer : public TrainableQuantizer {
public:
    MyTrainingWeightQuantizer(const QuantizerKey& key, const QuantizerConfig& config)
        : TrainableQuantizer(key, config, {Method::Symmetric})
    {
    }

    void observe(const at::Tensor& data) override { m_weights = data.detach().clone(); }

    void finishCalibration() override
    {
        // Start from the largest magnitude per channel (the simplest initialisation).
        auto rows = config().perChannel ? calib::channelRows(m_weights, config().channelAxis)
                                        : m_weights.reshape({1, -1});
        at::NoGradGuard noGrad;
        m_threshold.copy_(rows.abs().amax(1).clamp_min(math::kMinThreshold).reshape(m_threshold.sizes()));
    }

    at::Tensor forward(const at::Tensor& w) override
    {
        const auto range = math::symmetricRange(config().bits, true);
        const auto step = m_threshold.abs().clamp_min(math::kMinThreshold) / range.divisor;
        const auto u = w / step;
        const auto rounded = u + (at::round(u) - u).detach();            // STE on the rounding
        return at::clamp(rounded, double(range.qmin), double(range.qmax)) * step; // hard clip
    }

    std::vector<QuantizerParameter> parameters() const override { return {{"threshold", m_threshold}}; }

    QuantizerSnapshot snapshot() const override { return {{{"threshold", math::toFloats(m_threshold)}}}; }

    std::unique_ptr<InferableQuantizer> convertToInferable() const override
    {
        const auto t = math::toFloats(m_threshold.abs().clamp_min(math::kMinThreshold));
        return std::make_unique<SymmetricInferableQuantizer>(Target::Weights, false, config().bits, t,
                                                             config().perChannel, config().channelAxis, true);
    }

protected:
    void allocate() override
    {
        std::vector<int64_t> shape{1};
        if (config().perChannel) {
            const auto& s = layer().shape;
            shape = math::channelParameterShape(int64_t(s.size()), config().channelAxis, s[size_t(config().channelAxis)]);
        }
        m_threshold = at::ones(shape).set_requires_grad(true);
    }

private:
    at::Tensor m_threshold;
    at::Tensor m_weights;
};

/// Activations: unsigned, a learned clipping level; exports as a symmetric unsigned quantizer.
class MyTrainingActivationQuantizer : public TrainableQuantizer {
public:
    MyTrainingActivationQuantizer(const QuantizerKey& key, const QuantizerConfig& config)
        : TrainableQuantizer(key, config, {Method::Symmetric})
    {
    }

    void observe(const at::Tensor& data) override { m_max = std::max(m_max, data.detach().max().item<double>()); }

    void finishCalibration() override
    {
        at::NoGradGuard noGrad;
        m_level.fill_(std::max(m_max, math::kMinThreshold));
    }

    at::Tensor forward(const at::Tensor& x) override
    {
        const auto range = math::symmetricRange(config().bits, false);
        const auto step = m_level.clamp_min(math::kMinThreshold) / range.divisor;
        const auto u = x / step;
        const auto rounded = u + (at::round(u) - u).detach();
        return at::clamp(rounded, 0.0, double(range.qmax)) * step;
    }

    std::vector<QuantizerParameter> parameters() const override { return {{"level", m_level}}; }

    QuantizerSnapshot snapshot() const override { return {{{"level", math::toFloats(m_level)}}}; }

    std::unique_ptr<InferableQuantizer> convertToInferable() const override
    {
        return std::make_unique<SymmetricInferableQuantizer>(Target::Activations, false, config().bits,
                                                             math::toFloats(m_level.clamp_min(math::kMinThreshold)),
                                                             false, 0, false);
    }

protected:
    void allocate() override { m_level = at::ones({1}).set_requires_grad(true); }

private:
    at::Tensor m_level;
    double m_max = 0;
};

void registerMyTraining(QuantizerRegistry& registry)
{
    registry.add({"MyTrainingWeightQuantizer", Target::Weights, {Method::Symmetric}, "MyTraining",
                  "Example plugin: symmetric weights with a learned threshold and a masked clip."},
                 [](const QuantizerKey& key, const QuantizerConfig& config) {
                     return std::make_unique<MyTrainingWeightQuantizer>(key, config);
                 });
    registry.add({"MyTrainingActivationQuantizer", Target::Activations, {Method::Symmetric}, "MyTraining",
                  "Example plugin: unsigned activations with a learned clipping level."},
                 [](const QuantizerKey& key, const QuantizerConfig& config) {
                     return std::make_unique<MyTrainingActivationQuantizer>(key, config);
                 });
}

} // namespace

QATWB_DEFINE_PLUGIN(registerMyTraining)
