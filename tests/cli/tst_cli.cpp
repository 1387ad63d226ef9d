// SPDX-License-Identifier: MIT
// The real qatwb executable: exit codes, messages, and `inspect --json` on every fixture.
#include "test_paths.h"
#include "expected_layers.h"
#include "run_process.h"

#include <QCryptographicHash>
#include <QFileInfo>
#include <QJsonArray>
#include <QProcess>
#include <QTemporaryDir>

#include <csignal>
#include <QtTest>

using qat::test::compareLayers;
using qat::test::readJsonFile;

namespace {

using Result = qat::test::ProcessResult;
using qat::test::runCli;

QString fixture(const QString& name)
{
    return QDir(qat::test::path(QATWB_FIXTURES_DIR)).filePath(name);
}

/// Starts qatwb with args and returns once it printed a training step (false if it never did).
bool startUntilFirstStep(QProcess& process, const QStringList& args)
{
    process.setReadChannel(QProcess::StandardError);
    process.start(qat::test::path(QATWB_CLI), args);
    QByteArray err;
    while (!err.contains("step ") && process.waitForReadyRead(60000)) {
        err += process.readAllStandardError();
    }
    if (!err.contains("step ")) {
        qWarning("%s", err.constData());
    }
    return err.contains("step ");
}

QString onnxFixture(const QString& name)
{
    return QDir(qat::test::path(QATWB_ONNX_FIXTURES_DIR)).filePath(name);
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void version();
    void help();
    void usageErrors_data();
    void usageErrors();
    void inspectJsonMatchesFixture_data();
    void inspectJsonMatchesFixture();
    void inspectTableListsLayers();
    void badFilesFailWithOneLine_data();
    void badFilesFailWithOneLine();
    void quantizersListsBuiltins();
    void quantizersLoadsPluginsAndWarns();
    void quantizersTable();
    void trainPrintsJsonResult();
    void planReportsAndFitsBudget();
    void trainFailuresHaveExitCodes_data();
    void trainFailuresHaveExitCodes();
    void trainStopsOnInterrupt();
    void trainSavesPlan();
    void runsListAndShow();
    void killedRunReadsInterruptedWithoutWriting();
    void sensitivityHasTwoModesStoredWithTheRun();
    void onnxModelTrainsAndReruns();
    void exportWritesFilesAndPythonAgrees();
    void dataInspectDescribesFolder();
    void trainOnJpegFolderStoresPreprocessing();
    void dataMistakesHaveExitCodes_data();
    void dataMistakesHaveExitCodes();
};

void TestCli::version()
{
    const auto r = runCli({QStringLiteral("--version")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith("qatwb 0."), r.out.constData());
    QVERIFY(r.out.contains("LibTorch"));
}

void TestCli::help()
{
    const auto top = runCli({QStringLiteral("--help")});
    QCOMPARE(top.exitCode, 0);
    QVERIFY(top.out.contains("inspect MODEL"));
    for (const auto& args : {QStringList{"inspect", "--help"}, QStringList{"help", "inspect"}}) {
        const auto r = runCli(args);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.startsWith("usage: qatwb inspect"), r.out.constData());
        QVERIFY(r.out.contains("--json"));
    }
}

void TestCli::usageErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("mustSay");
    QTest::newRow("nothing") << QStringList{} << "usage:";
    QTest::newRow("unknown command") << QStringList{"frobnicate"} << "unknown command 'frobnicate'";
    QTest::newRow("no model") << QStringList{"inspect"} << "missing argument";
    QTest::newRow("unknown option") << QStringList{"inspect", "x.pt", "--bogus"} << "unknown option --bogus";
    QTest::newRow("two models") << QStringList{"inspect", "a.pt", "b.pt"} << "unexpected argument 'b.pt'";
    QTest::newRow("help for nothing") << QStringList{"help", "nope"} << "no command 'nope'";
}

void TestCli::usageErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QString, mustSay);
    const auto r = runCli(args);
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(QString::fromUtf8(r.err).contains(mustSay), r.err.constData());
}

void TestCli::inspectJsonMatchesFixture_data()
{
    QTest::addColumn<QString>("expectedFile");
    for (const auto& file : qat::test::expectedFiles()) {
        QTest::newRow(qPrintable(file)) << fixture(file);
    }
    // ONNX files (converted on import) answer the same way.
    for (const auto& file : QDir(qat::test::path(QATWB_ONNX_FIXTURES_DIR)).entryList({QStringLiteral("*.expected.json")})) {
        QTest::newRow(qPrintable(file)) << onnxFixture(file);
    }
}

