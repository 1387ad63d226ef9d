// SPDX-License-Identifier: MIT
#pragma once
// Where the tests find the checkout's and the build's files (fixtures, Fashion-MNIST, qatwb,
// the window). The absolute paths are compiled into one small unit, test_paths.cpp, not into
// every test: a test's object file is then the same from any checkout, so ccache serves it
// (the sanitizer stage's ASan build of every test takes minutes instead of a quarter hour).

#include <QString>

namespace qat::test::paths {
const char* fixturesDir();            // tests/fixtures/models
const char* onnxFixturesDir();        // tests/fixtures/onnx
const char* torchvisionFixturesDir(); // BUILD/fixtures/torchvision, made by the build
const char* sourceDir();              // the checkout
const char* demoModel();              // resources/models/demo_cnn.pt
const char* fashionMnistDir();        // the Debian package's Fashion-MNIST
const char* cli();                    // this build's qatwb
const char* gui();                    // this build's qat-workbench
const char* screenshotDir();          // BUILD/screenshots
const char* pluginDirBuilt();         // BUILD/plugins: the example plugins
const char* testPluginDir();          // BUILD/test-plugins: plugins the loader must refuse
} // namespace qat::test::paths

#define QATWB_FIXTURES_DIR (::qat::test::paths::fixturesDir())
#define QATWB_ONNX_FIXTURES_DIR (::qat::test::paths::onnxFixturesDir())
#define QATWB_TORCHVISION_FIXTURES_DIR (::qat::test::paths::torchvisionFixturesDir())
#define QATWB_SOURCE_DIR (::qat::test::paths::sourceDir())
#define QATWB_DEMO_MODEL (::qat::test::paths::demoModel())
#define QATWB_FASHION_MNIST_DIR (::qat::test::paths::fashionMnistDir())
#define QATWB_CLI (::qat::test::paths::cli())
#define QATWB_GUI (::qat::test::paths::gui())
#define QATWB_SCREENSHOT_DIR (::qat::test::paths::screenshotDir())
#define QATWB_PLUGIN_DIR_BUILT (::qat::test::paths::pluginDirBuilt())
#define QATWB_TEST_PLUGIN_DIR (::qat::test::paths::testPluginDir())

namespace qat::test {
/// A path under one of the folders above, as a QString: path(QATWB_FIXTURES_DIR, "/a.pt").
inline QString path(const char* dir, const char* rest = "")
{
    return QString::fromUtf8(dir) + QString::fromUtf8(rest);
}
} // namespace qat::test
