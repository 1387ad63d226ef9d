// SPDX-License-Identifier: MIT
#pragma once

#include "arguments.h"
#include "data/data_options.h"

#include <string>
#include <vector>

/// The help lines of the data options (a macro so help texts can be joined at compile time).
#define QATWB_DATA_OPTIONS_HELP \
    "  --data NAME|PATH        fashion-mnist (default); a folder of images with one sub-folder per\n" \
    "                          class (train/ and val/ or test/ sub-trees when present); a folder of\n" \
    "                          images without classes (no labels: distillation only); IDX files or\n" \
    "                          a folder of them (any rank); .npy files (images + labels, or\n" \
    "                          x_train/y_train/x_test/y_test); a .npz archive; a torch.save file of\n" \
    "                          a dict or tuple of images and labels\n" \
    "  --data-format F         auto (default), image-folder, images, idx, npy, npz, torch\n" \
    "  --resize R              auto (default: to the model's input size when needed, shorter side\n" \
    "                          then centre crop), none, HxW (stretch) or crop:HxW\n" \
    "  --normalize N           none (default: values in [0, 1]), imagenet, data (mean/std measured\n" \
    "                          on the training data) or MEAN/STD, e.g. 0.5/0.25 or\n" \
    "                          0.49,0.48,0.45/0.25,0.24,0.26\n" \
    "  --val-split X           share held out for evaluation when the data has no test split\n" \
    "                          (default 0.1)      --split-seed N   seeds that split (default 0)\n" \
    "  --bad-images P          refuse (default: an unreadable image stops before training) or skip\n"

namespace qat::cli {

extern const char* const kDataHelp;

/// The value options that describe data, shared by `train` and `data inspect`.
extern const std::vector<std::string> kDataOptions;

/// --data-format, --resize, --normalize, --val-split, --split-seed, --bad-images; UsageError when malformed.
data::DataOptions dataOptions(const Arguments& a);

/// `qatwb data inspect PATH [--model M] [--json]`: what a data set holds and how it will be fed.
int runData(const std::vector<std::string>& args);

} // namespace qat::cli
