// SPDX-License-Identifier: MIT
#include "quantizers/quantizer_registry.h"

#include "quantizers/quantizer_error.h"

#include <algorithm>

namespace qat::quant {

namespace {

bool matches(const QuantizerInfo& info, const QuantizerKey& key)
{
    return info.target == key.target && sameTrainingId(info.training, key.training)
           && std::find(info.methods.begin(), info.methods.end(), key.method) != info.methods.end();
}

std::string describeRegistered(const std::vector<QuantizerInfo>& infos, Target target)
{
    std::string text;
    for (const auto& info : infos) {
        if (info.target != target) {
            continue;
        }
        std::string methods;
        for (auto m : info.methods) {
            methods += (methods.empty() ? "" : ", ") + toString(m);
        }
        text += (text.empty() ? "" : "; ") + info.training + " (" + methods + ")";
    }
    return text.empty() ? "nothing" : text;
}

} // namespace

void QuantizerRegistry::add(QuantizerInfo info, Factory make)
{
    if (info.name.empty() || info.training.empty() || info.methods.empty() || !make) {
        throw QuantizerError("cannot register quantizer '" + info.name
                             + "': it needs a name, a training method id, at least one method and a factory");
    }
    for (const auto& existing : m_infos) {
        if (existing.name == info.name) {
            throw QuantizerError("quantizer '" + info.name + "' is already registered (by " + existing.source + ")");
        }
    }
    info.source = m_source;
    m_infos.push_back(std::move(info));
    m_factories.push_back(std::move(make));
}

const QuantizerInfo& QuantizerRegistry::find(const QuantizerKey& key) const
{
    std::vector<size_t> found;
    for (size_t i = 0; i < m_infos.size(); ++i) {
        if (matches(m_infos[i], key)) {
            found.push_back(i);
        }
    }
    if (found.size() == 1) {
        return m_infos[found.front()];
    }
    if (found.empty()) {
        throw QuantizerError("no quantizer is registered for " + toString(key) + "; registered for "
                             + toString(key.target) + ": " + describeRegistered(m_infos, key.target));
    }
    std::string names;
    for (auto i : found) {
        names += (names.empty() ? "" : ", ") + m_infos[i].name + " (from " + m_infos[i].source + ")";
    }
    throw QuantizerError(std::to_string(found.size()) + " quantizers are registered for " + toString(key)
                         + ", exactly one is required: " + names);
}

std::unique_ptr<TrainableQuantizer> QuantizerRegistry::create(const QuantizerKey& key,
                                                              const QuantizerConfig& config) const
{
    const auto& info = find(key);
    validateConfig(key, config);
    const auto index = static_cast<size_t>(&info - m_infos.data());
    auto quantizer = m_factories[index](key, config);
    if (!quantizer) {
        throw QuantizerError(info.name + " (from " + info.source + ") returned no quantizer for " + toString(key));
    }
    return quantizer;
}

std::vector<QuantizerInfo> QuantizerRegistry::available(Target target) const
{
    std::vector<QuantizerInfo> result;
    std::copy_if(m_infos.begin(), m_infos.end(), std::back_inserter(result),
                 [target](const QuantizerInfo& info) { return info.target == target; });
    return result;
}

void QuantizerRegistry::removeSource(const std::string& source)
{
    for (size_t i = m_infos.size(); i-- > 0;) {
        if (m_infos[i].source == source) {
            m_infos.erase(m_infos.begin() + static_cast<std::ptrdiff_t>(i));
            m_factories.erase(m_factories.begin() + static_cast<std::ptrdiff_t>(i));
        }
    }
}

void validateConfig(const QuantizerKey& key, const QuantizerConfig& config)
{
    const auto where = toString(key) + ": ";
    if (config.bits < 2 || config.bits > 16) {
        throw QuantizerError(where + std::to_string(config.bits) + " bits is not supported (use 2 to 16; "
                             "integer hardware usually takes 2 to 8)");
    }
    if (key.target == Target::Activations && config.perChannel) {
        throw QuantizerError(where + "activations are quantized per tensor; per-channel is for weights only");
    }
    if (config.channelAxis < 0) {
        throw QuantizerError(where + "the channel axis must be 0 or more");
    }
    if (key.target == Target::Weights && config.isSigned == false) {
        throw QuantizerError(where + "weights are always signed");
    }
    if (config.init == InitMethod::Percentile && !(config.percentile > 50.0 && config.percentile <= 100.0)) {
        throw QuantizerError(where + "percentile " + std::to_string(config.percentile) + " must be in (50, 100]");
    }
}

} // namespace qat::quant
