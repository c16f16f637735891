#!/bin/sh
# tests/e2e/nndc_reference.sh: every example of lang/REFERENCE.md fenced as ```nnd compiles
# (`nndc check` exits 0 with no message).
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
awk -v dir="$T" '/^```nnd$/ { n++; f = sprintf("%s/ex%02d.nnd", dir, n); inb = 1; next }
                 /^```/ { inb = 0; next }
                 inb { print > f }' lang/REFERENCE.md
n=$(ls "$T" | wc -l)
[ "$n" -ge 2 ] || { echo "FAIL: only $n examples found in lang/REFERENCE.md"; exit 1; }
fail=0
for f in "$T"/ex*.nnd; do
	if ! ./nndc check "$f" >"$T/out" 2>&1 || [ -s "$T/out" ]; then
		echo "FAIL: example $(basename "$f") of lang/REFERENCE.md:"; cat "$T/out"; fail=1
	fi
done
[ $fail = 0 ] && echo "ok: $n examples of lang/REFERENCE.md compile"
exit $fail
