// SPDX-License-Identifier: MIT
#pragma once
// ONNX files as TorchScript modules: the same kind of module a TorchScript file gives (a
// class with parameters, buffers, submodules and a `forward` of ATen ops), so that layer
// discovery, BatchNorm folding, training, checkpoints and every export work unchanged.
// Internal to the core.

#include "model/onnx_graph.h"

#include <torch/csrc/jit/api/module.h>

#include <string>
#include <vector>

namespace qat::model {

/// What the import made of a file.
struct OnnxImport {
    torch::jit::Module module;       ///< eval mode; forward(x) takes what the data pipeline feeds (NCHW)
    std::vector<std::string> notes;  ///< for the user: opset, absorbed layout transpose, the check's result
    std::vector<int64_t> inputShape; ///< forward's input, -1 for the batch
    double maxDifference = 0;        ///< the check: built module vs the ONNX graph evaluated op by op
};

struct OnnxImportOptions {
    /// Largest tensor any op may create while evaluating the probe (hostile attributes).
    int64_t maxElements = int64_t(1) << 28;
    /// Largest accepted max |diff| of the check, relative to the outputs' scale (at least 1):
    /// float arithmetic in another order differs in the last bits, a wrong conversion by far more.
    double tolerance = 1e-4;
};

/// True for paths the ONNX importer reads (a .onnx extension, any case).
bool isOnnxPath(const std::string& path);

/// Reads and converts an ONNX file. Every op is converted or the file is refused with the
/// op type and node name of each unsupported op; the converted module's output on probe
/// inputs (batch 2 and 3) must match the ONNX graph evaluated op by op, or the file is
/// refused with the largest difference. Throws qat::ModelError naming the file. Any thread.
OnnxImport importOnnxModel(const std::string& path, const OnnxImportOptions& options = {});

/// The same on a parsed graph (the fuzz target parses in memory).
OnnxImport importOnnxGraph(OnnxGraph graph, const OnnxImportOptions& options = {});

/// The ONNX op types the importer converts, sorted, for messages and the README.
std::vector<std::string> supportedOnnxImportOps();

} // namespace qat::model
