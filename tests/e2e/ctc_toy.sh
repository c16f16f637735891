#!/bin/sh
# A tiny CTC model trained end to end: 14 frames of 6 noisy features, each label (1..4) held for
# 2 or 3 frames, blank frames between and around, 1 to 3 labels per sequence (repeats included).
# A per-frame linear layer with ctc_loss learns it; the loss must fall below a tenth of its first
# value, and ctc_greedy_decode must read back the exact label sequence of >= 95% of the training
# sequences in the last steps (metric `exact`, from the labels padded with -1).
. tests/e2e/lib.sh
PY=/usr/bin/python3
$PY -c "import numpy" 2>/dev/null || { echo "skipped: no numpy in $PY"; exit 77; }
cd "$t"
$PY - <<'PY' || fail "generating the data"
import numpy as np
r = np.random.default_rng(3)
n, T, S = 512, 14, 3
x = r.normal(scale=0.15, size=(n, T, 6)).astype(np.float32)
y = np.full((n, S), -1, np.int32)
frames = np.zeros(n, np.int32)
lengths = r.integers(1, S + 1, size=n).astype(np.int32)
for i in range(n):
    t = int(r.integers(0, 2))
    x[i, :t, 0] += 1  # a blank frame first, or not
    for k in range(lengths[i]):
        y[i, k] = r.integers(1, 5)
        for _ in range(int(r.integers(2, 4))):
            x[i, t, y[i, k]] += 1
            t += 1
        x[i, t, 0] += 1  # a blank frame after each label
        t += 1
    frames[i] = t
    x[i, t:, 0] += 1
np.save("x.npy", x); np.save("y.npy", y); np.save("frames.npy", frames); np.save("lengths.npy", lengths)
PY
cat >ctc.nnd <<'NND'
module Frames() {
  param w: f32[5, 6] = normal(std: 0.1)
  param b: f32[5] = zeros()
  forward(x: f32[B, 14, 6]) -> f32[14, B, 5] {
    return log_softmax(linear(transpose(x, [1, 0, 2]), w, b), axis: 2)
  }
}
train ctc {
  model     = Frames()
  data      = npy(x: "x.npy", y: "y.npy", frames: "frames.npy", lengths: "lengths.npy")
  batch     = 32
  epochs    = 8
  optimizer = adam(lr: 0.05)
  loss(x: f32[B, 14, 6], y: i32[B, 3], frames: i32[B], lengths: i32[B]) -> f32 {
    let lp = model(x)
    let best = ctc_greedy_decode(lp, frames)
    let wrong = sum(i32(best[:, 0:3] != y), axis: 1) + sum(i32(best[:, 3:] != -1), axis: 1)
    metric exact = mean(f32(wrong == 0))
    return ctc_loss(lp, y, frames, lengths)
  }
}
NND
"$root/nndc" build ctc.nnd -o . || fail "nndc build ctc.nnd"
./ctc-train --valid none --log run.csv --quiet >out 2>&1 || { cat out; fail "ctc-train"; }
$PY -c "
import csv, sys
rows = list(csv.DictReader(open('run.csv')))
a, b = float(rows[0]['loss']), float(rows[-1]['loss'])
exact = sum(float(r['exact']) for r in rows[-8:]) / 8
print('ctc_toy: %d steps, loss %.4f -> %.4f, exact decodes in the last 8 steps %.3f' % (len(rows), a, b, exact))
sys.exit(0 if b < 0.1 * a and exact >= 0.95 else 1)" || fail "the CTC model did not learn"
