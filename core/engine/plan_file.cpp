// SPDX-License-Identifier: MIT
// The versioned JSON plan format: parsing with messages that name the field, and writing.
#include "engine/quantization_plan.h"

#include "common/error.h"
#include "common/json_number.h"
#include "quantizers/quantizer_error.h"
#include "targets/target_registry.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace qat::engine {

using nlohmann::json;
using quant::InitMethod;
using quant::Target;

namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& where, const std::string& what)
{
    throw Error(origin + ": " + where + ": " + what);
}

template <typename T>
T field(const json& value, const std::string& origin, const std::string& where, const char* expected)
{
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (const auto v = exactInteger<T>(value)) {
            return *v;
        }
        fail(origin, where, std::string("expected ") + expected + ", got " + value.dump());
    }
    try {
        return value.get<T>();
    } catch (const json::exception&) {
        fail(origin, where, std::string("expected ") + expected + ", got " + value.dump());
    }
}

ChoiceOverride parseOverride(const json& value, const std::string& origin, const std::string& where)
{
    ChoiceOverride o;
    if (value.is_boolean()) {
        o.enabled = value.get<bool>();
        return o;
    }
    if (!value.is_object()) {
        fail(origin, where, "expected an object of quantizer fields or false, got " + value.dump());
    }
    try {
        for (auto it = value.begin(); it != value.end(); ++it) {
            const auto at = where + "." + it.key();
            const auto& v = it.value();
            if (it.key() == "enabled") o.enabled = field<bool>(v, origin, at, "true or false");
            else if (it.key() == "training") o.training = field<std::string>(v, origin, at, "a training method id");
            else if (it.key() == "method") o.method = quant::parseMethod(field<std::string>(v, origin, at, "a method name"));
            else if (it.key() == "bits") o.bits = field<int>(v, origin, at, "an integer");
            else if (it.key() == "per_channel") o.perChannel = field<bool>(v, origin, at, "true or false");
            else if (it.key() == "init") o.init = quant::parseInitMethod(field<std::string>(v, origin, at, "max, mse, percentile or auto"));
            else if (it.key() == "percentile") o.percentile = field<double>(v, origin, at, "a number");
            else if (it.key() == "freeze") o.freeze = field<bool>(v, origin, at, "true or false");
            else if (it.key() == "signed") o.isSigned = field<bool>(v, origin, at, "true or false");
            else fail(origin, at, "unknown field (known: enabled, training, method, bits, per_channel, init, "
                                  "percentile, freeze, signed)");
        }
    } catch (const quant::QuantizerError& e) {
        fail(origin, where, e.what());
    }
    if (o.bits && value.at("bits").is_number_float()) {
        fail(origin, where + ".bits", "expected an integer, got " + value.at("bits").dump());
    }
    return o;
}

json overrideToJson(const ChoiceOverride& o)
{
    json j = json::object();
    if (o.enabled) j["enabled"] = *o.enabled;
    if (o.training) j["training"] = *o.training;
    if (o.method) j["method"] = quant::toString(*o.method);
    if (o.bits) j["bits"] = *o.bits;
    if (o.perChannel) j["per_channel"] = *o.perChannel;
    if (o.init) j["init"] = quant::toString(*o.init);
    if (o.percentile) j["percentile"] = *o.percentile;
    if (o.freeze) j["freeze"] = *o.freeze;
    if (o.isSigned) j["signed"] = *o.isSigned;
    return j;
}

json choiceToJson(const QuantizerChoice& c)
{
    json j = {{"enabled", c.enabled},
              {"training", c.key.training},
              {"method", quant::toString(c.key.method)},
              {"bits", c.config.bits},
              {"init", quant::toString(c.config.init)},
              {"freeze", c.config.freeze}};
    if (c.key.target == Target::Weights) j["per_channel"] = c.config.perChannel;
    if (c.config.init == InitMethod::Percentile) j["percentile"] = c.config.percentile;
    if (c.config.isSigned) j["signed"] = *c.config.isSigned;
    return j;
}

PointRule parsePointRule(const json& r, const std::string& origin, const std::string& where)
{
    PointRule rule;
    if (!r.is_object()) fail(origin, where, "expected an object");
    for (auto f = r.begin(); f != r.end(); ++f) {
        if (f.key() == "op") rule.op = field<std::string>(f.value(), origin, where + ".op", "an op name such as add");
        else if (f.key() == "name") rule.namePattern = field<std::string>(f.value(), origin, where + ".name", "a regular expression");
        else if (f.key() == "activations") rule.activations = parseOverride(f.value(), origin, where + ".activations");
        else fail(origin, where + "." + f.key(), "unknown field (known: op, name, activations)");
    }
    return rule;
}

} // namespace

