// SPDX-License-Identifier: MIT
#pragma once
// Training runs a BatchNorm that trains (the w2a3 preset's, before the part-way fold) inside the
// activation quantizer that reads it: batch_norm -> [relu ->] qat::quantize becomes
// qat::quantize_batch_norm, one kernel each way where the ops took three passes over memory
// forward and three backward (the same values and gradients, QuantizerTable::applyBatchNorm).
// Run after fuseInputClamps. Internal to the core.

#include <torch/csrc/jit/ir/ir.h>

#include <memory>

namespace qat::engine {

/// Fuses every aten::batch_norm whose only reader is a qat::quantize or qat::quantize_clamped
/// in the same block. Returns how many were fused.
int fuseBatchNorms(const std::shared_ptr<torch::jit::Graph>& graph);

/// The reverse: quantize_batch_norm -> batch_norm and quantize (or quantize_clamped).
void unfuseBatchNorms(const std::shared_ptr<torch::jit::Graph>& graph);

/// BatchNorm ops in the graph, fused with their quantizer or not: what a freeze of the
/// statistics would freeze. 0 when the plan folded every BatchNorm before training.
int countBatchNorms(torch::jit::Graph& graph);

} // namespace qat::engine
