#!/bin/sh
# NAME-infer writes a predict output of any layout (tests/e2e/infer_layouts.nnd): f32[T, B, 3]
# (a loop over the run-time T yields along a new axis 0) and f32[B, 3] are computed in batches
# (N = 10 examples at --batch 4: calls of 4, 4 and 2; --batch 1; the default 256, one call) and
# each batch's result put in its slice of the batch axis: y.npy is [T, N, 3] and [N, 3], equal to
# a numpy forward within 1e-5; the argmax lines follow that layout; --eval and --bench run.
# Outputs without the batch on exactly one axis (f32[3], a mean over the batch; f32[B, B]) are
# values of the whole call: one call over all N, and a --batch below N refused. examples/lstm_text.nnd
# (x: i32[B, T] -> f32[T, B, 256]) infers on bytes of a text file: [40, 3, 256], against numpy.
. tests/e2e/lib.sh
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "skipped: no numpy in /usr/bin/python3"; exit 77; }
py="/usr/bin/python3 $root/tests/e2e/infer_layouts.py"
for r in seqmajor flat pooled gram; do
	"$root/nndc" build tests/e2e/infer_layouts.nnd --train $r -o "$t" || fail "nndc build --train $r"
done
sed "s|/usr/share/vim/vim90/doc/usr_01.txt|$root/runtime/README.md|" examples/lstm_text.nnd >"$t/lstm_text.nnd"
grep -q "runtime/README.md" "$t/lstm_text.nnd" || fail "the lstm_text variant was not made"
"$root/nndc" build "$t/lstm_text.nnd" -o "$t" || fail "nndc build lstm_text"
cd "$t"
$py gen 64 7 1 || fail "gen (training)"
mkdir d && (cd d && $py gen 10 5 2) || fail "gen (inference)"
for r in seqmajor flat pooled gram lstm_text; do
	./$r-train --steps 4 --valid none --out $r.safetensors --quiet >out 2>&1 || { cat out; fail "$r-train"; }
done

# the batch on one axis: batches of any size, put in their slices
for r in seqmajor flat; do
	x=d/xs.npy
	[ $r = flat ] && x=d/xf.npy
	for b in 4 1 default; do
		flag="--batch $b"
		[ $b = default ] && flag=
		./$r-infer --weights $r.safetensors --input $x --output $r-$b.npy $flag || fail "$r-infer $flag"
		printf "%s, %s: " "${flag:-default batch}" "$x"
		$py check $r $r.safetensors $x $r-$b.npy || fail "$r-infer $flag: the output differs from numpy"
	done
done
./seqmajor-infer --weights seqmajor.safetensors --input d/xs.npy --batch 4 >lines || fail "seqmajor-infer (argmax)"
/usr/bin/python3 -c "
import numpy as np
want = np.load('seqmajor-4.npy').argmax(axis=-1).ravel()
got = np.loadtxt('lines', dtype=np.int64)
assert got.shape == want.shape == (50,) and (got == want).all(), (got.shape, want.shape)
" || fail "seqmajor-infer: the argmax lines are not those of [T, N, 3] in order"
./seqmajor-infer --weights seqmajor.safetensors --input d/xs.npy --eval --labels d/ys.npy --batch 4 >out 2>&1 &&
	grep -q "^loss [0-9]" out || { cat out; fail "seqmajor-infer --eval"; }
./seqmajor-infer --weights seqmajor.safetensors --input d/xs.npy --bench >out 2>&1 &&
	grep -q "^throughput (batch 64)" out || { cat out; fail "seqmajor-infer --bench"; }

# no single batch axis: one call over every example
for r in pooled gram; do
	for b in default 10; do
		flag="--batch $b"
		[ $b = default ] && flag=
		./$r-infer --weights $r.safetensors --input d/xf.npy --output o.npy $flag || fail "$r-infer $flag"
		printf "%s: " "${flag:-default batch}"
		$py check $r $r.safetensors d/xf.npy o.npy || fail "$r-infer $flag: the output differs from numpy"
	done
	./$r-infer --weights $r.safetensors --input d/xf.npy --output o.npy --batch 4 >out 2>&1
	[ $? -eq 1 ] || { cat out; fail "$r-infer --batch 4: not exit 1"; }
	grep -qF "does not have the batch size B on exactly one axis" out && grep -qF "the 10 examples run in one call, but --batch is 4" out ||
		{ cat out; fail "$r-infer --batch 4: the message"; }
	echo "refused: $(cat out)"
done

# examples/lstm_text.nnd on 3 windows of 40 bytes of a text file
$py text "$root/runtime/README.md" 3 40 xt.npy || fail "the text input"
./lstm_text-infer --weights lstm_text.safetensors --input xt.npy --output yt.npy --batch 2 || fail "lstm_text-infer"
$py check lstm_text lstm_text.safetensors xt.npy yt.npy || fail "lstm_text-infer: the output differs from numpy"
