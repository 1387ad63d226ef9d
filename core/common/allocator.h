// SPDX-License-Identifier: MIT
#pragma once

namespace qat {

/// Tells glibc's malloc to keep the large buffers a training step frees for the next step
/// instead of returning them to the kernel and faulting them in again: without this, every
/// activation tensor of more than a few MB is a fresh mmap, and a batch-256 step of the demo
/// model takes ~8x the page faults and ~25 % more time. Call once at start-up; a no-op where
/// malloc is not glibc's.
void keepFreedMemoryForReuse();

} // namespace qat
