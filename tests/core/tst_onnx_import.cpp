// SPDX-License-Identifier: MIT
// ONNX import against real files: every TorchScript fixture exported by torch.onnx (opsets 13
// and 17), graphs written in other exporters' style, torchvision's architectures, and bad
// files (tests/fixtures/make_onnx_fixtures.py). Each imported model must find the layers the
// fixture lists, reproduce the original model's outputs, train and export.
#include "test_paths.h"
#include "expected_layers.h"

#include "common/error.h"
#include "common/sha256.h"
#include "common/version.h"
#include "data/raw_array.h"
#include "engine/qat_model.h"
#include "export/exporter.h"
#include "export/onnx_runtime_check.h"
#include "model/layer_discovery.h"
#include "model/loaded_model.h"
#include "model/model_inspector.h"
#include "model/onnx_import.h"
#include "quantizers/quantizer_registry.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"
#include "training/tensor_dataset.h"
#include "training/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/serialization/import.h>

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cstring>

using namespace qat;
using test::compareLayers;
using test::readJsonFile;

namespace {

QString onnxFixture(const QString& name)
{
    return QDir(qat::test::path(QATWB_ONNX_FIXTURES_DIR)).filePath(name);
}

QStringList onnxExpectedFiles()
{
    return QDir(qat::test::path(QATWB_ONNX_FIXTURES_DIR))
        .entryList({QStringLiteral("*.expected.json")}, QDir::Files, QDir::Name);
}

QJsonObject inspectAsJson(const QString& path)
{
    const auto info = model::inspectModel(path.toStdString());
    // Layer outputs only, as the fixtures' expected files list them.
    const auto points = target::placeActivationPoints(info.opGraph, target::builtinTargets().find("generic"));
    return QJsonDocument::fromJson(QByteArray::fromStdString(
                                       model::modelInfoToJson(info, points, std::vector<bool>(points.size(), true), "generic")))
        .object();
}

at::Tensor npzArray(const QString& file, const std::string& name)
{
    const auto arrays = data::readNpz(file.toStdString());
    const auto& raw = arrays.at(name);
    auto t = at::empty(raw.shape, at::kFloat);
    std::memcpy(t.data_ptr(), raw.bytes.data(), raw.bytes.size());
    return t;
}

struct Reference {
    at::Tensor input;  ///< as the imported module takes it (NCHW)
    at::Tensor output; ///< the original model's
};

Reference reference(const QJsonObject& expected)
{
    const auto file = onnxFixture(expected[QStringLiteral("reference")].toString());
    Reference r{npzArray(file, "input"), npzArray(file, "output")};
    if (expected[QStringLiteral("channels_last_input")].toBool()) {
        r.input = r.input.permute({0, 3, 1, 2}).contiguous();
    }
    return r;
}

// max |a - b| relative to the reference's scale (at least 1).
double relativeDiff(const at::Tensor& a, const at::Tensor& reference)
{
    const double scale = std::max(1.0, reference.abs().max().item<double>());
    return (a - reference).abs().max().item<double>() / scale;
}

at::Tensor forward(torch::jit::Module& module, const at::Tensor& x)
{
    at::NoGradGuard noGrad;
    return module.forward({x}).toTensor();
}

QStringList torchvisionOnnxFiles()
{
    return QDir(qat::test::path(QATWB_TORCHVISION_FIXTURES_DIR))
        .entryList({QStringLiteral("*_opset1?.onnx")}, QDir::Files, QDir::Name);
}

QString torchvisionFile(const QString& name)
{
    return QDir(qat::test::path(QATWB_TORCHVISION_FIXTURES_DIR)).filePath(name);
}

QStringList layerNames(const model::ModelInfo& info)
{
    QStringList names;
    for (const auto& l : info.layers) names << QString::fromStdString(l.name);
    return names;
}

QStringList layerNames(model::LoadedModel& loaded)
{
    model::ModelInfo info;
    info.layers = model::summariseLayers(model::findLayerSites(*loaded.forward.graph, loaded.module), loaded.module, {});
    return layerNames(info);
}

} // namespace

