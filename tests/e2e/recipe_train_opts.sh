#!/bin/sh
# Recipe training options with compiled code:
# - --check-numerics stops at the log of a negative number (tests/e2e/rt/numerics.nnd:16:50),
#   naming the operation and its place; without the flag the run goes on;
# - freeze/train_only paths that name nothing, or are not paths, are compile errors;
# - parameter groups that name nothing, overlap, or repeat are compile errors;
# - clip_grad_norm must be > 0; --clip-grad-norm needs a recipe that clips.
# (The weights themselves: tests/num/optim_vs_torch.sh compares clipping and freezing with torch.)
set -e
. tests/e2e/lib.sh
subset 64
cp "$root/tests/e2e/rt/numerics.nnd" "$t/"
cd "$t"
"$root/nndc" build numerics.nnd -o .
./bad-train --steps 2 --quiet > out.txt 2> err.txt || fail "without --check-numerics the run stopped: $(cat err.txt)"
rc=0; ./bad-train --steps 2 --quiet --check-numerics > out.txt 2> err.txt || rc=$?
[ $rc -eq 1 ] || fail "--check-numerics: exit status $rc, expected 1"
grep -q "non-finite value (nan) in the result of log at numerics.nnd:16:50" err.txt || { cat err.txt; fail "--check-numerics: wrong message"; }
echo "ok: --check-numerics: $(cat err.txt)"

# expect 'RECIPE LINE' 'MESSAGE': the small MLP with LINE added fails to compile with MESSAGE
expect() {
	sed "s/^  loss(/  $1\\n  loss(/" "$root/tests/num/sgd_small.nnd" > e.nnd
	if "$root/nndc" build e.nnd -o . > out.txt 2> err.txt; then fail "'$1' was accepted"; fi
	grep -qF -- "$2" err.txt || { cat err.txt; fail "'$1': expected '$2'"; }
	echo "ok: $(head -n 1 err.txt)"
}
expect 'freeze = [model.fc9]' "e.nnd:21:13: error: 'freeze': model.fc9 names no parameter of the model"
expect 'train_only = [model.fc1.weight, model.fc4]' "'train_only': model.fc4 names no parameter"
expect 'freeze = [fc1]' "'freeze' lists parts of the model, as in [model.backbone, model.head]"
expect 'freeze = model.fc1' "'freeze' must be a list of parts of the model"
# parameter groups (their training: tests/num/optim_vs_torch.sh)
expect 'optimizer model.fc9 = sgd(lr: 0.1)' "e.nnd:21:13: error: parameter group model.fc9 names no parameter of the model"
expect 'optimizer fc1 = sgd(lr: 0.1)' "'optimizer PATH = ...' sets a parameter group, as in optimizer model.fc1 = sgd(lr: 0.1)"
expect 'optimizer model.fc1 = sgd(lr: 0.1)\n  schedule model.fc1.bias = cosine' \
	"parameter groups model.fc1 and model.fc1.bias overlap: both hold 'fc1.bias'"
expect 'optimizer model.fc1 = adam\n  optimizer model.fc1 = sgd(lr: 0.1)' "'optimizer model.fc1' is given twice"
expect 'schedule model.fc2 = step(gamma: 0.5)' "schedule 'step' needs 'every'"
expect 'batch model.fc1 = 3' "recipe field 'batch' for a part of the model is not compiled yet"
expect 'clip_grad_norm = 0' "recipe field 'clip_grad_norm' must be greater than 0, found 0"

"$root/nndc" build "$root/tests/num/sgd_small.nnd" -o .
ln -sf data-images.gz data-labels.gz . 2>/dev/null || true
rc=0; ./small-train --steps 1 --clip-grad-norm 1 > out.txt 2> err.txt || rc=$?
[ $rc -eq 2 ] && grep -q "the recipe does not clip gradients" err.txt || { cat err.txt; fail "--clip-grad-norm without clipping: exit $rc"; }
echo "ok: $(cat err.txt)"

# infer --bench: latency at batch 1, throughput at batch 64, percentiles
./small-train --steps 0 --out w.st --quiet
./small-infer --weights w.st --idx data-images.gz --bench --threads 1 > bench.txt
grep -Eq "^latency \(batch 1\): p50 [0-9.e+-]+ (us|ms)  p90 .* p99 .* over [0-9]+ calls$" bench.txt || { cat bench.txt; fail "--bench: latency line"; }
grep -Eq "^throughput \(batch 64\): p50 .* p99 .* = [0-9]+ examples/s" bench.txt || { cat bench.txt; fail "--bench: throughput line"; }
rc=0; ./small-infer --weights w.st --idx data-images.gz --bench --output y.npy > out.txt 2> err.txt || rc=$?
[ $rc -eq 2 ] || fail "--bench --output: exit $rc, expected 2"
echo "ok: --bench:"; cat bench.txt
