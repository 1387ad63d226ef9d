// SPDX-License-Identifier: MIT
#pragma once
// The measurements behind `qatwb bench`, each a ratio of two things timed in the same run
// (interleaved, medians of repeats): this machine is noisy, absolute times are not comparable.

#include "engine/quantization_plan.h"
#include "quantizers/quantizer_registry.h"
#include "training/tensor_dataset.h"

#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <functional>
#include <memory>
#include <string>

namespace qat::engine {
class QatModel;
}
namespace qat::train {
class Optimizer;
}

namespace qat::cli::bench {

double median(std::vector<double> v);

/// A preset by name, or a plan file (a path ending in .json): what --profile and the steps'
/// --presets take. Throws qat::Error naming the presets, or the file's mistake.
engine::QuantizationPlan benchPlan(const std::string& presetOrFile);

/// The float model (as loaded, BatchNorm training) and its QAT model (a preset's quantizers,
/// BN folded, calibrated on the first batch), each with its own Adam; one step of either
/// (zero grad, forward, cross-entropy, backward, optimizer) on batch i of the data, timed.
class StepRig {
public:
    StepRig(const std::string& modelPath, const std::string& preset, int batch, const train::TensorDataset& data,
            const quant::QuantizerRegistry& registry);
    ~StepRig();
    double qatStep(int64_t i);   ///< seconds
    double floatStep(int64_t i); ///< seconds

private:
    double time(const std::function<at::Tensor(const at::Tensor&)>& forward, train::Optimizer& opt, int64_t i);

    const train::TensorDataset& data_;
    int64_t batch_;
    int64_t batches_;
    std::unique_ptr<engine::QatModel> qat_;
    torch::jit::Module plain_;
    std::unique_ptr<train::Optimizer> qatOpt_;
    std::unique_ptr<train::Optimizer> floatOpt_;
};

struct StepTimes {
    double floatMs = 0;
    double qatMs = 0;       ///< fused quantizer kernels (the default)
    double compositeMs = -1; ///< the composite reference quantizers (-1: not timed)
    double qatOverFloat = 0;       ///< median of the per-repeat ratios (not the ratio of medians)
    double compositeOverFloat = -1; ///< likewise
};

/// One float step vs one QAT step (forward, cross-entropy, backward, Adam) on the same batches;
/// with composite, also the QAT step with the composite reference quantizers.
StepTimes stepTimes(const std::string& modelPath, const std::string& preset, int batch, int repeats,
                    const train::TensorDataset& data, const quant::QuantizerRegistry& registry, bool composite = true);

/// Forward + backward elements per second of every built-in quantizer (fused and composite)
/// and of LibTorch's fake_quantize op on the same tensor.
nlohmann::json quantizerThroughput(const quant::QuantizerRegistry& registry, int repeats);

/// Forward + backward elements per second of BatchNorm (training, batch statistics), ReLU and
/// each built-in activation quantizer, as one fused kernel (math::quantizeBatchNorm) and as the
/// ops (batch_norm, then the quantizer with the ReLU fused).
nlohmann::json batchNormThroughput(const quant::QuantizerRegistry& registry, int repeats);

/// tests/bench/qat_step_python.py: the QAT step (mct-default) in Python PyTorch with the same
/// quantizer math, in rounds alternating with ours; the median of the per-round ratios.
nlohmann::json pythonVsOurs(const std::string& modelPath, int batch, int rounds, int steps,
                            const train::TensorDataset& data, const quant::QuantizerRegistry& registry);

/// Training seconds per step of short runs in the workbench window (Live Plots page shown) and
/// headless (`qatwb train`), alternating, as both record them in their run database.
nlohmann::json guiVsHeadless(const std::string& modelPath, int steps, int rounds, const std::string& data = "");

/// Run store: metric inserts per second, time to list 1,000 runs.
nlohmann::json runStoreSpeed();

} // namespace qat::cli::bench
