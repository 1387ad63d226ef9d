// SPDX-License-Identifier: MIT
// Model import and layer discovery against the fixture zoo (scripted and traced).
#include "test_paths.h"
#include "expected_layers.h"

#include "common/error.h"
#include "model/model_inspector.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <QCryptographicHash>
#include <QFileInfo>
#include <QtTest>

using qat::test::compareLayers;
using qat::test::readJsonFile;

class TestModelImport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void discoversFixtureLayers_data();
    void discoversFixtureLayers();
    void scriptedAndTracedAgree_data();
    void scriptedAndTracedAgree();
    void placesEveryTensorTheChipStores_data();
    void placesEveryTensorTheChipStores();
    void genericPlacesLayerOutputsOnly_data();
    void genericPlacesLayerOutputsOnly();
    void torchvisionScriptedAndTracedPlaceTheSamePoints_data();
    void torchvisionScriptedAndTracedPlaceTheSamePoints();
    void rejectsBadFiles_data();
    void rejectsBadFiles();
    void rejectsMissingFileAndFolder();
    void leavesModelFileUntouched();
    void demoModelHasItsFiveLayers();
    void attentionIsQuantizedWhereItCanBe_data();
    void attentionIsQuantizedWhereItCanBe();
};

static QString fixture(const QString& name)
{
    return QDir(qat::test::path(QATWB_FIXTURES_DIR)).filePath(name);
}

static QJsonObject inspectAsJson(const QString& path, const char* target = "imx500")
{
    const auto info = qat::model::inspectModel(path.toStdString());
    const auto points = qat::target::placeActivationPoints(info.opGraph, qat::target::builtinTargets().find(target));
    return QJsonDocument::fromJson(QByteArray::fromStdString(
                                       qat::model::modelInfoToJson(info, points, std::vector<bool>(points.size(), true), target)))
        .object();
}

// "name op after_layer fused+ops" per point, for comparing with the hand-written expectation.
static QStringList pointTexts(const QJsonArray& points)
{
    QStringList texts;
    for (const auto& value : points) {
        const auto p = value.toObject();
        QStringList fused;
        for (const auto& f : p[QStringLiteral("fused_ops")].toArray()) {
            fused << f.toString();
        }
        texts << QStringLiteral("%1 %2 %3 %4")
                     .arg(p[QStringLiteral("name")].toString(), p[QStringLiteral("op")].toString(),
                          p[QStringLiteral("after_layer")].isNull() ? QStringLiteral("-")
                                                                   : p[QStringLiteral("after_layer")].toString(),
                          fused.join(QLatin1Char('+')));
    }
    return texts;
}

void TestModelImport::discoversFixtureLayers_data()
{
    QTest::addColumn<QString>("expectedFile");
    const auto files = qat::test::expectedFiles();
    QVERIFY2(files.size() >= 16, "fixture zoo missing: run tests/fixtures/make_fixtures.py");
    for (const auto& file : files) {
        QTest::newRow(qPrintable(file)) << file;
    }
}

void TestModelImport::discoversFixtureLayers()
{
    QFETCH(QString, expectedFile);
    const auto expected = readJsonFile(fixture(expectedFile));
    const auto actual = inspectAsJson(fixture(expected[QStringLiteral("model")].toString()));
    const auto problems = compareLayers(expected[QStringLiteral("layers")].toArray(),
                                        actual[QStringLiteral("layers")].toArray());
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    QCOMPARE(actual[QStringLiteral("quantizers")], expected[QStringLiteral("quantizers")]);
    QCOMPARE(actual[QStringLiteral("parameters")], expected[QStringLiteral("parameters")]);
    QCOMPARE(actual[QStringLiteral("batch_norm_training_fixes")],
             expected[QStringLiteral("batch_norm_training_fixes")]);
    const auto inputs = actual[QStringLiteral("inputs")].toArray();
    QCOMPARE(inputs.size(), 1);
    QCOMPARE(inputs[0].toObject()[QStringLiteral("type")].toString(), QStringLiteral("Tensor"));
}

void TestModelImport::placesEveryTensorTheChipStores_data()
{
    discoversFixtureLayers_data();
}

