// SPDX-License-Identifier: MIT
#pragma once
// The measurements behind `qatwb bench`, each a ratio of two things timed in the same run
// (interleaved, medians of repeats): this machine is noisy, absolute times are not comparable.

#include "quantizers/quantizer_registry.h"
#include "training/tensor_dataset.h"

#include <nlohmann/json.hpp>

#include <string>

namespace qat::cli::bench {

double median(std::vector<double> v);

struct StepTimes {
    double floatMs = 0;
    double qatMs = 0;       ///< fused quantizer kernels (the default)
    double compositeMs = 0; ///< the composite reference quantizers
};

/// One float step vs one QAT step (forward, cross-entropy, backward, Adam) on the same batches.
StepTimes stepTimes(const std::string& modelPath, const std::string& preset, int batch, int repeats,
                    const train::TensorDataset& data, const quant::QuantizerRegistry& registry);

/// Forward + backward elements per second of every built-in quantizer (fused and composite)
/// and of LibTorch's fake_quantize op on the same tensor.
nlohmann::json quantizerThroughput(const quant::QuantizerRegistry& registry, int repeats);

/// tests/bench/qat_step_python.py: the QAT step in Python PyTorch with the same quantizer math.
nlohmann::json pythonStep(const std::string& modelPath, int batch, int repeats);

/// Training seconds per step of short runs in the workbench window (Live Plots page shown) and
/// headless (`qatwb train`), alternating, as both record them in their run database.
nlohmann::json guiVsHeadless(const std::string& modelPath, int steps, int rounds);

/// Run store: metric inserts per second, time to list 1,000 runs.
nlohmann::json runStoreSpeed();

} // namespace qat::cli::bench
