// SPDX-License-Identifier: MIT
#pragma once
// What a plan costs on the chip: weights memory, activation memory and bit operations, from
// the model's shapes (a probe forward, model::ModelInfo::opGraph) and the plan's bit widths.
// Plain data, no torch: the CLI, the Quantization page and the run store share it.

#include "engine/quantization_plan.h"
#include "model/model_info.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qat::analysis {

struct LayerResources {
    std::string name;
    int weightBits = 32;       ///< 32 when the layer's weights stay float
    int64_t weightElements = 0;
    int64_t weightsBytes = 0;  ///< ceil(elements x bits / 8): whole bytes per layer
    int64_t biasBytes = 0;     ///< 4 bytes per output channel (int32 or float32) when it has a bias
    int activationBits = 32;   ///< bits of the tensor it reads (32: float); its first call's
    int64_t macs = -1;         ///< per sample, all calls; -1 when shapes are unknown
    int64_t bops = -1;         ///< sum over calls of MACs x weight bits x input bits; -1: unknown
};

struct PointResources {
    std::string name;
    int bits = 0;
    int64_t elements = -1; ///< per sample; -1 when its shape is unknown
    int64_t bytes = -1;    ///< ceil(elements x bits / 8)
};

struct Resources {
    int64_t weightsBytes = 0;        ///< quantized layers at their bits, float layers at 32
    int64_t weightsBytesFloat32 = 0; ///< every layer at 32 bits
    int64_t weightsBytes8bit = 0;    ///< every layer at 8 bits
    int64_t biasBytes = 0;
    bool shapesKnown = false;        ///< false: the activation figures and BOPs below are -1
    int64_t activationBytesMax = -1; ///< the largest quantized activation tensor (one sample)
    int64_t activationBytesTotal = -1; ///< all quantized activation tensors (one sample)
    int64_t macs = -1;
    int64_t bops = -1;
    std::vector<LayerResources> layers;  ///< graph order, one per layer (all its calls)
    std::vector<PointResources> points;  ///< the enabled activation quantizers
};

/// Resolves plan for info (its target's activation points included) and adds up. Throws
/// qat::Error as engine::resolvePlan does for a plan that does not fit the model.
Resources computeResources(const model::ModelInfo& info, const engine::QuantizationPlan& plan);

/// The same from resolved choices (points from target::placeActivationPoints under target).
/// foldBatchNorm: a BatchNorm folded into a bias-less layer gives it a bias. The figures that
/// need shapes are unknown (-1) when no node of the op graph has one.
Resources computeResources(const std::vector<model::LayerInfo>& modelLayers, const model::OpGraph& graph,
                           const std::string& target, bool foldBatchNorm, const std::vector<engine::LayerPlan>& layers,
                           const std::vector<model::ActivationPointInfo>& points,
                           const std::vector<engine::PointPlan>& pointPlans);

/// The `resources` object of `qatwb inspect/plan/train --json` (keys are a contract):
/// {weights_bytes, weights_bytes_float32, weights_bytes_8bit, bias_bytes, activation_bytes_max,
/// activation_bytes_total, macs, bops, layers: [{name, weight_bits, weights_bytes, bias_bytes,
/// activation_bits, macs, bops}], activations: [{name, bits, elements, bytes}]}; unknown
/// figures are null. indent < 0: one line.
std::string resourcesToJson(const Resources& r, int indent = -1);
/// Back from resourcesToJson (as the run store keeps it); throws qat::Error on bad text.
Resources resourcesFromJson(const std::string& json);

/// "12.5 KB", "1.2 MB" (1 KB = 1024 bytes); "-" for a negative (unknown) figure.
std::string formatBytes(int64_t bytes);
/// "3.4 M", "1.2 G" (powers of 1000); "-" for unknown.
std::string formatCount(int64_t count);
/// One line: "weights 12.5 KB (25% of float32, 50% of 8-bit) · activations 3.1 KB max,
/// 20.0 KB total · 1.2 G BOPs".
std::string describeResources(const Resources& r);

} // namespace qat::analysis