// imx500's points on every fixture, scripted and traced, against the hand-written list in
// make_fixtures.py (names from the module path of the forward that runs the op).
void TestModelImport::placesEveryTensorTheChipStores()
{
    QFETCH(QString, expectedFile);
    const auto expected = readJsonFile(fixture(expectedFile));
    const auto actual = inspectAsJson(fixture(expected[QStringLiteral("model")].toString()));
    QCOMPARE(pointTexts(actual[QStringLiteral("activation_points")].toArray()),
             pointTexts(expected[QStringLiteral("activation_points")].toArray()));
    QCOMPARE(actual[QStringLiteral("target")].toString(), QStringLiteral("imx500"));
}

void TestModelImport::genericPlacesLayerOutputsOnly_data()
{
    discoversFixtureLayers_data();
}

// The target of plans written before targets existed: the input and each layer's fused unit,
// exactly the activation points the layers report (and old runs were trained with).
void TestModelImport::genericPlacesLayerOutputsOnly()
{
    QFETCH(QString, expectedFile);
    const auto expected = readJsonFile(fixture(expectedFile));
    const auto actual = inspectAsJson(fixture(expected[QStringLiteral("model")].toString()), "generic");
    QStringList names{QStringLiteral("input")};
    for (const auto& value : expected[QStringLiteral("layers")].toArray()) {
        const auto layer = value.toObject();
        const auto calls = layer[QStringLiteral("call_sites")].toInt();
        for (int call = 1; call <= calls; ++call) {
            names << layer[QStringLiteral("name")].toString() + QStringLiteral(":output")
                         + (call > 1 ? QStringLiteral("#%1").arg(call) : QString());
        }
    }
    QStringList actualNames;
    for (const auto& p : actual[QStringLiteral("activation_points")].toArray()) {
        actualNames << p.toObject()[QStringLiteral("name")].toString();
    }
    QCOMPARE(actualNames, names);
}

void TestModelImport::torchvisionScriptedAndTracedPlaceTheSamePoints_data()
{
    QTest::addColumn<QString>("stem");
    const QDir dir(qat::test::path(QATWB_TORCHVISION_FIXTURES_DIR));
    const auto files = dir.entryList({QStringLiteral("*_scripted.pt")}, QDir::Files, QDir::Name);
    if (files.isEmpty()) {
        QSKIP("torchvision fixtures not made (build target torchvision_fixtures)");
    }
    for (const auto& file : files) {
        QTest::newRow(qPrintable(file)) << dir.filePath(file.left(file.indexOf(QStringLiteral("_scripted"))));
    }
}

// Real architectures (residual adds, SE blocks, channel shuffle, fire modules): the same points
// with the same names whether the model was scripted or traced, and none for grid-preserving ops.
void TestModelImport::torchvisionScriptedAndTracedPlaceTheSamePoints()
{
    QFETCH(QString, stem);
    const auto scripted = inspectAsJson(stem + QStringLiteral("_scripted.pt"));
    const auto traced = inspectAsJson(stem + QStringLiteral("_traced.pt"));
    const auto points = pointTexts(scripted[QStringLiteral("activation_points")].toArray());
    QCOMPARE(points, pointTexts(traced[QStringLiteral("activation_points")].toArray()));
    for (const auto& p : points) {
        for (const char* op : {" view ", " reshape ", " flatten ", " max_pool2d ", " dropout ", " transpose "}) {
            QVERIFY2(!p.contains(QLatin1String(op)), qPrintable(p));
        }
    }
    QVERIFY(points.size() > scripted[QStringLiteral("layers")].toArray().size());
}

void TestModelImport::scriptedAndTracedAgree_data()
{
    QTest::addColumn<QString>("stem");
    for (const auto& file : qat::test::expectedFiles()) {
        if (file.endsWith(QStringLiteral("_scripted.expected.json"))) {
            const auto stem = file.left(file.indexOf(QStringLiteral("_scripted")));
            QTest::newRow(qPrintable(stem)) << stem;
        }
    }
}

void TestModelImport::scriptedAndTracedAgree()
{
    QFETCH(QString, stem);
    const auto scripted = inspectAsJson(fixture(stem + QStringLiteral("_scripted.pt")));
    const auto traced = inspectAsJson(fixture(stem + QStringLiteral("_traced.pt")));
    const auto problems = compareLayers(
        [&] {
            // Same comparison, with the scripted result playing "expected".
            QJsonArray layers;
            for (const auto& v : scripted[QStringLiteral("layers")].toArray()) {
                auto layer = v.toObject();
                QJsonArray ops;
                for (const auto& p : layer[QStringLiteral("activation_points")].toArray()) {
                    ops.append(p.toObject()[QStringLiteral("op")]);
                }
                layer[QStringLiteral("activation_points")] = ops;
                layers.append(layer);
            }
            return layers;
        }(),
        traced[QStringLiteral("layers")].toArray());
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
}

