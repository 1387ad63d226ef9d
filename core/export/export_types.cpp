// SPDX-License-Identifier: MIT
#include "export/export_types.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <sstream>

namespace qat::exporter {

std::string toString(Format format)
{
    switch (format) {
    case Format::Spec: return "spec";
    case Format::TorchScript: return "torchscript";
    case Format::Onnx: return "onnx";
    case Format::MctqOnnx: return "mctq-onnx";
    }
    return "?";
}

std::string extension(Format format)
{
    switch (format) {
    case Format::Spec: return ".json";
    case Format::TorchScript: return ".pt";
    case Format::Onnx: return ".onnx";
    case Format::MctqOnnx: return ".mctq.onnx";
    }
    return "";
}

std::vector<Format> parseFormats(const std::string& list)
{
    std::vector<Format> formats;
    std::stringstream stream(list);
    for (std::string name; std::getline(stream, name, ',');) {
        Format f;
        if (name == "spec") f = Format::Spec;
        else if (name == "torchscript") f = Format::TorchScript;
        else if (name == "onnx") f = Format::Onnx;
        else if (name == "mctq-onnx") f = Format::MctqOnnx;
        else throw Error("unknown export format '" + name + "' (formats: spec, torchscript, onnx, mctq-onnx)");
        bool seen = false;
        for (auto g : formats) seen = seen || g == f;
        if (!seen) formats.push_back(f);
    }
    if (formats.empty()) {
        throw Error("no export format given (formats: spec, torchscript, onnx, mctq-onnx)");
    }
    return formats;
}

std::string parityToJson(const ParityReport& r)
{
    nlohmann::json sites = nlohmann::json::array();
    for (const auto& s : r.sites) {
        sites.push_back({{"name", s.name}, {"target", s.target}, {"class_name", s.className},
                         {"max_abs_diff", s.maxAbsDiff}, {"note", s.note},
                         {"rebuild_max_abs_diff", s.rebuildMaxAbsDiff}});
    }
    const auto& rt = r.runtime;
    const nlohmann::json runtime{{"checked", rt.checked}, {"runtime", rt.runtime}, {"note", rt.note},
                                 {"images", rt.images}, {"max_abs_diff", rt.maxAbsDiff},
                                 {"top1_agreement", rt.top1Agreement}, {"runtime_top1", rt.runtimeTop1}};
    return nlohmann::json{{"images", r.images},
                          {"max_abs_diff", r.maxAbsDiff},
                          {"top1_agreement", r.top1Agreement},
                          {"training_top1", r.trainingTop1},
                          {"exported_top1", r.exportedTop1},
                          {"sites", sites},
                          {"notes", r.notes},
                          {"runtime", runtime}}
        .dump();
}

ParityReport parityFromJson(const std::string& json)
{
    ParityReport r;
    const auto j = nlohmann::json::parse(json, nullptr, false);
    if (!j.is_object()) {
        return r;
    }
    r.images = j.value("images", int64_t(0));
    r.maxAbsDiff = j.value("max_abs_diff", 0.0);
    r.top1Agreement = j.value("top1_agreement", 0.0);
    r.trainingTop1 = j.value("training_top1", -1.0);
    r.exportedTop1 = j.value("exported_top1", -1.0);
    for (const auto& s : j.value("sites", nlohmann::json::array())) {
        r.sites.push_back({s.value("name", ""), s.value("target", ""), s.value("class_name", ""),
                           s.value("max_abs_diff", 0.0), s.value("note", ""),
                           s.value("rebuild_max_abs_diff", -1.0)});
    }
    r.notes = j.value("notes", std::vector<std::string>{});
    if (const auto rt = j.find("runtime"); rt != j.end() && rt->is_object()) {
        r.runtime = {rt->value("checked", false),       rt->value("runtime", ""),
                     rt->value("note", ""),             rt->value("images", int64_t(0)),
                     rt->value("max_abs_diff", 0.0),    rt->value("top1_agreement", 0.0),
                     rt->value("runtime_top1", -1.0)};
    }
    return r;
}

} // namespace qat::exporter
