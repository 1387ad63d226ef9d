// SPDX-License-Identifier: MIT
#pragma once
// `qatwb bench --only accuracy`: every preset trained on every model of a zoo of trained float
// models (full Fashion-MNIST), top-1 vs float against the bounds of issue #27.

#include "quantizers/quantizer_registry.h"
#include "quantizers/quantizer_types.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qat::cli::bench {

struct AccuracyOptions {
    std::string zoo;                  ///< folder of <name>_traced.pt files (make_trained_zoo.py)
    int epochs = 0;                   ///< 0: each preset's own (1; w2a3: 3)
    std::vector<std::string> presets; ///< empty: every preset
    std::vector<std::string> models;  ///< empty: every model in the zoo
    std::optional<quant::InitMethod> init; ///< overrides every quantizer's initialisation
    int64_t limitTrain = 0;           ///< > 0: the first N training images (a quick look, not the table)
    int64_t limitTest = 0;
    std::optional<bool> lrProbe;      ///< overrides the learning-rate probe's default
    int64_t quantizerWarmup = -1;     ///< steps; -1: the default (train::quantizerWarmupSteps)
};

/// The zoo's models: <name>_traced.pt files, sorted by name. Throws qat::Error when the folder
/// has none (with how to make them).
std::vector<std::string> zooModels(const std::string& folder);

/// The lowest acceptable delta (points) for a preset after `epochs` on a model, or nothing
/// when issue #27 sets none for that case.
std::optional<double> accuracyBound(const std::string& preset, int epochs, bool depthwise);

/// One row per (model, preset): float and QAT top-1, delta, bound, seconds, the run's state.
nlohmann::json accuracyTable(const AccuracyOptions& options, const quant::QuantizerRegistry& registry,
                             const std::function<void(const std::string&)>& progress);
void printAccuracy(const nlohmann::json& rows);

} // namespace qat::cli::bench
