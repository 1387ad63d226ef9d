// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace qat::cli {

/// A command-line mistake; main prints it with a hint to --help and exits with 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What one subcommand accepts: options that take a value and plain flags.
struct CommandSpec {
    std::string name;
    std::set<std::string> valueOptions; ///< e.g. "--db"
    std::set<std::string> flags;        ///< e.g. "--json"
    size_t minPositional = 0;
    size_t maxPositional = 0;
};

/// Parsed arguments of one subcommand ("--opt value" and "--opt=value" both accepted).
struct Arguments {
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> values; ///< every occurrence, in order
    std::set<std::string> flags;

    bool has(const std::string& flag) const { return flags.count(flag) > 0; }
    /// The last value given for option, or fallback.
    std::string value(const std::string& option, const std::string& fallback = {}) const;
    /// Every value given for a repeatable option.
    std::vector<std::string> all(const std::string& option) const;
    /// The option as a whole number / a number, or fallback when absent; UsageError otherwise.
    int64_t integer(const std::string& option, int64_t fallback) const;
    double number(const std::string& option, double fallback) const;
    /// A pair of flags such as --kd / --no-kd: true, false, or nullopt when neither is given;
    /// UsageError when both are.
    std::optional<bool> onOff(const std::string& on, const std::string& off) const;
};

/// text as a whole number / a number, all of it; nullopt when it is not one.
std::optional<int64_t> parseInteger(const std::string& text);
std::optional<double> parseNumber(const std::string& text);

/// Parses args (after the subcommand name) against spec; throws UsageError.
Arguments parseArguments(const CommandSpec& spec, const std::vector<std::string>& args);

} // namespace qat::cli
