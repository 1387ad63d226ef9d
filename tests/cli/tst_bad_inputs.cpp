// SPDX-License-Identifier: MIT
// The reliability matrix through the real qatwb: every bad input gives a non-zero exit and
// one message that says what is wrong and what to do; faults during training end the run
// diverged (last good parameters kept and exportable) or failed (with the plugin's or the
// disk's words), and what was written before stays.
#include "test_paths.h"
#include "bad_inputs.h"
#include "run_process.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace qat::test;

namespace {

using Result = ProcessResult;

Result run(const QString& program, const QStringList& args)
{
    return runProcess(program, args);
}

QString fixture(const QString& name)
{
    return QDir(qat::test::path(QATWB_FIXTURES_DIR)).filePath(name);
}

QStringList quickTrain(const QString& model, const QString& db)
{
    return {QStringLiteral("train"), QStringLiteral("--model"), model, QStringLiteral("--limit-train"),
            QStringLiteral("640"), QStringLiteral("--limit-test"), QStringLiteral("200"), QStringLiteral("--batch"),
            QStringLiteral("64"), QStringLiteral("--calibration-batches"), QStringLiteral("2"), QStringLiteral("--db"),
            db};
}

QJsonObject showRun(const QString& db, int id)
{
    const auto r = runCli({QStringLiteral("runs"), QStringLiteral("show"), QString::number(id), QStringLiteral("--db"), db,
                           QStringLiteral("--json")});
    return QJsonDocument::fromJson(r.out).object();
}

// Loads an exported TorchScript file in stock PyTorch and runs it on a batch: true when every
// output is a finite number (NaN weights would make them NaN).
bool exportedOutputsFinite(const QString& file)
{
    const auto r = run(QStringLiteral("/usr/bin/python3"),
                       {QStringLiteral("-c"),
                        QStringLiteral("import sys, torch\n"
                                       "m = torch.jit.load(sys.argv[1]).eval()\n"
                                       "out = m(torch.rand(16, 1, 28, 28))\n"
                                       "print('finite' if bool(torch.isfinite(out).all()) else 'not finite')"),
                        file});
    if (!r.out.contains("finite")) {
        qWarning("python could not run %s: %s", qPrintable(file), r.err.constData());
    }
    return r.out.trimmed() == "finite";
}

QString faultyPlugin()
{
    return qat::test::path(QATWB_TEST_PLUGIN_DIR, "/faulty_plugin.so");
}

} // namespace

class TestBadInputs : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void trainRefuses_data();
    void trainRefuses();
    void inspectRefusesBadModels_data();
    void inspectRefusesBadModels();
    void exportToUnwritableFolderFails_data();
    void exportToUnwritableFolderFails();
    void exportOfFailingModelSaysWhy();
    void nanFromModelDivergesAndExports();
    void nanFromPluginQuantizerDivergesAndExports();
    void throwingPluginFailsWithItsMessage();
    void fullDiskEndsRunFailedAndKeepsRows();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    QString m_mount;
};

// Run 1 of db exports (with extra options) and its TorchScript gives finite outputs in PyTorch.
static void exportRunOneAndCheck(const QString& db, const QString& out, const QStringList& extra)
{
    const auto exported = runCli(QStringList{QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--out"), out,
                                             QStringLiteral("--db"), db, QStringLiteral("--json")}
                                 + extra);
    QVERIFY2(exported.exitCode == 0, exported.err.constData());
    const auto files = QJsonDocument::fromJson(exported.out).object()[QStringLiteral("files")].toObject();
    QVERIFY(exportedOutputsFinite(files[QStringLiteral("torchscript")].toString()));
}

void TestBadInputs::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY(QFile::exists(faultyPlugin()));
    const QDir dir(m_dir.path());
    QVERIFY(writeBadIdxFolder(dir.filePath(QStringLiteral("idx-truncated")), IdxFault::Truncated));
    QVERIFY(writeBadIdxFolder(dir.filePath(QStringLiteral("idx-mislabelled")), IdxFault::Mislabelled));
    QVERIFY(writeBadIdxFolder(dir.filePath(QStringLiteral("idx-count")), IdxFault::CountMismatch));
    QVERIFY(writeBadIdxFolder(dir.filePath(QStringLiteral("idx-small")), IdxFault::SmallImages));
    for (const auto& plan : badPlans()) {
        QVERIFY(writeFile(dir.filePath(QString::fromLatin1(plan.name) + QStringLiteral(".json")), plan.json));
    }
}

void TestBadInputs::cleanupTestCase()
{
    if (!m_mount.isEmpty()) {
        run(QStringLiteral("umount"), {m_mount});
    }
}

