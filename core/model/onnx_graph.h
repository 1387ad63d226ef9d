// SPDX-License-Identifier: MIT
#pragma once
// An ONNX model reduced to what the importer needs: nodes with typed attribute access,
// initializers as tensors, the graph's inputs and outputs. Internal to the core (ATen types).

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
}

namespace qat::model {

/// One attribute of an ONNX node, copied out of the protobuf.
struct OnnxAttribute {
    enum class Kind { Int = 1, Float, String, Ints, Floats, Tensor, Other };
    Kind kind = Kind::Other;
    int64_t i = 0;
    float f = 0;
    std::string s;
    std::vector<int64_t> ints;
    std::vector<float> floats;
    at::Tensor t;
};

/// One node. Absent optional inputs are empty names, as in the file. Attribute getters
/// throw qat::ModelError naming the node when an attribute has the wrong type.
struct OnnxNode {
    std::string op;
    std::string name;
    std::string domain; ///< "" for the default (ai.onnx) domain
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    std::map<std::string, OnnxAttribute> attributes;
    int index = 0; ///< position in the file's node list

    bool has(const std::string& attr) const { return attributes.count(attr) > 0; }
    bool hasInput(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
    bool hasOutput(size_t i) const { return i < outputs.size() && !outputs[i].empty(); }
    int64_t i(const std::string& attr, int64_t fallback) const;
    float f(const std::string& attr, float fallback) const;
    std::string s(const std::string& attr, const std::string& fallback) const;
    std::vector<int64_t> ints(const std::string& attr, const std::vector<int64_t>& fallback = {}) const;
    std::vector<float> floats(const std::string& attr) const;
    at::Tensor t(const std::string& attr) const;
    /// "node 'conv1' (Conv)", or "Conv node #3" for a node without a name: for messages.
    std::string label() const;
};

/// A graph input: its element type and its shape as declared (-1 with a name in
/// dimParams for a symbolic dimension, -1 with an empty name for an unknown one).
struct OnnxValueInfo {
    std::string name;
    int elementType = 0; ///< onnx::TensorProto::DataType
    bool hasShape = false;
    std::vector<int64_t> dims;
    std::vector<std::string> dimParams;
};

/// A whole model. Nodes are in the file's (topological) order.
struct OnnxGraph {
    std::string path;
    int64_t opset = 0; ///< opset of the default domain
    std::string producer; ///< "pytorch 1.13.1", "tf2onnx 1.9.3", ... (may be empty)
    std::vector<OnnxNode> nodes;
    std::map<std::string, at::Tensor> initializers;
    std::vector<OnnxValueInfo> inputs; ///< the real inputs (initializers listed as inputs left out)
    std::vector<std::string> outputs;
    /// The parsed file, for checkOnnxGraph; released after the check.
    std::shared_ptr<onnx::ModelProto> proto;
};

/// Reads path: checks the file, parses the protobuf, checks the opset (11 to 17), loads
/// external data from beside the file and converts initializers to tensors. Throws
/// qat::ModelError naming the file and what is wrong. Any thread.
OnnxGraph readOnnxFile(const std::string& path);

/// Parses an in-memory model the same way (path names it in messages; external data is
/// looked up beside it). For the fuzz target and tests.
OnnxGraph parseOnnxModel(const std::string& bytes, const std::string& path);

/// Runs the ONNX checker on the parsed file, then releases it. Throws qat::ModelError.
void checkOnnxGraph(OnnxGraph& graph);

/// Lowest and highest default-domain opset the importer reads.
constexpr int64_t kMinOnnxOpset = 11;
constexpr int64_t kMaxOnnxOpset = 17;

} // namespace qat::model
