// SPDX-License-Identifier: MIT
#pragma once
// Labelled images as tensors, for training and evaluation. Internal (torch types).

#include <ATen/ATen.h>

#include <string>

namespace qat::train {

struct TensorDataset {
    at::Tensor images; ///< [N, C, H, W] float in [0, 1]
    at::Tensor labels; ///< [N] int64
    int64_t classCount = 0;
    int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

/// Reads the IDX split `prefix` ("train" or "t10k") of the data set `nameOrFolder`
/// (see resolveDatasetFolder), keeping the first `limit` images when limit > 0.
TensorDataset loadIdxDataset(const std::string& nameOrFolder, const std::string& prefix, int64_t limit);

} // namespace qat::train

#include "data/data_options.h"

#include <functional>
#include <vector>

namespace qat::train {

using ForwardFn = std::function<at::Tensor(const at::Tensor&)>;

/// The evaluation split of any data set (see data/sample_source.h), preprocessed for the
/// model behind floatForward, the first `limit` samples when limit > 0. Unlabeled data is
/// labelled with the float model's predictions.
TensorDataset loadEvaluationData(const std::string& data, const data::DataOptions& options, const ForwardFn& floatForward,
                                 int64_t limit);

/// `batches` random training batches (seeded), preprocessed, for calibrating quantizers: the
/// images a single-process run with this seed calibrates on (from the first `limitTrain`
/// training samples when limitTrain > 0, as the run's --limit-train).
std::vector<at::Tensor> loadCalibrationBatches(const std::string& data, const data::DataOptions& options,
                                               const ForwardFn& floatForward, uint64_t seed, int batches, int batch,
                                               int64_t limitTrain = 0);

} // namespace qat::train
