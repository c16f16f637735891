#!/bin/sh
# The example end to end: nndc builds examples/mlp_fashion.nnd, one epoch of training, then the
# inference executable evaluates the checkpoint on the test set: accuracy must be at least 0.80.
set -e
. tests/e2e/lib.sh
"$root/nndc" build "$root/examples/mlp_fashion.nnd" -o "$t"
"$t/fashion-train" --epochs 1 --out "$t/mlp.safetensors" --quiet
"$t/fashion-infer" --weights "$t/mlp.safetensors" --eval \
	--idx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
	--labels /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz > "$t/eval.txt"
cat "$t/eval.txt"
acc=$(sed -n 's/.*accuracy[ =:]*\([0-9.]*\).*/\1/p' "$t/eval.txt" | tail -n 1)
[ -n "$acc" ] || { echo "FAIL: no accuracy in the output of fashion-infer --eval"; exit 1; }
awk -v a="$acc" 'BEGIN { if (a + 0 < 0.80) { print "FAIL: test accuracy " a " < 0.80 after 1 epoch"; exit 1 } print "ok: test accuracy " a " after 1 epoch" }'