class TestOnnxImport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void findsTheFixtureLayers_data();
    void findsTheFixtureLayers();
    void reproducesTheOriginalOutputs_data();
    void reproducesTheOriginalOutputs();
    void keepsPyTorchLayerNames_data();
    void keepsPyTorchLayerNames();
    void importsTorchvisionModels_data();
    void importsTorchvisionModels();
    void batchSizeStaysDynamic_data();
    void batchSizeStaysDynamic();
    void trainsAndExports_data();
    void trainsAndExports();
    void batchNormTrainsAndFolds_data();
    void batchNormTrainsAndFolds();
    void savesAsTorchScript();
    void readsExternalData();
    void refusesBadFiles_data();
    void refusesBadFiles();
    void refusesAMismatchNamingTheDifference();
    void sameQatRunAsFromTorchScript();

private:
    quant::QuantizerRegistry m_registry;
    QTemporaryDir m_dir;
};

void TestOnnxImport::initTestCase()
{
    quant::registerBuiltinQuantizers(m_registry);
    setComputeThreads(2);
    QVERIFY2(onnxExpectedFiles().size() >= 26, "ONNX fixtures missing: run tests/fixtures/make_onnx_fixtures.py");
}

void TestOnnxImport::findsTheFixtureLayers_data()
{
    QTest::addColumn<QString>("expectedFile");
    for (const auto& file : onnxExpectedFiles()) {
        QTest::newRow(qPrintable(file)) << file;
    }
}

// Layer discovery finds in the imported module the layers the fixture lists: PyTorch's
// names, kinds, shapes, BatchNorms the exporter folded, the activation each layer fuses.
void TestOnnxImport::findsTheFixtureLayers()
{
    QFETCH(QString, expectedFile);
    const auto expected = readJsonFile(onnxFixture(expectedFile));
    const auto actual = inspectAsJson(onnxFixture(expected[QStringLiteral("model")].toString()));
    const auto problems = compareLayers(expected[QStringLiteral("layers")].toArray(),
                                        actual[QStringLiteral("layers")].toArray());
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    QCOMPARE(actual[QStringLiteral("quantizers")], expected[QStringLiteral("quantizers")]);
    QCOMPARE(actual[QStringLiteral("format")].toString(), QStringLiteral("onnx"));
    const auto notes = actual[QStringLiteral("notes")].toArray();
    QVERIFY(!notes.isEmpty());
    QVERIFY2(notes[0].toString().contains(QStringLiteral("matches the ONNX graph evaluated op by op")),
             qPrintable(notes[0].toString()));
    if (expected[QStringLiteral("channels_last_input")].toBool()) {
        QVERIFY2(notes[1].toString().contains(QStringLiteral("channels-last [N, 28, 28, 1]"))
                     && notes[1].toString().contains(QStringLiteral("takes [N, 1, 28, 28] (NCHW)")),
                 qPrintable(notes[1].toString()));
    }
}

void TestOnnxImport::reproducesTheOriginalOutputs_data()
{
    findsTheFixtureLayers_data();
}

// The imported module against the original: the PyTorch model that was exported, or for
// hand-written graphs the same computation written with torch.nn.functional.
void TestOnnxImport::reproducesTheOriginalOutputs()
{
    QFETCH(QString, expectedFile);
    const auto expected = readJsonFile(onnxFixture(expectedFile));
    auto loaded = model::loadModel(onnxFixture(expected[QStringLiteral("model")].toString()).toStdString());
    const auto ref = reference(expected);
    const auto out = forward(loaded.module, ref.input);
    QCOMPARE(out.sizes().vec(), ref.output.sizes().vec());
    const double diff = relativeDiff(out, ref.output);
    qInfo("%s: max |diff| to the original %.3g (relative to max(1, max |output|))", qPrintable(expectedFile), diff);
    QVERIFY2(diff <= 1e-5, qPrintable(QStringLiteral("max |diff| %1").arg(diff)));
}

void TestOnnxImport::keepsPyTorchLayerNames_data()
{
    QTest::addColumn<QString>("expectedFile");
    for (const auto& file : onnxExpectedFiles()) {
        if (readJsonFile(onnxFixture(file)).contains(QStringLiteral("torchscript"))) {
            QTest::newRow(qPrintable(file)) << file;
        }
    }
}

