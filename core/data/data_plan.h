// SPDX-License-Identifier: MIT
#pragma once
// A data set made ready for one model: the model's input found by a dry forward, the
// options' automatic choices resolved, every check done before training starts.

#include "data/preprocess.h"
#include "data/sample_source.h"

#include <ATen/ATen.h>

#include <functional>

namespace qat::data {

using Forward = std::function<at::Tensor(const at::Tensor&)>;

/// What the model takes and returns, found by dry forwards on zeros.
struct ModelInput {
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    int64_t classes = 0;
};

/// Tries the data's own sample shape first, then the usual sizes (28 ... 299) with the
/// data's, 3 and 1 channels. Throws qat::DataError saying what was tried.
ModelInput probeModel(const Forward& forward, const OpenedData& data);

/// Fills the automatic fields of options from the data (and the model when given): channels,
/// resize, divisor, measured mean/std. Checks sizes and labels; throws qat::DataError.
DataOptions resolveOptions(const DataOptions& options, const OpenedData& data, const ModelInput* model);

/// The most common sample shape and whether all samples have it.
SampleShape commonShape(const OpenedData& data, bool& mixed, std::string& example);

struct PreparedData {
    OpenedData data;
    DataOptions resolved;
    Pipeline pipeline;
    ModelInput model;
    /// Lines for the log: what was found and what will be done to it.
    std::vector<std::string> describe() const;
};

/// Opens, probes, resolves and checks; keeps the first limitTrain / limitTest samples (> 0).
PreparedData prepareData(const std::string& path, const DataOptions& options, const Forward& forward,
                         int64_t limitTrain, int64_t limitTest);

/// The pipeline of resolved options for this data.
Pipeline pipelineFor(const DataOptions& resolved, const OpenedData& data);

} // namespace qat::data
