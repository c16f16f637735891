#!/bin/sh
# Three SGD steps (momentum 0.9, weight decay 5e-4) of a small MLP compiled by nndc, compared with
# PyTorch's from the same initial weights and batch (tests/num/sgd_vs_torch.py).
set -e
. tests/e2e/lib.sh
need_torch
subset 64 # the first 64 examples of Fashion-MNIST's training set as IDX files
"$root/nndc" build "$root/tests/num/sgd_small.nnd" -o "$t"
cd "$t"
./small-train --steps 0 --out init.safetensors --quiet
./small-train --steps 3 --out after.safetensors --quiet
/usr/bin/python3 "$root/tests/num/sgd_vs_torch.py" init.safetensors after.safetensors data-images.gz data-labels.gz 3
