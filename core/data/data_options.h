// SPDX-License-Identifier: MIT
#pragma once
// How a run reads its data and what it does to every sample before the model sees it.
// Plain data (no torch, no Qt): stored with the run, shown by the CLI and the data page.

#include <cstdint>
#include <string>
#include <vector>

namespace qat::data {

/// Auto detects the format from the path (see detectFormat).
enum class DataFormat { Auto = 1, Idx, ImageFolder, Images, TorchSave, Npy, Npz };
std::string toString(DataFormat format);
/// "auto", "idx", "image-folder", "images", "torch", "npy", "npz"; throws qat::Error otherwise.
DataFormat parseDataFormat(const std::string& text);

/// An unreadable image either stops the run before it starts (Refuse) or is left out (Skip).
enum class BadImages { Refuse = 1, Skip };
std::string toString(BadImages policy);
BadImages parseBadImages(const std::string& text);

/// Auto: to the model's input size when the data does not already have it (as Crop);
/// None: samples must already have one size; Stretch: to height x width ignoring the aspect;
/// Crop: shorter side to fit, then the centre height x width (torchvision's Resize + CenterCrop).
enum class ResizeMode { Auto = 1, None, Stretch, Crop };
struct Resize {
    ResizeMode mode = ResizeMode::Auto;
    int64_t height = 0;
    int64_t width = 0;
};
std::string toString(const Resize& resize);
/// "auto", "none", "HxW" (stretch), "crop:HxW" or "HxW:crop"; throws qat::Error otherwise.
Resize parseResize(const std::string& text);

/// None: values stay in [0, 1]; Imagenet: torchvision's ImageNet mean/std; Data: mean/std
/// measured on the training data when the run starts; Values: the given numbers.
enum class NormalizeMode { None = 1, Imagenet, Data, Values };
struct Normalize {
    NormalizeMode mode = NormalizeMode::None;
    std::vector<double> mean; ///< one per channel (or one for all), filled for Values
    std::vector<double> std;
};
std::string toString(const Normalize& normalize);
/// "none", "imagenet", "data", or "M1,M2,M3/S1,S2,S3" (or "M/S"); throws qat::Error otherwise.
Normalize parseNormalize(const std::string& text);

/// Everything the user chose about the data. Zero / Auto fields are filled in by
/// resolving against the model and the data (see data_plan.h); a run stores the resolved ones.
struct DataOptions {
    DataFormat format = DataFormat::Auto;
    Resize resize;
    Normalize normalize;
    double valSplit = 0.1;        ///< share held out for evaluation when the data has no test split
    uint64_t splitSeed = 0;       ///< seeds the held-out split and the sample order
    BadImages badImages = BadImages::Refuse;
    int64_t channels = 0;         ///< 0: the model's (found by a dry forward)
    double divisor = 0;           ///< values are divided by this (255 for 8-bit); 0: from the data type
};

/// One line per step, e.g. "resize: shorter side to 32, centre crop 32x32".
std::vector<std::string> describePipeline(const DataOptions& options);

/// JSON text of the options (stored with a run) and back; missing keys keep defaults.
std::string toJson(const DataOptions& options);
DataOptions dataOptionsFromJson(const std::string& json);

} // namespace qat::data
