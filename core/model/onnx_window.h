// SPDX-License-Identifier: MIT
#pragma once
// The sliding-window attributes of ONNX convolutions and pools (kernel, strides, dilations,
// pads with auto_pad resolved), shared by the builders and the reference evaluator.

#include "model/onnx_graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qat::model {

/// A window per spatial axis; begin/end are the padding before and after each axis.
struct Window {
    std::vector<int64_t> kernel, strides, dilations, begin, end;
    bool symmetric() const { return begin == end; }
};

/// Largest kernel, stride, dilation or padding accepted: larger values are no real model's
/// and would overflow the size arithmetic.
constexpr int64_t kMaxWindowValue = int64_t(1) << 20;

/// An attribute with one value per spatial axis (fallback when absent), checked.
std::vector<int64_t> perAxis(const OnnxNode& node, const std::string& attr, size_t rank, int64_t fallback);

/// The window of a Conv / MaxPool / AveragePool node over inputs of spatial sizes
/// spatialIn: auto_pad SAME_UPPER / SAME_LOWER / VALID resolved, or `pads`. Throws
/// qat::ModelError naming the node for bad attributes.
Window convWindow(const OnnxNode& node, const std::vector<int64_t>& kernel, const std::vector<int64_t>& spatialIn,
                  bool hasDilations);

/// at::constant_pad_nd's list for per-axis (begin, end) pads: last axis first.
std::vector<int64_t> torchPads(const std::vector<int64_t>& begin, const std::vector<int64_t>& end);

} // namespace qat::model
