// SPDX-License-Identifier: MIT
#include "analysis/bit_fit.h"

#include "common/error.h"
#include "targets/target_registry.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace qat::analysis {

namespace {

const char* const kBudgetForms =
    "weights=60% (of every layer at 8 bits), weights-kb=120, bops=1.5G (k, M, G, T: powers of 1000), or "
    "activations-kb=4 (the largest activation tensor)";

double parsePositive(const std::string& text, const std::string& spec)
{
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || !(v > 0) || !std::isfinite(v)) {
        throw Error("budget '" + spec + "': '" + text + "' is not a positive number; use " + kBudgetForms);
    }
    return v;
}

// One fitted layer: its candidates' cost (bytes or BOPs) and predicted loss.
struct Item {
    size_t layer = 0; // index in info.layers
    std::vector<int> bits;
    std::vector<int64_t> cost;
    std::vector<double> loss;
};

// A point of the (cost, loss) frontier after some layers, with how it was reached.
struct State {
    int64_t cost = 0;
    double loss = 0;
    int parent = -1;   // state index after the previous layer
    int candidate = 0; // this layer's candidate
};

} // namespace

Budget parseBudget(const std::string& text)
{
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
        throw Error("budget '" + text + "' has no '='; use " + kBudgetForms);
    }
    const auto key = text.substr(0, eq);
    auto value = text.substr(eq + 1);
    Budget b;
    b.text = text;
    if (key == "weights") {
        if (value.empty() || value.back() != '%') {
            throw Error("budget '" + text + "': weights= takes a percentage of every layer at 8 bits (weights=60%); "
                        "for bytes use weights-kb=");
        }
        value.pop_back();
        b.kind = BudgetKind::WeightsPercent;
        b.value = parsePositive(value, text);
    } else if (key == "weights-kb") {
        b.kind = BudgetKind::WeightsKb;
        b.value = parsePositive(value, text);
    } else if (key == "bops") {
        double scale = 1;
        const std::map<char, double> suffixes = {{'k', 1e3}, {'K', 1e3}, {'M', 1e6}, {'G', 1e9}, {'T', 1e12}};
        if (!value.empty() && suffixes.count(value.back())) {
            scale = suffixes.at(value.back());
            value.pop_back();
        }
        b.kind = BudgetKind::Bops;
        b.value = parsePositive(value, text) * scale;
    } else if (key == "activations-kb") {
        b.kind = BudgetKind::ActivationsKb;
        b.value = parsePositive(value, text);
    } else {
        throw Error("unknown budget '" + key + "'; use " + kBudgetForms);
    }
    return b;
}

int64_t budgetLimit(const Budget& budget, const Resources& reference)
{
    switch (budget.kind) {
    case BudgetKind::WeightsPercent:
        return int64_t(std::floor(double(reference.weightsBytes8bit) * budget.value / 100.0));
    case BudgetKind::WeightsKb:
    case BudgetKind::ActivationsKb:
        return int64_t(std::floor(budget.value * 1024.0));
    case BudgetKind::Bops:
        return int64_t(std::floor(budget.value));
    }
    return 0;
}

int64_t budgetFigure(const Budget& budget, const Resources& r)
{
    switch (budget.kind) {
    case BudgetKind::Bops: return r.bops;
    case BudgetKind::ActivationsKb: return r.activationBytesMax;
    default: return r.weightsBytes;
    }
}

namespace {

// A target's allowed widths ascending (a std::set is); 2, 4, 8 when it allows any.
std::vector<int> ascendingOrAny(const std::set<int>& bits)
{
    return bits.empty() ? std::vector<int>{2, 4, 8} : std::vector<int>(bits.begin(), bits.end());
}

} // namespace

std::vector<int> candidateBits(const engine::QuantizationPlan& plan)
{
    return ascendingOrAny(target::builtinTargets().find(plan.target).weights.bits);
}

std::vector<int> activationCandidateBits(const engine::QuantizationPlan& plan)
{
    return ascendingOrAny(target::builtinTargets().find(plan.target).activations.bits);
}

