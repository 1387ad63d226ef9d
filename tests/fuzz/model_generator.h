// SPDX-License-Identifier: MIT
#pragma once
// Models for the graph-pass fuzzer (fuzz_graph_passes.cpp), made from fuzz bytes: small
// scripted modules composed op by op, and the committed fixture models with parameters,
// buffers and code constants changed.

#include "byte_reader.h"

#include <torch/csrc/jit/api/module.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qat::fuzz {

struct FuzzModel {
    torch::jit::Module module;
    std::vector<int64_t> inputShape; ///< batch first
    std::string description;         ///< the forward's source, or the fixture and what changed
};

/// A module composed from in: convolutions of rank 1-3 (plain, grouped, depthwise,
/// transposed, as aten::_convolution, with the weight on the root), BatchNorm with input
/// checks, activations (some in place), residual adds, concatenation, squeeze-excite
/// products, pooling, dropout, branches on attributes, assertions (nested), layers called
/// twice, and a linear head. Shapes are tracked so the model runs, except where in says
/// to break it (wrong channels, a failing assertion, odd parameter values).
FuzzModel generateModel(ByteReader& in);

/// A fixture model from dirs (*.pt, except bad_*) with some tensors' values or shapes and
/// some constants of its methods' code changed.
FuzzModel mutateFixture(ByteReader& in, const std::vector<std::string>& dirs);

} // namespace qat::fuzz
