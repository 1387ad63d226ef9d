#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the .deb from the built tree (cpack), unpacks it into a temporary root (dpkg -x)
# and uses it from there as an installed system would: qatwb --version and inspect on the
# installed demo model, the window's screenshot on the installed demo, the example plugin
# built against the installed SDK, the man pages, the desktop and AppStream validators and
# lintian (no errors allowed; warnings are printed).
#   tests/packaging/check_deb.sh BUILD_DIR
set -euo pipefail
BUILD="$1"
WORK="$BUILD/deb-test"
rm -rf "$WORK"
mkdir -p "$WORK"
step() { echo "== $*"; }

step "cpack"
rm -f "$BUILD"/qat-workbench_*.deb
(cd "$BUILD" && cpack -G DEB > "$WORK/cpack.log" 2>&1) || { cat "$WORK/cpack.log"; exit 1; }
DEBS=("$BUILD"/qat-workbench_*.deb)
DEB="${DEBS[0]}"
test -f "$DEB"
echo "$DEB ($(du -h "$DEB" | cut -f1))"

step "control fields"
dpkg-deb -f "$DEB" Package Version Architecture Depends Recommends Suggests | tee "$WORK/control.txt"
DEPENDS="$(dpkg-deb -f "$DEB" Depends)"
for dep in libtorch1.13 libqt6widgets6 libqcustomplot2.1-qt6 libsqlite3-0 libonnx1 libprotobuf32 \
           libqt6svg6 libopenblas0-pthread libgvc6; do
  grep -q "\b$dep\b" <<< "$DEPENDS" || { echo "Depends lacks $dep"; exit 1; }
done
[ "$(dpkg-deb -f "$DEB" Recommends)" = "dataset-fashion-mnist" ]

step "unpack"
ROOT="$WORK/root"
dpkg -x "$DEB" "$ROOT"
for f in usr/bin/qatwb usr/bin/qat-workbench usr/lib/*/qat-workbench/libqatcore.so.0 \
         usr/share/qat-workbench/models/demo_cnn.pt usr/share/qat-workbench/plugin-example/CMakeLists.txt \
         usr/include/qat-workbench/quantizers/plugin_api.h usr/lib/cmake/QatWorkbench/QatWorkbenchConfig.cmake \
         usr/share/man/man1/qatwb.1.gz usr/share/man/man1/qat-workbench.1.gz \
         usr/share/applications/io.github.qatworkbench.QatWorkbench.desktop \
         usr/share/metainfo/io.github.qatworkbench.QatWorkbench.metainfo.xml \
         usr/share/icons/hicolor/scalable/apps/qat-workbench.svg \
         usr/share/doc/qat-workbench/copyright usr/share/doc/qat-workbench/changelog.gz; do
  compgen -G "$ROOT/$f" > /dev/null || { echo "missing from the .deb: /$f"; exit 1; }
done

step "installed qatwb"
# The binaries find libqatcore through their RUNPATH ($ORIGIN/../lib/<multiarch>/qat-workbench), so no
# LD_LIBRARY_PATH: this also proves the relocatable layout.
QATWB="$ROOT/usr/bin/qatwb"
"$QATWB" --version | tee "$WORK/version.txt"
grep -q "^qatwb [0-9]" "$WORK/version.txt"
# Every command that --help lists (as the man page generator reads them) has its own help.
COMMANDS="$("$QATWB" --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | grep -vx help)"
echo "commands:" $COMMANDS
for required in inspect quantizers train runs export; do grep -qx "$required" <<< "$COMMANDS"; done
for command in $COMMANDS; do
  "$QATWB" help "$command" | sed -n 1p | grep -q "usage: qatwb $command"
  "$QATWB" "$command" --help | sed -n 1p | grep -q "usage: qatwb $command"
done
"$QATWB" inspect "$ROOT/usr/share/qat-workbench/models/demo_cnn.pt" --json > "$WORK/inspect.json"
grep -q '"layers"' "$WORK/inspect.json"
"$QATWB" inspect "$ROOT/usr/share/qat-workbench/models/demo_cnn.pt" | tee "$WORK/inspect.txt" | head -5

step "installed window on the installed demo model"
# --demo resolves the demo model relative to the installed executable.
QT_QPA_PLATFORM=offscreen "$ROOT/usr/bin/qat-workbench" --demo --screenshot "$WORK/demo.png"
test -s "$WORK/demo.png"
# The graph page: Graphviz's dot layout plugin is found from the installed package.
QT_QPA_PLATFORM=offscreen "$ROOT/usr/bin/qat-workbench" --demo --page graph --screenshot "$WORK/graph.png" \
  2> "$WORK/graph.err"
test -s "$WORK/graph.png"
if grep -q "not recognized" "$WORK/graph.err"; then cat "$WORK/graph.err"; exit 1; fi
QT_QPA_PLATFORM=offscreen "$ROOT/usr/bin/qat-workbench" --screenshot "$WORK/welcome.png"
test -s "$WORK/welcome.png"

step "example plugin against the installed SDK"
cp -r "$ROOT/usr/share/qat-workbench/plugin-example" "$WORK/my-plugin"
LAUNCHER=()
if command -v ccache > /dev/null; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$WORK/my-plugin" -B "$WORK/my-plugin/build" -G Ninja -DCMAKE_PREFIX_PATH="$ROOT/usr" \
  "${LAUNCHER[@]}" > "$WORK/plugin-configure.log" || { cat "$WORK/plugin-configure.log"; exit 1; }
grep -q "$ROOT/usr/lib/cmake/QatWorkbench" "$WORK/my-plugin/build/CMakeCache.txt"
cmake --build "$WORK/my-plugin/build" > "$WORK/plugin-build.log" || { cat "$WORK/plugin-build.log"; exit 1; }
"$QATWB" quantizers --json --plugin "$WORK/my-plugin/build/my_training.so" > "$WORK/quantizers.json"
grep -q '"training": "MyTraining"' "$WORK/quantizers.json"

step "man pages"
for page in qatwb qat-workbench; do
  # man's own warnings (groff) would be lintian's too.
  out="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$ROOT/usr/share/man/man1/$page.1.gz" 2>&1 > "$WORK/$page.txt")"
  [ -z "$out" ] || { echo "man $page: $out"; exit 1; }
done
grep -q "qatwb export" "$WORK/qatwb.txt"
head -3 "$WORK/qatwb.txt"

step "desktop file and AppStream metainfo"
desktop-file-validate "$ROOT/usr/share/applications/io.github.qatworkbench.QatWorkbench.desktop"
appstreamcli validate --no-net "$ROOT/usr/share/metainfo/io.github.qatworkbench.QatWorkbench.metainfo.xml"

step "lintian"
# Errors fail the test; warnings and info are listed.
lintian --fail-on error --display-info --tag-display-limit 0 "$DEB" | tee "$WORK/lintian.txt"
echo "deb: built, unpacked and used; lintian: $(grep -c '^E:' "$WORK/lintian.txt" || true) errors, $(grep -c '^W:' "$WORK/lintian.txt" || true) warnings"
