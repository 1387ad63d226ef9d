#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Mixed precision under a weights budget (real Fashion-MNIST, 1 epoch, default hyperparameters;
# LSQ weights, 8-bit activations): uniform 4-bit weights (w4a8-lsq) against a plan fitted to
# the same memory (--fit weights=50% of w8a8-lsq), and a fit to 35 % against a hand-made mix
# of the same size (the largest layers at 2 bits, the rest at 4). A measurement, not a test.
#   tests/bench/mixed_precision.sh build/bin/qatwb OUT_DIR MODEL...
# FIT_ARGS (e.g. "--adapt-steps 0", or "--verify 6" to measure the six best candidate plans
# jointly and choose the best measured) is passed to every `qatwb plan --fit`.
set -euo pipefail
QATWB="$1"
OUT="$2"
shift 2
mkdir -p "$OUT"
DB="$OUT/runs.sqlite"
PY=/usr/bin/python3
row() { # model label plan-file-or-preset-args...
  local model="$1" label="$2"
  shift 2
  "$QATWB" train --model "$model" "$@" --epochs 1 --db "$DB" --json 2>/dev/null |
    $PY -c "import json,sys; d=json.load(sys.stdin); r=d['resources']; print('%-26s %-22s %9d %6.1f%% %8.4f %8.4f  %s' % (sys.argv[1], sys.argv[2], r['weights_bytes'], 100.0*r['weights_bytes']/r['weights_bytes_8bit'], d['float_top1'], d['qat_top1'], '/'.join(str(l['weight_bits']) for l in r['layers'])))" "$(basename "$model")" "$label"
}
printf "%-26s %-22s %9s %7s %8s %8s  %s\n" model plan weights "of 8b" float qat "bits per layer"
for model in "$@"; do
  name=$(basename "$model" .pt)
  "$QATWB" plan --model "$model" --preset w8a8-lsq --fit weights=50% ${FIT_ARGS:-} --out "$OUT/$name-fit50.json" --json >"$OUT/$name-fit50.out.json" 2>/dev/null
  "$QATWB" plan --model "$model" --preset w8a8-lsq --fit weights=35% ${FIT_ARGS:-} --out "$OUT/$name-fit35.json" --json >"$OUT/$name-fit35.out.json" 2>/dev/null
  # The hand-made mix: 2 bits for the largest layers while the weights exceed 35 %, else 4.
  "$QATWB" plan --model "$model" --preset w4a8-lsq --json 2>/dev/null | $PY -c "
import json, sys
r = json.load(sys.stdin)['resources']
limit = 0.35 * r['weights_bytes_8bit']
layers = sorted(r['layers'], key=lambda l: -l['weight_elements'])
total = sum((l['weight_elements'] * 4 + 7) // 8 for l in layers)
plan = {'format': 'qat-workbench-plan', 'version': 2, 'target': 'imx500', 'layers': {}}
for l in layers:
    if total <= limit: break
    total -= (l['weight_elements'] * 4 + 7) // 8 - (l['weight_elements'] * 2 + 7) // 8
    plan['layers'][l['name']] = {'weights': {'bits': 2}}
json.dump(plan, open(sys.argv[1], 'w'))
" "$OUT/$name-hand35.overrides.json"
  uniform=$(row "$model" "uniform 4-bit" --preset w4a8-lsq)
  echo "$uniform"
  row "$model" "fit weights=35%" --plan "$OUT/$name-fit35.json"
  row "$model" "hand mix 35%" --preset w4a8-lsq --plan "$OUT/$name-hand35.overrides.json"
  # A fit that chose 4 bits for every layer is the uniform plan: training it again repeats
  # the same deterministic run, so its row is the uniform one's.
  if $PY -c "import json,sys; sys.exit(0 if all(l['weight_bits'] == 4 for l in json.load(open(sys.argv[1]))['resources']['layers']) else 1)" "$OUT/$name-fit50.out.json"; then
    echo "$uniform" | sed 's/uniform 4-bit         /fit weights=50% (same)/'
  else
    row "$model" "fit weights=50%" --plan "$OUT/$name-fit50.json"
  fi
done
