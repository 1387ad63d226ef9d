// SPDX-License-Identifier: MIT
#include "training/run_checks.h"

#include "common/text.h"
#include "engine/qat_model.h"
#include "quantizers/quantizer_registry.h"
#include "training/optimizer.h"

#include <algorithm>
#include <cmath>

namespace qat::train::checks {

// The parameters of every quantizer, in site order.
std::vector<quant::QuantizerSnapshot> snapshots(engine::QatModel& model)
{
    std::vector<quant::QuantizerSnapshot> all;
    for (const auto& site : model.sites()) {
        all.push_back(model.snapshot(site));
    }
    return all;
}

// Which quantizers learn (a parameter that requires a gradient), so the plots can open on
// one that does and say why another stays flat (STE weight thresholds, `freeze`).
QuantizersEvent quantizerLearning(engine::QatModel& model)
{
    QuantizersEvent event;
    for (const auto& site : model.sites()) {
        const auto& q = model.table().at(size_t(site.slot));
        const auto params = q.parameters();
        const bool learns = std::any_of(params.begin(), params.end(), [](const auto& p) { return p.tensor.requires_grad(); });
        event.quantizers.push_back({site.name, q.key().training, learns, !learns && q.config().freeze});
    }
    return event;
}

// A quantizer whose threshold or step is no longer a positive number has diverged.
std::string badQuantizer(const engine::QatModel& model, size_t site, const quant::QuantizerSnapshot& snapshot)
{
    for (const auto& [name, values] : snapshot.values) {
        if (name != "threshold" && name != "step") {
            continue;
        }
        for (float v : values) {
            if (!std::isfinite(v) || v <= 0) {
                return model.sites()[site].name + " (" + name + " " + std::to_string(v) + ")";
            }
        }
    }
    return {};
}

// Whether a quantizer's threshold / step can become non-positive while its parameters stay
// finite: not for the built-ins that clamp it (POT, uniform, LSQ+, or keepThresholdPositive);
// plugins are always checked. Those are snapshotted every step; the rest only when finite.
bool needsPositivityCheck(engine::QatModel& model, const engine::QuantizerSite& site,
                          const quant::QuantizerRegistry& registry)
{
    const auto& q = model.table().at(size_t(site.slot));
    if (registry.find(q.key()).source != "builtin") {
        return true;
    }
    return q.key().method == quant::Method::Symmetric && !q.config().keepThresholdPositive;
}

// One pass over every quantizer parameter: a NaN or an infinity anywhere names its quantizer.
std::string nonFiniteQuantizer(engine::QatModel& model)
{
    const auto params = model.quantizerParameters();
    if (params.empty()) {
        return {};
    }
    std::vector<at::Tensor> flat;
    flat.reserve(params.size());
    for (const auto& p : params) {
        flat.push_back(p.detach().reshape({-1}));
    }
    if (at::isfinite(at::cat(flat)).all().item<bool>()) {
        return {};
    }
    // Rare: find which one, by its snapshot.
    for (size_t i = 0; i < model.sites().size(); ++i) {
        const auto& site = model.sites()[i];
        for (const auto& [name, values] : model.table().at(size_t(site.slot)).snapshot().values) {
            if (name != "threshold" && name != "step") {
                continue;
            }
            for (float v : values) {
                if (!std::isfinite(v)) {
                    return site.name + " (" + name + " " + std::to_string(v) + ")";
                }
            }
        }
    }
    return "a quantizer parameter (not finite)";
}

// The site's latent weights in grid units (see WeightHistogramEvent); empty for
// activations and for quantizers that cannot be converted yet.
WeightHistogramEvent weightHistogram(engine::QatModel& model, const engine::QuantizerSite& site, int64_t step)
{
    constexpr int64_t kBins = 100;
    WeightHistogramEvent h;
    if (site.target != quant::Target::Weights) {
        return h;
    }
    quant::FakeQuantSpec spec;
    try {
        spec = model.table().at(size_t(site.slot)).convertToInferable()->fakeQuant();
    } catch (const std::exception&) {
        return h;
    }
    at::NoGradGuard noGrad;
    const auto w = site.quantizedTensor().detach().to(at::kFloat);
    auto scale = at::tensor(spec.scale, at::kFloat);
    auto zero = at::tensor(std::vector<float>(spec.zeroPoint.begin(), spec.zeroPoint.end()), at::kFloat);
    if (spec.perChannel) {
        std::vector<int64_t> shape(size_t(w.dim()), 1);
        shape[size_t(spec.axis)] = -1;
        scale = scale.reshape(shape);
        zero = zero.reshape(shape);
    }
    const double levels = double(spec.qmax - spec.qmin + 1);
    const double margin = std::max(1.0, 0.15 * levels);
    h.step = step;
    h.quantizer = site.name;
    h.qmin = spec.qmin;
    h.qmax = spec.qmax;
    h.lo = double(spec.qmin) - 0.5 - margin;
    h.hi = double(spec.qmax) + 0.5 + margin;
    const auto units = (w / scale + zero).clamp(h.lo, h.hi).flatten();
    const auto counts = at::histc(units, kBins, h.lo, h.hi).contiguous();
    h.counts.assign(counts.data_ptr<float>(), counts.data_ptr<float>() + counts.numel());
    return h;
}

// Which group has a NaN or infinite gradient ("" when none). One reduction per tensor and
// a single host sync: small next to the backward pass that made the gradients.
std::string nonFiniteGradient(Optimizer& optimizer, size_t quantizerGroup)
{
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> norms;
    std::vector<size_t> owner;
    for (size_t g = 0; g < optimizer.groups().size(); ++g) {
        for (const auto& p : optimizer.groups()[g].params) {
            if (p.grad().defined()) {
                norms.push_back(p.grad().norm().to(at::kFloat));
                owner.push_back(g);
            }
        }
    }
    if (norms.empty()) {
        return {};
    }
    const auto finite = at::isfinite(at::stack(norms)).contiguous();
    const auto* ok = finite.data_ptr<bool>();
    for (size_t i = 0; i < owner.size(); ++i) {
        if (!ok[i]) {
            return owner[i] == quantizerGroup ? "a quantizer parameter" : "the model's weights";
        }
    }
    return {};
}

// A quantizer (a plugin's, most likely) threw inside the model's forward: its own words,
// not the TorchScript interpreter's traceback around them.
std::string quantizerFailure(engine::QatModel* model)
{
    if (model == nullptr || model->table().failure().slot < 0) {
        return {};
    }
    const auto& failure = model->table().failure();
    std::string where = "slot " + std::to_string(failure.slot);
    for (const auto& site : model->sites()) {
        if (site.slot == failure.slot) {
            where = site.name;
        }
    }
    const auto& q = model->table().at(size_t(failure.slot));
    return "quantizer " + quant::toString(q.key()) + " at " + where + " failed: " + firstLine(failure.message);
}

} // namespace qat::train::checks
