// SPDX-License-Identifier: MIT
#include "analysis/resources.h"

#include "common/error.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace qat::analysis {

namespace {

int64_t product(const std::vector<int64_t>& dims, size_t from)
{
    int64_t n = 1;
    for (size_t i = from; i < dims.size(); ++i) {
        n *= dims[i];
    }
    return n;
}

// Elements of one sample of a probed tensor (the probe runs batch 1); -1 when unknown.
int64_t sampleElements(const std::vector<int64_t>& shape)
{
    if (shape.empty()) {
        return -1;
    }
    return shape.size() == 1 ? shape[0] : product(shape, 1);
}

int64_t bitsToBytes(int64_t elements, int bits) { return (elements * bits + 7) / 8; }

bool isTransposed(const std::string& kind) { return kind.rfind("conv_transpose", 0) == 0; }

// Conv / linear weights are [out, in / groups, k...] (transposed: [in, out / groups, k...]):
// every output element (transposed: every input element) costs prod(weight[1:]) MACs.
int64_t callMacs(const model::LayerInfo& layer, const model::OpGraph& graph, const model::OpNode& node)
{
    const auto& counted = isTransposed(layer.kind) ? graph.nodes[size_t(node.inputs.front())].shape : node.shape;
    const auto elements = sampleElements(counted);
    if (elements < 0 || layer.weightShape.empty()) {
        return -1;
    }
    return elements * product(layer.weightShape, 1);
}

int pointBits(int point, const std::vector<engine::PointPlan>& plans)
{
    if (point < 0 || size_t(point) >= plans.size() || !plans[size_t(point)].choice.enabled) {
        return 32;
    }
    return plans[size_t(point)].choice.config.bits;
}

nlohmann::json figure(int64_t v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v); }
int64_t figureFrom(const nlohmann::json& j, const char* key)
{
    return j.contains(key) && j[key].is_number() ? j[key].get<int64_t>() : -1;
}

} // namespace

Resources computeResources(const model::ModelInfo& info, const engine::QuantizationPlan& plan)
{
    const auto& target = target::builtinTargets().find(plan.target);
    const auto points = target::placeActivationPoints(info.opGraph, target);
    const auto layers = engine::resolvePlan(plan, info.layers);
    return computeResources(info.layers, info.opGraph, plan.target, plan.foldBatchNorm, layers, points, engine::resolvePoints(plan, layers, points));
}

Resources computeResources(const std::vector<model::LayerInfo>& modelLayers, const model::OpGraph& graph,
                           const std::string& targetName, bool foldBatchNorm, const std::vector<engine::LayerPlan>& layers,
                           const std::vector<model::ActivationPointInfo>& points,
                           const std::vector<engine::PointPlan>& pointPlans)
{
    const auto& target = target::builtinTargets().find(targetName);
    const auto carrier = target::quantizedBy(graph, points, target);
    Resources r;
    r.shapesKnown = std::any_of(graph.nodes.begin(), graph.nodes.end(), [](const auto& n) { return !n.shape.empty(); });
    std::map<std::string, std::vector<const model::OpNode*>> calls;
    for (const auto& node : graph.nodes) {
        if (!node.layer.empty()) {
            calls[node.layer].push_back(&node);
        }
    }
    bool macsKnown = r.shapesKnown;
    r.macs = r.bops = 0;
    for (size_t i = 0; i < modelLayers.size(); ++i) {
        const auto& layer = modelLayers[i];
        const auto& choice = layers.at(i).weights;
        LayerResources l;
        l.name = layer.name;
        l.weightBits = choice.enabled ? choice.config.bits : 32;
        l.weightElements = product(layer.weightShape, 0);
        l.weightsBytes = bitsToBytes(l.weightElements, l.weightBits);
        // A BatchNorm folded into a bias-less conv gives it a bias.
        const bool folded = foldBatchNorm && !layer.activationPoints.empty() && !layer.activationPoints.front().chain.empty()
                            && layer.activationPoints.front().chain.front() == "batch_norm";
        l.biasBytes = (layer.hasBias || folded) ? 4 * layer.outChannels : 0;
        l.macs = l.bops = 0;
        bool first = true;
        for (const auto* node : calls[layer.name]) {
            const int inBits = node->inputs.empty() ? 32 : pointBits(carrier[size_t(node->inputs.front())], pointPlans);
            if (first) {
                l.activationBits = inBits;
                first = false;
            }
            const auto macs = callMacs(layer, graph, *node);
            if (macs < 0) {
                l.macs = l.bops = -1;
                break;
            }
            l.macs += macs;
            l.bops += macs * l.weightBits * inBits;
        }
        r.weightsBytes += l.weightsBytes;
        r.weightsBytesFloat32 += l.weightElements * 4;
        r.weightsBytes8bit += l.weightElements;
        r.biasBytes += l.biasBytes;
        if (l.macs < 0) {
            macsKnown = false;
        } else {
            r.macs += l.macs;
            r.bops += l.bops;
        }
        r.layers.push_back(std::move(l));
    }
    if (!macsKnown) {
        r.macs = r.bops = -1;
    }
    bool activationsKnown = r.shapesKnown;
    int64_t largest = 0;
    int64_t total = 0;
    for (size_t i = 0; i < points.size(); ++i) {
        if (!pointPlans.at(i).choice.enabled) {
            continue;
        }
        PointResources p;
        p.name = points[i].name;
        p.bits = pointPlans[i].choice.config.bits;
        p.elements = sampleElements(graph.nodes.at(size_t(points[i].node)).shape);
        if (p.elements < 0) {
            activationsKnown = false;
        } else {
            p.bytes = bitsToBytes(p.elements, p.bits);
            largest = std::max(largest, p.bytes);
            total += p.bytes;
        }
        r.points.push_back(std::move(p));
    }
    if (activationsKnown) {
        r.activationBytesMax = largest;
        r.activationBytesTotal = total;
    }
    return r;
}

