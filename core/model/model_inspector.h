// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <string>

namespace qat::model {

/// Loads a TorchScript file (scripted or traced), prepares its forward graph and lists
/// its quantizable layers. Throws qat::ModelError with a user-facing message. Any thread.
ModelInfo inspectModel(const std::string& path);

/// The JSON document `qatwb inspect --json` prints (keys are a contract for scripts).
std::string modelInfoToJson(const ModelInfo& info, int indent = 2);

} // namespace qat::model
