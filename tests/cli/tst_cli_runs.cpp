// SPDX-License-Identifier: MIT
// The real qatwb executable (tst_cli, continued): interrupted runs, stored runs and their
// sensitivity, ONNX models, export checked in Python, data folders.
#include "test_paths.h"
#include "expected_layers.h"
#include "run_process.h"
#include "tst_cli.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QProcess>
#include <QTemporaryDir>

#include <csignal>
#include <QtTest>

using qat::test::readJsonFile;

using namespace qat::test::cli;

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
