// SPDX-License-Identifier: MIT
#pragma once
// Per-layer sensitivity of a run, measured two ways (plain data: no torch, no Qt, so the CLI
// and the workbench drive it):
// - Trained: the run's trained state with every quantizer on, then each layer's quantizers
//   turned off in turn: the top-1 each layer costs in this run.
// - Float: the float model's own weights, each layer alone quantized at the plan's bits
//   (calibrated as the run calibrated, untrained): what the plan costs before training,
//   layer by layer (AIMET QuantAnalyzer style; what mixed precision needs).

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

enum class SensitivityMode { Trained = 1, Float };

/// "trained", "float": the CLI's --mode and the stored mode.
std::string toString(SensitivityMode mode);
/// Throws qat::Error naming the modes for anything else.
SensitivityMode parseSensitivityMode(const std::string& text);
/// One line saying what a bar of this mode means, for the CLI and the History.
std::string describeMode(SensitivityMode mode);
/// The same for a stored mode name, "legacy" (an older version's measurement) included.
std::string describeStoredMode(const std::string& mode);

struct SensitivityRequest {
    SensitivityMode mode = SensitivityMode::Trained;
    int64_t runId = 0;
    std::string modelPath;
    std::string modelHash;  ///< checked against the file; empty: not checked
    engine::QuantizationPlan plan;
    std::string checkpoint; ///< the run's trained state (required by Trained)
    std::string data = "fashion-mnist";
    data::DataOptions dataOptions; ///< as stored with the run
    int64_t images = 1000;  ///< the first N test images; 0: the whole test split
    int threads = 0;
    // Float: calibration as the run did it (its seed, batches and training subset).
    uint64_t seed = 0;
    int calibrationBatches = 8;
    int batch = 128;
    int64_t limitTrain = 0;
};

struct LayerSensitivity {
    std::string layer;
    std::string kind;   ///< "conv2d", "linear", ...
    int quantizers = 0; ///< this layer's quantizers (weights + its outputs) that were switched
    double top1 = 0;    ///< Trained: with them off, the rest on. Float: with only them on.
    double drop = 0;    ///< the top-1 they cost: Trained: top1 - quantizedTop1; Float: floatTop1 - top1
};

struct SensitivityResult {
    SensitivityMode mode = SensitivityMode::Trained;
    int64_t images = 0;
    double floatTop1 = 0;     ///< the float model
    double quantizedTop1 = 0; ///< every quantizer on: Trained: the run as trained; Float: calibrated, untrained
    std::vector<LayerSensitivity> layers; ///< graph order
};

/// Called after each evaluation with (done, total); return false to stop (then
/// analyzeSensitivity throws qat::Error "cancelled"). Called on the analysing thread.
using SensitivityProgress = std::function<bool(int done, int total)>;

/// The request for a stored run; images <= 0 uses the run's own test subset. Throws
/// qat::Error when the run is missing, or (Trained) has no trained state.
SensitivityRequest sensitivityRequestForRun(const store::RunStore& runs, int64_t runId, int64_t images,
                                            SensitivityMode mode = SensitivityMode::Trained);

/// Builds the run's quantized model, loads its trained state (Trained) or calibrates it from
/// the float weights (Float), and evaluates it once per layer. Blocking (seconds to
/// minutes): call it off the UI thread. Throws qat::Error.
SensitivityResult analyzeSensitivity(const SensitivityRequest& request, const quant::QuantizerRegistry& registry,
                                     const SensitivityProgress& progress = {});

/// As stored with the run (RunStore::saveSensitivity).
std::vector<store::SensitivityRow> toRows(const SensitivityResult& result);

} // namespace qat::analysis
