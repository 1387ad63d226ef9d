// SPDX-License-Identifier: MIT
#include "engine/quantization_plan.h"

#include "common/error.h"
#include "model/layer_kind.h"
#include "quantizers/quantizer_error.h"
#include "quantizers/quantizer_registry.h"
#include "targets/target_registry.h"

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

// The rules' name patterns compiled; what names the rule in messages ("plan rule 2").
template <typename Rule>
std::vector<std::optional<std::regex>> compilePatterns(const std::vector<Rule>& rules, const std::string& what)
{
    std::vector<std::optional<std::regex>> patterns;
    for (size_t i = 0; i < rules.size(); ++i) {
        const auto& pattern = rules[i].namePattern;
        if (pattern.empty()) {
            patterns.emplace_back();
            continue;
        }
        try {
            patterns.emplace_back(std::regex(pattern, std::regex::ECMAScript));
        } catch (const std::regex_error& e) {
            throw Error(what + " " + std::to_string(i + 1) + ": name pattern '" + pattern
                        + "' is not a valid regular expression (" + e.what() + ")");
        }
    }
    return patterns;
}

std::string targetHint(const std::string& target)
{
    return target == "lowbit" || target == "generic"
               ? "change it"
               : "change it, or choose a target that offers it (lowbit takes any quantizer at any bit width)";
}

} // namespace

std::vector<LayerPlan> resolvePlan(const QuantizationPlan& plan, const std::vector<model::LayerInfo>& layers)
{
    const auto patterns = compilePatterns(plan.rules, "plan rule");
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

std::vector<PointPlan> resolvePoints(const QuantizationPlan& plan, const std::vector<LayerPlan>& layers,
                                     const std::vector<model::ActivationPointInfo>& points)
{
    const auto patterns = compilePatterns(plan.points, "plan point rule");
    for (const auto& entry : plan.pointOverrides) {
        const auto& name = entry.first;
        const bool known = std::any_of(points.begin(), points.end(),
                                       [&](const auto& p) { return p.name == name && p.afterLayer.empty(); });
        if (!known) {
            std::string names;
            for (const auto& p : points) {
                if (p.afterLayer.empty() && !p.isInput) {
                    names += (names.empty() ? "" : ", ") + p.name;
                }
            }
            throw Error("plan overrides activation point '" + name + "', which the model does not have under target "
                        + plan.target + "; rename or remove that entry (its points: "
                        + (names.empty() ? "none besides layer outputs" : names) + ")");
        }
    }
    std::vector<PointPlan> resolved;
    for (const auto& point : points) {
        PointPlan pp{point.name, point.op, point.afterLayer, plan.activations, point.isInput, point.isModelOutput};
        pp.isLastLayerInput = point.feedsLastLayer && !point.isInput;
        if (point.isInput) {
            pp.choice = inputChoice(plan);
        } else if (!point.afterLayer.empty()) {
            const auto found = std::find_if(layers.begin(), layers.end(),
                                            [&](const auto& l) { return l.layer == point.afterLayer; });
            if (found == layers.end()) {
                throw Error("internal error: no plan for layer " + point.afterLayer);
            }
            pp.choice = found->activations;
            if (pp.isLastLayerInput) {
                // The layer's own override was applied already; applied again it wins.
                plan.lastLayerInput.applyTo(pp.choice);
                if (auto own = plan.layers.find(point.afterLayer); own != plan.layers.end()) {
                    own->second.activations.applyTo(pp.choice);
                }
            }
        } else {
            for (size_t i = 0; i < plan.points.size(); ++i) {
                const auto& rule = plan.points[i];
                if ((rule.op.empty() || rule.op == point.op)
                    && (!patterns[i] || std::regex_match(point.name, *patterns[i]))) {
                    rule.activations.applyTo(pp.choice);
                }
            }
            if (pp.isLastLayerInput) {
                plan.lastLayerInput.applyTo(pp.choice);
            }
            if (auto found = plan.pointOverrides.find(point.name); found != plan.pointOverrides.end()) {
                found->second.applyTo(pp.choice);
            }
        }
        if (point.isModelOutput && !point.isInput) {
            plan.output.applyTo(pp.choice);
        }
        pp.choice.key.target = Target::Activations;
        pp.choice.config.perChannel = false;
        resolved.push_back(std::move(pp));
    }
    return resolved;
}

void validatePoints(const std::vector<PointPlan>& points, const quant::QuantizerRegistry& registry)
{
    for (const auto& point : points) {
        if (!point.choice.enabled) {
            continue;
        }
        try {
            registry.find(point.choice.key);
            quant::validateConfig(point.choice.key, point.choice.config);
        } catch (const quant::QuantizerError& e) {
            throw Error((point.isInput ? std::string("model input") : "activation point " + point.name) + ": "
                        + e.what());
        }
    }
}

void checkTarget(const QuantizationPlan& plan, const std::vector<LayerPlan>& layers,
                 const std::vector<PointPlan>& points)
{
    const auto& target = target::builtinTargets().find(plan.target);
    auto check = [&](const QuantizerChoice& choice, const target::NumberFormats& formats, bool weights,
                     const std::string& where) {
        if (!choice.enabled) {
            return;
        }
        std::string problem;
        if (!formats.allows(choice.key.method)) {
            problem = "the " + quant::toString(choice.key.method) + " grid is";
        } else if (!formats.allowsBits(choice.config.bits)) {
            problem = std::to_string(choice.config.bits) + " bits are";
        } else if (weights && choice.config.perChannel && !formats.perChannel) {
            problem = "per-channel scales are";
        } else if (weights && !choice.config.perChannel && !formats.perTensor) {
            problem = "a per-tensor scale is";
        }
        if (!problem.empty()) {
            throw Error(where + ": " + problem + " not offered by deployment target " + target.name + " ("
                        + (weights ? "weights: " : "activations: ") + formats.describe(weights) + "); "
                        + targetHint(target.name));
        }
    };
    for (const auto& layer : layers) {
        check(layer.weights, target.weights, true, "layer " + layer.layer + " weights");
    }
    for (const auto& point : points) {
        check(point.choice, target.activations, false,
              point.isInput ? std::string("model input") : "activation point " + point.name);
    }
}

} // namespace qat::engine
