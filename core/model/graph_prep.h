// SPDX-License-Identifier: MIT
#pragma once
// Turns a module's forward method into one flat graph that the rest of the core can
// analyse and rewrite. Internal to the core: includes torch headers.

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <memory>

namespace qat::model {

/// The result of preparing a forward graph. The graph is a copy: the module's own
/// forward method is untouched.
struct PreparedGraph {
    std::shared_ptr<torch::jit::Graph> graph;
    int batchNormTrainingFixes = 0;
    int frozenAttributes = 0;
    int pinnedAttention = 0; ///< attention blocks held to their composite (non-fused) path
    int decomposedAttention = 0; ///< traced fused attention ops rewritten as their composite math
    int fusedAttention = 0;  ///< fused attention ops left as they are (a mask, cross-attention, ...)
};

/// Copies module's forward graph and
///  1. inlines every method and function call (repeatedly: one pass inlines one level),
///  2. replaces non-tensor attributes that forward never writes by constants, so that
///     Python branches on them (residual flags, padding modes) collapse to one path,
///  3. rewires traced BatchNorm's constant `training` argument to the module's flag,
///  4. holds nn.MultiheadAttention / TransformerEncoderLayer to their composite path (their
///     fused inference op cannot be quantized inside),
///  5. runs constant propagation, peephole, constant pooling and dead-code elimination.
/// Throws qat::ModelError when the module has no forward or a call cannot be inlined.
PreparedGraph prepareForwardGraph(const torch::jit::Module& module);

} // namespace qat::model
