// SPDX-License-Identifier: MIT
// Export of trained runs (tst_export, continued): ONNX QDQ checked by python3-onnx and run in
// ONNX Runtime, torchvision models, MCT's own ONNX format, uniform ranges, ONNX refusals.
#include "test_paths.h"
#include "expected_layers.h"
#include "tst_export.h"

#include "common/error.h"
#include "engine/qat_model.h"
#include "export/exporter.h"
#include "export/mct_arithmetic.h"
#include "export/onnx_runtime_check.h"
#include "export/spec_file.h"
#include "quantizers/builtin_inferable.h"
#include "quantizers/quantizer_registry.h"
#include "training/tensor_dataset.h"
#include "training/trainer.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <optional>

using namespace qat;
using namespace qat::test::exports;

namespace {

using test::trainableFixtures;

// ONNX Runtime as packaging/install-deps.sh installs it (Node.js + onnxruntime-node).
std::optional<exporter::OnnxRuntimeSetup> onnxRuntime()
{
    std::string reason;
    auto setup = exporter::findOnnxRuntime(&reason);
    if (!setup) {
        qWarning("ONNX Runtime is not available: %s", reason.c_str());
    }
    return setup;
}

} // namespace

at::Tensor qat::test::exports::testImages(const std::string& modelPath, const std::string& data, int64_t n)
{
    auto loaded = torch::jit::load(modelPath);
    loaded.eval();
    return train::loadEvaluationData(
               data, {}, [&](const at::Tensor& x) { return loaded.forward({x}).toTensor(); }, n)
        .images;
}

// The ONNX file in ONNX Runtime: the export's own report (default optimizations, integer
// kernels) says it ran; with optimizations off (float kernels between exact Q/DQ) it
// computes what the TorchScript export computes; with otherBatch, 3 images run too (the
// writer probed with 2, the report ran the parity images: the batch stays free).
void TestExport::checkInOnnxRuntime(const QString& what, const exporter::ExportResult& exported, const std::string& onnx,
                                    const std::string& pt, const at::Tensor& images, bool otherBatch)
{
    const auto& rt = exported.parity.runtime;
    QVERIFY2(rt.checked, qPrintable(what + QStringLiteral(": ") + QString::fromStdString(rt.note)));
    QCOMPARE(rt.images, exported.parity.images);
    const auto setup = onnxRuntime();
    QVERIFY(setup);
    auto module = torch::jit::load(pt);
    module.eval();
    at::Tensor expected;
    {
        at::NoGradGuard noGrad;
        expected = module.forward({images}).toTensor();
    }
    const auto plain = exporter::runOnnxRuntime(*setup, onnx, images, exporter::OrtOptimization::Disabled).outputs;
    const double diff = (plain - expected).abs().max().item<double>();
    const double agree = plain.argmax(1).eq(expected.argmax(1)).to(at::kDouble).mean().item<double>();
    m_worstOrt = std::max(m_worstOrt, diff);
    // Float kernels sum in another order, so a value on a rounding boundary may land one
    // grid step away; a wrong translation is off by far more than that. (The models are
    // barely trained, with logits close together: class agreement is not a fair measure.)
    const double range = (expected.max() - expected.min()).item<double>();
    QVERIFY2(at::isfinite(plain).all().item<bool>() && diff <= 0.05 * range,
             qPrintable(what + QStringLiteral(": ONNX Runtime (no optimizations) vs TorchScript: max |diff| %1 "
                                              "(logits span %2), same class %3").arg(diff).arg(range).arg(agree)));
    if (otherBatch) {
        const auto three = exporter::runOnnxRuntime(*setup, onnx, images.slice(0, 0, 3)).outputs;
        QCOMPARE(three.size(0), int64_t(3));
    }
    ++m_ortRuns;
}

