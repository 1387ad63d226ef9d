#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Follows core/quantizers/README.md on a clean directory: install the SDK, build the
# example plugin against it, list it with the installed qatwb, train it one step.
set -euo pipefail
BUILD="$1"
SOURCE="$2"
WORK="$BUILD/sdk-test"
rm -rf "$WORK"
mkdir -p "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
cp -r "$WORK/prefix/share/qat-workbench/plugin-example" "$WORK/my-plugin"
LAUNCHER=()
if command -v ccache > /dev/null; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$WORK/my-plugin" -B "$WORK/my-plugin/build" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" "${LAUNCHER[@]}" > "$WORK/configure.log"
cmake --build "$WORK/my-plugin/build" > "$WORK/build.log"
PLUGIN="$WORK/my-plugin/build/my_training.so"
test -f "$PLUGIN"
"$WORK/prefix/bin/qatwb" quantizers --json --plugin "$PLUGIN" > "$WORK/quantizers.json"
grep -q '"training": "MyTraining"' "$WORK/quantizers.json"
grep -q "\"source\": \"$PLUGIN\"" "$WORK/quantizers.json"
QATWB_TEST_PLUGIN="$PLUGIN" "$BUILD/bin/tst_plugins" loadsAndTrainsExamplePlugin
echo "out-of-tree plugin: built, listed and trained one step"
