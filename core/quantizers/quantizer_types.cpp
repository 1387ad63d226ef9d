// SPDX-License-Identifier: MIT
#include "quantizers/quantizer_types.h"

#include "quantizers/quantizer_error.h"

#include <algorithm>
#include <cctype>

namespace qat::quant {

namespace {

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}


template <typename E>
E parseName(const std::string& text, const char* what, const std::vector<std::pair<std::string, E>>& names)
{
    const auto key = lower(text);
    std::string accepted;
    for (const auto& [name, value] : names) {
        if (name == key) {
            return value;
        }
        accepted += (accepted.empty() ? "" : ", ") + name;
    }
    throw QuantizerError("unknown " + std::string(what) + " '" + text + "' (use one of: " + accepted + ")");
}

} // namespace

std::string toString(Target target)
{
    return target == Target::Weights ? "weights" : "activations";
}

std::string toString(Method method)
{
    switch (method) {
    case Method::Symmetric: return "symmetric";
    case Method::PowerOfTwo: return "power-of-two";
    case Method::Uniform: return "uniform";
    }
    return "?";
}

std::string toString(InitMethod method)
{
    switch (method) {
    case InitMethod::MaxAbs: return "max";
    case InitMethod::Mse: return "mse";
    case InitMethod::Percentile: return "percentile";
    case InitMethod::Auto: return "auto";
    }
    return "?";
}

std::string toString(GradScale scale)
{
    return scale == GradScale::Mct ? "mct" : "paper";
}

Target parseTarget(const std::string& text)
{
    return parseName<Target>(text, "target", {{"weights", Target::Weights}, {"weight", Target::Weights},
                                              {"activations", Target::Activations},
                                              {"activation", Target::Activations}});
}

Method parseMethod(const std::string& text)
{
    return parseName<Method>(text, "quantization method",
                             {{"symmetric", Method::Symmetric}, {"power-of-two", Method::PowerOfTwo},
                              {"pot", Method::PowerOfTwo}, {"uniform", Method::Uniform}});
}

InitMethod parseInitMethod(const std::string& text)
{
    return parseName<InitMethod>(text, "initialisation method",
                                 {{"max", InitMethod::MaxAbs}, {"minmax", InitMethod::MaxAbs},
                                  {"mse", InitMethod::Mse}, {"percentile", InitMethod::Percentile},
                                  {"auto", InitMethod::Auto}});
}

GradScale parseGradScale(const std::string& text)
{
    return parseName<GradScale>(text, "gradient scale", {{"mct", GradScale::Mct}, {"paper", GradScale::Paper}});
}

QuantizerKey::QuantizerKey(Target t, Method m, const std::string& trainingId)
    : target(t), method(m), training(trainingId)
{
}

bool QuantizerKey::operator==(const QuantizerKey& other) const
{
    return target == other.target && method == other.method && sameTrainingId(training, other.training);
}

bool sameTrainingId(const std::string& a, const std::string& b)
{
    return lower(a) == lower(b);
}

std::string toString(const QuantizerKey& key)
{
    return toString(key.target) + "/" + toString(key.method) + "/" + key.training;
}

} // namespace qat::quant
