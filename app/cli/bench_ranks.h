// SPDX-License-Identifier: MIT
#pragma once
// `qatwb bench`: training throughput with 1 and 2 local ranks (data-parallel processes).

#include <nlohmann/json.hpp>

#include <string>

namespace qat::cli {

/// Trains model for a few steps with the same global batch as one process and as
/// `--local-ranks 2`, both as real `qatwb train` processes, and reports images per second
/// (training steps only, summed over ranks) and wall-clock seconds of each.
nlohmann::json localRanksThroughput(const std::string& qatwb, const std::string& model, bool quick);

} // namespace qat::cli
