// SPDX-License-Identifier: MIT
#include "quantizers/builtin_inferable.h"

#include "common/json_number.h"
#include "quantizers/quant_math.h"
#include "quantizers/quantizer_error.h"

#include <cmath>

namespace qat::quant {

namespace {

void checkBits(const std::string& cls, int bits)
{
    if (bits < 2 || bits > 16) {
        throw QuantizerError(cls + ": num_bits " + std::to_string(bits) + " is outside 2..16");
    }
}

void checkChannels(const std::string& cls, size_t count, bool perChannel, int64_t axis)
{
    if (count == 0) {
        throw QuantizerError(cls + ": the parameter list is empty");
    }
    if (!perChannel && count != 1) {
        throw QuantizerError(cls + ": per_channel is false but " + std::to_string(count) + " values were given");
    }
    if (axis < 0) {
        throw QuantizerError(cls + ": channel_axis must be >= 0");
    }
}

at::Tensor floats(const std::vector<float>& values)
{
    return at::tensor(at::ArrayRef<float>(values), at::kFloat);
}

} // namespace

at::Tensor InferableQuantizer::forward(const at::Tensor& x) const
{
    return applyFakeQuant(x, fakeQuant());
}

at::Tensor applyFakeQuant(const at::Tensor& x, const FakeQuantSpec& spec)
{
    at::NoGradGuard noGrad;
    if (!spec.perChannel) {
        return at::fake_quantize_per_tensor_affine(x.detach(), spec.scale.at(0), spec.zeroPoint.at(0), spec.qmin,
                                                   spec.qmax);
    }
    const auto zeroPoint = at::tensor(at::ArrayRef<int32_t>(spec.zeroPoint), at::kInt);
    return at::fake_quantize_per_channel_affine(x.detach(), floats(spec.scale), zeroPoint, spec.axis, spec.qmin,
                                                spec.qmax);
}

SymmetricInferableQuantizer::SymmetricInferableQuantizer(Target target, bool pot, int bits,
                                                         std::vector<float> thresholds, bool perChannel,
                                                         int64_t channelAxis, bool isSigned)
    : m_target(target), m_pot(pot), m_bits(bits), m_thresholds(std::move(thresholds)), m_perChannel(perChannel),
      m_axis(channelAxis), m_signed(target == Target::Weights ? true : isSigned)
{
    const auto cls = className();
    checkBits(cls, bits);
    checkChannels(cls, m_thresholds.size(), perChannel, channelAxis);
    for (float t : m_thresholds) {
        if (!(t > 0) || !std::isfinite(t)) {
            throw QuantizerError(cls + ": threshold " + std::to_string(t) + " is not a positive number");
        }
        if (pot && std::exp2(std::round(std::log2(t))) != t) {
            throw QuantizerError(cls + ": threshold " + std::to_string(t) + " is not a power of two");
        }
    }
}

std::string SymmetricInferableQuantizer::className() const
{
    return std::string(m_target == Target::Weights ? "Weights" : "Activation") + (m_pot ? "POT" : "Symmetric")
           + "InferableQuantizer";
}

nlohmann::json SymmetricInferableQuantizer::arguments() const
{
    nlohmann::json args = {{"num_bits", m_bits}, {"threshold", m_thresholds}};
    if (m_target == Target::Weights) {
        args["per_channel"] = m_perChannel;
        args["channel_axis"] = m_axis;
    } else {
        args["signed"] = m_signed;
    }
    return args;
}

FakeQuantSpec SymmetricInferableQuantizer::fakeQuant() const
{
    const auto range = math::symmetricRange(m_bits, m_signed);
    FakeQuantSpec spec;
    spec.perChannel = m_perChannel;
    spec.axis = m_axis;
    spec.qmin = range.qmin;
    spec.qmax = range.qmax;
    // Same float division as training (exact: the divisor is a power of two).
    for (float t : m_thresholds) {
        spec.scale.push_back(t / static_cast<float>(range.divisor));
        spec.zeroPoint.push_back(0);
    }
    return spec;
}

UniformInferableQuantizer::UniformInferableQuantizer(Target target, int bits, std::vector<float> minRange,
                                                     std::vector<float> maxRange, bool perChannel,
                                                     int64_t channelAxis)
    : m_target(target), m_bits(bits), m_min(std::move(minRange)), m_max(std::move(maxRange)),
      m_perChannel(perChannel), m_axis(channelAxis)
{
    const auto cls = className();
    checkBits(cls, bits);
    checkChannels(cls, m_min.size(), perChannel, channelAxis);
    if (m_min.size() != m_max.size()) {
        throw QuantizerError(cls + ": min_range and max_range differ in length");
    }
    for (size_t i = 0; i < m_min.size(); ++i) {
        if (!(m_min[i] < m_max[i]) || !std::isfinite(m_min[i]) || !std::isfinite(m_max[i])) {
            throw QuantizerError(cls + ": min_range " + std::to_string(m_min[i]) + " is not below max_range "
                                 + std::to_string(m_max[i]));
        }
    }
}

std::string UniformInferableQuantizer::className() const
{
    return std::string(m_target == Target::Weights ? "Weights" : "Activation") + "UniformInferableQuantizer";
}

nlohmann::json UniformInferableQuantizer::arguments() const
{
    nlohmann::json args = {{"num_bits", m_bits}, {"min_range", m_min}, {"max_range", m_max}};
    if (m_target == Target::Weights) {
        args["per_channel"] = m_perChannel;
        args["channel_axis"] = m_axis;
    }
    return args;
}

FakeQuantSpec UniformInferableQuantizer::fakeQuant() const
{
    // The grid comes from the same tensor arithmetic as training, so both agree exactly.
    const auto grid = math::uniformGrid(floats(m_min), floats(m_max), m_bits);
    FakeQuantSpec spec;
    spec.perChannel = m_perChannel;
    spec.axis = m_axis;
    spec.qmin = 0;
    spec.qmax = (int64_t(1) << m_bits) - 1;
    // Whole tensors at once: an item() per channel cost a training step ~2 dispatches per
    // channel, since integer biases ask for this grid at every forward.
    spec.scale = math::toFloats(grid.step);
    for (float z : math::toFloats(grid.zeroPoint)) {
        spec.zeroPoint.push_back(static_cast<int32_t>(z));
    }
    return spec;
}

std::unique_ptr<InferableQuantizer> makeInferableQuantizer(const std::string& className,
                                                           const nlohmann::json& args)
{
    const bool weights = className.rfind("Weights", 0) == 0;
    const bool activation = className.rfind("Activation", 0) == 0;
    const auto stem = weights ? className.substr(7) : activation ? className.substr(10) : std::string();
    const bool symmetric = stem == "SymmetricInferableQuantizer" || stem == "POTInferableQuantizer";
    if (!symmetric && stem != "UniformInferableQuantizer") {
        throw QuantizerError("unknown inferable quantizer class '" + className
                             + "' (built in: Weights/Activation + Symmetric/POT/Uniform + InferableQuantizer)");
    }
    try {
        const auto target = weights ? Target::Weights : Target::Activations;
        const auto bits = exactInteger<int>(args.at("num_bits"));
        if (!bits) {
            throw QuantizerError(className + ": num_bits must be a whole number, got " + args.at("num_bits").dump());
        }
        const bool perChannel = weights ? args.at("per_channel").get<bool>() : false;
        const auto& axisField = weights ? args.at("channel_axis") : nlohmann::json();
        const auto axis = axisField.is_null() ? std::optional<int64_t>(0) : exactInteger<int64_t>(axisField);
        if (!axis) {
            throw QuantizerError(className + ": channel_axis must be a whole number, got " + axisField.dump());
        }
        if (symmetric) {
            const bool isSigned = weights ? true : args.at("signed").get<bool>();
            return std::make_unique<SymmetricInferableQuantizer>(target, stem[0] == 'P', *bits,
                                                                 args.at("threshold").get<std::vector<float>>(),
                                                                 perChannel, *axis, isSigned);
        }
        return std::make_unique<UniformInferableQuantizer>(target, *bits, args.at("min_range").get<std::vector<float>>(),
                                                           args.at("max_range").get<std::vector<float>>(), perChannel,
                                                           *axis);
    } catch (const nlohmann::json::exception& e) {
        throw QuantizerError(className + ": bad arguments (" + e.what() + ")");
    }
}

} // namespace qat::quant
