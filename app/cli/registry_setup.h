// SPDX-License-Identifier: MIT
#pragma once

#include "quantizers/quantizer_registry.h"

#include <string>
#include <vector>

namespace qat::cli {

/// The built-in quantizers plus plugins from the user's plugin folder and from each
/// --plugin path. A refused plugin is reported on stderr as a warning; the rest load.
void setUpRegistry(quant::QuantizerRegistry& registry, const std::vector<std::string>& pluginPaths);

} // namespace qat::cli
