#!/bin/sh
# tests/e2e/runtime_ckpt.sh: checkpoints. --steps 0 writes the initial weights (read back with
# json + struct by python: layout, metadata, initialiser ranges); the same seed gives the same
# bytes, another seed other ones; damaged checkpoints (truncated, bad JSON, wrong shape, dtype,
# missing tensor, offsets out of bounds, a lying header length, a missing or mismatched .opt)
# are refused with the file named.
. tests/e2e/rt/build.sh
need_py
tr=$T/fake-train
W=$T/w.safetensors
$tr --steps 0 --out "$W" >"$T/out" || fail "--steps 0 exited $?"
grep -q "wrote the initial weights to $W" "$T/out" || fail "--steps 0 message: $(cat "$T/out")"
$PY tests/e2e/rt/check_ckpt.py init "$W" || fail "initial weights"
$tr --steps 0 --out "$T/same.st" >/dev/null && cmp -s "$W" "$T/same.st" || fail "same seed, different weights"
$tr --steps 0 --seed 2 --out "$T/other.st" >/dev/null && ! cmp -s "$W" "$T/other.st" || fail "seed ignored"
(cd "$T" && ./fake-train --steps 0 >/dev/null && [ -s fake.safetensors ] && [ -s fake.safetensors.opt ]) ||
	fail "default --out is not NAME.safetensors"
ls "$T" | grep -q '\.tmp\.' && fail "temporary file left behind"

# a trained checkpoint loads; infer accepts the weights
$PY tests/e2e/rt/mkidx.py subset "$FM/train-images-idx3-ubyte.gz" "$FM/train-labels-idx1-ubyte.gz" 300 "$T/i.idx" "$T/l.idx" || fail mkidx
D="--data $T/i.idx,$T/l.idx --valid none"
$tr $D --steps 3 --out "$T/t.st" >/dev/null || fail "short run"
"$T/fake-infer" --weights "$T/t.st" --idx "$T/i.idx" >/dev/null || fail "infer cannot load a checkpoint"

bad() { # bad NAME PATTERN: infer and resume both refuse $T/NAME with PATTERN
	expect 1 "$T/$1: $2" "$T/fake-infer" --weights "$T/$1" --idx "$T/i.idx"
	expect 1 "$T/$1: $2" $tr $D --steps 5 --resume "$T/$1" --out "$T/x.st"
}
head -c 4 "$T/t.st" >"$T/short.st"
bad short.st "not a safetensors file: 4 bytes"
head -c 20000 "$T/t.st" >"$T/trunc.st"
bad trunc.st "tensor 'fc.weight': data_offsets [0, 31360] out of bounds (the data section has 19608 bytes; truncated file?)"
head -c 100 "$T/t.st" >"$T/trunc2.st"
bad trunc2.st "corrupt or truncated safetensors file: header length"
for mode in json shape missing dtype offsets hlen; do
	$PY tests/e2e/rt/check_ckpt.py corrupt $mode "$T/t.st" "$T/$mode.st" || fail "corrupt $mode"
done
bad json.st "corrupt safetensors header: invalid JSON"
bad shape.st "tensor 'fc.bias' has shape [5, 2], the model expects [10]"
bad missing.st "missing tensor 'count' (expected F32 [])"
bad dtype.st "tensor 'count' has dtype I32, expected F32"
bad offsets.st "tensor 'count': data_offsets"
bad hlen.st "corrupt or truncated safetensors file: header length"
: >"$T/empty.st"
bad empty.st "not a safetensors file: 0 bytes"

# the optimiser companion file
cp "$T/t.st" "$T/noopt.st"
expect 1 "$T/noopt.st.opt: cannot open" $tr $D --steps 5 --resume "$T/noopt.st" --out "$T/x.st"
$tr $D --steps 2 --out "$T/two.st" >/dev/null || fail "2-step run"
cp "$T/t.st" "$T/mix.st"; cp "$T/two.st.opt" "$T/mix.st.opt"
expect 1 "$T/mix.st.opt: optimiser state is from step 2 but $T/mix.st is from step 3" \
	$tr $D --steps 5 --resume "$T/mix.st" --out "$T/x.st"
# weights without training state cannot be resumed (but infer reads them)
$PY - "$T/t.st" "$T/plain.st" <<'PYEOF' || fail "strip metadata"
import json, struct, sys
b = open(sys.argv[1], "rb").read(); (n,) = struct.unpack("<Q", b[:8]); h = json.loads(b[8:8 + n])
del h["__metadata__"]; t = json.dumps(h).encode(); t += b" " * (-len(t) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PYEOF
cp "$T/t.st.opt" "$T/plain.st.opt"
"$T/fake-infer" --weights "$T/plain.st" --idx "$T/i.idx" >/dev/null || fail "infer refuses weights without metadata"
expect 1 "$T/plain.st: checkpoint of model '(none)', this is 'fake'" $tr $D --steps 5 --resume "$T/plain.st" --out "$T/x.st"
echo "PASS: runtime_ckpt"
