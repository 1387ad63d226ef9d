// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace qat::cli {

extern const char* const kPlanHelp;

/// `qatwb plan --model M [--preset P | --plan F] [--fit SPEC] [--out F] [--json]`: what a plan
/// costs, and per-layer weight bits fitted to a budget.
int runPlan(const std::vector<std::string>& args);

} // namespace qat::cli
