#!/bin/sh
# Three SGD steps of a small convolutional autoencoder (Conv2d, ConvTranspose2d with stride,
# padding, output_padding, groups) compiled by nndc, compared with PyTorch's from the same initial
# weights and batch (tests/num/convae_vs_torch.py).
set -e
. tests/e2e/lib.sh
need_torch
need_fm
subset 64
"$root/nndc" build "$root/tests/num/convae_small.nnd" -o "$t"
cd "$t"
./convae-train --steps 0 --out init.safetensors --quiet
./convae-train --steps 3 --out after.safetensors --quiet
/usr/bin/python3 "$root/tests/num/convae_vs_torch.py" init.safetensors after.safetensors data-images.gz 3
