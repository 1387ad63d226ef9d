// SPDX-License-Identifier: MIT
#pragma once
// Runs an exported ONNX file in ONNX Runtime (npm's onnxruntime-node, through the Node.js
// script resources/onnxruntime/run_onnx.js) as a subprocess. Optional: when Node.js, the
// script or the package is missing, the export says so instead. Internal to the core.

#include <ATen/ATen.h>

#include <optional>
#include <string>

namespace qat::exporter {

/// Where the runtime check's pieces are; found by findOnnxRuntime.
struct OnnxRuntimeSetup {
    std::string node;        ///< the node executable
    std::string script;      ///< run_onnx.js
    std::string modulesDir;  ///< a node_modules folder holding onnxruntime-node
};

/// The pieces, or nullopt with why not and how to enable it in *reason. Looks at
/// $QATWB_NODE, PATH (node, nodejs); $QATWB_ORT_SCRIPT, <program>/../share/qat-workbench/
/// onnxruntime/run_onnx.js; $QATWB_ONNXRUNTIME_DIR, ${XDG_CACHE_HOME:-~/.cache}/
/// qat-workbench/onnxruntime (where packaging/install-deps.sh installs it). Any thread.
std::optional<OnnxRuntimeSetup> findOnnxRuntime(std::string* reason);

enum class OrtOptimization { Default = 1, Disabled };

/// The model's outputs for images (float32, [N, ...]) as ONNX Runtime computes them, and the
/// runtime's version. Throws qat::Error with the runtime's own message when the run fails.
struct OrtRun {
    at::Tensor outputs;
    std::string version;
};
OrtRun runOnnxRuntime(const OnnxRuntimeSetup& setup, const std::string& onnxPath, const at::Tensor& images,
                      OrtOptimization optimization = OrtOptimization::Default);

} // namespace qat::exporter
