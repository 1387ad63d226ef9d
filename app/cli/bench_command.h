// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace qat::cli {

extern const char* const kBenchHelp;

/// `qatwb bench [--quick] [--json]`: QAT step vs float step, Python vs ours, quantizer
/// throughput vs LibTorch's fake-quant kernels, GUI vs headless, run store speed.
int runBench(const std::vector<std::string>& args);

} // namespace qat::cli
