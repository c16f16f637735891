#!/bin/sh
# tests/e2e/runtime_cli.sh: command-line and data errors of the runtime's executables: unknown
# flags and malformed numbers (exit 2), missing files, IDX files of the wrong shape, truncated or
# not IDX at all, image/label count mismatch (exit 1, the file named, expected vs found).
. tests/e2e/rt/build.sh
need_py
tr=$T/fake-train
expect 2 "fake-train: error: unknown flag '--foo'" $tr --foo
grep -q -- "--help" "$T/err" || fail "no hint to --help"
expect 2 "error: invalid value 'abc' for --epochs: expected a positive integer" $tr --epochs abc
expect 2 "error: invalid value 'abc' for --epochs: expected a positive integer" $tr --epochs=abc
expect 2 "invalid value '0' for --epochs" $tr --epochs 0
expect 2 "invalid value '-3' for --steps: expected a non-negative integer" $tr --steps -3
expect 2 "invalid value '12x' for --batch" $tr --batch 12x
expect 2 "invalid value 'fast' for --lr" $tr --lr fast
expect 2 "invalid value 'nan' for --momentum" $tr --momentum nan
expect 2 "--out needs a value" $tr --out
expect 2 "--quiet takes no value" $tr --quiet=1
expect 2 "unexpected argument 'data.gz'" $tr data.gz
$tr --help >"$T/help" || fail "--help exited $?"
grep -q -- "--weight-decay X" "$T/help" || fail "--help lacks --weight-decay"
expect 2 "fake-infer: error: --weights FILE is required" "$T/fake-infer" --idx x.gz
expect 2 "unknown flag '--bogus'" "$T/fake-infer" --bogus=1

# data files
L=$FM/train-labels-idx1-ubyte.gz
expect 1 "$T/nope.gz: cannot open: No such file or directory" $tr --steps 1 --data "$T/nope.gz,$L"
expect 1 "--data: 1 file given but entry 'step' takes 2 inputs" $tr --steps 1 --data "$T/nope.gz"
$PY tests/e2e/rt/mkidx.py shape "$T/wide.gz" u8 100,28,27 || fail mkidx
$PY tests/e2e/rt/mkidx.py shape "$T/lab.idx" u8 100 || fail mkidx
$PY tests/e2e/rt/mkidx.py shape "$T/lab99.idx" u8 99 || fail mkidx
$PY tests/e2e/rt/mkidx.py shape "$T/img.idx" u8 100,28,28 || fail mkidx
$PY tests/e2e/rt/mkidx.py shape "$T/fimg.idx" f32 100,28,28 || fail mkidx
$PY tests/e2e/rt/mkidx.py shape "$T/lab2d.idx" i32 100,1 || fail mkidx
expect 1 "$T/wide.gz: images have the wrong shape: input 'x' expects examples of u8[28, 28], the file holds 100 examples of u8[28, 27]" \
	$tr --steps 1 --data "$T/wide.gz,$T/lab.idx"
expect 1 "$T/lab2d.idx: labels have the wrong shape: input 'y' expects examples of i32[], the file holds 100 examples of i32[1]" \
	$tr --steps 1 --data "$T/img.idx,$T/lab2d.idx"
expect 1 "$T/fimg.idx: images holds f32 values but input 'x' is u8" $tr --steps 1 --data "$T/fimg.idx,$T/lab.idx"
expect 1 "images and labels have different numbers of examples: $T/img.idx has 100, $T/lab99.idx has 99" \
	$tr --steps 1 --data "$T/img.idx,$T/lab99.idx"
head -c 5000 "$T/img.idx" >"$T/trunc.idx"
expect 1 "$T/trunc.idx: truncated IDX file" $tr --steps 1 --data "$T/trunc.idx,$T/lab.idx"
gzip -c "$T/trunc.idx" >"$T/trunc.idx.gz"
expect 1 "$T/trunc.idx.gz: truncated IDX file" $tr --steps 1 --data "$T/trunc.idx.gz,$T/lab.idx"
printf 'hello world, not idx' >"$T/text.idx"
expect 1 "$T/text.idx: not an IDX file: the magic number is 68 65 6c 6c" $tr --steps 1 --data "$T/text.idx,$T/lab.idx"
cp "$T/img.idx" "$T/long.idx"; printf 'x' >>"$T/long.idx"
expect 1 "$T/long.idx: IDX file is longer than its header says" $tr --steps 1 --data "$T/long.idx,$T/lab.idx"
# a label outside [0, 10): the model's own run-time check (nnd_rt_error)
printf '\0\0\10\1\0\0\0\1\14' >"$T/bad.lab"
$PY tests/e2e/rt/mkidx.py shape "$T/img1.idx" u8 1,28,28 || fail mkidx
expect 1 "error: label 12 of example 0 is outside [0, 10)" $tr --steps 1 --valid none --out "$T/o" --data "$T/img1.idx,$T/bad.lab"
# a tiny plain (not gzip) data set trains, with a partial last batch
$tr --epochs 2 --batch 32 --valid "$T/img.idx,$T/lab.idx" --data "$T/img.idx,$T/lab.idx" --out "$T/tiny.st" >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail "tiny run"; }
grep -q "^step 8/8  epoch 2/2" "$T/out" && grep -q "^epoch 2/2  valid loss" "$T/out" || { cat "$T/out"; fail "tiny run output"; }
# infer errors
expect 1 "$T/missing.st: cannot open" "$T/fake-infer" --weights "$T/missing.st" --idx "$T/img.idx"
expect 1 "$T/wide.gz: images have the wrong shape" "$T/fake-infer" --weights "$T/tiny.st" --idx "$T/wide.gz"
expect 2 "--eval needs --labels FILE" "$T/fake-infer" --weights "$T/tiny.st" --idx "$T/img.idx" --eval
expect 1 "$T/lab99.idx has 99" "$T/fake-infer" --weights "$T/tiny.st" --idx "$T/img.idx" --eval --labels "$T/lab99.idx"
echo "PASS: runtime_cli"
