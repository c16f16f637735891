#!/bin/sh
# Bad input to the compiled example's executables: a clear message naming what is wrong and a
# non-zero exit, never a crash.
. tests/e2e/lib.sh
# expect STATUS PATTERN CMD...: CMD exits with STATUS and its stderr holds PATTERN
expect() {
	want=$1 pat=$2; shift 2
	"$@" > "$t/out" 2> "$t/err"; got=$?
	[ "$got" -eq "$want" ] || { cat "$t/err"; fail "'$*' exited $got, expected $want"; }
	grep -qF -- "$pat" "$t/err" || { cat "$t/err"; fail "'$*': stderr lacks '$pat'"; }
	echo "ok: $(head -n 1 "$t/err")"
}
"$root/nndc" build "$root/examples/mlp_fashion.nnd" -o "$t" || fail "nndc build"
expect 2 "unknown flag '--epoch'" "$t/fashion-train" --epoch 3
expect 2 "invalid value 'five' for --epochs" "$t/fashion-train" --epochs five
expect 2 "--lr" "$t/fashion-train" --lr 0.1x
expect 1 "$t/missing.gz" "$t/fashion-train" --data "$t/missing.gz,$fm/train-labels-idx1-ubyte.gz"
/usr/bin/python3 "$root/tests/e2e/rt/mkidx.py" shape "$t/wide.gz" u8 100,28,27
/usr/bin/python3 "$root/tests/e2e/rt/mkidx.py" shape "$t/labels.gz" u8 100
expect 1 "wide.gz" "$t/fashion-train" --data "$t/wide.gz,$t/labels.gz" --valid none
grep -q "28, 28" "$t/err" && grep -q "28, 27" "$t/err" || fail "the shape error does not show both shapes"
expect 1 "missing.safetensors" "$t/fashion-infer" --weights "$t/missing.safetensors" --idx "$fm/t10k-images-idx3-ubyte.gz"
expect 2 "unknown flag" "$t/fashion-infer" --weigths x
