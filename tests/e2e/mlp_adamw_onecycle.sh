#!/bin/sh
# examples/mlp_adamw_onecycle.nnd end to end: its two epochs (AdamW, one-cycle schedule) reach a
# test accuracy of at least 0.85 (0.866 when measured).
set -e
. tests/e2e/lib.sh
"$root/nndc" build "$root/examples/mlp_adamw_onecycle.nnd" -o "$t"
"$t/fashion_adamw-train" --out "$t/w.safetensors" --quiet | tee "$t/log.txt"
acc=$(sed -n 's/^epoch 2\/2 .*accuracy \([0-9.]*\).*/\1/p' "$t/log.txt")
[ -n "$acc" ] || { echo "FAIL: no accuracy after epoch 2"; exit 1; }
awk -v a="$acc" 'BEGIN { if (a + 0 < 0.85) { print "FAIL: accuracy " a " < 0.85"; exit 1 } print "ok: accuracy " a " after 2 epochs" }'
