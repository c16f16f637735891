#!/bin/sh
# tests/e2e/nndc_roundtrip.sh: the textual IR reads back. For every .nnd in examples/, tests/lit
# (the goldens' programs), tests/e2e and tests/num that compiles, at -O0 and -O2: `nndc ir` (the
# whole program: parameters, recipe, parameter groups, graphs) -> `nndc opt --passes=` (read,
# print) gives the same text, and so does the .nir files' own round trip.
. tests/e2e/lib.sh
fail=0 n=0
for f in examples/*.nnd $(find tests/lit tests/e2e tests/num -name '*.nnd' | sort); do
	for O in -O0 -O2; do
		./nndc ir "$f" $O >"$t/a.nir" 2>/dev/null || continue
		grep -q '^graph ' "$t/a.nir" || continue
		if ! ./nndc opt "$t/a.nir" --passes= >"$t/b.nir" 2>"$t/err" || ! cmp -s "$t/a.nir" "$t/b.nir"; then
			echo "FAIL: $f $O: print -> read -> print differs"; cat "$t/err"; diff "$t/a.nir" "$t/b.nir" | head -5
			fail=1
		fi
		n=$((n + 1))
	done
done
for f in $(grep -L 'RUN: not' $(find tests/lit -name '*.nir') | sort); do
	grep -v '^//' "$f" | grep -v '^$' >"$t/a.nir"
	./nndc opt "$t/a.nir" --passes= >"$t/b.nir" 2>"$t/err" || { echo "FAIL: $f does not read"; cat "$t/err"; fail=1; continue; }
	./nndc opt "$t/b.nir" --passes= >"$t/c.nir" 2>"$t/err" && cmp -s "$t/b.nir" "$t/c.nir" || { echo "FAIL: $f: second round trip differs"; fail=1; }
	n=$((n + 1))
done
[ $n -ge 3 ] || { echo "FAIL: only $n programs compiled"; fail=1; }
[ $fail = 0 ] && echo "ok: $n programs print -> read -> print identically"
exit $fail
