// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace qat::cli {

extern const char* const kRunsHelp;

/// `qatwb runs list|show|delete|rerun ...`: the run history.
int runRuns(const std::vector<std::string>& args);

} // namespace qat::cli
