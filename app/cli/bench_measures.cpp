// SPDX-License-Identifier: MIT
#include "bench_measures.h"

#include "engine/qat_model.h"
#include "model/loaded_model.h"
#include "quantizers/builtin_quantizer_base.h"
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

engine::QuantizationPlan benchPlan(const std::string& presetOrFile)
{
    const std::string suffix = ".json";
    const bool file = presetOrFile.size() > suffix.size()
                      && presetOrFile.compare(presetOrFile.size() - suffix.size(), suffix.size(), suffix) == 0;
    return file ? engine::loadPlanFile(presetOrFile) : engine::presetPlan(presetOrFile);
}

// Float step (the model as loaded, BatchNorm training) and QAT step (quantizers inserted,
// BN folded, or training and the quantizers seeing folded weights under train_batch_norm) on the same batches: cross-entropy, backward, our Adam.
StepRig::StepRig(const std::string& modelPath, const std::string& preset, int batch, const train::TensorDataset& data,
                 const quant::QuantizerRegistry& registry)
    : data_(data), batch_(batch), batches_(std::max<int64_t>(1, data.size() / batch))
{
    qat_ = engine::QatModel::build(modelPath, benchPlan(preset), registry, true); // as training runs it
    qat_->calibrateWeights();
    qat_->beginActivationCalibration();
    qat_->observeBatch(data.images.slice(0, 0, batch));
    qat_->finishActivationCalibration();
    qat_->train(true);
    plain_ = model::loadModel(modelPath).module;
    plain_.train(true);
    std::vector<at::Tensor> floatParams;
    for (auto p : plain_.parameters()) {
        p.set_requires_grad(true);
        floatParams.push_back(p);
    }
    qatOpt_ = std::make_unique<train::Optimizer>(
        train::OptimizerKind::Adam,
        std::vector<train::ParameterGroup>{{qat_->modelParameters(), 1e-4}, {qat_->quantizerParameters(), 1e-4}}, 0.9);
    floatOpt_ = std::make_unique<train::Optimizer>(train::OptimizerKind::Adam,
                                                   std::vector<train::ParameterGroup>{{floatParams, 1e-4}}, 0.9);
}

StepRig::~StepRig() = default;

double StepRig::qatStep(int64_t i)
{
    return time([&](const at::Tensor& x) { return qat_->forward(x); }, *qatOpt_, i);
}

double StepRig::floatStep(int64_t i)
{
    return time([&](const at::Tensor& x) { return plain_.forward({x}).toTensor(); }, *floatOpt_, i);
}

double StepRig::time(const std::function<at::Tensor(const at::Tensor&)>& forward, train::Optimizer& opt, int64_t i)
{
    const auto b = i % batches_;
    const auto x = data_.images.slice(0, b * batch_, (b + 1) * batch_);
    const auto y = data_.labels.slice(0, b * batch_, (b + 1) * batch_);
    const auto start = Clock::now();
    opt.zeroGrad();
    at::cross_entropy_loss(forward(x), y).backward();
    opt.step();
    return since(start);
}

// Float, QAT and composite-QAT steps in alternating blocks; medians over the blocks.
StepTimes stepTimes(const std::string& modelPath, const std::string& preset, int batch, int repeats,
                    const train::TensorDataset& data, const quant::QuantizerRegistry& registry, bool composite)
{
    StepRig rig(modelPath, preset, batch, data, registry);
    std::vector<double> f;
    std::vector<double> q;
    std::vector<double> c;
    std::vector<double> qf; // per-block ratios: the machine's slow spells last seconds and hit
    std::vector<double> cf; // neighbouring blocks alike, so the ratio of neighbours survives them
    // Blocks of consecutive steps of one kind (as training runs them: a step right after a
    // step of another model finds the caches and the heap in that model's state), the
    // block's median; blocks alternate float, QAT, composite QAT.
    const int block = 4;
    auto blockOf = [&](const std::function<double(int64_t)>& step, int64_t first) {
        std::vector<double> t;
        for (int k = 0; k < block; ++k) t.push_back(step(first + k));
        return median(t);
    };
    auto floatStep = [&](int64_t i) { return rig.floatStep(i); };
    auto qatStep = [&](int64_t i) { return rig.qatStep(i); };
    for (int i = 0; i < repeats + 1; ++i) {
        const auto fs = blockOf(floatStep, i * block);
        const auto qs = blockOf(qatStep, i * block);
        double cs = -1;
        if (composite) {
            quant::math::setFusedKernels(false);
            cs = blockOf(qatStep, i * block);
            quant::math::setFusedKernels(true);
        }
        if (i >= 1) { // the first block is warm-up
            f.push_back(fs);
            q.push_back(qs);
            qf.push_back(qs / fs);
            if (composite) {
                c.push_back(cs);
                cf.push_back(cs / fs);
            }
        }
    }
    StepTimes t{median(f) * 1000, median(q) * 1000, -1, median(qf), -1};
    if (composite) {
        t.compositeMs = median(c) * 1000;
        t.compositeOverFloat = median(cf);
    }
    return t;
}

