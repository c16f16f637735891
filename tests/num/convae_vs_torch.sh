#!/bin/sh
# Three SGD steps of a small convolutional autoencoder (Conv2d, ConvTranspose2d with stride,
# padding, output_padding, groups) compiled by nndc, compared with PyTorch's from the same initial
# weights and batch (tests/num/convae_vs_torch.py).
set -e
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
	echo "skipped: python3-torch or python3-numpy is not installed in /usr/bin/python3"
	exit 77
fi
fm=/usr/share/datasets/fashion-mnist
[ -f "$fm/train-images-idx3-ubyte.gz" ] || { echo "skipped: no Fashion-MNIST in $fm"; exit 77; }
root=$(pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
/usr/bin/python3 "$root/tests/e2e/rt/mkidx.py" subset "$fm/train-images-idx3-ubyte.gz" "$fm/train-labels-idx1-ubyte.gz" \
	64 "$t/data-images.gz" "$t/data-labels.gz"
"$root/nndc" build "$root/tests/num/convae_small.nnd" -o "$t"
cd "$t"
./convae-train --steps 0 --out init.safetensors --quiet
./convae-train --steps 3 --out after.safetensors --quiet
/usr/bin/python3 "$root/tests/num/convae_vs_torch.py" init.safetensors after.safetensors data-images.gz 3
