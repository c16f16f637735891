#!/bin/sh
# std.nn's BatchNorm2d against PyTorch (tests/e2e/batchnorm_torch.py): nnd's initial weights
# load into torch with strict=True; weights, running statistics and num_batches_tracked after 4
# SGD steps; the eval-mode outputs of the inference executable; PyTorch's own state dict (its
# num_batches_tracked an I64 tensor) loads into the inference executable and gives torch's outputs.
set -e
. tests/e2e/lib.sh
need_torch
/usr/bin/python3 "$root/tests/e2e/batchnorm_torch.py" mkdata "$t"
"$root/nndc" build "$root/tests/e2e/batchnorm_torch.nnd" -o "$t"
cd "$t"
./bnt-train --steps 0 --out init.safetensors --quiet --valid none
./bnt-train --steps 4 --out after.safetensors --quiet --valid none
./bnt-infer --weights after.safetensors --input x.npy --output y.npy
/usr/bin/python3 "$root/tests/e2e/batchnorm_torch.py" check "$t" 4
./bnt-infer --weights torch.safetensors --input x.npy --output y_torch_weights.npy
/usr/bin/python3 "$root/tests/e2e/batchnorm_torch.py" same y_torch_weights.npy torch_y.npy
