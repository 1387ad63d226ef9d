#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (tests/fuzz/CMakeLists.txt) next to a main build,
# replays every committed regression input, then fuzzes each target for a while from the
# committed seed corpus. A crash, a sanitizer report, a leak, a timeout or an out-of-memory
# fails; the input that did it is kept in BUILD/fuzz/artifacts and printed as base64, ready
# to be committed to tests/fuzz/regressions/TARGET/.
#   run_fuzzers.sh MAIN_BUILD SOURCE_DIR [SECONDS_PER_TARGET]
set -euo pipefail
MAIN_BUILD="$(cd "$1" && pwd)"
SRC="$(cd "$2" && pwd)"
SECONDS_EACH="${3:-${QATWB_FUZZ_SECONDS:-15}}"
HERE="$SRC/tests/fuzz"
OUT="$MAIN_BUILD/fuzz"
CXX_CLANG="$(command -v clang++-14 || command -v clang++)"

started=$(date +%s)
cmake -S "$HERE" -B "$OUT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX_CLANG" \
  -DQATWB_SOURCE_DIR="$SRC" -DQATWB_MAIN_BUILD="$MAIN_BUILD" >/dev/null
cmake --build "$OUT/build" -j 2
echo "fuzz: built in $(( $(date +%s) - started )) s"

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TMPDIR="$OUT/tmp"
mkdir -p "$OUT/artifacts" "$TMPDIR"
status=0
for target in idx_reader array_reader plan_parser spec_reader onnx_import graph_passes; do
  exe="$OUT/build/fuzz_$target"
  regressions="$HERE/regressions/$target"
  if compgen -G "$regressions/*" >/dev/null; then
    # Given files rather than folders, a libFuzzer binary runs each once.
    if ! "$exe" -rss_limit_mb=2048 -malloc_limit_mb=1024 "$regressions"/* >"$OUT/$target-regressions.log" 2>&1; then
      echo "fuzz: $target fails a committed regression input:"; tail -40 "$OUT/$target-regressions.log"; status=1
      continue
    fi
    echo "fuzz: $target passes $(ls "$regressions" | wc -l) regression inputs"
  fi
  # The graph target reads a few hundred bytes of choices at most (model_generator.h).
  max_len=65536
  [ "$target" = graph_passes ] && max_len=512
  work="$OUT/corpus/$target"
  mkdir -p "$work"
  # New inputs go to the first folder (build tree); the committed seeds are only read.
  if ! "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len="$max_len" \
       -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$target-" "$work" "$HERE/corpus/$target" \
       >"$OUT/$target.log" 2>&1; then
    echo "fuzz: $target FOUND A BUG:"; grep -v '^#' "$OUT/$target.log" | tail -60
    for f in "$OUT/artifacts/$target-"*; do
      [ -f "$f" ] && { echo "input $f (base64):"; base64 -w0 "$f"; echo; }
    done
    status=1
    continue
  fi
  echo "fuzz: $target ran ${SECONDS_EACH} s: $(grep -E 'stat::number_of_executed_units' "$OUT/$target.log" | awk '{print $2}') inputs," \
       "coverage $(grep -oE 'cov: [0-9]+' "$OUT/$target.log" | tail -1 | awk '{print $2}') edges, corpus $(ls "$work" | wc -l) new"
done
echo "fuzz: done in $(( $(date +%s) - started )) s"
exit $status
