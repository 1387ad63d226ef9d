// SPDX-License-Identifier: MIT
#pragma once
// Folds BatchNorm into the convolution before it, as MCT does before QAT. Internal.

#include "model/layer_discovery.h"

#include <torch/csrc/jit/api/module.h>

#include <string>
#include <vector>

namespace qat::engine {

/// One conv + BatchNorm pair that can be folded: the tensors are the module's own (folding
/// writes the weight in place). gamma, beta and bias are undefined when absent.
struct BatchNormFold {
    size_t site = 0;  ///< index into the sites it was found in
    size_t index = 0; ///< its place among every foldable pair (names the folded bias)
    std::string weightPath; ///< the conv's weight ("features.0.weight")
    at::Tensor gamma, beta, mean, var, weight, bias;
    double eps = 0;
    bool transposed = false;

    /// s = gamma / sqrt(var + eps), shaped to multiply the weight per output channel.
    at::Tensor scale() const;
    /// A [C] tensor shaped like scale() (C at the weight's output-channel axis).
    at::Tensor perChannel(const at::Tensor& values) const;
    /// b' = beta + (b - mean) * s.
    at::Tensor foldedBias() const;
    /// The name of the folded bias parameter on the root module, by fold index.
    static std::string biasName(size_t index);
};

/// Every conv (not linear; transposed only with groups 1) called once and followed by a
/// BatchNorm with running statistics, in site order. The graph is not changed.
std::vector<BatchNormFold> findBatchNormFolds(const torch::jit::Module& module, const std::vector<model::LayerSite>& sites);

/// Folds one pair findBatchNormFolds() found (see foldBatchNorms()).
void applyBatchNormFold(torch::jit::Graph& graph, torch::jit::Module& module, std::vector<model::LayerSite>& sites,
                        const BatchNormFold& fold);

/// For every pair findBatchNormFolds() finds: W' = W * s, b' = beta + (b - mean) * s, written
/// into module (the weight in place, the bias as a new trainable parameter on the root module,
/// BatchNormFold::biasName), and the BatchNorm node removed from the graph. Updates the sites
/// (a fused unit that ended at the BatchNorm now ends at the conv). Returns how many were folded.
int foldBatchNorms(torch::jit::Graph& graph, torch::jit::Module& module, std::vector<model::LayerSite>& sites);

} // namespace qat::engine
