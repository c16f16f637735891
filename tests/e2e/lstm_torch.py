"""Checks loops compiled as loops against PyTorch: the LSTM and reverse RNN of
tests/e2e/lstm_torch.nnd (T = 20, so not unrolled) trained by nnd for STEPS SGD steps on one
batch, from the initial weights nnd wrote; PyTorch repeats the steps from the same weights.
Compares every weight, then the outputs of nnd's inference executable.

  lstm_torch.py mkdata DIR          write DIR/data.npz and DIR/x.npy
  lstm_torch.py check DIR STEPS     compare DIR/init.safetensors, after.safetensors, y.npy
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "num"))  # nndio
from nndio import load_safetensors
import torch

N, T = 16, 20


def mkdata(d):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, T, 3)).astype(np.float32)
    y = rng.integers(0, 3, N).astype(np.int64)
    np.savez(f"{d}/data.npz", x=x, y=y)
    np.save(f"{d}/x.npy", x)


def forward(p, x):
    xw = x @ p["w_ih"] + p["b"]
    h = torch.zeros(x.shape[0], 4)
    c = torch.zeros(x.shape[0], 4)
    hs = []
    for t in range(T):
        i, f, g, o = (xw[:, t] + h @ p["w_hh"]).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs.append(h)
    r, rs = h, []
    for t in reversed(range(T)):
        r = torch.tanh(hs[t] @ p["w_r"] + 0.5 * r)
        rs.append(r)
    z = h + 0.1 * torch.cumsum(torch.stack(rs), 0).mean(0)
    return z @ p["fc.weight"].T + p["fc.bias"]


def check(d, steps):
    w0, w1 = load_safetensors(f"{d}/init.safetensors"), load_safetensors(f"{d}/after.safetensors")
    data = np.load(f"{d}/data.npz")
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    p = {k: torch.tensor(v, requires_grad=True) for k, v in w0.items()}
    opt = torch.optim.SGD(p.values(), lr=0.5, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(forward(p, x), y).backward()
        opt.step()
    worst = 0.0
    for k, v in sorted(w1.items()):
        ref = p[k].detach().numpy()
        diff = float(np.abs(v - ref).max())
        worst = max(worst, diff / max(1.0, float(np.abs(ref).max())))
        print(f"{k:12s} max |nnd - torch| = {diff:.3g}, moved {float(np.abs(v - w0[k]).max()):.3g}")
    with torch.no_grad():
        out = forward(p, x).numpy()
    ediff = float(np.abs(np.load(f"{d}/y.npy") - out).max())
    print(f"outputs      max |nnd - torch| = {ediff:.3g}")
    print(f"worst relative {worst:.3g} after {steps} steps")
    if not (worst <= 1e-5 and ediff <= 1e-4):
        print("FAIL: nnd's loops differ from PyTorch")
        sys.exit(1)


if sys.argv[1] == "mkdata":
    mkdata(sys.argv[2])
else:
    check(sys.argv[2], int(sys.argv[3]))
