// SPDX-License-Identifier: MIT
#pragma once
// What quantizer each layer's weights and outputs get. Plain data (no torch, no Qt):
// the UI edits it, the CLI builds it from flags, plan files store it.

#include "model/model_info.h"
#include "quantizers/quantizer_types.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::engine {

/// A quantizer to use (registry key + config), or none.
struct QuantizerChoice {
    bool enabled = true;
    quant::QuantizerKey key;
    quant::QuantizerConfig config;
};

/// Fields that a rule or an explicit override changes; unset fields keep their value.
struct ChoiceOverride {
    std::optional<bool> enabled;
    std::optional<std::string> training;
    std::optional<quant::Method> method;
    std::optional<int> bits;
    std::optional<bool> perChannel;
    std::optional<quant::InitMethod> init;
    std::optional<double> percentile;
    std::optional<bool> freeze;
    std::optional<bool> isSigned;

    bool empty() const;
    void applyTo(QuantizerChoice& choice) const;
};

/// Applies to every layer whose kind equals `kind` (empty: any; also the selectors
/// "depthwise", "first" and "last", the first and last layer in graph order) and whose name
/// fully matches the ECMAScript regex `namePattern` (empty: any).
struct PlanRule {
    std::string kind;
    std::string namePattern;
    ChoiceOverride weights;
    ChoiceOverride activations;
};

struct LayerOverride {
    ChoiceOverride weights;
    ChoiceOverride activations;
};

/// A whole plan: global defaults, then rules in order, then explicit per-layer overrides.
struct QuantizationPlan {
    static constexpr int kFormatVersion = 1;
    std::string preset;              ///< the preset it started from, if any
    QuantizerChoice weights;         ///< default for every layer's weights
    QuantizerChoice activations;     ///< default for every activation point
    bool quantizeInput = true;       ///< MCT quantizes the model input with the activation quantizer
    ChoiceOverride input;            ///< changes to the activation choice for the model input
    ChoiceOverride output;           ///< changes for activation points that are the model's output
                                     ///< (applied last, after rules and per-layer overrides)
    bool foldBatchNorm = true;       ///< fold BN into the preceding conv before QAT (as MCT)
    std::vector<PlanRule> rules;
    std::map<std::string, LayerOverride> layers; ///< by layer name ("features.0")
};

/// The choices for one layer after defaults, rules and overrides.
struct LayerPlan {
    std::string layer;
    std::string kind;
    QuantizerChoice weights;     ///< config.channelAxis set from the layer
    QuantizerChoice activations;
};

/// The quantizer for the model input: the activation default with plan.input applied,
/// disabled when plan.quantizeInput is false.
QuantizerChoice inputChoice(const QuantizationPlan& plan);

/// Resolves plan for the layers of a model. Throws qat::Error naming the layer or rule
/// (an override for a layer the model does not have, a bad regex).
std::vector<LayerPlan> resolvePlan(const QuantizationPlan& plan, const std::vector<model::LayerInfo>& layers);

/// Checks every choice that resolvePlan produced against registry (key exists exactly
/// once, config legal); the message names the layer and the field.
void validatePlan(const std::vector<LayerPlan>& layers, const QuantizationPlan& plan,
                  const quant::QuantizerRegistry& registry);

/// Built-in presets: mct-default, w8a8-lsq, w4a8-lsq, w2a3, w4a4-lsq-uniform.
std::vector<std::string> presetNames();
QuantizationPlan presetPlan(const std::string& name);

/// `TRAINING:METHOD:BITS[:per-channel|per-tensor]` as on the command line
/// (e.g. "lsq:symmetric:4:per-channel"); throws qat::Error with the expected shape.
ChoiceOverride parseChoiceSpec(const std::string& spec, const std::string& what);

/// The versioned JSON plan format (see README). origin names the file in messages.
QuantizationPlan parsePlan(const std::string& json, const std::string& origin);
std::string planToJson(const QuantizationPlan& plan);
QuantizationPlan loadPlanFile(const std::string& path);
void savePlanFile(const QuantizationPlan& plan, const std::string& path);

} // namespace qat::engine
