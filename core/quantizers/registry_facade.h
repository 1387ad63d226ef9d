// SPDX-License-Identifier: MIT
#pragma once
// The quantizer registry as a Qt program sees it: no torch types (quantizer_registry.h
// pulls in ATen, which a Qt translation unit must not include).

#include "quantizers/plugin_loader.h"
#include "quantizers/quantizer_types.h"

#include <memory>
#include <string>
#include <vector>

namespace qat::quant {

class QuantizerRegistry;

/// A registry filled with the built-in quantizers, then the plugins of the user's plugin
/// folder and of extraPluginPaths (reports say which loaded). Shared so that a training
/// thread can keep it alive; read-only once returned, so any thread may read it.
std::shared_ptr<const QuantizerRegistry> makeSessionRegistry(const std::vector<std::string>& extraPluginPaths,
                                                             std::vector<PluginReport>* reports = nullptr);

/// Every class in registry (what QuantizerRegistry::entries() returns), built-ins first.
std::vector<QuantizerInfo> registeredQuantizers(const QuantizerRegistry& registry);

} // namespace qat::quant
