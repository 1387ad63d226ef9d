// SPDX-License-Identifier: MIT
#pragma once
// Per-layer sensitivity of a trained run (AIMET QuantAnalyzer style): each layer quantized
// on its own, the rest of the model float, scored on test images. Plain data (no torch,
// no Qt), so the CLI and the workbench drive it.

#include "data/data_options.h"
#include "engine/quantization_plan.h"
#include "storage/run_store.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::analysis {

struct SensitivityRequest {
    int64_t runId = 0;
    std::string modelPath;
    std::string modelHash;  ///< checked against the file; empty: not checked
    engine::QuantizationPlan plan;
    std::string checkpoint; ///< the run's trained state (required)
    std::string data = "fashion-mnist";
    data::DataOptions dataOptions; ///< as stored with the run
    int64_t images = 1000;  ///< the first N test images; 0: the whole test split
    int threads = 0;
};

struct LayerSensitivity {
    std::string layer;
    std::string kind;   ///< "conv2d", "linear", ...
    int quantizers = 0; ///< how many were switched on for this layer (weights + its outputs)
    double top1 = 0;
    double drop = 0;    ///< floatTop1 - top1
};

struct SensitivityResult {
    int64_t images = 0;
    double floatTop1 = 0;     ///< trained weights, every quantizer off
    double quantizedTop1 = 0; ///< every quantizer on (the run as trained)
    std::vector<LayerSensitivity> layers; ///< graph order; the input quantizer stays off throughout
};

/// Called after each evaluation with (done, total); return false to stop (then
/// analyzeSensitivity throws qat::Error "cancelled"). Called on the analysing thread.
using SensitivityProgress = std::function<bool(int done, int total)>;

/// The request for a stored run; images <= 0 uses the run's own test subset. Throws
/// qat::Error when the run is missing or has no trained state.
SensitivityRequest sensitivityRequestForRun(const store::RunStore& runs, int64_t runId, int64_t images);

/// Builds the run's quantized model, loads its trained state and evaluates it once per
/// layer. Blocking (seconds to minutes): call it off the UI thread. Throws qat::Error.
SensitivityResult analyzeSensitivity(const SensitivityRequest& request, const quant::QuantizerRegistry& registry,
                                     const SensitivityProgress& progress = {});

/// As stored with the run (RunStore::saveSensitivity).
std::vector<store::SensitivityRow> toRows(const SensitivityResult& result);

} // namespace qat::analysis
