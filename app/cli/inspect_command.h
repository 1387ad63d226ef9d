// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace qat::cli {

/// Help text of `qatwb inspect`.
extern const char* const kInspectHelp;

/// `qatwb inspect MODEL [--json]`: prints the layer table; returns the exit code.
int runInspect(const std::vector<std::string>& args);

} // namespace qat::cli
