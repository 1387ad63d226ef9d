// SPDX-License-Identifier: MIT
// Per-layer sensitivity for each candidate bit width (declared in bit_fit.h): the float model's
// logits against the same model with one layer's weights quantized, after a short adaptation
// (a few QAT steps, as training takes them), on held-out calibration images.
//
// Why adapt: straight after initialisation a 2-bit layer changes the logits 20-400 times as
// much as at 4 bits, which says more about the initialisation than about what QAT leaves;
// a few steps of the training itself shrink it and reorder the layers (README's measurement).
#include "analysis/bit_fit.h"

#include "analysis/float_calibration.h"
#include "common/error.h"
#include "common/version.h"
#include "data/data_report.h"
#include "engine/qat_model.h"
#include "training/optimizer.h"
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

// The trainer's loss (distillation from the float model, temperature 2) and learning rates.
at::Tensor distillation(const at::Tensor& student, const at::Tensor& teacher)
{
    constexpr double t = 2.0;
    return -(at::softmax(teacher / t, 1) * at::log_softmax(student / t, 1)).sum(1).mean() * (t * t);
}

double adaptationLr(int bits)
{
    return bits <= 3 ? 1e-3 : 1e-4; // train::autoLearningRate
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

// `steps` QAT steps (Adam over the weights and the quantizers, distillation) on `batches`.
void adapt(engine::QatModel& model, const std::vector<at::Tensor>& batches, int steps, int bits)
{
    if (steps <= 0 || batches.empty()) {
        return;
    }
    const double lr = adaptationLr(bits);
    train::Optimizer optimizer(train::OptimizerKind::Adam,
                               {{model.modelParameters(), lr}, {model.quantizerParameters(), lr}}, 0.9);
    for (int s = 0; s < steps; ++s) {
        const auto& x = batches[size_t(s) % batches.size()];
        at::Tensor teacher;
        {
            at::NoGradGuard noGrad;
            teacher = model.floatForward(x);
        }
        optimizer.zeroGrad();
        distillation(model.forward(x), teacher).backward();
        optimizer.step();
    }
    optimizer.zeroGrad();
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
    std::vector<at::Tensor> adaptation; // the batches after the measured images (all when none are left)
    at::Tensor images;
    at::Tensor reference;
    int done = 0;
    for (size_t c = 0; c < candidates.size(); ++c) {
        auto model = engine::QatModel::build(r.modelPath, atBits(r.plan, candidates[c]), registry);
        const train::ForwardFn floatForward = [&](const at::Tensor& x) { return model->floatForward(x); };
        if (batches.empty()) {
            batches = train::loadCalibrationBatches(r.data, options, floatForward, r.seed, r.calibrationBatches, r.batch);
            const auto all = at::cat(batches);
            images = all.slice(0, 0, std::max(r.images, 1));
            const auto rest = all.slice(0, images.size(0));
            adaptation = rest.size(0) > 0 ? at::split(rest, r.batch) : batches;
        }
        calibrateFromFloat(*model, batches);
        model->train(false); // BatchNorm statistics stay as calibrated
        if (!reference.defined()) {
            at::NoGradGuard noGrad;
            reference = model->floatForward(images);
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
            adapt(*model, adaptation, r.adaptSteps, candidates[c]);
            {
                at::NoGradGuard noGrad;
                const auto out = model->forward(images);
                result[row++].loss[c] = (out - reference).pow(2).sum(1).mean().item<double>();
            }
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
