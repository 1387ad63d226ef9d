// SPDX-License-Identifier: MIT
#pragma once
// How a layer's kind is named for people: a depthwise or grouped convolution is not "conv2d".

#include "model/model_info.h"

#include <string>

namespace qat::model {

/// A depthwise convolution: one input channel per group, more than one group (the plan's
/// "depthwise" selector). Transposed convolutions are not counted.
inline bool isDepthwise(const LayerInfo& layer)
{
    return layer.groups > 1 && layer.weightShape.size() > 2 && layer.weightShape[1] == 1
           && layer.kind.rfind("conv", 0) == 0 && layer.kind.rfind("conv_transpose", 0) != 0;
}

/// "depthwise conv2d", "grouped conv2d" (groups > 1, not depthwise), else the kind as is.
inline std::string kindLabel(const LayerInfo& layer)
{
    if (isDepthwise(layer)) {
        return "depthwise " + layer.kind;
    }
    return layer.groups > 1 ? "grouped " + layer.kind : layer.kind;
}

} // namespace qat::model