void TestCli::inspectJsonMatchesFixture()
{
    QFETCH(QString, expectedFile);
    const auto expected = readJsonFile(expectedFile);
    const auto model = QFileInfo(expectedFile).dir().filePath(expected[QStringLiteral("model")].toString());
    const auto r = runCli({QStringLiteral("inspect"), model, QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.err.isEmpty(), r.err.constData());
    QJsonParseError error;
    const auto doc = QJsonDocument::fromJson(r.out, &error);
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    const auto actual = doc.object();
    QCOMPARE(actual[QStringLiteral("path")].toString(), model);
    const auto problems = compareLayers(expected[QStringLiteral("layers")].toArray(),
                                        actual[QStringLiteral("layers")].toArray());
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    // The plan decides what is quantized; generic places layer outputs only, as before targets.
    const auto generic = runCli({QStringLiteral("inspect"), model, QStringLiteral("--json"), QStringLiteral("--target"),
                                 QStringLiteral("generic")});
    QCOMPARE(QJsonDocument::fromJson(generic.out).object()[QStringLiteral("quantizers")], expected[QStringLiteral("quantizers")]);
    QCOMPARE(actual[QStringLiteral("format")].toString(),
             model.endsWith(QStringLiteral(".onnx")) ? QStringLiteral("onnx") : QStringLiteral("torchscript"));
    // The default plan (mct-default on the imx500 target): every layer's weights and every
    // activation point the target places, each listed by name. An ONNX file's points are its
    // TorchScript twin's (same layers, same ops; names of non-layer ops come from the ONNX
    // node scopes, so only the layers they follow are compared).
    auto reference = expected;
    const bool onnx = model.endsWith(QStringLiteral(".onnx"));
    if (onnx) {
        const auto stem = QFileInfo(expectedFile).fileName().section(QStringLiteral("_opset"), 0, 0);
        const auto twin = fixture(stem + QStringLiteral("_scripted.expected.json"));
        if (!QFileInfo::exists(twin)) {
            return; // graphs in other exporters' style have no TorchScript twin
        }
        reference = readJsonFile(twin);
    }
    QCOMPARE(actual[QStringLiteral("quantizers")], reference[QStringLiteral("quantizers_imx500")]);
    QCOMPARE(actual[QStringLiteral("target")].toString(), QStringLiteral("imx500"));
    const auto points = actual[QStringLiteral("activation_points")].toArray();
    const auto wanted = reference[QStringLiteral("activation_points")].toArray();
    QCOMPARE(points.size(), wanted.size());
    for (qsizetype i = 0; i < points.size(); ++i) {
        const auto p = points[i].toObject();
        if (!onnx || !p[QStringLiteral("after_layer")].toString().isEmpty()) {
            QCOMPARE(p[QStringLiteral("name")], wanted[i].toObject()[QStringLiteral("name")]);
        }
        QCOMPARE(p[QStringLiteral("after_layer")], wanted[i].toObject()[QStringLiteral("after_layer")]);
        QVERIFY(p[QStringLiteral("quantized")].toBool());
        QVERIFY(p.contains(QStringLiteral("call_site")));
    }
}

void TestCli::inspectTableListsLayers()
{
    const auto r = runCli({QStringLiteral("inspect"), qat::test::path(QATWB_DEMO_MODEL)});
    QCOMPARE(r.exitCode, 0);
    for (const char* name : {"features.0", "features.4", "features.8", "classifier.1", "classifier.3"}) {
        QVERIFY2(r.out.contains(name), name);
    }
    QVERIFY(r.out.contains("batch_norm+relu"));
    QVERIFY(r.out.contains("Target imx500: 6 activation points"));
    QVERIFY(r.out.contains("(model output)"));
    QVERIFY(r.out.contains("5 layers; this plan creates 11 quantizers."));
    // A plan's own choices show: w2a3 keeps the model input and output at 8 bits.
    const auto w2a3 = runCli({QStringLiteral("inspect"), fixture(QStringLiteral("residual_dw_traced.pt")),
                              QStringLiteral("--preset"), QStringLiteral("w2a3")});
    QVERIFY2(w2a3.out.contains("Target lowbit: 9 activation points"), w2a3.out.constData());
    QVERIFY(w2a3.out.contains("block1:add"));
    QVERIFY(w2a3.out.contains("3 bits"));
    const auto bad = runCli({QStringLiteral("inspect"), qat::test::path(QATWB_DEMO_MODEL), QStringLiteral("--target"),
                             QStringLiteral("npu")});
    QCOMPARE(bad.exitCode, 1);
    QVERIFY2(bad.err.contains("unknown deployment target 'npu'"), bad.err.constData());
}

void TestCli::badFilesFailWithOneLine_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QStringList>("mustSay");
    const auto bad = readJsonFile(fixture(QStringLiteral("bad_files.json")));
    for (auto it = bad.begin(); it != bad.end(); ++it) {
        QStringList words;
        for (const auto& w : it.value().toArray()) {
            words << w.toString();
        }
        QTest::newRow(qPrintable(it.key())) << fixture(it.key()) << words;
    }
    const auto onnxBad = readJsonFile(onnxFixture(QStringLiteral("bad_files.json")));
    for (auto it = onnxBad.begin(); it != onnxBad.end(); ++it) {
        QStringList words;
        for (const auto& w : it.value().toArray()) {
            words << w.toString();
        }
        QTest::newRow(qPrintable(it.key())) << onnxFixture(it.key()) << words;
    }
    QTest::newRow("missing") << QStringLiteral("/no/such/model.pt") << QStringList{"no such file"};
    QTest::newRow("missing onnx") << QStringLiteral("/no/such/model.onnx") << QStringList{"no such file"};
}

void TestCli::badFilesFailWithOneLine()
{
    QFETCH(QString, file);
    QFETCH(QStringList, mustSay);
    for (const auto& json : {false, true}) {
        QStringList args{QStringLiteral("inspect"), file};
        if (json) {
            args << QStringLiteral("--json");
        }
        const auto r = runCli(args);
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.out.isEmpty());
        const auto err = QString::fromUtf8(r.err);
        QVERIFY2(err.startsWith(QStringLiteral("qatwb: ") + file + QStringLiteral(": ")), qPrintable(err));
        QCOMPARE(err.count(QLatin1Char('\n')), 1);
        for (const auto& word : mustSay) {
            QVERIFY2(err.contains(word), qPrintable(err));
        }
    }
}

