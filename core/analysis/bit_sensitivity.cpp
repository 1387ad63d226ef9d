// SPDX-License-Identifier: MIT
// Per-layer sensitivity for each candidate bit width (declared in bit_fit.h): the float model's
// logits against the same model with one layer's weights quantized, on calibration images.
#include "analysis/bit_fit.h"

#include "analysis/float_calibration.h"
#include "common/error.h"
#include "common/version.h"
#include "data/data_report.h"
#include "engine/qat_model.h"
#include "training/tensor_dataset.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace qat::analysis {

namespace {

// plan with every weight bit width (default, rules, overrides) set to bits.
engine::QuantizationPlan atBits(engine::QuantizationPlan plan, int bits)
{
    plan.weights.config.bits = bits;
    for (auto& rule : plan.rules) {
        if (rule.weights.bits) rule.weights.bits = bits;
    }
    for (auto& [name, o] : plan.layers) {
        if (o.weights.bits) o.weights.bits = bits;
    }
    // The weights alone are measured: an integer bias would read the (switched off) input quantizer.
    plan.integerBias = false;
    return plan;
}

} // namespace

std::vector<LayerBitSensitivity> measureBitSensitivity(const BitSensitivityRequest& r,
                                                       const quant::QuantizerRegistry& registry,
                                                       const FitProgress& progress)
{
    setComputeThreads(r.threads);
    auto candidates = r.candidates.empty() ? candidateBits(r.plan) : r.candidates;
    std::sort(candidates.begin(), candidates.end());
    const auto options = data::inspectData(r.data, {}, r.modelPath, 0).resolved;
    std::vector<LayerBitSensitivity> result;
    std::vector<at::Tensor> batches;
    at::Tensor images;
    at::Tensor reference;
    int done = 0;
    for (size_t c = 0; c < candidates.size(); ++c) {
        auto model = engine::QatModel::build(r.modelPath, atBits(r.plan, candidates[c]), registry);
        const train::ForwardFn floatForward = [&](const at::Tensor& x) { return model->floatForward(x); };
        if (batches.empty()) {
            batches = train::loadCalibrationBatches(r.data, options, floatForward, r.seed, r.calibrationBatches, r.batch);
            images = at::cat(batches).slice(0, 0, std::max(r.images, 1));
        }
        calibrateFromFloat(*model, batches);
        model->train(false);
        at::NoGradGuard noGrad;
        if (!reference.defined()) {
            reference = model->floatForward(images);
        }
        auto& table = model->table();
        const auto& layers = model->layerPlans();
        const int total = int(candidates.size() * layers.size());
        size_t row = 0;
        for (const auto& layer : layers) {
            if (!layer.weights.enabled) {
                continue;
            }
            if (c == 0) {
                result.push_back({layer.layer, candidates, std::vector<double>(candidates.size(), 0.0)});
            }
            for (const auto& site : model->sites()) {
                table.setEnabled(size_t(site.slot),
                                 site.layer == layer.layer && site.target == quant::Target::Weights);
            }
            const auto out = model->forward(images);
            result[row++].loss[c] = (out - reference).pow(2).sum(1).mean().item<double>();
            if (progress && !progress(++done, total)) {
                throw Error("fitting cancelled");
            }
        }
    }
    return result;
}

} // namespace qat::analysis
