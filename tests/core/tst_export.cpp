// SPDX-License-Identifier: MIT
// Export of trained runs: TorchScript that stock PyTorch runs (checked in Python against the
// training forward), the spec read back, refusals (ONNX in tst_export_onnx.cpp).
#include "test_paths.h"
#include "expected_layers.h"
#include "tst_export.h"

#include "common/error.h"
#include "common/sha256.h"
#include "engine/checkpoint.h"
#include "engine/qat_model.h"
#include "export/exporter.h"
#include "export/spec_file.h"
#include "quantizers/quantizer_registry.h"
#include "training/idx_reader.h"
#include "training/tensor_dataset.h"
#include "training/trainer.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>

using namespace qat;

namespace {

const char* const kPython = "/usr/bin/python3";

using test::trainableFixtures;

// An IDX file of unsigned bytes: magic 0x000008 dims, sizes, data.
void writeIdx(const QString& path, const std::vector<int32_t>& dims, const std::vector<uint8_t>& data)
{
    std::ofstream out(path.toStdString(), std::ios::binary);
    const uint8_t magic[4] = {0, 0, 8, uint8_t(dims.size())};
    out.write(reinterpret_cast<const char*>(magic), 4);
    for (auto d : dims) {
        const uint8_t be[4] = {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)};
        out.write(reinterpret_cast<const char*>(be), 4);
    }
    out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

// The first n images of a real Fashion-MNIST split, as IDX files in folder.
void writeSubset(const QString& folder, const std::string& prefix, int n)
{
    const auto split = train::readIdxSplit(QATWB_FASHION_MNIST_DIR, prefix);
    const auto pixels = size_t(split.images.height * split.images.width);
    std::vector<uint8_t> images(size_t(n) * pixels);
    for (size_t i = 0; i < images.size(); ++i) {
        images[i] = uint8_t(std::lround(split.images.pixels[i] * 255.0f));
    }
    std::vector<uint8_t> labels(split.labels.begin(), split.labels.begin() + n);
    const auto stem = folder + "/" + QString::fromStdString(prefix);
    writeIdx(stem + "-images-idx3-ubyte", {n, int32_t(split.images.height), int32_t(split.images.width)}, images);
    writeIdx(stem + "-labels-idx1-ubyte", {n}, labels);
}

} // namespace

namespace qat::test::exports {

QString fixture(const QString& name)
{
    return test::fixturePath(name);
}

// Every built-in trainable quantizer at least once, weights and activations.
const std::vector<Kind>& kinds()
{
    static const std::vector<Kind> all = {
        {"STE:symmetric:8:per-channel", "STE:symmetric:8"},
        {"STE:power-of-two:8:per-channel", "STE:power-of-two:8"},
        {"STE:uniform:8:per-channel", "STE:uniform:8"},
        {"LSQ:symmetric:4:per-channel", "LSQ:symmetric:8"},
        {"LSQ:power-of-two:4:per-tensor", "LSQ:power-of-two:4"},
        {"LSQ:uniform:4:per-channel", "LSQ:uniform:4"},
        {"LSQ:symmetric:8:per-tensor", "PACT:symmetric:8"},
        {"STE:symmetric:2:per-channel", "PACT:power-of-two:3"},
        {"LSQ:uniform:8:per-tensor", "LSQ+:uniform:8"},
    };
    return all;
}

// The kinds to export a model with: all of them, or with QATWB_EXPORT_SUBSET=1 (the
// sanitizer stage, where an export is many times slower) one, taken in turn over the
// models, so every model's graph is still exported and every kind still used.
std::vector<Kind> kindsAt(int index, const std::vector<Kind>& all)
{
    if (qEnvironmentVariableIntValue("QATWB_EXPORT_SUBSET") == 0) {
        return all;
    }
    return {all[size_t(index) % all.size()]};
}

std::vector<Kind> kindsFor(const QString& model, const std::vector<Kind>& all)
{
    return kindsAt(int(trainableFixtures().indexOf(model)), all);
}

// The models a check that repeats one export path per model runs on: all of them, or with
// QATWB_EXPORT_SUBSET=1 every third (every graph is still exported, to ONNX and TorchScript,
// by onnxMatchesTheSpec and torchScriptReproducesTrainingInPython).
QStringList modelsFor(const QStringList& all)
{
    if (qEnvironmentVariableIntValue("QATWB_EXPORT_SUBSET") == 0) {
        return all;
    }
    QStringList some;
    for (int i = 0; i < all.size(); i += 3) {
        some << all[i];
    }
    return some;
}

engine::QuantizationPlan planFor(const Kind& kind)
{
    auto plan = engine::presetPlan("mct-default");
    plan.target = "lowbit"; // every quantizer kind, on every tensor an integer chip stores
    engine::parseChoiceSpec(kind.weights, "weights").applyTo(plan.weights);
    auto activations = engine::parseChoiceSpec(kind.activations, "activations");
    activations.perChannel.reset();
    activations.applyTo(plan.activations);
    plan.preset.clear();
    return plan;
}

// Runs a Python script of the tests; its JSON output, or {} when it failed.
QJsonObject runScript(const QString& script, const QStringList& args)
{
    QProcess p;
    p.start(QString::fromLatin1(kPython), QStringList{script} + args);
    if (!p.waitForFinished(600000) || p.exitCode() != 0) {
        qWarning().noquote() << p.readAllStandardError();
        return {};
    }
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
}

QJsonObject runPython(const QStringList& args)
{
    return runScript(qat::test::path(QATWB_SOURCE_DIR, "/tests/export/check_export.py"), args);
}

std::string pathOf(const exporter::ExportResult& result, exporter::Format format)
{
    for (const auto& f : result.files) {
        if (f.format == format) return f.path;
    }
    return {};
}

bool pythonHasTorch()
{
    return QProcess::execute(QString::fromLatin1(kPython), {QStringLiteral("-c"), QStringLiteral("import torch, onnx")}) == 0;
}

} // namespace qat::test::exports

