// SPDX-License-Identifier: MIT
#include "data/data_options.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace qat::data {

namespace {

std::string number(double v)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", v);
    return buffer;
}

std::string list(const std::vector<double>& values)
{
    std::string text;
    for (size_t i = 0; i < values.size(); ++i) {
        text += (i ? "," : "") + number(values[i]);
    }
    return text;
}

std::vector<double> parseList(const std::string& text, const std::string& what)
{
    std::vector<double> values;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            size_t used = 0;
            values.push_back(std::stod(item, &used));
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            throw Error("--normalize: '" + item + "' in the " + what + " is not a number");
        }
    }
    if (values.empty()) throw Error("--normalize: no " + what + " values");
    return values;
}

bool parseSize(const std::string& text, int64_t& h, int64_t& w)
{
    const auto x = text.find('x');
    if (x == std::string::npos) return false;
    try {
        size_t a = 0;
        size_t b = 0;
        h = std::stoll(text.substr(0, x), &a);
        w = std::stoll(text.substr(x + 1), &b);
        return a == x && b == text.size() - x - 1 && h > 0 && w > 0;
    } catch (const std::exception&) {
        return false;
    }
}

} // namespace

std::string toString(DataFormat format)
{
    switch (format) {
    case DataFormat::Auto: return "auto";
    case DataFormat::Idx: return "idx";
    case DataFormat::ImageFolder: return "image-folder";
    case DataFormat::Images: return "images";
    case DataFormat::TorchSave: return "torch";
    case DataFormat::Npy: return "npy";
    case DataFormat::Npz: return "npz";
    }
    return "?";
}

DataFormat parseDataFormat(const std::string& text)
{
    for (auto f : {DataFormat::Auto, DataFormat::Idx, DataFormat::ImageFolder, DataFormat::Images, DataFormat::TorchSave,
                   DataFormat::Npy, DataFormat::Npz}) {
        if (text == toString(f)) return f;
    }
    throw Error("unknown data format '" + text + "' (use auto, idx, image-folder, images, torch, npy or npz)");
}

std::string toString(BadImages policy)
{
    return policy == BadImages::Skip ? "skip" : "refuse";
}

BadImages parseBadImages(const std::string& text)
{
    if (text == "skip") return BadImages::Skip;
    if (text == "refuse") return BadImages::Refuse;
    throw Error("unknown policy '" + text + "' for unreadable images (use skip or refuse)");
}

std::string toString(const Resize& r)
{
    const auto size = std::to_string(r.height) + "x" + std::to_string(r.width);
    switch (r.mode) {
    case ResizeMode::Auto: return "auto";
    case ResizeMode::None: return "none";
    case ResizeMode::Stretch: return size;
    case ResizeMode::Crop: return "crop:" + size;
    }
    return "?";
}

Resize parseResize(const std::string& text)
{
    Resize r;
    if (text == "auto") return r;
    if (text == "none") {
        r.mode = ResizeMode::None;
        return r;
    }
    std::string size = text;
    r.mode = ResizeMode::Stretch;
    if (text.rfind("crop:", 0) == 0) {
        size = text.substr(5);
        r.mode = ResizeMode::Crop;
    } else if (text.size() > 5 && text.compare(text.size() - 5, 5, ":crop") == 0) {
        size = text.substr(0, text.size() - 5);
        r.mode = ResizeMode::Crop;
    }
    if (!parseSize(size, r.height, r.width)) {
        throw Error("--resize: '" + text + "' is not auto, none, HxW or crop:HxW (e.g. 32x32 or crop:224x224)");
    }
    return r;
}

std::string toString(const Normalize& n)
{
    switch (n.mode) {
    case NormalizeMode::None: return "none";
    case NormalizeMode::Imagenet: return "imagenet";
    case NormalizeMode::Data: return n.mean.empty() ? "data" : list(n.mean) + "/" + list(n.std);
    case NormalizeMode::Values: return list(n.mean) + "/" + list(n.std);
    }
    return "?";
}

