// SPDX-License-Identifier: MIT
#include "analysis/adaptation.h"

#include "data/data_report.h"
#include "training/optimizer.h"
#include "training/tensor_dataset.h"

#include <algorithm>

namespace qat::analysis {

namespace {

// The trainer's loss: distillation from the float model, temperature 2.
at::Tensor distillation(const at::Tensor& student, const at::Tensor& teacher)
{
    constexpr double t = 2.0;
    return -(at::softmax(teacher / t, 1) * at::log_softmax(student / t, 1)).sum(1).mean() * (t * t);
}

} // namespace

CalibrationSplit loadCalibrationSplit(const BitSensitivityRequest& r, engine::QatModel& model, int extraBatches)
{
    const auto options = data::inspectData(r.data, {}, r.modelPath, 0).resolved;
    const train::ForwardFn floatForward = [&](const at::Tensor& x) { return model.floatForward(x); };
    CalibrationSplit split;
    // The order is a seeded permutation: the first calibrationBatches are the same with extras.
    auto loaded = train::loadCalibrationBatches(r.data, options, floatForward, r.seed,
                                                r.calibrationBatches + std::max(extraBatches, 0), r.batch);
    const auto calibration = std::min<size_t>(loaded.size(), size_t(std::max(r.calibrationBatches, 1)));
    split.batches.assign(loaded.begin(), loaded.begin() + long(calibration));
    const auto all = at::cat(split.batches);
    split.images = all.slice(0, 0, std::max(r.images, 1));
    if (extraBatches > 0 && loaded.size() > calibration) {
        split.adaptation.assign(loaded.begin() + long(calibration), loaded.end());
        return split;
    }
    const auto rest = all.slice(0, split.images.size(0));
    split.adaptation = rest.size(0) > 0 ? at::split(rest, r.batch) : split.batches;
    return split;
}

void takeReference(engine::QatModel& model, CalibrationSplit& split)
{
    at::NoGradGuard noGrad;
    split.reference = model.floatForward(split.images);
}

void adapt(engine::QatModel& model, const std::vector<at::Tensor>& batches, int steps, double modelLr,
           double quantizerLr)
{
    if (steps <= 0 || batches.empty()) {
        return;
    }
    train::Optimizer optimizer(train::OptimizerKind::Adam,
                               {{model.modelParameters(), modelLr}, {model.quantizerParameters(), quantizerLr}}, 0.9);
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

double logitError(engine::QatModel& model, const CalibrationSplit& split)
{
    at::NoGradGuard noGrad;
    const auto out = model.forward(split.images);
    return (out - split.reference).pow(2).sum(1).mean().item<double>();
}

} // namespace qat::analysis
