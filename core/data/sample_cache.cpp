// SPDX-License-Identifier: MIT
#include "data/sample_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace qat::data {

SampleCache::SampleCache(int64_t positions, const Pipeline& pipeline, int64_t slots)
    : m_pipeline(pipeline), m_positions(positions), m_sampleFloats(pipeline.outputSize()),
      m_slots(std::clamp<int64_t>(slots, 0, positions)), m_values(new float[size_t(m_slots * m_sampleFloats)]), m_slotOf(new std::atomic<int64_t>[size_t(positions)])
{
    for (int64_t i = 0; i < positions; ++i) m_slotOf[size_t(i)].store(-1, std::memory_order_relaxed);
}

bool SampleCache::serves(const Pipeline& p) const
{
    const auto& m = m_pipeline;
    return p.channels == m.channels && p.height == m.height && p.width == m.width && p.resize == m.resize
           && p.divisor == m.divisor && p.mean == m.mean && p.std == m.std;
}

const float* SampleCache::find(int64_t position) const
{
    if (position < 0 || position >= m_positions) return nullptr;
    const auto slot = m_slotOf[size_t(position)].load(std::memory_order_acquire);
    return slot < 0 ? nullptr : m_values.get() + slot * m_sampleFloats;
}

void SampleCache::store(int64_t position, const float* values)
{
    if (position < 0 || position >= m_positions || m_slotOf[size_t(position)].load(std::memory_order_acquire) >= 0) {
        return;
    }
    if (m_next.load(std::memory_order_relaxed) >= m_slots) return;
    const auto slot = m_next.fetch_add(1);
    if (slot >= m_slots) return;
    std::memcpy(m_values.get() + slot * m_sampleFloats, values, size_t(m_sampleFloats) * sizeof(float));
    m_slotOf[size_t(position)].store(slot, std::memory_order_release);
}

int64_t defaultCacheBytes()
{
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long pageSize = sysconf(_SC_PAGESIZE);
    return pages > 0 && pageSize > 0 ? int64_t(pages) * pageSize / 4 : int64_t(1) << 30;
}

std::string describeCaches(const OpenedData& data)
{
    auto slots = [](const Split& s) { return s.cache ? s.cache->slots() : int64_t(0); };
    auto bytes = [](const Split& s) { return s.cache ? s.cache->bytes() : int64_t(0); };
    const auto total = bytes(data.train) + bytes(data.test);
    if (total == 0) return {};
    char megabytes[32];
    std::snprintf(megabytes, sizeof megabytes, "%.1f", double(total) / double(1 << 20));
    return "decoded images kept in memory after their first use: " + std::to_string(slots(data.train)) + " of "
           + std::to_string(data.train.size()) + " training, " + std::to_string(slots(data.test)) + " of "
           + std::to_string(data.test.size()) + " evaluation (" + megabytes + " MB at most; --cache-mb sets the budget)";
}

int64_t attachCaches(OpenedData& data, const Pipeline& pipeline, int64_t budgetBytes)
{
    const int64_t sampleBytes = pipeline.outputSize() * int64_t(sizeof(float));
    int64_t left = std::max<int64_t>(budgetBytes, 0);
    int64_t reserved = 0;
    for (Split* split : {&data.test, &data.train}) {
        split->cache.reset();
        if (!split->source || !split->source->decodes() || split->size() == 0 || sampleBytes <= 0) continue;
        const auto slots = std::min(split->size(), left / sampleBytes);
        if (slots <= 0) continue;
        split->cache = std::make_shared<SampleCache>(split->size(), pipeline, slots);
        left -= split->cache->bytes();
        reserved += split->cache->bytes();
    }
    return reserved;
}

} // namespace qat::data
