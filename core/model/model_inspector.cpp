// SPDX-License-Identifier: MIT
#include "model/model_inspector.h"

#include "model/layer_discovery.h"
#include "model/loaded_model.h"
#include "model/onnx_import.h"
#include "model/op_graph_builder.h"
#include "model/shape_probe.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

#include <algorithm>
#include <filesystem>

namespace qat::model {

namespace {

std::vector<InputInfo> forwardInputs(const torch::jit::Module& module)
{
    std::vector<InputInfo> inputs;
    const auto& schema = module.get_method("forward").function().getSchema();
    const auto& args = schema.arguments();
    for (size_t i = 1; i < args.size(); ++i) { // 0 is self
        inputs.push_back({args[i].name(), args[i].type()->annotation_str()});
    }
    return inputs;
}

} // namespace

std::string inputShapeText(const std::vector<int64_t>& shape)
{
    std::string text;
    for (size_t i = 1; i < shape.size(); ++i) {
        text += (text.empty() ? "" : "x") + std::to_string(shape[i]);
    }
    return text;
}

std::vector<int64_t> parseInputShape(const std::string& text)
{
    std::vector<int64_t> shape{1};
    size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find('x', start), text.size());
        const auto part = text.substr(start, end - start);
        if (part.empty() || part.size() > 6 || part.find_first_not_of("0123456789") != std::string::npos
            || std::stoll(part) <= 0) {
            throw Error("input shape '" + text + "' is not sizes joined by x without the batch (e.g. 1x28x28, "
                        "3x32x32)");
        }
        shape.push_back(std::stoll(part));
        start = end + 1;
    }
    return shape;
}

ModelInfo inspectModel(const std::string& path, const std::vector<int64_t>& probeInput)
{
    auto loaded = loadModel(path);
    ModelInfo info;
    info.path = path;
    info.format = isOnnxPath(path) ? "onnx" : "torchscript";
    info.notes = loaded.notes;
    info.fileBytes = static_cast<int64_t>(std::filesystem::file_size(path));
    info.inputs = forwardInputs(loaded.module);
    info.batchNormTrainingFixes = loaded.forward.batchNormTrainingFixes;
    if (const int n = loaded.forward.pinnedAttention; n > 0) {
        info.notes.push_back(std::to_string(n) + " attention block(s) hold a fused inference op beside their "
                             "composite form; the composite form (linear projections, bmm, softmax) is what trains, "
                             "is evaluated and exported");
    }
    if (const int n = loaded.forward.decomposedAttention; n > 0) {
        info.notes.push_back(std::to_string(n) + " attention op(s) traced as one fused op "
                             "(_native_multi_head_attention) are trained and exported as their composite math "
                             "(linear projections, matmul, softmax), which computes the same");
    }
    if (const int n = loaded.forward.fusedAttention; n > 0) {
        info.notes.push_back(std::to_string(n) + " attention op(s) were traced as one fused op that the workbench "
                             "does not rewrite (a mask, separate query / key / value, or a whole fused encoder "
                             "layer): their projections and everything inside stay float. Trace the model with "
                             "gradients on (torch.jit.trace's default, with check_trace=False) or script it, so "
                             "that they are quantized");
    }
    for (const auto& p : loaded.module.parameters()) {
        info.parameterCount += p.numel();
    }
    auto sites = findLayerSites(*loaded.forward.graph, loaded.module, &info.notes);
    auto ops = buildOpGraph(*loaded.forward.graph, sites);
    info.opGraph = ops.graph;
    const auto& legacy = target::builtinTargets().find(target::kLegacyTarget);
    info.layers = summariseLayers(sites, loaded.module, target::placeActivationPoints(info.opGraph, legacy));
    // Last: the probe switches the (private) module to eval mode.
    const auto shapes = probeInput.empty() ? usualInputShapes() : std::vector<std::vector<int64_t>>{probeInput};
    for (const auto& shape : shapes) {
        if (probeShapes(loaded.module, *loaded.forward.graph, ops, shape)) {
            info.opGraph = ops.graph;
            info.probeInput = shape;
            break;
        }
    }
    if (info.probeInput.empty()) {
        if (!probeInput.empty()) {
            throw ModelError(path + " does not take an input of shape " + inputShapeText(probeInput)
                             + " (batch left out); give the size the model was made for");
        }
        info.notes.push_back("no forward on a usual input size (28 to 384 pixels, 1 or 3 channels) worked: "
                             "activation memory and BOPs are unknown");
    }
    int tensorInputs = 0;
    for (const auto& input : info.inputs) {
        tensorInputs += input.type == "Tensor" ? 1 : 0;
    }
    info.quantizerCount = tensorInputs;
    for (const auto& layer : info.layers) {
        info.quantizerCount += 1 + layer.callSites; // one weight quantizer, one per output
    }
    if (info.layers.empty()) {
        info.notes.push_back("no quantizable layer (conv, conv_transpose or linear) was found");
    }
    if (tensorInputs != 1 || info.inputs.size() != 1) {
        info.notes.push_back("forward() takes other than one tensor; training needs exactly one");
    }
    return info;
}

std::string modelInfoToJson(const ModelInfo& info, const std::vector<ActivationPointInfo>& points,
                            const std::vector<bool>& quantized, const std::string& target, int indent)
{
    using nlohmann::json;
    json layers = json::array();
    for (const auto& l : info.layers) {
        json points = json::array();
        for (const auto& p : l.activationPoints) {
            points.push_back({{"op", p.op}, {"chain", p.chain}});
        }
        layers.push_back({{"name", l.name},
                          {"weight", l.weightPath},
                          {"kind", l.kind},
                          {"weight_shape", l.weightShape},
                          {"groups", l.groups},
                          {"channel_axis", l.channelAxis},
                          {"out_channels", l.outChannels},
                          {"bias", l.hasBias},
                          {"parameters", l.parameterCount},
                          {"call_sites", l.callSites},
                          {"activation_point", l.activationPoints.front().op},
                          {"activation_points", points}});
    }
    json pointsJson = json::array();
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& p = points[i];
        pointsJson.push_back({{"name", p.name},
                              {"op", p.op},
                              {"after_layer", p.afterLayer.empty() ? json(nullptr) : json(p.afterLayer)},
                              {"call_site", p.callSite},
                              {"fused_ops", p.fusedOps},
                              {"model_output", p.isModelOutput},
                              {"last_layer_input", p.feedsLastLayer},
                              {"quantized", i < quantized.size() && quantized[i]}});
    }
    json inputs = json::array();
    for (const auto& in : info.inputs) {
        inputs.push_back({{"name", in.name}, {"type", in.type}, {"quantized", in.type == "Tensor"}});
    }
    json doc = {{"path", info.path},
                {"format", info.format},
                {"file_bytes", info.fileBytes},
                {"inputs", inputs},
                {"layers", layers},
                {"parameters", info.parameterCount},
                {"quantizers", info.quantizerCount},
                {"target", target},
                {"activation_points", pointsJson},
                {"batch_norm_training_fixes", info.batchNormTrainingFixes},
                {"input_shape", info.probeInput},
                {"notes", info.notes}};
    return doc.dump(indent);
}

} // namespace qat::model
