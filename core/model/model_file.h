// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace qat::model {

/// Checks, before LibTorch sees it, that path is a readable TorchScript archive, and
/// throws qat::ModelError naming the file and what it is instead (empty, not a zip,
/// damaged zip, a torch.save() file, an ONNX file, ...). Any thread.
void checkModelFile(const std::string& path);

} // namespace qat::model
