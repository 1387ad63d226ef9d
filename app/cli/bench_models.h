// SPDX-License-Identifier: MIT
#pragma once
// The models `qatwb bench` times steps on: the demo (or --model), and by default two real
// architectures (torchvision's MobileNet v2 and ResNet-18, 10 classes, 64x64 RGB) written at
// bench time by tests/fixtures/make_torchvision_fixtures.py with Debian's python3-torchvision.
// Each comes with batches of its own input shape: real Fashion-MNIST images when the model
// takes them, else synthetic images and labels (speed does not depend on pixel values).

#include "training/tensor_dataset.h"

#include <string>
#include <vector>

namespace qat::cli::bench {

struct BenchModel {
    std::string path;
    std::string name;           ///< file name, the `model` key of the bench's JSON
    std::vector<int64_t> input; ///< C, H, W
    int64_t classes = 0;
    bool fashionMnist = false;  ///< takes [N, 1, 28, 28]: real data
};

/// The model at path with its input found by dry forwards ([N, 1, 28, 28] first, then RGB and
/// grey at 32 to 224 pixels). Throws qat::Error when none fits.
BenchModel benchModel(const std::string& path);

/// MobileNet v2 and ResNet-18 (64x64), written into the user's cache on first use; none and a
/// note in *note when Python's torchvision is missing.
std::vector<BenchModel> benchArchitectures(std::string* note);

/// n images (and labels) for the model: the first n Fashion-MNIST training images, or
/// uniform random pixels and labels (seeded) of its input shape.
train::TensorDataset benchData(const BenchModel& model, int64_t n);

} // namespace qat::cli::bench
