"""tests/e2e/infer_layouts.sh's data and reference (the models of infer_layouts.nnd).
  gen N T SEED                 xs.npy f32[N, T, 4], ys.npy i32[N, T] (running sum of x[..., 0]
                               below -1, in [-1, 1], above 1), xf.npy f32[N, 4], yf.npy i32[N]
  check MODEL CKPT X OUT       the model's forward in float64 with the checkpoint's weights on X
                               against NAME-infer's OUT (same shape, f32); fails above 1e-5
  text FILE N T X              N windows of T bytes of FILE as X (u8[N, T])
MODEL: seqmajor [T, N, 3], flat [N, 3], pooled [3], gram [N, N], lstm_text [T, N, 256]
(examples/lstm_text.nnd: an embedding, then seqmajor's LSTM).
"""
import sys
import numpy as np

sys.path.insert(0, sys.path[0] + "/../num")
import nndio

def gen(n, T, seed):
    r = np.random.default_rng(seed)
    xs = r.standard_normal((n, T, 4)).astype(np.float32)
    s = np.cumsum(xs[..., 0].astype(np.float64), axis=1)
    np.save("xs.npy", xs)
    np.save("ys.npy", ((s >= -1).astype(np.int32) + (s > 1)).astype(np.int32))
    xf = r.standard_normal((n, 4)).astype(np.float32)
    np.save("xf.npy", xf)
    np.save("yf.npy", np.argmax(xf[:, :3], axis=1).astype(np.int32))

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def linear(w, name, x):
    return x @ w[name + ".weight"].T + w[name + ".bias"]

def lstm(w, xw):
    """[B, T, 4 hd] input parts -> head of the stacked hidden states, [T, B, k]"""
    B, T, _ = xw.shape
    hd = w["w_hh"].shape[0]
    h, c, hs = np.zeros((B, hd)), np.zeros((B, hd)), []
    for t in range(T):
        i, f, g, o = np.split(xw[:, t] + h @ w["w_hh"], 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        hs.append(h)
    return linear(w, "head", np.stack(hs))

def forward(model, w, x):
    if model == "seqmajor":
        return lstm(w, x @ w["w_ih"] + w["b"])
    if model == "lstm_text":
        return lstm(w, w["embed"][x.astype(np.int64)] @ w["w_ih"] + w["b"])
    if model == "flat":
        return linear(w, "fc2", np.tanh(linear(w, "fc1", x)))
    h = np.tanh(linear(w, "fc", x))
    return h.mean(axis=0) if model == "pooled" else h @ h.T

def check(model, ckpt, xpath, outpath):
    w = {k: v.astype(np.float64) for k, v in nndio.load_safetensors(ckpt).items()}
    x = np.load(xpath)
    ref, got = forward(model, w, x.astype(np.float64) if x.dtype.kind == "f" else x), np.load(outpath)
    assert got.shape == ref.shape and got.dtype == np.float32, (got.shape, got.dtype, ref.shape)
    err = np.abs(got - ref).max()
    print(f"{model}: {outpath} {got.shape}, worst difference from numpy {err:.2e}")
    assert err < 1e-5, err

def text(path, n, T, xpath):
    b = np.frombuffer(open(path, "rb").read(), dtype=np.uint8)
    assert b.size >= n * T, (path, b.size)
    np.save(xpath, b[:n * T].reshape(n, T))

if __name__ == "__main__":
    a = sys.argv
    if a[1] == "gen":
        gen(int(a[2]), int(a[3]), int(a[4]))
    elif a[1] == "check":
        check(*a[2:6])
    else:
        text(a[2], int(a[3]), int(a[4]), a[5])
