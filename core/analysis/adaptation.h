// SPDX-License-Identifier: MIT
#pragma once
// What the fit's measurements share (internal to the core: torch types): the calibration
// batches split into measured images and adaptation batches, a few QAT steps as training takes
// them, and the logits' change against the float model.

#include "analysis/bit_fit.h"
#include "engine/qat_model.h"

#include <ATen/ATen.h>

#include <vector>

namespace qat::analysis {

/// The request's calibration batches (seeded as a run's): the first request.images images are
/// measured on, the batches after them adapt (all of them when none are left).
struct CalibrationSplit {
    std::vector<at::Tensor> batches;    ///< every calibration batch (calibrates the quantizers)
    at::Tensor images;                  ///< measured on
    std::vector<at::Tensor> adaptation; ///< trained on
    at::Tensor reference;               ///< the float model's logits on images (takeReference)
};
/// extraBatches more training batches (after the calibration ones) replace the adaptation batches.
CalibrationSplit loadCalibrationSplit(const BitSensitivityRequest& request, engine::QatModel& model,
                                      int extraBatches = 0);
/// Sets split.reference; call it with the model in eval mode (BatchNorm statistics kept).
void takeReference(engine::QatModel& model, CalibrationSplit& split);

/// `steps` QAT steps (Adam over the weights at modelLr and the quantizers at quantizerLr,
/// distillation from the float model at temperature 2, as the trainer) on the batches in turn.
void adapt(engine::QatModel& model, const std::vector<at::Tensor>& batches, int steps, double modelLr,
           double quantizerLr);

/// The mean over images of the squared change of the logits against the float model's.
double logitError(engine::QatModel& model, const CalibrationSplit& split);

} // namespace qat::analysis
