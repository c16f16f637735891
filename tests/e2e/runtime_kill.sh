#!/bin/sh
# Resumption after SIGKILL (tests/num/sgd_small.nnd, SGD with momentum, 640 examples, --threads 1):
# a run of 3000 steps with --checkpoint-every 5 is killed with kill -9 at random moments, resumed
# from whatever checkpoint it left each time, and finally run to the end; its weights and
# momentum must equal an uninterrupted run's byte for byte. A save killed between its files
# leaves FILE.opt.next, which --resume takes when its step matches FILE's (runtime/ckpt.c).
set -e
. tests/e2e/lib.sh
need_fm
subset 640
"$root/nndc" build "$root/tests/num/sgd_small.nnd" -o "$t"
cd "$t"
run="./small-train --steps 3000 --batch 48 --threads 1 --quiet --checkpoint-every 5"
$run --out whole.st
step_of() {
	/usr/bin/python3 -c "import json,struct,sys; d=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',d[:8])[0]; print(json.loads(d[8:8+n])['__metadata__']['step'])" "$1"
}
kills=0 last=0 steps=
for i in 1 2 3 4 5 6; do
	resume=; [ -f killed.st ] && resume="--resume killed.st"
	$run --out killed.st $resume > out.txt 2>&1 &
	pid=$!
	sleep "$(/usr/bin/python3 -c 'import random; print(round(random.uniform(0.05, 0.35), 3))')"
	if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
	wait $pid 2>/dev/null || true
	if [ -f killed.st ]; then
		s=$(step_of killed.st)
		[ "$s" -ge "$last" ] || fail "the checkpoint went back from step $last to $s"
		last=$s steps="$steps $s"
	fi
done
[ $kills -ge 3 ] || fail "only $kills of 6 runs were still running when killed (machine too fast?)"
[ -f killed.st ] || fail "no checkpoint after $kills kills"
$run --out killed.st --resume killed.st > out.txt 2>&1 || { cat out.txt; fail "the final resumed run failed"; }
cmp whole.st killed.st || fail "weights after $kills kills differ from an uninterrupted run"
cmp whole.st.opt killed.st.opt || fail "momentum after $kills kills differs from an uninterrupted run"
echo "ok: killed with SIGKILL $kills times (checkpoints at steps$steps), resumed: identical weights and momentum"

# a save killed before its last rename: FILE is new, FILE.opt old, FILE.opt.next new
./small-train --steps 12 --batch 48 --threads 1 --quiet --out a.st
./small-train --steps 24 --batch 48 --threads 1 --quiet --out b.st
cp b.st c.st; cp a.st.opt c.st.opt; cp b.st.opt c.st.opt.next
./small-train --steps 30 --batch 48 --threads 1 --quiet --resume b.st --out b30.st
./small-train --steps 30 --batch 48 --threads 1 --quiet --resume c.st --out c30.st || fail "FILE.opt.next was not taken"
cmp b30.st c30.st || fail "resuming from FILE.opt.next gives other weights"
rm c.st.opt.next
if ./small-train --steps 30 --batch 48 --quiet --resume c.st --out c30.st > out.txt 2> err.txt; then fail "a mismatched pair was accepted"; fi
grep -q "optimiser state is from step 12 but c.st is from step 24" err.txt || { cat err.txt; fail "mismatch message"; }
echo "ok: a save killed between its files resumes from FILE.opt.next; a mismatched pair is refused"
