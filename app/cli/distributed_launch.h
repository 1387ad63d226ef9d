// SPDX-License-Identifier: MIT
#pragma once
// `qatwb train` across processes: the rank options, and --local-ranks, which starts one
// process per rank on this machine.

#include "arguments.h"
#include "training/train_types.h"

#include <string>
#include <vector>

namespace qat::cli {

/// This process's place in a data-parallel job from --world-size, --rank, --master
/// HOST:PORT and --dist-timeout, else the environment (WORLD_SIZE, RANK, MASTER_ADDR,
/// MASTER_PORT, as PyTorch's launchers set them). Throws UsageError.
train::DistributedOptions distributedOptions(const Arguments& a);

/// Runs `qatwb train args` as ranks 0..ranks-1 of one job on this machine (a free loopback
/// port, compute threads split between the ranks unless --threads is given), waits for all
/// and returns rank 0's exit code (or the first failing one). When a rank fails the others
/// are given the distributed timeout to stop by themselves, then killed.
int launchLocalRanks(int ranks, const std::vector<std::string>& args, int timeoutSeconds);

} // namespace qat::cli
