// SPDX-License-Identifier: MIT
#pragma once
// Preprocessed samples kept in memory after their first decode, so the second epoch (and
// every evaluation after the first) decodes nothing. Exactly the floats the pipeline wrote
// (not a re-rounded copy), so a cached epoch sees what the first one saw. Bounded: samples
// beyond the budget are decoded every time. Slots are claimed and filled by the loader's
// worker threads; a sample is only read in a later pass (loaders of one split never overlap).

#include "data/preprocess.h"
#include "data/sample_source.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace qat::data {

class SampleCache {
public:
    /// positions: the split's size; slots: how many samples fit the budget. Only loaders with
    /// this pipeline use the cache.
    SampleCache(int64_t positions, const Pipeline& pipeline, int64_t slots);
    SampleCache(const SampleCache&) = delete;
    SampleCache& operator=(const SampleCache&) = delete;

    /// The sample at this position of the split, or nullptr when it is not cached (yet).
    const float* find(int64_t position) const;
    /// Keeps a copy of the sample's floats when a slot is free. Any thread.
    void store(int64_t position, const float* values);

    /// Whether samples made by pipeline are the ones kept here.
    bool serves(const Pipeline& pipeline) const;
    int64_t slots() const { return m_slots; }
    int64_t cached() const { return std::min(m_next.load(), m_slots); }
    int64_t bytes() const { return m_slots * m_sampleFloats * int64_t(sizeof(float)); }

private:
    Pipeline m_pipeline;
    int64_t m_positions;
    int64_t m_sampleFloats;
    int64_t m_slots;
    std::unique_ptr<float[]> m_values;                 ///< untouched (unpaged) until filled
    std::unique_ptr<std::atomic<int64_t>[]> m_slotOf; ///< position -> slot, -1 when not cached
    std::atomic<int64_t> m_next{0};
};

/// Physical memory / 4: the default budget.
int64_t defaultCacheBytes();

/// One line for the log: how many samples of each split the caches hold at most, and the
/// memory they reserve; empty when there is no cache.
std::string describeCaches(const OpenedData& data);

/// Gives the splits of data whose samples are decoded from files (JPEG / PNG; arrays are
/// read from memory already) a cache, the evaluation split first, within budgetBytes (0: no
/// cache; caches attached before are dropped). Returns the bytes reserved.
int64_t attachCaches(OpenedData& data, const Pipeline& pipeline, int64_t budgetBytes);

} // namespace qat::data
