// SPDX-License-Identifier: MIT
#include "analysis/sensitivity.h"

#include "common/error.h"
#include "common/sha256.h"
#include "common/version.h"
#include "engine/checkpoint.h"
#include "engine/qat_model.h"
#include "training/tensor_dataset.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace qat::analysis {

namespace {

constexpr int64_t kEvalBatch = 500;

double top1(engine::QatModel& model, const train::TensorDataset& test)
{
    at::NoGradGuard noGrad;
    int64_t correct = 0;
    for (int64_t start = 0; start < test.size(); start += kEvalBatch) {
        const auto end = std::min(start + kEvalBatch, test.size());
        const auto out = model.forward(test.images.slice(0, start, end));
        correct += out.argmax(1).eq(test.labels.slice(0, start, end)).sum().item<int64_t>();
    }
    return double(correct) / double(std::max<int64_t>(test.size(), 1));
}

} // namespace

SensitivityRequest sensitivityRequestForRun(const store::RunStore& runs, int64_t runId, int64_t images)
{
    const auto run = runs.run(runId);
    if (!run) {
        throw Error(runs.path() + ": there is no run " + std::to_string(runId) + " (see `qatwb runs list`)");
    }
    SensitivityRequest request;
    request.checkpoint = runs.checkpoint(runId);
    if (request.checkpoint.empty()) {
        throw Error("run " + std::to_string(runId) + " (" + run->state + ") has no trained state to analyse"
                    + (run->state == "failed" ? ": it failed before training" : ": it was recorded by an older version"));
    }
    request.runId = runId;
    request.modelPath = run->modelPath;
    request.modelHash = run->modelHash;
    request.plan = engine::parsePlan(run->plan, "run " + std::to_string(runId) + " plan");
    request.data = run->dataset;
    const auto hyper = nlohmann::json::parse(run->hyperparameters, nullptr, false);
    if (hyper.is_object() && hyper.contains("data")) {
        request.dataOptions = data::dataOptionsFromJson(hyper["data"].dump());
    }
    request.images = images > 0 ? images : (hyper.is_object() ? hyper.value("limit_test", int64_t(0)) : 0);
    return request;
}

SensitivityResult analyzeSensitivity(const SensitivityRequest& r, const quant::QuantizerRegistry& registry,
                                     const SensitivityProgress& progress)
{
    setComputeThreads(r.threads);
    if (r.checkpoint.empty()) {
        throw Error("sensitivity needs a trained run (a checkpoint); this one has none");
    }
    if (!std::filesystem::exists(r.modelPath)) {
        throw Error(r.modelPath + ": the run's model file is gone; put it back to analyse the run");
    }
    if (!r.modelHash.empty() && sha256File(r.modelPath) != r.modelHash) {
        throw Error(r.modelPath + ": the model file changed since the run was trained; its trained state does not fit");
    }
    auto model = engine::QatModel::build(r.modelPath, r.plan, registry);
    engine::loadCheckpoint(*model, r.checkpoint);
    model->train(false);
    const auto test = train::loadEvaluationData(
        r.data, r.dataOptions, [&](const at::Tensor& x) { return model->floatForward(x); }, r.images);

    const auto& sites = model->sites();
    auto& table = model->table();
    const int total = int(model->layerPlans().size()) + 2;
    int done = 0;
    auto step = [&] {
        ++done;
        if (progress && !progress(done, total)) {
            throw Error("sensitivity analysis cancelled");
        }
    };
    auto enableOnly = [&](const std::function<bool(const engine::QuantizerSite&)>& on) {
        int count = 0;
        for (const auto& site : sites) {
            const bool enabled = on(site);
            table.setEnabled(size_t(site.slot), enabled);
            count += enabled;
        }
        return count;
    };

    SensitivityResult result;
    result.images = test.size();
    enableOnly([](const auto&) { return true; });
    result.quantizedTop1 = top1(*model, test);
    step();
    enableOnly([](const auto&) { return false; });
    result.floatTop1 = top1(*model, test);
    step();
    for (const auto& layer : model->layerPlans()) {
        LayerSensitivity s;
        s.layer = layer.layer;
        s.kind = layer.kind;
        s.quantizers = enableOnly([&](const engine::QuantizerSite& site) { return site.layer == layer.layer; });
        s.top1 = s.quantizers > 0 ? top1(*model, test) : result.floatTop1;
        s.drop = result.floatTop1 - s.top1;
        result.layers.push_back(s);
        step();
    }
    enableOnly([](const auto&) { return true; });
    return result;
}

std::vector<store::SensitivityRow> toRows(const SensitivityResult& result)
{
    std::vector<store::SensitivityRow> rows;
    for (const auto& l : result.layers) {
        rows.push_back({l.layer, l.top1, l.drop, result.images, {}});
    }
    return rows;
}

} // namespace qat::analysis
