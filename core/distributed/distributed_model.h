// SPDX-License-Identifier: MIT
#pragma once
// Keeping the ranks of a data-parallel run on one model: calibration statistics combined
// across ranks (every rank initialises its quantizers from the whole global calibration
// data), rank 0's parameters and buffers shared. Internal to the core.

namespace qat::engine {
class QatModel;
}

namespace qat::dist {

class Communicator;

/// Between QatModel::observeBatch() and finishActivationCalibration(): merges each built-in
/// activation quantizer's observed sample (exact min and max, the kept values interleaved
/// batch by batch, as one process with the global batch would have kept them). A no-op for
/// a world size of 1. Quantizers from plugins keep their own statistics; call
/// shareQuantizerParameters() after finishActivationCalibration() so all ranks use rank 0's.
void reduceCalibration(engine::QatModel& model, Communicator& comm);

/// Copies rank 0's quantizer parameters (trainable or not) to every rank.
void shareQuantizerParameters(engine::QatModel& model, Communicator& comm);

/// Copies rank 0's model parameters and buffers (BatchNorm statistics) to every rank: at the
/// start, so all ranks begin from one model, and before evaluations (unfolded BatchNorm
/// updates its running statistics from each rank's own batches, as DDP's do).
void shareModelState(engine::QatModel& model, Communicator& comm, bool withParameters);

} // namespace qat::dist
