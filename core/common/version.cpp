// SPDX-License-Identifier: MIT
#include "common/version.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

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
}

} // namespace qat
