// SPDX-License-Identifier: MIT
#include "engine/quantization_plan.h"

#include "common/error.h"
#include "common/json_number.h"
#include "quantizers/quantizer_error.h"
#include "quantizers/quantizer_registry.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>

namespace qat::engine {

using nlohmann::json;
using quant::InitMethod;
using quant::Method;
using quant::Target;

bool ChoiceOverride::empty() const
{
    return !enabled && !training && !method && !bits && !perChannel && !init && !percentile && !freeze && !isSigned;
}

void ChoiceOverride::applyTo(QuantizerChoice& choice) const
{
    if (enabled) choice.enabled = *enabled;
    if (training) choice.key.training = *training;
    if (method) choice.key.method = *method;
    if (bits) choice.config.bits = *bits;
    if (perChannel) choice.config.perChannel = *perChannel;
    if (init) choice.config.init = *init;
    if (percentile) choice.config.percentile = *percentile;
    if (freeze) choice.config.freeze = *freeze;
    if (isSigned) choice.config.isSigned = *isSigned;
}

namespace {

// A depthwise convolution: one input channel per group, more than one group.
bool isDepthwise(const model::LayerInfo& layer)
{
    return layer.groups > 1 && layer.weightShape.size() > 2 && layer.weightShape[1] == 1
           && layer.kind.rfind("conv", 0) == 0 && layer.kind.rfind("conv_transpose", 0) != 0;
}

// `kind` is a layer kind, or one of the selectors "depthwise", "first", "last" (in graph order).
bool matchesKind(const std::string& kind, const model::LayerInfo& layer, size_t index, size_t count)
{
    if (kind.empty()) return true;
    if (kind == "depthwise") return isDepthwise(layer);
    if (kind == "first") return index == 0;
    if (kind == "last") return index + 1 == count;
    return kind == layer.kind;
}

bool matchesRule(const PlanRule& rule, const model::LayerInfo& layer, size_t index, size_t count,
                 const std::regex* pattern)
{
    if (!matchesKind(rule.kind, layer, index, count)) {
        return false;
    }
    return pattern == nullptr || std::regex_match(layer.name, *pattern);
}

QuantizerChoice makeChoice(Target target, Method method, const char* training, int bits, bool perChannel)
{
    QuantizerChoice choice;
    choice.key = {target, method, training};
    choice.config.bits = bits;
    choice.config.perChannel = perChannel;
    return choice;
}

QuantizationPlan makePreset(const std::string& name, QuantizerChoice weights, QuantizerChoice activations)
{
    QuantizationPlan plan;
    plan.preset = name;
    plan.weights = std::move(weights);
    plan.activations = std::move(activations);
    return plan;
}

// --- JSON ---------------------------------------------------------------------------

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
            else if (it.key() == "init") o.init = quant::parseInitMethod(field<std::string>(v, origin, at, "max, mse or percentile"));
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

} // namespace

std::vector<LayerPlan> resolvePlan(const QuantizationPlan& plan, const std::vector<model::LayerInfo>& layers)
{
    std::vector<std::optional<std::regex>> patterns;
    for (size_t i = 0; i < plan.rules.size(); ++i) {
        const auto& rule = plan.rules[i];
        if (rule.namePattern.empty()) {
            patterns.emplace_back();
            continue;
        }
        try {
            patterns.emplace_back(std::regex(rule.namePattern, std::regex::ECMAScript));
        } catch (const std::regex_error& e) {
            throw Error("plan rule " + std::to_string(i + 1) + ": name pattern '" + rule.namePattern
                        + "' is not a valid regular expression (" + e.what() + ")");
        }
    }
    for (const auto& entry : plan.layers) {
        const auto& name = entry.first; // a plain reference: clang 14 cannot capture a structured binding
        const bool known = std::any_of(layers.begin(), layers.end(), [&](const auto& l) { return l.name == name; });
        if (!known) {
            std::string names;
            for (const auto& l : layers) {
                names += (names.empty() ? "" : ", ") + l.name;
            }
            throw Error("plan overrides layer '" + name + "', which the model does not have; rename or remove that entry (its layers: "
                        + names + ")");
        }
    }
    std::vector<LayerPlan> resolved;
    for (size_t index = 0; index < layers.size(); ++index) {
        const auto& layer = layers[index];
        LayerPlan lp{layer.name, layer.kind, plan.weights, plan.activations};
        lp.weights.key.target = Target::Weights;
        lp.activations.key.target = Target::Activations;
        for (size_t i = 0; i < plan.rules.size(); ++i) {
            if (matchesRule(plan.rules[i], layer, index, layers.size(), patterns[i] ? &*patterns[i] : nullptr)) {
                plan.rules[i].weights.applyTo(lp.weights);
                plan.rules[i].activations.applyTo(lp.activations);
            }
        }
        if (auto found = plan.layers.find(layer.name); found != plan.layers.end()) {
            found->second.weights.applyTo(lp.weights);
            found->second.activations.applyTo(lp.activations);
        }
        lp.weights.config.channelAxis = static_cast<int>(layer.channelAxis);
        lp.activations.config.perChannel = false;
        resolved.push_back(std::move(lp));
    }
    return resolved;
}

QuantizerChoice inputChoice(const QuantizationPlan& plan)
{
    auto choice = plan.activations;
    plan.input.applyTo(choice);
    choice.key.target = Target::Activations;
    choice.config.perChannel = false;
    choice.enabled = choice.enabled && plan.quantizeInput;
    return choice;
}

void validatePlan(const std::vector<LayerPlan>& layers, const QuantizationPlan& plan,
                  const quant::QuantizerRegistry& registry)
{
    auto check = [&](const QuantizerChoice& choice, const std::string& where) {
        if (!choice.enabled) {
            return;
        }
        try {
            registry.find(choice.key);
            quant::validateConfig(choice.key, choice.config);
        } catch (const quant::QuantizerError& e) {
            throw Error(where + ": " + e.what());
        }
    };
    for (const auto& layer : layers) {
        check(layer.weights, "layer " + layer.layer + " weights");
        check(layer.activations, "layer " + layer.layer + " activations");
    }
    check(inputChoice(plan), "model input");
}

std::vector<std::string> presetNames()
{
    return {"mct-default", "w8a8-lsq", "w4a8-lsq", "w2a3", "w4a4-lsq-uniform"};
}

QuantizationPlan presetPlan(const std::string& name)
{
    const auto W = Target::Weights;
    const auto A = Target::Activations;
    // MCT's default target platform: 8-bit symmetric per-channel weights, 8-bit POT activations.
    if (name == "mct-default") {
        return makePreset(name, makeChoice(W, Method::Symmetric, "STE", 8, true),
                          makeChoice(A, Method::PowerOfTwo, "STE", 8, false));
    }
    if (name == "w8a8-lsq") {
        return makePreset(name, makeChoice(W, Method::Symmetric, "LSQ", 8, true),
                          makeChoice(A, Method::PowerOfTwo, "LSQ", 8, false));
    }
    if (name == "w4a8-lsq") {
        return makePreset(name, makeChoice(W, Method::Symmetric, "LSQ", 4, true),
                          makeChoice(A, Method::PowerOfTwo, "LSQ", 8, false));
    }
    // MCT's QAT tutorial bit widths; LSQ because STE collapses at 2 bits (design/quantizers.md §10).
    // Input and output stay at 8 bits: images arrive as 8-bit pixels, and 3-bit logits (8
    // values) cannot rank 10 classes (measured: -6 pt on an MLP, -0.7 pt with 8-bit logits).
    // The first and last layers' weights stay at 8 bits, as in the low-bit literature (LSQ,
    // PACT), and so do depthwise convolutions' (9 weights per channel on 4 levels): on a
    // depthwise-separable residual net, 3 epochs lost 6.3 pt with all weights at 2 bits,
    // 4.8 pt with first/last at 8 and 3.7 pt with depthwise at 8 too (README).
    if (name == "w2a3") {
        auto plan = makePreset(name, makeChoice(W, Method::Symmetric, "LSQ", 2, true),
                               makeChoice(A, Method::PowerOfTwo, "LSQ", 3, false));
        plan.input.bits = 8;
        plan.output.bits = 8;
        for (const char* kind : {"first", "last", "depthwise"}) {
            PlanRule rule;
            rule.kind = kind;
            rule.weights.bits = 8;
            plan.rules.push_back(rule);
        }
        return plan;
    }
    if (name == "w4a4-lsq-uniform") {
        return makePreset(name, makeChoice(W, Method::Uniform, "LSQ", 4, true),
                          makeChoice(A, Method::Uniform, "LSQ", 4, false));
    }
    std::string names;
    for (const auto& n : presetNames()) {
        names += (names.empty() ? "" : ", ") + n;
    }
    throw Error("unknown preset '" + name + "' (presets: " + names + ")");
}

ChoiceOverride parseChoiceSpec(const std::string& spec, const std::string& what)
{
    std::vector<std::string> parts;
    std::stringstream stream(spec);
    for (std::string part; std::getline(stream, part, ':');) {
        parts.push_back(part);
    }
    const auto shape = what + " '" + spec + "': expected TRAINING:METHOD:BITS[:per-channel|per-tensor], e.g. "
                       + "lsq:symmetric:4:per-channel";
    if (parts.size() < 3 || parts.size() > 4 || parts[0].empty()) {
        throw Error(shape);
    }
    ChoiceOverride o;
    o.enabled = true;
    o.training = parts[0];
    try {
        o.method = quant::parseMethod(parts[1]);
        size_t used = 0;
        o.bits = std::stoi(parts[2], &used);
        if (used != parts[2].size()) {
            throw std::invalid_argument(parts[2]);
        }
    } catch (const quant::QuantizerError& e) {
        throw Error(what + " '" + spec + "': " + e.what());
    } catch (const std::exception&) {
        throw Error(shape);
    }
    if (parts.size() == 4) {
        if (parts[3] != "per-channel" && parts[3] != "per-tensor") {
            throw Error(shape);
        }
        o.perChannel = parts[3] == "per-channel";
    }
    // Training ids are matched case-insensitively; keep the canonical spelling of built-ins.
    for (const char* known : {"STE", "LSQ", "PACT", "LSQ+"}) {
        if (quant::sameTrainingId(*o.training, known)) {
            o.training = known;
        }
    }
    return o;
}

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
        throw Error(origin + ": not a QAT Workbench plan (needs \"format\": \"qat-workbench-plan\", \"version\": 1)");
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
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const auto& key = it.key();
        const auto& v = it.value();
        if (key == "format" || key == "version" || key == "preset") {
            continue;
        } else if (key == "weights") {
            parseOverride(v, origin, "weights").applyTo(plan.weights);
        } else if (key == "activations") {
            parseOverride(v, origin, "activations").applyTo(plan.activations);
        } else if (key == "input") {
            plan.input = parseOverride(v, origin, "input");
        } else if (key == "output") {
            plan.output = parseOverride(v, origin, "output");
        } else if (key == "quantize_input") {
            plan.quantizeInput = field<bool>(v, origin, key, "true or false");
        } else if (key == "fold_batch_norm") {
            plan.foldBatchNorm = field<bool>(v, origin, key, "true or false");
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
            fail(origin, key, "unknown field (known: format, version, preset, weights, activations, input, output, quantize_input, "
                              "fold_batch_norm, rules, layers)");
        }
    }
    return plan;
}

std::string planToJson(const QuantizationPlan& plan)
{
    json doc = {{"format", "qat-workbench-plan"},
                {"version", QuantizationPlan::kFormatVersion},
                {"weights", choiceToJson(plan.weights)},
                {"activations", choiceToJson(plan.activations)},
                {"input", overrideToJson(plan.input)},
                {"output", overrideToJson(plan.output)},
                {"quantize_input", plan.quantizeInput},
                {"fold_batch_norm", plan.foldBatchNorm}};
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
