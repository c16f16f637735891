"""Checks nnd's training steps of tests/num/convae_small.nnd (Conv2d and ConvTranspose2d with
stride, padding, output_padding and groups) against PyTorch's: the same initial weights (nnd's
checkpoint before training), the same 64 examples (one batch), SGD with momentum; compares the
weights after `steps` steps.

  convae_vs_torch.py INIT.safetensors AFTER.safetensors images.gz STEPS
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # nndio
from nndio import load_safetensors, read_idx
import torch
import torch.nn as nn


def main():
    init, after, images, steps = sys.argv[1:5]
    steps = int(steps)
    w0 = load_safetensors(init)
    w1 = load_safetensors(after)
    x = torch.from_numpy(read_idx(images).astype(np.float32).reshape(-1, 1, 28, 28) / 255.0)
    model = nn.ModuleDict({
        "enc1": nn.Conv2d(1, 4, 3, stride=2, padding=1),
        "enc2": nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2),
        "dec1": nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
        "dec2": nn.ConvTranspose2d(4, 1, 3, stride=2, padding=1, output_padding=1),
    })
    model.load_state_dict({k: torch.from_numpy(v) for k, v in w0.items()})
    m = model
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        out = torch.sigmoid(m["dec2"](torch.relu(m["dec1"](torch.relu(m["enc2"](torch.relu(m["enc1"](x))))))))
        loss = 50.0 * nn.functional.mse_loss(out, x)
        loss.backward()
        opt.step()
    worst, bad = 0.0, []
    for k, ref in model.state_dict().items():
        diff, moved = np.abs(w1[k] - ref.numpy()).max(), np.abs(w1[k] - w0[k]).max()
        worst = max(worst, diff / moved)
        print(f"{k:12s} {str(tuple(ref.shape)):14s} moved {moved:.3g}, max |nnd - torch| = {diff:.3g}")
        if not (moved > 1e-3 and diff <= 1e-4 * moved + 1e-6):
            bad.append(k)
    print(f"worst |nnd - torch| / move {worst:.3g} after {steps} steps")
    if bad:
        print("FAIL: nnd's steps differ from PyTorch's by more than 1e-4 of the move (or did not move):", ", ".join(bad))
        sys.exit(1)

main()
