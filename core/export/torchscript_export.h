// SPDX-License-Identifier: MIT
#pragma once
// Turns a trained QatModel into a module stock PyTorch runs: quantized weights baked in,
// every qat::quantize replaced by LibTorch's fake_quantize_per_{tensor,channel}_affine.
// Internal to the core (torch types).

#include "quantizers/inferable_quantizer.h"

#include <torch/csrc/jit/api/module.h>

#include <memory>
#include <vector>

namespace qat::engine {
class QatModel;
}

namespace qat::exporter {

/// Rewrites model's own module in place (the QatModel cannot train afterwards) and returns
/// it in eval mode with a plain `forward`. inferables[slot] is the quantizer of table slot.
/// slotsInOrder, when given, receives the slot of each fake-quant node of `forward` in graph
/// order (the ONNX writer's mct_quantizers nodes need to know which quantizer each one is).
torch::jit::Module makeExportModule(engine::QatModel& model,
                                    const std::vector<std::unique_ptr<quant::InferableQuantizer>>& inferables,
                                    std::vector<int64_t>* slotsInOrder = nullptr);

/// The names of non-standard ops (qat::...) left in any method of module; empty when clean.
std::vector<std::string> foreignOps(const torch::jit::Module& module);

} // namespace qat::exporter