void TestBadInputs::trainRefuses_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QStringList>("mustSay"); // what is wrong, and what to do
    const QDir dir(m_dir.path());
    const auto db = dir.filePath(QStringLiteral("refused.sqlite"));
    const auto mlp = fixture(QStringLiteral("mlp_scripted.pt"));
    auto data = [&](const char* folder) { return QStringList{QStringLiteral("--data"), dir.filePath(QString::fromLatin1(folder))}; };
    QTest::newRow("not TorchScript") << quickTrain(fixture(QStringLiteral("bad_not_a_zip.pt")), db)
                                     << QStringList{"not a TorchScript archive", "torch.jit.script"};
    QTest::newRow("truncated model") << quickTrain(fixture(QStringLiteral("bad_truncated.pt")), db)
                                     << QStringList{"damaged or truncated", "export the file again"};
    QTest::newRow("two inputs") << quickTrain(fixture(QStringLiteral("bad_two_inputs.pt")), db)
                                << QStringList{"forward(x: Tensor, y: Tensor) takes 2", "Wrap the model"};
    QTest::newRow("list input") << quickTrain(fixture(QStringLiteral("bad_list_input.pt")), db)
                                << QStringList{"List[Tensor]", "exactly one tensor"};
    QTest::newRow("no quantizable layer") << quickTrain(fixture(QStringLiteral("no_layers_scripted.pt")), db)
                                          << QStringList{"no quantizable layer"};
    // ONNX files: refused on import, before anything trains.
    const auto onnx = [](const char* name) { return QDir(qat::test::path(QATWB_ONNX_FIXTURES_DIR)).filePath(QString::fromLatin1(name)); };
    QTest::newRow("onnx truncated") << quickTrain(onnx("bad_truncated.onnx"), db)
                                    << QStringList{"damaged or truncated", "export it again"};
    QTest::newRow("onnx unsupported op") << quickTrain(onnx("bad_unsupported_op.onnx"), db)
                                         << QStringList{"unsupported ONNX op: node 'attention/einsum' (Einsum)",
                                                        "nothing was imported"};
    QTest::newRow("onnx external data missing") << quickTrain(onnx("bad_external_data.onnx"), db)
                                                << QStringList{"'bad_external_data.weights' is missing", "copy it next to"};
    QTest::newRow("onnx opset 18") << quickTrain(onnx("bad_opset18.onnx"), db)
                                   << QStringList{"ONNX opset 18", "opset_version=17"};
    QTest::newRow("onnx no layers") << quickTrain(onnx("no_layers_opset17.onnx"), db)
                                    << QStringList{"no quantizable layer"};
    // --resize none: the pipeline would otherwise resize the 10x10 images to the model's 28x28.
    QTest::newRow("shape does not fit") << (quickTrain(mlp, db) << data("idx-small") << QStringLiteral("--resize")
                                                                << QStringLiteral("none"))
                                        << QStringList{"samples are 10x10 but the model takes 28x28", "--resize 28x28"};
    QTest::newRow("truncated IDX") << (quickTrain(mlp, db) << data("idx-truncated"))
                                   << QStringList{"train-images-idx3-ubyte: the header promises", "the file has"};
    QTest::newRow("mislabelled IDX") << (quickTrain(mlp, db) << data("idx-mislabelled"))
                                     << QStringList{"images of shape [64]", "need [N, H, W]"};
    QTest::newRow("label count") << (quickTrain(mlp, db) << data("idx-count"))
                                 << QStringList{"has 63 labels but", "do not belong together"};
    for (const auto& plan : badPlans()) {
        QTest::newRow(qPrintable(QStringLiteral("plan: ") + QString::fromLatin1(plan.name)))
            << (quickTrain(mlp, db) << QStringLiteral("--plan") << dir.filePath(QString::fromLatin1(plan.name) + ".json"))
            << QStringList{QString::fromLatin1(plan.mustSay)};
    }
}

void TestBadInputs::trainRefuses()
{
    QFETCH(QStringList, args);
    QFETCH(QStringList, mustSay);
    const auto r = runCli(args << QStringLiteral("--steps") << QStringLiteral("3"));
    QVERIFY2(r.exitCode == 1, r.err.constData());
    const auto err = QString::fromUtf8(r.err);
    for (const auto& words : mustSay) {
        QVERIFY2(err.contains(words), qPrintable(QStringLiteral("missing '%1' in: %2").arg(words, err)));
    }
    // One line for the problem; no traceback, no abort.
    QVERIFY2(!err.contains(QStringLiteral("Traceback")) && !err.contains(QStringLiteral("terminate called")), r.err.constData());
}

