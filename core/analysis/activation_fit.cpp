// SPDX-License-Identifier: MIT
// Activation bits fitted to a budget on the largest activation tensor (declared in bit_fit.h).
// Each tensor's bytes bound the figure on their own, so the choices do not interact: the most
// bits that keep a tensor under the limit is the best choice for any loss that does not grow
// with bits, and no measurement is needed to make it.
#include "analysis/bit_fit.h"

#include "common/error.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <algorithm>

namespace qat::analysis {

FitResult fitActivations(const model::ModelInfo& info, const engine::QuantizationPlan& plan, const Budget& budget)
{
    if (budget.kind != BudgetKind::ActivationsKb) {
        throw Error("budget " + budget.text + " does not bound activations; use activations-kb=N");
    }
    const auto start = computeResources(info, plan);
    if (start.activationBytesMax < 0) {
        throw Error("an activation budget needs the model's shapes, and no probe forward worked; give --input CxHxW");
    }
    const auto& target = target::builtinTargets().find(plan.target);
    const auto points = target::placeActivationPoints(info.opGraph, target);
    const auto resolved = engine::resolvePoints(plan, engine::resolvePlan(plan, info.layers), points);
    const auto candidates = activationCandidateBits(plan);
    FitResult fit;
    fit.plan = plan;
    fit.budget = budget;
    fit.limit = budgetLimit(budget, start);
    const auto bytesAt = [](int64_t elements, int bits) { return (elements * bits + 7) / 8; };
    int64_t smallest = 0; // every tensor at the fewest bits
    std::string largest;
    for (const auto& p : start.points) {
        if (p.elements >= 0 && bytesAt(p.elements, candidates.front()) > smallest) {
            smallest = bytesAt(p.elements, candidates.front());
            largest = p.name;
        }
    }
    if (smallest > fit.limit) {
        throw Error("budget " + budget.text + " (" + formatBytes(fit.limit) + ") cannot be met: the smallest reachable is "
                    + formatBytes(smallest) + " (" + largest + " at " + std::to_string(candidates.front())
                    + " bits, the fewest target " + plan.target + " allows)");
    }
    int outputBits = 0; // the plan's `output` change applies last: the fewest any output point needs
    for (const auto& p : start.points) {
        const auto found = std::find_if(resolved.begin(), resolved.end(), [&](const auto& r) { return r.name == p.name; });
        if (p.elements < 0 || found == resolved.end()) {
            continue;
        }
        int bits = candidates.front();
        for (int b : candidates) {
            if (bytesAt(p.elements, b) <= fit.limit) bits = b;
        }
        if (found->isOutput) {
            outputBits = outputBits == 0 ? bits : std::min(outputBits, bits);
        } else if (found->isInput) {
            fit.plan.input.bits = bits;
        } else if (!found->layer.empty()) {
            fit.plan.layers[found->layer].activations.bits = bits;
        } else {
            fit.plan.pointOverrides[found->name].bits = bits;
        }
    }
    if (outputBits > 0) {
        fit.plan.output.bits = outputBits;
    }
    fit.plan.preset.clear();
    fit.resources = computeResources(info, fit.plan);
    fit.figure = budgetFigure(budget, fit.resources);
    return fit;
}

FitResult fitWithActivations(const model::ModelInfo& info, const engine::QuantizationPlan& plan, const Budget& budget,
                             const Budget& activations, const std::vector<LayerBitSensitivity>& sensitivity,
                             size_t maxCandidates)
{
    const auto first = fitActivations(info, plan, activations);
    auto fit = fitToBudget(info, first.plan, budget, sensitivity, maxCandidates);
    fit.activationBudget = activations;
    fit.activationLimit = first.limit;
    fit.activationFigure = fit.resources.activationBytesMax;
    return fit;
}

} // namespace qat::analysis
