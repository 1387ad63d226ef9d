// SPDX-License-Identifier: MIT
#include "inspect_command.h"

#include "arguments.h"

#include "model/model_inspector.h"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace qat::cli {

const char* const kInspectHelp =
    "usage: qatwb inspect MODEL [--json]\n"
    "\n"
    "Loads a TorchScript model (scripted or traced) or an ONNX model (.onnx, opset 11 to 17,\n"
    "converted to TorchScript and checked against the ONNX graph) and lists its quantizable layers:\n"
    "conv1d/2d/3d (grouped and depthwise too), conv_transpose1d/2d/3d and linear.\n"
    "For each: module path, kind, weight shape, groups, per-channel axis, bias,\n"
    "parameter count, how often forward() calls it, and the activation point (the op\n"
    "after which its output is quantized: after a following BatchNorm and activation).\n"
    "\n"
    "  --json   print one JSON object: {path, format, inputs, layers: [{name, weight, kind,\n"
    "           weight_shape, groups, channel_axis, out_channels, bias, parameters,\n"
    "           call_sites, activation_point, activation_points}], quantizers, notes}\n";

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

void printTable(const model::ModelInfo& info)
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
    std::cout << table.str() << "\n"
              << info.layers.size() << " layers; a full weights + activations assignment creates "
              << info.quantizerCount << " quantizers.\n";
    for (const auto& note : info.notes) {
        std::cout << "note: " << note << "\n";
    }
}

} // namespace

int runInspect(const std::vector<std::string>& args)
{
    const CommandSpec spec{"inspect", {}, {"--json"}, 1, 1};
    const auto parsed = parseArguments(spec, args);
    const auto info = model::inspectModel(parsed.positional.front());
    if (parsed.has("--json")) {
        std::cout << model::modelInfoToJson(info) << "\n";
    } else {
        printTable(info);
    }
    return 0;
}

} // namespace qat::cli
