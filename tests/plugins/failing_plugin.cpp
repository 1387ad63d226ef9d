// SPDX-License-Identifier: MIT
// Registers one quantizer, then a name the built-ins already use: the registry must be
// left as it was, with the first one removed again.
#include "quantizers/plugin_api.h"
#include "quantizers/symmetric_quantizer.h"

namespace {

void registerBroken(qat::quant::QuantizerRegistry& registry)
{
    using namespace qat::quant;
    auto make = [](const QuantizerKey& key, const QuantizerConfig& config) {
        return std::make_unique<SymmetricQuantizer>(key, config, TrainingStyle{});
    };
    registry.add({"HalfwayQuantizer", Target::Weights, {Method::Symmetric}, "Halfway", "registered first"}, make);
    registry.add({"STEWeightQATQuantizer", Target::Weights, {Method::Symmetric}, "Clash", "a clashing name"}, make);
}

} // namespace

QATWB_DEFINE_PLUGIN(registerBroken)
