// SPDX-License-Identifier: MIT
#pragma once
// Helpers every window test needs: fixture paths, opening a model and waiting, screenshots.

#include "test_paths.h"
#include "main_window.h"

#include <QDir>
#include <QProcessEnvironment>
#include <QSignalSpy>
#include <QtTest>

namespace qat::test::window {

/// A fixture model: TorchScript files in tests/fixtures/models, ONNX ones in tests/fixtures/onnx.
inline QString fixture(const QString& name)
{
    if (name.endsWith(QStringLiteral(".onnx"))) {
        return QDir(qat::test::path(QATWB_ONNX_FIXTURES_DIR)).filePath(name);
    }
    return QDir(qat::test::path(QATWB_FIXTURES_DIR)).filePath(name);
}

/// Opens path in window and waits for the load to finish; true when it succeeded.
inline bool openAndWait(qat::ui::MainWindow& window, const QString& path)
{
    QSignalSpy finished(&window, &qat::ui::MainWindow::modelLoadFinished);
    window.openModel(path);
    return finished.wait(60000) && finished.size() == 1 && finished.takeFirst().at(0).toBool();
}

/// The environment for starting the window program: its settings in configDir, so it neither
/// restores the developer's layout and data nor writes to their settings.
inline QProcessEnvironment guiEnvironment(const QString& configDir)
{
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), configDir);
    return env;
}

/// widget as a PNG in the build's screenshot folder (queued replots run first).
inline void saveScreenshot(QWidget& widget, const QString& name)
{
    QTest::qWait(50);
    QDir().mkpath(qat::test::path(QATWB_SCREENSHOT_DIR));
    QVERIFY(widget.grab().save(QDir(qat::test::path(QATWB_SCREENSHOT_DIR)).filePath(name)));
}

} // namespace qat::test::window