using namespace qat::test::exports;

train::TrainConfig TestExport::config(const QString& model, const engine::QuantizationPlan& plan) const
{
    train::TrainConfig c;
    c.modelPath = fixture(model).toStdString();
    c.data = m_data.toStdString();
    c.plan = plan;
    c.maxSteps = 3;
    c.batch = 32;
    c.calibrationBatches = 2;
    c.snapshotEvery = 0;
    return c;
}

exporter::ExportRequest TestExport::request(const train::TrainConfig& c, const train::TrainResult& r, const QString& base,
                                            std::vector<exporter::Format> formats) const
{
    exporter::ExportRequest q;
    q.modelPath = c.modelPath;
    q.modelHash = sha256File(c.modelPath);
    q.plan = c.plan;
    q.checkpoint = r.checkpoint;
    q.runId = 1;
    q.data = c.data;
    q.outDir = m_dir.filePath(QStringLiteral("out")).toStdString();
    q.baseName = base.toStdString();
    q.formats = std::move(formats);
    return q;
}

void TestExport::initTestCase()
{
    QVERIFY(m_dir.isValid());
    quant::registerBuiltinQuantizers(m_registry);
    m_data = m_dir.filePath(QStringLiteral("data"));
    QDir().mkpath(m_data);
    writeSubset(m_data, "train", 256);
    writeSubset(m_data, "t10k", 128);
}

// Spec files that are wrong: a message naming the file and the entry, never a crash.
// The numbers came from fuzzing (tests/fuzz/regressions/spec_reader).
void TestExport::specReaderRefusesBadFiles_data()
{
    QTest::addColumn<QString>("arguments");
    QTest::addColumn<QString>("mustSay");
    QTest::newRow("fuzz: num_bits 1e30") << R"({"num_bits": 1e30, "threshold": [1.0], "per_channel": false, "channel_axis": 0})"
                                         << "num_bits must be a whole number, got 1e+30";
    QTest::newRow("num_bits 2^32 + 8") << R"({"num_bits": 4294967304, "threshold": [1.0], "per_channel": false, "channel_axis": 0})"
                                       << "num_bits must be a whole number";
    QTest::newRow("channel_axis 1e300") << R"({"num_bits": 8, "threshold": [1.0], "per_channel": true, "channel_axis": 1e300})"
                                        << "channel_axis must be a whole number";
    QTest::newRow("threshold text") << R"({"num_bits": 8, "threshold": "big", "per_channel": false, "channel_axis": 0})"
                                    << "bad arguments";
    QTest::newRow("no threshold") << R"({"num_bits": 8, "per_channel": false, "channel_axis": 0})" << "bad arguments";
}
void TestExport::specReaderRefusesBadFiles()
{
    QFETCH(QString, arguments);
    QFETCH(QString, mustSay);
    const auto text = QStringLiteral(R"({"format": "qat-workbench-inferable-spec", "format_version": 1, "quantizers": [)"
                                     R"({"name": "fc.weight", "class_name": "WeightsSymmetricInferableQuantizer", "arguments": %1}]})")
                          .arg(arguments);
    try {
        exporter::parseSpecText(text.toStdString(), "my.spec.json");
        QFAIL("a bad spec was accepted");
    } catch (const Error& e) {
        const auto message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(QStringLiteral("my.spec.json: quantizer 'fc.weight': ")), e.what());
        QVERIFY2(message.contains(mustSay), e.what());
    }
}

