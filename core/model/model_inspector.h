// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <string>
#include <vector>

namespace qat::model {

/// Loads a TorchScript file (scripted or traced), prepares its forward graph and lists
/// its quantizable layers. Throws qat::ModelError with a user-facing message. Any thread.
ModelInfo inspectModel(const std::string& path);

/// The JSON document `qatwb inspect --json` prints (keys are a contract for scripts):
/// info, plus the activation points a target places with whether the plan quantizes each.
std::string modelInfoToJson(const ModelInfo& info, const std::vector<ActivationPointInfo>& points,
                            const std::vector<bool>& quantized, const std::string& target, int indent = 2);

} // namespace qat::model
