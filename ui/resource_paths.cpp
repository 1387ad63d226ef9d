// SPDX-License-Identifier: MIT
#include "resource_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace qat::ui {

namespace {

const char* const kDemoRelative = "qat-workbench/models/demo_cnn.pt";

// The source tree's copy is for developers only: an installed binary must never pick up a
// checkout that happens to sit at the path it was built from.
bool runningFromBuildTree()
{
    const QFileInfo appDir(QCoreApplication::applicationDirPath());
    const QFileInfo buildBin(QStringLiteral(QATWB_BUILD_BIN_DIR));
    return buildBin.exists() && appDir.canonicalFilePath() == buildBin.canonicalFilePath();
}

} // namespace

QString demoModelPath()
{
    QStringList candidates = {
        qEnvironmentVariable("QATWB_DEMO_MODEL"),
        QDir(QCoreApplication::applicationDirPath())
            .filePath(QStringLiteral("../share/") + QString::fromLatin1(kDemoRelative)),
        QStandardPaths::locate(QStandardPaths::GenericDataLocation, QString::fromLatin1(kDemoRelative)),
    };
    if (runningFromBuildTree()) {
        candidates.append(QStringLiteral(QATWB_SOURCE_DEMO_MODEL));
    }
    for (const auto& path : candidates) {
        if (!path.isEmpty() && QFileInfo(path).isFile()) {
            return QFileInfo(path).canonicalFilePath();
        }
    }
    return {};
}

QIcon appIcon()
{
    QIcon icon(QStringLiteral(":/icons/qat-workbench.svg"));
    if (icon.availableSizes().isEmpty() && icon.pixmap(64, 64).isNull()) {
        return QIcon::fromTheme(QStringLiteral("qat-workbench"));
    }
    return icon;
}

} // namespace qat::ui
