#!/bin/sh
# tests/e2e/nndc_cli.sh: nndc's command line: --help, COMMAND --help, --version, exit codes
# (0 ok, 1 user error, 2 usage, 3 internal error), `ir --format dot`, `ir --graph G --after P`.
. tests/e2e/lib.sh
# expect STATUS TEXT CMD...: CMD exits STATUS and its stdout+stderr contain TEXT
expect() {
	want=$1 text=$2; shift 2
	"$@" >"$t/out" 2>&1; rc=$?
	[ $rc = "$want" ] || { cat "$t/out"; fail "'$*' exited $rc, expected $want"; }
	grep -qF -- "$text" "$t/out" || { cat "$t/out"; fail "'$*' did not print '$text'"; }
}
expect 0 "usage: nndc COMMAND" ./nndc --help
expect 0 "exit status: 0 ok, 1 an error" ./nndc -h
for c in build run check ir opt parse passes; do
	expect 0 "usage: nndc $c" ./nndc $c --help
done
expect 0 "--passes=P1,P2" ./nndc --help opt
expect 0 "nndc 0." ./nndc --version
expect 2 "no command given" ./nndc
expect 2 "unknown command 'frobnicate'" ./nndc frobnicate x.nnd
expect 2 "unknown option '--nope'" ./nndc check --nope x.nnd
expect 2 "'check' needs a .nnd file" ./nndc check
expect 2 "option '-o' needs a value" ./nndc build x.nnd -o
expect 2 "--format takes text or dot" ./nndc ir x.nnd --format png
expect 2 "flags after '--' are for 'run'" ./nndc build x.nnd -- --epochs 1
expect 2 "unknown pass 'nope'" ./nndc ir examples/mlp_fashion.nnd --graph loss --after nope
expect 1 "cannot open" ./nndc check "$t/missing.nnd"
expect 1 "sema_unknown_name.nnd:11:26: error: unknown name 'modle'" ./nndc check tests/diag/sema_unknown_name.nnd
expect 1 "sema_unknown_name.nnd:11:26: error: unknown name 'modle'" ./nndc build tests/diag/sema_unknown_name.nnd -o "$t"
printf 'sym B\ngraph g(%%0 x: f32[B]) {\n  %%1 = frob %%0 : f32[B]\n  return y = %%1\n}\n' >"$t/bad.nir"
expect 1 "bad.nir:3:8: unknown op 'frob'" ./nndc opt "$t/bad.nir" --passes=dce
expect 1 "no graph named 'nope' (graphs: loss eval predict step)" ./nndc ir examples/mlp_fashion.nnd --graph nope
expect 0 "cse" ./nndc passes

# dot output: one digraph per graph, edges, the output node
./nndc ir examples/mlp_fashion.nnd --format dot >"$t/all.dot" || fail "ir --format dot"
[ "$(grep -c '^digraph' "$t/all.dot")" = 4 ] || fail "expected 4 digraphs"
./nndc ir examples/mlp_fashion.nnd --graph loss --format dot >"$t/loss.dot" || fail "ir --graph loss --format dot"
grep -q 'n8 -> n9;' "$t/loss.dot" || fail "no edge n8 -> n9 in the loss graph"
grep -q 'label="loss"' "$t/loss.dot" || fail "no output node"
if command -v dot >/dev/null; then dot -Tsvg "$t/loss.dot" >/dev/null || fail "dot rejects the output"; fi

# --graph G --after P prints G alone, after P
./nndc ir tests/lit/passes/cse_dce.nnd --graph loss --after cse >"$t/cse" || fail "ir --after cse"
[ "$(grep -c '^graph' "$t/cse")" = 1 ] || fail "--graph loss --after cse printed $(grep -c '^graph' "$t/cse") graphs"
head -1 "$t/cse" | grep -qx '; after cse' || fail "no '; after cse' header"
grep -q 'exp' "$t/cse" || fail "the dead exp should still be there after cse"
./nndc ir tests/lit/passes/cse_dce.nnd --graph loss --after dce | grep -q exp && fail "exp survived dce"
# the man page renders without warnings
if command -v groff >/dev/null; then
	groff -man -ww -z nndc.1 2>"$t/man" && [ ! -s "$t/man" ] || { cat "$t/man"; fail "nndc.1 has troff warnings"; }
fi
echo "ok: nndc command line"
