// SPDX-License-Identifier: MIT
#pragma once
// The model's forward as a plain data-flow graph: what a deployment target needs to decide
// where tensors are quantized, and what the graph view draws. No torch types.

#include <cstdint>
#include <string>
#include <vector>

namespace qat::model {

/// One operation on data that depends on the model input (constants, attribute reads and
/// shape queries such as size() are left out). Plain data.
struct OpNode {
    int id = 0;               ///< index in OpGraph::nodes
    std::string op;           ///< normalised op name: "conv2d", "add", "relu", "view", "input", "output"
    std::string scope;        ///< module path whose forward() runs it ("block1", "" at the top level)
    std::string layer;        ///< conv / linear: the layer name ("features.0"); otherwise empty
    std::vector<int> inputs;  ///< producing nodes of its data inputs, in argument order
    std::vector<int64_t> shape; ///< output shape seen by a probe forward, empty when unknown
    /// Its result is one tensor a quantizer can take; false for lists, tuples and ops with
    /// several results (list append, attention returning (output, weights)): those carry data
    /// on to the ops that take the tensors out, which are quantized instead.
    bool tensor = true;
};

/// Nodes in graph order: nodes[0] is the model input ("input"), the last is "output", whose
/// inputs are the returned tensors.
struct OpGraph {
    std::vector<OpNode> nodes;

    bool empty() const { return nodes.empty(); }
    /// For each node, the (consumer id, input position) pairs that read its output.
    std::vector<std::vector<std::pair<int, int>>> consumers() const;
};

/// Where one activation quantizer sits under a deployment target (see targets/).
struct ActivationPointInfo {
    std::string name;       ///< "features.0:output", "block1:add", "mean#2", "input"
    std::string op;         ///< the unit's first op: "conv2d", "add", "mean", "input"
    std::string afterLayer; ///< the layer whose fused unit this is; empty for other points
    std::string callSite;   ///< module path whose forward() performs the op ("" at the top level)
    std::vector<std::string> fusedOps; ///< ops fused after it, quantized at their end ("batch_norm", "relu")
    int root = 0;           ///< OpGraph node of the first op
    int node = 0;           ///< OpGraph node whose output is quantized (the unit's last op)
    int call = 1;           ///< for layer points: which call of the layer (a layer used twice has 2)
    bool isInput = false;
    bool isModelOutput = false; ///< its value is what forward() returns (through grid-preserving ops)
    /// A last layer (one whose output point is a model output) reads its value, through ops
    /// that carry no quantizer of their own (the classifier's input: pooled features, ...)
    bool feedsLastLayer = false;
};

} // namespace qat::model