// A model exported from PyTorch keeps its layer names, also where torch.onnx renamed the
// folded weights (onnx::Conv_N): the same layers as the TorchScript file of that model.
void TestOnnxImport::keepsPyTorchLayerNames()
{
    QFETCH(QString, expectedFile);
    const auto expected = readJsonFile(onnxFixture(expectedFile));
    const auto onnx = model::inspectModel(onnxFixture(expected[QStringLiteral("model")].toString()).toStdString());
    const auto script = model::inspectModel(test::fixturePath(expected[QStringLiteral("torchscript")].toString()).toStdString());
    QCOMPARE(layerNames(onnx), layerNames(script));
    for (size_t i = 0; i < script.layers.size(); ++i) {
        QCOMPARE(onnx.layers[i].weightShape, script.layers[i].weightShape);
        QCOMPARE(onnx.layers[i].callSites, script.layers[i].callSites);
    }
}

void TestOnnxImport::importsTorchvisionModels_data()
{
    QTest::addColumn<QString>("file");
    const auto files = torchvisionOnnxFiles();
    QVERIFY2(files.size() == 14, "torchvision fixtures missing: build the torchvision_fixtures target");
    for (const auto& f : files) {
        QTest::newRow(qPrintable(f)) << f;
    }
}

// torchvision's classifiers exported by torch.onnx: the same layers, by name, as their
// scripted TorchScript files, and the same outputs on the same images.
void TestOnnxImport::importsTorchvisionModels()
{
    QFETCH(QString, file);
    const auto scripted = file.left(file.lastIndexOf(QStringLiteral("_opset"))) + QStringLiteral("_scripted.pt");
    const auto x = at::rand({2, 3, 32, 32}, at::make_generator<at::CPUGeneratorImpl>(7));
    // The TorchScript side once per architecture (both opsets compare with it).
    static std::map<QString, std::pair<at::Tensor, QStringList>> originals;
    if (!originals.count(scripted)) {
        auto script = model::loadModel(torchvisionFile(scripted).toStdString());
        script.module.eval();
        originals[scripted] = {forward(script.module, x), layerNames(script)};
    }
    auto onnx = model::loadModel(torchvisionFile(file).toStdString());
    const double diff = relativeDiff(forward(onnx.module, x), originals[scripted].first);
    qInfo("%s: max |diff| to %s %.3g", qPrintable(file), qPrintable(scripted), diff);
    QVERIFY2(diff <= 1e-5, qPrintable(QStringLiteral("max |diff| %1").arg(diff)));
    QCOMPARE(layerNames(onnx), originals[scripted].second);
}

void TestOnnxImport::batchSizeStaysDynamic_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QList<int>>("shape");
    const QList<int> mnist{1, 28, 28};
    QTest::newRow("keras_nhwc") << onnxFixture(QStringLiteral("keras_nhwc_opset13.onnx")) << mnist;
    QTest::newRow("shape_net") << onnxFixture(QStringLiteral("shape_net_opset13.onnx")) << mnist;
    QTest::newRow("conv1d_net") << onnxFixture(QStringLiteral("conv1d_net_opset17.onnx")) << mnist;
    QTest::newRow("shufflenet") << torchvisionFile(QStringLiteral("shufflenet_v2_x0_5_opset13.onnx"))
                                << QList<int>{3, 32, 32};
}

// Shape computations (Shape -> Gather -> ... -> Reshape) follow the batch: any batch size
// runs, and each sample's output does not depend on the others.
void TestOnnxImport::batchSizeStaysDynamic()
{
    QFETCH(QString, path);
    QFETCH(QList<int>, shape);
    auto loaded = model::loadModel(path.toStdString());
    std::vector<int64_t> sizes{64};
    sizes.insert(sizes.end(), shape.begin(), shape.end());
    const auto x = at::rand(sizes, at::make_generator<at::CPUGeneratorImpl>(3));
    const auto all = forward(loaded.module, x);
    QCOMPARE(all.size(0), int64_t(64));
    for (int64_t batch : {1, 5}) {
        const auto part = forward(loaded.module, x.slice(0, 0, batch));
        QCOMPARE(part.size(0), batch);
        QVERIFY2(relativeDiff(part, all.slice(0, 0, batch)) <= 1e-5, qPrintable(QStringLiteral("batch %1").arg(batch)));
    }
}

