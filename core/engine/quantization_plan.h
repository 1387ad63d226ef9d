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

/// Applies to every activation point that is not a layer's output (add, cat, pools, sigmoid,
/// ...) whose op equals `op` (empty: any) and whose name fully matches `namePattern` (empty: any).
struct PointRule {
    std::string op;
    std::string namePattern;
    ChoiceOverride activations;
};

/// A whole plan: global defaults, then rules in order, then explicit per-layer overrides.
struct QuantizationPlan {
    /// 2 added deployment targets; version-1 files mean target `generic` (their behaviour).
    /// 3 added last_layer_input; older files that name a preset keep their meaning without it.
    /// 4 added train_batch_norm; older files keep BatchNorm folded before QAT.
    static constexpr int kFormatVersion = 4;
    std::string preset;              ///< the preset it started from, if any
    std::string target = "imx500";   ///< deployment target (targets/): where tensors are quantized
    QuantizerChoice weights;         ///< default for every layer's weights
    QuantizerChoice activations;     ///< default for every activation point
    bool quantizeInput = true;       ///< MCT quantizes the model input with the activation quantizer
    ChoiceOverride input;            ///< changes to the activation choice for the model input
    ChoiceOverride output;           ///< changes for activation points that are the model's output
                                     ///< (applied last, after rules and per-layer overrides)
    /// Changes for the points the last layer reads (model::ActivationPointInfo::feedsLastLayer):
    /// applied after rules and before explicit per-layer and per-point overrides, so an edit
    /// of one such point wins.
    ChoiceOverride lastLayerInput;
    bool foldBatchNorm = true;       ///< fold BN into the preceding conv before QAT (as MCT)
    /// With foldBatchNorm: while training, BatchNorm stays and normalises each batch with its
    /// statistics, and the weight quantizers see the folded weights W * gamma / sqrt(var + eps)
    /// (running statistics); it is folded when training ends, so what is evaluated, stored
    /// and exported is the folded model. MCT folds before QAT (false).
    bool trainBatchNorm = false;
    /// Where the target computes in integers (its integerBias) and a layer's input, weights
    /// and output are quantized: the bias on the int32 s_in * s_w grid, as integer kernels add it.
    bool integerBias = true;
    std::vector<PlanRule> rules;
    std::map<std::string, LayerOverride> layers; ///< by layer name ("features.0")
    std::vector<PointRule> points;   ///< rules for activation points other than layer outputs
    std::map<std::string, ChoiceOverride> pointOverrides; ///< by point name ("block1:add")
};

/// The choices for one layer after defaults, rules and overrides.
struct LayerPlan {
    std::string layer;
    std::string kind;
    QuantizerChoice weights;     ///< config.channelAxis set from the layer
    QuantizerChoice activations;
};

/// The activation quantizer of one point, as training will use it.
struct PointPlan {
    std::string name;      ///< "features.0:output", "block1:add", "input"
    std::string op;        ///< the point's first op ("conv2d", "add", "input")
    std::string layer;     ///< for a layer's output: the layer; else empty
    QuantizerChoice choice;
    bool isInput = false;
    bool isOutput = false; ///< the plan's `output` changes applied last
    bool isLastLayerInput = false; ///< the last layer reads it: the plan's `lastLayerInput` changes apply
};

/// The quantizer for the model input: the activation default with plan.input applied,
/// disabled when plan.quantizeInput is false.
QuantizerChoice inputChoice(const QuantizationPlan& plan);

/// The choice of every activation point (points from target::placeActivationPoints):
/// the input's from inputChoice; a layer output's from its layer plan; other points from the
/// activation default, then plan.points rules in order, then plan.pointOverrides; a point the
/// last layer reads gets plan.lastLayerInput before the explicit overrides (a layer's or a
/// point's); the plan's `output` changes last for points whose value forward() returns. Throws qat::Error
/// for an override naming a point the model does not have, or a bad regex.
std::vector<PointPlan> resolvePoints(const QuantizationPlan& plan, const std::vector<LayerPlan>& layers,
                                     const std::vector<model::ActivationPointInfo>& points);

/// Resolves plan for the layers of a model. Throws qat::Error naming the layer or rule
/// (an override for a layer the model does not have, a bad regex).
std::vector<LayerPlan> resolvePlan(const QuantizationPlan& plan, const std::vector<model::LayerInfo>& layers);

/// Checks every choice that resolvePlan produced against registry (key exists exactly
/// once, config legal); the message names the layer and the field.
void validatePlan(const std::vector<LayerPlan>& layers, const QuantizationPlan& plan,
                  const quant::QuantizerRegistry& registry);
/// The same for every activation point.
void validatePoints(const std::vector<PointPlan>& points, const quant::QuantizerRegistry& registry);
/// Checks that every enabled quantizer uses a method, bit width and granularity that
/// plan.target offers; the message names the quantizer, what the target offers and what to do.
void checkTarget(const QuantizationPlan& plan, const std::vector<LayerPlan>& layers,
                 const std::vector<PointPlan>& points);

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
