#!/bin/sh
# Runs every tests/e2e/*.sh and tests/num/*.sh script (but tests/e2e/lib.sh, their shared prelude);
# each exits 0 on success, 77 when it had to skip (it says why), anything else on failure.
fail=0
for t in tests/num/*.sh tests/e2e/*.sh; do
	[ -f "$t" ] && [ "$t" != tests/e2e/lib.sh ] || continue
	echo "== $t"
	sh "$t"; rc=$?
	if [ $rc -eq 77 ]; then echo "SKIPPED: $t"
	elif [ $rc -ne 0 ]; then echo "FAILED: $t (exit $rc)"; fail=1
	fi
done
exit $fail
