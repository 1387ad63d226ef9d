// SPDX-License-Identifier: MIT
#include "bench_measures.h"

#include "engine/qat_model.h"
#include "model/loaded_model.h"
#include "quantizers/quant_math.h"
#include "storage/run_store.h"
#include "training/optimizer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

namespace qat::cli::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string exeDir()
{
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/self/exe", ec).parent_path().string();
}

} // namespace

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

// Float step (the model as loaded, BatchNorm training) vs QAT step (quantizers inserted,
// BN folded), cross-entropy on the same batches, our Adam; interleaved, median of repeats.
StepTimes stepTimes(const std::string& modelPath, const std::string& preset, int batch, int repeats,
                    const train::TensorDataset& data, const quant::QuantizerRegistry& registry)
{
    auto qat = engine::QatModel::build(modelPath, engine::presetPlan(preset), registry);
    qat->calibrateWeights();
    qat->beginActivationCalibration();
    qat->observeBatch(data.images.slice(0, 0, batch));
    qat->finishActivationCalibration();
    qat->train(true);
    auto plain = model::loadModel(modelPath).module;
    plain.train(true);
    std::vector<at::Tensor> floatParams;
    for (auto p : plain.parameters()) {
        p.set_requires_grad(true);
        floatParams.push_back(p);
    }
    train::Optimizer qatOpt(train::OptimizerKind::Adam, {{qat->modelParameters(), 1e-4}, {qat->quantizerParameters(), 1e-4}}, 0.9);
    train::Optimizer floatOpt(train::OptimizerKind::Adam, {{floatParams, 1e-4}}, 0.9);
    const auto batches = std::max<int64_t>(1, data.size() / batch);
    auto run = [&](const std::function<at::Tensor(const at::Tensor&)>& forward, train::Optimizer& opt, int64_t b) {
        const auto x = data.images.slice(0, b * batch, (b + 1) * batch);
        const auto y = data.labels.slice(0, b * batch, (b + 1) * batch);
        const auto start = Clock::now();
        opt.zeroGrad();
        at::cross_entropy_loss(forward(x), y).backward();
        opt.step();
        return since(start);
    };
    auto qatForward = [&](const at::Tensor& x) { return qat->forward(x); };
    auto floatForward = [&](const at::Tensor& x) { return plain.forward({x}).toTensor(); };
    std::vector<double> f;
    std::vector<double> q;
    std::vector<double> c;
    for (int i = 0; i < repeats + 2; ++i) {
        const auto fs = run(floatForward, floatOpt, i % batches);
        const auto qs = run(qatForward, qatOpt, i % batches);
        quant::math::setFusedKernels(false);
        const auto cs = run(qatForward, qatOpt, i % batches);
        quant::math::setFusedKernels(true);
        if (i >= 2) { // warm-up
            f.push_back(fs);
            q.push_back(qs);
            c.push_back(cs);
        }
    }
    return {median(f) * 1000, median(q) * 1000, median(c) * 1000};
}

// Elements per second of forward + backward through each built-in quantizer, and through
// LibTorch's fake_quantize op on the same tensor.
json quantizerThroughput(const quant::QuantizerRegistry& registry, int repeats)
{
    json rows = json::array();
    const std::vector<int64_t> activationShape{64, 32, 28, 28};
    const std::vector<int64_t> weightShape{256, 256, 3, 3};
    for (const auto& info : registry.entries()) {
        for (auto method : info.methods) {
            const bool weights = info.target == quant::Target::Weights;
            const auto shape = weights ? weightShape : activationShape;
            quant::QuantizerConfig config;
            config.bits = 8;
            config.perChannel = weights;
            config.channelAxis = 0;
            auto q = registry.create({info.target, method, info.training}, config);
            q->initialize({"bench", weights ? "conv2d" : "relu", shape});
            const auto x = at::randn(shape);
            q->observe(weights ? x : x.slice(0, 0, 8));
            q->finishCalibration();
            const auto input = x.clone().set_requires_grad(true);
            auto timeIt = [&](const std::function<at::Tensor(const at::Tensor&)>& f) {
                std::vector<double> t;
                for (int i = 0; i < repeats + 1; ++i) {
                    input.mutable_grad() = at::Tensor();
                    const auto start = Clock::now();
                    f(input).sum().backward();
                    if (i > 0) t.push_back(since(start));
                }
                return double(x.numel()) / median(t);
            };
            auto ours = [&](const at::Tensor& v) { return q->forward(v); };
            auto libtorch = [&](const at::Tensor& v) {
                return weights ? at::fake_quantize_per_channel_affine(v, at::full({shape[0]}, 0.01f),
                                                                      at::zeros({shape[0]}, at::kInt), 0, -128, 127)
                               : at::fake_quantize_per_tensor_affine(v, 0.01, 0, 0, 255);
            };
            std::vector<double> fused, composite, kernel;
            for (int r = 0; r < 3; ++r) { // interleaved rounds
                fused.push_back(timeIt(ours));
                quant::math::setFusedKernels(false);
                composite.push_back(timeIt(ours));
                quant::math::setFusedKernels(true);
                kernel.push_back(timeIt(libtorch));
            }
            const double f = median(fused), c = median(composite), k = median(kernel);
            rows.push_back({{"quantizer", info.name}, {"method", quant::toString(method)}, {"target", quant::toString(info.target)},
                            {"elements_per_s", f}, {"composite_elements_per_s", c}, {"libtorch_fake_quant_elements_per_s", k},
                            {"ours_over_libtorch_time", k / f}, {"composite_over_fused_time", f / c}});
        }
    }
    return rows;
}

