// SPDX-License-Identifier: MIT
// Per-layer sensitivity for each candidate bit width (declared in bit_fit.h): the float model's
// logits against the same model with one layer's weights quantized, after a short adaptation
// (a few QAT steps, as training takes them), on held-out calibration images.
//
// Why adapt: straight after initialisation a 2-bit layer changes the logits 20-400 times as
// much as at 4 bits, which says more about the initialisation than about what QAT leaves;
// a few steps of the training itself shrink it and reorder the layers (README's measurement).
#include "analysis/bit_fit.h"

#include "analysis/adaptation.h"
#include "analysis/float_calibration.h"
#include "common/error.h"
#include "common/version.h"
#include "engine/qat_model.h"
#include "training/train_types.h"

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

double adaptationLr(int bits)
{
    return train::autoLearningRate(bits);
}

// Every trainable tensor's value, to put the calibrated model back after each adaptation.
struct Snapshot {
    std::vector<at::Tensor> params;
    std::vector<at::Tensor> values;
    explicit Snapshot(std::vector<at::Tensor> p) : params(std::move(p))
    {
        at::NoGradGuard noGrad;
        for (const auto& t : params) values.push_back(t.clone());
    }
    void restore()
    {
        at::NoGradGuard noGrad;
        for (size_t i = 0; i < params.size(); ++i) params[i].copy_(values[i]);
    }
};

} // namespace

std::vector<LayerBitSensitivity> measureBitSensitivity(const BitSensitivityRequest& r,
                                                       const quant::QuantizerRegistry& registry,
                                                       const FitProgress& progress)
{
    setComputeThreads(r.threads);
    auto candidates = r.candidates.empty() ? candidateBits(r.plan) : r.candidates;
    std::sort(candidates.begin(), candidates.end());
    std::vector<LayerBitSensitivity> result;
    CalibrationSplit split;
    int done = 0;
    for (size_t c = 0; c < candidates.size(); ++c) {
        auto model = engine::QatModel::build(r.modelPath, atBits(r.plan, candidates[c]), registry);
        if (split.batches.empty()) {
            split = loadCalibrationSplit(r, *model);
        }
        calibrateFromFloat(*model, split.batches);
        model->train(false); // BatchNorm statistics stay as calibrated
        if (!split.reference.defined()) {
            takeReference(*model, split);
        }
        Snapshot calibrated(model->modelParameters());
        Snapshot quantizers(model->quantizerParameters());
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
            const double lr = adaptationLr(candidates[c]);
            adapt(*model, split.adaptation, r.adaptSteps, lr, lr);
            result[row++].loss[c] = logitError(*model, split);
            calibrated.restore();
            quantizers.restore();
            if (progress && !progress(++done, total)) {
                throw Error("fitting cancelled");
            }
        }
    }
    return result;
}

} // namespace qat::analysis
