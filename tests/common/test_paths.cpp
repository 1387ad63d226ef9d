// SPDX-License-Identifier: MIT
// The one unit that knows this checkout's and this build's absolute paths (CMake defines them
// for this file only; see test_paths.h).
#include "test_paths.h"

namespace qat::test::paths {
const char* fixturesDir() { return QATWB_PATH_FIXTURES_DIR; }
const char* onnxFixturesDir() { return QATWB_PATH_ONNX_FIXTURES_DIR; }
const char* torchvisionFixturesDir() { return QATWB_PATH_TORCHVISION_FIXTURES_DIR; }
const char* sourceDir() { return QATWB_PATH_SOURCE_DIR; }
const char* demoModel() { return QATWB_PATH_DEMO_MODEL; }
const char* fashionMnistDir() { return QATWB_PATH_FASHION_MNIST_DIR; }
const char* cli() { return QATWB_PATH_CLI; }
const char* gui() { return QATWB_PATH_GUI; }
const char* screenshotDir() { return QATWB_PATH_SCREENSHOT_DIR; }
const char* pluginDirBuilt() { return QATWB_PATH_PLUGIN_DIR_BUILT; }
const char* testPluginDir() { return QATWB_PATH_TEST_PLUGIN_DIR; }
} // namespace qat::test::paths
