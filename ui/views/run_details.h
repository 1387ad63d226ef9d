// SPDX-License-Identifier: MIT
#pragma once
// What the History page shows of one run: its details as HTML and its quantizers as a
// table. UI thread only.

#include "export/export_types.h"
#include "storage/run_store.h"

#include <QString>

#include <vector>

class QStandardItemModel;

namespace qat::ui {

/// State and why, model and hash, data and seed, plan, times, top-1, hyperparameters,
/// epoch results, exports with their parity reports (links open the folder), the plan JSON.
QString runDetailsHtml(const store::RunStore& store, const store::RunRecord& run);
/// One row per quantizer: name, layer, target, kind, initial and final parameters.
void fillQuantizerTable(QStandardItemModel* model, const std::vector<store::QuantizerRow>& rows);
/// "threshold 0.532" or "threshold mean 0.41 [0.12 … 0.93] (32 ch)" from a stored snapshot.
QString snapshotText(const std::string& json);
/// One line: images, training and exported top-1, agreement, largest difference.
QString parityLine(const exporter::ParityReport& report);
/// " ONNX Runtime ...: top-1 ..., same class ..." or why the ONNX file was not run (empty for
/// exports without ONNX); starts with a space, to follow a sentence.
QString runtimeLine(const exporter::RuntimeParity& runtime);

} // namespace qat::ui
