#!/bin/sh
# Data sources of a recipe: npy (by loss-input name), npz (stored and deflated), csv (header and
# label column), text (byte windows, y shifted by one), from the recipe and through --data; and
# malformed or mismatched files, each refused before training with a message naming the file.
. tests/e2e/lib.sh
PY=/usr/bin/python3
$PY -c "import numpy" 2>/dev/null || { echo "skipped: no numpy in $PY"; exit 77; }
cd "$t"
$PY - <<'PY' || fail "generating the data"
import numpy as np
r = np.random.default_rng(1)
x = r.normal(size=(200, 4)).astype(np.float32)
y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
np.save("x.npy", x); np.save("y.npy", y)
np.save("x5.npy", r.normal(size=(200, 5)).astype(np.float32))
np.save("yf.npy", y.astype(np.float32) + 0.5)
np.savez("stored.npz", x=x, y=y)
np.savez_compressed("deflated.npz", x=x, y=y)
np.savez("other.npz", x=x, labels=y)
b = open("deflated.npz", "rb").read()
i = len(b) // 3
open("corrupt.npz", "wb").write(b[:i] + bytes([b[i] ^ 0xff]) + b[i + 1:])
open("truncated.npz", "wb").write(b[:len(b) - 30])
with open("d.csv", "w") as f:
    f.write("a, b, c, d, label\n")
    for xi, yi in zip(x, y):
        f.write(",".join("%.9g" % v for v in xi) + ",%d\n" % yi)
    f.write("\n")
lines = open("d.csv").read().split("\n")
open("ragged.csv", "w").write("\n".join(lines[:5] + ["1,2,3,0"] + lines[5:]))
open("badnum.csv", "w").write("\n".join(lines[:7] + ["1,2,x3,4,0"] + lines[7:]))
open("nolabel.csv", "w").write("\n".join(["a,b,c,d,klass"] + lines[1:]))
open("t.txt", "wb").write(bytes((i * 7) % 251 for i in range(4000)))
open("short.txt", "w").write("tiny")
PY
model() { # model NAME 'data = ...' 'loss signature' 'loss body'
	cat >"$1.nnd" <<NND
import std.nn
train $1 {
  model     = Linear(${5:-4}, ${6:-2})
  data      = $2
  batch     = 16
  epochs    = 3
  optimizer = adam(lr: 0.05)
  loss($3) -> f32 {
    $4
  }
}
NND
	"$root/nndc" build "$1.nnd" -o . || fail "nndc build $1.nnd"
}
xy='x: f32[B, 4], y: i32[B]'
ce='let logits = model(x)
    metric accuracy = mean(f32(argmax(logits, axis: 1) == y))
    return cross_entropy(logits, y)'
model np 'npy(y: "y.npy", x: "x.npy")' "$xy" "$ce"
model nz 'npz("deflated.npz")' "$xy" "$ce"
model cv 'csv("d.csv", label: "label")' "$xy" "$ce"
model tx 'text("t.txt", seq: 16)' 'x: i32[B, 16], y: i32[B, 16]' \
	'let d = model(f32(x) / 255.0) - f32(y) / 255.0
    return mean(d * d)' 16 16
# train ... and check that the loss went down
train() { # train EXE [FLAGS]
	exe=$1; shift
	./$exe-train --valid none --log run.csv --quiet "$@" >out 2>&1 || { cat out; fail "$exe-train $*"; }
	$PY -c "
import csv, sys
rows = list(csv.DictReader(open('run.csv')))
a, b = float(rows[0]['loss']), float(rows[-1]['loss'])
print('$exe $*: %d steps, loss %.4f -> %.4f' % (len(rows), a, b))
sys.exit(0 if b < 0.8 * a else 1)" || fail "$exe-train $*: the loss did not go down"
}
train np
train nz
train nz --data stored.npz
train cv
train tx
grep -q "^48," run.csv && ! grep -q "^49," run.csv || fail "text: 249 windows of 16 in 3 epochs of 16 should be 48 steps"
# same seed, same data: the same run (deterministic shuffling)
./np-train --valid none --quiet --out a.safetensors --epochs 2 >/dev/null 2>&1 &&
	./np-train --valid none --quiet --out b.safetensors --epochs 2 >/dev/null 2>&1 &&
	cmp -s a.safetensors b.safetensors || fail "two runs with one seed differ"
./np-train --valid none --quiet --out c.safetensors --epochs 2 --seed 7 >/dev/null 2>&1
cmp -s a.safetensors c.safetensors && fail "another seed gave the same weights"
# refused before training, naming the file
expect() { # expect 'PATTERN' EXE FLAGS...
	pat=$1; shift
	"./$@" --valid none >out 2>&1; rc=$?
	[ $rc -eq 1 ] || { cat out; fail "'$*' exited $rc, expected 1"; }
	grep -qF -- "$pat" out || { cat out; fail "'$*': no '$pat' in the message"; }
	grep -q "^1," run.csv 2>/dev/null && [ out -ot run.csv ] && fail "'$*' trained"
	:
}
rm -f run.csv
expect "ragged.csv:6: 4 fields, the header has 5" cv-train --data ragged.csv
expect "badnum.csv:8: column 3: 'x3' is not a number" cv-train --data badnum.csv
expect "nolabel.csv:1: no column 'label' in the header (columns: a, b, c, d, klass)" cv-train --data nolabel.csv
expect "x5.npy: x have the wrong shape: input 'x' expects examples of f32[4], the file holds 200 examples of f32[5]" \
	np-train --data y.npy,x5.npy
expect "yf.npy: y holds f32 values but input 'y' is i32" np-train --data yf.npy,x.npy
expect "other.npz: no member y.npy for input 'y' (members: x.npy, labels.npy)" nz-train --data other.npz
expect "corrupt.npz: member" nz-train --data corrupt.npz
expect "truncated.npz: not an npz (zip) file" nz-train --data truncated.npz
expect "short.txt: 4 bytes hold no sequence of 16 bytes" tx-train --data short.txt
expect "missing.csv: cannot open" cv-train --data missing.csv
# an npy recipe naming an input the loss does not have
cat >bad.nnd <<'NND'
import std.nn
train bad {
  model = Linear(4, 2)
  data  = npy(x: "x.npy", z: "y.npy")
  loss(x: f32[B, 4], y: i32[B]) -> f32 { return cross_entropy(model(x), y) }
}
NND
"$root/nndc" build bad.nnd -o . >out 2>&1 || { cat out; fail "nndc build bad.nnd"; }
expect "no file for input 'y' (npy(...) names x, z)" bad-train
echo "ok: npy, npz, csv and text sources train; malformed files are refused"
