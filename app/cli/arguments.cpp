// SPDX-License-Identifier: MIT
#include "arguments.h"

namespace qat::cli {

std::string Arguments::value(const std::string& option, const std::string& fallback) const
{
    auto found = values.find(option);
    return found == values.end() ? fallback : found->second.back();
}

std::vector<std::string> Arguments::all(const std::string& option) const
{
    auto found = values.find(option);
    return found == values.end() ? std::vector<std::string>{} : found->second;
}

Arguments parseArguments(const CommandSpec& spec, const std::vector<std::string>& args)
{
    Arguments parsed;
    for (size_t i = 0; i < args.size(); ++i) {
        const auto& arg = args[i];
        if (arg.size() < 2 || arg.rfind("--", 0) != 0) {
            parsed.positional.push_back(arg);
            continue;
        }
        auto name = arg;
        std::string inlineValue;
        const auto eq = arg.find('=');
        const bool hasInline = eq != std::string::npos;
        if (hasInline) {
            name = arg.substr(0, eq);
            inlineValue = arg.substr(eq + 1);
        }
        if (spec.flags.count(name)) {
            if (hasInline) {
                throw UsageError(spec.name + ": " + name + " takes no value");
            }
            parsed.flags.insert(name);
        } else if (spec.valueOptions.count(name)) {
            if (!hasInline && i + 1 >= args.size()) {
                throw UsageError(spec.name + ": " + name + " needs a value");
            }
            parsed.values[name].push_back(hasInline ? inlineValue : args[++i]);
        } else {
            throw UsageError(spec.name + ": unknown option " + name);
        }
    }
    if (parsed.positional.size() < spec.minPositional) {
        throw UsageError(spec.name + ": missing argument");
    }
    if (parsed.positional.size() > spec.maxPositional) {
        throw UsageError(spec.name + ": unexpected argument '" + parsed.positional[spec.maxPositional] + "'");
    }
    return parsed;
}

} // namespace qat::cli