using Through = std::function<at::Tensor(const at::Tensor&)>;

// Elements of input per second through f, forward and backward: the median of repeats, after
// one untimed call.
double throughput(const at::Tensor& input, int repeats, const Through& f)
{
    std::vector<double> t;
    for (int i = 0; i < repeats + 1; ++i) {
        input.mutable_grad() = at::Tensor();
        const auto start = Clock::now();
        f(input).sum().backward();
        if (i > 0) t.push_back(since(start));
    }
    return double(input.numel()) / median(t);
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
            auto timeIt = [&](const Through& f) { return throughput(input, repeats, f); };
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

json batchNormThroughput(const quant::QuantizerRegistry& registry, int repeats)
{
    json rows = json::array();
    const std::vector<int64_t> shape{64, 32, 28, 28};
    const int64_t channels = shape[1];
    for (const auto& info : registry.entries()) {
        if (info.target != quant::Target::Activations) {
            continue;
        }
        for (auto method : info.methods) {
            quant::QuantizerConfig config;
            config.bits = 8;
            auto q = registry.create({info.target, method, info.training}, config);
            auto* builtin = dynamic_cast<quant::BuiltinQuantizerBase*>(q.get());
            if (builtin == nullptr) {
                continue;
            }
            q->initialize({"bench", "relu", shape});
            const auto x = at::randn(shape);
            q->observe(at::relu(x.slice(0, 0, 8)));
            q->finishCalibration();
            const auto input = x.clone().set_requires_grad(true);
            quant::math::BatchNormInput bn;
            bn.weight = at::ones({channels}).set_requires_grad(true);
            bn.bias = at::zeros({channels}).set_requires_grad(true);
            bn.runningMean = at::zeros({channels});
            bn.runningVar = at::ones({channels});
            const quant::math::InputClamp relu;
            auto timeIt = [&](const Through& f) { return throughput(input, repeats, f); };
            auto fusedForm = [&](const at::Tensor& v) { return builtin->forwardBatchNorm(v, bn, &relu); };
            auto ops = [&](const at::Tensor& v) { return builtin->forwardClamped(quant::math::batchNorm(v, bn), relu); };
            std::vector<double> fused, apart;
            for (int r = 0; r < 3; ++r) { // interleaved rounds
                fused.push_back(timeIt(fusedForm));
                apart.push_back(timeIt(ops));
            }
            const double f = median(fused), o = median(apart);
            rows.push_back({{"quantizer", info.name}, {"method", quant::toString(method)}, {"elements_per_s", f},
                            {"ops_elements_per_s", o}, {"fused_over_ops_time", o / f}});
        }
    }
    return rows;
}

namespace {

// Seconds per training step of the last run recorded in db, by the run's own clock around
// its steps (not process start, model loading, calibration or evaluation, which the window
// overlaps with its own start-up work).
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
    const auto run = runs.run(list.front().id);
    const auto h = json::parse(run ? run->hyperparameters : std::string("{}"), nullptr, false);
    if (!h.is_object() || !h.contains("train_seconds")) {
        return -1;
    }
    return h["train_seconds"].get<double>() / double(list.front().steps);
}

} // namespace

