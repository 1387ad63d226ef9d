// SPDX-License-Identifier: MIT
#pragma once
// Training runs the model input's quantizer and the convolution that reads it as one op:
// qat::quantize(input) -> conv becomes qat::quantize_conv, whose backward takes the
// quantizer's parameter gradients through the weight gradient instead of computing the
// convolution's input gradient, which the float model never needs (QuantizerTable::applyConv).
// Exports see the ops as the model has them (unfuseInputConvs). Internal to the core.

#include <torch/csrc/jit/ir/ir.h>

#include <memory>

namespace qat::engine {

/// Fuses every qat::quantize of a graph input whose only reader is the input of a convolution
/// (aten::conv1d / conv2d / conv3d with integer padding, aten::convolution, aten::_convolution).
/// Returns how many were fused.
int fuseInputConvs(const std::shared_ptr<torch::jit::Graph>& graph);

/// The reverse: qat::quantize_conv(x, ...) -> the model's convolution op of qat::quantize(x, ...).
void unfuseInputConvs(const std::shared_ptr<torch::jit::Graph>& graph);

} // namespace qat::engine
