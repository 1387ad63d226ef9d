// SPDX-License-Identifier: MIT
#include "export_command.h"

#include "arguments.h"
#include "registry_setup.h"
#include "train_command.h"

#include "export/exporter.h"
#include "export/run_export.h"
#include "quantizers/quantizer_registry.h"
#include "storage/run_store.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iomanip>
#include <iostream>

namespace qat::cli {

const char* const kExportHelp =
    "usage: qatwb export RUN_ID --out DIR [--format LIST] [--db FILE] [--json]\n"
    "       qatwb export --model MODEL [--preset|--plan|--weights|--activations ...] --out DIR\n"
    "\n"
    "Writes a trained run's quantizers for deployment and checks the result:\n"
    "  spec         <model>_run<ID>.json   mct_quantizers class names and constructor arguments\n"
    "  torchscript  <model>_run<ID>.pt     the model with quantized weights and LibTorch's own\n"
    "                                      fake_quantize ops; stock PyTorch loads it\n"
    "  onnx         <model>_run<ID>.onnx   QuantizeLinear/DequantizeLinear pairs, opset 17\n"
    "  mctq-onnx    <model>_run<ID>.mctq.onnx  MCT's own format: mct_quantizers-domain quantizer\n"
    "                                      nodes (what Sony's IMX500 converter reads)\n"
    "Every export reloads the TorchScript file and compares it with the training forward on the\n"
    "test images (end to end and per quantizer); an ONNX file is also run in ONNX Runtime (its\n"
    "default optimizations: integer kernels) when Node.js and onnxruntime-node are installed\n"
    "(packaging/install-deps.sh). The report is printed and stored with the run\n"
    "(`qatwb runs show ID`). Without a run id, the plan's quantizers are calibrated on training\n"
    "images (no training) and exported, for scripting.\n"
    "\n"
    "  --out DIR            folder for the files (created if needed)\n"
    "  --format LIST        comma-separated: spec,torchscript,onnx,mctq-onnx\n"
    "                       (default: spec,torchscript,onnx)\n"
    "  --limit-test N       parity check on the first N test images (default: the run's test set)\n"
    "  --data NAME|DIR      data for the parity check and calibration (default: the run's)\n"
    "  --plugin PATH        load a quantizer plugin the run used (repeatable)\n"
    "  --db FILE            run database (default $XDG_DATA_HOME/qat-workbench/runs.sqlite)\n"
    "  --json               print {files: {spec, torchscript, onnx, mctq-onnx}, parity: {..., runtime},\n"
    "                       qdq_pairs, mctq_nodes, run_id} on stdout\n"
    "Plan options without a run: --preset, --plan, --weights, --activations (as for `qatwb train`).\n"
    "\n"
    "exit codes: 0 written, 1 failed (nothing half-written is left), 2 usage error\n";

namespace {

using nlohmann::json;

std::string stem(const std::string& path)
{
    return std::filesystem::path(path).stem().string();
}

void printReport(const exporter::ExportResult& result)
{
    const auto& p = result.parity;
    for (const auto& f : result.files) {
        std::cout << "wrote " << exporter::toString(f.format) << ": " << f.path << "\n";
    }
    std::cout << std::fixed << std::setprecision(2) << "parity on " << p.images << " test images: top-1 training "
              << p.trainingTop1 * 100 << " %, exported " << p.exportedTop1 * 100 << " %, same class "
              << p.top1Agreement * 100 << " %, max |diff| " << std::scientific << std::setprecision(3) << p.maxAbsDiff
              << "\n";
    for (const auto& s : p.sites) {
        std::cout << "  " << std::left << std::setw(28) << s.name << std::setw(40) << s.className << "max |diff| "
                  << s.maxAbsDiff << (s.note.empty() ? "" : "  " + s.note) << "\n";
    }
    for (const auto& n : p.notes) {
        std::cout << "note: " << n << "\n";
    }
    const auto& rt = p.runtime;
    if (rt.checked) {
        std::cout << std::fixed << std::setprecision(2) << rt.runtime << " on " << rt.images << " test images: top-1 "
                  << rt.runtimeTop1 * 100 << " % (training " << p.trainingTop1 * 100 << " %), same class "
                  << rt.top1Agreement * 100 << " %, max |diff| " << std::scientific << std::setprecision(3)
                  << rt.maxAbsDiff << "\n";
    } else if (!rt.note.empty()) {
        std::cout << "onnx: " << rt.note << "\n";
    }
}

} // namespace

int runExport(const std::vector<std::string>& args)
{
    const auto a = parseArguments({"export",
                                   {"--out", "--format", "--db", "--model", "--preset", "--plan", "--target", "--weights",
                                    "--activations", "--limit-test", "--data", "--plugin", "--threads"},
                                   {"--json"},
                                   0,
                                   1},
                                  args);
    if (a.value("--out").empty()) {
        throw UsageError("export: say where to write with --out DIR");
    }
    if (a.positional.empty() == a.value("--model").empty()) {
        throw UsageError("export: give a run id, or --model (with plan options) for an export without a run");
    }
    quant::QuantizerRegistry registry;
    setUpRegistry(registry, a.all("--plugin"));
    exporter::ExportRequest request;
    request.outDir = a.value("--out");
    std::unique_ptr<store::RunStore> runs;
    if (!a.positional.empty()) {
        const auto id = parseInteger(a.positional[0]);
        if (!id || *id <= 0) {
            throw UsageError("export: '" + a.positional[0] + "' is not a run id (see `qatwb runs list`)");
        }
        runs = std::make_unique<store::RunStore>(a.value("--db").empty() ? store::defaultDatabasePath() : a.value("--db"));
        request = exporter::requestForRun(*runs, *id, request.outDir);
    } else {
        request.modelPath = a.value("--model");
        request.plan = buildPlan(a);
        request.baseName = stem(request.modelPath) + "_" + (request.plan.preset.empty() ? "plan" : request.plan.preset);
    }
    request.formats = exporter::parseFormats(a.value("--format", "spec,torchscript,onnx"));
    request.threads = int(a.integer("--threads", 0));
    request.data = a.value("--data", request.data);
    request.parityImages = a.integer("--limit-test", request.parityImages);

    const auto result = exporter::exportModel(request, registry);
    if (runs) {
        exporter::recordExport(*runs, request.runId, result);
    }
    if (a.has("--json")) {
        json files = json::object();
        for (const auto& f : result.files) {
            files[exporter::toString(f.format)] = f.path;
        }
        json out{{"files", files}, {"parity", json::parse(exporter::parityToJson(result.parity))},
                 {"qdq_pairs", result.qdqPairs}, {"mctq_nodes", result.mctqNodes}};
        out["run_id"] = request.runId > 0 ? json(request.runId) : json(nullptr);
        std::cout << out.dump(2) << "\n";
    } else {
        printReport(result);
    }
    return 0;
}

} // namespace qat::cli
