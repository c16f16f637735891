#!/bin/sh
# A run-time size other than the batch: tests/e2e/loop_runtime_T.nnd (an LSTM tagger, loss(x:
# f32[B, T, 4], y: i32[B, T])) compiled once; its executables take T from the data. Training
# on T = 7 (validation at T = 9), then resuming on T = 13, lowers the loss; NAME-infer's outputs
# at T = 5 and T = 11 equal a numpy forward with the trained weights (1e-5). Refused: x and y
# with different T (naming both files and values), T = 0, the batch variable on another axis.
. tests/e2e/lib.sh
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "skipped: no numpy in /usr/bin/python3"; exit 77; }
py="/usr/bin/python3 $root/tests/e2e/loop_runtime_T.py"
"$root/nndc" build tests/e2e/loop_runtime_T.nnd -o "$t" || fail "nndc build"
cd "$t"
for s in 7:256:1 9:64:2 13:256:3 5:40:4 11:40:5 0:16:6; do
	T=${s%%:*} rest=${s#*:}
	$py gen "$T" "${rest%:*}" "x$T.npy" "y$T.npy" "${rest#*:}" || fail "gen T = $T"
done

# loss: the mean of the first and of the last 8 steps of a --log file
window() { awk -F, -v w="$2" 'NR > 1 { l[n++] = $3 } END { s = 0; for (i = 0; i < 8; i++) s += w == "first" ? l[i] : l[n - 1 - i]; printf "%.4f", s / 8 }' "$1"; }
./looptag-train --data x7.npy,y7.npy --valid x9.npy,y9.npy --epochs 8 --out a.safetensors --log a.csv \
	--quiet >outa 2>&1 || { cat outa; fail "training at T = 7"; }
grep -q "epoch 8/8  valid loss" outa || { cat outa; fail "no validation at T = 9"; }
./looptag-train --data x13.npy,y13.npy --valid none --resume a.safetensors --epochs 16 --out b.safetensors \
	--log b.csv --quiet >out 2>&1 || { cat out; fail "training at T = 13"; }
a0=$(window a.csv first) a1=$(window a.csv last) b0=$(window b.csv first) b1=$(window b.csv last)
echo "loss at T = 7: $a0 -> $a1 (valid at T = 9: $(sed -n 's/.*valid loss \([0-9.]*\).*/\1/p' outa | tail -1))"
echo "loss at T = 13 (resumed, same binary): $b0 -> $b1"
awk -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" 'BEGIN { exit !(a1 < 0.7 * a0 && b1 < b0 && b1 < 0.7 * a0) }' ||
	fail "the loss did not go down"

for T in 5 11; do
	./looptag-infer --weights b.safetensors --input "x$T.npy" --output "o$T.npy" || fail "infer at T = $T"
	$py check b.safetensors "x$T.npy" "o$T.npy" || fail "outputs at T = $T differ from numpy"
done
./looptag-infer --weights b.safetensors --input x5.npy --eval --labels y5.npy >out 2>&1 &&
	grep -q "^loss [0-9]" out || { cat out; fail "infer --eval at T = 5"; }
./looptag-infer --weights b.safetensors --input x11.npy --bench >out 2>&1 &&
	grep -q "examples of x11.npy, T = 11" out || { cat out; fail "infer --bench at T = 11"; }

# refusals: exit 1 and the message
refused() { # refused WHAT TEXT... ; the command's output is in out
	what=$1
	shift
	for s in "$@"; do
		grep -qF -- "$s" out || { cat out; fail "$what: no '$s' in the message"; }
	done
	echo "refused ($what): $(cat out)"
}
./looptag-train --data x7.npy,y13.npy --valid none --steps 1 >out 2>&1
[ $? -eq 1 ] || { cat out; fail "x with T = 7 and y with T = 13: not exit 1"; }
refused "T of x and y differ" y13.npy x7.npy "T = 13" "T = 7"
./looptag-infer --weights b.safetensors --input x5.npy --eval --labels y11.npy >out 2>&1
[ $? -eq 1 ] || { cat out; fail "infer: input T = 5, labels T = 11: not exit 1"; }
refused "infer: T of input and labels differ" y11.npy x5.npy "T = 11" "T = 5"
./looptag-train --data x0.npy,y0.npy --valid none --steps 1 >out 2>&1
[ $? -eq 1 ] || { cat out; fail "T = 0: not exit 1"; }
refused "T = 0" x0.npy "T = 0" "at least 1"
sed 's/x: f32\[B, T, 4\], y: i32\[B, T\]/x: f32[B, B, 4], y: i32[B, B]/; s/model(x), \[B \* T/model(x), [B * B/; s/\[B \* T\]/[B * B]/' \
	"$root/tests/e2e/loop_runtime_T.nnd" >bb.nnd
grep -q 'x: f32\[B, B, 4\]' bb.nnd || fail "the B-on-axis-1 variant was not made"
"$root/nndc" build bb.nnd -o bb || fail "nndc build (B on axis 1)"
bb/looptag-train --data x7.npy,y7.npy --valid none --steps 1 >out 2>&1
[ $? -eq 1 ] || { cat out; fail "the batch variable on axis 1: not exit 1"; }
refused "the batch on axis 1" "input 'x' f32[B, B, 4]" "can only be the first dimension"
