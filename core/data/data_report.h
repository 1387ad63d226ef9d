// SPDX-License-Identifier: MIT
#pragma once
// What a data set holds and what will be done to it, for `qatwb data inspect` and the data
// page. Plain data (no torch, no Qt); inspectData may be called from any thread.

#include "data/data_options.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qat::data {

struct ClassCount {
    std::string name;
    int64_t train = 0;
    int64_t test = 0;
};

struct ShapeCount {
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    int64_t count = 0;
};

/// A training sample after resize, crop and channel conversion, before normalisation:
/// 8-bit, HWC, what the model is shown (minus the mean/std shift).
struct Thumbnail {
    std::string name;       ///< file, or array[index]
    int64_t label = -1;
    std::string className;  ///< empty without labels
    int64_t width = 0;
    int64_t height = 0;
    int64_t channels = 0;
    std::vector<uint8_t> pixels;
};

struct DataReport {
    std::string path;
    std::string format;
    bool labelled = true;
    int64_t trainSamples = 0;
    int64_t testSamples = 0;
    std::string testSource;
    std::vector<ClassCount> classes;
    std::vector<ShapeCount> shapes;   ///< distinct sample shapes, most common first
    std::string valueType;            ///< "uint8", "float32", ...
    double minValue = 0;              ///< over the samples looked at, as stored
    double maxValue = 0;
    int64_t valuesFrom = 0;           ///< how many samples minValue/maxValue cover
    std::vector<std::string> skipped; ///< unreadable files left out
    std::string model;                ///< the model checked against; empty: none
    std::vector<int64_t> modelInput;  ///< [C, H, W] the model takes
    int64_t modelClasses = 0;
    DataOptions resolved;             ///< automatic choices filled in
    std::vector<std::string> pipeline;
    std::vector<Thumbnail> thumbnails;
};

/// Opens path with options (checked against modelPath's input and classes when given)
/// and describes it, with up to `thumbnails` preprocessed samples (spread over the
/// classes). Throws qat::Error (DataError, ModelError) with a message a user can act on.
DataReport inspectData(const std::string& path, const DataOptions& options, const std::string& modelPath,
                       int thumbnails = 0);

std::string reportToJson(const DataReport& report);
/// Several lines of text, as `qatwb data inspect` prints them.
std::string reportToText(const DataReport& report);

} // namespace qat::data
