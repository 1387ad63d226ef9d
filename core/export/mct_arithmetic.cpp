// SPDX-License-Identifier: MIT
#include "export/mct_arithmetic.h"

#include <cmath>

namespace qat::exporter {

namespace {

at::Tensor floats(const nlohmann::json& list)
{
    return at::tensor(list.is_array() ? list.get<std::vector<float>>() : std::vector<float>{list.get<float>()});
}

// mct_quantizers' fix_range_to_include_zero, in float32 as its torch code runs it.
std::pair<at::Tensor, at::Tensor> fixRange(const at::Tensor& lo, const at::Tensor& hi, int bits)
{
    const auto minPositive = (lo > 0).to(at::kFloat);
    const auto maxNegative = (hi < 0).to(at::kFloat);
    const auto mid = at::logical_and(lo <= 0, hi >= 0).to(at::kFloat);
    const auto scale = (hi - lo) / float(std::pow(2.0, bits) - 1.0);
    const auto lowAdj = scale * at::round(lo / scale);
    const auto highAdj = hi - lo + lowAdj;
    return {lowAdj * mid + maxNegative * lo, highAdj * mid + minPositive * hi};
}

at::Tensor fakeQuant(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& zeroPoint, bool perChannel,
                     int64_t axis, int64_t qmin, int64_t qmax)
{
    if (perChannel) {
        return at::fake_quantize_per_channel_affine(x, scale.flatten(), zeroPoint.flatten().to(at::kInt), axis, qmin,
                                                    qmax);
    }
    return at::fake_quantize_per_tensor_affine(x, scale.item<double>(), zeroPoint.item<int64_t>(), qmin, qmax);
}

} // namespace

std::optional<at::Tensor> mctInferableForward(const std::string& className, const nlohmann::json& a,
                                              const at::Tensor& x)
{
    at::NoGradGuard noGrad;
    const bool weights = className.rfind("Weights", 0) == 0;
    const int bits = a.at("num_bits").get<int>();
    const bool perChannel = weights && a.value("per_channel", false);
    const int64_t axis = weights && a.contains("channel_axis") && !a["channel_axis"].is_null() ? a["channel_axis"].get<int64_t>() : 0;
    const auto input = x.detach().to(at::kFloat);
    if (className.find("UniformInferableQuantizer") != std::string::npos) {
        const auto [lo, hi] = fixRange(floats(a.at("min_range")), floats(a.at("max_range")), bits);
        const auto scale = (hi - lo) / float(std::pow(2.0, bits) - 1.0);
        // Weights truncate the zero point (`.int()`), activations round it.
        const auto zeroPoint = weights ? -(lo / scale).trunc() : -at::round(lo / scale);
        return fakeQuant(input, scale, zeroPoint, perChannel, axis, 0, (int64_t(1) << bits) - 1);
    }
    const bool symmetric = className.find("SymmetricInferableQuantizer") != std::string::npos
                           || className.find("POTInferableQuantizer") != std::string::npos;
    if (!symmetric) {
        return std::nullopt;
    }
    const bool isSigned = weights || a.value("signed", true);
    const auto threshold = floats(a.at("threshold"));
    const auto scale = threshold / float(std::pow(2.0, bits - (isSigned ? 1 : 0)));
    const int64_t qmin = isSigned ? -(int64_t(1) << (bits - 1)) : 0;
    const int64_t qmax = isSigned ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1;
    return fakeQuant(input, scale, at::zeros_like(scale), perChannel, axis, qmin, qmax);
}

} // namespace qat::exporter
