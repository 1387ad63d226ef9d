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
if [ "${#patterns[@]}" -eq 0 ]; then
  exec "$exe"
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
exec "$exe" "${args[@]}"
