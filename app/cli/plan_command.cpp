// SPDX-License-Identifier: MIT
#include "plan_command.h"

#include "arguments.h"
#include "inspect_command.h"
#include "registry_setup.h"
#include "train_command.h"

#include "analysis/bit_fit.h"
#include "analysis/resources.h"
#include "data/data_report.h"
#include "model/model_inspector.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>
#include <optional>
#include <utility>

namespace qat::cli {

const char* const kPlanHelp =
    "usage: qatwb plan --model MODEL [--preset NAME | --plan FILE] [--target NAME] [--fit SPEC]\n"
    "                  [--out PLAN.json] [--json] [--input CxHxW] [--data PATH] [--images N]\n"
    "                  [--adapt-steps N] [--verify N]\n"
    "\n"
    "What a quantization plan costs on the chip: weights memory at each layer's bits (float\n"
    "layers at 32), activation memory (largest and total quantized tensor for one sample) and\n"
    "BOPs (MACs x weight bits x input bits). With --fit, each layer's weight bits are chosen among\n"
    "the target's candidates (imx500: 8, 4, 2) so that the budget holds and the predicted loss is\n"
    "smallest: each layer's sensitivity at each candidate is measured first (the mean squared\n"
    "change of the logits with only that layer's weights quantized and adapted by a few QAT\n"
    "steps, on held-out calibration images), then an exact dynamic program picks the bits with\n"
    "the smallest predicted loss. With --verify N, the N best candidate plans (the predicted best,\n"
    "the uniform plan, the best with each large layer at each width) are measured as whole plans\n"
    "(--verify-steps QAT steps each) and the best measured is chosen. The result is an ordinary\n"
    "plan (per-layer weight bits).\n"
    "\n"
    "  --weights SPEC, --activations SPEC   change the plan's defaults as train does\n"
    "                  (TRAINING:METHOD:BITS[:per-channel|per-tensor])\n"
    "  --fit SPEC      weights=60% (of every layer at 8 bits), weights-kb=120, bops=1.5G, or\n"
    "                  activations-kb=4: the largest activation tensor (one sample); each\n"
    "                  quantized tensor gets the most bits of the target's that fit (no measurement);\n"
    "                  give --fit twice to fit weights (or BOPs) and activation bits together\n"
    "  --out FILE      write the plan (fitted or as given) as a plan file (train --plan FILE)\n"
    "  --input CxHxW   the model's input size (default: the data's, else the first usual size)\n"
    "  --data PATH     calibration data for --fit (default: fashion-mnist)\n"
    "  --images N      calibration images the logits are compared on (default 512)\n"
    "  --adapt-steps N QAT steps before each measurement (default 24; 0: straight after\n"
    "                  initialisation, which overrates what low bits cost after training)\n"
    "  --verify N      candidate plans measured jointly, the best measured chosen (default 1:\n"
    "                  the predicted best, unmeasured; e.g. 6)\n"
    "  --verify-steps N QAT steps per candidate on fresh training batches (default 96)\n"
    "  --plugin PATH   load a quantizer plugin (repeatable)\n"
    "  --threads N     compute threads (default: one per core)\n"
    "  --json          print {resources: {weights_bytes, weights_bytes_float32, weights_bytes_8bit,\n"
    "                  bias_bytes, activation_bytes_max, activation_bytes_total, macs, bops,\n"
    "                  layers: [{name, weight_bits, weights_bytes, bops, ...}], activations},\n"
    "                  and when fitting budget: {spec, kind, limit, figure}, predicted_loss,\n"
    "                  sensitivity: [{layer, loss: {BITS: value}, chosen}], plan, measured_loss,\n"
    "                  verification: {measured, adapt_steps, images, candidates: [{why, bits,\n"
    "                  figure, predicted_loss, measured_loss, chosen}]}, and with two budgets\n"
    "                  activation_budget: {spec, kind, limit, figure}}\n"
    "\n"
    "An impossible budget (below every layer at its fewest bits) is refused with the smallest\n"
    "reachable figure.\n";

namespace {

void printFit(const analysis::FitResult& fit)
{
    const bool bops = fit.budget.kind == analysis::BudgetKind::Bops;
    auto show = [&](int64_t v) { return bops ? analysis::formatCount(v) + " BOPs" : analysis::formatBytes(v); };
    std::cout << "\nBudget " << fit.budget.text << ": " << show(fit.limit) << "; fitted plan: " << show(fit.figure);
    if (fit.budget.kind == analysis::BudgetKind::ActivationsKb) {
        std::cout << " (largest activation tensor)\n";
        for (const auto& p : fit.resources.points) {
            std::cout << "  " << p.name << ": " << p.bits << " bits, " << analysis::formatBytes(p.bytes) << "\n";
        }
        return;
    }
    std::cout << "; predicted loss " << fit.predictedLoss << "\n";
    if (fit.verified) {
        std::cout << "Measured jointly (logit MSE after " << fit.verifyAdaptSteps << " QAT steps, " << fit.verifyImages
                  << " images), " << fit.candidates.size() << " candidate plans:\n";
        for (size_t i = 0; i < fit.candidates.size(); ++i) {
            const auto& c = fit.candidates[i];
            std::cout << (i == fit.chosen ? "* " : "  ") << std::left << std::setw(30) << c.why << std::setw(12)
                      << (bops ? analysis::formatCount(c.figure) : analysis::formatBytes(c.figure)) << "predicted "
                      << std::setprecision(4) << c.predictedLoss << "  measured " << c.measuredLoss << "\n";
        }
    }
    if (fit.activationBudget) {
        std::cout << "Budget " << fit.activationBudget->text << ": " << analysis::formatBytes(fit.activationLimit)
                  << "; largest activation tensor: " << analysis::formatBytes(fit.activationFigure) << "\n";
    }
    size_t width = 24;
    for (const auto& s : fit.sensitivity) {
        width = std::max(width, s.layer.size() + 2);
    }
    std::cout << std::left << std::setw(int(width)) << "layer" << std::setw(6) << "bits"
              << "sensitivity (logit MSE) per candidate\n";
    for (const auto& s : fit.sensitivity) {
        int chosen = 32;
        for (const auto& l : fit.resources.layers) {
            if (l.name == s.layer) chosen = l.weightBits;
        }
        std::cout << std::left << std::setw(int(width)) << s.layer << std::setw(6) << chosen;
        for (size_t i = 0; i < s.bits.size(); ++i) {
            std::cout << (i ? "  " : "") << s.bits[i] << ": " << std::setprecision(4) << s.loss[i];
        }
        std::cout << "\n";
    }
}

} // namespace

int runPlan(const std::vector<std::string>& args)
{
    const CommandSpec spec{"plan",
                           {"--model", "--preset", "--plan", "--target", "--weights", "--activations", "--fit",
                            "--out", "--input", "--data",
                            "--images", "--adapt-steps", "--verify", "--verify-steps", "--plugin", "--threads"},
                           {"--json"},
                           0,
                           0};
    const auto parsed = parseArguments(spec, args);
    const auto modelPath = parsed.value("--model");
    if (modelPath.empty()) {
        throw UsageError("--model MODEL is required");
    }
    auto plan = buildPlan(parsed);
    const auto data = parsed.value("--data", "fashion-mnist");
    auto input = probeInputOf(parsed);
    // Up to two budgets: weights or BOPs, and activations-kb (activation bits fitted too).
    std::optional<analysis::Budget> budget;
    std::optional<analysis::Budget> activations;
    for (const auto& spec : parsed.all("--fit")) {
        auto b = analysis::parseBudget(spec);
        auto& slot = b.kind == analysis::BudgetKind::ActivationsKb ? activations : budget;
        if (slot) {
            throw UsageError("--fit " + spec + ": one budget of each kind (weights or bops, and activations-kb)");
        }
        slot = std::move(b);
    }
    if (!budget && activations) {
        budget = std::exchange(activations, std::nullopt);
    }
    if (budget) {
        if (input.empty()) {
            // The sensitivity runs on this data: measure the shapes at its size too.
            const auto report = data::inspectData(data, {}, modelPath, 0);
            input = {1};
            input.insert(input.end(), report.modelInput.begin(), report.modelInput.end());
        }
    }
    const auto info = model::inspectModel(modelPath, input);
    nlohmann::json doc;
    if (budget) {
        quant::QuantizerRegistry registry;
        setUpRegistry(registry, parsed.all("--plugin"));
        analysis::BitSensitivityRequest request;
        request.modelPath = modelPath;
        request.plan = plan;
        request.data = data;
        request.images = int(parsed.integer("--images", request.images));
        request.threads = int(parsed.integer("--threads", 0));
        request.adaptSteps = int(parsed.integer("--adapt-steps", request.adaptSteps));
        if (request.adaptSteps < 0) {
            throw UsageError("--adapt-steps takes 0 or more steps");
        }
        request.verifySteps = int(parsed.integer("--verify-steps", request.verifySteps));
        if (request.verifySteps < 0) {
            throw UsageError("--verify-steps takes 0 or more steps");
        }
        const auto verify = parsed.integer("--verify", analysis::kVerifiedCandidates);
        if (verify < 1) {
            throw UsageError("--verify takes 1 or more candidate plans (1: the predicted best, unmeasured)");
        }
        analysis::checkBudgetReachable(info, plan, *budget); // before the (slow) measurement
        if (activations) {
            analysis::checkBudgetReachable(info, plan, *activations);
        }
        std::vector<analysis::LayerBitSensitivity> sensitivity;
        if (budget->kind != analysis::BudgetKind::ActivationsKb) { // activation bits need no measurement
            std::cerr << "measuring each layer's sensitivity at " << analysis::candidateBits(plan).size()
                      << " bit widths on " << request.images << " calibration images...\n";
            sensitivity = analysis::measureBitSensitivity(request, registry);
        }
        auto fit = activations
                       ? analysis::fitWithActivations(info, plan, *budget, *activations, sensitivity, size_t(verify))
                       : analysis::fitToBudget(info, plan, *budget, sensitivity, size_t(verify));
        if (fit.candidates.size() > 1) {
            std::cerr << "measuring " << fit.candidates.size() << " candidate plans jointly...\n";
            analysis::verifyFit(fit, request, registry);
        }
        plan = fit.plan;
        doc = nlohmann::json::parse(analysis::fitToJson(fit));
        if (!parsed.has("--json")) {
            printResources(info, fit.resources);
            printFit(fit);
        }
    } else {
        const auto resources = analysis::computeResources(info, plan);
        doc["resources"] = nlohmann::json::parse(analysis::resourcesToJson(resources));
        if (!parsed.has("--json")) {
            printResources(info, resources);
        }
    }
    if (!parsed.value("--out").empty()) {
        engine::savePlanFile(plan, parsed.value("--out"));
        std::cerr << "plan written to " << parsed.value("--out") << "\n";
    }
    if (parsed.has("--json")) {
        std::cout << doc.dump(2) << "\n";
    }
    return 0;
}

} // namespace qat::cli
