#!/bin/sh
# std.nn's BatchNorm2d against PyTorch (tests/e2e/batchnorm_torch.py): weights and running
# statistics after 4 SGD steps, then the eval-mode outputs of the inference executable.
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
