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
/usr/bin/python3 - "$t" <<'PY'
import gzip, sys
d = sys.argv[1]
src = "/usr/share/datasets/fashion-mnist/train-"
with gzip.open(src + "images-idx3-ubyte.gz") as f: img = f.read()
with gzip.open(src + "labels-idx1-ubyte.gz") as f: lab = f.read()
n = 64
with gzip.open(d + "/data-images.gz", "wb") as f:
    f.write(img[:4] + n.to_bytes(4, "big") + img[8:16] + img[16:16 + n * 784])
with gzip.open(d + "/data-labels.gz", "wb") as f:
    f.write(lab[:4] + n.to_bytes(4, "big") + lab[8:8 + n])
PY
"$root/nndc" build "$root/tests/num/sgd_small.nnd" -o "$t"
cd "$t"
./small-train --steps 0 --out init.safetensors --quiet
./small-train --steps 3 --out after.safetensors --quiet
/usr/bin/python3 "$root/tests/num/sgd_vs_torch.py" init.safetensors after.safetensors data-images.gz data-labels.gz 3
