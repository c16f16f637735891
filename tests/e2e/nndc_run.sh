#!/bin/sh
# tests/e2e/nndc_run.sh: `nndc run` builds into a cache keyed by the file's contents and its
# imports, reuses it, and passes the flags after `--` to the training executable.
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export XDG_CACHE_HOME="$T/cache"
cp tests/num/sgd_small.nnd "$T/m.nnd"
./nndc run "$T/m.nnd" -- --help >"$T/out" 2>&1 || { cat "$T/out"; fail "nndc run -- --help exited $?"; }
grep -q -- "--epochs" "$T/out" || fail "the training executable's --help was not printed"
[ "$(ls "$T/cache/nnd" | wc -l)" = 1 ] || fail "expected one cache entry"
exe=$(cat "$T"/cache/nnd/*/train-exe)
[ -x "$exe" ] || fail "no executable at $exe"
before=$(stat -c %Y "$exe")
touch -d '2000-01-01' "$exe"
./nndc run "$T/m.nnd" -- --bogus >"$T/out" 2>&1; rc=$?
[ $rc = 2 ] || fail "the executable's exit status (2 for an unknown flag) was not passed on: $rc"
grep -q "unknown flag '--bogus'" "$T/out" || fail "flags after -- did not reach the executable"
[ "$(stat -c %Y "$exe")" != "$before" ] || fail "the cached executable was rebuilt"
[ "$(ls "$T/cache/nnd" | wc -l)" = 1 ] || fail "a second run made a second cache entry"
# a change to the file, or to a file it imports, is a new entry
sed -i 's/hidden: int = 32/hidden: int = 16/' "$T/m.nnd"
./nndc run "$T/m.nnd" -- --help >/dev/null 2>&1 || fail "run after an edit"
[ "$(ls "$T/cache/nnd" | wc -l)" = 2 ] || fail "an edit did not make a new cache entry"
printf 'fn twice(x) { return x + x }\n' >"$T/h.nnd"
sed -i '1i import "h.nnd"' "$T/m.nnd"
./nndc run "$T/m.nnd" -- --help >/dev/null 2>&1 || fail "run with an import"
printf 'fn twice(x) { return 2.0 * x }\n' >"$T/h.nnd"
./nndc run "$T/m.nnd" -- --help >/dev/null 2>&1 || fail "run after editing the import"
[ "$(ls "$T/cache/nnd" | wc -l)" = 4 ] || fail "an edit of an import did not make a new entry"
# errors: the build's diagnostics, exit 1, no cache entry left behind
printf 'train t {\n  model = Nope()\n}\n' >"$T/bad.nnd"
./nndc run "$T/bad.nnd" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] || fail "a bad file gave exit $rc, expected 1"
grep -q "bad.nnd:1:1: error: recipe .t. has no .loss." "$T/out" || { cat "$T/out"; fail "no diagnostic"; }
[ "$(ls "$T/cache/nnd" | wc -l)" = 4 ] || fail "a failed build left a cache entry"
echo "ok: nndc run and its cache"
