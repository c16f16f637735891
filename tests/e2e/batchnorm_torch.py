"""Checks std.nn's BatchNorm2d in training against PyTorch: a conv + BatchNorm2d + Linear model
(tests/e2e/batchnorm_torch.sh) trained by nnd for STEPS SGD steps on one batch, from the initial
weights nnd wrote, loaded with load_state_dict(strict=True) (num_batches_tracked included);
PyTorch repeats the steps from the same weights. Compares every weight and the running statistics
(the checkpoint holds the `state` tensors by name; num_batches_tracked = STEPS), then the
eval-mode outputs (running statistics used) of nnd's inference executable. Writes PyTorch's own
state dict (num_batches_tracked an I64 tensor) as DIR/torch.safetensors, with its eval-mode
outputs in DIR/torch_y.npy, for nnd's inference executable to load.

  batchnorm_torch.py mkdata DIR          write DIR/data.npz and DIR/x.npy
  batchnorm_torch.py check DIR STEPS     compare DIR/init.safetensors, after.safetensors, y.npy
  batchnorm_torch.py same A.npy B.npy    the two arrays agree within 1e-5
"""
import json, os, struct, sys
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
    model.load_state_dict({k: torch.from_numpy(v) for k, v in w0.items()}, strict=True)
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
    assert set(w1) == set(ref), sorted(w1)
    assert int(ref["bn.num_batches_tracked"]) == steps and float(w1["bn.num_batches_tracked"]) == steps
    moved = min(float(np.abs(w1[k] - w0[k]).max()) for k in ("bn.running_var", "bn.running_mean", "bn.weight"))
    model.eval()
    with torch.no_grad():
        out = model(x).numpy()
    np.save(f"{d}/torch_y.npy", out)
    save_st(f"{d}/torch.safetensors", model.state_dict())
    ours = np.load(f"{d}/y.npy")
    ediff = float(np.abs(ours - out).max())
    print(f"eval outputs     max |nnd - torch| = {ediff:.3g}")
    print(f"worst relative {worst:.3g} after {steps} steps; the batch norm's weight and statistics moved by at least {moved:.3g}")
    if not (worst <= 1e-5 and ediff <= 1e-4 and moved > 0.01):
        print("FAIL: nnd's batch norm differs from PyTorch's")
        sys.exit(1)

def save_st(path, sd):
    """a state dict as safetensors, each tensor in its own dtype (num_batches_tracked: I64)"""
    header, data = {}, b""
    for k, v in sd.items():
        a = v.numpy()
        header[k] = {"dtype": {"float32": "F32", "int64": "I64"}[str(a.dtype)], "shape": list(a.shape),
                     "data_offsets": [len(data), len(data) + a.nbytes]}
        data += a.tobytes()
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)

if sys.argv[1] == "mkdata":
    mkdata(sys.argv[2])
elif sys.argv[1] == "same":
    a, b = np.load(sys.argv[2]), np.load(sys.argv[3])
    print(f"torch's state dict in nnd's inference: max |nnd - torch| = {float(np.abs(a - b).max()):.3g}")
    sys.exit(0 if a.shape == b.shape and np.allclose(a, b, rtol=0, atol=1e-5) else 1)
else:
    check(sys.argv[2], int(sys.argv[3]))
