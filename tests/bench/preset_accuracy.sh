#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Accuracy of the presets with default hyperparameters on the given models (real
# Fashion-MNIST): float vs QAT top-1 after 1 epoch (w2a3: 3 epochs). A measurement, not a test.
#   tests/bench/preset_accuracy.sh build/bin/qatwb MODEL...
set -euo pipefail
QATWB="$1"
shift
printf "%-40s %-18s %8s %8s %8s\n" model preset float qat delta
for model in "$@"; do
  for preset in mct-default w4a8-lsq w2a3; do
    epochs=1
    if [ "$preset" = w2a3 ]; then epochs=3; fi
    "$QATWB" train --model "$model" --preset "$preset" --epochs "$epochs" --json 2>/dev/null |
      /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); f=d['float_top1']; q=d['qat_top1']; print('%-40s %-18s %8.4f %8.4f %+8.2f' % (sys.argv[1], sys.argv[2], f, q, 100*(q-f)))" "$(basename "$model")" "$preset"
  done
done
