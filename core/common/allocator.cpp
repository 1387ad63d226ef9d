// SPDX-License-Identifier: MIT
#include "common/allocator.h"

#include <cstdlib> // defines __GLIBC__ on glibc systems

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace qat {

void keepFreedMemoryForReuse()
{
#if defined(__GLIBC__)
    // Buffers up to 32 MiB (glibc's ceiling for this setting; a batch-256 activation of the
    // demo model is 25 MiB) come from the heap, and up to 1 GiB of freed heap stays mapped.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    // Larger buffers too (MobileNet v2's activations at batch 256 are 33-100 MiB): glibc
    // mmaps them whatever the threshold says unless mmap is off, and each step then faulted
    // them in afresh (9.0 million page faults in the quick step bench, 0.77 million without).
    // With mmap off they come from the heap like the rest and are reused; glibc still falls
    // back to mmap when the heap cannot grow.
    mallopt(M_MMAP_MAX, 0);
    // One arena for every thread: the window trains on a worker thread, and a thread arena
    // (heaps of at most 64 MiB, shrunk as they empty) gave back and faulted in MobileNet v2's
    // multi-MiB activations every step: 1.40x the step time of the same run on qatwb's main
    // thread, 1.0x with one arena. Small blocks still come from each thread's own cache.
    mallopt(M_ARENA_MAX, 1);
#endif
}

} // namespace qat
