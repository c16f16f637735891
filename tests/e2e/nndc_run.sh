#!/bin/sh
# tests/e2e/nndc_run.sh: `nndc run` builds into a cache keyed by the file's contents and its
# imports, reuses it, and passes the flags after `--` to the training executable.
. tests/e2e/lib.sh
export XDG_CACHE_HOME="$t/cache"
cp tests/num/sgd_small.nnd "$t/m.nnd"
./nndc run "$t/m.nnd" -- --help >"$t/out" 2>&1 || { cat "$t/out"; fail "nndc run -- --help exited $?"; }
grep -q -- "--epochs" "$t/out" || fail "the training executable's --help was not printed"
[ "$(ls "$t/cache/nnd" | wc -l)" = 1 ] || fail "expected one cache entry"
exe=$(cat "$t"/cache/nnd/*/train-exe)
[ -x "$exe" ] || fail "no executable at $exe"
before=$(stat -c %Y "$exe")
touch -d '2000-01-01' "$exe"
./nndc run "$t/m.nnd" -- --bogus >"$t/out" 2>&1; rc=$?
[ $rc = 2 ] || fail "the executable's exit status (2 for an unknown flag) was not passed on: $rc"
grep -q "unknown flag '--bogus'" "$t/out" || fail "flags after -- did not reach the executable"
[ "$(stat -c %Y "$exe")" != "$before" ] || fail "the cached executable was rebuilt"
[ "$(ls "$t/cache/nnd" | wc -l)" = 1 ] || fail "a second run made a second cache entry"
# a change to the file, or to a file it imports, is a new entry
sed -i 's/hidden: int = 32/hidden: int = 16/' "$t/m.nnd"
./nndc run "$t/m.nnd" -- --help >/dev/null 2>&1 || fail "run after an edit"
[ "$(ls "$t/cache/nnd" | wc -l)" = 2 ] || fail "an edit did not make a new cache entry"
printf 'fn twice(x) { return x + x }\n' >"$t/h.nnd"
sed -i '1i import "h.nnd"' "$t/m.nnd"
./nndc run "$t/m.nnd" -- --help >/dev/null 2>&1 || fail "run with an import"
printf 'fn twice(x) { return 2.0 * x }\n' >"$t/h.nnd"
./nndc run "$t/m.nnd" -- --help >/dev/null 2>&1 || fail "run after editing the import"
[ "$(ls "$t/cache/nnd" | wc -l)" = 4 ] || fail "an edit of an import did not make a new entry"
# errors: the build's diagnostics, exit 1, no cache entry left behind
printf 'train t {\n  model = Nope()\n}\n' >"$t/bad.nnd"
./nndc run "$t/bad.nnd" >"$t/out" 2>&1; rc=$?
[ $rc = 1 ] || fail "a bad file gave exit $rc, expected 1"
grep -q "bad.nnd:1:1: error: recipe .t. has no .loss." "$t/out" || { cat "$t/out"; fail "no diagnostic"; }
[ "$(ls "$t/cache/nnd" | wc -l)" = 4 ] || fail "a failed build left a cache entry"
echo "ok: nndc run and its cache"
