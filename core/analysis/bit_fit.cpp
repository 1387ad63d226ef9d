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

// Exact dynamic programming: after each layer the Pareto frontier of (cost, loss) among the
// choices that can still fit (the rest at their cheapest). frontiers.back() is sorted by cost
// ascending, loss descending; empty when nothing fits.
std::vector<std::vector<State>> solveFrontiers(const std::vector<Item>& items, int64_t fixed, int64_t limit)
{
    std::vector<int64_t> minRest(items.size() + 1, 0);
    for (size_t k = items.size(); k-- > 0;) {
        minRest[k] = minRest[k + 1] + *std::min_element(items[k].cost.begin(), items[k].cost.end());
    }
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
    return frontiers;
}

// The candidate index per item of the final state `index`.
std::vector<int> backtrack(const std::vector<std::vector<State>>& frontiers, size_t index)
{
    std::vector<int> choice(frontiers.size());
    int at = int(index);
    for (size_t k = frontiers.size(); k-- > 0;) {
        const auto& state = frontiers[k][size_t(at)];
        choice[k] = state.candidate;
        at = state.parent;
    }
    return choice;
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
                      const std::vector<LayerBitSensitivity>& sensitivity, size_t maxCandidates)
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
    const auto show = [&](int64_t v) { return bops ? formatCount(v) + " BOPs" : formatBytes(v); };
    const auto frontiers = solveFrontiers(items, fixed, limit);
    if (frontiers.back().empty()) {
        int64_t least = fixed;
        for (const auto& item : items) {
            least += *std::min_element(item.cost.begin(), item.cost.end());
        }
        throw Error("budget " + budget.text + " (" + show(limit) + ") cannot be met: the smallest reachable is "
                    + show(least) + " (every fitted layer at its fewest bits, "
                    + std::to_string(items.front().bits.front()) + ")");
    }
    FitResult fit;
    fit.budget = budget;
    fit.limit = limit;
    fit.sensitivity = sensitivity;
    std::vector<std::vector<int>> chosen; // each candidate's choice per item, to drop repeats
    const auto add = [&](const std::vector<int>& choice, const std::string& why) {
        if (choice.empty() || fit.candidates.size() >= std::max<size_t>(maxCandidates, 1)
            || std::find(chosen.begin(), chosen.end(), choice) != chosen.end()) {
            return;
        }
        chosen.push_back(choice);
        FitCandidate c;
        c.plan = plan;
        for (size_t k = 0; k < items.size(); ++k) {
            c.plan.layers[info.layers[items[k].layer].name].weights.bits = items[k].bits[size_t(choice[k])];
            c.predictedLoss += items[k].loss[size_t(choice[k])];
        }
        c.plan.preset.clear();
        c.resources = computeResources(info, c.plan);
        c.figure = budgetFigure(budget, c.resources);
        c.why = why;
        fit.candidates.push_back(std::move(c));
    };
    // The frontier's losses fall as cost rises: its last state is the best that fits.
    const auto& last = frontiers.back();
    add(backtrack(frontiers, last.size() - 1), "predicted best");
    // The uniform plan: the most bits every fitted layer offers that fit.
    for (auto b = items.front().bits.rbegin(); b != items.front().bits.rend(); ++b) {
        std::vector<int> choice;
        int64_t cost = fixed;
        for (const auto& item : items) {
            const auto at = std::find(item.bits.begin(), item.bits.end(), *b);
            if (at == item.bits.end()) break;
            choice.push_back(int(at - item.bits.begin()));
            cost += item.cost[size_t(choice.back())];
        }
        if (choice.size() == items.size() && cost <= limit) {
            add(choice, "uniform " + std::to_string(*b) + "-bit");
            break;
        }
    }
    // Plans that differ where the budget is spent: the best with each of the largest layers at
    // each of its widths (a large layer's bits decide what the others can have).
    std::vector<size_t> bySize(items.size());
    for (size_t k = 0; k < items.size(); ++k) bySize[k] = k;
    std::stable_sort(bySize.begin(), bySize.end(),
                     [&](size_t a, size_t b) { return items[a].cost.back() > items[b].cost.back(); });
    for (size_t k : bySize) {
        for (size_t c = items[k].bits.size(); c-- > 0 && fit.candidates.size() < maxCandidates;) {
            auto forced = items;
            forced[k].bits = {items[k].bits[c]};
            forced[k].cost = {items[k].cost[c]};
            forced[k].loss = {items[k].loss[c]};
            const auto f = solveFrontiers(forced, fixed, limit);
            if (f.back().empty()) continue;
            auto choice = backtrack(f, f.back().size() - 1);
            choice[k] = int(c);
            add(choice, info.layers[items[k].layer].name + " at " + std::to_string(items[k].bits[c]) + " bits");
        }
    }
    // Then the next best by prediction.
    for (size_t i = last.size(); i-- > 0 && fit.candidates.size() < maxCandidates;) {
        add(backtrack(frontiers, i), "frontier");
    }
    fit.chosen = 0;
    fit.plan = fit.candidates.front().plan;
    fit.resources = fit.candidates.front().resources;
    fit.figure = fit.candidates.front().figure;
    fit.predictedLoss = fit.candidates.front().predictedLoss;
    return fit;
}

void chooseMeasured(FitResult& fit, const std::vector<double>& measured)
{
    if (measured.size() != fit.candidates.size()) {
        throw Error("internal: " + std::to_string(measured.size()) + " measurements for "
                    + std::to_string(fit.candidates.size()) + " candidate plans");
    }
    size_t best = 0;
    for (size_t i = 0; i < measured.size(); ++i) {
        fit.candidates[i].measuredLoss = measured[i];
        if (measured[i] < measured[best]) best = i;
    }
    const auto& c = fit.candidates[best];
    fit.chosen = best;
    fit.plan = c.plan;
    fit.resources = c.resources;
    fit.figure = c.figure;
    fit.predictedLoss = c.predictedLoss;
    fit.verified = true;
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
    if (fit.verified) {
        json candidates = json::array();
        for (size_t i = 0; i < fit.candidates.size(); ++i) {
            const auto& c = fit.candidates[i];
            std::string bits;
            for (const auto& l : c.resources.layers) {
                bits += (bits.empty() ? "" : "/") + std::to_string(l.weightBits);
            }
            candidates.push_back({{"why", c.why},
                                  {"bits", bits},
                                  {"figure", c.figure},
                                  {"predicted_loss", c.predictedLoss},
                                  {"measured_loss", c.measuredLoss},
                                  {"chosen", i == fit.chosen}});
        }
        doc["measured_loss"] = fit.candidates[fit.chosen].measuredLoss;
        doc["verification"] = {{"measured", fit.candidates.size()},
                               {"adapt_steps", fit.verifyAdaptSteps},
                               {"images", fit.verifyImages},
                               {"candidates", candidates}};
    }
    if (fit.activationBudget) {
        doc["activation_budget"] = {{"spec", fit.activationBudget->text},
                                    {"kind", "activations-kb"},
                                    {"limit", fit.activationLimit},
                                    {"figure", fit.activationFigure}};
    }
    return doc.dump(indent);
}

} // namespace qat::analysis
