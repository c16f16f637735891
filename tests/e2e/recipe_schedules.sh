#!/bin/sh
# Learning-rate schedules: the lr of every step (from --log) against torch.optim.lr_scheduler
# (tests/e2e/recipe_schedules.py), with the schedule from the recipe and from the command line;
# recipe errors in schedule and optimizer arguments.
. tests/e2e/lib.sh
PY=/usr/bin/python3
$PY -c "import torch" 2>/dev/null || { echo "skipped: no torch in $PY"; exit 77; }
need_fm
subset 64 || fail "mkidx"
cd "$t"
recipe() { # recipe NAME 'schedule = ...'
	cat >"$1.nnd" <<NND
import std.nn
train $1 {
  model     = Linear(784, 10)
  data      = idx("data-images.gz", "data-labels.gz")
  batch     = 8
  steps     = 100
  optimizer = sgd(lr: 0.1)
  $2
  loss(x: u8[B, 28, 28], y: i32[B]) -> f32 {
    return cross_entropy(model(reshape(x, [B, 784]) / 255.0), y)
  }
}
NND
}
recipe cyc 'schedule = onecycle(max_lr: 0.5)'
recipe stp 'schedule = step(every: 7, gamma: 0.5, warmup: 5)'
for n in cyc stp; do "$root/nndc" build $n.nnd -o . || fail "nndc build $n.nnd"; done
# run EXE 'FLAGS' SCHEDULE LR TOTAL key=value...
run() {
	exe=$1 flags=$2 sched=$3 lr=$4 total=$5
	shift 5
	rm -f run.csv
	./$exe-train --quiet --valid none --log run.csv $flags >out 2>&1 || { cat out; fail "$exe-train $flags"; }
	$PY "$root/tests/e2e/recipe_schedules.py" run.csv $lr $total $sched "$@" || fail "$exe-train $flags"
}
# from the recipes
run cyc '' onecycle 0.1 100 max_lr=0.5
run stp '' step 0.1 100 every=7 gamma=0.5 warmup=5
# from the command line
run stp '--schedule constant --warmup 0' constant 0.1 100
run stp '--schedule constant --warmup 10' constant 0.1 100 warmup=10
run stp '--schedule step --step-every 10 --gamma 0.7 --warmup 0' step 0.1 100 every=10 gamma=0.7
run stp '--schedule exponential --gamma 0.95 --warmup 0' exponential 0.1 100 gamma=0.95
run stp '--schedule exponential --gamma 0.95 --warmup 8' exponential 0.1 100 gamma=0.95 warmup=8
run stp '--schedule cosine --warmup 0 --min-lr 0.001' cosine 0.1 100 min_lr=0.001
run stp '--schedule cosine --warmup 20 --min-lr 0.001' cosine 0.1 100 warmup=20 min_lr=0.001
run stp '--schedule linear --warmup 0' linear 0.1 100
run stp '--schedule linear --warmup 30 --lr 0.2' linear 0.2 100 warmup=30
run stp '--schedule onecycle --max-lr 1.0 --steps 37' onecycle 0.1 37 max_lr=1.0
run cyc '--steps 250 --epochs 100' onecycle 0.1 250 max_lr=0.5
(run cyc '--pct-start 0.5 --steps 50' onecycle 0.1 50 max_lr=0.5 >/dev/null 2>&1) && fail "--pct-start ignored"
# usage errors
./stp-train --schedule bogus >out 2>&1; [ $? -eq 2 ] && grep -q "expected constant, cosine, step" out || { cat out; fail "--schedule bogus"; }
./cyc-train --steps 2 --valid none >out 2>&1; [ $? -eq 2 ] && grep -q "onecycle over 2 steps" out || { cat out; fail "onecycle too short"; }
./stp-train --schedule step --step-every 0 >out 2>&1; [ $? -eq 2 ] || { cat out; fail "--step-every 0"; }
# recipe errors
check_error() { # check_error 'FIELD LINE' 'message'
	recipe bad "$1"
	"$root/nndc" check bad.nnd >out 2>&1 && fail "nndc accepted '$1'"
	grep -qF -- "$2" out || { cat out; fail "'$1': no '$2' in the message"; }
}
check_error 'schedule = step(gamma: 0.5)' "schedule 'step' needs 'every'"
check_error 'schedule = cosine(warmup: 2.5)' "cosine's 'warmup' is 2.5; expected an integer >= 0"
check_error 'schedule = triangle' "expected a schedule: constant, cosine"
check_error 'schedule = exponential(gamma: 0.9, decay: 1)' "schedule 'exponential' has no parameter named 'decay'"
check_error 'optimizer = adam(betas: 0.9)' "betas must be a pair"
check_error 'optimizer = adamw(lr: 0)' "adamw needs a learning rate 'lr' greater than 0"
check_error 'optimizer = lion(betas: (0.9, 1.5))' "lion's 'betas' is 1.5; expected 0 <= beta < 1"
check_error 'optimizer = rmsprop(momentum: 0.9, nesterov: true)' "optimizer 'rmsprop' has no parameter named 'nesterov'"
check_error 'optimizer = nadam(lr: 0.1)' "expected an optimizer: sgd, adam, adamw, rmsprop, adagrad or lion"
echo "ok: schedules match torch.optim.lr_scheduler step by step"
