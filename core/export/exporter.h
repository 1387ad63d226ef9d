// SPDX-License-Identifier: MIT
#pragma once
// Export a trained run (or a plan calibrated on data) as inferable quantizers: spec JSON,
// TorchScript for stock PyTorch, ONNX QDQ; every export runs the parity check.

#include "export/export_types.h"

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::exporter {

/// Writes the requested files and returns them with the parity report. Throws qat::Error
/// (with what to do) for a changed model file, an unwritable folder, a checkpoint that does
/// not fit, or an op the ONNX writer does not support (then no .onnx file is left behind).
ExportResult exportModel(const ExportRequest& request, const quant::QuantizerRegistry& registry);

} // namespace qat::exporter
