#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ONNX Runtime vs the workbench on the full Fashion-MNIST test set (issue #20's acceptance):
# each model trained 1 epoch at each preset, exported as ONNX QDQ, run in ONNX Runtime with its
# default optimizations (integer kernels; needs Node.js + onnxruntime-node, see
# packaging/install-deps.sh). Prints the workbench's QAT top-1 (as training reports it and as the
# export's training forward computes it), ONNX Runtime's top-1 and the per-image class agreement.
# A measurement, not a test (minutes per model).
#   tests/bench/ort_accuracy.sh build/bin/qatwb [--presets a,b] MODEL...
# QATWB_TRAIN_ARGS adds options to each `qatwb train` (e.g. "--limit-train 8192" for a quicker look).
set -euo pipefail
QATWB="$1"
shift
PRESETS="mct-default,w4a8-lsq,w4a4-lsq-uniform,w2a3"
if [ "${1:-}" = --presets ]; then PRESETS="$2"; shift 2; fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export QATWB_RUNS_DB="$WORK/runs.sqlite"
printf "%-28s %-18s %9s %9s %9s %9s %9s %11s\n" model preset float qat_top1 export_fw ort_top1 ort-qat agreement
for model in "$@"; do
  for preset in ${PRESETS//,/ }; do
    run="$("$QATWB" train --model "$model" --preset "$preset" --epochs 1 ${QATWB_TRAIN_ARGS:-} \
      --db "$WORK/runs.sqlite" --json 2>/dev/null)"
    id="$(printf '%s' "$run" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')"
    "$QATWB" export "$id" --db "$WORK/runs.sqlite" --out "$WORK/out" --format onnx --json 2>/dev/null > "$WORK/export.json"
    printf '%s' "$run" | /usr/bin/python3 -c '
import json, sys
run = json.load(sys.stdin)
p = json.load(open(sys.argv[3]))["parity"]
rt = p["runtime"]
if not rt["checked"]:
    print("%-28s %-18s not checked: %s" % (sys.argv[1], sys.argv[2], rt["note"]))
    sys.exit(0)
print("%-28s %-18s %9.2f %9.2f %9.2f %9.2f %+9.2f %10.2f%%" % (sys.argv[1], sys.argv[2], 100 * run["float_top1"], 100 * run["qat_top1"],
      100 * p["training_top1"], 100 * rt["runtime_top1"], 100 * (rt["runtime_top1"] - run["qat_top1"]),
      100 * rt["top1_agreement"]))' "$(basename "$model")" "$preset" "$WORK/export.json"
  done
done
