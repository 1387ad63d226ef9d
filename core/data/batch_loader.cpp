// SPDX-License-Identifier: MIT
#include "data/batch_loader.h"

#include "common/error.h"
#include "data/sample_cache.h"

#include <chrono>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace qat::data {

BatchLoader::BatchLoader(const Split& split, const Pipeline& pipeline, std::vector<int64_t> order, int64_t batch,
                         BadImages badImages, int workers, int depth)
    : m_split(split), m_pipeline(pipeline), m_order(std::move(order)), m_batch(std::max<int64_t>(batch, 1)),
      m_badImages(badImages), m_batches((int64_t(m_order.size()) + m_batch - 1) / m_batch), m_depth(std::max(depth, 1))
{
    int idleOnly = 0;
    if (workers <= 0) {
        const int cores = std::max(1, int(std::thread::hardware_concurrency()));
        workers = std::max(1, cores / 2);
        // Image files still to decode (no cache, or one not yet filled): the other cores get
        // a worker too, at the lowest priority, so they decode only while the cores are idle
        // (training waiting for data, its serial parts) and never slow the step itself.
        // Not for arrays (IDX, NumPy, tensors): a batch is a copy there, one worker keeps up,
        // and a batch claimed by an idle-priority worker that the step's threads starve would
        // keep training waiting for nothing.
        const SampleCache* cache = m_split.cache && m_split.cache->serves(m_pipeline) ? m_split.cache.get() : nullptr;
        const bool decodes = dynamic_cast<const ImageFileSource*>(m_split.source.get()) != nullptr;
        if (decodes && (!cache || cache->cached() < m_split.size())) idleOnly = cores - workers;
    }
    const int64_t most = std::max<int64_t>(m_batches, 1);
    workers = int(std::min<int64_t>(workers, most));
    idleOnly = int(std::min<int64_t>(idleOnly, most - workers));
    for (int i = 0; i < workers + idleOnly; ++i) {
        const bool idle = i >= workers;
        m_threads.emplace_back([this, idle] {
            if (idle) lowerPriority();
            work();
        });
    }
}

int BatchLoader::threads() const
{
    return int(m_threads.size());
}

void BatchLoader::lowerPriority()
{
#ifdef __linux__
    // Linux's nice value is per thread (setpriority on the thread id); failure only costs speed.
    (void)setpriority(PRIO_PROCESS, id_t(syscall(SYS_gettid)), 19);
#endif
}

BatchLoader::~BatchLoader()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_changed.notify_all();
    for (auto& t : m_threads) t.join();
}

Batch BatchLoader::make(int64_t b) const
{
    const int64_t begin = b * m_batch;
    const int64_t end = std::min<int64_t>(begin + m_batch, int64_t(m_order.size()));
    const int64_t sampleSize = m_pipeline.outputSize();
    auto images = at::empty({end - begin, m_pipeline.channels, m_pipeline.height, m_pipeline.width}, at::kFloat);
    std::vector<int64_t> labels;
    float* out = images.data_ptr<float>();
    SampleCache* cache = m_split.cache && m_split.cache->serves(m_pipeline) ? m_split.cache.get() : nullptr;
    int64_t kept = 0;
    bool labelled = true;
    for (int64_t k = begin; k < end; ++k) {
        const int64_t position = m_order[size_t(k)];
        const int64_t index = m_split.indices[size_t(position)];
        float* dest = out + kept * sampleSize;
        if (const float* cached = cache ? cache->find(position) : nullptr) {
            std::copy(cached, cached + sampleSize, dest);
        } else {
            const auto name = m_split.source->name(index);
            Sample sample;
            try {
                sample = m_split.source->sample(index);
            } catch (const DataError&) {
                if (m_badImages == BadImages::Skip) continue;
                throw;
            }
            preprocess(sample, m_pipeline, dest, name);
            if (cache) cache->store(position, dest);
        }
        const auto label = m_split.labels[size_t(position)];
        labelled = labelled && label >= 0;
        labels.push_back(label);
        ++kept;
    }
    Batch batch;
    batch.images = kept == end - begin ? images : images.slice(0, 0, kept);
    if (labelled) {
        batch.labels = at::empty({kept}, at::kLong);
        std::copy(labels.begin(), labels.end(), batch.labels.data_ptr<int64_t>());
    }
    return batch;
}

void BatchLoader::work()
{
    while (true) {
        int64_t b = 0;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_changed.wait(lock, [&] { return m_stop || m_error || (m_nextToMake < m_batches && m_nextToMake < m_nextToTake + m_depth); });
            if (m_stop || m_error) return;
            b = m_nextToMake++;
        }
        try {
            auto batch = make(b);
            std::lock_guard<std::mutex> lock(m_mutex);
            m_ready[b] = std::move(batch);
        } catch (...) {
            std::lock_guard<std::mutex> lock(m_mutex);
            if (!m_error) m_error = std::current_exception();
        }
        m_changed.notify_all();
    }
}

bool BatchLoader::next(Batch& out)
{
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(m_mutex);
    while (true) {
        if (m_nextToTake >= m_batches) return false;
        m_changed.wait(lock, [&] { return m_error || m_ready.count(m_nextToTake) > 0; });
        if (m_error) std::rethrow_exception(m_error);
        out = std::move(m_ready[m_nextToTake]);
        m_ready.erase(m_nextToTake);
        ++m_nextToTake;
        m_waitSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        lock.unlock();
        m_changed.notify_all();
        if (out.images.size(0) > 0) return true; // a batch of only skipped files is passed over
        lock.lock();
    }
}

at::Tensor loadAll(const Split& split, const Pipeline& pipeline, int64_t limit, BadImages badImages)
{
    const int64_t n = limit > 0 ? std::min(limit, split.size()) : split.size();
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
    BatchLoader loader(split, pipeline, order, 256, badImages);
    std::vector<at::Tensor> parts;
    Batch b;
    while (loader.next(b)) parts.push_back(b.images);
    if (parts.empty()) throw DataError("no samples to load");
    return at::cat(parts, 0);
}

} // namespace qat::data
