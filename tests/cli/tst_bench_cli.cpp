// SPDX-License-Identifier: MIT
// `qatwb bench` as scripts use it: the JSON contract of the step part on a model that is not
// the demo (an RGB model fed synthetic batches of its input shape), and the parts that do not
// apply to it skipped with a note; the accuracy part's rows. Speed itself is measured by the
// bench, never asserted here.
#include "test_paths.h"
#include "run_process.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

namespace {

using qat::test::runCli;

const QString kRgbModel = qat::test::path(QATWB_SOURCE_DIR, "/tests/fixtures/data/rgb_cnn.pt");

} // namespace

class TestBenchCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void stepsOnAnRgbModel();
    void refusesAModelItCannotFeed();
    void stepsAndProfileTakeAPlanFile();
    void accuracyOnAZooModel();
    void accuracyWithoutAZoo();
};

// Every preset at batch 64 and 256, each entry naming its model; the Python comparison (which
// feeds Fashion-MNIST) is skipped with a note instead of failing.
void TestBenchCli::stepsOnAnRgbModel()
{
    const auto r = runCli({QStringLiteral("bench"), QStringLiteral("--quick"), QStringLiteral("--json"),
                           QStringLiteral("--only"), QStringLiteral("steps,python"), QStringLiteral("--model"), kRgbModel});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const auto out = QJsonDocument::fromJson(r.out).object();
    for (const auto* key : {"qat_over_float_b256", "qat_over_float_b64", "python_over_ours_b256", "gui_over_headless"}) {
        QVERIFY2(out.contains(QLatin1String(key)), key);
    }
    QVERIFY(out[QStringLiteral("qat_over_float_b256")].toDouble() > 0);
    QVERIFY(out[QStringLiteral("python_over_ours_b256")].isNull());
    QVERIFY(out[QStringLiteral("python")].toObject()[QStringLiteral("note")].toString().contains(QStringLiteral("skipped")));
    const auto steps = out[QStringLiteral("steps")].toArray();
    QSet<QString> seen;
    for (const auto& entry : steps) {
        const auto s = entry.toObject();
        QCOMPARE(s[QStringLiteral("model")].toString(), QStringLiteral("rgb_cnn.pt"));
        QVERIFY(s[QStringLiteral("float_ms")].toDouble() > 0);
        QVERIFY(s[QStringLiteral("qat_ms")].toDouble() > 0);
        QVERIFY(s[QStringLiteral("qat_over_float")].toDouble() > 0);
        QVERIFY(s[QStringLiteral("composite_over_float")].toDouble() > 0);
        seen.insert(s[QStringLiteral("preset")].toString() + QLatin1Char('@') + QString::number(s[QStringLiteral("batch")].toInt()));
    }
    QCOMPARE(steps.size(), 8);
    for (const auto* preset : {"mct-default", "w4a8-lsq", "w2a3", "w4a4-lsq-uniform"}) {
        for (int batch : {64, 256}) {
            QVERIFY2(seen.contains(QLatin1String(preset) + QLatin1Char('@') + QString::number(batch)), preset);
        }
    }
}

// A model the bench cannot feed: one line naming it and what to do, exit code 1.
void TestBenchCli::refusesAModelItCannotFeed()
{
    const auto model = qat::test::path(QATWB_FIXTURES_DIR, "/bad_two_inputs.pt");
    QVERIFY2(QFile::exists(model), qPrintable(model));
    const auto r = runCli({QStringLiteral("bench"), QStringLiteral("--only"), QStringLiteral("steps"),
                           QStringLiteral("--model"), model});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("bad_two_inputs.pt") && r.err.contains("exactly one tensor"), r.err.constData());
}

