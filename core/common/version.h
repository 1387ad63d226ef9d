// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace qat {

/// The application's version ("0.1.0"), the same for the CLI, the GUI and stored runs.
std::string appVersion();

/// The LibTorch version the core was built against ("1.13.1").
std::string torchVersion();

/// Sets LibTorch's intra-op thread count; 0 means one per core. Any thread may call it.
void setComputeThreads(int threads);

} // namespace qat