void TestCli::quantizersListsBuiltins()
{
    const auto r = runCli({QStringLiteral("quantizers"), QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    const auto rows = QJsonDocument::fromJson(r.out).array();
    QCOMPARE(rows.size(), 15);
    QSet<QString> keys;
    for (const auto& value : rows) {
        const auto row = value.toObject();
        for (const auto* field : {"target", "method", "training", "name", "description", "source"}) {
            QVERIFY2(!row[QString::fromLatin1(field)].toString().isEmpty(), field);
        }
        QCOMPARE(row[QStringLiteral("source")].toString(), QStringLiteral("builtin"));
        keys.insert(row[QStringLiteral("target")].toString() + QLatin1Char('/') + row[QStringLiteral("method")].toString()
                    + QLatin1Char('/') + row[QStringLiteral("training")].toString());
    }
    for (const auto* key : {"weights/symmetric/STE", "weights/power-of-two/LSQ", "weights/uniform/LSQ",
                            "activations/uniform/STE", "activations/power-of-two/PACT", "activations/uniform/LSQ+"}) {
        QVERIFY2(keys.contains(QString::fromLatin1(key)), key);
    }
}

void TestCli::quantizersLoadsPluginsAndWarns()
{
    const auto example = QDir(qat::test::path(QATWB_PLUGIN_DIR_BUILT)).filePath(QStringLiteral("my_training.so"));
    const auto wrong = QDir(qat::test::path(QATWB_TEST_PLUGIN_DIR)).filePath(QStringLiteral("wrong_version_plugin.so"));
    const auto r = runCli({QStringLiteral("quantizers"), QStringLiteral("--json"), QStringLiteral("--plugin"), wrong,
                           QStringLiteral("--plugin"), example});
    QCOMPARE(r.exitCode, 0);
    const auto err = QString::fromUtf8(r.err);
    QVERIFY2(err.contains(QStringLiteral("warning: plugin ") + wrong), qPrintable(err));
    QVERIFY(err.contains(QStringLiteral("plugin API version 999")));
    int fromPlugin = 0;
    for (const auto& value : QJsonDocument::fromJson(r.out).array()) {
        const auto row = value.toObject();
        if (row[QStringLiteral("training")].toString() == QStringLiteral("MyTraining")) {
            QCOMPARE(row[QStringLiteral("source")].toString(), example);
            ++fromPlugin;
        }
    }
    QCOMPARE(fromPlugin, 2);
}

void TestCli::quantizersTable()
{
    const auto r = runCli({QStringLiteral("quantizers")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.contains("LSQPlusActivationQuantizer"));
    QVERIFY(r.out.contains("PACT: a learned clipping level"));
    const auto help = runCli({QStringLiteral("quantizers"), QStringLiteral("--help")});
    QVERIFY(help.out.startsWith("usage: qatwb quantizers"));
}

static QStringList quickTrain(const QString& model)
{
    return {QStringLiteral("train"), QStringLiteral("--model"), model, QStringLiteral("--limit-train"),
            QStringLiteral("640"), QStringLiteral("--limit-test"), QStringLiteral("200"), QStringLiteral("--batch"),
            QStringLiteral("64"), QStringLiteral("--calibration-batches"), QStringLiteral("2")};
}

void TestCli::trainPrintsJsonResult()
{
    auto args = quickTrain(fixture(QStringLiteral("residual_dw_scripted.pt")));
    args << QStringLiteral("--steps") << QStringLiteral("5") << QStringLiteral("--preset") << QStringLiteral("w4a8-lsq")
         << QStringLiteral("--json");
    const auto r = runCli(args);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const auto result = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(result[QStringLiteral("state")].toString(), QStringLiteral("finished"));
    QCOMPARE(result[QStringLiteral("steps")].toInt(), 5);
    QVERIFY(result[QStringLiteral("float_top1")].toDouble() >= 0);
    QVERIFY(result[QStringLiteral("qat_top1")].toDouble() >= 0);
    QVERIFY(result[QStringLiteral("seconds")].toDouble() > 0);
    // Six layers' weights, their outputs, the residual add, the mean and the input (imx500).
    QCOMPARE(result[QStringLiteral("quantizers")].toArray().size(), 6 + 6 + 2 + 1);
    QVERIFY(r.err.contains("finished: float top-1"));
    // What the plan costs, as `inspect --json` reports it for the same plan and input size.
    const auto resources = result[QStringLiteral("resources")].toObject();
    const auto inspected = runCli({QStringLiteral("inspect"), fixture(QStringLiteral("residual_dw_scripted.pt")),
                                   QStringLiteral("--preset"), QStringLiteral("w4a8-lsq"), QStringLiteral("--json")});
    QVERIFY2(inspected.exitCode == 0, inspected.err.constData());
    const auto expected = QJsonDocument::fromJson(inspected.out).object()[QStringLiteral("resources")].toObject();
    QVERIFY(resources[QStringLiteral("weights_bytes")].toInteger() > 0);
    QVERIFY(resources[QStringLiteral("weights_bytes")].toInteger() < resources[QStringLiteral("weights_bytes_8bit")].toInteger());
    QCOMPARE(resources, expected);
}

// `qatwb plan`: the figures of a plan, a plan fitted to a budget (written as a plan file that
// inspect reads back with the same figures), and budgets that cannot be met.
void TestCli::planReportsAndFitsBudget()
{
    const auto demo = qat::test::path(QATWB_DEMO_MODEL);
    auto r = runCli({QStringLiteral("plan"), QStringLiteral("--model"), demo, QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const auto uniform = QJsonDocument::fromJson(r.out).object()[QStringLiteral("resources")].toObject();
    const auto all8 = uniform[QStringLiteral("weights_bytes_8bit")].toInteger();
    QCOMPARE(uniform[QStringLiteral("weights_bytes")].toInteger(), all8); // mct-default: 8 bits everywhere
    QCOMPARE(uniform[QStringLiteral("weights_bytes_float32")].toInteger(), 4 * all8);

    QTemporaryDir dir;
    const auto planFile = dir.filePath(QStringLiteral("fitted.json"));
    r = runCli({QStringLiteral("plan"), QStringLiteral("--model"), demo, QStringLiteral("--fit"),
                QStringLiteral("weights=50%"), QStringLiteral("--images"), QStringLiteral("128"),
                QStringLiteral("--adapt-steps"), QStringLiteral("2"), QStringLiteral("--verify"),
                QStringLiteral("6"), QStringLiteral("--verify-steps"), QStringLiteral("2"), QStringLiteral("--out"), planFile, QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const auto fit = QJsonDocument::fromJson(r.out).object();
    const auto budget = fit[QStringLiteral("budget")].toObject();
    QCOMPARE(budget[QStringLiteral("limit")].toInteger(), all8 / 2);
    const auto fitted = fit[QStringLiteral("resources")].toObject();
    QCOMPARE(fitted[QStringLiteral("weights_bytes")].toInteger(), budget[QStringLiteral("figure")].toInteger());
    QVERIFY(budget[QStringLiteral("figure")].toInteger() <= all8 / 2);
    QVERIFY(fit[QStringLiteral("predicted_loss")].toDouble() >= 0);
    QSet<int> bits;
    for (const auto& layer : fitted[QStringLiteral("layers")].toArray()) {
        bits << layer.toObject()[QStringLiteral("weight_bits")].toInt();
    }
    QVERIFY(QSet<int>({2, 4, 8}).contains(bits));
    const auto sensitivity = fit[QStringLiteral("sensitivity")].toArray();
    QCOMPARE(sensitivity.size(), 5);
    for (const auto& s : sensitivity) {
        const auto loss = s.toObject()[QStringLiteral("loss")].toObject();
        QVERIFY2(loss[QStringLiteral("2")].toDouble() > loss[QStringLiteral("8")].toDouble(),
                 qPrintable(s.toObject()[QStringLiteral("layer")].toString()));
    }
    // The candidates were measured jointly: every one holds the budget, and the plan is the
    // one measured best.
    const auto verification = fit[QStringLiteral("verification")].toObject();
    const auto candidates = verification[QStringLiteral("candidates")].toArray();
    QVERIFY(candidates.size() >= 2 && candidates.size() <= 6);
    QCOMPARE(verification[QStringLiteral("measured")].toInt(), candidates.size());
    QCOMPARE(verification[QStringLiteral("adapt_steps")].toInt(), 2);
    QString fittedBits;
    for (const auto& layer : fitted[QStringLiteral("layers")].toArray()) {
        fittedBits += (fittedBits.isEmpty() ? "" : "/") + QString::number(layer.toObject()[QStringLiteral("weight_bits")].toInt());
    }
    double least = 1e300;
    for (const auto& c : candidates) {
        least = std::min(least, c.toObject()[QStringLiteral("measured_loss")].toDouble());
    }
    int chosen = 0;
    for (const auto& c : candidates) {
        const auto o = c.toObject();
        QVERIFY(o[QStringLiteral("figure")].toInteger() <= all8 / 2);
        QVERIFY(o[QStringLiteral("measured_loss")].toDouble() >= 0);
        if (o[QStringLiteral("chosen")].toBool()) {
            ++chosen;
            QCOMPARE(o[QStringLiteral("measured_loss")].toDouble(), least);
            QCOMPARE(o[QStringLiteral("bits")].toString(), fittedBits);
            QCOMPARE(fit[QStringLiteral("measured_loss")].toDouble(), least);
        }
    }
    QCOMPARE(chosen, 1);
    r = runCli({QStringLiteral("inspect"), demo, QStringLiteral("--plan"), planFile, QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(QJsonDocument::fromJson(r.out).object()[QStringLiteral("resources")].toObject(), fitted);

    // Below every layer at 2 bits (a quarter of 8 bits): refused, with the smallest figure.
    r = runCli({QStringLiteral("plan"), QStringLiteral("--model"), demo, QStringLiteral("--fit"),
                QStringLiteral("weights=20%"), QStringLiteral("--images"), QStringLiteral("64")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("cannot be met: the smallest reachable is"), r.err.constData());
    QCOMPARE(r.err.count('\n'), 1); // one line, before any measurement
    // imx500 stores 8-bit activations only: below the largest tensor at 8 bits is refused in
    // one line, before measuring, also as the second of two budgets.
    r = runCli({QStringLiteral("plan"), QStringLiteral("--model"), demo, QStringLiteral("--fit"),
                QStringLiteral("weights=50%"), QStringLiteral("--fit"), QStringLiteral("activations-kb=1")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("activations-kb=1 (1.0 KB) cannot be met: the smallest reachable is"), r.err.constData());
    QCOMPARE(r.err.count('\n'), 1);
    r = runCli({QStringLiteral("plan"), QStringLiteral("--model"), demo, QStringLiteral("--fit"),
                QStringLiteral("weights=50%"), QStringLiteral("--verify"), QStringLiteral("0")});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("--verify takes 1 or more"), r.err.constData());
    r = runCli({QStringLiteral("plan"), QStringLiteral("--model"), demo, QStringLiteral("--fit"), QStringLiteral("size=3")});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("unknown budget 'size'"), r.err.constData());
}

void TestCli::trainFailuresHaveExitCodes_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("mustSay");
    const auto mlp = fixture(QStringLiteral("mlp_traced.pt"));
    QTest::newRow("no model") << QStringList{"train"} << 2 << "--model is required";
    QTest::newRow("bad steps") << (quickTrain(mlp) << "--steps" << "many") << 2 << "--steps needs a whole number";
    QTest::newRow("bad spec") << (quickTrain(mlp) << "--weights" << "lsq:symmetric") << 1 << "expected TRAINING:METHOD:BITS";
    QTest::newRow("bad preset") << (quickTrain(mlp) << "--preset" << "w1a1") << 1 << "unknown preset 'w1a1'";
    QTest::newRow("bad model") << quickTrain(fixture(QStringLiteral("bad_not_a_zip.pt"))) << 1 << "not a TorchScript archive";
    QTest::newRow("no layers") << (quickTrain(fixture(QStringLiteral("no_layers_scripted.pt"))) << "--steps" << "3") << 1
                               << "no quantizable layer";
    QTest::newRow("bad data") << (quickTrain(mlp) << "--data" << "/no/such/data") << 1 << "no such data folder";
    QTest::newRow("diverged") << (quickTrain(mlp) << "--steps" << "5" << "--inject-nan-at" << "2") << 3
                              << "diverged";
}

// A data row (args, exitCode, mustSay): the CLI ends with that code and says those words.
static void checkExitRow()
{
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, mustSay);
    const auto r = runCli(args);
    QCOMPARE(r.exitCode, exitCode);
    QVERIFY2(QString::fromUtf8(r.err).contains(mustSay), r.err.constData());
}

void TestCli::trainFailuresHaveExitCodes()
{
    checkExitRow();
}

void TestCli::trainStopsOnInterrupt()
{
    QProcess process;
    auto args = quickTrain(fixture(QStringLiteral("cnn_bn_relu_traced.pt")));
    args << QStringLiteral("--steps") << QStringLiteral("100000") << QStringLiteral("--limit-train")
         << QStringLiteral("60000");
    QVERIFY(startUntilFirstStep(process, args));
    ::kill(pid_t(process.processId()), SIGINT);
    QVERIFY(process.waitForFinished(60000));
    const auto err = process.readAllStandardError();
    QCOMPARE(process.exitCode(), 130);
    QVERIFY2(err.contains("cancelled"), err.constData());
    QVERIFY(err.contains("stopped by the user"));
}

void TestCli::trainSavesPlan()
{
    QTemporaryDir dir;
    const auto plan = dir.filePath(QStringLiteral("plan.json"));
    auto args = quickTrain(fixture(QStringLiteral("mlp_scripted.pt")));
    args << QStringLiteral("--steps") << QStringLiteral("2") << QStringLiteral("--preset") << QStringLiteral("w2a3")
         << QStringLiteral("--weights") << QStringLiteral("lsq:symmetric:3:per-channel") << QStringLiteral("--save-plan")
         << plan;
    QCOMPARE(runCli(args).exitCode, 0);
    const auto saved = readJsonFile(plan);
    QCOMPARE(saved[QStringLiteral("weights")].toObject()[QStringLiteral("bits")].toInt(), 3);
    QCOMPARE(saved[QStringLiteral("activations")].toObject()[QStringLiteral("bits")].toInt(), 3);
    auto again = quickTrain(fixture(QStringLiteral("mlp_scripted.pt")));
    again << QStringLiteral("--steps") << QStringLiteral("2") << QStringLiteral("--plan") << plan;
    QCOMPARE(runCli(again).exitCode, 0);
}

void TestCli::runsListAndShow()
{
    QTemporaryDir dir;
    const auto db = dir.filePath(QStringLiteral("runs.sqlite"));
    auto args = quickTrain(fixture(QStringLiteral("shared_linear_traced.pt")));
    args << QStringLiteral("--steps") << QStringLiteral("3") << QStringLiteral("--db") << db << QStringLiteral("--json");
    const auto trained = runCli(args);
    QCOMPARE(trained.exitCode, 0);
    QCOMPARE(QJsonDocument::fromJson(trained.out).object()[QStringLiteral("run_id")].toInt(), 1);
    QVERIFY(trained.err.contains("run 1 recorded in"));
    const auto list = runCli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json"), QStringLiteral("--db"), db});
    QCOMPARE(list.exitCode, 0);
    const auto rows = QJsonDocument::fromJson(list.out).array();
    QCOMPARE(rows.size(), 1);
    const auto row = rows[0].toObject();
    for (const auto* key : {"id", "name", "state", "model", "float_top1", "qat_top1", "created"}) {
        QVERIFY2(row.contains(QString::fromLatin1(key)), key);
    }
    QCOMPARE(row[QStringLiteral("state")].toString(), QStringLiteral("finished"));
    QVERIFY(row[QStringLiteral("model")].toString().endsWith(QStringLiteral("shared_linear_traced.pt")));
    const auto filtered = runCli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json"),
                                  QStringLiteral("--state"), QStringLiteral("failed"), QStringLiteral("--db"), db});
    QCOMPARE(QJsonDocument::fromJson(filtered.out).array().size(), 0);
    const auto show = runCli({QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("1"), QStringLiteral("--json"),
                              QStringLiteral("--db"), db});
    QCOMPARE(show.exitCode, 0);
    const auto detail = QJsonDocument::fromJson(show.out).object();
    QCOMPARE(detail[QStringLiteral("quantizers")].toArray().size(), 3 + 4 + 1);
    QVERIFY(detail[QStringLiteral("plan")].toObject().contains(QStringLiteral("weights")));
    QCOMPARE(detail[QStringLiteral("metric_points")].toInt(), 3);
    const auto table = runCli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--db"), db});
    QVERIFY(table.out.contains("shared_linear_traced mct-default"));
    const auto missing = runCli({QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("7"), QStringLiteral("--db"), db});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY(missing.err.contains("there is no run 7"));
    const auto badId = runCli({QStringLiteral("runs"), QStringLiteral("delete"), QStringLiteral("x"), QStringLiteral("--db"), db});
    QCOMPARE(badId.exitCode, 2);
    const auto deleted = runCli({QStringLiteral("runs"), QStringLiteral("delete"), QStringLiteral("1"), QStringLiteral("--db"), db});
    QCOMPARE(deleted.exitCode, 0);
    const auto empty = runCli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--json"), QStringLiteral("--db"), db});
    QCOMPARE(QJsonDocument::fromJson(empty.out).array().size(), 0);
    const auto noDb = runCli({QStringLiteral("runs"), QStringLiteral("list"), QStringLiteral("--db"), dir.filePath(QStringLiteral("none.sqlite"))});
    QCOMPARE(noDb.exitCode, 1);
    QVERIFY(noDb.err.contains("no run database here yet"));
}

// Issue #25 item 1: a `qatwb train` killed with SIGKILL leaves its run "running" in the
// file; every reader must report it interrupted (its process on this host is gone), and a
// reader that opened the file read-only must not write that down.
void TestCli::killedRunReadsInterruptedWithoutWriting()
{
    QTemporaryDir dir;
    const auto db = dir.filePath(QStringLiteral("runs.sqlite"));
    QProcess process;
    auto args = quickTrain(fixture(QStringLiteral("cnn_bn_relu_traced.pt")));
    args << QStringLiteral("--steps") << QStringLiteral("100000") << QStringLiteral("--db") << db;
    QVERIFY(startUntilFirstStep(process, args));
    auto runsCli = [&db](QStringList args) { return runCli(QStringList{QStringLiteral("runs")} << args << QStringLiteral("--db") << db); };
    auto listed = [&](const QStringList& extra) {
        return QJsonDocument::fromJson(runsCli(QStringList{QStringLiteral("list"), QStringLiteral("--json")} << extra).out).array();
    };
    QCOMPARE(listed({}).at(0).toObject()[QStringLiteral("state")].toString(), QStringLiteral("running"));
    ::kill(pid_t(process.processId()), SIGKILL);
    QVERIFY(process.waitForFinished(20000));

    auto digest = [](const QString& path) {
        QFile file(path);
        return file.open(QIODevice::ReadOnly) ? QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256)
                                              : QByteArray("absent");
    };
    const auto before = digest(db) + digest(db + QStringLiteral("-wal"));

    const auto rows = listed({});
    QCOMPARE(rows.size(), 1);
    const auto row = rows[0].toObject();
    QCOMPARE(row[QStringLiteral("state")].toString(), QStringLiteral("interrupted"));
    QCOMPARE(row[QStringLiteral("message")].toString(),
             QStringLiteral("the process recording this run ended without finishing it"));
    QCOMPARE(listed({QStringLiteral("--state"), QStringLiteral("interrupted")}).size(), 1);
    QCOMPARE(listed({QStringLiteral("--state"), QStringLiteral("running")}).size(), 0);
    const auto table = runsCli({QStringLiteral("list")});
    QVERIFY2(table.out.contains("interrupted") && !table.out.contains("running"), table.out.constData());
    const auto shown = runsCli({QStringLiteral("show"), QStringLiteral("1")});
    QVERIFY2(shown.out.contains("state      interrupted: the process recording this run ended without finishing it"),
             shown.out.constData());
    const auto shownJson = QJsonDocument::fromJson(runsCli({QStringLiteral("show"), QStringLiteral("1"), QStringLiteral("--json")}).out).object();
    QCOMPARE(shownJson[QStringLiteral("state")].toString(), QStringLiteral("interrupted"));
    QCOMPARE(shownJson[QStringLiteral("message")].toString(), row[QStringLiteral("message")].toString());

    // The readers opened the file read-only: not a byte of it changed.
    QCOMPARE(digest(db) + digest(db + QStringLiteral("-wal")), before);
}

// Issue #25 item 7: the two per-layer measurements a user needs. `trained`: from the run,
// each layer's quantizers off while the rest stay quantized (what each layer costs in this
// run); `float`: from the float model's own weights, each layer alone quantized at the
// plan's bits and calibrated as a run calibrates (what the plan costs before training).
void TestCli::sensitivityHasTwoModesStoredWithTheRun()
{
    QTemporaryDir dir;
    const auto db = dir.filePath(QStringLiteral("runs.sqlite"));
    auto train = [&](int steps) {
        const auto r = runCli({QStringLiteral("train"), QStringLiteral("--model"), qat::test::path(QATWB_DEMO_MODEL),
                               QStringLiteral("--preset"), QStringLiteral("w2a3"), QStringLiteral("--limit-train"),
                               QStringLiteral("512"), QStringLiteral("--limit-test"), QStringLiteral("200"),
                               QStringLiteral("--batch"), QStringLiteral("64"), QStringLiteral("--calibration-batches"),
                               QStringLiteral("2"), QStringLiteral("--seed"), QStringLiteral("5"), QStringLiteral("--steps"),
                               QString::number(steps), QStringLiteral("--db"), db, QStringLiteral("--json")});
        return QJsonDocument::fromJson(r.out).object();
    };
    auto measure = [&](qint64 id, const QString& mode) {
        QStringList args{QStringLiteral("runs"), QStringLiteral("sensitivity"), QString::number(id), QStringLiteral("--json"),
                         QStringLiteral("--db"), db};
        if (!mode.isEmpty()) {
            args << QStringLiteral("--mode") << mode;
        }
        const auto r = runCli(args);
        if (r.exitCode != 0) {
            qWarning("%s", r.err.constData());
        }
        return QJsonDocument::fromJson(r.out).object();
    };
    const auto shortRun = train(2);
    const auto longRun = train(8);
    const auto shortId = shortRun[QStringLiteral("run_id")].toInteger();
    const auto longId = longRun[QStringLiteral("run_id")].toInteger();
    QVERIFY(shortId > 0 && longId > shortId);
    const double oneImage = 1.0 / 200;

    QJsonObject floatMode[2];
    int i = 0;
    for (const auto& run : {shortRun, longRun}) {
        const auto id = run[QStringLiteral("run_id")].toInteger();
        // Default: the trained run, each layer's quantizers off in turn.
        const auto trained = measure(id, QString());
        QCOMPARE(trained[QStringLiteral("mode")].toString(), QStringLiteral("trained"));
        QCOMPARE(trained[QStringLiteral("images")].toInt(), 200); // the run's own test subset
        const double quantized = trained[QStringLiteral("quantized_top1")].toDouble();
        QVERIFY2(std::abs(quantized - run[QStringLiteral("qat_top1")].toDouble()) <= oneImage,
                 "all quantizers on is the run as trained");
        QVERIFY(std::abs(trained[QStringLiteral("float_top1")].toDouble() - run[QStringLiteral("float_top1")].toDouble()) <= oneImage);
        const auto layers = trained[QStringLiteral("layers")].toArray();
        QCOMPARE(layers.size(), 5);
        for (const auto& l : layers) {
            const auto layer = l.toObject();
            // drop: what this layer's quantizers cost the run (its top-1 with them off, minus the run's).
            QVERIFY(std::abs(layer[QStringLiteral("top1")].toDouble() - layer[QStringLiteral("drop")].toDouble() - quantized) < 1e-9);
        }
        floatMode[i] = measure(id, QStringLiteral("float"));
        QCOMPARE(floatMode[i][QStringLiteral("mode")].toString(), QStringLiteral("float"));
        const double floatTop1 = floatMode[i][QStringLiteral("float_top1")].toDouble();
        QVERIFY(std::abs(floatTop1 - run[QStringLiteral("float_top1")].toDouble()) <= oneImage);
        for (const auto& l : floatMode[i][QStringLiteral("layers")].toArray()) {
            const auto layer = l.toObject();
            QVERIFY(std::abs(floatTop1 - layer[QStringLiteral("drop")].toDouble() - layer[QStringLiteral("top1")].toDouble()) < 1e-9);
            QVERIFY(layer[QStringLiteral("quantizers")].toInt() >= 2); // its weights and its outputs
        }
        ++i;
    }
    // From the float weights, the measurement does not depend on how long the run trained.
    const auto a = floatMode[0][QStringLiteral("layers")].toArray();
    const auto b = floatMode[1][QStringLiteral("layers")].toArray();
    QCOMPARE(a.size(), 5);
    QCOMPARE(a, b);
    // 2-bit weights and 3-bit activations cost the float model something somewhere.
    QVERIFY(std::any_of(a.begin(), a.end(), [](const auto& l) { return l.toObject()[QStringLiteral("drop")].toDouble() > 0; }));

    // Both are stored with the run, each with its mode.
    const auto shown = QJsonDocument::fromJson(runCli({QStringLiteral("runs"), QStringLiteral("show"), QString::number(longId),
                                                       QStringLiteral("--json"), QStringLiteral("--db"), db}).out).object();
    QStringList modes;
    for (const auto& row : shown[QStringLiteral("sensitivity")].toArray()) {
        modes << row.toObject()[QStringLiteral("mode")].toString();
    }
    QCOMPARE(modes.count(QStringLiteral("trained")), 5);
    QCOMPARE(modes.count(QStringLiteral("float")), 5);
    const auto text = runCli({QStringLiteral("runs"), QStringLiteral("show"), QString::number(longId), QStringLiteral("--db"), db});
    QVERIFY2(text.out.contains("each layer's quantizers off") && text.out.contains("each layer alone quantized"), text.out.constData());

    const auto bad = runCli({QStringLiteral("runs"), QStringLiteral("sensitivity"), QString::number(longId), QStringLiteral("--mode"),
                             QStringLiteral("both"), QStringLiteral("--db"), db});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY2(bad.err.contains("trained") && bad.err.contains("float"), bad.err.constData());
}

// An ONNX model through the whole CLI: inspect tells what the import did, a run records
// the .onnx file's hash, and the run can be re-run from the history.
void TestCli::onnxModelTrainsAndReruns()
{
    QTemporaryDir dir;
    const auto db = dir.filePath(QStringLiteral("runs.sqlite"));
    const auto model = onnxFixture(QStringLiteral("keras_nhwc_opset13.onnx"));
    const auto table = runCli({QStringLiteral("inspect"), model});
    QCOMPARE(table.exitCode, 0);
    QVERIFY2(table.out.contains("sequential.dense  "), table.out.constData());
    QVERIFY(table.out.contains("note: the ONNX input 'input_1' is channels-last [N, 28, 28, 1]"));
    const auto trained = runCli(quickTrain(model) << QStringLiteral("--steps") << QStringLiteral("3") << QStringLiteral("--db")
                                                  << db << QStringLiteral("--json"));
    QVERIFY2(trained.exitCode == 0, trained.err.constData());
    const auto show = runCli({QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("1"), QStringLiteral("--json"),
                              QStringLiteral("--db"), db});
    QCOMPARE(show.exitCode, 0);
    QFile file(model);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const auto hash = QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256).toHex();
    QCOMPARE(QJsonDocument::fromJson(show.out).object()[QStringLiteral("model_hash")].toString(), QString::fromLatin1(hash));
    const auto again = runCli({QStringLiteral("runs"), QStringLiteral("rerun"), QStringLiteral("1"), QStringLiteral("--db"), db});
    QVERIFY2(again.exitCode == 0, again.err.constData());
    QVERIFY(again.err.contains("run 2 recorded in"));
}

// The acceptance of the export issue: a demo run exported to all three files; Python
// PyTorch loads the TorchScript and gets the test accuracy the run reported; the parity
// report is in `runs show`.
void TestCli::exportWritesFilesAndPythonAgrees()
{
    QTemporaryDir dir;
    const auto db = dir.filePath(QStringLiteral("runs.sqlite"));
    auto args = quickTrain(qat::test::path(QATWB_DEMO_MODEL));
    args << QStringLiteral("--steps") << QStringLiteral("20") << QStringLiteral("--limit-test") << QStringLiteral("1000")
         << QStringLiteral("--db") << db << QStringLiteral("--json");
    const auto trained = runCli(args);
    QCOMPARE(trained.exitCode, 0);
    const auto qatTop1 = QJsonDocument::fromJson(trained.out).object()[QStringLiteral("qat_top1")].toDouble();
    const auto out = dir.filePath(QStringLiteral("exported"));
    const auto exported = runCli({QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--out"), out,
                                  QStringLiteral("--db"), db, QStringLiteral("--json")});
    QVERIFY2(exported.exitCode == 0, exported.err.constData());
    const auto result = QJsonDocument::fromJson(exported.out).object();
    const auto files = result[QStringLiteral("files")].toObject();
    for (const auto* format : {"spec", "torchscript", "onnx"}) {
        QVERIFY2(QFile::exists(files[QString::fromLatin1(format)].toString()), format);
    }
    QVERIFY(files[QStringLiteral("torchscript")].toString().endsWith(QStringLiteral("demo_cnn_run1.pt")));
    const auto parity = result[QStringLiteral("parity")].toObject();
    QCOMPARE(parity[QStringLiteral("images")].toInt(), 1000);
    QCOMPARE(parity[QStringLiteral("top1_agreement")].toDouble(), 1.0);
    QCOMPARE(parity[QStringLiteral("exported_top1")].toDouble(), qatTop1);
    QCOMPARE(result[QStringLiteral("qdq_pairs")].toInt(), 11);
    // The ONNX file ran in ONNX Runtime (packaging/install-deps.sh installs it).
    const auto runtime = parity[QStringLiteral("runtime")].toObject();
    QVERIFY2(runtime[QStringLiteral("checked")].toBool(), qPrintable(runtime[QStringLiteral("note")].toString()));
    QCOMPARE(runtime[QStringLiteral("images")].toInt(), 1000);
    QVERIFY(runtime[QStringLiteral("runtime")].toString().startsWith(QStringLiteral("ONNX Runtime 1.30.0")));
    QVERIFY(runtime[QStringLiteral("top1_agreement")].toDouble() >= 0.99);
    QVERIFY(std::abs(runtime[QStringLiteral("runtime_top1")].toDouble() - qatTop1) <= 0.01);

    // MCT's ONNX format, and the text report's runtime line.
    const auto mctq = runCli({QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--out"), out,
                              QStringLiteral("--db"), db, QStringLiteral("--format"), QStringLiteral("onnx,mctq-onnx")});
    QVERIFY2(mctq.exitCode == 0, mctq.err.constData());
    QVERIFY2(mctq.out.contains("wrote mctq-onnx: ") && mctq.out.contains("demo_cnn_run1.mctq.onnx")
                 && mctq.out.contains("ONNX Runtime 1.30.0 (CPU, default optimizations) on 1000 test images: top-1"),
             mctq.out.constData());

    QProcess python;
    python.start(QStringLiteral("/usr/bin/python3"),
                 {qat::test::path(QATWB_SOURCE_DIR, "/tests/export/check_export.py"), QStringLiteral("accuracy"),
                  files[QStringLiteral("torchscript")].toString(), qat::test::path(QATWB_FASHION_MNIST_DIR), QStringLiteral("1000")});
    QVERIFY(python.waitForFinished(120000));
    if (python.exitCode() != 0 && python.readAllStandardError().contains("No module named 'torch'")) {
        QSKIP("/usr/bin/python3 has no torch (python3-torch)");
    }
    const auto accuracy = QJsonDocument::fromJson(python.readAllStandardOutput()).object();
    QCOMPARE(accuracy[QStringLiteral("top1")].toDouble(), qatTop1);

    const auto show = runCli({QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("1"), QStringLiteral("--db"), db});
    QVERIFY2(show.out.contains("export     torchscript") && show.out.contains("parity     1000 test images")
                 && show.out.contains("bit for bit"),
             show.out.constData());
    const auto detail = runCli({QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("1"), QStringLiteral("--json"),
                                QStringLiteral("--db"), db});
    const auto exports = QJsonDocument::fromJson(detail.out).object()[QStringLiteral("exports")].toArray();
    QCOMPARE(exports.size(), 5); // spec, torchscript, onnx; then onnx, mctq-onnx
    QCOMPARE(exports[0].toObject()[QStringLiteral("parity")].toObject()[QStringLiteral("max_abs_diff")].toDouble(), 0.0);

    // Nothing to export: a run id that does not exist, no --out.
    QCOMPARE(runCli({QStringLiteral("export"), QStringLiteral("9"), QStringLiteral("--out"), out, QStringLiteral("--db"), db}).exitCode, 1);
    QCOMPARE(runCli({QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--db"), db}).exitCode, 2);
}

void TestCli::dataInspectDescribesFolder()
{
    const QString data = qat::test::path(QATWB_SOURCE_DIR, "/tests/fixtures/data/");
    const auto r = runCli({QStringLiteral("data"), QStringLiteral("inspect"), data + QStringLiteral("rgb_jpeg_split"),
                           QStringLiteral("--model"), data + QStringLiteral("rgb_cnn.pt"), QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    const auto j = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(j.value(QStringLiteral("format")).toString(), QStringLiteral("image-folder"));
    QCOMPARE(j.value(QStringLiteral("train_samples")).toInt(), 12);
    QCOMPARE(j.value(QStringLiteral("test_samples")).toInt(), 4);
    QCOMPARE(j.value(QStringLiteral("test_source")).toString(), QStringLiteral("the val/ folder"));
    QCOMPARE(j.value(QStringLiteral("classes")).toArray().size(), 2);
    QCOMPARE(j.value(QStringLiteral("shapes")).toArray().size(), 3);
    QCOMPARE(j.value(QStringLiteral("preprocessing")).toObject().value(QStringLiteral("resize")).toString(),
             QStringLiteral("crop:32x32"));
    QCOMPARE(j.value(QStringLiteral("model")).toObject().value(QStringLiteral("input")).toArray(),
             (QJsonArray{3, 32, 32}));
    const auto text = runCli({QStringLiteral("data"), QStringLiteral("inspect"), data + QStringLiteral("npy_pair")});
    QCOMPARE(text.exitCode, 0);
    QVERIFY2(text.out.contains("samples: 27 training, 3 evaluation"), text.out.constData());
    QVERIFY(text.out.contains("values: uint8, "));
}

void TestCli::trainOnJpegFolderStoresPreprocessing()
{
    QTemporaryDir dir;
    const auto db = dir.filePath(QStringLiteral("runs.sqlite"));
    const QString data = qat::test::path(QATWB_SOURCE_DIR, "/tests/fixtures/data/");
    const auto r = runCli({QStringLiteral("train"), QStringLiteral("--model"), data + QStringLiteral("rgb_cnn.pt"),
                           QStringLiteral("--data"), data + QStringLiteral("rgb_jpeg_split"), QStringLiteral("--normalize"),
                           QStringLiteral("imagenet"), QStringLiteral("--steps"), QStringLiteral("3"), QStringLiteral("--batch"),
                           QStringLiteral("4"), QStringLiteral("--db"), db, QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    // what will be fed is printed before training starts
    QVERIFY2(r.err.indexOf("centre crop 32x32") >= 0 && r.err.indexOf("centre crop 32x32") < r.err.indexOf("step "),
             r.err.constData());
    const auto id = QJsonDocument::fromJson(r.out).object().value(QStringLiteral("run_id")).toInt();
    const auto show = runCli({QStringLiteral("runs"), QStringLiteral("show"), QString::number(id), QStringLiteral("--db"), db,
                              QStringLiteral("--json")});
    QCOMPARE(show.exitCode, 0);
    const auto stored = QJsonDocument::fromJson(show.out).object().value(QStringLiteral("hyperparameters")).toObject()
                            .value(QStringLiteral("data")).toObject();
    QCOMPARE(stored.value(QStringLiteral("resize")).toString(), QStringLiteral("crop:32x32"));
    QCOMPARE(stored.value(QStringLiteral("normalize")).toString(), QStringLiteral("imagenet"));
    QCOMPARE(stored.value(QStringLiteral("channels")).toInt(), 3);
    QCOMPARE(stored.value(QStringLiteral("divisor")).toDouble(), 255.0);
    // a re-run feeds the same
    const auto again = runCli({QStringLiteral("runs"), QStringLiteral("rerun"), QString::number(id), QStringLiteral("--db"), db});
    QVERIFY2(again.exitCode == 0, again.err.constData());
    QVERIFY(again.err.contains("ImageNet"));
}

void TestCli::dataMistakesHaveExitCodes_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("mustSay");
    const QString data = qat::test::path(QATWB_SOURCE_DIR, "/tests/fixtures/data/");
    const QStringList train{QStringLiteral("train"), QStringLiteral("--model"), data + QStringLiteral("rgb_cnn.pt"),
                            QStringLiteral("--steps"), QStringLiteral("1"), QStringLiteral("--db"),
                            // One file per test process: other checkouts' tests share /tmp.
                            QDir::temp().filePath(QStringLiteral("qatwb-tst-cli-data-%1.sqlite").arg(QCoreApplication::applicationPid()))};
    QTest::newRow("unreadable") << (QStringList(train) << "--data" << data + "bad/unreadable") << 1
                                << "truncated.jpg: unreadable image";
    QTest::newRow("mixed sizes") << (QStringList(train) << "--data" << data + "rgb_jpeg_split" << "--resize" << "none") << 1
                                 << "mixed image sizes";
    QTest::newRow("bad resize") << (QStringList(train) << "--resize" << "big") << 2 << "--resize: 'big'";
    QTest::newRow("bad split") << (QStringList(train) << "--val-split" << "1.5") << 2 << "--val-split";
    QTest::newRow("bad format") << (QStringList(train) << "--data-format" << "jpeg") << 2 << "unknown data format";
    QTest::newRow("inspect arrays disagree")
        << QStringList{"data", "inspect", data + "bad/shapes_disagree"} << 1 << "has 10 labels but";
    QTest::newRow("inspect label too big")
        << QStringList{"data", "inspect", data + "bad/label_too_big", "--model", fixture(QStringLiteral("mlp_traced.pt"))}
        << 1 << "outside the model's 10 classes";
}

void TestCli::dataMistakesHaveExitCodes()
{
    checkExitRow();
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
