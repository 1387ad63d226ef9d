// SPDX-License-Identifier: MIT
#pragma once
// Exporting a stored run: the request made from the run database, and the record of the
// files written. Plain data (no torch, no Qt), shared by `qatwb export` and the workbench.

#include "export/export_types.h"

namespace qat::store {
class RunStore;
}

namespace qat::exporter {

/// The request that exports run runId of runs into outDir: its trained state, model (and
/// hash), plan, data and test subset (the run's limit_test), files named
/// <model stem>_run<ID>. Throws qat::Error when the run does not exist or has no trained
/// state (it failed before training, or an older version recorded it). Any thread that
/// owns runs.
ExportRequest requestForRun(const store::RunStore& runs, int64_t runId, const std::string& outDir);

/// Stores every file of result with its parity report as an export of run runId.
void recordExport(store::RunStore& runs, int64_t runId, const ExportResult& result);

} // namespace qat::exporter
