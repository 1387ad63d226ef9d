// SPDX-License-Identifier: MIT
#include "data/data_plan.h"

#include "common/error.h"
#include "common/text.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace qat::data {

namespace {

// The interpreter's message ends with the original error after two tracebacks.
std::string lastLine(const std::string& text)
{
    auto end = text.find_last_not_of("\n ");
    if (end == std::string::npos) return text;
    const auto start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

std::string sizeText(const SampleShape& s)
{
    return std::to_string(s.height) + "x" + std::to_string(s.width);
}

double maxValue(const OpenedData& data)
{
    const auto* array = dynamic_cast<const ArraySource*>(data.train.source.get());
    if (array == nullptr) return 255;
    const auto& a = array->array();
    double m = 0;
    for (int64_t i = 0, n = a.elements(); i < n; ++i) m = std::max(m, a.at(i));
    return m;
}

void checkLabels(const OpenedData& data, int64_t classes)
{
    for (const auto* split : {&data.train, &data.test}) {
        for (int64_t i = 0; i < split->size(); ++i) {
            const auto label = split->labels[size_t(i)];
            if (label >= classes) {
                const auto name = size_t(label) < data.classNames.size() ? data.classNames[size_t(label)] : std::to_string(label);
                throw DataError("label " + std::to_string(label) + " (class '" + name + "', e.g. "
                                + split->source->name(split->indices[size_t(i)]) + ") is outside the model's "
                                + std::to_string(classes) + " classes (0-" + std::to_string(classes - 1)
                                + "): the data has " + std::to_string(data.classNames.size())
                                + " classes; use a model with as many outputs");
            }
        }
    }
}

void limit(Split& s, int64_t n)
{
    if (n > 0 && n < s.size()) {
        s.indices.resize(size_t(n));
        s.labels.resize(size_t(n));
    }
}

} // namespace

SampleShape commonShape(const OpenedData& data, bool& mixed, std::string& example)
{
    std::map<std::tuple<int64_t, int64_t, int64_t>, int64_t> counts;
    std::map<std::tuple<int64_t, int64_t, int64_t>, std::string> names;
    for (const auto* split : {&data.train, &data.test}) {
        for (auto i : split->indices) {
            const auto s = split->source->shape(i);
            const auto key = std::make_tuple(s.channels, s.height, s.width);
            if (counts[key]++ == 0) names[key] = split->source->name(i);
        }
    }
    SampleShape best;
    int64_t most = -1;
    for (const auto& [key, n] : counts) {
        if (n > most) {
            most = n;
            best = {std::get<0>(key), std::get<1>(key), std::get<2>(key)};
        }
    }
    mixed = false;
    for (const auto& [key, n] : counts) {
        if (std::get<1>(key) != best.height || std::get<2>(key) != best.width) {
            mixed = true;
            example = names[key] + " is " + std::to_string(std::get<1>(key)) + "x" + std::to_string(std::get<2>(key));
        }
    }
    return best;
}

ModelInput probeModel(const Forward& forward, const OpenedData& data)
{
    bool mixed = false;
    std::string example;
    const auto shape = commonShape(data, mixed, example);
    std::vector<int64_t> channels{shape.channels};
    for (int64_t c : {3, 1}) {
        if (c != shape.channels) channels.push_back(c);
    }
    std::vector<std::pair<int64_t, int64_t>> sizes{{shape.height, shape.width}};
    for (int64_t s : {28, 32, 224, 64, 96, 112, 128, 160, 192, 256, 299, 384}) {
        if (s != shape.height || s != shape.width) sizes.push_back({s, s});
    }
    std::string firstError;
    for (const auto& [h, w] : sizes) {
        for (auto c : channels) {
            at::Tensor out;
            try {
                at::NoGradGuard noGrad;
                out = forward(at::zeros({2, c, h, w}));
            } catch (const c10::Error& e) {
                if (firstError.empty()) firstError = firstLine(e.what_without_backtrace());
                continue;
            } catch (const std::exception& e) { // the TorchScript interpreter's errors
                if (firstError.empty()) firstError = lastLine(e.what());
                continue;
            }
            if (out.dim() != 2) {
                throw DataError("the model returns shape " + shapeText({out.sizes().begin(), out.sizes().end()})
                                + " for a batch of 2; a classifier must return [batch, classes]");
            }
            return {c, h, w, out.size(1)};
        }
    }
    throw DataError("data of shape [N, " + std::to_string(shape.channels) + ", " + std::to_string(shape.height) + ", "
                    + std::to_string(shape.width) + "] does not fit the model, nor do the usual sizes (28 to 384 "
                    "pixels, 1 or 3 channels): " + firstError);
}

DataOptions resolveOptions(const DataOptions& options, const OpenedData& data, const ModelInput* model)
{
    DataOptions o = options;
    bool mixed = false;
    std::string example;
    const auto shape = commonShape(data, mixed, example);
    if (o.channels == 0) o.channels = model != nullptr ? model->channels : shape.channels;
    if (o.divisor == 0) {
        const auto type = data.train.source->valueType();
        if (type == ElementType::U8) {
            o.divisor = 255;
        } else if (type == ElementType::U16) {
            o.divisor = 65535;
        } else {
            const double m = maxValue(data);
            o.divisor = m <= 1.0 ? 1 : m <= 255 ? 255 : 1;
        }
    }
    if (o.resize.mode == ResizeMode::Auto) {
        if (model == nullptr) {
            if (mixed) {
                o.resize = {ResizeMode::Crop, shape.height, shape.width};
            } else {
                o.resize = {ResizeMode::None, 0, 0};
            }
        } else if (!mixed && shape.height == model->height && shape.width == model->width) {
            o.resize = {ResizeMode::None, 0, 0};
        } else {
            o.resize = {ResizeMode::Crop, model->height, model->width};
        }
    }
    if (o.resize.mode == ResizeMode::None) {
        if (mixed) {
            throw DataError("mixed image sizes: most samples are " + sizeText(shape) + " but " + example
                            + "; give --resize " + sizeText(shape) + " or --resize crop:" + sizeText(shape)
                            + " (Resize on the Data page), or leave resizing at auto");
        }
        if (model != nullptr && (shape.height != model->height || shape.width != model->width)) {
            throw DataError("the samples are " + sizeText(shape) + " but the model takes " + std::to_string(model->height)
                            + "x" + std::to_string(model->width) + "; resize them with --resize " + std::to_string(model->height)
                            + "x" + std::to_string(model->width) + " (Resize on the Data page), or leave resizing at auto");
        }
    }
    if (o.normalize.mode == NormalizeMode::Imagenet && o.channels != 3) {
        throw DataError("--normalize imagenet needs 3 channels, but the samples fed have " + std::to_string(o.channels));
    }
    if (o.normalize.mode == NormalizeMode::Values && o.normalize.mean.size() != 1
        && int64_t(o.normalize.mean.size()) != o.channels) {
        throw DataError("--normalize gives " + std::to_string(o.normalize.mean.size()) + " means for "
                        + std::to_string(o.channels) + " channels (give one, or one per channel)");
    }
    if (o.normalize.mode == NormalizeMode::Data && o.normalize.mean.empty()) {
        // per-channel mean and std of up to 512 training samples as the model will see them
        const auto p = pipelineFor(o, data);
        const int64_t n = std::min<int64_t>(data.train.size(), 512);
        std::vector<double> sum(size_t(o.channels), 0), sq(size_t(o.channels), 0);
        std::vector<float> out(size_t(p.outputSize()));
        const int64_t hw = p.height * p.width;
        for (int64_t i = 0; i < n; ++i) {
            const auto index = data.train.indices[size_t(i)];
            preprocessForDisplay(data.train.source->sample(index), p, out.data(), data.train.source->name(index));
            for (int64_t c = 0; c < o.channels; ++c) {
                for (int64_t k = 0; k < hw; ++k) {
                    const double v = out[size_t(c * hw + k)];
                    sum[size_t(c)] += v;
                    sq[size_t(c)] += v * v;
                }
            }
        }
        for (int64_t c = 0; c < o.channels; ++c) {
            const double count = double(n * hw);
            const double mean = sum[size_t(c)] / count;
            o.normalize.mean.push_back(mean);
            o.normalize.std.push_back(std::max(1e-6, std::sqrt(std::max(0.0, sq[size_t(c)] / count - mean * mean))));
        }
    }
    if (model != nullptr && data.labelled) checkLabels(data, model->classes);
    return o;
}

Pipeline pipelineFor(const DataOptions& resolved, const OpenedData& data)
{
    bool mixed = false;
    std::string example;
    const auto shape = commonShape(data, mixed, example);
    return makePipeline(resolved, shape.height, shape.width);
}

std::vector<std::string> PreparedData::describe() const
{
    std::vector<std::string> lines;
    lines.push_back("data: " + data.path + " (" + toString(data.format) + "): " + std::to_string(data.train.size())
                    + " training and " + std::to_string(data.test.size()) + " evaluation samples from " + data.testSource
                    + (data.labelled ? ", " + std::to_string(data.classNames.size()) + " classes" : ", no labels"));
    lines.push_back("model input: [N, " + std::to_string(model.channels) + ", " + std::to_string(model.height) + ", "
                    + std::to_string(model.width) + "], " + std::to_string(model.classes) + " outputs");
    for (const auto& line : describePipeline(resolved)) lines.push_back("preprocessing " + line);
    for (const auto& s : data.skipped) lines.push_back("skipped " + s);
    return lines;
}

PreparedData prepareData(const std::string& path, const DataOptions& options, const Forward& forward,
                         int64_t limitTrain, int64_t limitTest)
{
    PreparedData p;
    p.data = openData(path, options);
    limit(p.data.train, limitTrain);
    limit(p.data.test, limitTest);
    p.model = probeModel(forward, p.data);
    p.resolved = resolveOptions(options, p.data, &p.model);
    p.pipeline = pipelineFor(p.resolved, p.data);
    return p;
}

} // namespace qat::data
