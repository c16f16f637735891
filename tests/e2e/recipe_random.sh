#!/bin/sh
# Random numbers driven by the recipe's seed (lang/builtins.c, runtime/sched.c):
# - dropout's mask: one step on w = ones with dropout(x, p: 0.5) * w leaves exactly the masked
#   weights at 1; the same seed gives the same mask, another seed another one (about half the
#   weights differ), and each mask keeps about half;
# - rand at inference: step 0 and the recipe's seed, or --seed N: the same seed the same output,
#   another seed another.
set -e
root=$(pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$t"
cat > drop.nnd <<'NND'
module Masked() {
  param w: f32[256] = ones()
  forward(x: f32[B, 256]) -> f32[B, 256] { return dropout(x, p: 0.5) * w + rand([256]) }
}

train masked {
  model     = Masked()
  data      = npy(x: "x.npy", y: "y.npy")
  batch     = 1
  seed      = 7
  optimizer = sgd(lr: 0.1)
  loss(x: f32[B, 256], y: f32[B, 256]) -> f32 { return mse(model(x), y) }
}
NND
/usr/bin/python3 -c "
import numpy as np
np.save('x.npy', np.ones((1, 256), np.float32)); np.save('y.npy', np.zeros((1, 256), np.float32))"
"$root/nndc" build drop.nnd -o .
for s in 1 1b 2; do ./masked-train --steps 1 --seed ${s%b} --out s$s.st --quiet; done
/usr/bin/python3 - "$root" <<'PY' || fail "dropout masks"
import sys; sys.path.insert(0, sys.argv[1] + "/tests/num"); import nndio
m = {s: nndio.load_safetensors("s%s.st" % s)["w"] == 1 for s in ("1", "1b", "2")}
kept = [int((~m[s]).sum()) for s in ("1", "2")]
differ = int((m["1"] != m["2"]).sum())
print("ok: dropout masks: seed 1 keeps %d of 256, seed 2 keeps %d; the seeds differ in %d, seed 1 twice in %d"
      % (kept[0], kept[1], differ, int((m["1"] != m["1b"]).sum())))
assert (m["1"] == m["1b"]).all() and all(90 < k < 166 for k in kept) and differ > 90
PY
./masked-train --steps 0 --out w.st --quiet
./masked-infer --weights w.st --input x.npy --output a.npy
./masked-infer --weights w.st --input x.npy --output b.npy --seed 7
./masked-infer --weights w.st --input x.npy --output c.npy --seed 8
/usr/bin/python3 - <<'PY' || fail "rand at inference"
import numpy as np
a, b, c = (np.load(f) for f in ("a.npy", "b.npy", "c.npy"))
print("ok: rand at inference: the recipe's seed 7 and --seed 7 agree; --seed 8 differs in %d of 256" % (a != c).sum())
assert (a == b).all() and (a != c).sum() > 250 and (a >= 1).all() and (a < 2).all()
PY
