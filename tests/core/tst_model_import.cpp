// SPDX-License-Identifier: MIT
// Model import and layer discovery against the fixture zoo (scripted and traced).
#include "expected_layers.h"

#include "common/error.h"
#include "model/model_inspector.h"

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
    void rejectsBadFiles_data();
    void rejectsBadFiles();
    void rejectsMissingFileAndFolder();
    void leavesModelFileUntouched();
    void demoModelHasItsFiveLayers();
};

static QString fixture(const QString& name)
{
    return QDir(QStringLiteral(QATWB_FIXTURES_DIR)).filePath(name);
}

static QJsonObject inspectAsJson(const QString& path)
{
    const auto info = qat::model::inspectModel(path.toStdString());
    return QJsonDocument::fromJson(QByteArray::fromStdString(qat::model::modelInfoToJson(info))).object();
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

QTEST_GUILESS_MAIN(TestModelImport)
#include "tst_model_import.moc"