void TestBadInputs::inspectRefusesBadModels_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("mustSay");
    QTest::newRow("two inputs") << fixture(QStringLiteral("bad_two_inputs.pt")) << "exactly one tensor";
    QTest::newRow("truncated") << fixture(QStringLiteral("bad_truncated.pt")) << "damaged or truncated";
    QTest::newRow("not TorchScript") << fixture(QStringLiteral("bad_not_a_zip.pt")) << "not a TorchScript archive";
}

void TestBadInputs::inspectRefusesBadModels()
{
    QFETCH(QString, model);
    QFETCH(QString, mustSay);
    const auto r = runCli({QStringLiteral("inspect"), model});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(QString::fromUtf8(r.err).contains(mustSay), r.err.constData());
}

void TestBadInputs::exportToUnwritableFolderFails_data()
{
    QTest::addColumn<QString>("out");
    QTest::newRow("in /proc") << QStringLiteral("/proc/qatwb-cannot-write-here");
    QTest::newRow("below a file") << QDir(m_dir.path()).filePath(QStringLiteral("a-file/out"));
}

void TestBadInputs::exportToUnwritableFolderFails()
{
    QFETCH(QString, out);
    const QDir dir(m_dir.path());
    QVERIFY(writeFile(dir.filePath(QStringLiteral("a-file")), "not a folder"));
    const auto db = dir.filePath(QStringLiteral("export.sqlite"));
    if (!QFile::exists(db)) {
        const auto trained = runCli(quickTrain(fixture(QStringLiteral("mlp_scripted.pt")), db) << QStringLiteral("--steps")
                                                                                                << QStringLiteral("3"));
        QVERIFY2(trained.exitCode == 0, trained.err.constData());
    }
    const auto r = runCli({QStringLiteral("export"), QStringLiteral("1"), QStringLiteral("--out"), out, QStringLiteral("--db"), db});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("cannot write to the export folder") && r.err.contains("choose a folder you can write to"),
             r.err.constData());
}

// A model whose own code fails on the calibration batches (its forward asserts batches of
// at most 4): export stops with the model's words on one line, not the interpreter's
// traceback under "unexpected error" (found by the graph-pass fuzzer, issue #26).
void TestBadInputs::exportOfFailingModelSaysWhy()
{
    const auto out = QDir(m_dir.path()).filePath(QStringLiteral("failing-export"));
    const auto r = runCli({QStringLiteral("export"), QStringLiteral("--model"), fixture(QStringLiteral("small_batches_mlp_scripted.pt")),
                           QStringLiteral("--out"), out, QStringLiteral("--limit-test"), QStringLiteral("100")});
    QCOMPARE(r.exitCode, 1);
    const auto err = QString::fromUtf8(r.err).trimmed();
    QVERIFY2(err.startsWith(QStringLiteral("qatwb: export failed: the model's forward failed: "))
                 && err.contains(QStringLiteral("this model takes batches of at most 4 images")),
             r.err.constData());
    QVERIFY2(!err.contains(QLatin1Char('\n')) && !err.contains(QStringLiteral("Traceback")), r.err.constData());
    QCOMPARE(QDir(out).entryList(QDir::Files).size(), 0);
}

// The model's own output turns infinite mid-run: the run is diverged, its stored state is
// that of the last good step, and it exports to files whose outputs are finite.
void TestBadInputs::nanFromModelDivergesAndExports()
{
    const auto db = QDir(m_dir.path()).filePath(QStringLiteral("nan-model.sqlite"));
    const auto r = runCli(quickTrain(fixture(QStringLiteral("diverging_mlp_scripted.pt")), db)
                          << QStringLiteral("--steps") << QStringLiteral("20") << QStringLiteral("--no-kd"));
    QVERIFY2(r.exitCode == 3, r.err.constData());
    QVERIFY2(r.err.contains("diverged") && r.err.contains("are kept"), r.err.constData());
    const auto shown = showRun(db, 1);
    QCOMPARE(shown[QStringLiteral("state")].toString(), QStringLiteral("diverged"));
    QVERIFY(shown[QStringLiteral("has_checkpoint")].toBool());
    QVERIFY(shown[QStringLiteral("steps")].toInt() > 0 && shown[QStringLiteral("steps")].toInt() < 20);

    exportRunOneAndCheck(db, QDir(m_dir.path()).filePath(QStringLiteral("nan-model-export")), {});
}

