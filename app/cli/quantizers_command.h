// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace qat::cli {

extern const char* const kQuantizersHelp;

/// `qatwb quantizers [--json] [--plugin PATH]...`: lists every registered quantizer.
int runQuantizers(const std::vector<std::string>& args);

} // namespace qat::cli
