"""Checks nnd's training steps against PyTorch's: same initial weights (read from the checkpoint
nnd wrote before training), same 64 examples (one batch, so the order within it does not change
the mean gradient), SGD with momentum and weight decay, then compares the weights after `steps`
steps with nnd's checkpoint. Reads safetensors with json+struct+numpy only.

  sgd_vs_torch.py INIT.safetensors AFTER.safetensors images.gz labels.gz STEPS
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # nndio
from nndio import load_safetensors, read_idx
import torch


def main():
    init, after, images, labels, steps = sys.argv[1:6]
    steps = int(steps)
    w0 = load_safetensors(init)
    w1 = load_safetensors(after)
    x = torch.from_numpy(read_idx(images).astype(np.float32).reshape(-1, 784) / 255.0)
    y = torch.from_numpy(read_idx(labels).astype(np.int64))
    torch.set_default_dtype(torch.float32)
    model = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                                torch.nn.ReLU(), torch.nn.Linear(32, 10))
    names = {"0.weight": "fc1.weight", "0.bias": "fc1.bias", "2.weight": "fc2.weight",
             "2.bias": "fc2.bias", "4.weight": "fc3.weight", "4.bias": "fc3.bias"}
    model.load_state_dict({k: torch.from_numpy(w0[v]) for k, v in names.items()})
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    worst = 0.0
    for k, v in names.items():
        ours = w1[v]
        ref = model.state_dict()[k].numpy()
        diff = np.abs(ours - ref).max()
        worst = max(worst, diff)
        print(f"{v:12s} max |nnd - torch| = {diff:.3g}")
    print(f"worst {worst:.3g} after {steps} steps")
    if not worst <= 1e-5:
        print("FAIL: nnd's SGD steps differ from PyTorch's by more than 1e-5")
        sys.exit(1)

main()
