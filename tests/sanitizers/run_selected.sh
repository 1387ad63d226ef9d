#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# How the sanitizer stage runs one Qt Test executable: every test function and data row it
# has, less the rows asan_skips.txt leaves out for it (rows that repeat a code path another
# row already runs under ASan and cost minutes there). New functions and rows run unless a
# pattern names them. The kept list also goes to stdout, so a log shows what ran.
#   run_selected.sh EXECUTABLE SKIP_FILE
set -euo pipefail
exe="$1"
skips="$2"
name="$(basename "$exe")"

# The executable's patterns (ERE, matched against FUNCTION or FUNCTION:TAG, whole string).
patterns=()
while read -r test pattern _; do
  [ "$test" = "$name" ] && patterns+=("$pattern")
done < <(sed -e 's/#.*//' "$skips")
# Runs the executable with the given arguments. A Qt Test check that fails here (slow code,
# two tests at a time) is run once more, its function alone; it passes only if the check
# passes then, and "run_selected: RETRY" marks it in the log (packaging/dev.sh prints those
# lines at the end of CI's log). A sanitizer report, a crash or a failure outside a test
# function is never retried.
run_with_retry() {
  local out status
  out="$(mktemp)"
  set +e
  "$exe" "$@" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -eq 0 ] || grep -q -E "ERROR: (Address|Leak)Sanitizer|runtime error:|Received signal|Test function timed out" "$out"; then
    rm -f "$out"
    return "$status"
  fi
  local failed=() fn arg again=()
  mapfile -t failed < <(sed -n -E 's/^FAIL! +: [A-Za-z_0-9]+::([A-Za-z_0-9]+)\(.*/\1/p' "$out" | sort -u)
  rm -f "$out"
  if [ "${#failed[@]}" -eq 0 ] || [[ " ${failed[*]} " == *" initTestCase "* || " ${failed[*]} " == *" cleanupTestCase "* ]]; then
    return "$status"
  fi
  for fn in "${failed[@]}"; do
    if [ "$#" -eq 0 ]; then
      again+=("$fn")
    else
      for arg in "$@"; do
        if [ "$arg" = "$fn" ] || [ "${arg%%:*}" = "$fn" ]; then
          again+=("$arg")
        fi
      done
    fi
  done
  echo "run_selected: RETRY $name: ${failed[*]} failed (output above); running them once more"
  "$exe" "${again[@]}"
}

if [ "${#patterns[@]}" -eq 0 ]; then
  run_with_retry
  exit $?
fi
re="^($(IFS='|'; echo "${patterns[*]}"))\$"

# -datatags lists "CLASS FUNCTION" or "CLASS FUNCTION TAG" per row, in declaration order.
listing="$("$exe" -datatags)"
declare -A total=() kept=()
order=()
rows=()
while read -r _ fn tag; do
  key="$fn${tag:+:$tag}"
  [ -n "${total[$fn]:-}" ] || order+=("$fn")
  total[$fn]=$(( ${total[$fn]:-0} + 1 ))
  if [[ ! "$key" =~ $re && ! "$fn" =~ $re ]]; then
    kept[$fn]=$(( ${kept[$fn]:-0} + 1 ))
    rows+=("$key")
  fi
done <<< "$listing"

args=()
for fn in "${order[@]}"; do
  k=${kept[$fn]:-0}
  if [ "$k" -eq "${total[$fn]}" ]; then
    args+=("$fn") # every row: name the function once
  elif [ "$k" -gt 0 ]; then
    for row in "${rows[@]}"; do
      [ "${row%%:*}" = "$fn" ] && args+=("$row")
    done
  fi
done
echo "run_selected: $name: ${#rows[@]} of $(wc -l <<< "$listing") rows (skipped: $re)"
run_with_retry "${args[@]}"