QuantizationPlan parsePlan(const std::string& text, const std::string& origin)
{
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::exception& e) { // parse_error, and out_of_range for 1e999 (found by fuzz_plan_parser)
        throw Error(origin + ": not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!doc.is_object()) {
        throw Error(origin + ": a plan file is a JSON object");
    }
    // Read by type: value() throws a json type_error (not a qat::Error, so not a message
    // a user could act on) for {"format": 0} (found by fuzz_plan_parser).
    const auto format = doc.find("format");
    const auto versionField = doc.find("version");
    const int64_t version = versionField != doc.end() && versionField->is_number_integer() ? versionField->get<int64_t>() : 0;
    if (format == doc.end() || !format->is_string() || *format != "qat-workbench-plan" || version < 1) {
        throw Error(origin + ": not a QAT Workbench plan (needs \"format\": \"qat-workbench-plan\", \"version\": "
                    + std::to_string(QuantizationPlan::kFormatVersion) + ")");
    }
    if (version > QuantizationPlan::kFormatVersion) {
        throw Error(origin + ": plan format version " + std::to_string(version)
                    + " is newer than this QAT Workbench understands (" + std::to_string(QuantizationPlan::kFormatVersion)
                    + "); update QAT Workbench");
    }
    QuantizationPlan plan = presetPlan(doc.contains("preset") ? field<std::string>(doc["preset"], origin, "preset", "a preset name")
                                                              : "mct-default");
    if (!doc.contains("preset")) {
        plan.preset.clear();
    }
    // Plans written before deployment targets existed keep their meaning: layer outputs only.
    if (version < 2) {
        plan.target = target::kLegacyTarget;
    }
    // Plans written before last_layer_input existed: their preset had none.
    if (version < 3) {
        plan.lastLayerInput = {};
    }
    // Plans written before train_batch_norm existed folded BatchNorm before QAT.
    if (version < 4) {
        plan.trainBatchNorm = false;
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const auto& key = it.key();
        const auto& v = it.value();
        if (key == "format" || key == "version" || key == "preset") {
            continue;
        } else if (key == "target") {
            plan.target = field<std::string>(v, origin, key, "a deployment target name");
            try {
                target::builtinTargets().find(plan.target);
            } catch (const Error& e) {
                fail(origin, key, e.what());
            }
        } else if (key == "points") {
            if (!v.is_array()) fail(origin, key, "expected a list of point rules");
            plan.points.clear(); // as with rules: the file's replace the preset's
            for (size_t i = 0; i < v.size(); ++i) {
                plan.points.push_back(parsePointRule(v[i], origin, "points[" + std::to_string(i) + "]"));
            }
        } else if (key == "point_overrides") {
            if (!v.is_object()) fail(origin, key, "expected an object keyed by activation point name");
            for (auto p = v.begin(); p != v.end(); ++p) {
                plan.pointOverrides[p.key()] = parseOverride(p.value(), origin, "point_overrides." + p.key());
            }
        } else if (key == "weights") {
            parseOverride(v, origin, "weights").applyTo(plan.weights);
        } else if (key == "activations") {
            parseOverride(v, origin, "activations").applyTo(plan.activations);
        } else if (key == "input") {
            plan.input = parseOverride(v, origin, "input");
        } else if (key == "output") {
            plan.output = parseOverride(v, origin, "output");
        } else if (key == "last_layer_input") {
            plan.lastLayerInput = parseOverride(v, origin, "last_layer_input");
        } else if (key == "quantize_input") {
            plan.quantizeInput = field<bool>(v, origin, key, "true or false");
        } else if (key == "fold_batch_norm") {
            plan.foldBatchNorm = field<bool>(v, origin, key, "true or false");
        } else if (key == "train_batch_norm") {
            plan.trainBatchNorm = field<bool>(v, origin, key, "true or false");
        } else if (key == "integer_bias") {
            plan.integerBias = field<bool>(v, origin, key, "true or false");
        } else if (key == "rules") {
            if (!v.is_array()) fail(origin, key, "expected a list of rules");
            // The file's rules replace the preset's (a saved plan lists them all, and plans
            // saved before a preset gained rules keep their meaning).
            plan.rules.clear();
            for (size_t i = 0; i < v.size(); ++i) {
                const auto where = "rules[" + std::to_string(i) + "]";
                PlanRule rule;
                const auto& r = v[i];
                if (!r.is_object()) fail(origin, where, "expected an object");
                for (auto f = r.begin(); f != r.end(); ++f) {
                    if (f.key() == "kind") rule.kind = field<std::string>(f.value(), origin, where + ".kind", "a layer kind");
                    else if (f.key() == "name") rule.namePattern = field<std::string>(f.value(), origin, where + ".name", "a regular expression");
                    else if (f.key() == "weights") rule.weights = parseOverride(f.value(), origin, where + ".weights");
                    else if (f.key() == "activations") rule.activations = parseOverride(f.value(), origin, where + ".activations");
                    else fail(origin, where + "." + f.key(), "unknown field (known: kind, name, weights, activations)");
                }
                plan.rules.push_back(rule);
            }
        } else if (key == "layers") {
            if (!v.is_object()) fail(origin, key, "expected an object keyed by layer name");
            for (auto l = v.begin(); l != v.end(); ++l) {
                const auto where = "layers." + l.key();
                LayerOverride o;
                if (!l.value().is_object()) fail(origin, where, "expected an object with weights and/or activations");
                for (auto f = l.value().begin(); f != l.value().end(); ++f) {
                    if (f.key() == "weights") o.weights = parseOverride(f.value(), origin, where + ".weights");
                    else if (f.key() == "activations") o.activations = parseOverride(f.value(), origin, where + ".activations");
                    else fail(origin, where + "." + f.key(), "unknown field (known: weights, activations)");
                }
                plan.layers[l.key()] = o;
            }
        } else {
            fail(origin, key, "unknown field (known: format, version, preset, target, weights, activations, input, output, "
                              "last_layer_input, quantize_input, fold_batch_norm, train_batch_norm, integer_bias, rules, layers, points, point_overrides)");
        }
    }
    return plan;
}