std::string resourcesToJson(const Resources& r, int indent)
{
    using nlohmann::json;
    json layers = json::array();
    for (const auto& l : r.layers) {
        layers.push_back({{"name", l.name},
                          {"weight_bits", l.weightBits},
                          {"weight_elements", l.weightElements},
                          {"weights_bytes", l.weightsBytes},
                          {"bias_bytes", l.biasBytes},
                          {"activation_bits", l.activationBits},
                          {"macs", figure(l.macs)},
                          {"bops", figure(l.bops)}});
    }
    json activations = json::array();
    for (const auto& p : r.points) {
        activations.push_back({{"name", p.name}, {"bits", p.bits}, {"elements", figure(p.elements)}, {"bytes", figure(p.bytes)}});
    }
    const json doc = {{"weights_bytes", r.weightsBytes},
                      {"weights_bytes_float32", r.weightsBytesFloat32},
                      {"weights_bytes_8bit", r.weightsBytes8bit},
                      {"bias_bytes", r.biasBytes},
                      {"activation_bytes_max", figure(r.activationBytesMax)},
                      {"activation_bytes_total", figure(r.activationBytesTotal)},
                      {"macs", figure(r.macs)},
                      {"bops", figure(r.bops)},
                      {"layers", layers},
                      {"activations", activations}};
    return doc.dump(indent);
}

Resources resourcesFromJson(const std::string& text)
{
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object()) {
        throw Error("stored resource figures are not a JSON object");
    }
    Resources r;
    r.weightsBytes = figureFrom(doc, "weights_bytes");
    r.weightsBytesFloat32 = figureFrom(doc, "weights_bytes_float32");
    r.weightsBytes8bit = figureFrom(doc, "weights_bytes_8bit");
    r.biasBytes = figureFrom(doc, "bias_bytes");
    r.activationBytesMax = figureFrom(doc, "activation_bytes_max");
    r.activationBytesTotal = figureFrom(doc, "activation_bytes_total");
    r.macs = figureFrom(doc, "macs");
    r.bops = figureFrom(doc, "bops");
    r.shapesKnown = r.activationBytesMax >= 0;
    for (const auto& l : doc.value("layers", nlohmann::json::array())) {
        LayerResources layer;
        layer.name = l.value("name", "");
        layer.weightBits = l.value("weight_bits", 32);
        layer.weightElements = figureFrom(l, "weight_elements");
        layer.weightsBytes = figureFrom(l, "weights_bytes");
        layer.biasBytes = figureFrom(l, "bias_bytes");
        layer.activationBits = l.value("activation_bits", 32);
        layer.macs = figureFrom(l, "macs");
        layer.bops = figureFrom(l, "bops");
        r.layers.push_back(std::move(layer));
    }
    for (const auto& p : doc.value("activations", nlohmann::json::array())) {
        r.points.push_back({p.value("name", ""), p.value("bits", 0), figureFrom(p, "elements"), figureFrom(p, "bytes")});
    }
    return r;
}

std::string formatBytes(int64_t bytes)
{
    if (bytes < 0) {
        return "-";
    }
    char text[32];
    if (bytes < 1024) {
        std::snprintf(text, sizeof text, "%lld B", static_cast<long long>(bytes));
    } else if (bytes < 1024 * 1024) {
        std::snprintf(text, sizeof text, "%.1f KB", double(bytes) / 1024.0);
    } else {
        std::snprintf(text, sizeof text, "%.2f MB", double(bytes) / (1024.0 * 1024.0));
    }
    return text;
}

std::string formatCount(int64_t count)
{
    if (count < 0) {
        return "-";
    }
    char text[32];
    const char* units[] = {"", " k", " M", " G", " T", " P"};
    double v = double(count);
    int unit = 0;
    while (v >= 1000.0 && unit < 5) {
        v /= 1000.0;
        ++unit;
    }
    std::snprintf(text, sizeof text, unit ? "%.2f%s" : "%.0f%s", v, units[unit]);
    return text;
}

std::string describeResources(const Resources& r)
{
    auto percent = [](int64_t part, int64_t whole) {
        return whole > 0 ? std::to_string(int64_t(std::llround(100.0 * double(part) / double(whole)))) + "%" : "-";
    };
    std::string text = "weights " + formatBytes(r.weightsBytes) + " (" + percent(r.weightsBytes, r.weightsBytesFloat32)
                       + " of float32, " + percent(r.weightsBytes, r.weightsBytes8bit) + " of 8-bit)";
    if (r.activationBytesMax >= 0) {
        text += " \u00b7 activations " + formatBytes(r.activationBytesMax) + " max, "
                + formatBytes(r.activationBytesTotal) + " total";
    } else {
        text += " \u00b7 activations unknown (no probe forward)";
    }
    if (r.bops >= 0) {
        text += " \u00b7 " + formatCount(r.bops) + " BOPs";
    }
    return text;
}

} // namespace qat::analysis