void TestOnnxImport::trainsAndExports_data()
{
    QTest::addColumn<QString>("path");
    for (const auto& file : onnxExpectedFiles()) {
        const auto expected = readJsonFile(onnxFixture(file));
        // Both opsets import to the same module (reproducesTheOriginalOutputs): train one.
        if (expected[QStringLiteral("layers")].toArray().isEmpty()
            || (file.contains(QStringLiteral("_opset13.expected")) && expected.contains(QStringLiteral("torchscript")))) {
            continue;
        }
        const auto model = expected[QStringLiteral("model")].toString();
        QTest::newRow(qPrintable(model)) << onnxFixture(model);
    }
    QTest::newRow("mobilenet_v3_small_opset13") << torchvisionFile(QStringLiteral("mobilenet_v3_small_opset13.onnx"));
    QTest::newRow("shufflenet_v2_x0_5_opset17") << torchvisionFile(QStringLiteral("shufflenet_v2_x0_5_opset17.onnx"));
}

// 20 QAT steps on Fashion-MNIST, then the export of the run: spec, TorchScript (checked
// against the training forward) and ONNX QDQ where the writer knows every op.
void TestOnnxImport::trainsAndExports()
{
    QFETCH(QString, path);
    train::TrainConfig config;
    config.modelPath = path.toStdString();
    config.maxSteps = 20;
    config.batch = 16;
    config.limitTrain = 320;
    config.limitTest = 64;
    config.calibrationBatches = 2;
    config.snapshotEvery = 0;
    const auto result = train::runTraining(config, m_registry);
    QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
    QCOMPARE(result.steps, int64_t(20));
    QVERIFY(std::isfinite(result.qatLoss));
    exporter::ExportRequest request;
    request.modelPath = config.modelPath;
    request.modelHash = sha256File(config.modelPath);
    request.plan = config.plan;
    request.checkpoint = result.checkpoint;
    request.parityImages = 64;
    request.outDir = m_dir.filePath(QStringLiteral("export")).toStdString();
    request.baseName = QFileInfo(path).completeBaseName().toStdString();
    request.formats = {exporter::Format::Spec, exporter::Format::TorchScript};
    const auto exported = exporter::exportModel(request, m_registry);
    QCOMPARE(int(exported.files.size()), 2);
    QVERIFY2(exported.parity.maxAbsDiff <= 1e-6, qPrintable(QString::number(exported.parity.maxAbsDiff)));
    // Every op an import produces is one the ONNX writer knows: the file runs in ONNX Runtime,
    // with its default optimizations (the export's own check) and without them (float kernels
    // between exact Q/DQ: what the TorchScript export computes, up to summation order).
    request.formats = {exporter::Format::Onnx};
    const auto onnx = exporter::exportModel(request, m_registry);
    QVERIFY(onnx.qdqPairs > 0);
    const auto& rt = onnx.parity.runtime;
    QVERIFY2(rt.checked, rt.note.c_str());
    std::string reason;
    const auto setup = exporter::findOnnxRuntime(&reason);
    QVERIFY2(setup, reason.c_str());
    const auto pt = std::find_if(exported.files.begin(), exported.files.end(),
                                 [](const auto& f) { return f.format == exporter::Format::TorchScript; });
    QVERIFY(pt != exported.files.end());
    auto exportedModule = torch::jit::load(pt->path);
    exportedModule.eval();
    const auto images = train::loadEvaluationData(
                            train::TrainConfig{}.data, {},
                            [&](const at::Tensor& x) { return exportedModule.forward({x}).toTensor(); }, 32)
                            .images;
    at::Tensor expected;
    {
        at::NoGradGuard noGrad;
        expected = exportedModule.forward({images}).toTensor();
    }
    const auto plain = exporter::runOnnxRuntime(*setup, onnx.files.at(0).path, images, exporter::OrtOptimization::Disabled)
                           .outputs;
    const double diff = (plain - expected).abs().max().item<double>();
    const double range = (expected.max() - expected.min()).item<double>();
    qInfo("%s: ONNX export, %d Q/DQ pairs; ONNX Runtime: default optimizations vs training max |diff| %.3g, "
          "same class %.1f %%; no optimizations vs TorchScript max |diff| %.3g (logits span %.3g)",
          qPrintable(QFileInfo(path).fileName()), onnx.qdqPairs, rt.maxAbsDiff, 100 * rt.top1Agreement, diff, range);
    // One grid step of summation-order difference is allowed; a random-init MobileNet v3's
    // logits span only ~1e-5, hence the absolute floor.
    QVERIFY2(at::isfinite(plain).all().item<bool>() && diff <= std::max(0.05 * range, 1e-4),
             qPrintable(QStringLiteral("no optimizations vs TorchScript: max |diff| %1, logits span %2").arg(diff).arg(range)));
}

