// SPDX-License-Identifier: MIT
#pragma once
// A TorchScript model as the core works on it. Internal to the core: includes torch.

#include "model/graph_prep.h"

#include <torch/csrc/jit/api/module.h>

#include <string>
#include <vector>

namespace qat::model {

/// A private clone of the user's module plus its prepared (inlined, simplified) forward
/// graph. The user's module object is never mutated. Owned by one thread at a time.
struct LoadedModel {
    std::string path;
    torch::jit::Module module;  ///< deep clone: parameters are not shared with the file's module
    PreparedGraph forward;
    std::vector<std::string> notes; ///< what the user should know about the import (ONNX files)
};

/// Loads path on the CPU: a TorchScript file, or an ONNX file (.onnx) converted to the same
/// kind of module. Throws qat::ModelError with a message naming the file.
LoadedModel loadModel(const std::string& path);

} // namespace qat::model
