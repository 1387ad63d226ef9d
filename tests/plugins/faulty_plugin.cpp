// SPDX-License-Identifier: MIT
// Quantizers that misbehave while training, for the reliability tests:
//   Throwing: its forward throws (the run must fail with this plugin's message);
//   NanLater: from its 4th forward it returns NaN (the run must end diverged with the
//             parameters of its last good step kept);
//   Shrinking: from its 4th backward its threshold gets a huge positive gradient, so the
//             optimizer step drives it below zero with finite numbers everywhere (the
//             run must end diverged with the model weights of the step before).
#include "quantizers/plugin_api.h"
#include "quantizers/quant_math.h"
#include "quantizers/symmetric_quantizer.h"

#include <cmath>
#include <stdexcept>

namespace {

using namespace qat::quant;

class ThrowingQuantizer : public SymmetricQuantizer {
public:
    using SymmetricQuantizer::SymmetricQuantizer;
    at::Tensor forward(const at::Tensor&) override
    {
        throw std::runtime_error("faulty_plugin: the Throwing quantizer gives up on purpose (plugin error test)");
    }
};

class NanLaterQuantizer : public SymmetricQuantizer {
public:
    using SymmetricQuantizer::SymmetricQuantizer;
    at::Tensor forward(const at::Tensor& x) override
    {
        const auto y = SymmetricQuantizer::forward(x);
        return ++m_calls > 3 ? y * std::nan("") : y;
    }

private:
    int m_calls = 0;
};

class ShrinkingQuantizer : public SymmetricQuantizer {
public:
    using SymmetricQuantizer::SymmetricQuantizer;
    at::Tensor forward(const at::Tensor& x) override
    {
        // Adds zero to the output; only the gradient (from the hook) reaches m_shrink.
        return SymmetricQuantizer::forward(x) + (m_shrink - m_shrink.detach()).sum();
    }
    std::vector<QuantizerParameter> parameters() const override
    {
        auto all = SymmetricQuantizer::parameters();
        all.push_back({"shrink", m_shrink});
        return all;
    }
    QuantizerSnapshot snapshot() const override { return {{{"threshold", math::toFloats(m_shrink)}}}; }

protected:
    void allocate() override
    {
        SymmetricQuantizer::allocate();
        m_shrink = at::ones({1}).set_requires_grad(true);
        m_shrink.register_hook([this](const at::Tensor& grad) {
            return at::full_like(grad, ++m_backwards > 3 ? 1e12 : 0.0);
        });
    }

private:
    at::Tensor m_shrink;
    int m_backwards = 0;
};

void registerFaulty(QuantizerRegistry& registry)
{
    registry.add({"ThrowingWeightQuantizer", Target::Weights, {Method::Symmetric}, "Throwing",
                  "Test plugin: throws in forward."},
                 [](const QuantizerKey& key, const QuantizerConfig& config) {
                     return std::make_unique<ThrowingQuantizer>(key, config, TrainingStyle{});
                 });
    registry.add({"NanLaterWeightQuantizer", Target::Weights, {Method::Symmetric}, "NanLater",
                  "Test plugin: returns NaN from its 4th forward on."},
                 [](const QuantizerKey& key, const QuantizerConfig& config) {
                     return std::make_unique<NanLaterQuantizer>(key, config, TrainingStyle{});
                 });
    registry.add({"ShrinkingWeightQuantizer", Target::Weights, {Method::Symmetric}, "Shrinking",
                  "Test plugin: its threshold is driven below zero from the 4th step on."},
                 [](const QuantizerKey& key, const QuantizerConfig& config) {
                     return std::make_unique<ShrinkingQuantizer>(key, config, TrainingStyle{});
                 });
}

} // namespace

QATWB_DEFINE_PLUGIN(registerFaulty)
