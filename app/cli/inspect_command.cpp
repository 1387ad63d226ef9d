// SPDX-License-Identifier: MIT
#include "inspect_command.h"

#include "arguments.h"
#include "train_command.h"

#include "analysis/resources.h"
#include "engine/quantization_plan.h"
#include "model/model_inspector.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace qat::cli {

const char* const kInspectHelp =
    "usage: qatwb inspect MODEL [--json] [--target NAME] [--preset NAME | --plan FILE] [--input CxHxW]\n"
    "\n"
    "Loads a TorchScript model (scripted or traced) or an ONNX model (.onnx, opset 11 to 17,\n"
    "converted to TorchScript and checked against the ONNX graph) and lists its quantizable layers:\n"
    "conv1d/2d/3d (grouped and depthwise too), conv_transpose1d/2d/3d and linear.\n"
    "For each: module path, kind, weight shape, groups, per-channel axis, bias,\n"
    "parameter count, how often forward() calls it, and the activation point (the op\n"
    "after which its output is quantized: after a following BatchNorm and activation).\n"
    "Then every activation point the deployment target places: layer outputs and, on\n"
    "targets that quantize every tensor the chip stores, the outputs of add, cat, pools,\n"
    "mean, sigmoid, mul, ... (grid-preserving ops such as view or max-pool get none).\n"
    "\n"
    "  --target NAME   imx500 (default), tflite-int8, qnnpack, lowbit, generic\n"
    "  --preset NAME   the plan whose quantized / not quantized points are shown\n"
    "  --plan FILE     (default: mct-default; a plan's own target unless --target is given)\n"
    "  --input CxHxW   the input size of the probe forward that measures tensor shapes\n"
    "                  (default: the first that works of 1x28x28, 3x28x28, 1x32x32, 3x32x32, ...)\n"
    "Then what the plan costs: weights memory at each layer's bits (float layers at 32),\n"
    "activation memory (largest and total quantized tensor, one sample) and BOPs\n"
    "(MACs x weight bits x input bits).\n"
    "  --json   print one JSON object: {path, format, inputs, layers: [{name, weight, kind,\n"
    "           weight_shape, groups, channel_axis, out_channels, bias, parameters,\n"
    "           call_sites, activation_point, activation_points}], quantizers, target,\n"
    "           activation_points: [{name, op, after_layer, call_site, fused_ops,\n"
    "           model_output, last_layer_input, quantized}], input_shape, notes, batch_norm\n"
    "           (\"folded before training\", \"trained, then folded\" or \"kept\"),\n"
    "           resources: {weights_bytes,\n"
    "           weights_bytes_float32, weights_bytes_8bit, bias_bytes, activation_bytes_max,\n"
    "           activation_bytes_total, macs, bops, layers: [{name, weight_bits, weights_bytes,\n"
    "           bias_bytes, activation_bits, macs, bops}], activations: [{name, bits, elements,\n"
    "           bytes}]}} (figures that need shapes are null when no probe forward worked)\n";

namespace {

std::string joined(const std::vector<int64_t>& dims)
{
    std::string text;
    for (auto d : dims) {
        text += (text.empty() ? "" : "x") + std::to_string(d);
    }
    return text;
}

std::string chainText(const model::ActivationPoint& point)
{
    if (point.chain.empty()) {
        return "output";
    }
    std::string text;
    for (const auto& op : point.chain) {
        text += (text.empty() ? "" : "+") + op;
    }
    return text;
}

void printTable(const model::ModelInfo& info, const std::vector<engine::PointPlan>& plans,
                const std::vector<model::ActivationPointInfo>& points, const std::string& target, int quantizers)
{
    std::cout << "Model:  " << info.path << " (" << info.fileBytes << " bytes, "
              << info.parameterCount << " parameters)\n";
    for (const auto& input : info.inputs) {
        std::cout << "Input:  " << input.name << ": " << input.type
                  << (input.type == "Tensor" ? " (quantized)" : "") << "\n";
    }
    std::cout << "\n";
    // Names from other frameworks can be long (StatefulPartitionedCall.sequential.conv2d).
    int nameWidth = 24;
    for (const auto& l : info.layers) {
        nameWidth = std::max(nameWidth, int(l.name.size()) + 2);
    }
    std::ostringstream table;
    table << std::left << std::setw(4) << "#" << std::setw(nameWidth) << "layer" << std::setw(18) << "kind"
          << std::setw(16) << "weight" << std::setw(7) << "groups" << std::setw(5) << "axis"
          << std::setw(5) << "bias" << std::setw(10) << "params" << std::setw(6) << "calls"
          << "activation point\n";
    int row = 0;
    for (const auto& l : info.layers) {
        table << std::left << std::setw(4) << ++row << std::setw(nameWidth) << l.name << std::setw(18) << l.kind
              << std::setw(16) << joined(l.weightShape) << std::setw(7) << l.groups << std::setw(5)
              << l.channelAxis << std::setw(5) << (l.hasBias ? "yes" : "no") << std::setw(10)
              << l.parameterCount << std::setw(6) << l.callSites;
        for (size_t i = 0; i < l.activationPoints.size(); ++i) {
            table << (i ? ", " : "") << chainText(l.activationPoints[i]);
        }
        table << "\n";
    }
    // Column widths from the content: point names of real architectures are long.
    size_t pointWidth = 18;
    size_t opWidth = 4;
    size_t layerWidth = 13;
    std::vector<std::string> ops;
    for (const auto& p : points) {
        std::string op = p.op;
        for (const auto& fused : p.fusedOps) {
            op += "+" + fused;
        }
        ops.push_back(op);
        pointWidth = std::max(pointWidth, p.name.size() + 2);
        opWidth = std::max(opWidth, op.size() + 2);
        layerWidth = std::max(layerWidth, p.afterLayer.size() + 2);
    }
    std::ostringstream pointTable;
    pointTable << std::left << std::setw(4) << "#" << std::setw(int(pointWidth)) << "activation point"
               << std::setw(int(opWidth)) << "op" << std::setw(int(layerWidth)) << "after layer" << "quantized\n";
    row = 0;
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& p = points[i];
        const auto& choice = plans[i].choice;
        pointTable << std::left << std::setw(4) << ++row << std::setw(int(pointWidth)) << p.name
                   << std::setw(int(opWidth)) << ops[i] << std::setw(int(layerWidth))
                   << (p.afterLayer.empty() ? "-" : p.afterLayer)
                   << (choice.enabled ? std::to_string(choice.config.bits) + " bits" : std::string("no"))
                   << (p.isModelOutput ? " (model output)" : p.feedsLastLayer ? " (last layer's input)" : "") << "\n";
    }
    std::cout << table.str() << "\nTarget " << target << ": " << points.size() << " activation points\n"
              << pointTable.str() << "\n"
              << info.layers.size() << " layers; this plan creates " << quantizers << " quantizers.\n";
    for (const auto& note : info.notes) {
        std::cout << "note: " << note << "\n";
    }
}

} // namespace

