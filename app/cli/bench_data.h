// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace qat::cli {

/// images JPEGs of size x size pixels, RGB, in four class sub-folders of dir.
void writeImageFolder(const std::filesystem::path& dir, int images, int size);

/// Loader throughput vs training step rate on an image folder: writes `images` JPEGs
/// (size x size, 4 classes) to a temporary folder unless dataDir is given, then measures
/// the prefetching loader alone (images/s), the QAT step alone (images/s), and training fed
/// by the loader (how long the steps waited for data). modelPath takes RGB input.
nlohmann::json dataLoaderBench(const std::string& modelPath, const std::string& dataDir, int images, int size, int batch);

} // namespace qat::cli
