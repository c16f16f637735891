"""tests/e2e/loop_runtime_T.sh's data and reference.
  gen T N X Y SEED   N sequences of T steps: X f32[N, T, 4] (npy), Y i32[N, T]: 0, 1 or 2 as the
                     running sum of x[..., 0] up to t is below -1, in [-1, 1], or above 1
  check CKPT X OUT   the tagger's forward (loop_runtime_T.nnd) in float64 with the checkpoint's
                     weights on X against NAME-infer's OUT; prints the worst difference, fails
                     above 1e-5
"""
import sys
import numpy as np

sys.path.insert(0, sys.path[0] + "/../num")
import nndio

def gen(T, n, xpath, ypath, seed):
    x = np.random.default_rng(seed).standard_normal((n, T, 4)).astype(np.float32)
    s = np.cumsum(x[..., 0].astype(np.float64), axis=1)
    np.save(xpath, x)
    np.save(ypath, ((s >= -1).astype(np.int32) + (s > 1)).astype(np.int32))

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def forward(w, x):
    B, T, _ = x.shape
    hd = w["w_hh"].shape[0]
    xw = x @ w["w_ih"] + w["b"]
    h, c, hs = np.zeros((B, hd)), np.zeros((B, hd)), []
    for t in range(T):
        i, f, g, o = np.split(xw[:, t] + h @ w["w_hh"], 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1) @ w["head.weight"].T + w["head.bias"]

def check(ckpt, xpath, outpath):
    w = {k: v.astype(np.float64) for k, v in nndio.load_safetensors(ckpt).items()}
    x = np.load(xpath).astype(np.float64)
    ref, got = forward(w, x), np.load(outpath)
    assert got.shape == ref.shape and got.dtype == np.float32, (got.shape, got.dtype, ref.shape)
    err = np.abs(got - ref).max()
    print(f"T = {x.shape[1]}: {got.shape} outputs, worst difference from numpy {err:.2e}")
    assert err < 1e-5, err

if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        check(*sys.argv[2:5])