// ONNX: passes the checker with full_check, one Q/DQ pair per quantizer, scales and
// zero points as the spec's constructor arguments define them.
void TestExport::onnxMatchesTheSpec()
{
    if (!pythonHasTorch()) {
        QSKIP("/usr/bin/python3 with torch and onnx is not installed (python3-torch, python3-onnx)");
    }
    int k = 0;
    int written = 0;
    double worst = 0;
    for (const auto& model : trainableFixtures()) {
        for (const auto& kind : kindsFor(model, {kinds()[0], kinds()[5], kinds()[8]})) {
            const auto c = config(model, planFor(kind));
            const auto result = train::runTraining(c, m_registry);
            QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
            const auto base = QStringLiteral("onnx%1").arg(k++);
            exporter::ExportResult exported;
            try {
                exported = exporter::exportModel(
                    request(c, result, base, {exporter::Format::Spec, exporter::Format::Onnx, exporter::Format::TorchScript}),
                    m_registry);
            } catch (const Error& e) {
                QFAIL(qPrintable(model + QStringLiteral(": ") + QString::fromUtf8(e.what())));
            }
            const auto onnx = runPython({QStringLiteral("onnx"), QString::fromStdString(exported.files[0].path),
                                         QString::fromStdString(exported.files[1].path)});
            const auto what = model + QStringLiteral(" ") + kind.weights;
            QVERIFY2(!onnx.isEmpty(), qPrintable(what + QStringLiteral(": the ONNX check failed")));
            QCOMPARE(onnx[QStringLiteral("q")].toInt(), onnx[QStringLiteral("quantizers")].toInt());
            QCOMPARE(onnx[QStringLiteral("dq")].toInt(), onnx[QStringLiteral("quantizers")].toInt());
            QCOMPARE(exported.qdqPairs, onnx[QStringLiteral("quantizers")].toInt());
            // Every layer with a bias and quantized input, weights and output: the bias as
            // int32 on the s_in * s_w grid, as integer kernels add it.
            {
                auto qat = engine::QatModel::build(c.modelPath, c.plan, m_registry);
                QCOMPARE(onnx[QStringLiteral("int32_biases")].toInt(), int(qat->integerBiases().size()));
            }
            QVERIFY2(onnx[QStringLiteral("unmatched")].toArray().isEmpty(),
                     qPrintable(what + QStringLiteral(": grids differ from the spec for ")
                                + QJsonDocument(onnx[QStringLiteral("unmatched")].toArray()).toJson(QJsonDocument::Compact)));
            // The ONNX graph computes what the TorchScript computes (evaluated with torch ops).
            const auto images = train::loadIdxDataset(c.data, "t10k", 64).images;
            const auto ref = m_dir.filePath(base + QStringLiteral(".ref.pt"));
            const auto bytes = torch::jit::pickle_save(c10::ivalue::Tuple::create({images, images}));
            std::ofstream(ref.toStdString(), std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
            const auto ran = runPython({QStringLiteral("onnx-run"), QString::fromStdString(exported.files[0].path),
                                        QString::fromStdString(exported.files[2].path), ref});
            QVERIFY2(!ran.isEmpty(), qPrintable(what + QStringLiteral(": the ONNX graph could not be evaluated")));
            worst = std::max(worst, ran[QStringLiteral("max_abs_diff")].toDouble());
            QVERIFY2(ran[QStringLiteral("max_abs_diff")].toDouble(1) <= 1e-4,
                     qPrintable(what + QStringLiteral(": ONNX differs from TorchScript by %1").arg(ran[QStringLiteral("max_abs_diff")].toDouble())));
            checkInOnnxRuntime(what, exported, exported.files[0].path, exported.files[2].path, images);
            ++written;
        }
    }
    QVERIFY(written > 0);
    qInfo("%d ONNX exports checked; largest |diff| vs TorchScript: %g", written, worst);
}

// Every torchvision classification architecture of the fixture set, scripted and traced,
// calibrated (no training) at mct-default, exports to ONNX and runs in ONNX Runtime.
void TestExport::torchvisionModelsRunInOnnxRuntime_data()
{
    QTest::addColumn<QString>("file");
    QFile manifest(qat::test::path(QATWB_TORCHVISION_FIXTURES_DIR, "/manifest.json"));
    if (!manifest.open(QIODevice::ReadOnly)) {
        QTest::newRow("manifest missing") << QString();
        return;
    }
    // QATWB_EXPORT_SUBSET=1 (the sanitizer stage): each architecture once, scripted and
    // traced in turn (mobilenet_v3_small scripted, issue #26's case, among them).
    const bool subset = qEnvironmentVariableIntValue("QATWB_EXPORT_SUBSET") != 0;
    int architecture = 0;
    for (const auto& item : QJsonDocument::fromJson(manifest.readAll()).array()) {
        const auto file = item.toObject()[QStringLiteral("file")].toString();
        const bool scripted = file.endsWith(QStringLiteral("_scripted.pt"));
        if (!file.endsWith(QStringLiteral(".pt"))) {
            continue;
        }
        if (!subset || scripted == (architecture % 2 == 0)) {
            QTest::newRow(qPrintable(file)) << file;
        }
        architecture += scripted ? 0 : 1; // the traced file follows the scripted one
    }
}
void TestExport::torchvisionModelsRunInOnnxRuntime()
{
    QFETCH(QString, file);
    QVERIFY2(!file.isEmpty(), "build/fixtures/torchvision/manifest.json is missing (target torchvision_fixtures)");
    exporter::ExportRequest q;
    q.modelPath = qat::test::path(QATWB_TORCHVISION_FIXTURES_DIR, "/%1").arg(file).toStdString();
    q.data = m_data.toStdString();
    q.plan = engine::presetPlan("mct-default");
    q.parityImages = 16;
    q.calibrationBatches = 1;
    q.batch = 8;
    q.outDir = m_dir.filePath(QStringLiteral("torchvision")).toStdString();
    q.baseName = QFileInfo(file).completeBaseName().toStdString();
    q.formats = {exporter::Format::Onnx, exporter::Format::TorchScript};
    exporter::ExportResult exported;
    try {
        exported = exporter::exportModel(q, m_registry);
    } catch (const Error& e) {
        QFAIL(e.what());
    }
    QVERIFY(exported.qdqPairs > 0);
    checkInOnnxRuntime(file, exported, pathOf(exported, exporter::Format::Onnx),
                       pathOf(exported, exporter::Format::TorchScript), testImages(q.modelPath, q.data, 16), true);
    qInfo("%s: %d Q/DQ pairs; ONNX Runtime (default optimizations) same class %.2f, max |diff| %.3g", qPrintable(file),
          exported.qdqPairs, exported.parity.runtime.top1Agreement, exported.parity.runtime.maxAbsDiff);
}

// MCT's own format: mct_quantizers-domain nodes (declared in the opset imports, each with
// mctq_version), run id and app version in metadata_props; evaluated with the nodes'
// documented arithmetic (targets.md section 3) it matches the TorchScript export.
void TestExport::mctqOnnxMatchesTorchScript()
{
    if (!pythonHasTorch()) {
        QSKIP("/usr/bin/python3 with torch and onnx is not installed (python3-torch, python3-onnx)");
    }
    int k = 0;
    const QStringList models = {QStringLiteral("cnn_bn_relu_scripted.pt"), QStringLiteral("residual_dw_traced.pt"),
                                QStringLiteral("mlp_scripted.pt")};
    for (const auto& model : models) {
        for (const auto& kind : kindsAt(int(models.indexOf(model)), {kinds()[0], kinds()[1], kinds()[5]})) {
            const auto c = config(model, planFor(kind));
            const auto result = train::runTraining(c, m_registry);
            QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
            const auto base = QStringLiteral("mctq%1").arg(k++);
            const auto exported = exporter::exportModel(
                request(c, result, base, {exporter::Format::Spec, exporter::Format::MctqOnnx, exporter::Format::TorchScript}),
                m_registry);
            const auto mctq = pathOf(exported, exporter::Format::MctqOnnx);
            QVERIFY(QFileInfo(QString::fromStdString(mctq)).fileName().endsWith(QStringLiteral(".mctq.onnx")));
            const auto spec = exporter::readSpecFile(pathOf(exported, exporter::Format::Spec));
            const auto images = train::loadIdxDataset(c.data, "t10k", 64).images;
            const auto ref = m_dir.filePath(base + QStringLiteral(".ref.pt"));
            const auto bytes = torch::jit::pickle_save(c10::ivalue::Tuple::create({images, images}));
            std::ofstream(ref.toStdString(), std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
            const auto r = runPython({QStringLiteral("mctq"), QString::fromStdString(mctq),
                                      QString::fromStdString(pathOf(exported, exporter::Format::TorchScript)), ref});
            const auto what = model + QStringLiteral(" ") + kind.weights;
            QVERIFY2(!r.isEmpty(), qPrintable(what + QStringLiteral(": the mctq-onnx check failed")));
            QVERIFY(r[QStringLiteral("domain_declared")].toBool());
            QVERIFY(r[QStringLiteral("every_node_versioned")].toBool());
            QCOMPARE(r[QStringLiteral("nodes")].toInt(), int(spec.entries.size()));
            QCOMPARE(exported.mctqNodes, int(spec.entries.size()));
            QCOMPARE(r[QStringLiteral("qdq_nodes")].toInt(), 0);
            QCOMPARE(r[QStringLiteral("mctq_versions")].toArray(), QJsonArray{QStringLiteral("1.6.0")});
            const auto meta = r[QStringLiteral("metadata")].toObject();
            QCOMPARE(meta[QStringLiteral("run_id")].toString(), QStringLiteral("1"));
            QVERIFY(!meta[QStringLiteral("qat_workbench_version")].toString().isEmpty());
            QVERIFY2(r[QStringLiteral("max_abs_diff")].toDouble(1) <= 1e-4,
                     qPrintable(what + QStringLiteral(": mctq-onnx differs from TorchScript by %1").arg(r[QStringLiteral("max_abs_diff")].toDouble())));
            QCOMPARE(r[QStringLiteral("top1_agreement")].toDouble(), 1.0);
        }
    }
}

// Uniform ranges consumers do not move: a W4A4 uniform run's spec, rebuilt with
// mct_quantizers' arithmetic (in the report, and independently in Python), leaves every
// exported weight unchanged; a raw (min, max) would not.
void TestExport::uniformRangesAreFixedPoints()
{
    for (const auto& model : modelsFor(trainableFixtures())) {
        auto c = config(model, engine::presetPlan("w4a4-lsq-uniform"));
        const auto result = train::runTraining(c, m_registry);
        QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
        const auto exported = exporter::exportModel(
            request(c, result, QStringLiteral("uniform"), {exporter::Format::Spec, exporter::Format::TorchScript}),
            m_registry);
        int weights = 0;
        for (const auto& site : exported.parity.sites) {
            if (site.target != "weights") continue;
            QVERIFY2(site.rebuildMaxAbsDiff == 0, qPrintable(model + QStringLiteral(" ") + QString::fromStdString(site.name)
                                                             + QStringLiteral(": moved by %1").arg(site.rebuildMaxAbsDiff)));
            ++weights;
        }
        QVERIFY(weights > 0);
        if (pythonHasTorch()) {
            const auto r = runPython({QStringLiteral("mct-rebuild"), QString::fromStdString(pathOf(exported, exporter::Format::Spec)),
                                      QString::fromStdString(pathOf(exported, exporter::Format::TorchScript))});
            QCOMPARE(r.size(), weights);
            for (const auto& name : r.keys()) {
                QVERIFY2(r[name].toObject()[QStringLiteral("changed")].toInt(-1) == 0,
                         qPrintable(model + QStringLiteral(" ") + name + QStringLiteral(": Python's mct_quantizers arithmetic changed ")
                                    + QString::number(r[name].toObject()[QStringLiteral("changed")].toInt()) + QStringLiteral(" weights")));
            }
        }
    }
    // The control: a raw range (what was exported before) is moved by the consumer.
    const auto w = at::randn({16, 8}) * 0.3;
    quant::UniformInferableQuantizer raw(quant::Target::Weights, 4, std::vector<float>(16, -0.37f),
                                         std::vector<float>(16, 0.52f), true, 0);
    const auto exported = raw.forward(w);
    const auto rebuilt = exporter::mctInferableForward(raw.className(), raw.arguments(), exported);
    QVERIFY(rebuilt);
    QVERIFY2(!at::equal(*rebuilt, exported), "a raw uniform range was expected to move");
}

// Adaptive average pools to sizes other than 1 (VGG, AlexNet): 14x14 -> 7x7 as an
// AveragePool, 7x7 -> 3x3 (overlapping windows) as averaging matrices; ONNX Runtime computes
// what the TorchScript export does.
void TestExport::adaptivePoolsExportAtAnySize()
{
    const auto c = config(QStringLiteral("adaptive_pool_net_scripted.pt"), engine::presetPlan("mct-default"));
    const auto result = train::runTraining(c, m_registry);
    QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
    exporter::ExportResult exported;
    try {
        exported = exporter::exportModel(
            request(c, result, QStringLiteral("adaptive"), {exporter::Format::Onnx, exporter::Format::TorchScript}),
            m_registry);
    } catch (const Error& e) {
        QFAIL(e.what());
    }
    checkInOnnxRuntime(QStringLiteral("adaptive pools"), exported, pathOf(exported, exporter::Format::Onnx),
                       pathOf(exported, exporter::Format::TorchScript), testImages(c.modelPath, c.data, 64), true);
}

// Swin's window bookkeeping (padding to whole windows by sizes computed with %, torch.roll,
// a table read through an index buffer), scripted and traced, through ONNX Runtime.
void TestExport::windowOpsExportToOnnx_data()
{
    QTest::addColumn<QString>("model");
    QTest::newRow("scripted") << QStringLiteral("window_net_scripted.pt");
    QTest::newRow("traced") << QStringLiteral("window_net_traced.pt");
}

void TestExport::windowOpsExportToOnnx()
{
    QFETCH(QString, model);
    const auto c = config(model, engine::presetPlan("mct-default"));
    const auto result = train::runTraining(c, m_registry);
    QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
    exporter::ExportResult exported;
    try {
        exported = exporter::exportModel(
            request(c, result, QStringLiteral("window_") + QString::fromLatin1(QTest::currentDataTag()),
                    {exporter::Format::Onnx, exporter::Format::TorchScript}),
            m_registry);
    } catch (const Error& e) {
        QFAIL(e.what());
    }
    checkInOnnxRuntime(QStringLiteral("window ops ") + model, exported, pathOf(exported, exporter::Format::Onnx),
                       pathOf(exported, exporter::Format::TorchScript), testImages(c.modelPath, c.data, 64), true);
}

// An op the ONNX writer does not know: a message naming it, and no file at all.
void TestExport::onnxRefusesUnsupportedOps()
{
    const auto model = qat::test::path(QATWB_SOURCE_DIR, "/tests/fixtures/export/softplus_net_scripted.pt");
    auto c = config(QStringLiteral("unused"), engine::presetPlan("mct-default"));
    c.modelPath = model.toStdString();
    const auto result = train::runTraining(c, m_registry);
    QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
    auto q = request(c, result, QStringLiteral("softplus"), {exporter::Format::Spec, exporter::Format::TorchScript,
                                                              exporter::Format::Onnx});
    q.outDir = m_dir.filePath(QStringLiteral("refused")).toStdString();
    try {
        exporter::exportModel(q, m_registry);
        QFAIL("an unsupported op was exported to ONNX");
    } catch (const Error& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("aten::softplus")), e.what());
    }
    QCOMPARE(QDir(QString::fromStdString(q.outDir)).entryList(QDir::Files).size(), 0);
    // Without ONNX the same model exports.
    q.formats = {exporter::Format::Spec, exporter::Format::TorchScript};
    QCOMPARE(int(exporter::exportModel(q, m_registry).files.size()), 2);
}

