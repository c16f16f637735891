#!/bin/sh
# tests/e2e/nndc_roundtrip.sh: the textual IR reads back. For every .nnd in examples/ and
# tests/lit that compiles, at -O0 and -O2: `nndc ir` -> `nndc opt --passes=` (read, print) gives
# the same text, and so does the .nir files' own round trip.
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
fail=0 n=0
for f in examples/*.nnd $(find tests/lit -name '*.nnd' | sort); do
	for O in -O0 -O2; do
		./nndc ir "$f" $O >"$T/a.nir" 2>/dev/null || continue
		grep -q '^graph ' "$T/a.nir" || continue
		if ! ./nndc opt "$T/a.nir" --passes= >"$T/b.nir" 2>"$T/err" || ! cmp -s "$T/a.nir" "$T/b.nir"; then
			echo "FAIL: $f $O: print -> read -> print differs"; cat "$T/err"; diff "$T/a.nir" "$T/b.nir" | head -5
			fail=1
		fi
		n=$((n + 1))
	done
done
for f in $(grep -L 'RUN: not' $(find tests/lit -name '*.nir') | sort); do
	grep -v '^//' "$f" | grep -v '^$' >"$T/a.nir"
	./nndc opt "$T/a.nir" --passes= >"$T/b.nir" 2>"$T/err" || { echo "FAIL: $f does not read"; cat "$T/err"; fail=1; continue; }
	./nndc opt "$T/b.nir" --passes= >"$T/c.nir" 2>"$T/err" && cmp -s "$T/b.nir" "$T/c.nir" || { echo "FAIL: $f: second round trip differs"; fail=1; }
	n=$((n + 1))
done
[ $n -ge 3 ] || { echo "FAIL: only $n programs compiled"; fail=1; }
[ $fail = 0 ] && echo "ok: $n programs print -> read -> print identically"
exit $fail
