// SPDX-License-Identifier: MIT
#pragma once
// How long LibTorch's OpenMP threads spin when they wait (openmp_start.cpp).

namespace qat::app {

/// Called from an executable's .preinit_array, before any library starts: when the user set
/// neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT, runs the program again (same arguments) with
/// GOMP_SPINCOUNT=20000 added to its environment. Returns only when it did not.
void relaunchWithOpenMpSpinBound(char** argv, char** envp);

} // namespace qat::app
