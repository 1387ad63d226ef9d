// SPDX-License-Identifier: MIT
#pragma once

#include "model/op_graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qat::model {

/// Where a layer's output would be quantized: after the layer itself, or after the
/// BatchNorm and elementwise activation that follow it (MCT's fused unit).
struct ActivationPoint {
    std::string op;                 ///< normalised op name: "relu", "batch_norm", "conv2d", ...
    std::vector<std::string> chain; ///< ops after the layer, in order ("batch_norm", "relu")
};

/// One quantizable layer, identified by its weight parameter's path. Plain data.
struct LayerInfo {
    std::string name;        ///< module path, e.g. "features.0"
    std::string weightPath;  ///< parameter path, e.g. "features.0.weight" (the identity)
    std::string kind;        ///< conv1d, conv2d, conv3d, conv_transpose1d/2d/3d, linear
    std::vector<int64_t> weightShape;
    int64_t groups = 1;
    int64_t channelAxis = 0; ///< output-channel axis of the weight (1 for transposed convs)
    int64_t outChannels = 0; ///< weightShape[channelAxis]
    bool hasBias = false;
    int64_t parameterCount = 0; ///< weight + bias elements
    int callSites = 1;          ///< how often forward calls this layer
    std::vector<ActivationPoint> activationPoints; ///< one per call site, graph order (`generic` target)
};

/// One argument of forward() after self.
struct InputInfo {
    std::string name;
    std::string type; ///< TorchScript type, e.g. "Tensor"
};

/// What the import of a TorchScript file found. Plain data; any thread may read it.
struct ModelInfo {
    std::string path;
    std::string format;               ///< "torchscript" or "onnx" (converted to TorchScript on import)
    int64_t fileBytes = 0;
    std::vector<InputInfo> inputs;
    std::vector<LayerInfo> layers;
    int64_t parameterCount = 0;       ///< all parameters of the module
    int batchNormTrainingFixes = 0;   ///< traced BatchNorms whose constant training flag was rewired
    int quantizerCount = 0;           ///< weights + activation call sites + tensor inputs (`generic`)
    std::vector<std::string> notes;   ///< things the user should know (skipped ops, ...)
    OpGraph opGraph;                  ///< the forward's data flow: where targets place quantizers
};

} // namespace qat::model
