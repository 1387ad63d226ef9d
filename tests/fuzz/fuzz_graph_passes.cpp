// SPDX-License-Identifier: MIT
// libFuzzer target: the passes that rewrite TorchScript graphs, on models made from the
// input (model_generator.h): import (inlining, attribute freezing, traced-BatchNorm fix,
// clean-up), layer discovery, BatchNorm folding, quantizer insertion, calibration, one
// training step, the TorchScript export rewrite and the ONNX writer.
// A refusal (qat::Error, or a LibTorch error for a model that cannot run) is a correct
// answer. A crash, a sanitizer report, an IR the passes left malformed (LibTorch's lint or
// an internal assert), an error that is neither of ours nor LibTorch's, an exported model
// that still calls qat:: ops, fails to load or run, or computes something other than the
// training forward, is a bug. QATWB_FUZZ_VERBOSE=1 prints each model and how far it got.
#include "byte_reader.h"
#include "model_generator.h"

#include "common/error.h"
#include "common/text.h"
#include "engine/qat_model.h"
#include "export/onnx_export.h"
#include "export/torchscript_export.h"
#include "quantizers/quantizer_registry.h"
#include "targets/target_registry.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/serialization/import.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using namespace qat;

bool verbose()
{
    static const bool on = std::getenv("QATWB_FUZZ_VERBOSE") != nullptr;
    return on;
}

std::string scratch(const char* suffix)
{
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/qatwb-fuzz-graph-" + std::to_string(getpid()) + suffix;
}

const quant::QuantizerRegistry& registry()
{
    static const auto* r = [] {
        auto* made = new quant::QuantizerRegistry();
        quant::registerBuiltinQuantizers(*made);
        return made;
    }();
    return *r;
}

[[noreturn]] void bug(const fuzz::FuzzModel& model, const std::string& what)
{
    std::string shape;
    for (auto d : model.inputShape) {
        shape += (shape.empty() ? "" : "x") + std::to_string(d);
    }
    std::fprintf(stderr, "\n=== graph passes: %s\n=== model (input %s):\n%s\n", what.c_str(), shape.c_str(),
                 model.description.c_str());
    __builtin_trap();
}

void note(const char* stage, const std::string& message)
{
    if (verbose()) {
        std::fprintf(stderr, "  %s: %s\n", stage, message.substr(0, message.find('\n')).c_str());
    }
}

// Runs one stage; false when it refused. A LibTorch error (c10::Error, or the interpreter's
// runtime_error when the model's own code fails) is a refusal unless it says our rewrite
// broke an invariant of the IR; any other exception escapes (a bug, see the caller).
template <typename Stage>
bool stage(const fuzz::FuzzModel& model, const char* name, Stage&& body)
{
    std::string refusal;
    try {
        body();
        return true;
    } catch (const Error& e) {
        refusal = e.what();
    } catch (const c10::Error& e) {
        refusal = e.what_without_backtrace();
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).rfind("The following operation failed in the TorchScript interpreter", 0) != 0) {
            throw;
        }
        refusal = interpreterError(e.what());
    }
    if (refusal.find("INTERNAL ASSERT FAILED") != std::string::npos) {
        bug(model, std::string(name) + ": " + refusal);
    }
    note(name, refusal);
    return false;
}

engine::QuantizationPlan choosePlan(fuzz::ByteReader& in)
{
    static const char* const kKinds[][2] = {
        {"STE:symmetric:8:per-channel", "STE:symmetric:8"},     {"STE:power-of-two:8:per-channel", "STE:power-of-two:8"},
        {"STE:uniform:8:per-channel", "STE:uniform:8"},         {"LSQ:symmetric:4:per-channel", "LSQ:symmetric:8"},
        {"LSQ:power-of-two:4:per-tensor", "LSQ:power-of-two:4"}, {"LSQ:uniform:4:per-channel", "LSQ:uniform:4"},
        {"LSQ:symmetric:8:per-tensor", "PACT:symmetric:8"},     {"STE:symmetric:2:per-channel", "PACT:power-of-two:3"},
        {"LSQ:uniform:8:per-tensor", "LSQ+:uniform:8"},         {"STE:symmetric:16:per-tensor", "STE:symmetric:16"}};
    const auto presets = engine::presetNames();
    auto plan = engine::presetPlan(presets.at(size_t(in.pick(int(presets.size())))));
    if (in.flag()) {
        const auto& kind = kKinds[in.pick(int(std::size(kKinds)))];
        engine::parseChoiceSpec(kind[0], "weights").applyTo(plan.weights);
        auto activations = engine::parseChoiceSpec(kind[1], "activations");
        activations.perChannel.reset();
        activations.applyTo(plan.activations);
        plan.preset.clear();
    }
    plan.foldBatchNorm = in.pick(4) != 3;
    plan.quantizeInput = in.pick(4) != 3;
    return plan;
}

