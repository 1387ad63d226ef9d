// SPDX-License-Identifier: MIT
#pragma once
// Data-parallel training across processes: a thin layer over c10d's TCPStore and
// ProcessGroupGloo (the machinery of PyTorch's DistributedDataParallel). Internal to the
// core (torch types); the trainer is its only user.

#include "common/error.h"
#include "training/train_types.h"

#include <ATen/ATen.h>

#include <memory>
#include <utility>
#include <vector>

namespace qat::dist {

/// Another rank died, hung past the timeout, or could not be reached. The message says
/// which rank saw it and what to check.
class DistributedError : public qat::Error {
public:
    using qat::Error::Error;
};

/// [begin, end) of rank's contiguous part when n items are split over world ranks; the
/// first n % world ranks get one more.
std::pair<int64_t, int64_t> shardRange(int64_t n, int rank, int world);

/// One process's membership of a training job. With a world size of 1 every call returns
/// at once without touching its arguments' values (a single-process run costs nothing).
/// All ranks must make the same calls in the same order (collectives). One thread.
class Communicator {
public:
    /// Joins the job: rank 0 hosts the TCPStore at options.masterAddress:masterPort, the
    /// others connect to it; waits for every rank at most options.timeoutSeconds.
    /// Throws DistributedError.
    explicit Communicator(const train::DistributedOptions& options);
    ~Communicator();
    Communicator(const Communicator&) = delete;
    Communicator& operator=(const Communicator&) = delete;

    int rank() const { return m_rank; }
    int worldSize() const { return m_world; }
    bool isLeader() const { return m_rank == 0; }
    bool isDistributed() const { return m_world > 1; }

    /// Averages the gradients of params over ranks (flattened into one buffer per dtype,
    /// one allreduce each); a parameter without a gradient counts as zeros. sums are
    /// added over ranks in the same allreduce (step metrics ride along for free).
    void allreduceGradients(const std::vector<at::Tensor>& params, std::vector<double>& sums);
    /// Adds values element-wise over ranks.
    void sum(std::vector<double>& values);
    /// True on every rank when flag is true on any.
    bool any(bool flag);
    /// Copies rank 0's values into tensors on every rank (same shapes everywhere).
    void broadcastFromLeader(const std::vector<at::Tensor>& tensors);
    /// Every rank's tensor, in rank order; sizes may differ between ranks (1-D).
    std::vector<at::Tensor> allgather(const at::Tensor& tensor);

private:
    void check(const char* what, const std::exception& e) const;

    struct Impl;
    std::unique_ptr<Impl> m_impl;
    int m_rank = 0;
    int m_world = 1;
    int m_timeoutSeconds = 0;
};

} // namespace qat::dist
