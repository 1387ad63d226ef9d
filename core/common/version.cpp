// SPDX-License-Identifier: MIT
#include "common/version.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <dlfcn.h>
#include <thread>

namespace qat {

std::string appVersion() { return QATWB_VERSION_STRING; }

std::string torchVersion() { return TORCH_VERSION; }

void setComputeThreads(int threads)
{
    if (threads <= 0) {
        threads = static_cast<int>(std::thread::hardware_concurrency());
    }
    // LibTorch starts with one intra-op thread on this platform; more is ~1.5x on 2 cores.
    at::set_num_threads(threads > 0 ? threads : 1);
    keepBlasSingleThreaded();
}

void keepBlasSingleThreaded()
{
    // OpenBLAS (Debian's pthread build) keeps its own pool of one thread per core, and after
    // each matrix product those threads spin in sched_yield, taking the cores from LibTorch's
    // OpenMP threads: on 2 cores a batch-256 step of the demo model went from a steady 60 ms
    // to 55-160 ms, and a third of the profile was the scheduler. LibTorch's own threads do
    // the parallel work; BLAS runs in the thread that calls it. OPENBLAS_NUM_THREADS, when
    // set by the user, is left as it is. Found at run time: Debian's BLAS is an alternative.
    if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr) {
        return;
    }
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
        set(1);
    }
}

} // namespace qat
