// SPDX-License-Identifier: MIT
#pragma once

#include "training/train_types.h"

#include <string>
#include <vector>

namespace qat::cli {

extern const char* const kTrainHelp;

/// `qatwb train --model M [options]`: one QAT run on this thread. Exit codes: 0 finished,
/// 1 failed, 3 diverged, 130 cancelled (Ctrl-C).
int runTrain(const std::vector<std::string>& args);

/// Records config as a new run in the database at dbPath (default location when empty),
/// trains with progress on stderr, prints the JSON result when json; returns the exit code.
int executeTraining(const train::TrainConfig& config, const std::vector<std::string>& plugins,
                    const std::string& dbPath, bool json);

} // namespace qat::cli
