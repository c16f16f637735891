#!/bin/sh
# tests/e2e/ir_constructs.sh: the table of tests/lit/ir/README.md maps every construct of the
# language to goldens. Each row must name at least one `file.nnd`, and each file it names must
# exist in tests/lit/ir/ with a RUN: line and a FileCheck line (CHECK or a --check-prefix's).
. tests/e2e/lib.sh
dir=tests/lit/ir
fail=0 rows=0 files=0
grep '^| .* | .* | .* |$' "$dir/README.md" | grep -v '^| construct |' | grep -v '^| ---' >"$t/rows"
while IFS= read -r row; do
	rows=$((rows + 1))
	construct=$(printf '%s\n' "$row" | cut -d'|' -f2 | sed 's/^ *//; s/ *$//')
	named=$(printf '%s\n' "$row" | cut -d'|' -f3 | grep -o '`[A-Za-z0-9_./-]*\.nnd`' | tr -d '`')
	[ -n "$named" ] || { echo "FAIL: README row '$construct' names no golden"; fail=1; }
	for f in $named; do
		files=$((files + 1))
		if [ ! -f "$dir/$f" ]; then
			echo "FAIL: README row '$construct' names $f, which does not exist"; fail=1
		elif case "$f" in Inputs/*) false ;; *) true ;; esac; then
			prefixes=$(grep -o 'check-prefix[= ][A-Z]*' "$dir/$f" | sed 's/.*[= ]//' | sort -u)
			grep -q 'RUN:' "$dir/$f" || { echo "FAIL: $f has no RUN: line"; fail=1; }
			ok=0
			for p in CHECK $prefixes; do grep -q "// $p\(-[A-Z]*\)\?:" "$dir/$f" && ok=1; done
			[ $ok = 1 ] || { echo "FAIL: $f has no CHECK line"; fail=1; }
		fi
	done
done <"$t/rows"
[ $rows -ge 20 ] || { echo "FAIL: only $rows construct rows in $dir/README.md"; fail=1; }
[ $fail = 0 ] && echo "ok: $rows constructs, $files golden files named, all present with CHECK lines"
exit $fail
