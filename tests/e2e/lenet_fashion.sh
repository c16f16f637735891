#!/bin/sh
# LeNet-5 (examples/lenet_fashion.nnd: conv2d, max_pool2d, Linear) trained for one epoch on
# Fashion-MNIST: ~10 s on 2 cores, validation accuracy 0.80 (measured); the bound is 0.75.
. tests/e2e/lib.sh
need_fm
"$root/nndc" build "$root/examples/lenet_fashion.nnd" -o "$t" || fail "nndc build"
(cd "$t" && ./lenet-train --epochs 1 --quiet --out "$t/w.safetensors") > "$t/log" 2>&1 || { cat "$t/log"; fail "lenet-train"; }
cat "$t/log"
acc=$(sed -n 's/.*valid loss [0-9.]*  accuracy \([0-9.]*\).*/\1/p' "$t/log" | tail -n 1)
[ -n "$acc" ] || fail "no validation accuracy in the log"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.75) }' || fail "validation accuracy $acc < 0.75"
echo "ok: LeNet-5, one epoch, validation accuracy $acc"
