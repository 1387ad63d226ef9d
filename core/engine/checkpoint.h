// SPDX-License-Identifier: MIT
#pragma once
// A QAT model's trained state as bytes: model parameters and buffers (BatchNorm folded as
// trained), every quantizer's parameters and calibrated state. Stored with the run, read
// back by export and re-runs. Internal to the core.

#include <string>

namespace qat::engine {

class QatModel;

/// AsTrained: the model's tensors as they are (for putting back into the same model, e.g.
/// after a learning-rate trial). Folded: with the BatchNorms that still train folded in
/// (QatModel::foldedTensors()), as a model built for export loads it.
enum class CheckpointForm { AsTrained, Folded };

/// The state of model as one blob (LibTorch's pickle format, which Python's torch.load reads).
std::string saveCheckpoint(QatModel& model, CheckpointForm form = CheckpointForm::AsTrained);

/// Puts a saved state back into a model built from the same file and plan. Throws qat::Error
/// naming the first tensor that is missing or has another shape.
void loadCheckpoint(QatModel& model, const std::string& bytes);

} // namespace qat::engine
