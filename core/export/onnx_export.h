// SPDX-License-Identifier: MIT
#pragma once
// Writes an exported module (see torchscript_export.h) as ONNX with QuantizeLinear /
// DequantizeLinear pairs, opset 17, checked by onnx::checker and shape inference.
// Internal to the core (torch and onnx types).

#include <torch/csrc/jit/api/module.h>

#include <string>
#include <vector>

namespace qat::exporter {

constexpr int kOnnxOpset = 17;

struct OnnxWriteResult {
    int qdqPairs = 0;
};

/// The ops the writer translates, for messages and the README.
std::vector<std::string> supportedOnnxOps();

/// Translates module's forward for inputs shaped like inputShape and outputs like
/// outputShape (the batch dimension, the first, is left free).
/// Throws qat::Error naming the first unsupported op (or quantizer wider than 8 bits) before
/// anything is written; the file appears only when the model passed the checker.
OnnxWriteResult writeOnnxModel(const torch::jit::Module& module, const std::vector<int64_t>& inputShape,
                               const std::vector<int64_t>& outputShape, const std::string& path);

} // namespace qat::exporter
