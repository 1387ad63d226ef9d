// SPDX-License-Identifier: MIT
// The fit's choice verified jointly (declared in bit_fit.h): each candidate plan measured as a
// whole, as training would start it, instead of trusting the sum of per-layer losses.
//
// Why: the per-layer prediction rates a 2-bit layer against the others' 4-bit losses one layer
// at a time; it cannot see that with the other layers at 8 bits (and training's larger learning
// rate for a plan with 2-bit weights) an epoch absorbs it (README's measurement).
#include "analysis/bit_fit.h"

#include "analysis/adaptation.h"
#include "analysis/float_calibration.h"
#include "common/error.h"
#include "common/version.h"
#include "engine/qat_model.h"
#include "training/trainer.h"

#include <algorithm>

namespace qat::analysis {

void verifyFit(FitResult& fit, const BitSensitivityRequest& r, const quant::QuantizerRegistry& registry,
               const FitProgress& progress)
{
    if (fit.candidates.size() < 2) {
        return; // nothing to choose between
    }
    setComputeThreads(r.threads);
    const int steps = r.verifySteps > 0 ? r.verifySteps : r.adaptSteps;
    CalibrationSplit split;
    std::vector<double> measured;
    for (const auto& candidate : fit.candidates) {
        // Every quantizer on, as the run trains the plan.
        auto model = engine::QatModel::build(r.modelPath, candidate.plan, registry);
        if (split.batches.empty()) {
            split = loadCalibrationSplit(r, *model, r.verifySteps);
        }
        calibrateFromFloat(*model, split.batches);
        model->train(false); // BatchNorm statistics stay as calibrated
        if (!split.reference.defined()) {
            takeReference(*model, split);
        }
        const auto [modelLr, quantizerLr] = train::autoLearningRates(*model); // as the run will train it
        adapt(*model, split.adaptation, steps, modelLr, quantizerLr);
        measured.push_back(logitError(*model, split));
        if (progress && !progress(int(measured.size()), int(fit.candidates.size()))) {
            throw Error("fitting cancelled");
        }
    }
    chooseMeasured(fit, measured);
    fit.verifyAdaptSteps = steps;
    fit.verifyImages = int(split.images.size(0));
}

} // namespace qat::analysis
