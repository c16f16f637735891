#!/bin/sh
# tests/e2e/nndc_reference.sh: every example of lang/REFERENCE.md fenced as ```nnd compiles
# (`nndc check` exits 0 with no message).
. tests/e2e/lib.sh
awk -v dir="$t" '/^```nnd$/ { n++; f = sprintf("%s/ex%02d.nnd", dir, n); inb = 1; next }
                 /^```/ { inb = 0; next }
                 inb { print > f }' lang/REFERENCE.md
n=$(ls "$t" | wc -l)
[ "$n" -ge 2 ] || { echo "FAIL: only $n examples found in lang/REFERENCE.md"; exit 1; }
fail=0
for f in "$t"/ex*.nnd; do
	if ! ./nndc check "$f" >"$t/out" 2>&1 || [ -s "$t/out" ]; then
		echo "FAIL: example $(basename "$f") of lang/REFERENCE.md:"; cat "$t/out"; fail=1
	fi
done
[ $fail = 0 ] && echo "ok: $n examples of lang/REFERENCE.md compile"
exit $fail
