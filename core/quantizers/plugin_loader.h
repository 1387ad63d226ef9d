// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace qat::quant {

class QuantizerRegistry;

/// What happened to one plugin file.
struct PluginReport {
    std::string path;
    bool loaded = false;
    std::string message;                 ///< why it was refused (empty when loaded)
    std::vector<std::string> quantizers; ///< names it registered
};

/// The user's plugin folder: $QATWB_PLUGIN_DIR, else $XDG_DATA_HOME/qat-workbench/plugins,
/// else ~/.local/share/qat-workbench/plugins.
std::string userPluginDirectory();

/// Loads each path (a shared library, or a folder whose *.so files are loaded in name
/// order) into registry. A plugin that is refused (not loadable, no entry point, other API
/// version, failing registration) leaves the registry as it was; the others still load.
std::vector<PluginReport> loadPlugins(QuantizerRegistry& registry, const std::vector<std::string>& paths);

} // namespace qat::quant
