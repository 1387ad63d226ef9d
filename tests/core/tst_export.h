// SPDX-License-Identifier: MIT
#pragma once
// Export of trained runs (tst_export): the test class, its functions in tst_export.cpp (the
// spec, TorchScript checked in Python, refusals) and tst_export_onnx.cpp (ONNX QDQ checked by
// python3-onnx and in ONNX Runtime, MCT's own ONNX format), and the helpers both use.

#include "export/export_types.h"
#include "quantizers/quantizer_registry.h"
#include "training/train_types.h"

#include <ATen/ATen.h>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <string>
#include <vector>

namespace qat::test::exports {

/// A fixture model's path.
QString fixture(const QString& name);

struct Kind {
    const char* weights;      ///< TRAINING:METHOD:BITS:per-channel|per-tensor
    const char* activations;  ///< TRAINING:METHOD:BITS
};

/// Every built-in trainable quantizer at least once, weights and activations.
const std::vector<Kind>& kinds();
/// The kinds to export the index-th model with: all, or one in turn with QATWB_EXPORT_SUBSET=1.
std::vector<Kind> kindsAt(int index, const std::vector<Kind>& all);
/// kindsAt for a trainable fixture model, by its place in trainableFixtures().
std::vector<Kind> kindsFor(const QString& model, const std::vector<Kind>& all);
/// The models a per-model check runs on: all, or every third with QATWB_EXPORT_SUBSET=1.
QStringList modelsFor(const QStringList& all);
/// mct-default on the lowbit target with the kind's weights and activations.
engine::QuantizationPlan planFor(const Kind& kind);
/// Runs a Python script of the tests; its JSON output, or {} when it failed.
QJsonObject runScript(const QString& script, const QStringList& args);
/// tests/export/check_export.py with args.
QJsonObject runPython(const QStringList& args);
/// The path of the exported file of that format, or "" if there is none.
std::string pathOf(const exporter::ExportResult& result, exporter::Format format);
/// Whether /usr/bin/python3 imports torch and onnx.
bool pythonHasTorch();
/// The first n images of the export's test data, preprocessed for the model (tst_export_onnx.cpp).
at::Tensor testImages(const std::string& modelPath, const std::string& data, int64_t n);

} // namespace qat::test::exports

class TestExport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void specReaderRefusesBadFiles_data();
    void specReaderRefusesBadFiles();
    void torchScriptReproducesTrainingInPython();
    void specRebuildsTheExportedWeights();
    void onnxMatchesTheSpec();
    void torchvisionModelsRunInOnnxRuntime_data();
    void torchvisionModelsRunInOnnxRuntime();
    void mctqOnnxMatchesTorchScript();
    void uniformRangesAreFixedPoints();
    void adaptivePoolsExportAtAnySize();
    void windowOpsExportToOnnx_data();
    void windowOpsExportToOnnx();
    void onnxRefusesUnsupportedOps();
    void onnxDropsNestedAssertions();
    void changedModelIsRefused();
    void onnxHasNoFloatEdgeUnderImx500();
    void attentionTrainsAndExportsItsComposition_data();
    void attentionTrainsAndExportsItsComposition();
    void cleanupTestCase();
    void unwritableFolderIsRefused();

private:
    /// A 3-step training run of a fixture model on the test's small data set.
    qat::train::TrainConfig config(const QString& model, const qat::engine::QuantizationPlan& plan) const;
    /// An export of that run (run id 1) into m_dir/out as base.* in the given formats.
    qat::exporter::ExportRequest request(const qat::train::TrainConfig& c, const qat::train::TrainResult& r,
                                         const QString& base, std::vector<qat::exporter::Format> formats) const;
    /// The exported ONNX file checked in ONNX Runtime against the TorchScript export
    /// (tst_export_onnx.cpp).
    void checkInOnnxRuntime(const QString& what, const qat::exporter::ExportResult& exported,
                            const std::string& onnx, const std::string& pt, const at::Tensor& images,
                            bool otherBatch = false);

    QTemporaryDir m_dir;
    QString m_data;
    qat::quant::QuantizerRegistry m_registry;
    double m_worstOrt = 0;
    int m_ortRuns = 0;
};
