#!/bin/sh
# Three SGD steps (momentum 0.9, weight decay 5e-4) of a small MLP compiled by nndc, compared with
# PyTorch's from the same initial weights and batch (tests/num/sgd_vs_torch.py).
set -e
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
	echo "skipped: python3-torch or python3-numpy is not installed in /usr/bin/python3"
	exit 77
fi
root=$(pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# the first 64 examples of Fashion-MNIST's training set as IDX files
fm=/usr/share/datasets/fashion-mnist
/usr/bin/python3 "$root/tests/e2e/rt/mkidx.py" subset "$fm/train-images-idx3-ubyte.gz" "$fm/train-labels-idx1-ubyte.gz" \
	64 "$t/data-images.gz" "$t/data-labels.gz"
"$root/nndc" build "$root/tests/num/sgd_small.nnd" -o "$t"
cd "$t"
./small-train --steps 0 --out init.safetensors --quiet
./small-train --steps 3 --out after.safetensors --quiet
/usr/bin/python3 "$root/tests/num/sgd_vs_torch.py" init.safetensors after.safetensors data-images.gz data-labels.gz 3