// Input checks, nested (a raising `if` in a raising `if`, an `assert` in a plain `if`),
// are left out of the ONNX graph and kept in the TorchScript. Leaving them out once
// visited nodes it had already freed (issue #26; the sanitizer stage runs this test).
void TestExport::onnxDropsNestedAssertions()
{
    exporter::ExportRequest q;
    q.modelPath = std::string(QATWB_SOURCE_DIR) + "/tests/fixtures/export/nested_asserts_scripted.pt";
    q.data = m_data.toStdString();
    q.calibrationBatches = 2;
    q.batch = 32;
    q.outDir = m_dir.filePath(QStringLiteral("asserts")).toStdString();
    q.baseName = "asserts";
    q.formats = {exporter::Format::Onnx, exporter::Format::TorchScript};
    exporter::ExportResult exported;
    try {
        exported = exporter::exportModel(q, m_registry);
    } catch (const Error& e) {
        QFAIL(e.what());
    }
    QCOMPARE(int(exported.files.size()), 2);
    QVERIFY(exported.files[0].format == exporter::Format::Onnx);
    QCOMPARE(exported.qdqPairs, int(exported.parity.sites.size())); // one Q/DQ pair per quantizer
    QVERIFY(exported.parity.maxAbsDiff <= 1e-6);
    auto module = torch::jit::load(exported.files[1].path);
    try {
        module.forward({at::zeros({1, 28, 28})});
        QFAIL("the exported TorchScript accepted an image without a batch dimension");
    } catch (const std::exception& e) { // the interpreter's JITException carries the model's message
        QVERIFY2(std::string(e.what()).find("add a batch dimension") != std::string::npos, e.what());
    }
    if (!pythonHasTorch()) {
        QSKIP("/usr/bin/python3 with torch and onnx is not installed (python3-torch, python3-onnx)");
    }
    const auto images = train::loadIdxDataset(q.data, "t10k", 64).images;
    const auto ref = m_dir.filePath(QStringLiteral("asserts.ref.pt"));
    const auto bytes = torch::jit::pickle_save(c10::ivalue::Tuple::create({images, images}));
    std::ofstream(ref.toStdString(), std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    const auto ran = runPython({QStringLiteral("onnx-run"), QString::fromStdString(exported.files[0].path),
                                QString::fromStdString(exported.files[1].path), ref});
    QVERIFY2(!ran.isEmpty(), "the ONNX graph could not be evaluated");
    QVERIFY2(ran[QStringLiteral("max_abs_diff")].toDouble(1) <= 1e-4,
             qPrintable(QStringLiteral("ONNX differs from TorchScript by %1").arg(ran[QStringLiteral("max_abs_diff")].toDouble())));
}

// Under the IMX500 target every tensor the chip stores is quantized: no compute node of the
// exported ONNX reads a float tensor (tests/export/float_edges.py walks the graph), on
// every fixture, scripted and traced (residual adds, cat, squeeze-excite, GELU, ...).
// Under `generic` (before targets) the residual net's add and mean stay float, which the
// same walk reports: the check can fail.
void TestExport::onnxHasNoFloatEdgeUnderImx500()
{
    if (!pythonHasTorch()) {
        QSKIP("/usr/bin/python3 with onnx is not installed (python3-onnx)");
    }
    auto edgesOf = [&](const QString& model, const engine::QuantizationPlan& plan, const QString& base) {
        exporter::ExportRequest q;
        q.modelPath = fixture(model).toStdString();
        q.plan = plan;
        q.data = m_data.toStdString();
        q.parityImages = 32;
        q.calibrationBatches = 1;
        q.batch = 32;
        q.outDir = m_dir.filePath(QStringLiteral("edges")).toStdString();
        q.baseName = base.toStdString();
        q.formats = {exporter::Format::Onnx};
        const auto exported = exporter::exportModel(q, m_registry);
        return runScript(qat::test::path(QATWB_SOURCE_DIR, "/tests/export/float_edges.py"),
                          {QString::fromStdString(exported.files.at(0).path)});
    };
    int checked = 0;
    const auto models = modelsFor(trainableFixtures());
    for (const auto& model : models) {
        const auto result = edgesOf(model, engine::presetPlan("mct-default"), QStringLiteral("imx500_%1").arg(checked));
        QVERIFY2(result[QStringLiteral("compute")].toInt() > 0, qPrintable(model));
        QVERIFY2(result[QStringLiteral("edges")].toArray().isEmpty(),
                 qPrintable(model + QStringLiteral(": ")
                            + QJsonDocument(result[QStringLiteral("edges")].toArray()).toJson(QJsonDocument::Compact)));
        ++checked;
    }
    QVERIFY(trainableFixtures().size() >= 18);
    QCOMPARE(checked, models.size());
    auto generic = engine::presetPlan("mct-default");
    generic.target = "generic";
    const auto before = edgesOf(QStringLiteral("residual_dw_scripted.pt"), generic, QStringLiteral("generic"));
    QCOMPARE(before[QStringLiteral("edges")].toArray().size(), 2); // the add's ReLU into a conv, the mean into the head
}
