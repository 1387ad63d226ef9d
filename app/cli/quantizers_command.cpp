// SPDX-License-Identifier: MIT
#include "quantizers_command.h"

#include "arguments.h"
#include "registry_setup.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

namespace qat::cli {

const char* const kQuantizersHelp =
    "usage: qatwb quantizers [--json] [--plugin PATH]...\n"
    "\n"
    "Lists every registered trainable quantizer: the built-ins (STE, LSQ, PACT, LSQ+) and\n"
    "those added by plugins from the user plugin folder ($QATWB_PLUGIN_DIR, else\n"
    "$XDG_DATA_HOME/qat-workbench/plugins) and from --plugin (a .so file or a folder).\n"
    "One row per (target, method, training method): the key a quantization plan uses.\n"
    "\n"
    "  --json          print a JSON array of {target, method, training, name, description, source}\n"
    "  --plugin PATH   load a plugin library or a folder of them (repeatable)\n";

int runQuantizers(const std::vector<std::string>& args)
{
    const CommandSpec spec{"quantizers", {"--plugin"}, {"--json"}, 0, 0};
    const auto parsed = parseArguments(spec, args);
    quant::QuantizerRegistry registry;
    setUpRegistry(registry, parsed.all("--plugin"));
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& info : registry.entries()) {
        for (auto method : info.methods) {
            rows.push_back({{"target", quant::toString(info.target)},
                            {"method", quant::toString(method)},
                            {"training", info.training},
                            {"name", info.name},
                            {"description", info.description},
                            {"source", info.source}});
        }
    }
    if (parsed.has("--json")) {
        std::cout << rows.dump(2) << "\n";
        return 0;
    }
    std::cout << std::left << std::setw(13) << "target" << std::setw(14) << "method" << std::setw(12) << "training"
              << std::setw(42) << "name" << "source\n";
    for (const auto& row : rows) {
        std::cout << std::left << std::setw(13) << row["target"].get<std::string>() << std::setw(14)
                  << row["method"].get<std::string>() << std::setw(12) << row["training"].get<std::string>()
                  << std::setw(42) << row["name"].get<std::string>() << row["source"].get<std::string>() << "\n";
    }
    std::cout << "\n";
    for (const auto& info : registry.entries()) {
        std::cout << info.name << ": " << info.description << "\n";
    }
    return 0;
}

} // namespace qat::cli
