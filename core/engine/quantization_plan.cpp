// SPDX-License-Identifier: MIT
#include "engine/quantization_plan.h"

#include "common/error.h"
#include "model/layer_kind.h"
#include "quantizers/quantizer_error.h"
#include "quantizers/quantizer_registry.h"

#include <regex>

namespace qat::engine {

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

// `kind` is a layer kind, or one of the selectors "depthwise", "first", "last" (in graph order).
bool matchesKind(const std::string& kind, const model::LayerInfo& layer, size_t index, size_t count)
{
    if (kind.empty()) return true;
    if (kind == "depthwise") return model::isDepthwise(layer);
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

} // namespace qat::engine
