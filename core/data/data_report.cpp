// SPDX-License-Identifier: MIT
#include "data/data_report.h"

#include "common/error.h"
#include "data/data_plan.h"
#include "model/loaded_model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

namespace qat::data {

namespace {

std::vector<ShapeCount> shapes(const OpenedData& d)
{
    std::map<std::tuple<int64_t, int64_t, int64_t>, int64_t> counts;
    for (const auto* split : {&d.train, &d.test}) {
        for (auto i : split->indices) {
            const auto s = split->source->shape(i);
            ++counts[{s.channels, s.height, s.width}];
        }
    }
    std::vector<ShapeCount> out;
    for (const auto& [k, n] : counts) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
    return out;
}

// Training positions for thumbnails: round-robin over the classes so each shows.
std::vector<int64_t> thumbnailPositions(const OpenedData& d, int count)
{
    std::map<int64_t, std::vector<int64_t>> byLabel;
    for (int64_t i = 0; i < d.train.size(); ++i) byLabel[d.train.labels[size_t(i)]].push_back(i);
    std::vector<int64_t> out;
    for (size_t round = 0; int(out.size()) < count; ++round) {
        bool any = false;
        for (const auto& [label, positions] : byLabel) {
            if (round < positions.size() && int(out.size()) < count) {
                out.push_back(positions[round]);
                any = true;
            }
        }
        if (!any) break;
    }
    return out;
}

} // namespace

DataReport inspectData(const std::string& path, const DataOptions& options, const std::string& modelPath, int thumbnails)
{
    const auto data = openData(path, options);
    DataReport r;
    r.path = path;
    r.format = toString(data.format);
    r.labelled = data.labelled;
    r.trainSamples = data.train.size();
    r.testSamples = data.test.size();
    r.testSource = data.testSource;
    r.skipped = data.skipped;
    r.shapes = shapes(data);
    r.valueType = toString(data.train.source->valueType());
    for (size_t c = 0; c < data.classNames.size(); ++c) r.classes.push_back({data.classNames[c], 0, 0});
    for (auto l : data.train.labels) if (l >= 0 && size_t(l) < r.classes.size()) ++r.classes[size_t(l)].train;
    for (auto l : data.test.labels) if (l >= 0 && size_t(l) < r.classes.size()) ++r.classes[size_t(l)].test;

    ModelInput input;
    const ModelInput* model = nullptr;
    if (!modelPath.empty()) {
        auto loaded = model::loadModel(modelPath);
        loaded.module.eval();
        input = probeModel([&](const at::Tensor& x) { return loaded.module.forward({x}).toTensor(); }, data);
        model = &input;
        r.model = modelPath;
        r.modelInput = {input.channels, input.height, input.width};
        r.modelClasses = input.classes;
    }
    r.resolved = resolveOptions(options, data, model);
    r.pipeline = describePipeline(r.resolved);

    // value range as stored, over the samples shown plus the first few
    const auto pipeline = pipelineFor(r.resolved, data);
    auto positions = thumbnailPositions(data, std::max(thumbnails, 0));
    const int64_t scan = std::min<int64_t>(data.train.size(), 64);
    r.minValue = INFINITY;
    r.maxValue = -INFINITY;
    std::vector<float> out(size_t(pipeline.outputSize()));
    for (int64_t i = 0; i < scan || size_t(i - scan) < positions.size(); ++i) {
        const int64_t position = i < scan ? i : positions[size_t(i - scan)];
        const auto index = data.train.indices[size_t(position)];
        const auto name = data.train.source->name(index);
        const auto sample = data.train.source->sample(index);
        for (float v : sample.values) {
            r.minValue = std::min(r.minValue, double(v));
            r.maxValue = std::max(r.maxValue, double(v));
        }
        if (i < scan) {
            ++r.valuesFrom;
            continue;
        }
        preprocessForDisplay(sample, pipeline, out.data(), name);
        Thumbnail t;
        t.name = name;
        t.label = data.train.labels[size_t(position)];
        t.className = t.label >= 0 && size_t(t.label) < data.classNames.size() ? data.classNames[size_t(t.label)] : "";
        t.channels = pipeline.channels;
        t.height = pipeline.height;
        t.width = pipeline.width;
        const int64_t hw = t.height * t.width;
        t.pixels.resize(size_t(hw * t.channels));
        for (int64_t c = 0; c < t.channels; ++c) {
            for (int64_t k = 0; k < hw; ++k) {
                const float v = std::clamp(out[size_t(c * hw + k)], 0.0f, 1.0f);
                t.pixels[size_t(k * t.channels + c)] = uint8_t(std::lround(v * 255.0f));
            }
        }
        r.thumbnails.push_back(std::move(t));
    }
    if (r.valuesFrom == 0) r.minValue = r.maxValue = 0;
    return r;
}

std::string reportToJson(const DataReport& r)
{
    nlohmann::json classes = nlohmann::json::array();
    for (const auto& c : r.classes) classes.push_back({{"name", c.name}, {"train", c.train}, {"test", c.test}});
    nlohmann::json shapes = nlohmann::json::array();
    for (const auto& s : r.shapes) shapes.push_back({{"shape", {s.channels, s.height, s.width}}, {"count", s.count}});
    const auto resolved = nlohmann::json::parse(toJson(r.resolved));
    nlohmann::json j{{"path", r.path},
                     {"format", r.format},
                     {"labelled", r.labelled},
                     {"train_samples", r.trainSamples},
                     {"test_samples", r.testSamples},
                     {"test_source", r.testSource},
                     {"classes", classes},
                     {"shapes", shapes},
                     {"value_type", r.valueType},
                     {"value_range", {r.minValue, r.maxValue}},
                     {"value_range_samples", r.valuesFrom},
                     {"skipped", r.skipped},
                     {"preprocessing", resolved},
                     {"pipeline", r.pipeline}};
    if (!r.model.empty()) {
        j["model"] = {{"path", r.model}, {"input", r.modelInput}, {"classes", r.modelClasses}};
    }
    return j.dump(2);
}

std::string reportToText(const DataReport& r)
{
    std::ostringstream out;
    out << r.path << ": " << r.format << (r.labelled ? "" : ", no labels") << "\n"
        << "  samples: " << r.trainSamples << " training, " << r.testSamples << " evaluation (" << r.testSource << ")\n";
    out << "  shapes (C x H x W):";
    for (size_t i = 0; i < r.shapes.size() && i < 5; ++i) {
        out << (i ? "," : "") << " " << r.shapes[i].channels << "x" << r.shapes[i].height << "x" << r.shapes[i].width << " ("
            << r.shapes[i].count << ")";
    }
    if (r.shapes.size() > 5) out << ", ... " << r.shapes.size() << " sizes in all";
    out << "\n  values: " << r.valueType << ", " << r.minValue << " to " << r.maxValue << " (first " << r.valuesFrom
        << " samples)\n";
    if (!r.classes.empty()) {
        out << "  classes: " << r.classes.size() << "\n";
        for (const auto& c : r.classes) out << "    " << c.name << ": " << c.train << " training, " << c.test << " evaluation\n";
    }
    if (!r.model.empty()) {
        out << "  model " << r.model << " takes [N, " << r.modelInput[0] << ", " << r.modelInput[1] << ", "
            << r.modelInput[2] << "] and returns " << r.modelClasses << " classes\n";
    }
    out << "  preprocessing:\n";
    for (const auto& line : r.pipeline) out << "    " << line << "\n";
    for (const auto& s : r.skipped) out << "  skipped " << s << "\n";
    return out.str();
}

} // namespace qat::data
