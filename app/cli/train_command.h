// SPDX-License-Identifier: MIT
#pragma once

#include "arguments.h"
#include "training/train_types.h"

#include <string>
#include <vector>

namespace qat::cli {

extern const char* const kTrainHelp;

/// `qatwb train --model M [options]`: one QAT run on this thread. Exit codes: 0 finished,
/// 1 failed, 3 diverged, 130 cancelled (Ctrl-C).
int runTrain(const std::vector<std::string>& args);

/// The plan given by --preset, --plan, --weights and --activations (later refine earlier).
engine::QuantizationPlan buildPlan(const Arguments& a);

/// --quantizer-warmup N: steps, -1 (the default's share) when not given; below -1 is refused.
int64_t quantizerWarmup(const Arguments& a);

/// Records config as a new run in the database at dbPath (default location when empty),
/// trains with progress on stderr, prints the JSON result when json; returns the exit code.
int executeTraining(const train::TrainConfig& config, const std::vector<std::string>& plugins,
                    const std::string& dbPath, bool json);

} // namespace qat::cli
