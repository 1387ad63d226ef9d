// SPDX-License-Identifier: MIT
#include "engine/bn_folding.h"

#include "model/graph_util.h"

#include <ATen/ATen.h>

#include <map>

namespace qat::engine {

using torch::jit::Node;

namespace {

// A tensor attribute feeding a node input, or an undefined tensor for None.
std::optional<at::Tensor> tensorInput(Node* node, size_t index, const torch::jit::Module& module)
{
    auto* value = node->input(index);
    if (auto constant = torch::jit::toIValue(value); constant && constant->isNone()) {
        return at::Tensor();
    }
    auto path = model::attributePath(value);
    if (!path) {
        return std::nullopt;
    }
    auto attr = model::attributeValue(module, *path);
    if (!attr) {
        return std::nullopt;
    }
    if (attr->isNone()) {
        return at::Tensor();
    }
    if (!attr->isTensor()) {
        return std::nullopt;
    }
    return attr->toTensor();
}

bool foldable(const model::LayerSite& site, int callSites)
{
    if (site.batchNormNode == nullptr || site.kind == "linear" || callSites != 1) {
        return false;
    }
    if (site.kind.rfind("conv_transpose", 0) == 0) {
        auto groups = torch::jit::toIValue(site.node->input(site.node->kind() == c10::aten::_convolution ? 8 : 6));
        return groups && groups->isInt() && groups->toInt() == 1;
    }
    return true;
}

} // namespace

at::Tensor BatchNormFold::scale() const
{
    return perChannel((gamma.defined() ? gamma : at::ones_like(mean)) / at::sqrt(var + eps));
}

at::Tensor BatchNormFold::perChannel(const at::Tensor& values) const
{
    std::vector<int64_t> shape(size_t(weight.dim()), 1);
    shape[transposed ? 1 : 0] = -1;
    return values.reshape(shape);
}

at::Tensor BatchNormFold::foldedBias() const
{
    const auto s = (gamma.defined() ? gamma : at::ones_like(mean)) / at::sqrt(var + eps);
    return (beta.defined() ? beta : at::zeros_like(mean)) + ((bias.defined() ? bias : at::zeros_like(mean)) - mean) * s;
}

std::string BatchNormFold::biasName(size_t index)
{
    return "qat_folded_bias_" + std::to_string(index);
}

std::vector<BatchNormFold> findBatchNormFolds(const torch::jit::Module& module, const std::vector<model::LayerSite>& sites)
{
    std::map<std::string, int> callSites;
    for (const auto& site : sites) {
        ++callSites[site.weightPath];
    }
    std::vector<BatchNormFold> folds;
    for (size_t i = 0; i < sites.size(); ++i) {
        const auto& site = sites[i];
        if (!foldable(site, callSites[site.weightPath])) {
            continue;
        }
        Node* bn = site.batchNormNode;
        auto gamma = tensorInput(bn, 1, module);
        auto beta = tensorInput(bn, 2, module);
        auto mean = tensorInput(bn, 3, module);
        auto var = tensorInput(bn, 4, module);
        auto eps = torch::jit::toIValue(bn->input(7));
        auto weight = tensorInput(site.node, 1, module);
        auto bias = tensorInput(site.node, 2, module);
        if (!gamma || !beta || !mean || !var || !mean->defined() || !var->defined() || !eps || !eps->isDouble()
            || !weight || !weight->defined() || !bias) {
            continue; // no running statistics or an unusual graph: leave this BatchNorm alone
        }
        folds.push_back({i, folds.size(), site.weightPath, *gamma, *beta, *mean, *var, *weight, *bias, eps->toDouble(),
                         site.kind.rfind("conv_transpose", 0) == 0});
    }
    return folds;
}

void applyBatchNormFold(torch::jit::Graph& graph, torch::jit::Module& module, std::vector<model::LayerSite>& sites,
                        const BatchNormFold& fold)
{
    auto& site = sites[fold.site];
    at::NoGradGuard noGrad;
    const auto bias = fold.foldedBias();
    fold.weight.mul_(fold.scale());
    const auto name = BatchNormFold::biasName(fold.index);
    module.register_parameter(name, bias.detach().clone().set_requires_grad(true), false);
    {
        torch::jit::WithInsertPoint guard(site.node);
        site.node->replaceInput(2, graph.insertGetAttr(graph.inputs()[0], name));
    }
    Node* bn = site.batchNormNode;
    bn->output()->replaceAllUsesWith(site.node->output());
    bn->destroy();
    site.batchNormNode = nullptr;
}

int foldBatchNorms(torch::jit::Graph& graph, torch::jit::Module& module, std::vector<model::LayerSite>& sites)
{
    const auto folds = findBatchNormFolds(module, sites);
    for (const auto& fold : folds) {
        applyBatchNormFold(graph, module, sites, fold);
    }
    return int(folds.size());
}

} // namespace qat::engine
