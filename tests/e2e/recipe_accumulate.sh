#!/bin/sh
# Gradient accumulation (`accumulate = N`, --accumulate N; passes/update.c, runtime/train_main.c)
# on the small MLP of tests/num/sgd_small.nnd (SGD with momentum and weight decay), 1000
# Fashion-MNIST examples, one epoch, --threads 1:
# - batch 32 accumulated over 2 micro-batches gives the weights of batch 64 (float rounding
#   only: worst difference 6e-8, bound 1e-6, where batch 32 alone differs by 0.5), the last
#   step of the epoch included (40 examples: 32 + 8, weighted by size);
# - `accumulate = 1` gives the bytes of a recipe without accumulation;
# - --log has one row per optimiser step (16 for 1000 examples in steps of 64);
# - a run stopped after 5 steps and resumed equals the whole run byte for byte (checkpoints are
#   written between optimiser steps only);
# - --accumulate on a recipe without `accumulate` is refused, and so is accumulate = 0.
set -e
. tests/e2e/lib.sh
need_fm
subset 1000
cd "$t"
"$root/nndc" build "$root/tests/num/sgd_small.nnd" -o plain
sed 's/^  epochs    = 1/  epochs    = 1\n  accumulate = 1/' "$root/tests/num/sgd_small.nnd" > acc.nnd
grep -q "accumulate = 1" acc.nnd || fail "sed did not add accumulate"
"$root/nndc" build acc.nnd -o acc
run() { "$@" --threads 1 --quiet --valid none; }
run plain/small-train --batch 64 --out plain64.st
run acc/small-train --batch 64 --out acc64.st
cmp plain64.st acc64.st || fail "accumulate = 1 changed the weights"
echo "ok: accumulate = 1 gives the same bytes as no accumulation"
run acc/small-train --batch 32 --accumulate 2 --out acc32x2.st --log run.csv
[ "$(head -n 1 run.csv)" = "step,epoch,loss,accuracy,lr,examples_per_s" ] || fail "log header: $(head -n 1 run.csv)"
[ "$(tail -n +2 run.csv | cut -d, -f1 | tr '\n' ' ')" = "$(seq 1 16 | tr '\n' ' ')" ] || fail "log: not one row per optimiser step"
echo "ok: --log with --accumulate 2: one row per optimiser step (16), $(tail -n 1 run.csv)"
run acc/small-train --batch 32 --out acc32.st
/usr/bin/python3 - "$root" <<'PY' || fail "batch 32 x 2 against batch 64"
import sys; sys.path.insert(0, sys.argv[1] + "/tests/num"); import nndio
a, b, c = (nndio.load_safetensors(f) for f in ("acc64.st", "acc32x2.st", "acc32.st"))
d2 = max(float(abs(a[k] - b[k]).max()) for k in a)
d1 = max(float(abs(a[k] - c[k]).max()) for k in a)
print("ok: batch 32 x 2 against batch 64: worst difference %.3g (batch 32 alone: %.3g)" % (d2, d1))
assert d2 < 1e-6 and d1 > 1e-3
PY
# stopped and resumed between optimiser steps: the same bytes
run acc/small-train --batch 32 --accumulate 3 --steps 11 --out whole.st
run acc/small-train --batch 32 --accumulate 3 --steps 5 --out part.st
run acc/small-train --batch 32 --accumulate 3 --steps 11 --resume part.st --out part.st
cmp whole.st part.st || fail "a resumed accumulating run differs"
cmp whole.st.opt part.st.opt || fail "a resumed accumulating run's momentum differs"
echo "ok: an accumulating run stopped at step 5 and resumed equals the whole run"
rc=0; plain/small-train --accumulate 2 > out.txt 2> err.txt || rc=$?
[ $rc -eq 2 ] && grep -q "the recipe does not accumulate gradients; add \`accumulate = 2\`" err.txt ||
	{ cat err.txt; fail "--accumulate without accumulate: exit $rc"; }
echo "ok: $(cat err.txt)"
sed 's/accumulate = 1/accumulate = 0/' acc.nnd > zero.nnd
if "$root/nndc" build zero.nnd -o . > out.txt 2> err.txt; then fail "accumulate = 0 was accepted"; fi
grep -q "recipe field 'accumulate' must be an integer >= 1, found int 0" err.txt || { cat err.txt; fail "accumulate = 0: message"; }
echo "ok: $(head -n 1 err.txt)"