json guiVsHeadless(const std::string& modelPath, int steps, int rounds, const std::string& data)
{
    const std::string dataArg = data.empty() ? std::string() : " --data " + data;
    const auto bin = exeDir();
    if (!std::filesystem::exists(bin + "/qat-workbench")) {
        return {{"note", "qat-workbench is not built next to qatwb"}};
    }
    const auto tmp = std::filesystem::temp_directory_path() / ("qatwb-bench-gui-" + std::to_string(getpid()));
    std::vector<double> gui;
    std::vector<double> headless;
    std::vector<double> ratios; // per round: a slow spell of the machine hits both runs of a round
    for (int r = 0; r < rounds; ++r) {
        std::filesystem::remove_all(tmp);
        std::filesystem::create_directories(tmp);
        const auto h = (tmp / "h.sqlite").string();
        const auto g = (tmp / "g.sqlite").string();
        const auto n = std::to_string(steps);
        const auto runHeadless = [&] {
            std::system((bin + "/qatwb train --model " + modelPath + " --steps " + n + " --limit-train 1024 --limit-test 256"
                         + dataArg + " --db " + h + " >/dev/null 2>&1").c_str());
        };
        // Its own settings folder: the window neither restores the user's layout and data nor
        // leaves the bench's temporary data folder in their recent list.
        const auto runWindow = [&] {
            std::system(("QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME=" + (tmp / "config").string() + " QATWB_RUNS_DB=" + g
                         + " " + bin + "/qat-workbench " + modelPath + dataArg + " --run " + n + " --screenshot "
                         + (tmp / "g.png").string() + " >/dev/null 2>&1").c_str());
        };
        // Which runs first alternates: a machine that speeds up or slows down over the
        // rounds then favours neither.
        if (r % 2 == 0) {
            runHeadless();
            runWindow();
        } else {
            runWindow();
            runHeadless();
        }
        const double hs = secondsPerStep(h);
        const double gs = secondsPerStep(g);
        if (hs > 0 && gs > 0) {
            headless.push_back(hs);
            gui.push_back(gs);
            ratios.push_back(gs / hs);
        }
    }
    std::filesystem::remove_all(tmp);
    if (gui.empty()) {
        return {{"note", "the runs did not finish"}};
    }
    return {{"gui_ms_per_step", median(gui) * 1000}, {"headless_ms_per_step", median(headless) * 1000},
            {"gui_over_headless", median(ratios)}, {"round_ratios", ratios}, {"rounds", gui.size()}, {"steps", steps}};
}

namespace {

// The same settings the app makes for itself at start-up (common/allocator.h, version.h).
const char* kTunedEnvironment = "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:"
                                "glibc.malloc.mmap_max=0 "
                                "OPENBLAS_NUM_THREADS=1 ";

json runPythonScript(const std::string& script, const std::string& modelPath, int batch, int steps, bool tuned)
{
    const auto out = std::filesystem::temp_directory_path() / ("qatwb-bench-python-" + std::to_string(getpid()) + ".json");
    const auto cmd = std::string(tuned ? kTunedEnvironment : "") + "/usr/bin/python3 " + script + " " + modelPath + " " + std::to_string(batch) + " "
                     + std::to_string(steps) + " > " + out.string();
    if (std::system(cmd.c_str()) != 0) {
        return {{"note", "the Python benchmark failed"}};
    }
    std::ifstream in(out);
    auto result = json::parse(in, nullptr, false);
    std::filesystem::remove(out);
    return result;
}

} // namespace

// Rounds alternate between the Python script (its own process: `steps` QAT steps after
// warm-up, median) and our QAT step (the same number, median); the figure is the median of
// the per-round ratios, so a slow spell of the machine lands on both sides of a round.
json pythonVsOurs(const std::string& modelPath, int batch, int rounds, int steps, const train::TensorDataset& data,
                  const quant::QuantizerRegistry& registry)
{
    const std::string script = QATWB_SOURCE_DIR "/tests/bench/qat_step_python.py";
    if (!std::filesystem::exists(script)) {
        return {{"note", "tests/bench/qat_step_python.py is not installed with this build"}};
    }
    if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        return {{"note", "/usr/bin/python3 has no torch (python3-torch): the Python comparison is skipped"}};
    }
    StepRig rig(modelPath, "mct-default", batch, data, registry);
    for (int i = 0; i < 2; ++i) rig.qatStep(i); // warm-up
    std::vector<double> python, tuned, ours, ratios, tunedRatios;
    json last;
    for (int r = 0; r < rounds; ++r) {
        last = runPythonScript(script, modelPath, batch, steps, false);
        const auto lastTuned = runPythonScript(script, modelPath, batch, steps, true);
        if (!last.contains("qat_ms") || !lastTuned.contains("qat_ms")) {
            return last.contains("qat_ms") ? lastTuned : last;
        }
        std::vector<double> t;
        for (int i = 0; i < steps; ++i) t.push_back(rig.qatStep(i));
        python.push_back(last["qat_ms"].get<double>());
        tuned.push_back(lastTuned["qat_ms"].get<double>());
        ours.push_back(median(t) * 1000);
        ratios.push_back(python.back() / ours.back());
        tunedRatios.push_back(tuned.back() / ours.back());
    }
    return {{"python_qat_ms", median(python)}, {"ours_qat_ms", median(ours)}, {"python_over_ours", median(ratios)},
            {"python_tuned_qat_ms", median(tuned)}, {"python_tuned_over_ours", median(tunedRatios)},
            {"python_tuned_environment", kTunedEnvironment},
            {"python_qat_over_float", last["qat_over_float"]}, {"rounds", rounds}, {"steps_per_round", steps},
            {"batch", batch}};
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
