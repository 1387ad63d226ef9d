// SPDX-License-Identifier: MIT
#include "training/tensor_dataset.h"

#include "training/idx_reader.h"

#include "common/error.h"
#include "data/batch_loader.h"
#include "data/data_plan.h"

#include <ATen/CPUGeneratorImpl.h>

#include <numeric>

namespace qat::train {

TensorDataset loadIdxDataset(const std::string& nameOrFolder, const std::string& prefix, int64_t limit)
{
    auto split = readIdxSplit(resolveDatasetFolder(nameOrFolder), prefix);
    const auto& im = split.images;
    TensorDataset data;
    data.images = at::from_blob(split.images.pixels.data(), {im.count, im.channels, im.height, im.width}, at::kFloat)
                      .clone();
    data.labels = at::from_blob(split.labels.data(), {int64_t(split.labels.size())}, at::kLong).clone();
    data.classCount = split.classCount;
    if (limit > 0 && limit < data.size()) {
        data.images = data.images.slice(0, 0, limit).clone();
        data.labels = data.labels.slice(0, 0, limit).clone();
    }
    return data;
}

} // namespace qat::train

namespace qat::train {

TensorDataset loadEvaluationData(const std::string& path, const data::DataOptions& options, const ForwardFn& floatForward,
                                 int64_t limit)
{
    const auto prepared = data::prepareData(path, options, floatForward, 1, limit);
    TensorDataset set;
    std::vector<int64_t> order(size_t(prepared.data.test.size()));
    std::iota(order.begin(), order.end(), 0);
    data::BatchLoader loader(prepared.data.test, prepared.pipeline, order, 256, prepared.resolved.badImages);
    std::vector<at::Tensor> images;
    std::vector<at::Tensor> labels;
    data::Batch batch;
    while (loader.next(batch)) {
        images.push_back(batch.images);
        if (batch.labels.defined()) {
            labels.push_back(batch.labels);
        } else {
            at::NoGradGuard noGrad;
            labels.push_back(floatForward(batch.images).argmax(1));
        }
    }
    if (images.empty()) {
        throw DataError(path + ": no evaluation samples");
    }
    set.images = at::cat(images, 0);
    set.labels = at::cat(labels, 0);
    set.classCount = int64_t(prepared.data.classNames.size());
    return set;
}

std::vector<at::Tensor> loadCalibrationBatches(const std::string& path, const data::DataOptions& options,
                                               const ForwardFn& floatForward, uint64_t seed, int batches, int batch,
                                               int64_t limitTrain)
{
    const auto prepared = data::prepareData(path, options, floatForward, limitTrain, 1);
    const auto& train = prepared.data.train;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto perm = at::randperm(train.size(), generator);
    const auto n = std::min<int64_t>(train.size(), int64_t(batches) * batch);
    std::vector<int64_t> order(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
    data::BatchLoader loader(train, prepared.pipeline, order, batch, prepared.resolved.badImages);
    std::vector<at::Tensor> out;
    for (data::Batch b; loader.next(b);) {
        out.push_back(b.images);
    }
    return out;
}

} // namespace qat::train
