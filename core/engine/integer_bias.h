// SPDX-License-Identifier: MIT
#pragma once
// What an integer kernel does with a layer's bias: it adds it to the int32 accumulator, so the
// bias lives on the accumulator's grid, scale s_in * s_w (per output channel), zero point 0
// (TFLite, ONNX Runtime's QLinearConv; design/targets.md section 2). Internal to the core.

#include "quantizers/inferable_quantizer.h"

#include <ATen/ATen.h>

namespace qat::engine {

/// The int32 grid of a bias with `channels` entries, from the grids of the layer's input
/// (per tensor) and weights (per tensor or per output channel).
quant::FakeQuantSpec biasGrid(const quant::FakeQuantSpec& input, const quant::FakeQuantSpec& weights, int64_t channels);

/// bias rounded to grid with LibTorch's own fake-quant op (what the export writes, bit for
/// bit); the gradient passes straight through to the float bias.
at::Tensor quantizeBias(const at::Tensor& bias, const quant::FakeQuantSpec& grid);

/// The op inserted in front of a layer's bias: qat::quantize_bias(bias, table, input_slot,
/// weight_slot) -> Tensor.
constexpr const char* kQuantizeBiasOp = "qat::quantize_bias";

} // namespace qat::engine
