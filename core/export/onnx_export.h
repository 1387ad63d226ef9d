// SPDX-License-Identifier: MIT
#pragma once
// Writes an exported module (see torchscript_export.h) as ONNX, opset 17, with QuantizeLinear /
// DequantizeLinear pairs or mct_quantizers nodes, checked by onnx::checker and shape inference.
// Internal to the core (torch and onnx types).

#include <torch/csrc/jit/api/module.h>

#include <string>
#include <vector>

namespace qat {
namespace quant {
class InferableQuantizer;
}

namespace exporter {

constexpr int kOnnxOpset = 17;

/// How quantizers are written: QuantizeLinear/DequantizeLinear pairs (any ONNX runtime), or
/// mct_quantizers-domain nodes (MCT's own format, targets.md section 3).
enum class OnnxQuantizers { Qdq = 1, Mctq };

/// The mct_quantizers version whose node format the mctq-onnx export follows.
constexpr const char* kMctqVersion = "1.6.0";
constexpr const char* kMctqDomain = "mct_quantizers";

struct OnnxWriteOptions {
    OnnxQuantizers quantizers = OnnxQuantizers::Qdq;
    /// The quantizer slot of each fake-quant node of the module's forward, in graph order
    /// (makeExportModule's; -1 for an integer bias), and the inferable quantizer of each
    /// slot: needed for Mctq.
    std::vector<int64_t> quantizerSlots;
    std::vector<const quant::InferableQuantizer*> inferables;
    /// Written to the model's metadata_props.
    std::vector<std::pair<std::string, std::string>> metadata;
};

struct OnnxWriteResult {
    int quantizers = 0; ///< Q/DQ pairs or mct_quantizers nodes written
};

/// The ops the writer translates, for messages and the README.
std::vector<std::string> supportedOnnxOps();

/// Translates module's forward for inputs shaped like inputShape and outputs like
/// outputShape (the batch dimension, the first, is left free).
/// Throws qat::Error naming the first unsupported op (or quantizer wider than 8 bits) before
/// anything is written; the file appears only when the model passed the checker.
OnnxWriteResult writeOnnxModel(const torch::jit::Module& module, const std::vector<int64_t>& inputShape,
                               const std::vector<int64_t>& outputShape, const std::string& path,
                               const OnnxWriteOptions& options = {});

} // namespace exporter
} // namespace qat
