// SPDX-License-Identifier: MIT
#include "resource_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace qat::ui {

QString demoModelPath()
{
    const QStringList candidates = {
        qEnvironmentVariable("QATWB_DEMO_MODEL"),
        QDir(QCoreApplication::applicationDirPath())
            .filePath(QStringLiteral("../share/qat-workbench/models/demo_cnn.pt")),
        QStringLiteral(QATWB_SOURCE_DEMO_MODEL),
    };
    for (const auto& path : candidates) {
        if (!path.isEmpty() && QFileInfo(path).isFile()) {
            return QFileInfo(path).canonicalFilePath();
        }
    }
    return {};
}

} // namespace qat::ui
