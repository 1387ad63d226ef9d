// SPDX-License-Identifier: MIT
#pragma once
// Export of a trained run: what to write and what the parity check found. Plain data (no
// torch, no Qt), so the CLI and the UI drive export through it.

#include "data/data_options.h"
#include "engine/quantization_plan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qat::exporter {

/// spec: the inferable quantizers in mct_quantizers' vocabulary (.json); torchscript: a
/// model stock PyTorch loads (.pt); onnx: QuantizeLinear/DequantizeLinear (.onnx);
/// mctq-onnx: MCT's own ONNX format, quantizers as mct_quantizers-domain nodes (.mctq.onnx).
enum class Format { Spec = 1, TorchScript, Onnx, MctqOnnx };
std::string toString(Format format);
std::string extension(Format format);
/// "spec,torchscript,onnx" -> formats; throws qat::Error for an unknown name.
std::vector<Format> parseFormats(const std::string& list);

struct ExportRequest {
    std::string modelPath;
    std::string modelHash;  ///< SHA-256 the run was trained on; empty: not checked
    engine::QuantizationPlan plan = engine::presetPlan("mct-default");
    std::string checkpoint; ///< the run's trained state; empty: quantizers calibrated on data, no training
    int64_t runId = 0;      ///< 0: no stored run
    std::string data = "fashion-mnist"; ///< test split for the parity check (train split calibrates)
    data::DataOptions dataOptions; ///< as stored with the run
    int64_t parityImages = 0;  ///< > 0: the first N test images; 0: the whole test split
    int calibrationBatches = 8;///< without a checkpoint
    int batch = 128;
    uint64_t seed = 0;
    std::string outDir;
    std::string baseName;      ///< files are <outDir>/<baseName>.json/.pt/.onnx
    std::vector<Format> formats{Format::Spec, Format::TorchScript, Format::Onnx};
    int threads = 0;
};

/// One quantizer: the exported (inferable) quantizer vs the training one on the same input.
struct SiteParity {
    std::string name;
    std::string target;     ///< "weights" or "activations"
    std::string className;  ///< the inferable class written
    double maxAbsDiff = 0;
    std::string note;       ///< why numbers changed at conversion, when they did
    /// Weights: mct_quantizers' own arithmetic, rebuilt from the spec's arguments and applied to
    /// the exported (already quantized) weights, vs those weights; 0 = a consumer leaves them
    /// unchanged. -1: not checked (activations, plugin classes).
    double rebuildMaxAbsDiff = -1;
};

/// The ONNX file run in ONNX Runtime with its default optimizations (integer kernels, as a
/// deployment runs it) vs the training forward on the same images.
struct RuntimeParity {
    bool checked = false;
    std::string runtime;    ///< "ONNX Runtime 1.30.0 (CPU, default optimizations)"
    std::string note;       ///< not checked: why, and how to enable it
    int64_t images = 0;
    double maxAbsDiff = 0;
    double top1Agreement = 0;
    double runtimeTop1 = -1;
};

/// Exported TorchScript (loaded back from its file) vs the training forward on real images.
struct ParityReport {
    int64_t images = 0;
    double maxAbsDiff = 0;      ///< over all logits
    double top1Agreement = 0;   ///< fraction of images with the same predicted class
    double trainingTop1 = -1;
    double exportedTop1 = -1;
    std::vector<SiteParity> sites;
    std::vector<std::string> notes;
    RuntimeParity runtime;  ///< only for an ONNX export
};

struct ExportedFile {
    Format format = Format::Spec;
    std::string path;
};

struct ExportResult {
    std::vector<ExportedFile> files;
    ParityReport parity;
    int qdqPairs = 0; ///< written to the ONNX file (one per quantizer)
    int mctqNodes = 0; ///< mct_quantizers nodes written to the mctq-onnx file (one per quantizer)
};

std::string parityToJson(const ParityReport& report);
ParityReport parityFromJson(const std::string& json);

} // namespace qat::exporter
