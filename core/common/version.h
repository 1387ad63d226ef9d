// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace qat {

/// The application's version ("0.1.0"), the same for the CLI, the GUI and stored runs.
std::string appVersion();

/// The LibTorch version the core was built against ("1.13.1").
std::string torchVersion();

/// Sets LibTorch's intra-op thread count; 0 means one per core. Any thread may call it.
/// Also keeps OpenBLAS single-threaded (see keepBlasSingleThreaded).
void setComputeThreads(int threads);

/// OpenBLAS's own thread pool competes with LibTorch's threads; this makes BLAS calls run in
/// the calling thread unless OPENBLAS_NUM_THREADS is set.
void keepBlasSingleThreaded();

} // namespace qat
