#!/bin/sh
# Checkpoints and resumption with compiled code (tests/num/sgd_small.nnd on 640 examples):
# - a run stopped after 12 steps and resumed to 30 ends with the same bytes as a run of 30;
# - SIGINT during training exits 130 and leaves a checkpoint that --resume continues from;
# - a truncated checkpoint is refused, naming the file.
set -e
. tests/e2e/lib.sh
subset 640
"$root/nndc" build "$root/tests/num/sgd_small.nnd" -o "$t"
cd "$t"
./small-train --steps 30 --batch 48 --out whole.safetensors --quiet
./small-train --steps 12 --batch 48 --out part.safetensors --quiet
./small-train --steps 30 --batch 48 --resume part.safetensors --out resumed.safetensors --quiet
cmp whole.safetensors resumed.safetensors || fail "resumed weights differ from an uninterrupted run"
cmp whole.safetensors.opt resumed.safetensors.opt || fail "resumed optimiser state differs"
echo "ok: stopped at step 12 and resumed to 30: identical weights and momentum"

# a resumed run may change the batch size: epoch 2 at --batch 100 is 7 more steps
./small-train --epochs 1 --batch 48 --out b48.safetensors --quiet --valid none
./small-train --epochs 2 --batch 100 --resume b48.safetensors --out b100.safetensors --valid none > b100.log
grep -q "step 21, epoch 2" b100.log || { cat b100.log; fail "resuming one epoch of 14 steps with --batch 100 did not end at step 21"; }
echo "ok: resumed with another batch size: $(tail -n 1 b100.log)"

# SIGINT in the middle of a long run
./small-train --steps 1000000 --out int.safetensors --quiet > int.log 2>&1 &
pid=$!
sleep 1
kill -INT $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 130 ] || { cat int.log; fail "SIGINT: exit status $rc, expected 130"; }
grep -q "resume" int.log || { cat int.log; fail "SIGINT: no hint how to resume"; }
step=$(/usr/bin/python3 -c "import json,struct; d=open('int.safetensors','rb').read(); n=struct.unpack('<Q',d[:8])[0]; print(json.loads(d[8:8+n])['__metadata__']['step'])")
[ "$step" -gt 0 ] || fail "SIGINT: the checkpoint holds step $step"
./small-train --steps $((step + 5)) --resume int.safetensors --out int2.safetensors --quiet
echo "ok: SIGINT at step $step left a checkpoint; resumed for 5 more steps"

# a truncated checkpoint
head -c 1000 whole.safetensors > trunc.safetensors
cp whole.safetensors.opt trunc.safetensors.opt
if ./small-infer --weights trunc.safetensors --idx data-images.gz > out.txt 2> err.txt; then fail "a truncated checkpoint was accepted"; fi
grep -q "trunc.safetensors" err.txt || { cat err.txt; fail "the error does not name the file"; }
echo "ok: truncated checkpoint refused: $(head -n 1 err.txt)"