// Every fixture model under every built-in quantizer kind: the exported TorchScript,
// loaded by Python's torch.jit.load, reproduces the training forward (bit for bit is
// the aim, 1e-6 the limit) and holds no qat:: op.
void TestExport::torchScriptReproducesTrainingInPython()
{
    if (!pythonHasTorch()) {
        QSKIP("/usr/bin/python3 with torch and onnx is not installed (python3-torch, python3-onnx)");
    }
    QJsonArray cases;
    int k = 0;
    for (const auto& model : trainableFixtures()) {
        for (const auto& kind : kindsFor(model, kinds())) {
            const auto c = config(model, planFor(kind));
            const auto result = train::runTraining(c, m_registry);
            QVERIFY2(result.state == train::RunState::Finished,
                     qPrintable(model + " " + kind.weights + ": " + QString::fromStdString(result.message)));
            QVERIFY(!result.checkpoint.empty());
            const auto base = QStringLiteral("case%1").arg(k++);
            const auto exported = exporter::exportModel(request(c, result, base, {exporter::Format::TorchScript}), m_registry);
            QVERIFY2(exported.parity.maxAbsDiff <= 1e-6,
                     qPrintable(QStringLiteral("%1 %2: in-process parity %3").arg(model, kind.weights).arg(exported.parity.maxAbsDiff)));
            QCOMPARE(exported.parity.top1Agreement, 1.0);
            // The training forward on the test images, for Python to compare with.
            auto qat = engine::QatModel::build(c.modelPath, c.plan, m_registry);
            engine::loadCheckpoint(*qat, result.checkpoint);
            qat->train(false);
            const auto images = train::loadIdxDataset(c.data, "t10k", 64).images;
            at::Tensor logits;
            {
                at::NoGradGuard noGrad;
                logits = qat->forward(images);
            }
            const auto ref = m_dir.filePath(base + QStringLiteral(".ref.pt"));
            const auto bytes = torch::jit::pickle_save(c10::ivalue::Tuple::create({images, logits}));
            std::ofstream(ref.toStdString(), std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
            cases.append(QJsonObject{{QStringLiteral("pt"), QString::fromStdString(exported.files.at(0).path)},
                                     {QStringLiteral("ref"), ref},
                                     {QStringLiteral("what"), model + QStringLiteral(" ") + kind.weights + QStringLiteral(" / ") + kind.activations}});
        }
    }
    QFile list(m_dir.filePath(QStringLiteral("cases.json")));
    QVERIFY(list.open(QIODevice::WriteOnly));
    list.write(QJsonDocument(cases).toJson());
    list.close();
    const auto checked = runPython({QStringLiteral("torchscript"), list.fileName()});
    QCOMPARE(checked.size(), cases.size());
    double worst = 0;
    for (const auto& item : cases) {
        const auto c = item.toObject();
        const auto r = checked[c[QStringLiteral("pt")].toString()].toObject();
        const auto what = c[QStringLiteral("what")].toString();
        QVERIFY2(r[QStringLiteral("max_abs_diff")].toDouble(1) <= 1e-6,
                 qPrintable(QStringLiteral("%1: Python differs by %2").arg(what).arg(r[QStringLiteral("max_abs_diff")].toDouble())));
        QVERIFY2(r[QStringLiteral("foreign_ops")].toArray().isEmpty() && !r[QStringLiteral("code_mentions_qat")].toBool(),
                 qPrintable(what + QStringLiteral(": the file still calls a qat:: op")));
        worst = std::max(worst, r[QStringLiteral("max_abs_diff")].toDouble());
    }
    qInfo("%lld exports checked in Python; largest |diff| vs the training forward: %g", qlonglong(cases.size()), worst);
}

// The spec read back rebuilds inferable quantizers that reproduce the exported
// (baked) weights exactly; POT thresholds are powers of two.
void TestExport::specRebuildsTheExportedWeights()
{
    for (const auto& kind : {kinds()[1], kinds()[4], kinds()[5]}) {
        const auto c = config(QStringLiteral("cnn_bn_relu_scripted.pt"), planFor(kind));
        const auto result = train::runTraining(c, m_registry);
        QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
        const auto exported = exporter::exportModel(
            request(c, result, QStringLiteral("spec"), {exporter::Format::Spec, exporter::Format::TorchScript}), m_registry);
        QCOMPARE(int(exported.files.size()), 2);
        const auto spec = exporter::readSpecFile(exported.files[0].path);
        QCOMPARE(spec.modelHash, sha256File(c.modelPath));
        QCOMPARE(spec.runId, int64_t(1));
        auto module = torch::jit::load(exported.files[1].path);
        auto qat = engine::QatModel::build(c.modelPath, c.plan, m_registry);
        engine::loadCheckpoint(*qat, result.checkpoint);
        int weights = 0;
        for (const auto& entry : spec.entries) {
            QVERIFY(entry.quantizer);
            if (entry.className.find("POT") != std::string::npos) {
                for (double t : entry.arguments["threshold"].get<std::vector<double>>()) {
                    QCOMPARE(std::exp2(std::round(std::log2(t))), t);
                }
            }
            if (entry.target != quant::Target::Weights) {
                continue;
            }
            // The latent trained weight through the rebuilt quantizer = the file's weight.
            at::Tensor latent;
            for (const auto& site : qat->sites()) {
                if (site.name == entry.name) latent = site.weight.detach();
            }
            QVERIFY(latent.defined());
            auto owner = module;
            const auto& name = entry.name;
            size_t start = 0;
            for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
                owner = owner.attr(name.substr(start, dot - start)).toModule();
                start = dot + 1;
            }
            const auto baked = owner.attr(name.substr(start)).toTensor();
            QVERIFY2(at::equal(entry.quantizer->forward(latent), baked), name.c_str());
            QVERIFY2(at::equal(entry.quantizer->forward(baked), baked), name.c_str());
            ++weights;
        }
        QVERIFY(weights > 0);
    }
}

