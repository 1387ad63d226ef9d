#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# AddressSanitizer + UndefinedBehaviorSanitizer: builds the core, the CLI and the test
# executables that run core code, the window's among them (GCC, -fsanitize=address,undefined)
# in MAIN_BUILD/asan and runs them there. LibTorch, Qt and SQLite are not instrumented; their
# memory is still watched where our code touches it. Any report fails the test it happens in.
#   run_sanitized.sh MAIN_BUILD SOURCE_DIR
set -euo pipefail
MAIN_BUILD="$(cd "$1" && pwd)"
SRC="$(cd "$2" && pwd)"
OUT="$MAIN_BUILD/asan"
# QATWB_SANITIZER_TESTS=ci (the default, what CI runs): every test executable that runs core
# code: the core's own areas, the CLI-driven tests through the instrumented qatwb and seven
# of the window's eight tests, offscreen, with an ASan build of the window library; less the
# rows asan_skips.txt names (run_selected.sh).
# QATWB_SANITIZER_TESTS=all: the same plus tst_history. In a full CI rehearsal (clean clone,
# 2 cores) it took 493 s under ASan and CI took 51 min: its fixture is a dozen
# runs of the instrumented qatwb (what tst_cli and tst_run_store run) and the rest is Qt models
# over SQLite; it ran clean under ASan.
# QATWB_SANITIZER_TESTS=core: a smaller list, for iterating on the core.
CORE_TESTS=(
  # the core's own areas
  tst_model_import tst_onnx_import tst_idx_reader tst_plan tst_targets tst_plugins tst_quantizers
  tst_quantizer_gradients tst_fused_kernels tst_data tst_training tst_export tst_run_store
  tst_resources tst_auto_init
  # through the instrumented qatwb (tst_bench_cli aside: it times what tst_training runs)
  tst_cli tst_bad_inputs tst_distributed
)
WINDOW_TESTS=(
  # the window, offscreen, driving the core (training on its worker thread, export, errors)
  tst_main_window tst_welcome_view tst_graph_view tst_model_view tst_workbench tst_data_view
  tst_error_states
)
case "${QATWB_SANITIZER_TESTS:-ci}" in
  ci) TESTS=("${CORE_TESTS[@]}" "${WINDOW_TESTS[@]}") ;;
  all) TESTS=("${CORE_TESTS[@]}" "${WINDOW_TESTS[@]}" tst_history) ;;
  core) TESTS=(tst_model_import tst_idx_reader tst_plan tst_plugins tst_training tst_run_store tst_cli tst_bad_inputs) ;;
  *) echo "run_sanitized.sh: QATWB_SANITIZER_TESTS is ci (the default), all or core" >&2; exit 2 ;;
esac
# tst_export exports each fixture model under one quantizer kind here instead of all nine,
# and each torchvision architecture once (scripted or traced, in turn): every model's graph
# and every kind still once; the full matrix takes too long under ASan.
export QATWB_EXPORT_SUBSET=1
# vptr is off: its checks need the typeinfo of LibTorch classes that libtorch does not
# export (c10::DynamicType, used by the ONNX importer), so nothing would link.
FLAGS="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

# ccache hits across checkouts (dev.sh sets these; also when ctest is run by hand).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$SRC}" CCACHE_NOHASHDIR=1

started=$(date +%s)
# -O1 -g1 instead of RelWithDebInfo's -O2 -g: a LibTorch-heavy unit compiles in less than half
# the time (trainer.cpp: 45 s instead of 99), and line tables are all a report's stack needs.
# The tests' time is spent in LibTorch, which is not instrumented either way. (It was spent
# in the kernel, faulting in every step's buffers afresh under ASan's allocator, until
# core/common/sanitizer_allocator.cpp: ASan's tst_training went from 836 s to 140 s.)
cmake -S "$SRC" -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DQATWB_SANITIZER_STAGE=ON -DCMAKE_CXX_FLAGS="$FLAGS" \
  -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" -DCMAKE_SHARED_LINKER_FLAGS="$FLAGS" -DCMAKE_MODULE_LINKER_FLAGS="$FLAGS" >/dev/null
cmake --build "$OUT" -j 2 --target "${TESTS[@]}"
built=$(date +%s)
# The stage's times, for CI's log (dev.sh prints this file after ctest, which shows a passing
# test's own output only with -V).
times="$OUT/stage-times.txt"
echo "sanitizers: built in $(( built - started )) s" | tee "$times"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$SRC/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$SRC/tests/sanitizers/ubsan.supp"
pattern="^($(IFS='|'; echo "${TESTS[*]}"))\$"
set +e
# The timeout only catches a hang (on CI's loaded 2-core machine tst_training once took 1368 s).
ctest --test-dir "$OUT" -R "$pattern" -j "$(nproc)" --output-on-failure --timeout 2400 2>&1 | tee "$OUT/ctest.log"
status=${PIPESTATUS[0]}
set -e
grep -E "Test +#" "$OUT/ctest.log" >> "$times" || true
echo "sanitizers: tests ran in $(( $(date +%s) - built )) s" | tee -a "$times"
exit $status