std::vector<int64_t> probeInputOf(const Arguments& parsed)
{
    const auto text = parsed.value("--input");
    return text.empty() ? std::vector<int64_t>{} : model::parseInputShape(text);
}

void printResources(const model::ModelInfo& info, const analysis::Resources& r)
{
    std::cout << "\nResources";
    if (!info.probeInput.empty()) {
        std::cout << " (input " << model::inputShapeText(info.probeInput) << ", one sample)";
    }
    std::cout << ": " << analysis::describeResources(r) << "\n";
    size_t nameWidth = 24;
    for (const auto& l : r.layers) {
        nameWidth = std::max(nameWidth, l.name.size() + 2);
    }
    std::cout << std::left << std::setw(int(nameWidth)) << "layer" << std::setw(6) << "bits" << std::setw(12)
              << "weights" << std::setw(8) << "in bits" << std::setw(12) << "MACs" << "BOPs\n";
    for (const auto& l : r.layers) {
        std::cout << std::left << std::setw(int(nameWidth)) << l.name << std::setw(6)
                  << (l.weightBits == 32 ? std::string("float") : std::to_string(l.weightBits)) << std::setw(12)
                  << analysis::formatBytes(l.weightsBytes) << std::setw(8) << l.activationBits << std::setw(12)
                  << analysis::formatCount(l.macs) << analysis::formatCount(l.bops) << "\n";
    }
}

int runInspect(const std::vector<std::string>& args)
{
    const CommandSpec spec{"inspect", {"--target", "--preset", "--plan", "--input"}, {"--json"}, 1, 1};
    const auto parsed = parseArguments(spec, args);
    auto info = model::inspectModel(parsed.positional.front(), probeInputOf(parsed));
    const auto plan = buildPlan(parsed);
    const auto& target = target::builtinTargets().find(plan.target);
    const auto points = target::placeActivationPoints(info.opGraph, target);
    const auto layerPlans = engine::resolvePlan(plan, info.layers);
    const auto plans = engine::resolvePoints(plan, layerPlans, points);
    std::vector<bool> quantized;
    int quantizers = 0;
    for (const auto& p : plans) {
        quantized.push_back(p.choice.enabled);
        quantizers += p.choice.enabled ? 1 : 0;
    }
    for (const auto& lp : layerPlans) {
        quantizers += lp.weights.enabled ? 1 : 0;
    }
    info.quantizerCount = quantizers;
    const auto resources =
        analysis::computeResources(info.layers, info.opGraph, target.name, plan.foldBatchNorm, layerPlans, points, plans);
    // What the plan does with BatchNorm (README, plan files: fold_batch_norm, train_batch_norm).
    const std::string batchNorm = !plan.foldBatchNorm   ? "kept"
                                  : plan.trainBatchNorm ? "trained, then folded"
                                                        : "folded before training";
    if (parsed.has("--json")) {
        auto doc = nlohmann::json::parse(model::modelInfoToJson(info, points, quantized, target.name));
        doc["resources"] = nlohmann::json::parse(analysis::resourcesToJson(resources));
        doc["batch_norm"] = batchNorm;
        std::cout << doc.dump(2) << "\n";
    } else {
        printTable(info, plans, points, target.name, quantizers);
        std::cout << "BatchNorm: " << batchNorm
                  << (plan.foldBatchNorm && plan.trainBatchNorm
                          ? " (it normalises each batch while training and is folded into its conv at the end)\n"
                          : "\n");
        printResources(info, resources);
    }
    return 0;
}

} // namespace qat::cli