// Where the model deploys (which tensors get quantizers, integer bias) and the ONNX flavour.
// Read after the model, so inputs written before targets existed keep their meaning.
bool chooseDeployment(fuzz::ByteReader& in, engine::QuantizationPlan& plan)
{
    const auto& targets = target::builtinTargets().all();
    plan.target = targets.at(size_t(in.pick(int(targets.size())))).name;
    plan.integerBias = in.pick(4) != 3;
    return in.flag(); // mct_quantizers nodes instead of Q/DQ pairs
}

double maxAbs(const at::Tensor& t)
{
    return t.numel() == 0 ? 0.0 : t.abs().max().item<double>();
}

// Build, calibrate, train a step, export; returns at the first refusal.
void run(const fuzz::FuzzModel& model, const engine::QuantizationPlan& plan, bool mctq, uint64_t seed)
{
    const auto path = scratch(".pt");
    model.module.save(path);
    std::unique_ptr<engine::QatModel> qat;
    if (!stage(model, "build", [&] {
            qat = engine::QatModel::build(path, plan, registry());
            qat->module().get_method(engine::QatModel::kMethodName).graph()->lint();
        })) {
        return;
    }
    auto random = at::detail::createCPUGenerator(seed);
    const auto x = at::randn(model.inputShape, random);
    at::Tensor trained;
    if (!stage(model, "calibrate/train", [&] {
            qat->calibrateWeights();
            qat->beginActivationCalibration();
            qat->observeBatch(x);
            qat->finishActivationCalibration();
            qat->train(true);
            if (const auto y = qat->forward(x); y.requires_grad()) {
                y.sum().backward();
            }
            qat->train(false);
            at::NoGradGuard noGrad;
            trained = qat->forward(x);
        })) {
        return;
    }
    std::vector<std::unique_ptr<quant::InferableQuantizer>> inferables(qat->table().size());
    torch::jit::Module exported;
    std::vector<int64_t> slotsInOrder;
    if (!stage(model, "export", [&] {
            for (const auto& site : qat->sites()) {
                inferables[size_t(site.slot)] = qat->table().at(size_t(site.slot)).convertToInferable();
            }
            exported = exporter::makeExportModule(*qat, inferables, &slotsInOrder);
            exported.get_method("forward").graph()->lint();
        })) {
        return;
    }
    if (const auto foreign = exporter::foreignOps(exported); !foreign.empty()) {
        bug(model, "the exported model still calls " + foreign.front());
    }
    if (stage(model, "onnx", [&] {
            exporter::OnnxWriteOptions options;
            if (mctq) {
                options.quantizers = exporter::OnnxQuantizers::Mctq;
                options.quantizerSlots = slotsInOrder;
                for (const auto& q : inferables) options.inferables.push_back(q.get());
            }
            exporter::writeOnnxModel(exported, model.inputShape, trained.sizes().vec(), scratch(".onnx"), options);
        })) {
        note("onnx", "written");
    }
    // What stock PyTorch would load: it must run and compute the training forward.
    at::Tensor reloaded;
    try {
        exported.save(scratch("-export.pt"));
        auto module = torch::jit::load(scratch("-export.pt"));
        module.eval();
        at::NoGradGuard noGrad;
        reloaded = module.forward({x}).toTensor();
    } catch (const std::exception& e) {
        bug(model, std::string("the exported TorchScript does not run: ") + e.what());
    }
    if (!trained.isfinite().all().item<bool>()) {
        return note("parity", "training forward not finite; not compared");
    }
    const double diff = reloaded.sizes() == trained.sizes() ? maxAbs(reloaded - trained) : -1.0;
    if (!(diff >= 0 && diff <= 1e-5 * (1.0 + maxAbs(trained)))) {
        bug(model, "the exported TorchScript differs from the training forward by " + std::to_string(diff));
    }
    note("parity", "max |diff| " + std::to_string(diff));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    at::set_num_threads(1);
    registry();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::ByteReader in(data, size);
    auto plan = choosePlan(in);
    const uint64_t seed = uint64_t(in.pick(256));
    fuzz::FuzzModel model;
    if (in.pick(4) == 3) {
        model = fuzz::mutateFixture(in, {QATWB_FIXTURES_DIR "/models", QATWB_FIXTURES_DIR "/export"});
    } else {
        try {
            model = fuzz::generateModel(in);
        } catch (const std::exception& e) {
            // The generator writes valid TorchScript: this is a bug of the fuzz target itself.
            std::fprintf(stderr, "generator: %s\n", e.what());
            __builtin_trap();
        }
    }
    const bool mctq = chooseDeployment(in, plan);
    if (verbose()) {
        std::fprintf(stderr, "--- target %s%s: %s\n", plan.target.c_str(), mctq ? ", mctq-onnx" : "",
                     model.description.c_str());
    }
    try {
        run(model, plan, mctq, seed);
    } catch (const std::exception& e) {
        bug(model, std::string("an error that is neither qat's nor LibTorch's: ") + e.what());
    }
    return 0;
}
