#!/bin/sh
# make bench: our executables next to the PyTorch references on the same model, data, batch and
# threads, alternated in one run, with the ratios. PyTorch is measured in the three settings of
# ../shared/bench/README.md (2 threads passive, 2 threads plain, 1 thread) and we compare with its
# best. Step times are of the step alone (no data movement), median and mean.
#   sh bench/run.sh [ROUNDS]        (default 3 rounds)
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
refs=${NND_BENCH_REFS:-$root/../shared/bench}
rounds=${1:-3}
py=/usr/bin/python3
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
if ! $py -c "import torch" 2>/dev/null; then
	echo "bench: python3-torch is not installed in $py; only our figures are printed"
	refs=""
fi

# bench NAME EXAMPLE RECIPE TORCH_SCRIPT TITLE: one workload, $rounds alternated rounds
bench() {
	name=$1 example=$2 recipe=$3 script=$4 title=$5
	"$root/nndc" build "$root/examples/$example" -o "$t/$name"
	echo "== $title, batch 64, Fashion-MNIST, 2 threads; $rounds rounds, alternated"
	: > "$t/$name.ours"; : > "$t/$name.torch"
	for i in $(seq "$rounds"); do
		(cd "$t/$name" && ./$recipe-train --epochs 1 --valid none --quiet --timing --threads 2 --out w.safetensors) |
			sed -n 's/^step time: median \([0-9.]*\) ms  mean \([0-9.]*\) ms.*/nnd \1 \2/p' >> "$t/$name.ours"
		[ -n "$refs" ] || continue
		for cfg in passive plain one; do
			case $cfg in
			passive) env="OMP_WAIT_POLICY=passive"; th=2 ;;
			plain) env="NND_BENCH=1"; th=2 ;;
			one) env="OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1"; th=1 ;;
			esac
			(cd "$refs" && env $env $py $script --threads $th --steps 300 --epochs 1) | grep '^RESULT ' |
				$py -c "import json,sys; d=json.loads(sys.stdin.read()[7:]); print('torch-$cfg', d['train']['median_ms'], d['train']['mean_ms'])" >> "$t/$name.torch"
		done
	done
	$py - "$t/$name.ours" "$t/$name.torch" <<'PY'
import statistics, sys
rows = lambda p: [l.split() for l in open(p) if l.strip()]
ours, torch = rows(sys.argv[1]), rows(sys.argv[2])
med = statistics.median
om = med([float(r[1]) for r in ours]); oa = med([float(r[2]) for r in ours])
print(f"nnd            step median {om:.3f} ms  mean {oa:.3f} ms")
best = None
for cfg in ("torch-passive", "torch-plain", "torch-one"):
    rs = [r for r in torch if r[0] == cfg]
    if not rs:
        continue
    m = med([float(r[1]) for r in rs]); a = med([float(r[2]) for r in rs])
    print(f"{cfg:14s} step median {m:.3f} ms  mean {a:.3f} ms")
    if best is None or m < best[1]:
        best = (cfg, m, a)
if best:
    print(f"ratio nnd/PyTorch (best: {best[0]}): median {om / best[1]:.2f}  mean {oa / best[2]:.2f}")
PY
}

bench mlp mlp_fashion.nnd fashion bench_mlp.py "MLP 784-256-256-10"
bench lenet lenet_fashion.nnd lenet bench_lenet.py "LeNet-5"

# the LSTM of examples/lstm_text.nnd over T = 512 bytes: one loop, so compiling is quick and the
# executable's size does not depend on T
s0=$(date +%s.%N)
"$root/nndc" build "$root/examples/lstm_text.nnd" -o "$t/lstm"
s1=$(date +%s.%N)
awk -v a="$s0" -v b="$s1" -v n="$(wc -c <"$t/lstm/lstm_text-train")" \
	'BEGIN { printf "== LSTM over T = 512 (examples/lstm_text.nnd): compiled in %.2f s, lstm_text-train %d bytes\n", b - a, n }'
