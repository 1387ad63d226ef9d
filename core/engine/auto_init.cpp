// SPDX-License-Identifier: MIT
#include "engine/auto_init.h"

#include "common/error.h"
#include "engine/qat_model.h"
#include "quantizers/builtin_quantizer_base.h"
#include "quantizers/quantizer_registry.h"

#include <algorithm>
#include <set>

namespace qat::engine {

namespace {

using quant::InitMethod;

// Where a slot's error is measured: the slot whose input is its layer's output (the
// activation point after the layer), or -1 for the model output.
int64_t measurementSlot(const QatModel& model, const QuantizerSite& site)
{
    if (site.target == quant::Target::Activations) {
        return -1;
    }
    for (const auto& other : model.sites()) {
        if (other.target == quant::Target::Activations && other.layer == site.layer) {
            return other.slot;
        }
    }
    return -1;
}

double relativeError(const at::Tensor& output, const at::Tensor& reference)
{
    const double signal = reference.pow(2).mean().item<double>();
    return (output - reference).pow(2).mean().item<double>() / std::max(signal, 1e-12);
}

std::unique_ptr<quant::TrainableQuantizer> calibratedCandidate(const quant::TrainableQuantizer& current,
                                                               const QuantizerSite& site, InitMethod method,
                                                               const std::map<int64_t, quant::calib::ValueSample>& samples,
                                                               const quant::QuantizerRegistry& registry)
{
    auto config = current.config();
    config.init = method;
    auto candidate = registry.create(current.key(), config);
    candidate->initialize(current.layer());
    if (site.target == quant::Target::Weights) {
        candidate->observe(site.quantizedTensor().detach());
    } else {
        auto* builtin = dynamic_cast<quant::BuiltinQuantizerBase*>(candidate.get());
        const auto sample = samples.find(site.slot);
        if (builtin == nullptr || sample == samples.end()) {
            throw Error("internal error: init auto for " + site.name + " without its calibration sample");
        }
        builtin->activationSample() = sample->second;
    }
    candidate->finishCalibration();
    return candidate;
}

} // namespace

const std::vector<InitMethod>& autoInitCandidates()
{
    static const std::vector<InitMethod> candidates{InitMethod::MaxAbs, InitMethod::Mse, InitMethod::Percentile};
    return candidates;
}

std::vector<InitChoice> chooseInitialisations(QatModel& model, const std::vector<int64_t>& slots,
                                              const std::map<int64_t, quant::calib::ValueSample>& samples,
                                              const at::Tensor& inputs, const quant::QuantizerRegistry& registry)
{
    at::NoGradGuard noGrad;
    auto& table = model.table();
    std::map<int64_t, const QuantizerSite*> siteOf;
    for (const auto& site : model.sites()) {
        siteOf[site.slot] = &site;
    }
    std::set<int64_t> measured;
    for (auto slot : slots) {
        const auto m = measurementSlot(model, *siteOf.at(slot));
        if (m >= 0) {
            measured.insert(m);
        }
    }
    // The float reference: every quantizer passes values through.
    std::vector<bool> wasEnabled;
    for (size_t i = 0; i < table.size(); ++i) {
        wasEnabled.push_back(table.enabled(i));
        table.setEnabled(i, false);
    }
    auto restore = [&] {
        table.setCapture(nullptr);
        for (size_t i = 0; i < table.size(); ++i) {
            table.setEnabled(i, wasEnabled[i]);
        }
    };
    std::vector<InitChoice> choices;
    try {
        std::map<int64_t, at::Tensor> reference;
        std::map<int64_t, at::Tensor> captured;
        table.setCapture(&reference, measured);
        const auto referenceOutput = model.forward(inputs);
        table.setCapture(&captured, measured);
        for (auto slot : slots) {
            const auto& site = *siteOf.at(slot);
            const auto point = measurementSlot(model, site);
            InitChoice choice{slot, InitMethod::Mse, {}};
            std::unique_ptr<quant::TrainableQuantizer> best;
            double bestScore = 0;
            table.setEnabled(size_t(slot), true);
            for (auto method : autoInitCandidates()) {
                auto candidate = calibratedCandidate(table.at(size_t(slot)), site, method, samples, registry);
                auto previous = table.replace(size_t(slot), std::move(candidate));
                const auto output = model.forward(inputs);
                const double score = point < 0 ? relativeError(output, referenceOutput)
                                            : relativeError(captured.at(point), reference.at(point));
                choice.scores[method] = score;
                if (!best || score < bestScore) {
                    best = table.replace(size_t(slot), std::move(previous));
                    bestScore = score;
                    choice.chosen = method;
                } else {
                    table.replace(size_t(slot), std::move(previous));
                }
            }
            table.replace(size_t(slot), std::move(best));
            table.setEnabled(size_t(slot), false);
            choices.push_back(std::move(choice));
        }
    } catch (...) {
        restore();
        throw;
    }
    restore();
    return choices;
}

} // namespace qat::engine
