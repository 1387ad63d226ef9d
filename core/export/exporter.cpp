// SPDX-License-Identifier: MIT
#include "export/exporter.h"

#include "common/error.h"
#include "common/sha256.h"
#include "common/text.h"
#include "common/version.h"
#include "engine/checkpoint.h"
#include "engine/qat_model.h"
#include "export/mct_arithmetic.h"
#include "export/onnx_export.h"
#include "export/onnx_runtime_check.h"
#include "export/spec_file.h"
#include "export/torchscript_export.h"
#include "quantizers/quantizer_error.h"
#include "training/tensor_dataset.h"

#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

namespace qat::exporter {

namespace {

namespace fs = std::filesystem;
using engine::QatModel;
using Inferables = std::vector<std::unique_ptr<quant::InferableQuantizer>>;

constexpr int64_t kBatch = 1000;
constexpr int64_t kSiteImages = 256;

at::Tensor logits(const std::function<at::Tensor(const at::Tensor&)>& forward, const at::Tensor& images)
{
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> parts;
    for (int64_t start = 0; start < images.size(0); start += kBatch) {
        parts.push_back(forward(images.slice(0, start, std::min(images.size(0), start + kBatch))));
    }
    return at::cat(parts);
}

// The model file's SHA-256, after checking it is the one the run was trained on.
std::string checkModelFile(const ExportRequest& r)
{
    auto hash = sha256File(r.modelPath);
    if (!r.modelHash.empty() && hash != r.modelHash) {
        throw Error(r.modelPath + " has changed since run " + std::to_string(r.runId) + " was trained on it (SHA-256 "
                    + r.modelHash.substr(0, 12) + "... then, " + hash.substr(0, 12)
                    + "... now); export needs the exact file the run was trained on: restore it, or train again");
    }
    return hash;
}

void prepareFolder(const std::string& dir)
{
    if (dir.empty()) {
        throw Error("no output folder given (--out DIR)");
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    const auto probe = fs::path(dir) / ".qatwb-write-test";
    std::ofstream out(probe);
    if (ec || !out) {
        throw Error("cannot write to the export folder " + dir + (ec ? " (" + ec.message() + ")" : "")
                    + "; choose a folder you can write to");
    }
    out.close();
    fs::remove(probe, ec);
}

// Without a stored run: calibrate the quantizers on training images, as a run starts.
void calibrate(QatModel& model, const ExportRequest& r)
{
    const auto batches = train::loadCalibrationBatches(
        r.data, r.dataOptions, [&](const at::Tensor& x) { return model.floatForward(x); }, r.seed, r.calibrationBatches,
        r.batch);
    model.calibrateWeights();
    model.beginActivationCalibration();
    for (const auto& batch : batches) {
        model.observeBatch(batch);
    }
    model.finishActivationCalibration();
}

Inferables convert(QatModel& model)
{
    Inferables inferables(model.table().size());
    for (const auto& site : model.sites()) {
        try {
            inferables[size_t(site.slot)] = model.table().at(size_t(site.slot)).convertToInferable();
        } catch (const quant::QuantizerError& e) {
            throw Error(site.name + ": cannot be converted for deployment: " + e.what());
        }
    }
    return inferables;
}

std::string describeChange(const quant::QuantizerSnapshot& trained, const quant::InferableQuantizer& inferable)
{
    const auto args = inferable.arguments();
    const auto found = trained.values.find("threshold");
    if (found == trained.values.end() || !args.contains("threshold")) {
        return "the exported grid differs from the trained one";
    }
    const auto exported = args["threshold"].get<std::vector<float>>();
    double worst = 0;
    for (size_t i = 0; i < std::min(exported.size(), found->second.size()); ++i) {
        worst = std::max(worst, std::abs(double(exported[i]) / double(found->second[i]) - 1.0));
    }
    return "threshold changed at conversion by up to " + std::to_string(int(std::lround(worst * 100)))
           + " % (powers of two are rounded up, as MCT does)";
}

// Each quantizer vs its inferable form, on the weights or on the activations it saw.
std::vector<SiteParity> siteParity(QatModel& model, const Inferables& inferables, const at::Tensor& images)
{
    std::map<int64_t, at::Tensor> captured;
    model.table().setCapture(&captured);
    {
        at::NoGradGuard noGrad;
        model.forward(images.slice(0, 0, std::min(images.size(0), kSiteImages)));
    }
    model.table().setCapture(nullptr);
    std::vector<SiteParity> sites;
    at::NoGradGuard noGrad;
    for (const auto& site : model.sites()) {
        const auto& inferable = *inferables[size_t(site.slot)];
        auto& trainable = model.table().at(size_t(site.slot));
        SiteParity p{site.name, quant::toString(site.target), inferable.className(), 0, {}};
        const auto x = site.target == quant::Target::Weights ? site.weight.detach() : captured[site.slot];
        if (!x.defined()) {
            p.note = "not reached by the forward pass";
        } else {
            p.maxAbsDiff = (trainable.forward(x) - inferable.forward(x)).abs().max().item<double>();
            if (p.maxAbsDiff > 0) {
                p.note = describeChange(trainable.snapshot(), inferable);
            }
        }
        if (site.target == quant::Target::Weights) {
            // A consumer rebuilds the quantizer from the spec and applies it to the exported
            // weights: they must come back unchanged (uniform ranges that it would not move).
            const auto exported = inferable.forward(site.weight.detach());
            if (const auto rebuilt = mctInferableForward(inferable.className(), inferable.arguments(), exported)) {
                p.rebuildMaxAbsDiff = (*rebuilt - exported).abs().max().item<double>();
                if (p.rebuildMaxAbsDiff > 0) {
                    p.note += std::string(p.note.empty() ? "" : "; ") + "mct_quantizers' arithmetic moves the exported "
                              + "weights by up to " + std::to_string(p.rebuildMaxAbsDiff);
                }
            }
        }
        sites.push_back(p);
    }
    return sites;
}

void fillParity(ParityReport& parity, const at::Tensor& trained, const at::Tensor& exported, const at::Tensor& labels)
{
    parity.images = trained.size(0);
    parity.maxAbsDiff = (exported - trained).abs().max().item<double>();
    const auto trainedClass = trained.argmax(1);
    const auto exportedClass = exported.argmax(1);
    parity.top1Agreement = trainedClass.eq(exportedClass).to(at::kDouble).mean().item<double>();
    parity.trainingTop1 = trainedClass.eq(labels).to(at::kDouble).mean().item<double>();
    parity.exportedTop1 = exportedClass.eq(labels).to(at::kDouble).mean().item<double>();
    parity.notes.push_back(parity.maxAbsDiff == 0 ? "the exported TorchScript reproduces the training forward bit for bit"
                                                  : "the exported TorchScript differs from the training forward by up to "
                                                        + std::to_string(parity.maxAbsDiff));
    for (const auto& s : parity.sites) {
        if (s.maxAbsDiff > 0) {
            parity.notes.push_back(s.name + ": " + s.note);
        }
    }
}

// The ONNX file in ONNX Runtime (default optimizations) vs the training forward, when the
// runtime is installed; otherwise the report says how to get it.
RuntimeParity runtimeParity(const std::string& onnxPath, const at::Tensor& images, const at::Tensor& trained,
                            const at::Tensor& labels)
{
    RuntimeParity r;
    std::string reason;
    const auto setup = findOnnxRuntime(&reason);
    if (!setup) {
        r.note = "not checked in ONNX Runtime: " + reason;
        return r;
    }
    try {
        const auto run = runOnnxRuntime(*setup, onnxPath, images);
        r.checked = true;
        r.runtime = "ONNX Runtime " + run.version + " (CPU, default optimizations)";
        r.images = images.size(0);
        r.maxAbsDiff = (run.outputs - trained).abs().max().item<double>();
        const auto predicted = run.outputs.argmax(1);
        r.top1Agreement = predicted.eq(trained.argmax(1)).to(at::kDouble).mean().item<double>();
        r.runtimeTop1 = predicted.eq(labels).to(at::kDouble).mean().item<double>();
    } catch (const Error& e) {
        r.note = std::string("not checked in ONNX Runtime: ") + e.what();
    }
    return r;
}

void writeText(const std::string& path, const std::string& text)
{
    const auto partial = path + ".partial";
    {
        std::ofstream out(partial, std::ios::binary);
        out << text;
        out.flush();
        if (!out) {
            std::error_code ec;
            fs::remove(partial, ec);
            throw Error("cannot write " + path + " (disk full or no permission?)");
        }
    }
    fs::rename(partial, path);
}

} // namespace

ExportResult exportModel(const ExportRequest& r, const quant::QuantizerRegistry& registry)
{
    setComputeThreads(r.threads);
    const auto hash = checkModelFile(r);
    prepareFolder(r.outDir);
    const auto base = (fs::path(r.outDir) / r.baseName).string();
    auto wants = [&](Format f) { return std::find(r.formats.begin(), r.formats.end(), f) != r.formats.end(); };

    ExportResult result;
    try {
        auto model = QatModel::build(r.modelPath, r.plan, registry);
        const auto test = train::loadEvaluationData(
            r.data, r.dataOptions, [&](const at::Tensor& x) { return model->floatForward(x); }, r.parityImages);
        if (r.checkpoint.empty()) {
            calibrate(*model, r);
        } else {
            engine::loadCheckpoint(*model, r.checkpoint);
        }
        model->train(false);
        auto inferables = convert(*model);
        auto& parity = result.parity;
        parity.sites = siteParity(*model, inferables, test.images);
        const auto trained = logits([&](const at::Tensor& x) { return model->forward(x); }, test.images);

        Spec spec{r.modelPath, hash, r.runId, appVersion(), {}};
        for (const auto& site : model->sites()) {
            const auto& key = model->table().at(size_t(site.slot)).key();
            const auto& inferable = *inferables[size_t(site.slot)];
            spec.entries.push_back({site.name, site.layer, site.target, key.training, quant::toString(key.method),
                                    inferable.className(), inferable.arguments(), nullptr});
        }
        std::vector<int64_t> slotsInOrder;
        auto module = makeExportModule(*model, inferables, &slotsInOrder);
        if (const auto foreign = foreignOps(module); !foreign.empty()) {
            throw Error("internal error: the exported model still calls " + foreign.front());
        }
        // ONNX first: an unsupported op stops the export before any file is written.
        const auto inputShape = test.images.slice(0, 0, 1).sizes().vec();
        const auto outputShape = trained.slice(0, 0, 1).sizes().vec();
        if (wants(Format::Onnx)) {
            result.qdqPairs = writeOnnxModel(module, inputShape, outputShape, base + ".onnx").quantizers;
            result.files.push_back({Format::Onnx, base + ".onnx"});
        }
        if (wants(Format::MctqOnnx)) {
            OnnxWriteOptions mctq;
            mctq.quantizers = OnnxQuantizers::Mctq;
            mctq.quantizerSlots = slotsInOrder;
            for (const auto& q : inferables) mctq.inferables.push_back(q.get());
            mctq.metadata = {{"producer", "qat-workbench"}, {"qat_workbench_version", appVersion()},
                             {"run_id", std::to_string(r.runId)}, {"model_sha256", hash},
                             {"mctq_version", kMctqVersion}};
            const auto path = base + extension(Format::MctqOnnx);
            result.mctqNodes = writeOnnxModel(module, inputShape, outputShape, path, mctq).quantizers;
            result.files.push_back({Format::MctqOnnx, path});
        }
        if (wants(Format::Spec)) {
            writeText(base + ".json", specToJson(spec).dump(2) + "\n");
            result.files.push_back({Format::Spec, base + ".json"});
        }
        // The parity check always loads a saved file; without the TorchScript format it is temporary.
        const auto ptPath = wants(Format::TorchScript) ? base + ".pt" : base + ".parity-check.pt";
        module.save(ptPath + ".partial");
        fs::rename(ptPath + ".partial", ptPath);
        result.files.push_back({Format::TorchScript, ptPath});
        auto reloaded = torch::jit::load(ptPath);
        reloaded.eval();
        const auto exported = logits([&](const at::Tensor& x) { return reloaded.forward({x}).toTensor(); }, test.images);
        if (!wants(Format::TorchScript)) {
            fs::remove(ptPath);
            result.files.pop_back();
        }
        fillParity(parity, trained, exported, test.labels);
        if (wants(Format::Onnx)) {
            parity.runtime = runtimeParity(base + ".onnx", test.images, trained, test.labels);
        }
    } catch (...) {
        // Nothing half-done stays behind.
        for (const auto& f : result.files) {
            std::error_code ec;
            fs::remove(f.path, ec);
        }
        try {
            throw;
        } catch (const c10::Error& e) {
            throw Error("export failed: " + firstLine(e.what_without_backtrace()));
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {
            // The TorchScript interpreter's errors (the model's own code failed, e.g. one of
            // its assertions) come as std::runtime_error with a traceback: keep the error line.
            throw Error("export failed: the model's forward failed: " + interpreterError(e.what()));
        }
    }
    return result;
}

} // namespace qat::exporter