FitResult fitToBudget(const model::ModelInfo& info, const engine::QuantizationPlan& plan, const Budget& budget,
                      const std::vector<LayerBitSensitivity>& sensitivity)
{
    if (budget.kind == BudgetKind::ActivationsKb) {
        return fitActivations(info, plan, budget);
    }
    const auto start = computeResources(info, plan);
    const bool bops = budget.kind == BudgetKind::Bops;
    if (bops && start.bops < 0) {
        throw Error("a BOPs budget needs the model's shapes, and no probe forward worked; give --input CxHxW");
    }
    std::map<std::string, const LayerBitSensitivity*> byLayer;
    for (const auto& s : sensitivity) {
        byLayer[s.layer] = &s;
    }
    // The figure of everything not fitted stays as the plan has it.
    int64_t fixed = budgetFigure(budget, start);
    std::vector<Item> items;
    for (size_t i = 0; i < info.layers.size(); ++i) {
        const auto& l = start.layers[i];
        const auto found = byLayer.find(l.name);
        if (found == byLayer.end() || l.weightBits == 32) {
            continue;
        }
        Item item;
        item.layer = i;
        item.bits = found->second->bits;
        item.loss = found->second->loss;
        for (int b : item.bits) {
            item.cost.push_back(bops ? l.bops / l.weightBits * b : (l.weightElements * b + 7) / 8);
        }
        fixed -= bops ? l.bops : l.weightsBytes;
        items.push_back(std::move(item));
    }
    if (items.empty()) {
        throw Error("no layer has quantized weights to fit; the plan keeps every layer float");
    }
    const int64_t limit = budgetLimit(budget, start);
    // The least each remaining suffix of layers can cost: states that cannot fit are dropped.
    std::vector<int64_t> minRest(items.size() + 1, 0);
    for (size_t k = items.size(); k-- > 0;) {
        minRest[k] = minRest[k + 1] + *std::min_element(items[k].cost.begin(), items[k].cost.end());
    }
    const auto show = [&](int64_t v) { return bops ? formatCount(v) + " BOPs" : formatBytes(v); };
    if (fixed + minRest[0] > limit) {
        throw Error("budget " + budget.text + " (" + show(limit) + ") cannot be met: the smallest reachable is "
                    + show(fixed + minRest[0]) + " (every fitted layer at its fewest bits, "
                    + std::to_string(items.front().bits.front()) + ")");
    }
    // Exact dynamic programming: after each layer keep the Pareto frontier of (cost, loss).
    std::vector<std::vector<State>> frontiers;
    std::vector<State> current{State{}};
    for (size_t k = 0; k < items.size(); ++k) {
        std::vector<State> next;
        for (size_t s = 0; s < current.size(); ++s) {
            for (size_t c = 0; c < items[k].bits.size(); ++c) {
                const int64_t cost = current[s].cost + items[k].cost[c];
                if (fixed + cost + minRest[k + 1] > limit) {
                    continue;
                }
                next.push_back({cost, current[s].loss + items[k].loss[c], int(s), int(c)});
            }
        }
        std::sort(next.begin(), next.end(), [](const State& a, const State& b) {
            return a.cost != b.cost ? a.cost < b.cost : a.loss < b.loss;
        });
        std::vector<State> kept;
        for (const auto& state : next) {
            if (kept.empty() || state.loss < kept.back().loss) {
                kept.push_back(state);
            }
        }
        frontiers.push_back(kept);
        current = std::move(kept);
    }
    // The frontier's losses fall as cost rises: its last state is the best that fits.
    int index = int(current.size()) - 1;
    FitResult fit;
    fit.plan = plan;
    fit.budget = budget;
    fit.limit = limit;
    fit.predictedLoss = current.back().loss;
    for (size_t k = items.size(); k-- > 0;) {
        const auto& state = frontiers[k][size_t(index)];
        const auto& name = info.layers[items[k].layer].name;
        fit.plan.layers[name].weights.bits = items[k].bits[size_t(state.candidate)];
        index = state.parent;
    }
    fit.plan.preset.clear();
    fit.sensitivity = sensitivity;
    fit.resources = computeResources(info, fit.plan);
    fit.figure = budgetFigure(budget, fit.resources);
    return fit;
}

void checkBudgetReachable(const model::ModelInfo& info, const engine::QuantizationPlan& plan, const Budget& budget)
{
    if (budget.kind == BudgetKind::ActivationsKb) {
        fitActivations(info, plan, budget);
        return;
    }
    const auto candidates = candidateBits(plan);
    std::vector<LayerBitSensitivity> none;
    for (const auto& layer : info.layers) {
        none.push_back({layer.name, candidates, std::vector<double>(candidates.size(), 0.0)});
    }
    fitToBudget(info, plan, budget, none);
}

std::string fitToJson(const FitResult& fit, int indent)
{
    using nlohmann::json;
    json sensitivity = json::array();
    for (const auto& s : fit.sensitivity) {
        json bits = json::object();
        for (size_t i = 0; i < s.bits.size(); ++i) {
            bits[std::to_string(s.bits[i])] = s.loss[i];
        }
        int chosen = 32;
        for (const auto& l : fit.resources.layers) {
            if (l.name == s.layer) chosen = l.weightBits;
        }
        sensitivity.push_back({{"layer", s.layer}, {"loss", bits}, {"chosen", chosen}});
    }
    const char* kinds[] = {"", "weights", "weights-kb", "bops", "activations-kb"};
    json doc = {{"resources", json::parse(resourcesToJson(fit.resources))},
                {"budget",
                 {{"spec", fit.budget.text},
                  {"kind", kinds[int(fit.budget.kind)]},
                  {"limit", fit.limit},
                  {"figure", fit.figure}}},
                {"predicted_loss", fit.predictedLoss},
                {"sensitivity", sensitivity},
                {"plan", json::parse(engine::planToJson(fit.plan))}};
    if (fit.activationBudget) {
        doc["activation_budget"] = {{"spec", fit.activationBudget->text},
                                    {"kind", "activations-kb"},
                                    {"limit", fit.activationLimit},
                                    {"figure", fit.activationFigure}};
    }
    return doc.dump(indent);
}

} // namespace qat::analysis