namespace {

// Seconds per training step of the last run recorded in db (the run's own clock: the loop,
// without process start, model loading or evaluation).
double secondsPerStep(const std::string& db)
{
    if (!std::filesystem::exists(db)) {
        return -1;
    }
    store::RunStore runs(db);
    const auto list = runs.listRuns();
    if (list.empty() || list.front().steps <= 0 || list.front().state != "finished") {
        return -1;
    }
    return list.front().seconds / double(list.front().steps);
}

} // namespace

json guiVsHeadless(const std::string& modelPath, int steps, int rounds)
{
    const auto bin = exeDir();
    if (!std::filesystem::exists(bin + "/qat-workbench")) {
        return {{"note", "qat-workbench is not built next to qatwb"}};
    }
    const auto tmp = std::filesystem::temp_directory_path() / ("qatwb-bench-gui-" + std::to_string(getpid()));
    std::vector<double> gui;
    std::vector<double> headless;
    for (int r = 0; r < rounds; ++r) {
        std::filesystem::remove_all(tmp);
        std::filesystem::create_directories(tmp);
        const auto h = (tmp / "h.sqlite").string();
        const auto g = (tmp / "g.sqlite").string();
        const auto n = std::to_string(steps);
        std::system((bin + "/qatwb train --model " + modelPath + " --steps " + n + " --limit-train 1024 --limit-test 256 --db "
                     + h + " >/dev/null 2>&1").c_str());
        std::system(("QT_QPA_PLATFORM=offscreen QATWB_RUNS_DB=" + g + " " + bin + "/qat-workbench " + modelPath + " --run "
                     + n + " --screenshot " + (tmp / "g.png").string() + " >/dev/null 2>&1").c_str());
        const double hs = secondsPerStep(h);
        const double gs = secondsPerStep(g);
        if (hs > 0 && gs > 0) {
            headless.push_back(hs);
            gui.push_back(gs);
        }
    }
    std::filesystem::remove_all(tmp);
    if (gui.empty()) {
        return {{"note", "the runs did not finish"}};
    }
    return {{"gui_ms_per_step", median(gui) * 1000}, {"headless_ms_per_step", median(headless) * 1000},
            {"rounds", gui.size()}, {"steps", steps}};
}

json pythonStep(const std::string& modelPath, int batch, int repeats)
{
    const std::string script = QATWB_SOURCE_DIR "/tests/bench/qat_step_python.py";
    if (!std::filesystem::exists(script)) {
        return {{"note", "tests/bench/qat_step_python.py is not installed with this build"}};
    }
    if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        return {{"note", "/usr/bin/python3 has no torch (python3-torch): the Python comparison is skipped"}};
    }
    const auto out = std::filesystem::temp_directory_path() / ("qatwb-bench-python-" + std::to_string(getpid()) + ".json");
    const auto cmd = "/usr/bin/python3 " + script + " " + modelPath + " " + std::to_string(batch) + " "
                     + std::to_string(repeats) + " > " + out.string();
    if (std::system(cmd.c_str()) != 0) {
        return {{"note", "the Python benchmark failed"}};
    }
    std::ifstream in(out);
    auto result = json::parse(in, nullptr, false);
    std::filesystem::remove(out);
    return result;
}

json runStoreSpeed()
{
    const auto dir = std::filesystem::temp_directory_path() / ("qatwb-bench-store-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    json out;
    {
        store::RunStore runs((dir / "runs.sqlite").string());
        store::RunRecord record;
        record.name = "bench";
        const auto id = runs.createRun(record);
        std::vector<store::MetricPoint> metrics;
        for (int i = 0; i < 5000; ++i) metrics.push_back({i, "loss", 0.5});
        auto start = Clock::now();
        runs.appendMetrics(id, metrics);
        out["metric_inserts_per_s"] = 5000 / since(start);
        for (int i = 0; i < 999; ++i) runs.createRun(record);
        std::vector<double> t;
        for (int i = 0; i < 5; ++i) {
            start = Clock::now();
            out["runs_listed"] = runs.listRuns().size();
            t.push_back(since(start));
        }
        out["list_runs_ms"] = median(t) * 1000;
    }
    std::filesystem::remove_all(dir);
    return out;
}

} // namespace qat::cli::bench
