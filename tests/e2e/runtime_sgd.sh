#!/bin/sh
# tests/e2e/runtime_sgd.sh: nnd_rt_sgd_update (runtime/optim.c) against torch.optim.SGD over 6
# steps, with and without momentum, dampening, Nesterov and weight decay. Skips without torch.
. tests/e2e/rt/build.sh
need_py
$PY -c 'import torch' 2>/dev/null || { echo "SKIP: no torch in $PY"; exit 77; }
cc -O2 $NNDC_LDFLAGS -I. -o "$T/sgd" tests/e2e/rt/sgd_check.c runtime/libnndrt.a -ljansson -lm || fail "build sgd_check"
"$T/sgd" >"$T/ours" || fail "sgd_check"
$PY - "$T/ours" <<'PYEOF' || fail "nnd_rt_sgd_update differs from torch.optim.SGD"
import math, sys, torch
cfg = [(0.1, 0.0, 0.0, 0, 0.0), (0.1, 0.9, 0.0, 0, 0.0), (0.05, 0.9, 0.0, 1, 0.01),
       (0.1, 0.8, 0.3, 0, 0.05), (0.2, 0.0, 0.0, 0, 0.1)]
ours = [[float(v) for v in line.split()] for line in open(sys.argv[1])]
for (lr, mu, damp, nest, wd), got in zip(cfg, ours):
    p = torch.tensor([math.cos(i) for i in range(7)], dtype=torch.float32, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=mu, dampening=damp, nesterov=bool(nest), weight_decay=wd)
    for t in range(6):
        p.grad = torch.tensor([math.sin(0.7 * i + t) for i in range(7)], dtype=torch.float32)
        opt.step()
    err = max(abs(a - b) for a, b in zip(p.tolist(), got))
    if err > 1e-5:
        sys.exit("config %s: max difference %g\n torch %s\n ours  %s" % ((lr, mu, damp, nest, wd), err, p.tolist(), got))
PYEOF
echo "PASS: runtime_sgd"
