// SPDX-License-Identifier: MIT
#pragma once
// Prefetching batches: worker threads read, decode and preprocess the next batches into a
// bounded queue while the caller trains on the current one. Owned by the training thread;
// next() is called from that thread only.

#include "data/preprocess.h"
#include "data/sample_source.h"

#include <ATen/ATen.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

namespace qat::data {

struct Batch {
    at::Tensor images; ///< [B, C, H, W] float
    at::Tensor labels; ///< [B] int64; undefined for unlabeled data
};

class BatchLoader {
public:
    /// order: positions in split (0 .. split.size()-1), batched in this order. workers <= 0:
    /// one per two cores (at least one), and while image files are still decoded (no cache,
    /// or one not yet full) one more per remaining core at the lowest priority (idle time only).
    BatchLoader(const Split& split, const Pipeline& pipeline, std::vector<int64_t> order, int64_t batch,
                BadImages badImages = BadImages::Refuse, int workers = 0, int depth = 4);
    ~BatchLoader();
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;

    /// The next batch in order; false after the last. Rethrows a worker's error (a file
    /// that cannot be decoded, a sample that does not fit).
    bool next(Batch& out);
    int64_t batches() const { return m_batches; }
    /// Seconds next() spent waiting for a batch that was not ready yet.
    double waitSeconds() const { return m_waitSeconds; }
    /// Worker threads started.
    int threads() const;

private:
    void work();
    static void lowerPriority();
    Batch make(int64_t b) const;

    const Split& m_split;
    Pipeline m_pipeline;
    std::vector<int64_t> m_order;
    int64_t m_batch;
    BadImages m_badImages;
    int64_t m_batches;
    int m_depth;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::map<int64_t, Batch> m_ready;
    std::exception_ptr m_error;
    int64_t m_nextToMake = 0;
    int64_t m_nextToTake = 0;
    bool m_stop = false;
    double m_waitSeconds = 0;
    std::vector<std::thread> m_threads;
};

/// All of a split in order, preprocessed, as one tensor (small test sets, parity checks).
at::Tensor loadAll(const Split& split, const Pipeline& pipeline, int64_t limit, BadImages badImages);

} // namespace qat::data
