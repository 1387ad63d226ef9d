// SPDX-License-Identifier: MIT
#include "training/optimizer.h"

#include <cmath>

namespace qat::train {

namespace {

constexpr double kBeta1 = 0.9;
constexpr double kBeta2 = 0.999;
constexpr double kEps = 1e-8;

} // namespace

Optimizer::Optimizer(OptimizerKind kind, std::vector<ParameterGroup> groups, double momentum)
    : m_kind(kind), m_momentum(momentum), m_groups(std::move(groups))
{
    for (const auto& group : m_groups) {
        std::vector<at::Tensor> first;
        std::vector<at::Tensor> second;
        for (const auto& p : group.params) {
            first.push_back(at::zeros_like(p));
            second.push_back(m_kind == OptimizerKind::Adam ? at::zeros_like(p) : at::Tensor());
        }
        m_first.push_back(std::move(first));
        m_steps.push_back(0);
        m_second.push_back(std::move(second));
    }
}

void Optimizer::zeroGrad()
{
    for (auto& group : m_groups) {
        for (auto& p : group.params) {
            if (p.grad().defined()) {
                p.mutable_grad() = at::Tensor();
            }
        }
    }
}

void Optimizer::step()
{
    for (size_t g = 0; g < m_groups.size(); ++g) {
        step(g);
    }
}

void Optimizer::step(size_t g)
{
    at::NoGradGuard noGrad;
    const auto steps = double(++m_steps.at(g));
    const double correction1 = 1.0 - std::pow(kBeta1, steps);
    const double correction2 = 1.0 - std::pow(kBeta2, steps);
    auto& group = m_groups[g];
    for (size_t i = 0; i < group.params.size(); ++i) {
        auto& p = group.params[i];
        const auto& grad = p.grad();
        if (!grad.defined()) {
            continue;
        }
        auto& m = m_first[g][i];
        const at::Tensor scale = i < group.stepScales.size() ? group.stepScales[i] : at::Tensor();
        if (m_kind == OptimizerKind::Sgd) {
            m.mul_(m_momentum).add_(grad);
            p.sub_(scale.defined() ? m * scale * group.lr : m * group.lr);
            continue;
        }
        auto& v = m_second[g][i];
        m.mul_(kBeta1).add_(grad, 1.0 - kBeta1);
        v.mul_(kBeta2).addcmul_(grad, grad, 1.0 - kBeta2);
        auto denominator = (v / correction2).sqrt_().add_(kEps);
        if (scale.defined()) {
            denominator.div_(scale);
        }
        p.addcdiv_(m, denominator, -group.lr / correction1);
    }
}

} // namespace qat::train
