#!/bin/sh
# `make install PREFIX=...` gives an nndc that finds its runtime and standard library there.
set -e
. tests/e2e/lib.sh
make -s install PREFIX="$t/prefix" > "$t/make.log" 2>&1 || { cat "$t/make.log"; echo "FAIL: make install"; exit 1; }
cd "$t"
"$t/prefix/bin/nndc" build "$root/examples/mlp_fashion.nnd" -o "$t/out"
[ -x "$t/out/fashion-train" ] && [ -x "$t/out/fashion-infer" ] || { echo "FAIL: installed nndc did not build the executables"; exit 1; }
"$t/out/fashion-train" --help > /dev/null
echo "ok: the installed nndc builds the example"
