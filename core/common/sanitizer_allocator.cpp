// SPDX-License-Identifier: MIT
// Under AddressSanitizer only: LibTorch's CPU buffers of 64 KiB and more come from a cache of
// exact-size blocks instead of ASan's allocator, which ignores mallopt (common/allocator.h)
// and maps every such block afresh. A training step then faulted in all of its activations
// again: half of an ASan test's time was the kernel serving page faults, under 2 % our own
// code. What ASan checks stays: each block is allocated at its exact size, so a write past
// its end still hits the redzone, and a cached block is poisoned until it is handed out
// again, so a read or write through a stale pointer is reported. Nothing of this is
// compiled into other builds.
#if defined(__SANITIZE_ADDRESS__)

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sanitizer/asan_interface.h>

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace qat {
namespace {

constexpr std::size_t kSmallest = 64 * 1024; // smaller blocks: ASan's own size classes reuse them
constexpr std::size_t kMostCached = 1024ull * 1024 * 1024; // past this, the cache is emptied

struct BlockCache {
    std::mutex mutex;
    std::unordered_map<void*, std::size_t> sizes; // every block handed out, by address
    std::unordered_map<std::size_t, std::vector<void*>> free; // cached blocks, by size
    std::size_t cachedBytes = 0;

    void* take(std::size_t n)
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            auto it = free.find(n);
            if (it != free.end() && !it->second.empty()) {
                void* p = it->second.back();
                it->second.pop_back();
                cachedBytes -= n;
                ASAN_UNPOISON_MEMORY_REGION(p, n);
                return p;
            }
        }
        void* p = c10::alloc_cpu(n);
        std::lock_guard<std::mutex> lock(mutex);
        sizes[p] = n;
        return p;
    }

    // False for a block this cache did not hand out (the fallback allocator's).
    bool give(void* p)
    {
        std::vector<void*> release;
        {
            std::lock_guard<std::mutex> lock(mutex);
            const auto known = sizes.find(p);
            if (known == sizes.end())
                return false;
            const std::size_t n = known->second;
            if (cachedBytes + n > kMostCached) {
                // Sizes a finished model used are not asked for again: let all of them go.
                for (auto& [size, blocks] : free) {
                    for (void* b : blocks) {
                        ASAN_UNPOISON_MEMORY_REGION(b, size);
                        sizes.erase(b);
                        release.push_back(b);
                    }
                }
                free.clear();
                cachedBytes = 0;
            }
            ASAN_POISON_MEMORY_REGION(p, n);
            free[n].push_back(p);
            cachedBytes += n;
        }
        for (void* b : release)
            c10::free_cpu(b);
        return true;
    }
};

BlockCache& cache()
{
    static auto* c = new BlockCache; // never destroyed: tensors may be freed during exit
    return *c;
}

c10::DeleterFnPtr fallbackDeleter = nullptr;

// Also what raw_deallocate calls, with blocks of either allocator.
void giveBack(void* p)
{
    if (!cache().give(p) && fallbackDeleter != nullptr)
        fallbackDeleter(p);
}

class CachingCpuAllocator final : public c10::Allocator {
public:
    explicit CachingCpuAllocator(c10::Allocator* fallback) : fallback_(fallback)
    {
        fallbackDeleter = fallback->raw_deleter();
    }

    c10::DataPtr allocate(std::size_t n) const override
    {
        if (n < kSmallest)
            return fallback_->allocate(n);
        void* p = cache().take(n);
        return {p, p, &giveBack, c10::Device(c10::DeviceType::CPU)};
    }

    c10::DeleterFnPtr raw_deleter() const override { return &giveBack; }

private:
    c10::Allocator* fallback_;
};

[[maybe_unused]] const bool installed = [] {
    static CachingCpuAllocator allocator(c10::GetCPUAllocator());
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
    return true;
}();

} // namespace
} // namespace qat

#endif
