// SPDX-License-Identifier: MIT
#pragma once
// The per-sample pipeline with every number resolved: channel conversion, resize / centre
// crop, scale, normalisation. Plain C++ so loader threads never touch LibTorch's thread pool.

#include "data/data_options.h"
#include "data/sample_source.h"

#include <string>
#include <vector>

namespace qat::data {

struct Pipeline {
    int64_t channels = 1;
    int64_t height = 0;   ///< output size (for ResizeMode::None: the size every sample has)
    int64_t width = 0;
    ResizeMode resize = ResizeMode::None;
    float divisor = 1;
    std::vector<float> mean; ///< empty: no normalisation; else one per output channel
    std::vector<float> std;
    int64_t outputSize() const { return channels * height * width; }
};

/// The pipeline of resolved options (see data_plan.h); size is the samples' common size for
/// ResizeMode::None.
Pipeline makePipeline(const DataOptions& resolved, int64_t height, int64_t width);

/// Writes pipeline.outputSize() floats (CHW) to out. name is the sample's file or array
/// element, for the error when a sample does not fit.
void preprocess(const Sample& sample, const Pipeline& pipeline, float* out, const std::string& name);

/// The same without normalisation (values in [0, 1]): what the data page shows.
void preprocessForDisplay(const Sample& sample, const Pipeline& pipeline, float* out, const std::string& name);

/// Bilinear resize with PIL's / PyTorch's antialiasing (triangle filter widened by the
/// scale when shrinking); equals torch.nn.functional.interpolate(mode="bilinear",
/// antialias=True, align_corners=False). in and out are CHW.
void resizeBilinear(const float* in, int64_t channels, int64_t inH, int64_t inW, float* out, int64_t outH, int64_t outW);

/// The size a sample is scaled to before the centre crop to height x width: the shorter
/// side fits, the longer keeps the aspect ratio (truncated, as torchvision does).
std::pair<int64_t, int64_t> cropScaledSize(int64_t inH, int64_t inW, int64_t height, int64_t width);

} // namespace qat::data