void TestOnnxImport::batchNormTrainsAndFolds_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<int>("batchNorms");
    QTest::newRow("bn_prelu_net") << QStringLiteral("bn_prelu_net_opset11.onnx") << 2;
    QTest::newRow("conv_transpose_net") << QStringLiteral("conv_transpose_net_opset17.onnx") << 1;
}

// BatchNormalization becomes a BatchNorm submodule: running statistics as buffers that move
// in training mode (its `training` flag is the module's), and folded into the conv by default.
void TestOnnxImport::batchNormTrainsAndFolds()
{
    QFETCH(QString, model);
    QFETCH(int, batchNorms);
    const auto path = onnxFixture(model).toStdString();
    auto plan = engine::presetPlan("w4a8-lsq");
    plan.foldBatchNorm = false;
    auto qat = engine::QatModel::build(path, plan, m_registry);
    std::vector<at::Tensor> before;
    int modules = 0;
    for (const auto& child : qat->module().named_modules()) {
        if (child.value.type()->name()->name().find("BatchNorm") == std::string::npos) continue;
        ++modules;
        before.push_back(child.value.attr("running_mean").toTensor().clone());
    }
    QCOMPARE(modules, batchNorms);
    const auto x = at::rand({16, 1, 28, 28}, at::make_generator<at::CPUGeneratorImpl>(5));
    qat->calibrateWeights();
    qat->beginActivationCalibration();
    qat->observeBatch(x);
    qat->finishActivationCalibration();
    qat->train(true);
    qat->forward(x).sum().backward();
    size_t i = 0;
    for (const auto& child : qat->module().named_modules()) {
        if (child.value.type()->name()->name().find("BatchNorm") == std::string::npos) continue;
        QVERIFY2(!at::equal(before[i++], child.value.attr("running_mean").toTensor()), child.name.c_str());
    }
    auto folded = engine::QatModel::build(path, engine::presetPlan("w4a8-lsq"), m_registry);
    QCOMPARE(folded->foldedBatchNorms(), batchNorms);
}

// The imported module saves as TorchScript and loads back (what the TorchScript export
// and checkpoints rely on), computing the same.
void TestOnnxImport::savesAsTorchScript()
{
    auto loaded = model::loadModel(onnxFixture(QStringLiteral("shape_net_opset13.onnx")).toStdString());
    const auto file = m_dir.filePath(QStringLiteral("shape_net.pt")).toStdString();
    loaded.module.save(file);
    auto reloaded = torch::jit::load(file);
    const auto x = at::rand({4, 1, 28, 28}, at::make_generator<at::CPUGeneratorImpl>(11));
    QVERIFY(at::equal(forward(loaded.module, x), forward(reloaded, x)));
    QCOMPARE(reloaded.get_method("forward").function().getSchema().arguments().at(1).name(), std::string("x"));
}

