// SPDX-License-Identifier: MIT
#include "export/spec_file.h"

#include "common/error.h"
#include "common/json_number.h"
#include "quantizers/quantizer_error.h"

#include <fstream>
#include <sstream>

namespace qat::exporter {

nlohmann::json specToJson(const Spec& spec)
{
    nlohmann::json quantizers = nlohmann::json::array();
    for (const auto& e : spec.entries) {
        quantizers.push_back({{"name", e.name},
                              {"layer", e.layer},
                              {"target", quant::toString(e.target)},
                              {"trained_with", {{"training", e.training}, {"method", e.method}}},
                              {"class_name", e.className},
                              {"arguments", e.arguments}});
    }
    return {{"format", "qat-workbench-inferable-spec"},
            {"format_version", kSpecFormatVersion},
            {"app_version", spec.appVersion},
            {"model", {{"path", spec.modelPath}, {"sha256", spec.modelHash}}},
            {"run_id", spec.runId > 0 ? nlohmann::json(spec.runId) : nlohmann::json(nullptr)},
            {"quantizers", quantizers}};
}

namespace {

Spec parseSpec(const nlohmann::json& j, const std::string& path);

} // namespace

Spec readSpecFile(const std::string& path)
{
    std::ifstream in(path);
    if (!in) {
        throw Error(path + ": cannot be opened for reading");
    }
    std::stringstream text;
    text << in.rdbuf();
    return parseSpecText(text.str(), path);
}

Spec parseSpecText(const std::string& text, const std::string& path)
{
    const auto j = nlohmann::json::parse(text, nullptr, false);
    try {
        return parseSpec(j, path);
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": a field has the wrong type (" + std::string(e.what()) + ")");
    }
}

namespace {

Spec parseSpec(const nlohmann::json& j, const std::string& path)
{
    if (!j.is_object() || j.value("format", "") != "qat-workbench-inferable-spec") {
        throw Error(path + ": not a QAT Workbench inferable spec (no \"format\": \"qat-workbench-inferable-spec\")");
    }
    const auto version = j.contains("format_version") ? exactInteger<int>(j["format_version"]) : std::nullopt;
    if (version != kSpecFormatVersion) {
        throw Error(path + ": spec format version " + j.value("format_version", nlohmann::json()).dump()
                    + " is not supported; this version reads " + std::to_string(kSpecFormatVersion));
    }
    Spec spec;
    spec.appVersion = j.value("app_version", "");
    if (j.contains("model") && j["model"].is_object()) {
        spec.modelPath = j["model"].value("path", "");
        spec.modelHash = j["model"].value("sha256", "");
    }
    if (j.contains("run_id") && j["run_id"].is_number_integer()) {
        spec.runId = j["run_id"].get<int64_t>();
    }
    if (!j.contains("quantizers") || !j["quantizers"].is_array()) {
        throw Error(path + ": \"quantizers\" must be a list");
    }
    for (const auto& q : j["quantizers"]) {
        const auto name = q.is_object() ? q.value("name", "") : "";
        const auto where = path + ": quantizer '" + name + "'";
        if (name.empty() || !q.contains("class_name") || !q["class_name"].is_string() || !q.contains("arguments")) {
            throw Error(where + ": every entry needs \"name\", \"class_name\" and \"arguments\"");
        }
        SpecEntry e;
        e.name = name;
        e.layer = q.value("layer", "");
        try {
            e.target = quant::parseTarget(q.value("target", "weights"));
            e.className = q["class_name"].get<std::string>();
            e.arguments = q["arguments"];
            e.quantizer = quant::makeInferableQuantizer(e.className, e.arguments);
        } catch (const quant::QuantizerError& err) {
            throw Error(where + ": " + err.what());
        }
        if (q.contains("trained_with") && q["trained_with"].is_object()) {
            e.training = q["trained_with"].value("training", "");
            e.method = q["trained_with"].value("method", "");
        }
        spec.entries.push_back(std::move(e));
    }
    return spec;
}

} // namespace

} // namespace qat::exporter
