// SPDX-License-Identifier: MIT
#include "model/layer_discovery.h"

#include "model/graph_util.h"
#include "model/op_graph_builder.h"

#include <map>
#include <set>

namespace qat::model {

using torch::jit::Node;
using torch::jit::Value;

namespace {

struct OpShape {
    bool transposed = false;
};

// Which input of a quantizable op says "transposed", when the op is the generic one.
constexpr size_t kConvolutionTransposedArg = 6;

std::optional<OpShape> quantizableOp(const Node* n)
{
    const auto kind = n->kind();
    if (kind == c10::aten::conv1d || kind == c10::aten::conv2d || kind == c10::aten::conv3d
        || kind == c10::aten::linear) {
        return OpShape{false};
    }
    if (kind == c10::aten::conv_transpose1d || kind == c10::aten::conv_transpose2d
        || kind == c10::aten::conv_transpose3d) {
        return OpShape{true};
    }
    if (kind == c10::aten::_convolution && n->inputs().size() > kConvolutionTransposedArg) {
        auto transposed = torch::jit::toIValue(n->input(kConvolutionTransposedArg));
        if (transposed && transposed->isBool()) {
            return OpShape{transposed->toBool()};
        }
    }
    return std::nullopt;
}

std::string layerKind(const Node* n, bool transposed, int64_t weightDim)
{
    if (n->kind() == c10::aten::linear) {
        return "linear";
    }
    const auto spatial = std::to_string(weightDim - 2);
    return (transposed ? "conv_transpose" : "conv") + spatial + "d";
}

// Shape queries do not consume the activation (scripted BatchNorm calls size()/dim()).
bool isShapeQuery(const Node* n)
{
    static const std::set<std::string> kQueries = {"size", "dim", "numel", "len", "shape",
                                                   "device", "dtype", "layout", "is_floating_point"};
    return kQueries.count(normalisedOpName(n)) > 0;
}

// The BatchNorm that is the only reader of the layer's output (folded into the layer later).
Node* soleBatchNorm(Value* value)
{
    Node* consumer = nullptr;
    for (const auto& use : value->uses()) {
        if (isShapeQuery(use.user)) {
            continue;
        }
        if (consumer != nullptr || use.offset != 0) {
            return nullptr;
        }
        consumer = use.user;
    }
    return consumer != nullptr && normalisedOpName(consumer) == "batch_norm" ? consumer : nullptr;
}

int64_t numel(const at::Tensor& t) { return t.defined() ? t.numel() : 0; }

} // namespace

std::vector<LayerSite> findLayerSites(torch::jit::Graph& graph, const torch::jit::Module& module,
                                      std::vector<std::string>* notes)
{
    std::vector<LayerSite> sites;
    std::map<std::pair<std::string, std::string>, int> computed; // (module, op) -> calls
    forEachNode(graph.block(), [&](Node* n) {
        auto op = quantizableOp(n);
        if (!op) {
            return;
        }
        LayerSite site;
        site.node = n;
        site.weight = n->input(1);
        auto path = attributePath(site.weight);
        auto weight = path ? attributeValue(module, *path) : std::nullopt;
        if (!weight || !weight->isTensor()) {
            ++computed[{scopeOf(n), normalisedOpName(n)}];
            return;
        }
        site.weightPath = joinPath(*path);
        site.kind = layerKind(n, op->transposed, weight->toTensor().dim());
        site.batchNormNode = soleBatchNorm(n->output());
        sites.push_back(std::move(site));
    });
    for (const auto& [where, calls] : computed) {
        if (notes) {
            notes->push_back((where.first.empty() ? "" : where.first + ": ") + std::to_string(calls) + " " + where.second
                             + " call(s) whose weight is computed in forward(), not a parameter: left unquantized");
        }
    }
    return sites;
}

std::string layerName(const std::string& weightPath)
{
    const auto dot = weightPath.rfind('.');
    return dot == std::string::npos ? weightPath : weightPath.substr(0, dot);
}

std::vector<LayerInfo> summariseLayers(const std::vector<LayerSite>& sites, const torch::jit::Module& module,
                                       const std::vector<ActivationPointInfo>& points)
{
    std::vector<LayerInfo> layers;
    std::map<std::string, size_t> index;
    for (const auto& site : sites) {
        auto found = index.find(site.weightPath);
        if (found != index.end()) {
            ++layers[found->second].callSites;
            continue;
        }
        LayerInfo layer;
        layer.weightPath = site.weightPath;
        const auto weight = attributeValue(module, *attributePath(site.weight))->toTensor();
        layer.name = layerName(site.weightPath);
        layer.kind = site.kind;
        layer.weightShape = weight.sizes().vec();
        const bool transposed = site.kind.rfind("conv_transpose", 0) == 0;
        layer.channelAxis = transposed ? 1 : 0;
        layer.outChannels = weight.size(layer.channelAxis);
        if (site.kind != "linear") {
            const auto groupsArg = site.node->kind() == c10::aten::_convolution ? 8 : 6;
            auto groups = torch::jit::toIValue(site.node->input(groupsArg));
            layer.groups = groups && groups->isInt() ? groups->toInt() : 1;
        }
        auto biasPath = attributePath(site.node->input(2));
        auto bias = biasPath ? attributeValue(module, *biasPath) : std::nullopt;
        layer.hasBias = bias && bias->isTensor();
        layer.parameterCount = numel(weight) + (layer.hasBias ? numel(bias->toTensor()) : 0);
        index[site.weightPath] = layers.size();
        layers.push_back(std::move(layer));
    }
    std::map<std::string, LayerInfo*> byName;
    for (auto& layer : layers) {
        byName[layer.name] = &layer;
    }
    for (const auto& p : points) {
        if (auto found = byName.find(p.afterLayer); found != byName.end()) {
            found->second->activationPoints.push_back({p.fusedOps.empty() ? p.op : p.fusedOps.back(), p.fusedOps});
        }
    }
    return layers;
}

} // namespace qat::model
