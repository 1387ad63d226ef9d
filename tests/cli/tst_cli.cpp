// SPDX-License-Identifier: MIT
// The real qatwb executable: exit codes, messages, `inspect --json` on every fixture,
// quantizers, train and plan (the rest in tst_cli_runs.cpp).
#include "test_paths.h"
#include "expected_layers.h"
#include "run_process.h"
#include "tst_cli.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <QtTest>

using qat::test::compareLayers;
using qat::test::readJsonFile;

namespace qat::test::cli {

QString fixture(const QString& name)
{
    return QDir(qat::test::path(QATWB_FIXTURES_DIR)).filePath(name);
}

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

QStringList quickTrain(const QString& model)
{
    return {QStringLiteral("train"), QStringLiteral("--model"), model, QStringLiteral("--limit-train"),
            QStringLiteral("640"), QStringLiteral("--limit-test"), QStringLiteral("200"), QStringLiteral("--batch"),
            QStringLiteral("64"), QStringLiteral("--calibration-batches"), QStringLiteral("2")};
}

void checkExitRow()
{
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, mustSay);
    const auto r = runCli(args);
    QCOMPARE(r.exitCode, exitCode);
    QVERIFY2(QString::fromUtf8(r.err).contains(mustSay), r.err.constData());
}

} // namespace qat::test::cli

using namespace qat::test::cli;

void TestCli::version()
{
    const auto r = runCli({QStringLiteral("--version")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith("qatwb 0."), r.out.constData());
    QVERIFY(r.out.contains("LibTorch"));
}

namespace {

// The spin count libgomp itself read when a program of this build started (OMP_DISPLAY_ENV
// makes it print its settings), with the user's OpenMP variables unset, then `set` added.
QString openMpSpinCount(const QString& program, const QStringList& args, const QStringList& set = {})
{
    auto env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("OMP_WAIT_POLICY"));
    env.remove(QStringLiteral("GOMP_SPINCOUNT"));
    env.insert(QStringLiteral("OMP_DISPLAY_ENV"), QStringLiteral("verbose"));
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    for (const auto& assignment : set) env.insert(assignment.section(QLatin1Char('='), 0, 0), assignment.section(QLatin1Char('='), 1));
    QProcess process;
    process.setProcessEnvironment(env);
    process.start(program, args);
    if (!process.waitForFinished(120000)) return QStringLiteral("(did not finish)");
    const auto match = QRegularExpression(QStringLiteral("GOMP_SPINCOUNT = '(\\d+)'")).match(QString::fromUtf8(process.readAllStandardError()));
    return match.hasMatch() ? match.captured(1) : QStringLiteral("(not printed)");
}

} // namespace

void TestCli::trainingBoundsOpenMpSpinning()
{
    // The commands that train, and the window, start with OpenMP's spinning bounded
    // (app/openmp_start.h) unless the user chose otherwise; other commands are left as started.
    const auto cli = qat::test::path(QATWB_CLI);
    QCOMPARE(openMpSpinCount(cli, {QStringLiteral("train"), QStringLiteral("--help")}), QStringLiteral("20000"));
    QCOMPARE(openMpSpinCount(cli, {QStringLiteral("bench"), QStringLiteral("--help")}), QStringLiteral("20000"));
    QCOMPARE(openMpSpinCount(qat::test::path(QATWB_GUI), {QStringLiteral("--version")}), QStringLiteral("20000"));
    const auto inspect = openMpSpinCount(cli, {QStringLiteral("inspect"), QStringLiteral("--help")});
    QVERIFY2(inspect.toLongLong() > 20000, qPrintable(inspect)); // libgomp's own default
    QCOMPARE(openMpSpinCount(cli, {QStringLiteral("train"), QStringLiteral("--help")}, {QStringLiteral("GOMP_SPINCOUNT=1234")}),
             QStringLiteral("1234"));
    QCOMPARE(openMpSpinCount(cli, {QStringLiteral("train"), QStringLiteral("--help")}, {QStringLiteral("OMP_WAIT_POLICY=passive")}),
             QStringLiteral("0"));
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
    QVERIFY(w2a3.out.contains("8 bits (last layer's input)")); // the mean the head reads
    QVERIFY(w2a3.out.contains("BatchNorm: trained, then folded"));
    QVERIFY(r.out.contains("BatchNorm: folded before training")); // MCT's way, mct-default
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
    QCOMPARE(result[QStringLiteral("lr_probe")].toArray().size(), 0);
    QCOMPARE(result[QStringLiteral("quantizer_warmup_steps")].toInteger(-1), 0); // automatic: none
    QCOMPARE(result[QStringLiteral("unreached_points")].toArray().size(), 0);

    // --lr-probe: the five trials, and the run trains at the pair with the lowest loss (or
    // the first, the rule's, when none beats it clearly).
    args << QStringLiteral("--lr-probe");
    const auto probed = runCli(args);
    QVERIFY2(probed.exitCode == 0, probed.err.constData());
    const auto p = QJsonDocument::fromJson(probed.out).object();
    const auto trials = p[QStringLiteral("lr_probe")].toArray();
    QCOMPARE(trials.size(), 5);
    QCOMPARE(trials[0].toObject()[QStringLiteral("lr")].toDouble(), result[QStringLiteral("lr")].toDouble());
    bool found = false;
    for (const auto& t : trials) {
        const auto o = t.toObject();
        QVERIFY(o[QStringLiteral("loss")].toDouble() >= 0);
        found = found || (o[QStringLiteral("lr")].toDouble() == p[QStringLiteral("lr")].toDouble()
                          && o[QStringLiteral("quantizer_lr")].toDouble() == p[QStringLiteral("quantizer_lr")].toDouble());
    }
    QVERIFY(found);
    QVERIFY2(probed.err.contains("learning rates probed in"), probed.err.constData());
}

// A scripted nn.MultiheadAttention keeps branches calibration never takes: their points are
// listed in the result, and marked in the quantizers (as the run stores them).
void TestCli::trainReportsUnreachedPoints()
{
    auto args = quickTrain(fixture(QStringLiteral("attention_net_scripted.pt")));
    args << QStringLiteral("--steps") << QStringLiteral("2") << QStringLiteral("--json");
    const auto r = runCli(args);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const auto result = QJsonDocument::fromJson(r.out).object();
    QSet<QString> unreached;
    for (const auto& name : result[QStringLiteral("unreached_points")].toArray()) {
        unreached.insert(name.toString());
    }
    QVERIFY(!unreached.isEmpty());
    int marked = 0;
    for (const auto& q : result[QStringLiteral("quantizers")].toArray()) {
        const auto o = q.toObject();
        const bool listed = unreached.contains(o[QStringLiteral("name")].toString());
        QCOMPARE(o[QStringLiteral("unreached")].toBool(false), listed);
        marked += listed ? 1 : 0;
    }
    QCOMPARE(marked, unreached.size());
    QVERIFY2(r.err.contains("never ran on the calibration batches"), r.err.constData());
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
    QTest::newRow("probe both ways") << (quickTrain(mlp) << "--lr-probe" << "--no-lr-probe") << 2 << "contradict";
    QTest::newRow("diverged") << (quickTrain(mlp) << "--steps" << "5" << "--inject-nan-at" << "2") << 3
                              << "diverged";
}

void TestCli::trainFailuresHaveExitCodes()
{
    checkExitRow();
}

QTEST_GUILESS_MAIN(TestCli)
