// SPDX-License-Identifier: MIT
#include "quantizers/registry_facade.h"

#include "quantizers/quantizer_registry.h"

#include <filesystem>

namespace qat::quant {

std::shared_ptr<const QuantizerRegistry> makeSessionRegistry(const std::vector<std::string>& extraPluginPaths,
                                                             std::vector<PluginReport>* reports)
{
    auto registry = std::make_shared<QuantizerRegistry>();
    registerBuiltinQuantizers(*registry);
    std::vector<std::string> paths;
    const auto userDir = userPluginDirectory();
    std::error_code ec;
    if (std::filesystem::is_directory(userDir, ec)) {
        paths.push_back(userDir);
    }
    paths.insert(paths.end(), extraPluginPaths.begin(), extraPluginPaths.end());
    auto loaded = loadPlugins(*registry, paths);
    if (reports != nullptr) {
        *reports = std::move(loaded);
    }
    return registry;
}

std::vector<QuantizerInfo> registeredQuantizers(const QuantizerRegistry& registry)
{
    return registry.entries();
}

} // namespace qat::quant