// A plugin quantizer returns NaN from its 4th call: diverged after 3 good steps, the
// weights and thresholds of step 3 stored and exportable.
void TestBadInputs::nanFromPluginQuantizerDivergesAndExports()
{
    const auto db = QDir(m_dir.path()).filePath(QStringLiteral("nan-plugin.sqlite"));
    const auto r = runCli(quickTrain(fixture(QStringLiteral("mlp_scripted.pt")), db)
                          << QStringLiteral("--steps") << QStringLiteral("10") << QStringLiteral("--plugin") << faultyPlugin()
                          << QStringLiteral("--weights") << QStringLiteral("nanlater:symmetric:8"));
    QVERIFY2(r.exitCode == 3, r.err.constData());
    const auto shown = showRun(db, 1);
    QCOMPARE(shown[QStringLiteral("state")].toString(), QStringLiteral("diverged"));
    QCOMPARE(shown[QStringLiteral("steps")].toInt(), 3);
    for (const auto q : shown[QStringLiteral("quantizers")].toArray()) {
        for (const auto values : q.toObject()[QStringLiteral("final")].toObject()) {
            for (const auto v : values.toArray()) {
                QVERIFY2(std::isfinite(v.toDouble()) && v.toDouble() > 0, qPrintable(q.toObject()[QStringLiteral("name")].toString()));
            }
        }
    }
    exportRunOneAndCheck(db, QDir(m_dir.path()).filePath(QStringLiteral("nan-plugin-export")),
                         {QStringLiteral("--plugin"), faultyPlugin()});
}

void TestBadInputs::throwingPluginFailsWithItsMessage()
{
    const auto db = QDir(m_dir.path()).filePath(QStringLiteral("throwing.sqlite"));
    const auto r = runCli(quickTrain(fixture(QStringLiteral("mlp_scripted.pt")), db)
                          << QStringLiteral("--steps") << QStringLiteral("5") << QStringLiteral("--plugin") << faultyPlugin()
                          << QStringLiteral("--weights") << QStringLiteral("throwing:symmetric:8"));
    QVERIFY2(r.exitCode == 1, r.err.constData());
    QVERIFY2(r.err.contains("faulty_plugin: the Throwing quantizer gives up on purpose"), r.err.constData());
    // Which quantizer, at which layer of the MLP (its first linear layer is layers.1).
    QVERIFY2(r.err.contains("quantizer weights/symmetric/throwing at layers.1.weight failed"), r.err.constData());
    QVERIFY2(!r.err.contains("TorchScript interpreter"), r.err.constData());
    const auto shown = showRun(db, 1);
    QCOMPARE(shown[QStringLiteral("state")].toString(), QStringLiteral("failed"));
    QVERIFY(shown[QStringLiteral("message")].toString().contains(QStringLiteral("gives up on purpose")));
}

// The run database on a 640 KiB file system: the run fills it, ends failed with the
// disk's message, and the rows written before the disk filled are still there.
void TestBadInputs::fullDiskEndsRunFailedAndKeepsRows()
{
    const auto mount = QDir(m_dir.path()).filePath(QStringLiteral("small-fs"));
    QVERIFY(QDir().mkpath(mount));
    const auto mounted = run(QStringLiteral("mount"), {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                                                       QStringLiteral("size=640k"), QStringLiteral("tmpfs"), mount});
    QStringList args = quickTrain(qat::test::path(QATWB_DEMO_MODEL), QDir(mount).filePath(QStringLiteral("runs.sqlite")))
                       << QStringLiteral("--steps") << QStringLiteral("400") << QStringLiteral("--snapshot-every")
                       << QStringLiteral("1") << QStringLiteral("--limit-train") << QStringLiteral("2000");
    Result r;
    if (mounted.exitCode == 0) {
        m_mount = mount;
        r = runCli(args);
    } else {
        // No mount privilege: the same limit as a file-size limit on the process (EFBIG).
        qInfo("tmpfs mount refused (%s); limiting the file size instead", mounted.err.constData());
        QStringList quoted;
        for (const auto& a : args) {
            quoted << QLatin1Char('\'') + a + QLatin1Char('\'');
        }
        r = run(QStringLiteral("bash"), {QStringLiteral("-c"), QStringLiteral("trap '' XFSZ; ulimit -f 640; exec '%1' %2")
                                                                   .arg(qat::test::path(QATWB_CLI), quoted.join(QLatin1Char(' ')))});
    }
    QVERIFY2(r.exitCode == 1, r.err.constData());
    QVERIFY2(r.err.contains("the disk may be full"), r.err.constData());
    const auto shown = showRun(QDir(mount).filePath(QStringLiteral("runs.sqlite")), 1);
    QCOMPARE(shown[QStringLiteral("state")].toString(), QStringLiteral("failed"));
    QVERIFY2(shown[QStringLiteral("message")].toString().contains(QStringLiteral("disk may be full")),
             qPrintable(shown[QStringLiteral("message")].toString()));
    QVERIFY2(shown[QStringLiteral("metric_points")].toInt() > 0, "the metrics written before the disk filled are gone");
    QVERIFY(shown[QStringLiteral("trace_steps")].toInt() > 0);
}

QTEST_GUILESS_MAIN(TestBadInputs)
#include "tst_bad_inputs.moc"
