// SPDX-License-Identifier: MIT
#include "analysis/sensitivity.h"

#include "common/error.h"
#include "common/sha256.h"
#include "common/version.h"
#include "engine/checkpoint.h"
#include "engine/qat_model.h"
#include "storage/run_state.h"
#include "training/tensor_dataset.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace qat::analysis {

namespace {

constexpr int64_t kEvalBatch = 500;

double top1(const train::ForwardFn& forward, const train::TensorDataset& test)
{
    at::NoGradGuard noGrad;
    int64_t correct = 0;
    for (int64_t start = 0; start < test.size(); start += kEvalBatch) {
        const auto end = std::min(start + kEvalBatch, test.size());
        const auto out = forward(test.images.slice(0, start, end));
        correct += out.argmax(1).eq(test.labels.slice(0, start, end)).sum().item<int64_t>();
    }
    return double(correct) / double(std::max<int64_t>(test.size(), 1));
}

// The quantizers from the float weights, as a run initialises them before its first step.
void calibrateFromFloat(engine::QatModel& model, const SensitivityRequest& r)
{
    const auto batches = train::loadCalibrationBatches(
        r.data, r.dataOptions, [&](const at::Tensor& x) { return model.floatForward(x); }, r.seed, r.calibrationBatches,
        r.batch, r.limitTrain);
    model.calibrateWeights();
    model.beginActivationCalibration();
    for (const auto& batch : batches) {
        model.observeBatch(batch);
    }
    model.finishActivationCalibration();
}

} // namespace

std::string toString(SensitivityMode mode)
{
    return mode == SensitivityMode::Float ? "float" : "trained";
}

SensitivityMode parseSensitivityMode(const std::string& text)
{
    if (text == "trained") return SensitivityMode::Trained;
    if (text == "float") return SensitivityMode::Float;
    throw Error("unknown sensitivity mode '" + text + "' (trained: each layer's quantizers off in the trained run; "
                "float: each layer alone quantized from the float model)");
}

std::string describeMode(SensitivityMode mode)
{
    return mode == SensitivityMode::Float
               ? "from the float model's weights, each layer alone quantized at the plan's bits (calibrated, not "
                 "trained): the top-1 it loses against the float model"
               : "from the trained run, each layer's quantizers off (the rest quantized): the top-1 it costs the run";
}

std::string describeStoredMode(const std::string& mode)
{
    if (mode == "trained" || mode == "float") {
        return describeMode(parseSensitivityMode(mode));
    }
    return "measured by an older version: the trained weights with each layer alone quantized, the rest float "
           "(no baseline for low-bit runs; measure again in mode trained or float)";
}

SensitivityRequest sensitivityRequestForRun(const store::RunStore& runs, int64_t runId, int64_t images,
                                            SensitivityMode mode)
{
    const auto run = runs.run(runId);
    if (!run) {
        throw Error(runs.path() + ": there is no run " + std::to_string(runId) + " (see `qatwb runs list`)");
    }
    SensitivityRequest request;
    request.mode = mode;
    if (mode == SensitivityMode::Trained) {
        request.checkpoint = runs.checkpoint(runId);
        if (request.checkpoint.empty()) {
            throw Error("run " + std::to_string(runId) + " (" + run->state + ") has no trained state to analyse"
                        + (run->state == "failed" ? ": it failed before training" : ": it was recorded by an older version")
                        + "; --mode float measures its plan from the float model");
        }
    } else if (store::isTraining(run->state)) {
        throw Error("run " + std::to_string(runId) + " is still training; measure it when it has ended");
    }
    request.runId = runId;
    request.modelPath = run->modelPath;
    request.modelHash = run->modelHash;
    request.plan = engine::parsePlan(run->plan, "run " + std::to_string(runId) + " plan");
    request.data = run->dataset;
    request.seed = uint64_t(run->seed);
    const auto hyper = nlohmann::json::parse(run->hyperparameters, nullptr, false);
    if (hyper.is_object()) {
        if (hyper.contains("data")) {
            request.dataOptions = data::dataOptionsFromJson(hyper["data"].dump());
        }
        request.calibrationBatches = hyper.value("calibration_batches", request.calibrationBatches);
        request.batch = hyper.value("batch", request.batch) * hyper.value("world_size", 1); // the global batch
        request.limitTrain = hyper.value("limit_train", int64_t(0));
    }
    request.images = images > 0 ? images : (hyper.is_object() ? hyper.value("limit_test", int64_t(0)) : 0);
    return request;
}

