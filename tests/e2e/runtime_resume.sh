#!/bin/sh
# tests/e2e/runtime_resume.sh: SIGINT saves a valid checkpoint and exits 130; --resume continues
# so that the final weights and optimiser state equal an uninterrupted run's, byte for byte:
# interrupted mid-epoch, at an epoch's end, twice in a row, and by a real kill -INT. Runs on a
# 1000-example subset (16 steps per epoch, the last batch of 40) with a cosine schedule.
. tests/e2e/rt/build.sh
need_fm; need_py
$PY tests/e2e/rt/mkidx.py subset "$FM/train-images-idx3-ubyte.gz" "$FM/train-labels-idx1-ubyte.gz" 1000 \
	"$T/i.idx.gz" "$T/l.idx.gz" || fail mkidx
tr="$T/fake-train --data $T/i.idx.gz,$T/l.idx.gz --valid $T/i.idx.gz,$T/l.idx.gz --epochs 3 --schedule cosine --warmup 5 --weight-decay 0.001 --nesterov 1"
$tr --out "$T/ref.st" >"$T/ref.out" 2>&1 || { cat "$T/ref.out"; fail "reference run"; }
grep -q "^step 48/48" "$T/ref.out" || { cat "$T/ref.out"; fail "reference run output"; }

meta() { $PY -c "
import json, struct, sys
b = open('$1', 'rb').read(); (n,) = struct.unpack('<Q', b[:8]); m = json.loads(b[8:8 + n])['__metadata__']
print(m['step'], m['epoch'], m['pos'])"; }
same() { cmp -s "$T/ref.st" "$1" && cmp -s "$T/ref.st.opt" "$1.opt" || fail "$2: resumed run differs from the uninterrupted one"; }

# interrupted during step 20 (0-based): the step finishes, 21 are saved (epoch 2, 5 batches in)
FAKE_SIGINT_AT_STEP=20 $tr --out "$T/a.st" >"$T/a.out" 2>"$T/a.err"; rc=$?
[ $rc -eq 130 ] || { cat "$T/a.out" "$T/a.err"; fail "SIGINT: exit $rc, expected 130"; }
grep -q "interrupted at step 21 of 48 (epoch 2); saved $T/a.st" "$T/a.err" || { cat "$T/a.err"; fail "SIGINT message"; }
[ "$(meta "$T/a.st")" = "21 1 320" ] || fail "checkpoint metadata $(meta "$T/a.st"), expected step 21 epoch 1 pos 320"
"$T/fake-infer" --weights "$T/a.st" --idx "$T/i.idx.gz" >/dev/null || fail "interrupted checkpoint does not load"
$tr --resume "$T/a.st" --out "$T/a.st" >"$T/a2.out" 2>&1 || { cat "$T/a2.out"; fail "resume"; }
same "$T/a.st" "mid-epoch"
grep -q "^epoch 3/3  valid" "$T/a2.out" && ! grep -q "^epoch 1/3" "$T/a2.out" || { cat "$T/a2.out"; fail "resumed epochs"; }

# interrupted during the last step of epoch 1: validated, saved as epoch 1 done
FAKE_SIGINT_AT_STEP=15 $tr --out "$T/b.st" >"$T/b.out" 2>&1; rc=$?
[ $rc -eq 130 ] || fail "SIGINT at an epoch's end: exit $rc"
[ "$(meta "$T/b.st")" = "16 1 0" ] || fail "epoch-end checkpoint metadata $(meta "$T/b.st")"
$tr --resume "$T/b.st" --out "$T/b2.st" >/dev/null 2>&1 || fail "resume from epoch end"
same "$T/b2.st" "epoch end"

# twice: at step 3, then at step 37, then to the end
FAKE_SIGINT_AT_STEP=3 $tr --out "$T/c.st" >/dev/null 2>&1; [ $? -eq 130 ] || fail "first interrupt"
FAKE_SIGINT_AT_STEP=37 $tr --resume "$T/c.st" --out "$T/c.st" >/dev/null 2>&1; [ $? -eq 130 ] || fail "second interrupt"
[ "$(meta "$T/c.st")" = "38 2 384" ] || fail "second checkpoint metadata $(meta "$T/c.st")"
$tr --resume "$T/c.st" --out "$T/c.st" >/dev/null 2>&1 || fail "final resume"
same "$T/c.st" "interrupted twice"

# a real signal from outside, while the steps are slowed down
FAKE_SLOW_US=20000 $tr --out "$T/d.st" >"$T/d.out" 2>&1 &
pid=$!
sleep 0.5
kill -INT $pid
wait $pid; rc=$?
[ $rc -eq 130 ] || { cat "$T/d.out"; fail "kill -INT: exit $rc"; }
set -- $(meta "$T/d.st")
[ "$1" -gt 0 ] && [ "$1" -lt 48 ] || fail "kill -INT checkpoint at step $1"
$tr --resume "$T/d.st" --out "$T/d.st" >/dev/null 2>&1 || fail "resume after kill -INT"
same "$T/d.st" "kill -INT"
$tr --resume "$T/d.st" --out "$T/d.st" >"$T/e.out" 2>&1 && grep -q "nothing to do" "$T/e.out" || fail "resume of a finished run"
echo "PASS: runtime_resume"
