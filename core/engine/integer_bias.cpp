// SPDX-License-Identifier: MIT
#include "engine/integer_bias.h"

#include "common/error.h"

#include <limits>

namespace qat::engine {

quant::FakeQuantSpec biasGrid(const quant::FakeQuantSpec& input, const quant::FakeQuantSpec& weights, int64_t channels)
{
    if (input.scale.size() != 1) {
        throw Error("an integer bias needs a per-tensor input grid");
    }
    if (weights.scale.size() != 1 && int64_t(weights.scale.size()) != channels) {
        throw Error("an integer bias needs one weight scale per output channel (" + std::to_string(channels) + "), got "
                    + std::to_string(weights.scale.size()));
    }
    quant::FakeQuantSpec grid;
    grid.perChannel = true;
    grid.axis = 0;
    grid.qmin = std::numeric_limits<int32_t>::min();
    grid.qmax = std::numeric_limits<int32_t>::max();
    grid.zeroPoint.assign(size_t(channels), 0);
    for (int64_t c = 0; c < channels; ++c) {
        const float w = weights.scale.size() == 1 ? weights.scale[0] : weights.scale[size_t(c)];
        grid.scale.push_back(input.scale[0] * w);
    }
    return grid;
}

at::Tensor quantizeBias(const at::Tensor& bias, const quant::FakeQuantSpec& grid)
{
    at::Tensor rounded;
    {
        at::NoGradGuard noGrad;
        rounded = quant::applyFakeQuant(bias.detach(), grid);
    }
    return bias + (rounded - bias).detach();
}

} // namespace qat::engine
