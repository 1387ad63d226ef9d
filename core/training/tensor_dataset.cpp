// SPDX-License-Identifier: MIT
#include "training/tensor_dataset.h"

#include "training/idx_reader.h"

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
