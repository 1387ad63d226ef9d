// SPDX-License-Identifier: MIT
#include "distributed/distributed_model.h"

#include "distributed/communicator.h"
#include "engine/qat_model.h"
#include "quantizers/builtin_quantizer_base.h"

#include <algorithm>
#include <limits>

namespace qat::dist {

namespace {

void mergeSample(quant::calib::ValueSample& sample, Communicator& comm)
{
    const auto& local = sample.parts();
    std::vector<double> header{double(sample.count()), sample.min(), sample.max(), double(local.size())};
    std::vector<double> lengths;
    for (const auto& p : local) {
        lengths.push_back(double(p.numel()));
    }
    const auto headers = comm.allgather(at::tensor(header, at::kDouble));
    const auto allLengths = comm.allgather(at::tensor(lengths, at::kDouble));
    const auto values = comm.allgather(local.empty() ? at::zeros({0}, at::kFloat) : at::cat(local));

    // Each rank's parts, cut back out of its gathered values.
    std::vector<std::vector<at::Tensor>> parts(size_t(comm.worldSize()));
    int64_t count = 0;
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    size_t mostParts = 0;
    bool sameShape = true;
    for (size_t r = 0; r < parts.size(); ++r) {
        const auto h = headers[r].contiguous();
        const auto* hv = h.data_ptr<double>();
        if (hv[0] > 0) {
            count += int64_t(hv[0]);
            lo = std::min(lo, hv[1]);
            hi = std::max(hi, hv[2]);
        }
        const auto len = allLengths[r].contiguous();
        int64_t offset = 0;
        for (int64_t i = 0; i < len.numel(); ++i) {
            const auto n = int64_t(len.data_ptr<double>()[i]);
            parts[r].push_back(values[r].slice(0, offset, offset + n));
            offset += n;
        }
        if (r > 0 && parts[r].size() != parts[0].size()) {
            sameShape = false;
        }
        mostParts = std::max(mostParts, parts[r].size());
    }
    if (count == 0) {
        return;
    }
    // Batch by batch, rank by rank: the order one process with the global batch sees.
    std::vector<at::Tensor> merged;
    if (sameShape) {
        for (size_t i = 0; i < mostParts; ++i) {
            for (auto& rankParts : parts) {
                merged.push_back(rankParts[i]);
            }
        }
    } else {
        for (auto& rankParts : parts) {
            merged.insert(merged.end(), rankParts.begin(), rankParts.end());
        }
    }
    sample.assign(std::move(merged), count, lo, hi);
}

} // namespace

void reduceCalibration(engine::QatModel& model, Communicator& comm)
{
    if (!comm.isDistributed()) {
        return;
    }
    for (const auto& site : model.sites()) {
        if (site.target != quant::Target::Activations) {
            continue;
        }
        // Every rank runs the same plan, so the same sites are built-in on every rank.
        if (auto* builtin = dynamic_cast<quant::BuiltinQuantizerBase*>(&model.table().at(size_t(site.slot)))) {
            mergeSample(builtin->activationSample(), comm);
        }
    }
}

void shareQuantizerParameters(engine::QatModel& model, Communicator& comm)
{
    if (!comm.isDistributed()) {
        return;
    }
    std::vector<at::Tensor> tensors;
    for (size_t i = 0; i < model.table().size(); ++i) {
        for (const auto& p : model.table().at(i).parameters()) {
            tensors.push_back(p.tensor);
        }
    }
    comm.broadcastFromLeader(tensors);
}

void shareModelState(engine::QatModel& model, Communicator& comm, bool withParameters)
{
    if (!comm.isDistributed()) {
        return;
    }
    std::vector<at::Tensor> tensors;
    if (withParameters) {
        tensors = model.modelParameters();
    }
    for (const auto& b : model.module().buffers()) {
        if (b.is_floating_point()) {
            tensors.push_back(b);
        }
    }
    comm.broadcastFromLeader(tensors);
}

} // namespace qat::dist
