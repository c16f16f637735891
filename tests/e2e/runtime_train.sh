#!/bin/sh
# tests/e2e/runtime_train.sh: the runtime trains the fake softmax-regression model (tests/e2e/rt)
# on Fashion-MNIST for one epoch to >= 0.78 validation accuracy, writes the log, and the infer
# executable reproduces the accuracy (--eval), writes logits (--output y.npy, checked against
# numpy) and prints one argmax per example.
. tests/e2e/rt/build.sh
need_fm
"$T/fake-train" --epochs 1 --out "$T/w.safetensors" --log "$T/run.csv" >"$T/train.out" 2>"$T/train.err" ||
	{ cat "$T/train.out" "$T/train.err"; fail "training exited $?"; }
line=$(grep '^epoch 1/1  valid loss ' "$T/train.out") || { cat "$T/train.out"; fail "no validation line"; }
acc=$(echo "$line" | sed 's/.*accuracy //')
echo "$line"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.78) }' || fail "accuracy $acc < 0.78 after one epoch"
grep -q '^step 938/938  epoch 1/1  loss ' "$T/train.out" || fail "no final progress line"
[ -s "$T/w.safetensors" ] && [ -s "$T/w.safetensors.opt" ] || fail "checkpoint files missing"
[ "$(head -1 "$T/run.csv")" = "step,epoch,loss,accuracy,lr,examples_per_s" ] || fail "log header: $(head -1 "$T/run.csv")"
[ "$(wc -l <"$T/run.csv")" -eq 939 ] || fail "log has $(wc -l <"$T/run.csv") lines, expected 939"

# --quiet: only the validation line
"$T/fake-train" --steps 5 --quiet --out "$T/q.safetensors" >"$T/q.out" 2>&1 || fail "--quiet run failed"
[ "$(wc -l <"$T/q.out")" -eq 1 ] && grep -q '^epoch 1/1  valid loss' "$T/q.out" || { cat "$T/q.out"; fail "--quiet output"; }

# inference: --eval gives the same numbers as the training run's validation
"$T/fake-infer" --weights "$T/w.safetensors" --eval --batch 1000 --idx "$FM/t10k-images-idx3-ubyte.gz" \
	--labels "$FM/t10k-labels-idx1-ubyte.gz" >"$T/eval.out" || fail "infer --eval exited $?"
[ "$(cat "$T/eval.out")" = "$(echo "$line" | sed 's/^epoch 1\/1  valid //')" ] ||
	fail "infer --eval '$(cat "$T/eval.out")' differs from training's '$line'"

"$T/fake-infer" --weights "$T/w.safetensors" --idx "$FM/t10k-images-idx3-ubyte.gz" --output "$T/y.npy" ||
	fail "infer --output exited $?"
$PY tests/e2e/rt/check_ckpt.py logits "$T/w.safetensors" "$FM/t10k-images-idx3-ubyte.gz" "$T/y.npy"
rc=$?; [ $rc -eq 0 ] || [ $rc -eq 77 ] || fail "y.npy does not match the checkpoint's weights"

"$T/fake-infer" --weights "$T/w.safetensors" --idx "$FM/t10k-images-idx3-ubyte.gz" >"$T/pred.out" || fail "infer argmax"
[ "$(wc -l <"$T/pred.out")" -eq 10000 ] || fail "argmax printed $(wc -l <"$T/pred.out") lines"
[ "$(sort -u "$T/pred.out" | wc -l)" -eq 10 ] || fail "argmax does not use all 10 classes"

# --input x.npy: the same predictions as from IDX
if $PY -c 'import numpy' 2>/dev/null; then
	$PY -c "
import gzip, numpy as np
x = np.frombuffer(gzip.open('$FM/t10k-images-idx3-ubyte.gz').read()[16:], np.uint8).reshape(-1, 28, 28)
np.save('$T/x.npy', x[:500].astype(np.float64)) " || fail "numpy"
	expect 1 "floating-point data cannot feed an integer input" "$T/fake-infer" --weights "$T/w.safetensors" --input "$T/x.npy"
	$PY -c "
import gzip, numpy as np
x = np.frombuffer(gzip.open('$FM/t10k-images-idx3-ubyte.gz').read()[16:], np.uint8).reshape(-1, 28, 28)
np.save('$T/x.npy', x[:500].astype(np.int32)) " || fail "numpy"
	"$T/fake-infer" --weights "$T/w.safetensors" --input "$T/x.npy" >"$T/pred2.out" || fail "infer --input"
	head -500 "$T/pred.out" | cmp -s - "$T/pred2.out" || fail "--input x.npy predictions differ from --idx"
fi
echo "PASS: runtime_train"