Normalize parseNormalize(const std::string& text)
{
    Normalize n;
    if (text == "none") return n;
    if (text == "imagenet") {
        n.mode = NormalizeMode::Imagenet;
        n.mean = {0.485, 0.456, 0.406};
        n.std = {0.229, 0.224, 0.225};
        return n;
    }
    if (text == "data") {
        n.mode = NormalizeMode::Data;
        return n;
    }
    const auto slash = text.find('/');
    if (slash == std::string::npos) {
        throw Error("--normalize: '" + text + "' is not none, imagenet, data or MEAN/STD (e.g. 0.5/0.25 or "
                    "0.49,0.48,0.45/0.25,0.24,0.26)");
    }
    n.mode = NormalizeMode::Values;
    n.mean = parseList(text.substr(0, slash), "mean");
    n.std = parseList(text.substr(slash + 1), "standard deviation");
    if (n.mean.size() != n.std.size()) {
        throw Error("--normalize: " + std::to_string(n.mean.size()) + " means but " + std::to_string(n.std.size())
                    + " standard deviations");
    }
    for (double s : n.std) {
        if (!(s > 0)) throw Error("--normalize: standard deviations must be positive, not " + number(s));
    }
    return n;
}

std::vector<std::string> describePipeline(const DataOptions& o)
{
    std::vector<std::string> lines;
    const auto size = std::to_string(o.resize.height) + "x" + std::to_string(o.resize.width);
    switch (o.resize.mode) {
    case ResizeMode::Auto: lines.push_back("resize: to the model's input size when needed"); break;
    case ResizeMode::None: lines.push_back("resize: none (samples keep their size)"); break;
    case ResizeMode::Stretch: lines.push_back("resize: stretch to " + size + " (bilinear, antialiased)"); break;
    case ResizeMode::Crop:
        lines.push_back("resize: shorter side to fit " + size + ", centre crop " + size + " (bilinear, antialiased)");
        break;
    }
    lines.push_back(o.channels == 0 ? std::string("channels: as the model needs")
                                    : "channels: " + std::to_string(o.channels)
                                          + (o.channels == 1 ? " (colour samples become grey: 0.299 R + 0.587 G + 0.114 B)"
                                                             : " (grey samples are copied to each)"));
    lines.push_back(o.divisor == 0 ? std::string("scale: from the data type (8-bit: / 255)")
                                   : o.divisor == 1 ? std::string("scale: none (values used as stored)")
                                                    : "scale: / " + number(o.divisor) + " (to [0, 1])");
    switch (o.normalize.mode) {
    case NormalizeMode::None: lines.push_back("normalize: none"); break;
    case NormalizeMode::Data:
        if (o.normalize.mean.empty()) {
            lines.push_back("normalize: mean and std measured on the training data");
            break;
        }
        [[fallthrough]];
    case NormalizeMode::Imagenet:
    case NormalizeMode::Values:
        lines.push_back("normalize: (x - mean) / std, mean " + list(o.normalize.mean) + ", std " + list(o.normalize.std)
                        + (o.normalize.mode == NormalizeMode::Imagenet ? " (ImageNet)"
                           : o.normalize.mode == NormalizeMode::Data   ? " (measured on the training data)"
                                                                       : ""));
        break;
    }
    return lines;
}

std::string toJson(const DataOptions& o)
{
    nlohmann::json j{{"format", toString(o.format)},
                     {"resize", toString(o.resize)},
                     {"normalize", o.normalize.mode == NormalizeMode::Imagenet ? std::string("imagenet")
                                                                                : toString(o.normalize)},
                     {"normalize_source", o.normalize.mode == NormalizeMode::Data ? "data" : ""},
                     {"val_split", o.valSplit},
                     {"split_seed", o.splitSeed},
                     {"bad_images", toString(o.badImages)},
                     {"channels", o.channels},
                     {"divisor", o.divisor}};
    return j.dump();
}

DataOptions dataOptionsFromJson(const std::string& text)
{
    DataOptions o;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return o;
    o.format = parseDataFormat(j.value("format", std::string("auto")));
    o.resize = parseResize(j.value("resize", std::string("auto")));
    o.normalize = parseNormalize(j.value("normalize", std::string("none")));
    if (j.value("normalize_source", std::string()) == "data") o.normalize.mode = NormalizeMode::Data;
    o.valSplit = j.value("val_split", o.valSplit);
    o.splitSeed = j.value("split_seed", o.splitSeed);
    o.badImages = parseBadImages(j.value("bad_images", std::string("refuse")));
    o.channels = j.value("channels", o.channels);
    o.divisor = j.value("divisor", o.divisor);
    return o;
}

} // namespace qat::data
