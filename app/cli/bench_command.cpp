// SPDX-License-Identifier: MIT
// Benchmarks measured as ratios within one run (this machine is noisy): each pair of
// numbers is measured interleaved, and every figure is the median of its repeats.
#include "bench_command.h"

#include "arguments.h"
#include "bench_data.h"

#include "common/version.h"
#include "engine/qat_model.h"
#include "model/loaded_model.h"
#include "quantizers/quantizer_registry.h"
#include "storage/run_store.h"
#include "training/optimizer.h"
#include "training/tensor_dataset.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <unistd.h>

namespace qat::cli {

const char* const kBenchHelp =
    "usage: qatwb bench [--quick] [--json] [--model MODEL]\n"
    "\n"
    "Measures, on this machine, as ratios from one run (medians of repeats, pairs interleaved):\n"
    "  QAT step / float step (forward, loss, backward, optimizer) at batch 64 and 256 for the\n"
    "    presets mct-default, w4a8-lsq, w2a3 on the demo model (or --model)\n"
    "  the same QAT step in Python PyTorch (tests/bench/qat_step_python.py, /usr/bin/python3;\n"
    "    skipped with a note when torch is absent) / ours\n"
    "  each built-in quantizer's forward+backward throughput vs LibTorch's fake_quantize kernels\n"
    "  a short run with the workbench window open and plotting / the same run headless\n"
    "  run store: metric inserts per second, time to list 1,000 runs\n"
    "  data loader: JPEG folder (512 images of 96x96, or --data DIR) decoded, cropped to the RGB\n"
    "    fixture model's 32x32 input: loader images/s vs QAT training images/s (batch 64), and the\n"
    "    share of a loader-fed epoch spent waiting for data\n"
    "  --quick   fewer repeats (a minute or two)\n"
    "  --data    an image folder for the loader benchmark (one sub-folder per class)\n"
    "  --only-data  run the data loader benchmark only\n"
    "  --json    one JSON object: qat_over_float_b256, qat_over_float_b64, python_over_ours_b256\n"
    "            (null without Python torch), gui_over_headless, steps, quantizers, run_store, data_loader\n";

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

std::string exeDir()
{
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/self/exe", ec).parent_path().string();
}

struct StepTimes {
    double floatMs = 0;
    double qatMs = 0;
};

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
    for (int i = 0; i < repeats + 2; ++i) {
        const auto fs = run(floatForward, floatOpt, i % batches);
        const auto qs = run(qatForward, qatOpt, i % batches);
        if (i >= 2) { // warm-up
            f.push_back(fs);
            q.push_back(qs);
        }
    }
    return {median(f) * 1000, median(q) * 1000};
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
            const double ours = timeIt([&](const at::Tensor& v) { return q->forward(v); });
            const double kernel = timeIt([&](const at::Tensor& v) {
                return weights ? at::fake_quantize_per_channel_affine(v, at::full({shape[0]}, 0.01f),
                                                                      at::zeros({shape[0]}, at::kInt), 0, -128, 127)
                               : at::fake_quantize_per_tensor_affine(v, 0.01, 0, 0, 255);
            });
            rows.push_back({{"quantizer", info.name}, {"method", quant::toString(method)}, {"target", quant::toString(info.target)},
                            {"elements_per_s", ours}, {"libtorch_fake_quant_elements_per_s", kernel},
                            {"ours_over_libtorch_time", kernel / ours}});
        }
    }
    return rows;
}

double timeCommand(const std::string& command)
{
    const auto start = Clock::now();
    const int rc = std::system(command.c_str());
    return rc == 0 ? since(start) : -1;
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

} // namespace

