// SPDX-License-Identifier: MIT
#include "quantizers/trainable_quantizer.h"

#include "quantizers/quantizer_error.h"

#include <algorithm>

namespace qat::quant {

TrainableQuantizer::TrainableQuantizer(QuantizerKey key, QuantizerConfig config,
                                       std::vector<Method> supportedMethods)
    : m_key(std::move(key)), m_config(std::move(config))
{
    if (std::find(supportedMethods.begin(), supportedMethods.end(), m_key.method) == supportedMethods.end()) {
        std::string expected;
        for (auto m : supportedMethods) {
            expected += (expected.empty() ? "" : ", ") + toString(m);
        }
        throw QuantizerError(toString(m_key) + ": quantization method mismatch; this quantizer implements ["
                             + expected + "], not " + toString(m_key.method));
    }
}

void TrainableQuantizer::initialize(const LayerContext& layer)
{
    if (m_initialized) {
        throw QuantizerError(toString(m_key) + " for " + layer.name + ": initialize() was called twice");
    }
    if (m_config.perChannel && (m_config.channelAxis < 0 || m_config.channelAxis >= int(layer.shape.size()))) {
        throw QuantizerError(toString(m_key) + " for " + layer.name + ": channel axis "
                             + std::to_string(m_config.channelAxis) + " does not exist in a tensor of rank "
                             + std::to_string(layer.shape.size()));
    }
    m_layer = layer;
    m_initialized = true;
    allocate();
}

} // namespace qat::quant
