#!/bin/sh
# Random numbers driven by the recipe's seed (lang/builtins.c, runtime/sched.c):
# - dropout's mask: one step on w = ones with dropout(x, p: 0.5) * w leaves exactly the masked
#   weights at 1; the same seed gives the same mask, another seed another one (about half the
#   weights differ), and each mask keeps about half; a resumed run (the checkpoint's seed)
#   draws the masks of the whole run;
# - dropout in a loop of 20 iterations (compiled as a loop): row t of w = ones scales iteration
#   t's dropout of ones, so one step leaves exactly row t's masked weights at 1: consecutive rows
#   agree at about half the positions (independent masks), and a resumed run equals the whole run;
# - rand at inference: step 0 and the recipe's seed, or --seed N: the same seed the same output,
#   another seed another;
# - grad_noise = gaussian(eta: 0.3, gamma: 0.55) on w: f32[65536] whose gradient is 0, SGD lr 1:
#   the weight change of step t (t = 0..3) has mean 0 and variance eta / (1 + t)^gamma, within
#   4 standard errors (0.55% relative); after 20 steps the variance is the sum over the steps
#   (independent noise); another seed draws uncorrelated noise; a run stopped at step 7 and
#   resumed ends with the bytes of the whole run; --grad-noise-eta needs a recipe with noise.
set -e
. tests/e2e/lib.sh
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
./masked-train --steps 4 --seed 3 --out whole.st --quiet
./masked-train --steps 2 --seed 3 --out part.st --quiet
./masked-train --steps 4 --resume part.st --out part.st --quiet
cmp whole.st part.st || fail "dropout after --resume differs from the whole run"
echo "ok: dropout: a run stopped at step 2 and resumed (the checkpoint's seed 3) equals the whole run"
cat > loopdrop.nnd <<'NND'
module Steps() {
  param w: f32[20, 256] = ones()
  forward(x: f32[B, 256]) -> f32[B, 256] {
    let s = zeros([B, 256])
    for t in 0..20 { s = s + dropout(x, p: 0.5) * w[t] }
    return s
  }
}

train steps {
  model     = Steps()
  data      = npy(x: "x.npy", y: "y.npy")
  batch     = 1
  seed      = 7
  optimizer = sgd(lr: 0.01)
  loss(x: f32[B, 256], y: f32[B, 256]) -> f32 { return mse(model(x), y) }
}
NND
"$root/nndc" build loopdrop.nnd -o .
./steps-train --steps 1 --out l1.st --quiet
/usr/bin/python3 - "$root" <<'PY' || fail "dropout masks in a loop"
import sys; sys.path.insert(0, sys.argv[1] + "/tests/num"); import nndio
m = nndio.load_safetensors("l1.st")["w"] == 1
kept = (~m).sum(axis=1)
agree = [(m[t] == m[t + 1]).mean() for t in range(19)]
print("ok: dropout in a loop of 20: rows keep %d..%d of 256; consecutive rows' masks agree at %.3f..%.3f (0.5)"
      % (kept.min(), kept.max(), min(agree), max(agree)))
assert all(90 < k < 166 for k in kept) and all(0.35 < a < 0.65 for a in agree)
PY
./steps-train --steps 4 --seed 3 --out lwhole.st --quiet
./steps-train --steps 2 --seed 3 --out lpart.st --quiet
./steps-train --steps 4 --resume lpart.st --out lpart.st --quiet
cmp lwhole.st lpart.st || fail "dropout in a loop after --resume differs from the whole run"
echo "ok: dropout in a loop: a run stopped at step 2 and resumed equals the whole run"
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

cat > noise.nnd <<'NND'
module Still() {
  param w: f32[65536] = zeros()
  forward(x: f32[B, 1]) -> f32[B, 1] { return x }
}

train still {
  model      = Still()
  data       = npy(x: "one.npy")
  batch      = 1
  optimizer  = sgd(lr: 1.0)
  grad_noise = gaussian(eta: 0.3, gamma: 0.55)
  loss(x: f32[B, 1]) -> f32 { return mean(model(x)) + 0.0 * sum(model.w) }
}
NND
/usr/bin/python3 -c "import numpy as np; np.save('one.npy', np.ones((1, 1), np.float32))"
"$root/nndc" build noise.nnd -o .
for k in 1 2 3 4 20; do ./still-train --steps $k --out n$k.st --quiet; done
./still-train --steps 20 --seed 2 --out s2.st --quiet
/usr/bin/python3 - "$root" <<'PY' || fail "gradient noise statistics"
import sys; sys.path.insert(0, sys.argv[1] + "/tests/num"); import nndio
import numpy as np
w = {k: nndio.load_safetensors("n%d.st" % k)["w"].astype(np.float64) for k in (1, 2, 3, 4, 20)}
w[0] = np.zeros_like(w[1])
n, eta, gamma = w[1].size, 0.3, 0.55
se = np.sqrt(2.0 / n)  # relative standard error of a variance estimate
worst = 0.0
for t in range(4):
    d = w[t + 1] - w[t]
    want = eta / (1 + t) ** gamma
    assert abs(d.mean()) < 4 * np.sqrt(want / n), (t, d.mean())
    worst = max(worst, abs(d.var() / want - 1) / se)
want20 = sum(eta / (1 + t) ** gamma for t in range(20))
r20 = w[20].var() / want20
s2 = nndio.load_safetensors("s2.st")["w"].astype(np.float64)
c = np.corrcoef(w[20], s2)[0, 1]
print("ok: grad_noise: per-step variance within %.2f standard errors of eta/(1+t)^gamma (t = 0..3); "
      "after 20 steps %.4f of the sum; seeds 1 and 2 correlate %.4f" % (worst, r20, c))
assert worst < 4 and abs(r20 - 1) < 4 * se and abs(c) < 4 / np.sqrt(n)
PY
./still-train --steps 7 --out r.st --quiet
./still-train --steps 20 --resume r.st --out r.st --quiet
cmp n20.st r.st || fail "gradient noise after --resume differs from the whole run"
echo "ok: grad_noise: a run stopped at step 7 and resumed equals the whole run"
rc=0; ./masked-train --steps 1 --grad-noise-eta 0.1 > out.txt 2> err.txt || rc=$?
[ $rc -eq 2 ] && grep -q "the recipe adds no gradient noise" err.txt || { cat err.txt; fail "--grad-noise-eta without noise: exit $rc"; }
echo "ok: $(head -n 1 err.txt)"
