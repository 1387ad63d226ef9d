// SPDX-License-Identifier: MIT
#pragma once

#include "arguments.h"

#include "analysis/resources.h"
#include "model/model_info.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qat::cli {

/// Help text of `qatwb inspect`.
extern const char* const kInspectHelp;

/// `qatwb inspect MODEL [--json]`: prints the layer table; returns the exit code.
int runInspect(const std::vector<std::string>& args);

/// --input CxHxW as a probe shape (batch 1), empty when not given; qat::Error on bad text.
std::vector<int64_t> probeInputOf(const Arguments& parsed);

/// The resource summary line and per-layer table of inspect and plan.
void printResources(const model::ModelInfo& info, const analysis::Resources& r);

} // namespace qat::cli
