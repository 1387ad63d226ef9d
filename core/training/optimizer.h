// SPDX-License-Identifier: MIT
#pragma once
// Adam and SGD with momentum over parameter groups, in a few ATen ops (LibTorch's optim
// headers pull in the whole nn front end for the same arithmetic). Internal.

#include "training/train_types.h"

#include <ATen/ATen.h>

#include <utility>
#include <vector>

namespace qat::train {

/// Parameters that share a learning rate.
struct ParameterGroup {
    ParameterGroup(std::vector<at::Tensor> params = {}, double lr = 1e-3, std::vector<at::Tensor> stepScales = {})
        : params(std::move(params)), lr(lr), stepScales(std::move(stepScales))
    {
    }
    std::vector<at::Tensor> params;
    double lr;
    /// Empty, or one per parameter: multiplies that parameter's step (undefined: 1),
    /// broadcast over it.
    std::vector<at::Tensor> stepScales;
};

/// One optimizer for a run. Parameters without a gradient are skipped. One thread.
class Optimizer {
public:
    Optimizer(OptimizerKind kind, std::vector<ParameterGroup> groups, double momentum);

    void zeroGrad();
    /// Updates every group.
    void step();
    /// Updates one group only (the trainer steps the quantizers first and checks them
    /// before it touches the model's weights).
    void step(size_t group);
    std::vector<ParameterGroup>& groups() { return m_groups; }

private:
    OptimizerKind m_kind;
    double m_momentum;
    std::vector<int64_t> m_steps; ///< per group: Adam's bias correction counts that group's updates
    std::vector<ParameterGroup> m_groups;
    std::vector<std::vector<at::Tensor>> m_first;  ///< Adam m / SGD velocity, per group
    std::vector<std::vector<at::Tensor>> m_second; ///< Adam v
};

} // namespace qat::train
