#!/bin/sh
# Loops compiled as loops (an LSTM over T = 20 steps and a reverse RNN, tests/e2e/lstm_torch.nnd)
# against PyTorch (tests/e2e/lstm_torch.py): weights after 4 SGD steps, then the outputs of the
# inference executable.
set -e
. tests/e2e/lib.sh
need_torch
/usr/bin/python3 "$root/tests/e2e/lstm_torch.py" mkdata "$t"
"$root/nndc" build "$root/tests/e2e/lstm_torch.nnd" -o "$t"
cd "$t"
./lt-train --steps 0 --out init.safetensors --quiet --valid none
./lt-train --steps 4 --out after.safetensors --quiet --valid none
./lt-infer --weights after.safetensors --input x.npy --output y.npy
/usr/bin/python3 "$root/tests/e2e/lstm_torch.py" check "$t" 4