int runBench(const std::vector<std::string>& args)
{
    const auto a = parseArguments({"bench", {"--model", "--data"}, {"--quick", "--json", "--only-data"}, 0, 0}, args);
    const bool quick = a.has("--quick");
    const int repeats = quick ? 5 : 15;
    const auto model = a.value("--model", QATWB_SOURCE_DIR "/resources/models/demo_cnn.pt");
    quant::QuantizerRegistry registry;
    quant::registerBuiltinQuantizers(registry);
    const auto data = train::loadIdxDataset("fashion-mnist", "train", 256 * 8);
    json out{{"threads", at::get_num_threads()}, {"repeats", repeats}, {"model", model}};
    auto progress = [&](const std::string& text) {
        if (!a.has("--json")) std::cerr << text << "\n";
    };

    progress("data loader: JPEG folder vs training steps");
    out["data_loader"] = dataLoaderBench(QATWB_SOURCE_DIR "/tests/fixtures/data/rgb_cnn.pt", a.value("--data"), quick ? 256 : 512,
                                         96, 64);
    const auto& dl = out["data_loader"];
    const auto loaderLine = "data loader: " + std::to_string(dl["images"].get<int64_t>()) + " JPEGs -> "
                            + dl["fed_shape"].dump() + ": loader " + std::to_string(int(dl["loader_images_per_s"].get<double>()))
                            + " images/s, QAT training " + std::to_string(int(dl["training_images_per_s"].get<double>()))
                            + " images/s (" + std::to_string(dl["steps_per_s"].get<double>()) + " steps/s at batch 64), loader/training "
                            + std::to_string(dl["loader_over_training"].get<double>()) + "; fed by the loader, steps waited "
                            + std::to_string(int(100 * dl["fed_wait_share"].get<double>())) + " % of the time\n";
    if (a.has("--only-data")) {
        if (a.has("--json")) std::cout << out.dump(2) << "\n";
        else std::cout << loaderLine;
        return 0;
    }

    json steps = json::array();
    for (const char* preset : {"mct-default", "w4a8-lsq", "w2a3"}) {
        for (int batch : {64, 256}) {
            progress(std::string("step times: ") + preset + " batch " + std::to_string(batch));
            const auto t = stepTimes(model, preset, batch, repeats, data, registry);
            steps.push_back({{"preset", preset}, {"batch", batch}, {"float_ms", t.floatMs}, {"qat_ms", t.qatMs},
                             {"qat_over_float", t.qatMs / t.floatMs}});
            if (std::string(preset) == "mct-default") {
                out[batch == 256 ? "qat_over_float_b256" : "qat_over_float_b64"] = t.qatMs / t.floatMs;
                if (batch == 256) out["ours_qat_ms_b256"] = t.qatMs;
            }
        }
    }
    out["steps"] = steps;

    progress("Python PyTorch, same math (mct-default, batch 256)");
    const auto py = pythonStep(model, 256, repeats);
    out["python"] = py;
    out["python_over_ours_b256"] = py.contains("qat_ms") ? json(py["qat_ms"].get<double>() / out["ours_qat_ms_b256"].get<double>()) : json(nullptr);

    progress("quantizer throughput");
    out["quantizers"] = quantizerThroughput(registry, quick ? 3 : 7);

    progress("GUI vs headless (a short run, both as processes)");
    const auto bin = exeDir();
    const auto tmp = std::filesystem::temp_directory_path() / ("qatwb-bench-gui-" + std::to_string(getpid()));
    std::filesystem::create_directories(tmp);
    const auto steps120 = std::string(quick ? "60" : "150");
    const auto headless = timeCommand(bin + "/qatwb train --model " + model + " --steps " + steps120
                                      + " --limit-train 1024 --limit-test 256 --db " + (tmp / "h.sqlite").string()
                                      + " >/dev/null 2>&1");
    const auto gui = std::filesystem::exists(bin + "/qat-workbench")
                         ? timeCommand("QT_QPA_PLATFORM=offscreen QATWB_RUNS_DB=" + (tmp / "g.sqlite").string() + " " + bin
                                       + "/qat-workbench " + model + " --run " + steps120 + " --screenshot "
                                       + (tmp / "g.png").string() + " >/dev/null 2>&1")
                         : -1.0;
    std::filesystem::remove_all(tmp);
    out["gui_seconds"] = gui;
    out["headless_seconds"] = headless;
    out["gui_over_headless"] = gui > 0 && headless > 0 ? json(gui / headless) : json(nullptr);

    progress("run store");
    out["run_store"] = runStoreSpeed();

    if (a.has("--json")) {
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << std::fixed << std::setprecision(2) << "threads " << out["threads"] << ", median of " << repeats << "\n\n"
              << "preset            batch   float ms     QAT ms   QAT/float\n";
    for (const auto& s : steps) {
        std::cout << std::left << std::setw(18) << s["preset"].get<std::string>() << std::right << std::setw(5)
                  << s["batch"].get<int>() << std::setw(11) << s["float_ms"].get<double>() << std::setw(11)
                  << s["qat_ms"].get<double>() << std::setw(12) << s["qat_over_float"].get<double>() << "\n";
    }
    if (out["python_over_ours_b256"].is_null()) {
        std::cout << "\nPython: " << py.value("note", std::string("skipped")) << "\n";
    } else {
        std::cout << "\nPython same math, mct-default batch 256: " << py["qat_ms"].get<double>() << " ms, Python/ours "
                  << out["python_over_ours_b256"].get<double>() << "\n";
    }
    std::cout << "\nquantizer (8 bit)                                  method        Melem/s  LibTorch Melem/s  time ours/LibTorch\n";
    for (const auto& q : out["quantizers"]) {
        std::cout << std::left << std::setw(50) << q["quantizer"].get<std::string>() << std::setw(14)
                  << q["method"].get<std::string>() << std::right << std::setw(8) << q["elements_per_s"].get<double>() / 1e6
                  << std::setw(18) << q["libtorch_fake_quant_elements_per_s"].get<double>() / 1e6 << std::setw(20)
                  << q["ours_over_libtorch_time"].get<double>() << "\n";
    }
    std::cout << "\nGUI open and plotting / headless (" << steps120 << " steps, both as processes): "
              << (out["gui_over_headless"].is_null() ? std::string("n/a") : std::to_string(out["gui_over_headless"].get<double>()))
              << "\nrun store: " << out["run_store"]["metric_inserts_per_s"].get<double>() << " metric inserts/s, list "
              << out["run_store"]["runs_listed"] << " runs in " << out["run_store"]["list_runs_ms"].get<double>() << " ms\n"
              << loaderLine;
    return 0;
}

} // namespace qat::cli
