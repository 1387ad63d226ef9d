// SPDX-License-Identifier: MIT
// Benchmarks measured as ratios within one run (this machine is noisy): each pair of
// numbers is measured interleaved, and every figure is the median of its repeats.
#include "bench_command.h"

#include "arguments.h"
#include "bench_accuracy.h"
#include "bench_data.h"
#include "bench_measures.h"
#include "bench_models.h"
#include "bench_profile.h"
#include "bench_ranks.h"
#include "train_command.h"

#include "common/text.h"
#include "engine/quantization_plan.h"
#include "training/tensor_dataset.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include <unistd.h>

namespace qat::cli {

const char* const kBenchHelp =
    "usage: qatwb bench [--quick] [--json] [--model MODEL] [--only PARTS] [--profile PRESET]\n"
    "       qatwb bench --only accuracy [--zoo DIR] [--epochs N] [--presets P,..] [--models M,..] [--init METHOD]\n"
    "                   [--lr-probe | --no-lr-probe] [--quantizer-warmup N]\n"
    "\n"
    "Measures, on this machine, as ratios from one run (medians of repeats, pairs interleaved):\n"
    "  QAT step / float step (forward, loss, backward, optimizer) at batch 64 and 256 for the\n"
    "    presets mct-default, w4a8-lsq, w2a3, w4a4-lsq-uniform on the demo model and on\n"
    "    torchvision's MobileNet v2 and ResNet-18 at 64x64 (written on first use into\n"
    "    ~/.cache/qat-workbench/bench-models-64 with /usr/bin/python3 and python3-torchvision);\n"
    "    --model MODEL times that model alone (Fashion-MNIST batches when it takes [N, 1, 28, 28],\n"
    "    else synthetic batches of its input shape)\n"
    "  the same QAT step in Python PyTorch (tests/bench/qat_step_python.py, /usr/bin/python3;\n"
    "    skipped with a note when torch is absent) / ours\n"
    "  each built-in quantizer's forward+backward throughput (fused kernels, composite reference)\n"
    "    vs LibTorch's fake_quantize kernels; the QAT step is also timed with the composite quantizers\n"
    "  training time per step with the workbench window open on Live Plots / headless\n"
    "  run store: metric inserts per second, time to list 1,000 runs\n"
    "  training throughput (images/s, global batch 128) with 1 process and with --local-ranks 2\n"
    "  data loader: a JPEG folder (2048 images of 96x96, or --data DIR) decoded and cropped to the\n"
    "    RGB fixture model's 32x32 input: loader images/s vs QAT training images/s (batch 64), and\n"
    "    the share of a loader-fed epoch spent waiting for data: decoding every epoch, and with\n"
    "    the in-memory cache in the first and the second epoch\n"
    "  --quick   fewer repeats (a few minutes)\n"
    "  --only P  only these parts, comma-separated: steps, python, quantizers, gui, store, ranks, data,\n"
    "            accuracy (not run by default: hours on a laptop)\n"
    "  accuracy: every preset trained on every model of a zoo of trained float models\n"
    "    (tests/bench/make_trained_zoo.py DIR), full Fashion-MNIST; prints top-1 vs float, the\n"
    "    delta against issue #27's bound, and the seconds each run took\n"
    "  --zoo DIR      the zoo's <name>_traced.pt files (default: $QATWB_ZOO, else ./zoo)\n"
    "  --epochs N     epochs of every run (default: 1, w2a3 3)\n"
    "  --presets P    only these presets; --models M only these zoo models (comma-separated)\n"
    "  --init METHOD  every quantizer's initialisation (max, mse, percentile, auto; default: the preset's)\n"
    "  --lr-probe, --no-lr-probe  learning rates measured by a probe, or the rule's (see qatwb train)\n"
    "  --quantizer-warmup N  steps over which the quantizers' rate rises from 0 (see qatwb train)\n"
    "  --limit-train N, --limit-test N  the first N images (a quick look, not the table)\n"
    "  --profile PRESET  profile a float and a QAT step (batch 256, or --batch N) op by op with\n"
    "            LibTorch's profiler: self time per op (only that, unless --only names parts too)\n"
    "  steps: --presets P only these presets, --batch N only this batch size (any N)\n"
    "  (--profile and the steps' --presets also take a plan file, a path ending in .json)\n"
    "  --data D  an image folder (one sub-folder per class) for the data loader part\n"
    "  --json    one JSON object: qat_over_float_b256, qat_over_float_b64, python_over_ours_b256,\n"
    "            python_tuned_over_ours_b256 (Python given the app's malloc and BLAS settings)\n"
    "            (null without Python torch), gui_over_headless (demo), gui_architectures (MobileNet v2,\n"
    "            fed a folder of RGB JPEGs), steps, quantizers, run_store,\n"
    "            local_ranks, data_loader\n";

namespace {

using nlohmann::json;
using namespace bench;

const std::vector<std::string> kParts{"steps", "python", "quantizers", "gui", "store", "ranks", "data"};

void printSteps(const json& out)
{
    std::cout << "step times: blocks of 4 consecutive steps of each kind, alternating; times are medians of\n"
                 "the block medians, ratios medians of the per-block ratios (" << out["repeats"]
              << " blocks on the first model, fewer on the architectures)\n\n"
              << "model                       preset            batch   float ms     QAT ms   QAT/float   composite/float\n";
    for (const auto& s : out["steps"]) {
        std::cout << std::left << std::setw(28) << s["model"].get<std::string>() << std::setw(18)
                  << s["preset"].get<std::string>() << std::right << std::setw(5) << s["batch"].get<int>() << std::setw(11)
                  << s["float_ms"].get<double>() << std::setw(11) << s["qat_ms"].get<double>() << std::setw(12)
                  << s["qat_over_float"].get<double>() << std::setw(18);
        if (s["composite_over_float"].is_null()) {
            std::cout << "-\n";
        } else {
            std::cout << s["composite_over_float"].get<double>() << "\n";
        }
    }
    if (out.contains("steps_note")) std::cout << "note: " << out["steps_note"].get<std::string>() << "\n";
}

void printQuantizers(const json& out)
{
    std::cout << "\nquantizer (8 bit, fwd+bwd)                         method        Melem/s  composite  LibTorch  ours/LibTorch time\n";
    for (const auto& q : out["quantizers"]) {
        std::cout << std::left << std::setw(50) << q["quantizer"].get<std::string>() << std::setw(14)
                  << q["method"].get<std::string>() << std::right << std::setw(8) << q["elements_per_s"].get<double>() / 1e6
                  << std::setw(11) << q["composite_elements_per_s"].get<double>() / 1e6 << std::setw(10)
                  << q["libtorch_fake_quant_elements_per_s"].get<double>() / 1e6 << std::setw(19)
                  << q["ours_over_libtorch_time"].get<double>() << "\n";
    }
    if (!out.contains("batch_norm_quantizers")) return;
    std::cout << "\nBatchNorm (training) + ReLU + quantizer, fwd+bwd     method        Melem/s       ops  fused/ops time\n";
    for (const auto& q : out["batch_norm_quantizers"]) {
        std::cout << std::left << std::setw(50) << q["quantizer"].get<std::string>() << std::setw(14)
                  << q["method"].get<std::string>() << std::right << std::setw(8) << q["elements_per_s"].get<double>() / 1e6
                  << std::setw(10) << q["ops_elements_per_s"].get<double>() / 1e6 << std::setw(16)
                  << q["fused_over_ops_time"].get<double>() << "\n";
    }
}

void printTable(const json& out)
{
    std::cout << std::fixed << std::setprecision(2) << "threads " << out["threads"] << "\n\n";
    if (out.contains("steps")) {
        printSteps(out);
    }
    if (out.contains("python")) {
        if (out["python_over_ours_b256"].is_null()) {
            std::cout << "\nPython: " << out["python"].value("note", std::string("skipped")) << "\n";
        } else {
            const auto& py = out["python"];
            std::cout << "\nPython same math, mct-default batch 256: " << py["python_qat_ms"].get<double>()
                      << " ms, ours " << py["ours_qat_ms"].get<double>() << " ms, Python/ours "
                      << out["python_over_ours_b256"].get<double>() << " (median of " << py["rounds"]
                      << " alternating rounds of " << py["steps_per_round"] << " steps)\n"
                      << "Python with the allocator and BLAS settings the app makes for itself ("
                      << py["python_tuned_environment"].get<std::string>() << "): " << py["python_tuned_qat_ms"].get<double>()
                      << " ms, Python/ours " << py["python_tuned_over_ours"].get<double>() << "\n";
        }
    }
    if (out.contains("quantizers")) {
        printQuantizers(out);
    }
    if (out.contains("gui")) {
        const auto& g = out["gui"];
        std::cout << "\nGUI open on Live Plots / headless, time per training step: ";
        if (out["gui_over_headless"].is_null()) {
            std::cout << g.value("note", std::string("n/a")) << "\n";
        } else {
            std::cout << out["gui_over_headless"].get<double>() << " (" << g["gui_ms_per_step"].get<double>() << " / "
                      << g["headless_ms_per_step"].get<double>() << " ms; median of the ratios of " << g["rounds"]
                      << " rounds of " << g["steps"] << " steps, a headless and a windowed run each, in alternating order:";
            for (const auto& r : g["round_ratios"]) std::cout << " " << r.get<double>();
            std::cout << ")\n";
        }
        for (const auto& row : out.value("gui_architectures", json::array())) {
            std::cout << "  on " << row.value("model", std::string()) << ": ";
            if (row.contains("gui_over_headless")) {
                std::cout << row["gui_over_headless"].get<double>() << " (" << row["gui_ms_per_step"].get<double>()
                          << " / " << row["headless_ms_per_step"].get<double>() << " ms, " << row["rounds"]
                          << " rounds of " << row["steps"] << " steps)\n";
            } else {
                std::cout << row.value("note", std::string("n/a")) << "\n";
            }
        }
    }
    if (out.contains("run_store")) {
        std::cout << "\nrun store: " << out["run_store"]["metric_inserts_per_s"].get<double>() << " metric inserts/s, list "
                  << out["run_store"]["runs_listed"] << " runs in " << out["run_store"]["list_runs_ms"].get<double>() << " ms\n";
    }
    if (out.contains("local_ranks")) {
        std::cout << "\ntraining throughput, global batch 128 (ranks: images/s summed over ranks, wall s)\n";
        for (const auto& r : out["local_ranks"]) {
            std::cout << "  " << r["ranks"].get<int>() << ": "
                      << (r["images_per_second"].is_null() ? std::string("failed")
                                                           : std::to_string(r["images_per_second"].get<double>()))
                      << ", " << r["wall_seconds"].get<double>() << "\n";
        }
    }
}

AccuracyOptions accuracyOptions(const Arguments& a)
{
    AccuracyOptions o;
    const char* zoo = std::getenv("QATWB_ZOO");
    o.zoo = a.value("--zoo", zoo != nullptr && *zoo != 0 ? zoo : "zoo");
    o.epochs = int(a.integer("--epochs", 0));
    o.presets = splitList(a.value("--presets", ""));
    for (const auto& preset : o.presets) {
        engine::presetPlan(preset); // an unknown name fails here, with the list
    }
    o.models = splitList(a.value("--models", ""));
    if (!a.value("--init").empty()) {
        o.init = quant::parseInitMethod(a.value("--init"));
    }
    o.limitTrain = a.integer("--limit-train", 0);
    o.limitTest = a.integer("--limit-test", 0);
    o.lrProbe = a.onOff("--lr-probe", "--no-lr-probe");
    o.quantizerWarmup = quantizerWarmup(a);
    return o;
}

} // namespace

int runBench(const std::vector<std::string>& args)
{
    const auto a = parseArguments({"bench",
                                   {"--model", "--only", "--data", "--profile", "--zoo", "--epochs", "--presets", "--models",
                                    "--init", "--limit-train", "--limit-test", "--batch", "--quantizer-warmup"},
                                   {"--quick", "--json", "--lr-probe", "--no-lr-probe"},
                                   0,
                                   0},
                                  args);
    const bool quick = a.has("--quick");
    const int repeats = quick ? 9 : 25;
    const auto model = a.value("--model", QATWB_SOURCE_DIR "/resources/models/demo_cnn.pt");
    // --profile alone profiles only; with --only it adds those parts.
    std::vector<std::string> parts = a.values.count("--profile") > 0 ? std::vector<std::string>{} : kParts;
    if (a.values.count("--only") > 0) {
        parts = splitList(a.value("--only", ""));
        for (const auto& part : parts) {
            if (part != "accuracy" && std::find(kParts.begin(), kParts.end(), part) == kParts.end()) {
                std::cerr << "qatwb bench: unknown part '" << part << "' in --only; the parts are steps, python, quantizers, gui, store, ranks, data, accuracy\n";
                return 2;
            }
        }
    }
    auto want = [&](const char* part) { return std::find(parts.begin(), parts.end(), part) != parts.end(); };
    quant::QuantizerRegistry registry;
    quant::registerBuiltinQuantizers(registry);
    json out{{"threads", at::get_num_threads()}, {"repeats", repeats}, {"model", model}};
    // The contract keys are always present (null when their part did not run).
    out["qat_over_float_b256"] = nullptr;
    out["python_over_ours_b256"] = nullptr;
    out["gui_over_headless"] = nullptr;
    auto progress = [&](const std::string& text) {
        if (!a.has("--json")) std::cerr << text << "\n";
    };

    const auto main = benchModel(model);
    const auto stepPresets = splitList(a.value("--presets", ""));
    for (const auto& preset : stepPresets) {
        benchPlan(preset); // an unknown name or a bad plan file fails here
    }
    if (a.values.count("--profile") > 0) {
        benchPlan(a.value("--profile", "mct-default"));
    }
    const int onlyBatch = int(a.integer("--batch", 0));
    // The real architectures (steps and gui parts), written by Python once per run.
    std::string archNote;
    std::vector<BenchModel> architectures;
    if (a.values.count("--model") == 0 && (want("steps") || want("gui"))) {
        architectures = benchArchitectures(&archNote);
    }
    if (want("steps")) {
        std::vector<BenchModel> models{main};
        models.insert(models.end(), architectures.begin(), architectures.end());
        if (!archNote.empty()) out["steps_note"] = archNote;
        json steps = json::array();
        for (const auto& m : models) {
            const bool first = &m == &models.front();
            const auto data = benchData(m, std::max(256, onlyBatch) * (first ? 8 : 2));
            // The architectures take seconds per step: fewer blocks, and no composite reference.
            const int blocks = first ? repeats : (quick ? 2 : 4);
            // --presets times what it names (any preset, a plan file), in its order.
            const auto timed = stepPresets.empty()
                                   ? std::vector<std::string>{"mct-default", "w4a8-lsq", "w2a3", "w4a4-lsq-uniform"}
                                   : stepPresets;
            for (const auto& preset : timed) {
                // --batch N: that size alone (any size: batch 1 shows the per-step overheads).
                for (int batch : onlyBatch > 0 ? std::vector<int>{onlyBatch} : std::vector<int>{64, 256}) {
                    progress("step times: " + m.name + " " + preset + " batch " + std::to_string(batch));
                    const auto t = stepTimes(m.path, preset, batch, blocks, data, registry, first);
                    json row{{"model", m.name}, {"preset", preset}, {"batch", batch}, {"float_ms", t.floatMs},
                             {"qat_ms", t.qatMs}, {"qat_over_float", t.qatOverFloat}};
                    row["composite_qat_ms"] = first ? json(t.compositeMs) : json(nullptr);
                    row["composite_over_float"] = first ? json(t.compositeOverFloat) : json(nullptr);
                    steps.push_back(row);
                    if (first && preset == "mct-default" && (batch == 64 || batch == 256)) {
                        out[batch == 256 ? "qat_over_float_b256" : "qat_over_float_b64"] = t.qatOverFloat;
                        if (batch == 256) out["ours_qat_ms_b256"] = t.qatMs;
                    }
                }
            }
        }
        out["steps"] = steps;
    }
    if (a.values.count("--profile") > 0) {
        const auto preset = a.value("--profile", "mct-default");
        const int batch = onlyBatch > 0 ? onlyBatch : 256;
        progress("profile: float and QAT steps, " + preset + " batch " + std::to_string(batch));
        out["profile"] = stepProfile(model, preset, batch, quick ? 5 : 20, benchData(main, batch * 8), registry);
    }
    if (want("python") && !main.fashionMnist) {
        out["python"] = {{"note", "the Python comparison (tests/bench/qat_step_python.py) feeds Fashion-MNIST batches; "
                                  + main.name + " takes other inputs, so it is skipped"}};
    } else if (want("python")) {
        progress("Python PyTorch, same math (mct-default, batch 256)");
        const auto data = benchData(main, 256 * 8);
        const auto py = pythonVsOurs(model, 256, quick ? 3 : 7, quick ? 7 : 11, data, registry);
        out["python"] = py;
        if (py.contains("python_over_ours")) {
            out["python_over_ours_b256"] = py["python_over_ours"];
            out["python_tuned_over_ours_b256"] = py["python_tuned_over_ours"];
        }
    }
    if (want("quantizers")) {
        progress("quantizer throughput");
        out["quantizers"] = quantizerThroughput(registry, quick ? 3 : 7);
        out["batch_norm_quantizers"] = batchNormThroughput(registry, quick ? 3 : 7);
    }
    if (want("gui")) {
        progress("GUI vs headless (short runs, alternating)");
        // The data named: the window otherwise trains on whatever data it was last shown.
        out["gui"] = guiVsHeadless(model, quick ? 100 : 200, quick ? 3 : 7, main.fashionMnist ? "fashion-mnist" : "");
        if (out["gui"].contains("gui_ms_per_step")) {
            out["gui_over_headless"] = out["gui"]["gui_over_headless"];
        }
        // And on MobileNet v2, fed a folder of RGB JPEGs: a real architecture has ~10x the
        // quantizers (plot series) of the demo, and steps ~20x as long.
        if (!archNote.empty()) out["gui_architectures_note"] = archNote;
        for (const auto& m : architectures) {
            if (m.name.rfind("mobilenet_v2", 0) != 0) continue;
            progress("GUI vs headless on " + m.name);
            const auto folder = std::filesystem::temp_directory_path() / ("qatwb-bench-gui-data-" + std::to_string(getpid()));
            writeImageFolder(folder, 512, int(m.input.at(1)));
            auto row = guiVsHeadless(m.path, quick ? 20 : 40, quick ? 3 : 5, folder.string());
            row["model"] = m.name;
            out["gui_architectures"] = json::array({row});
            std::filesystem::remove_all(folder);
        }
    }
    if (want("store")) {
        progress("run store");
        out["run_store"] = runStoreSpeed();
    }
    if (want("ranks")) {
        progress("training throughput with 1 and 2 local ranks");
        out["local_ranks"] = localRanksThroughput(std::filesystem::read_symlink("/proc/self/exe").string(), model, quick);
    }
    if (want("data")) {
        progress("data loader: JPEG folder vs training steps");
        out["data_loader"] = dataLoaderBench(QATWB_SOURCE_DIR "/tests/fixtures/data/rgb_cnn.pt", a.value("--data"),
                                             quick ? 512 : 2048, 96, 64);
    }
    if (want("accuracy")) {
        out["accuracy"] = accuracyTable(accuracyOptions(a), registry, progress);
    }
    if (a.has("--json")) {
        std::cout << out.dump(2) << "\n";
    } else {
        printTable(out);
        if (out.contains("profile")) {
            printStepProfile(out["profile"]);
        }
        if (out.contains("accuracy")) {
            printAccuracy(out["accuracy"]);
        }
        if (out.contains("data_loader")) {
            const auto& dl = out["data_loader"];
            std::cout << "\ndata loader: " << dl["images"] << " JPEGs -> " << dl["fed_shape"].dump() << ": loader "
                      << dl["loader_images_per_s"].get<double>() << " images/s (" << dl["loader_threads"]
                      << " threads, the extra ones at idle priority), QAT training "
                      << dl["training_images_per_s"].get<double>() << " images/s (" << dl["steps_per_s"].get<double>()
                      << " steps/s at batch " << dl["batch"] << "), loader/training "
                      << dl["loader_over_training"].get<double>() << "; fed by the loader, steps waited "
                      << 100 * dl["fed_wait_share"].get<double>() << " % of the time decoding every epoch; with the\n"
                      << "in-memory cache " << 100 * dl["wait_share_first_epoch"].get<double>() << " % in the first epoch, "
                      << 100 * dl["wait_share_later_epochs"].get<double>() << " % in the second\n";
        }
    }
    return 0;
}

} // namespace qat::cli
