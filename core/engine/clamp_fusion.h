// SPDX-License-Identifier: MIT
#pragma once
// Training runs an activation's ReLU (or ReLU6 / hardtanh) inside the quantizer that reads
// it: relu -> qat::quantize becomes qat::quantize_clamped, one pass forward and one backward
// where the two ops took two each (the same values and gradients, QuantizerTable::applyClamped).
// Exports see the ops as the model has them (unfuseInputClamps). Internal to the core.

#include <torch/csrc/jit/ir/ir.h>

#include <memory>

namespace qat::engine {

/// Fuses every relu / relu6 / hardtanh (in place or not, constant bounds) whose only reader
/// is a qat::quantize, where nothing reads its input afterwards that an in-place op would have
/// changed. Returns how many were fused.
int fuseInputClamps(const std::shared_ptr<torch::jit::Graph>& graph);

/// The reverse: qat::quantize_clamped(x, ...) -> qat::quantize(relu(x) or hardtanh(x, lo, hi), ...).
void unfuseInputClamps(const std::shared_ptr<torch::jit::Graph>& graph);

} // namespace qat::engine