std::string planToJson(const QuantizationPlan& plan)
{
    json doc = {{"format", "qat-workbench-plan"},
                {"version", QuantizationPlan::kFormatVersion},
                {"target", plan.target},
                {"weights", choiceToJson(plan.weights)},
                {"activations", choiceToJson(plan.activations)},
                {"input", overrideToJson(plan.input)},
                {"output", overrideToJson(plan.output)},
                {"last_layer_input", overrideToJson(plan.lastLayerInput)},
                {"quantize_input", plan.quantizeInput},
                {"fold_batch_norm", plan.foldBatchNorm},
                {"train_batch_norm", plan.trainBatchNorm},
                {"integer_bias", plan.integerBias}};
    if (!plan.preset.empty()) {
        doc["preset"] = plan.preset;
    }
    json rules = json::array();
    for (const auto& rule : plan.rules) {
        json r = json::object();
        if (!rule.kind.empty()) r["kind"] = rule.kind;
        if (!rule.namePattern.empty()) r["name"] = rule.namePattern;
        if (!rule.weights.empty()) r["weights"] = overrideToJson(rule.weights);
        if (!rule.activations.empty()) r["activations"] = overrideToJson(rule.activations);
        rules.push_back(r);
    }
    doc["rules"] = rules;
    json layers = json::object();
    for (const auto& [name, o] : plan.layers) {
        json l = json::object();
        if (!o.weights.empty()) l["weights"] = overrideToJson(o.weights);
        if (!o.activations.empty()) l["activations"] = overrideToJson(o.activations);
        layers[name] = l;
    }
    doc["layers"] = layers;
    json points = json::array();
    for (const auto& rule : plan.points) {
        json r = json::object();
        if (!rule.op.empty()) r["op"] = rule.op;
        if (!rule.namePattern.empty()) r["name"] = rule.namePattern;
        r["activations"] = overrideToJson(rule.activations);
        points.push_back(r);
    }
    doc["points"] = points;
    json pointOverrides = json::object();
    for (const auto& [name, o] : plan.pointOverrides) {
        pointOverrides[name] = overrideToJson(o);
    }
    doc["point_overrides"] = pointOverrides;
    return doc.dump(2);
}

QuantizationPlan loadPlanFile(const std::string& path)
{
    std::ifstream in(path);
    if (!in) {
        throw Error(path + ": cannot read the plan file");
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parsePlan(buffer.str(), path);
}

void savePlanFile(const QuantizationPlan& plan, const std::string& path)
{
    std::ofstream out(path);
    out << planToJson(plan) << "\n";
    if (!out) {
        throw Error(path + ": cannot write the plan file (check the folder exists and is writable)");
    }
}

} // namespace qat::engine
