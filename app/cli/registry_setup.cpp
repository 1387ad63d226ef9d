// SPDX-License-Identifier: MIT
#include "registry_setup.h"

#include "quantizers/plugin_loader.h"

#include <filesystem>
#include <iostream>

namespace qat::cli {

void setUpRegistry(quant::QuantizerRegistry& registry, const std::vector<std::string>& pluginPaths)
{
    quant::registerBuiltinQuantizers(registry);
    std::vector<std::string> paths;
    const auto userDir = quant::userPluginDirectory();
    std::error_code ec;
    if (std::filesystem::is_directory(userDir, ec)) {
        paths.push_back(userDir);
    }
    paths.insert(paths.end(), pluginPaths.begin(), pluginPaths.end());
    for (const auto& report : quant::loadPlugins(registry, paths)) {
        if (!report.loaded) {
            std::cerr << "qatwb: warning: plugin " << report.path << " " << report.message << "\n";
        }
    }
}

} // namespace qat::cli
