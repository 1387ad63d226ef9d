// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace qat::cli {

extern const char* const kExportHelp;

/// `qatwb export RUN_ID --out DIR` or `qatwb export --model M [plan options] --out DIR`.
int runExport(const std::vector<std::string>& args);

} // namespace qat::cli
