// SPDX-License-Identifier: MIT
#pragma once
// Part of the plugin SDK: the registry of trainable quantizer classes.

#include "quantizers/quantizer_types.h"
#include "quantizers/trainable_quantizer.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace qat::quant {

/// All quantizer classes known to one session: the built-ins plus what plugins add.
/// Filled at start-up, read-only afterwards (then any thread may read it).
class QuantizerRegistry {
public:
    using Factory = std::function<std::unique_ptr<TrainableQuantizer>(const QuantizerKey&, const QuantizerConfig&)>;

    /// Adds a class. Throws QuantizerError on a duplicate name, no methods or no training id.
    /// info.source is replaced by the current source (see setSource).
    void add(QuantizerInfo info, Factory make);

    /// The one class registered for key; throws QuantizerError naming the key and the
    /// candidates when there are none or several.
    const QuantizerInfo& find(const QuantizerKey& key) const;

    /// Validates config for key, then creates the quantizer (not yet initialised).
    std::unique_ptr<TrainableQuantizer> create(const QuantizerKey& key, const QuantizerConfig& config) const;

    const std::vector<QuantizerInfo>& entries() const { return m_infos; }
    /// Classes for one target (feeds the UI's combo boxes).
    std::vector<QuantizerInfo> available(Target target) const;

    /// Source recorded for classes added from now on ("builtin" or a plugin's path).
    void setSource(const std::string& source) { m_source = source; }
    /// Removes every class that came from source (a plugin that failed half-way).
    void removeSource(const std::string& source);

private:
    std::vector<QuantizerInfo> m_infos;
    std::vector<Factory> m_factories;
    std::string m_source = "builtin";
};

/// Throws QuantizerError when config is illegal for key: bits outside 2..16, per-channel
/// activations, a negative channel axis, a percentile outside (50, 100].
void validateConfig(const QuantizerKey& key, const QuantizerConfig& config);

/// Registers STE, LSQ, PACT and LSQ+ quantizers (the one list to edit).
void registerBuiltinQuantizers(QuantizerRegistry& registry);

} // namespace qat::quant
