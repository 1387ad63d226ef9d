// SPDX-License-Identifier: MIT
#pragma once
// Reads a fixture's <model>.expected.json (written by make_fixtures.py from the Python
// modules, activation points by hand) and compares it with what import reported as JSON.

#include "test_paths.h"
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

namespace qat::test {

inline QJsonObject readJsonFile(const QString& path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    return QJsonDocument::fromJson(file.readAll()).object();
}

/// Every `*.expected.json` in the fixture folder, sorted.
inline QStringList expectedFiles()
{
    return QDir(qat::test::path(QATWB_FIXTURES_DIR))
        .entryList({QStringLiteral("*.expected.json")}, QDir::Files, QDir::Name);
}

/// A fixture model's path.
inline QString fixturePath(const QString& name)
{
    return QDir(qat::test::path(QATWB_FIXTURES_DIR)).filePath(name);
}

/// Every fixture model that has layers, scripted and traced.
inline QStringList trainableFixtures()
{
    QStringList models;
    for (const auto& file : expectedFiles()) {
        const auto expected = readJsonFile(fixturePath(file));
        if (!expected[QStringLiteral("layers")].toArray().isEmpty()) {
            models << expected[QStringLiteral("model")].toString();
        }
    }
    return models;
}

/// Differences between the expected layers and the reported ones, one line each; empty
/// when they agree. `actual` uses the keys of `qatwb inspect --json`.
inline QStringList compareLayers(const QJsonArray& expected, const QJsonArray& actual)
{
    QStringList problems;
    if (expected.size() != actual.size()) {
        problems << QStringLiteral("expected %1 layers, found %2").arg(expected.size()).arg(actual.size());
        return problems;
    }
    for (int i = 0; i < expected.size(); ++i) {
        const auto e = expected[i].toObject();
        const auto a = actual[i].toObject();
        for (const auto* key : {"name", "weight", "kind", "weight_shape", "groups", "channel_axis", "bias",
                                "parameters", "call_sites"}) {
            const auto k = QString::fromLatin1(key);
            if (e[k] != a[k]) {
                problems << QStringLiteral("layer %1 %2: expected %3, found %4")
                                .arg(e[QStringLiteral("name")].toString(), k,
                                     QString::fromUtf8(QJsonDocument(QJsonArray{e[k]}).toJson(QJsonDocument::Compact)),
                                     QString::fromUtf8(QJsonDocument(QJsonArray{a[k]}).toJson(QJsonDocument::Compact)));
            }
        }
        QJsonArray foundPoints;
        for (const auto& p : a[QStringLiteral("activation_points")].toArray()) {
            foundPoints.append(p.toObject()[QStringLiteral("op")]);
        }
        if (e[QStringLiteral("activation_points")].toArray() != foundPoints) {
            problems << QStringLiteral("layer %1 activation points: expected %2, found %3")
                            .arg(e[QStringLiteral("name")].toString(),
                                 QString::fromUtf8(QJsonDocument(e[QStringLiteral("activation_points")].toArray())
                                                       .toJson(QJsonDocument::Compact)),
                                 QString::fromUtf8(QJsonDocument(foundPoints).toJson(QJsonDocument::Compact)));
        }
        if (a[QStringLiteral("activation_point")] != foundPoints.first()) {
            problems << QStringLiteral("layer %1: activation_point is not the first call site's")
                            .arg(e[QStringLiteral("name")].toString());
        }
    }
    return problems;
}

} // namespace qat::test