// A run whose model file changed since training is refused with a message.
void TestExport::changedModelIsRefused()
{
    const auto copy = m_dir.filePath(QStringLiteral("changed.pt"));
    QVERIFY(QFile::copy(fixture(QStringLiteral("mlp_scripted.pt")), copy));
    auto c = config(QStringLiteral("mlp_scripted.pt"), engine::presetPlan("mct-default"));
    c.modelPath = copy.toStdString();
    const auto result = train::runTraining(c, m_registry);
    QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
    auto q = request(c, result, QStringLiteral("changed"), {exporter::Format::TorchScript});
    QFile::remove(copy);
    QVERIFY(QFile::copy(fixture(QStringLiteral("cnn_bn_relu_scripted.pt")), copy));
    try {
        exporter::exportModel(q, m_registry);
        QFAIL("export of a changed model was not refused");
    } catch (const Error& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("has changed since run 1")), e.what());
    }
}

void TestExport::cleanupTestCase()
{
    qInfo("%d ONNX files run in ONNX Runtime; largest |diff| with optimizations off vs TorchScript: %g", m_ortRuns,
          m_worstOrt);
}

// A folder that cannot be written: refused before any work, saying so.
void TestExport::unwritableFolderIsRefused()
{
    auto c = config(QStringLiteral("mlp_scripted.pt"), engine::presetPlan("mct-default"));
    const auto result = train::runTraining(c, m_registry);
    auto q = request(c, result, QStringLiteral("x"), {exporter::Format::Spec});
    q.outDir = "/proc/qatwb-cannot-write-here";
    try {
        exporter::exportModel(q, m_registry);
        QFAIL("an unwritable folder was accepted");
    } catch (const Error& e) {
        QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("cannot write to the export folder")), e.what());
    }
}

QTEST_GUILESS_MAIN(TestExport)