SensitivityResult analyzeSensitivity(const SensitivityRequest& r, const quant::QuantizerRegistry& registry,
                                     const SensitivityProgress& progress)
{
    setComputeThreads(r.threads);
    const bool trained = r.mode == SensitivityMode::Trained;
    if (trained && r.checkpoint.empty()) {
        throw Error("sensitivity of a trained run needs its trained state (a checkpoint); this one has none");
    }
    if (!std::filesystem::exists(r.modelPath)) {
        throw Error(r.modelPath + ": the run's model file is gone; put it back to analyse the run");
    }
    if (!r.modelHash.empty() && sha256File(r.modelPath) != r.modelHash) {
        throw Error(r.modelPath + ": the model file changed since the run was trained; its plan and trained state do "
                                  "not fit it");
    }
    auto model = engine::QatModel::build(r.modelPath, r.plan, registry);
    const train::ForwardFn floatForward = [&](const at::Tensor& x) { return model->floatForward(x); };
    const train::ForwardFn quantizedForward = [&](const at::Tensor& x) { return model->forward(x); };
    if (trained) {
        engine::loadCheckpoint(*model, r.checkpoint);
    } else {
        calibrateFromFloat(*model, r);
    }
    model->train(false);
    const auto test = train::loadEvaluationData(r.data, r.dataOptions, floatForward, r.images);

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
    // Switches every quantizer on or off; returns how many of `layer`'s were switched on.
    auto enable = [&](const std::function<bool(const engine::QuantizerSite&)>& on, const std::string& layer) {
        int count = 0;
        for (const auto& site : sites) {
            table.setEnabled(size_t(site.slot), on(site));
            count += site.layer == layer;
        }
        return count;
    };

    SensitivityResult result;
    result.mode = r.mode;
    result.images = test.size();
    result.floatTop1 = top1(floatForward, test);
    step();
    enable([](const auto&) { return true; }, {});
    result.quantizedTop1 = top1(quantizedForward, test);
    step();
    for (const auto& layer : model->layerPlans()) {
        LayerSensitivity s;
        s.layer = layer.layer;
        s.kind = layer.kind;
        if (trained) {
            s.quantizers = enable([&](const engine::QuantizerSite& site) { return site.layer != layer.layer; }, layer.layer);
            s.top1 = s.quantizers > 0 ? top1(quantizedForward, test) : result.quantizedTop1;
            s.drop = s.top1 - result.quantizedTop1;
        } else {
            s.quantizers = enable([&](const engine::QuantizerSite& site) { return site.layer == layer.layer; }, layer.layer);
            s.top1 = s.quantizers > 0 ? top1(quantizedForward, test) : result.floatTop1;
            s.drop = result.floatTop1 - s.top1;
        }
        result.layers.push_back(s);
        step();
    }
    enable([](const auto&) { return true; }, {});
    return result;
}

std::vector<store::SensitivityRow> toRows(const SensitivityResult& result)
{
    std::vector<store::SensitivityRow> rows;
    for (const auto& l : result.layers) {
        store::SensitivityRow row;
        row.mode = toString(result.mode);
        row.layer = l.layer;
        row.kind = l.kind;
        row.top1 = l.top1;
        row.drop = l.drop;
        row.images = result.images;
        row.floatTop1 = result.floatTop1;
        row.quantizedTop1 = result.quantizedTop1;
        rows.push_back(row);
    }
    return rows;
}

} // namespace qat::analysis
