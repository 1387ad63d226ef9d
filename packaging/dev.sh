#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# From nothing to a running workbench or a tested build, on Debian 12:
#   packaging/dev.sh run [APP ARGS]   install packages, build, open the GUI on the demo model
#   packaging/dev.sh test             install packages, build, run every test (what CI runs)
#   packaging/dev.sh build            install packages and build only
#   packaging/dev.sh deb              install packages, build, make the .deb in the build folder
# The build goes to $QATWB_BUILD_DIR (default: build/ in the checkout); ccache is used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${QATWB_BUILD_DIR:-$ROOT/build}"
MODE="${1:-}"
shift || true

case "$MODE" in
  run|test|build|deb) ;;
  *) echo "usage: packaging/dev.sh run|test|build|deb" >&2; exit 2 ;;
esac

bash "$ROOT/packaging/install-deps.sh"
# Let ccache hit across checkouts in different folders (CI builds a fresh clone elsewhere).
export CCACHE_BASEDIR="$ROOT"
export CCACHE_NOHASHDIR=1
# Room for the release and the ASan build of several checkouts: at ccache's default 5 GB the
# sanitizer stage's objects would push out the ones CI's next clean clone needs.
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-12G}"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
# Two jobs fit in memory even for the torch-heavy units (~1.4 GB each).
cmake --build "$BUILD" -j "$(nproc)"

case "$MODE" in
  run)
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
      echo "dev.sh: no display found; starting the workbench under xvfb-run (nothing will be visible)." >&2
      exec xvfb-run -a "$BUILD/bin/qat-workbench" "$ROOT/resources/models/demo_cnn.pt" "$@"
    fi
    exec "$BUILD/bin/qat-workbench" "$ROOT/resources/models/demo_cnn.pt" "$@"
    ;;
  test)
    cd "$BUILD"
    # Everything, including the fuzzers (label "fuzz") and the ASan+UBSan build of the core,
    # the CLI and the tests run_sanitized.sh lists (label "sanitizers", the longest stage; its
    # build is mostly ccache hits once warm). QATWB_SANITIZERS=0 leaves it out while iterating.
    if [ "${QATWB_SANITIZERS:-1}" = 0 ]; then
      exec ctest --output-on-failure --timeout 1500 -j "$(nproc)" -LE sanitizers
    fi
    rm -f "$BUILD/asan/stage-times.txt"
    status=0
    # Two tests at a time (one per core): most spend their time in one thread or waiting for
    # a qatwb process, and the sanitizer stage (started first) runs beside the others.
    ctest --output-on-failure --timeout 2400 -j "$(nproc)" || status=$?
    # The sanitizer stage's build and per-test times (ctest hides a passing test's output).
    if [ -f "$BUILD/asan/stage-times.txt" ]; then cat "$BUILD/asan/stage-times.txt"; fi
    # Why a test failed, last: CI keeps only the head and tail of a long log, and the failing
    # test's output (the sanitizer stage's above all) sits in the middle of it. Also when the
    # run passed but a check failed once and passed on its retry (run_selected.sh).
    asan_log="$BUILD/asan/Testing/Temporary/LastTest.log"
    if [ "$status" -ne 0 ] || { [ -f "$asan_log" ] && grep -q "run_selected: RETRY" "$asan_log"; }; then
      for log in "$BUILD/Testing/Temporary/LastTest.log" "$asan_log"; do
        [ -f "$log" ] || continue
        echo "== what the failing tests said ($log) =="
        grep -E -B3 -A2 "FAIL!|run_selected: RETRY|ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: |Test timeout|uncaught exception|terminate called|Segmentation fault|Aborted" "$log" \
          | cut -c1-400 | head -120 || true
      done
    fi
    exit $status
    ;;
  deb)
    cd "$BUILD"
    rm -f qat-workbench_*.deb
    cpack -G DEB
    ls "$BUILD"/qat-workbench_*.deb
    ;;
esac
