// SPDX-License-Identifier: MIT
#include "quantizers/plugin_loader.h"

#include "quantizers/plugin_api.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace qat::quant {

namespace fs = std::filesystem;

namespace {

PluginReport loadOne(QuantizerRegistry& registry, const std::string& path)
{
    PluginReport report;
    report.path = path;
    // Always a path: a bare "name.so" given to dlopen would be searched for in the system's
    // library folders, loading a library the user never pointed at.
    const auto file = std::filesystem::absolute(path).string();
    void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        report.message = std::string("cannot be loaded: ") + (why ? why : "unknown error");
        return report;
    }
    auto entry = reinterpret_cast<QatwbPluginEntry>(dlsym(handle, QATWB_PLUGIN_ENTRY_NAME));
    if (entry == nullptr) {
        report.message = "not a QAT Workbench plugin (no " QATWB_PLUGIN_ENTRY_NAME
                         " entry point; define it with QATWB_DEFINE_PLUGIN)";
        dlclose(handle);
        return report;
    }
    const auto before = registry.entries().size();
    registry.setSource(path);
    const char* error = nullptr;
    const int result = entry(QATWB_PLUGIN_API_VERSION, &registry, &error);
    registry.setSource("builtin");
    if (result != 0) {
        registry.removeSource(path);
        report.message = result > 0 ? "built for plugin API version " + std::to_string(result)
                                          + ", this QAT Workbench speaks version "
                                          + std::to_string(QATWB_PLUGIN_API_VERSION)
                                          + "; rebuild the plugin against the installed SDK"
                                    : std::string("failed to register its quantizers: ")
                                          + (error ? error : "unknown error");
        dlclose(handle);
        return report;
    }
    // Loaded plugins stay in memory: the registry holds factories that live in them.
    for (size_t i = before; i < registry.entries().size(); ++i) {
        report.quantizers.push_back(registry.entries()[i].name);
    }
    report.loaded = true;
    return report;
}

} // namespace

std::string userPluginDirectory()
{
    if (const char* dir = std::getenv("QATWB_PLUGIN_DIR"); dir && *dir) {
        return dir;
    }
    if (const char* data = std::getenv("XDG_DATA_HOME"); data && *data) {
        return (fs::path(data) / "qat-workbench" / "plugins").string();
    }
    const char* home = std::getenv("HOME");
    return (fs::path(home ? home : ".") / ".local" / "share" / "qat-workbench" / "plugins").string();
}

std::vector<PluginReport> loadPlugins(QuantizerRegistry& registry, const std::vector<std::string>& paths)
{
    std::vector<PluginReport> reports;
    for (const auto& path : paths) {
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            std::vector<std::string> files;
            for (const auto& item : fs::directory_iterator(path, ec)) {
                if (item.path().extension() == ".so") {
                    files.push_back(item.path().string());
                }
            }
            std::sort(files.begin(), files.end());
            for (const auto& file : files) {
                reports.push_back(loadOne(registry, file));
            }
        } else if (fs::exists(path, ec)) {
            reports.push_back(loadOne(registry, path));
        } else {
            reports.push_back({path, false, "no such file or folder", {}});
        }
    }
    return reports;
}

} // namespace qat::quant