void TestOnnxImport::readsExternalData()
{
    auto loaded = model::loadModel(onnxFixture(QStringLiteral("external_data.onnx")).toStdString());
    QFile weights(onnxFixture(QStringLiteral("external_data.weights")));
    QVERIFY(weights.open(QIODevice::ReadOnly));
    const auto bytes = weights.readAll();
    QCOMPARE(bytes.size(), 64);
    auto expected = at::empty({4, 4}, at::kFloat);
    std::memcpy(expected.data_ptr(), bytes.constData(), 64);
    // MatMul(x, W) is a linear layer whose weight is W transposed.
    const auto weight = loaded.module.attr("dense").toModule().attr("weight").toTensor();
    QVERIFY(at::equal(weight, expected.t()));
}

void TestOnnxImport::refusesBadFiles_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QStringList>("mustSay");
    const auto bad = readJsonFile(onnxFixture(QStringLiteral("bad_files.json")));
    QVERIFY(bad.size() >= 9);
    for (auto it = bad.begin(); it != bad.end(); ++it) {
        QStringList words;
        for (const auto& w : it.value().toArray()) words << w.toString();
        QTest::newRow(qPrintable(it.key())) << it.key() << words;
    }
}

// Each bad file is refused with one message that names the file and says what is wrong.
void TestOnnxImport::refusesBadFiles()
{
    QFETCH(QString, file);
    QFETCH(QStringList, mustSay);
    const auto path = onnxFixture(file);
    try {
        model::loadModel(path.toStdString());
        QFAIL("imported a bad file");
    } catch (const ModelError& e) {
        const auto message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(path + QStringLiteral(": ")), qPrintable(message));
        QVERIFY2(!message.contains(QLatin1Char('\n')), qPrintable(message));
        for (const auto& word : mustSay) {
            QVERIFY2(message.contains(word), qPrintable(QStringLiteral("'%1' missing in: %2").arg(word, message)));
        }
    }
}

// The check refuses a module that differs from the graph, naming the largest difference
// (here forced with a tolerance of 0 on a model whose float rounding differs slightly).
void TestOnnxImport::refusesAMismatchNamingTheDifference()
{
    model::OnnxImportOptions strict;
    strict.tolerance = 0;
    const auto path = onnxFixture(QStringLiteral("gelu_net_opset17.onnx")).toStdString();
    try {
        model::importOnnxModel(path, strict);
        QFAIL("a difference above the tolerance was accepted");
    } catch (const ModelError& e) {
        const auto message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(QStringLiteral("differs from the ONNX graph evaluated op by op by up to ")),
                 qPrintable(message));
    }
    QVERIFY(model::importOnnxModel(path).maxDifference > 0);
}

// The same model from ONNX and from TorchScript: the same QAT run (same plan, same seed).
void TestOnnxImport::sameQatRunAsFromTorchScript()
{
    train::TrainConfig config;
    config.maxSteps = 30;
    config.batch = 32;
    config.limitTrain = 960;
    config.limitTest = 1000;
    config.calibrationBatches = 2;
    config.snapshotEvery = 0;
    config.modelPath = onnxFixture(QStringLiteral("cnn_bn_relu_opset17.onnx")).toStdString();
    const auto fromOnnx = train::runTraining(config, m_registry);
    config.modelPath = test::fixturePath(QStringLiteral("cnn_bn_relu_scripted.pt")).toStdString();
    const auto fromScript = train::runTraining(config, m_registry);
    QVERIFY2(fromOnnx.state == train::RunState::Finished, fromOnnx.message.c_str());
    QVERIFY2(fromScript.state == train::RunState::Finished, fromScript.message.c_str());
    qInfo("float top-1 %.2f / %.2f, QAT top-1 %.2f / %.2f (ONNX / TorchScript)", 100 * fromOnnx.floatTop1,
          100 * fromScript.floatTop1, 100 * fromOnnx.qatTop1, 100 * fromScript.qatTop1);
    QCOMPARE(fromOnnx.floatTop1, fromScript.floatTop1);
    QVERIFY(std::abs(fromOnnx.qatTop1 - fromScript.qatTop1) <= 0.001 + 1e-9);
    QCOMPARE(fromOnnx.quantizers.size(), fromScript.quantizers.size());
}

QTEST_GUILESS_MAIN(TestOnnxImport)
#include "tst_onnx_import.moc"
