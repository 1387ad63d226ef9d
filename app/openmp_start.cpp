// SPDX-License-Identifier: MIT
#include "openmp_start.h"

// libgomp (the OpenMP runtime of Debian's LibTorch and of our kernels) lets a thread that
// finished its part of a parallel region spin up to 300,000 pause loops (~5 ms on the AMD
// cores measured, more on Intel's) before it sleeps. A training step's serial stretches are
// shorter than that, so during a step the second core never looks idle: the data loader's
// idle-priority decoder got nothing from it, and the first epoch of a JPEG folder waited
// 8-17 % of its time for images (`qatwb bench --only data`). With 20,000 loops (~0.4 ms here)
// the threads still spin across the short gaps between one operator and the next (steps as
// fast as before within the machine's noise) and the first epoch waited 2.5-5 %; sleeping at
// once (OMP_WAIT_POLICY=passive) waited 2 % but made MobileNet v2 steps ~10 % slower.
//
// libgomp reads the environment once, in its initialiser, before main(). A setenv() in an
// .preinit_array function (which runs before every library's initialiser) is lost: glibc
// installs the process's environment only in its own initialiser, after. Nor can a library's
// initialiser be placed reliably before libgomp's. So the program runs itself again with the
// variable set, before any library has started: that costs the dynamic loading once more
// (~0.35 s here), which is why qatwb does it only for the commands that train.

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace qat::app {

namespace {

constexpr const char* kSpinSetting = "GOMP_SPINCOUNT=20000";

bool startsWith(const char* text, const char* prefix)
{
    return std::strncmp(text, prefix, std::strlen(prefix)) == 0;
}

} // namespace

void relaunchWithOpenMpSpinBound(char** argv, char** envp)
{
    if (argv == nullptr || envp == nullptr) return;
    size_t count = 0;
    for (; envp[count] != nullptr; ++count) {
        // The user's choice (either variable) stands; so does ours after the relaunch.
        if (startsWith(envp[count], "OMP_WAIT_POLICY=") || startsWith(envp[count], "GOMP_SPINCOUNT=")) return;
    }
    auto** env = static_cast<char**>(std::malloc((count + 2) * sizeof(char*)));
    if (env == nullptr) return;
    std::memcpy(env, envp, count * sizeof(char*));
    env[count] = const_cast<char*>(kSpinSetting);
    env[count + 1] = nullptr;
    execve("/proc/self/exe", argv, env);
    std::free(env); // could not run itself (no /proc): go on with libgomp's default
}

} // namespace qat::app
