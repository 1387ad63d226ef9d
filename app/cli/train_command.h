// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace qat::cli {

extern const char* const kTrainHelp;

/// `qatwb train --model M [options]`: one QAT run on this thread. Exit codes: 0 finished,
/// 1 failed, 3 diverged, 130 cancelled (Ctrl-C).
int runTrain(const std::vector<std::string>& args);

} // namespace qat::cli