void TestModelImport::rejectsBadFiles_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QStringList>("mustSay");
    const auto bad = readJsonFile(fixture(QStringLiteral("bad_files.json")));
    QVERIFY(bad.size() >= 5);
    for (auto it = bad.begin(); it != bad.end(); ++it) {
        QStringList words;
        for (const auto& w : it.value().toArray()) {
            words << w.toString();
        }
        QTest::newRow(qPrintable(it.key())) << it.key() << words;
    }
}

void TestModelImport::rejectsBadFiles()
{
    QFETCH(QString, file);
    QFETCH(QStringList, mustSay);
    const auto path = fixture(file);
    try {
        qat::model::inspectModel(path.toStdString());
        QFAIL("a bad file was accepted");
    } catch (const qat::ModelError& e) {
        const auto message = QString::fromStdString(e.what());
        QVERIFY2(message.startsWith(path + QStringLiteral(": ")), qPrintable(message));
        QVERIFY2(!message.contains(QLatin1Char('\n')), qPrintable(message));
        for (const auto& word : mustSay) {
            QVERIFY2(message.contains(word), qPrintable(message + QStringLiteral(" lacks: ") + word));
        }
    }
}

void TestModelImport::rejectsMissingFileAndFolder()
{
    QVERIFY_THROWS_EXCEPTION(qat::ModelError, qat::model::inspectModel("/nonexistent/model.pt"));
    try {
        qat::model::inspectModel(QATWB_FIXTURES_DIR);
        QFAIL("a folder was accepted");
    } catch (const qat::ModelError& e) {
        QVERIFY(QString::fromStdString(e.what()).contains(QStringLiteral("is a folder")));
    }
}

void TestModelImport::leavesModelFileUntouched()
{
    const auto path = fixture(QStringLiteral("cnn_bn_relu_traced.pt"));
    auto digest = [&] {
        QFile file(path);
        file.open(QIODevice::ReadOnly);
        return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
    };
    const auto before = digest();
    const auto modified = QFileInfo(path).lastModified();
    qat::model::inspectModel(path.toStdString());
    QCOMPARE(digest(), before);
    QCOMPARE(QFileInfo(path).lastModified(), modified);
}

void TestModelImport::demoModelHasItsFiveLayers()
{
    const auto info = qat::model::inspectModel(QATWB_DEMO_MODEL);
    QStringList names;
    for (const auto& layer : info.layers) {
        names << QString::fromStdString(layer.name);
    }
    QCOMPARE(names, QStringList({"features.0", "features.4", "features.8", "classifier.1", "classifier.3"}));
    QCOMPARE(info.layers[0].activationPoints[0].chain, std::vector<std::string>({"batch_norm", "relu"}));
    QCOMPARE(info.quantizerCount, 5 + 5 + 1);
    QVERIFY(info.notes.empty());
}

// nn.MultiheadAttention: scripted (fused op beside the composite path: the composite one is
// kept), traced with gradients (composite only), traced without (the fused op alone,
// rewritten as the composite math): the projections are layers in all three.
void TestModelImport::attentionIsQuantizedWhereItCanBe_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("layers");
    QTest::addColumn<QString>("note");
    QTest::newRow("scripted") << "attention_net_scripted.pt" << 6 << "composite form (linear projections";
    QTest::newRow("traced") << "attention_net_traced.pt" << 6 << "";
    QTest::newRow("traced without gradients") << "attention_net_fused_traced.pt" << 6
                                              << "are trained and exported as their composite math";
}

void TestModelImport::attentionIsQuantizedWhereItCanBe()
{
    QFETCH(QString, file);
    QFETCH(int, layers);
    QFETCH(QString, note);
    const auto info = qat::model::inspectModel(fixture(file).toStdString());
    QCOMPARE(int(info.layers.size()), layers);
    QStringList notes;
    for (const auto& n : info.notes) {
        notes << QString::fromStdString(n);
    }
    const auto attention = notes.filter(QStringLiteral("attention"));
    QCOMPARE(attention.size(), note.isEmpty() ? 0 : 1);
    QVERIFY2(note.isEmpty() || attention.front().contains(note), qPrintable(notes.join('\n')));
}

QTEST_GUILESS_MAIN(TestModelImport)
#include "tst_model_import.moc"
