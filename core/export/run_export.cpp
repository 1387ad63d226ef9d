// SPDX-License-Identifier: MIT
#include "export/run_export.h"

#include "common/error.h"
#include "storage/run_store.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace qat::exporter {

ExportRequest requestForRun(const store::RunStore& runs, int64_t runId, const std::string& outDir)
{
    const auto run = runs.run(runId);
    if (!run) {
        throw Error(runs.path() + ": there is no run " + std::to_string(runId) + " (see `qatwb runs list`)");
    }
    ExportRequest request;
    request.checkpoint = runs.checkpoint(run->id);
    if (request.checkpoint.empty()) {
        throw Error("run " + std::to_string(run->id) + " (" + run->state + ") has no trained state to export"
                    + (run->state == "failed" ? ": it failed before training" : ": it was recorded by an older version")
                    + "; train it again with `qatwb runs rerun " + std::to_string(run->id) + "`");
    }
    request.runId = run->id;
    request.modelPath = run->modelPath;
    request.modelHash = run->modelHash;
    request.plan = engine::parsePlan(run->plan, "run " + std::to_string(run->id) + " plan");
    request.data = run->dataset;
    const auto hyper = nlohmann::json::parse(run->hyperparameters, nullptr, false);
    if (hyper.is_object() && hyper.contains("data")) {
        request.dataOptions = data::dataOptionsFromJson(hyper["data"].dump());
    }
    request.parityImages = hyper.is_object() ? hyper.value("limit_test", int64_t(0)) : 0;
    request.baseName = std::filesystem::path(run->modelPath).stem().string() + "_run" + std::to_string(run->id);
    request.outDir = outDir;
    return request;
}

void recordExport(store::RunStore& runs, int64_t runId, const ExportResult& result)
{
    const auto parity = parityToJson(result.parity);
    for (const auto& f : result.files) {
        runs.saveExport(runId, {0, {}, toString(f.format), f.path, parity});
    }
}

} // namespace qat::exporter
