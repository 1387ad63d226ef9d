// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qat::train {

/// Images of an IDX file as floats in [0,1], laid out [count, channels, height, width].
struct ImageSet {
    int64_t count = 0;
    int64_t channels = 1;
    int64_t height = 0;
    int64_t width = 0;
    std::vector<float> pixels;
};

/// A labelled split: images[i] has class labels[i].
struct LabelledImages {
    ImageSet images;
    std::vector<int64_t> labels;
    int64_t classCount = 0; ///< max label + 1
};

/// Reads an IDX image file (magic 0x00000803, unsigned bytes; .gz or raw).
/// Throws qat::DataError naming the file: bad magic, element type, dims, truncated data.
ImageSet readIdxImages(const std::string& path);

/// Reads an IDX label file (magic 0x00000801, unsigned bytes; .gz or raw).
std::vector<int64_t> readIdxLabels(const std::string& path);

/// Reads `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]` from
/// folder (prefix "train" or "t10k") and checks that the counts agree.
LabelledImages readIdxSplit(const std::string& folder, const std::string& prefix);

/// Resolves a data set name or folder: "fashion-mnist" is the Debian package's folder
/// (/usr/share/datasets/fashion-mnist, or $QATWB_DATASETS_DIR/fashion-mnist). Anything
/// else is taken as a folder. Throws qat::DataError when it does not exist, with the
/// command that installs the package.
std::string resolveDatasetFolder(const std::string& nameOrFolder);

} // namespace qat::train
