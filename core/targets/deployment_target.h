// SPDX-License-Identifier: MIT
#pragma once
// A deployment target: where the integer hardware quantizes tensors and which number formats
// it runs. Plain data (no torch, no Qt); the built-ins are in builtin_targets.cpp.

#include "model/op_graph.h"
#include "quantizers/quantizer_types.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace qat::target {

/// What a target does with an op's output.
enum class OpRole {
    Layer = 1,   ///< conv / linear: weights quantized, output quantized after its fused unit
    Quantize,    ///< the output is stored as integers: it gets an activation quantizer
    PassThrough, ///< the output carries its input's grid (reshape, max-pool, ...): no quantizer
};

/// The number formats a target runs for weights or for activations. Empty sets mean "any".
struct NumberFormats {
    std::set<quant::Method> methods;
    std::set<int> bits;
    bool perChannel = true; ///< weights: per-output-channel scales allowed
    bool perTensor = true;  ///< weights: one scale for the tensor allowed

    bool allows(quant::Method method) const { return methods.empty() || methods.count(method) > 0; }
    bool allowsBits(int b) const { return bits.empty() || bits.count(b) > 0; }
    /// "symmetric or power-of-two, 8, 4 or 2 bits, per channel or per tensor"
    std::string describe(bool weights) const;
};

/// One deployment target. Read-only after construction; any thread.
struct DeploymentTarget {
    std::string name;
    std::string description;
    /// Today's behaviour before targets existed: only layer outputs (and the model input) are
    /// quantized, a layer's unit is BatchNorm plus any elementwise activation after it.
    bool layerOutputsOnly = false;
    std::set<std::string> passThrough;  ///< ops whose output keeps its input's grid
    /// Activations fused after an op (one quantizer at the end of the group). Keys: "conv"
    /// (every convolution kind), "linear", or an op name ("add").
    std::map<std::string, std::set<std::string>> fusing;
    NumberFormats weights;
    NumberFormats activations;
    /// Integer kernels add the bias as int32 on the s_in * s_w grid (TFLite, ONNX Runtime QDQ).
    bool integerBias = false;

    /// The role of a node: a layer (a conv / linear whose weight is a parameter), or by op name.
    OpRole roleOf(const model::OpNode& node) const;
    /// Activations that fuse after op (conv kinds and linear included).
    const std::set<std::string>& fusedAfter(const std::string& op) const;
};

/// True for the ops that are layers (conv1d/2d/3d, conv_transpose1d/2d/3d, linear).
bool isLayerOp(const std::string& op);

} // namespace qat::target
