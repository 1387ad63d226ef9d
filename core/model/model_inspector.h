// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <string>
#include <vector>

namespace qat::model {

/// Loads a TorchScript file (scripted or traced), prepares its forward graph and lists
/// its quantizable layers. Throws qat::ModelError with a user-facing message. Any thread.
/// The op graph's shapes come from one forward on zeros of probeInput ([1, C, H, W]); empty
/// probeInput tries the usual sizes (model::usualInputShapes); a given one that the model
/// refuses throws qat::ModelError.
ModelInfo inspectModel(const std::string& path, const std::vector<int64_t>& probeInput = {});

/// "1x28x28" style text for a shape without its batch dimension, and back ("3x32x32" gives
/// {1, 3, 32, 32}); throws qat::Error for text that is not positive numbers joined by x.
std::string inputShapeText(const std::vector<int64_t>& shape);
std::vector<int64_t> parseInputShape(const std::string& text);

/// The JSON document `qatwb inspect --json` prints (keys are a contract for scripts):
/// info, plus the activation points a target places with whether the plan quantizes each.
std::string modelInfoToJson(const ModelInfo& info, const std::vector<ActivationPointInfo>& points,
                            const std::vector<bool>& quantized, const std::string& target, int indent = 2);

} // namespace qat::model
