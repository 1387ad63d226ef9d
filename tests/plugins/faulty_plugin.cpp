// SPDX-License-Identifier: MIT
// Quantizers that misbehave while training, for the reliability tests:
//   Throwing: its forward throws (the run must fail with this plugin's message);
//   NanLater: from its 4th forward it returns NaN (the run must end diverged with the
//             parameters of its last good step kept).
#include "quantizers/plugin_api.h"
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
}

} // namespace

QATWB_DEFINE_PLUGIN(registerFaulty)
