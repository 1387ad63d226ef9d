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

namespace {

// Parses all of text with parse (std::stoll or std::stod), or nothing.
template <typename T, typename Parse>
std::optional<T> parseWhole(const std::string& text, Parse parse)
{
    try {
        size_t used = 0;
        const T value = parse(text, &used);
        if (used == text.size()) {
            return value;
        }
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

} // namespace

std::optional<int64_t> parseInteger(const std::string& text)
{
    return parseWhole<int64_t>(text, [](const std::string& t, size_t* used) { return std::stoll(t, used); });
}

std::optional<double> parseNumber(const std::string& text)
{
    return parseWhole<double>(text, [](const std::string& t, size_t* used) { return std::stod(t, used); });
}

std::optional<bool> Arguments::onOff(const std::string& on, const std::string& off) const
{
    if (has(on) && has(off)) {
        throw UsageError(on + " and " + off + " contradict each other");
    }
    if (has(on) || has(off)) {
        return has(on);
    }
    return std::nullopt;
}

int64_t Arguments::integer(const std::string& option, int64_t fallback) const
{
    const auto text = value(option);
    if (text.empty()) {
        return fallback;
    }
    if (auto parsed = parseInteger(text)) {
        return *parsed;
    }
    throw UsageError(option + " needs a whole number, not '" + text + "'");
}

double Arguments::number(const std::string& option, double fallback) const
{
    const auto text = value(option);
    if (text.empty()) {
        return fallback;
    }
    if (auto parsed = parseNumber(text)) {
        return *parsed;
    }
    throw UsageError(option + " needs a number, not '" + text + "'");
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