// A plan variant timed like a preset (here: the model input's quantizer frozen), by the step
// part (at a batch size of its own) and by the profile; a plan file with a mistake fails
// before anything runs.
void TestBenchCli::stepsAndProfileTakeAPlanFile()
{
    QTemporaryDir dir;
    const auto plan = dir.filePath(QStringLiteral("frozen_input.json"));
    {
        QFile f(plan);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"format": "qat-workbench-plan", "version": 3, "preset": "w4a8-lsq", "input": {"freeze": true}})");
    }
    const auto steps = runCli({QStringLiteral("bench"), QStringLiteral("--quick"), QStringLiteral("--json"),
                               QStringLiteral("--only"), QStringLiteral("steps"), QStringLiteral("--model"), kRgbModel,
                               QStringLiteral("--presets"), plan, QStringLiteral("--batch"), QStringLiteral("8")});
    QVERIFY2(steps.exitCode == 0, steps.err.constData());
    const auto entries = QJsonDocument::fromJson(steps.out).object()[QStringLiteral("steps")].toArray();
    QCOMPARE(entries.size(), 1);
    QCOMPARE(entries.first().toObject()[QStringLiteral("preset")].toString(), plan);
    QCOMPARE(entries.first().toObject()[QStringLiteral("batch")].toInt(), 8);
    QVERIFY(entries.first().toObject()[QStringLiteral("qat_over_float")].toDouble() > 0);
    const auto profile = runCli({QStringLiteral("bench"), QStringLiteral("--quick"), QStringLiteral("--json"),
                                 QStringLiteral("--profile"), plan, QStringLiteral("--model"), kRgbModel,
                                 QStringLiteral("--batch"), QStringLiteral("8")});
    QVERIFY2(profile.exitCode == 0, profile.err.constData());
    const auto p = QJsonDocument::fromJson(profile.out).object()[QStringLiteral("profile")].toObject();
    QCOMPARE(p[QStringLiteral("preset")].toString(), plan);
    QVERIFY(!p[QStringLiteral("qat")].toObject()[QStringLiteral("ops")].toArray().isEmpty());
    const auto bad = dir.filePath(QStringLiteral("bad.json"));
    {
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"format": "qat-workbench-plan", "version": 3, "weights": {"bits": "four"}})");
    }
    const auto refused = runCli({QStringLiteral("bench"), QStringLiteral("--profile"), bad, QStringLiteral("--model"), kRgbModel});
    QCOMPARE(refused.exitCode, 1);
    QVERIFY2(refused.err.contains("bad.json") && refused.err.contains("weights.bits"), refused.err.constData());
}

// The accuracy part's JSON contract on one small model of a folder (the fixture MLP, a few
// hundred images: the contract, not the accuracy), with init auto's choices counted.
void TestBenchCli::accuracyOnAZooModel()
{
    const auto r = runCli({QStringLiteral("bench"), QStringLiteral("--only"), QStringLiteral("accuracy"),
                           QStringLiteral("--zoo"), qat::test::path(QATWB_FIXTURES_DIR), QStringLiteral("--models"),
                           QStringLiteral("mlp"), QStringLiteral("--presets"), QStringLiteral("w4a8-lsq"),
                           QStringLiteral("--init"), QStringLiteral("auto"), QStringLiteral("--limit-train"),
                           QStringLiteral("256"), QStringLiteral("--limit-test"), QStringLiteral("256"),
                           QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const auto rows = QJsonDocument::fromJson(r.out).object().value(QStringLiteral("accuracy")).toArray();
    QCOMPARE(rows.size(), 1);
    const auto row = rows.first().toObject();
    QCOMPARE(row.value(QStringLiteral("model")).toString(), QStringLiteral("mlp"));
    QCOMPARE(row.value(QStringLiteral("preset")).toString(), QStringLiteral("w4a8-lsq"));
    QCOMPARE(row.value(QStringLiteral("epochs")).toInt(), 1);
    QCOMPARE(row.value(QStringLiteral("state")).toString(), QStringLiteral("finished"));
    const double delta = 100 * (row.value(QStringLiteral("qat_top1")).toDouble() - row.value(QStringLiteral("float_top1")).toDouble());
    QVERIFY(qAbs(row.value(QStringLiteral("delta_points")).toDouble() - delta) < 1e-9);
    QCOMPARE(row.value(QStringLiteral("bound_points")).toDouble(), -1.0);
    QVERIFY(row.value(QStringLiteral("within_bound")).isBool());
    int chosen = 0;
    for (const auto& count : row.value(QStringLiteral("init_choices")).toObject()) {
        chosen += count.toInt();
    }
    QVERIFY(chosen > 0);
}

void TestBenchCli::accuracyWithoutAZoo()
{
    QTemporaryDir empty;
    const auto r = runCli({QStringLiteral("bench"), QStringLiteral("--only"), QStringLiteral("accuracy"),
                           QStringLiteral("--zoo"), empty.path()});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("no trained zoo models") && r.err.contains("make_trained_zoo.py"), r.err.constData());
}

QTEST_GUILESS_MAIN(TestBenchCli)
#include "tst_bench_cli.moc"
