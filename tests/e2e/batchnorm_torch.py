"""Checks std.nn's BatchNorm2d in training against PyTorch: a conv + BatchNorm2d + Linear model
(tests/e2e/batchnorm_torch.sh) trained by nnd for STEPS SGD steps on one batch, from the initial
weights nnd wrote; PyTorch repeats the steps from the same weights. Compares every weight and the
running statistics (the checkpoint holds the `state` tensors by name), then the eval-mode outputs
(running statistics used) of nnd's inference executable.

  batchnorm_torch.py mkdata DIR          write DIR/data.npz and DIR/x.npy
  batchnorm_torch.py check DIR STEPS     compare DIR/init.safetensors, after.safetensors, y.npy
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "num"))  # nndio
from nndio import load_safetensors
import torch

N = 16


def mkdata(d):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((N, 2, 6, 6)) * 1.5 + 0.7).astype(np.float32)
    y = rng.integers(0, 3, N).astype(np.int64)
    np.savez(f"{d}/data.npz", x=x, y=y)
    np.save(f"{d}/x.npy", x)

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4, momentum=0.2)
        self.fc = torch.nn.Linear(4 * 6 * 6, 3)
    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).reshape(x.shape[0], -1))

def check(d, steps):
    w0, w1 = load_safetensors(f"{d}/init.safetensors"), load_safetensors(f"{d}/after.safetensors")
    data = np.load(f"{d}/data.npz")
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    model = Net()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in w0.items()}, strict=False)  # no num_batches_tracked
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    worst, ref = 0.0, model.state_dict()
    for k, v in sorted(w1.items()):
        diff = float(np.abs(v - ref[k].numpy()).max())
        worst = max(worst, diff / max(1.0, float(np.abs(ref[k].numpy()).max())))
        print(f"{k:16s} max |nnd - torch| = {diff:.3g}")
    assert set(w1) == set(ref) - {"bn.num_batches_tracked"}, sorted(w1)
    moved = min(float(np.abs(w1[k] - w0[k]).max()) for k in ("bn.running_var", "bn.running_mean", "bn.weight"))
    model.eval()
    with torch.no_grad():
        out = model(x).numpy()
    ours = np.load(f"{d}/y.npy")
    ediff = float(np.abs(ours - out).max())
    print(f"eval outputs     max |nnd - torch| = {ediff:.3g}")
    print(f"worst relative {worst:.3g} after {steps} steps; the batch norm's weight and statistics moved by at least {moved:.3g}")
    if not (worst <= 1e-5 and ediff <= 1e-4 and moved > 0.01):
        print("FAIL: nnd's batch norm differs from PyTorch's")
        sys.exit(1)

if sys.argv[1] == "mkdata":
    mkdata(sys.argv[2])
else:
    check(sys.argv[2], int(sys.argv[3]))
