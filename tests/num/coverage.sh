#!/bin/sh
# tests/num/coverage.sh: every operation LANGUAGE.md section 6 names is a built-in of the compiler
# (the table at the bottom of lang/builtins.c, or a fn of stdlib/) and is called by a case of tests/num/ops_vs_torch.py
# (which compares its forward value and gradients with PyTorch's); every arithmetic operator and
# comparison is used by a case too. Every optimiser of section 7, with each argument the design
# gives it, has a run in tests/num/optim_vs_torch.sh, and every schedule, with its arguments, one in
# tests/e2e/recipe_schedules.sh. The names come from the design itself (../shared/design, or
# ../../shared/design beside a worktree, or $NND_DESIGN), so a name added there fails this test
# until it is implemented and compared.
. tests/e2e/lib.sh
lang=
for d in "$NND_DESIGN" ../shared/design ../../shared/design; do
	[ -n "$d" ] && [ -r "$d/LANGUAGE.md" ] && { lang=$(cd "$d" && pwd)/LANGUAGE.md; break; }
done
[ -n "$lang" ] || { echo "skipped: LANGUAGE.md is not in ../shared/design or ../../shared/design (set NND_DESIGN)"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "skipped: no /usr/bin/python3 to read ops_vs_torch.py's cases"; exit 77; }

# Words of section 6's code spans that are not operations (each must still be there: a stale entry
# fails), and why.
NOT_OPS="
x w: the operands in 'x @ w' (the operator @ is checked with the others below)
stride padding dilation groups: the keyword arguments the convolutions and pools share
training: the compile-time flag dropout depends on
scale: grad_reverse's argument, in its description 'multiplied by -scale'
"
# Operations compared with something other than PyTorch's function of the same name, and why.
# Their cases are still in ops_vs_torch.py; this table only says how they are compared.
EXCEPTIONS="
ctc_greedy_decode: no torch op: compared with a Python best-path decoder (greedy() in ops_vs_torch.py)
rand randn: random: the cases check the range of the values (rand in [0, 1), randn finite), not the values
zeros ones full arange: constants without a gradient: their values checked through a product with a parameter
dropout: random: its case checks the definition (every element 0 or x / (1 - p), both present, the gradient through the same mask)
giou: no torch.nn.functional op: compared with torchvision.ops.generalized_box_iou_loss's formula written in torch
"
# The arithmetic operators and comparisons, each as a case must write it
OPERATORS="+ - * / % ** @ == != < <= > >="

# ---- section 6's names: the identifiers of its code spans outside parentheses and strings,
# but argument names (followed by ':') and numbers ----
awk '/^## 6\./ { on = 1; next } /^## 7\./ { on = 0 } on' "$lang" | awk '
{ s = s $0 " " }
END {
	n = length(s); tick = 0; depth = 0; q = 0; tok = ""
	for (i = 1; i <= n + 1; i++) {
		c = i <= n ? substr(s, i, 1) : " "
		if (tick && !q && depth == 0 && c ~ /[a-z0-9_]/) { tok = tok c; continue }
		if (tok != "" && c != ":" && tok !~ /^[0-9]/) print tok
		tok = ""
		if (c == "`") { tick = !tick; depth = 0; continue }
		if (!tick) continue
		if (c == "\"") { q = !q; continue }
		if (q) continue
		if (c == "(") depth++
		else if (c == ")") depth--
	}
}' | sort -u >"$t/words"
[ "$(wc -l <"$t/words")" -ge 100 ] || fail "found only $(wc -l <"$t/words") names in section 6 of $lang"
first() { echo "$1" | sed -n 's/:.*//p' | tr ' ' '\n' | sed '/^$/d'; } # the names before each ':'
first "$NOT_OPS" | sort -u >"$t/not_ops"
first "$EXCEPTIONS" | sort -u >"$t/exceptions"
comm -23 "$t/words" "$t/not_ops" >"$t/ops"
fails=0
for w in $(comm -13 "$t/words" "$t/not_ops") $(comm -13 "$t/ops" "$t/exceptions"); do
	echo "FAIL: '$w' is in a table of this script but not in section 6 of LANGUAGE.md"; fails=$((fails + 1))
done

# ---- the compiler's built-ins: the names of lang/builtins.c's table and the standard library's fns ----
{ awk '/^static const Builtin builtins\[\] = \{/ { on = 1; next } on && /^};/ { on = 0 } on' lang/builtins.c |
	grep -o '[{(]"[a-z0-9_]*"' | tr -d '{("'; sed -n 's/^fn \([a-z0-9_]*\).*/\1/p' stdlib/*.nnd; } | sort -u >"$t/builtins"

# ---- the expressions of ops_vs_torch.py's cases: the second field of each case tuple of CASES and
# the first of each SPECIAL entry (which replaces a case's expression) ----
/usr/bin/python3 - tests/num/ops_vs_torch.py >"$t/exprs" <<'PY' || fail "cannot read the cases of ops_vs_torch.py"
import ast, sys
tree = ast.parse(open(sys.argv[1]).read())
def text(n):  # a string, or the constant parts of an f-string
    if isinstance(n, ast.Constant) and isinstance(n.value, str):
        return n.value
    if isinstance(n, ast.JoinedStr):
        return " ".join(text(v) or "" for v in n.values)
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SPECIAL":
        for v in node.value.values:
            if text(v.elts[0]):
                print(text(v.elts[0]))
    elif isinstance(node, (ast.Assign, ast.AugAssign)) and getattr(getattr(node, "target", None) or node.targets[0], "id", "") == "CASES":
        for case in node.value.elts:
            if text(case.elts[1]):
                print(text(case.elts[1]))
PY
grep -o '[a-z_][a-z0-9_]*(' "$t/exprs" | tr -d '(' | sort -u >"$t/called"
[ "$(wc -l <"$t/exprs")" -ge 100 ] || fail "found only $(wc -l <"$t/exprs") case expressions in ops_vs_torch.py"

nops=0 ncmp=0 nbuiltin=0
for op in $(cat "$t/ops"); do
	nops=$((nops + 1))
	grep -qx "$op" "$t/builtins" && nbuiltin=$((nbuiltin + 1)) || { echo "FAIL: '$op' (LANGUAGE.md section 6) is not a built-in (lang/builtins.c) nor a fn of stdlib/"; fails=$((fails + 1)); }
	if grep -qx "$op" "$t/called"; then
		grep -qx "$op" "$t/exceptions" || ncmp=$((ncmp + 1))
	else
		echo "FAIL: '$op' (LANGUAGE.md section 6) has no case in tests/num/ops_vs_torch.py"; fails=$((fails + 1))
	fi
done
set -f # the operators are not file patterns
for o in $OPERATORS; do
	grep -qF -- "a $o b" "$t/exprs" || { echo "FAIL: no case of ops_vs_torch.py writes 'a $o b'"; fails=$((fails + 1)); }
done

# ---- section 7: optimisers with their arguments, schedules with theirs ----
sect7=$(awk '/^## 7\./ { on = 1; next } /^## 8\./ { on = 0 } on' "$lang")
# the code span of the item "- Optimisers:" (or "- Schedules:"), over its lines
span() { echo "$sect7" | awk -v h="^- $1:" '$0 ~ h { on = 1 } on && /^- / && $0 !~ h { on = 0 } on' | tr '\n' ' ' |
	sed 's/[^`]*`//; s/`.*//'; }
optims=$(span Optimisers)
scheds=$(span Schedules)
# NAME(ARGS) and bare NAME items -> "NAME arg arg"; '...' (adamw: adam's arguments) expands to
# the arguments of the item before
items() { echo "$1" | sed 's/)/)\n/g' | sed 's/^ *//' | awk '
	NF == 0 { next }
	{ while (match($0, /^[a-z0-9_]+ /)) { print substr($0, 1, RLENGTH - 1); $0 = substr($0, RLENGTH + 1) } }
	/\(/ { name = substr($0, 1, index($0, "(") - 1); a = substr($0, index($0, "(") + 1); sub(/\).*/, "", a)
	       gsub(/[:,]/, " ", a); if (a ~ /\.\.\./) a = prev; prev = a; print name " " a; next }
	NF { print $1 }'; }
# the runs, their continued lines joined
sed -e :a -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' tests/num/optim_vs_torch.sh >"$t/optim_runs"
sed -e :a -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' tests/e2e/recipe_schedules.sh >"$t/sched_runs"
nopt=0
for item in $(items "$optims" | tr ' ' ':'); do
	name=${item%%:*}; nopt=$((nopt + 1))
	grep -q "^check $name '" "$t/optim_runs" || { echo "FAIL: optimiser '$name' has no run in tests/num/optim_vs_torch.sh"; fails=$((fails + 1)); continue; }
	for a in $(echo "${item#"$name"}" | tr ':' ' '); do
		grep "^check $name '" "$t/optim_runs" | grep -q " $a=" ||
			{ echo "FAIL: no run of tests/num/optim_vs_torch.sh gives $name the argument $a"; fails=$((fails + 1)); }
	done
done
nsch=0
for item in $(items "$scheds" | tr ' ' ':'); do
	name=${item%%:*}; nsch=$((nsch + 1))
	grep -q "^run [a-z]* '[^']*' $name " "$t/sched_runs" || { echo "FAIL: schedule '$name' has no run in tests/e2e/recipe_schedules.sh"; fails=$((fails + 1)); continue; }
	for a in $(echo "${item#"$name"}" | tr ':' ' '); do
		grep "^run [a-z]* '[^']*' $name " "$t/sched_runs" | grep -q " $a=" ||
			{ echo "FAIL: no run of tests/e2e/recipe_schedules.sh gives $name the argument $a"; fails=$((fails + 1)); }
	done
done
[ "$nopt" -ge 6 ] && [ "$nsch" -ge 6 ] || fail "found only $nopt optimisers and $nsch schedules in section 7 of $lang"

echo "coverage: $nops operations of LANGUAGE.md section 6, $nbuiltin of them built-ins; $ncmp compared with PyTorch's function, $(wc -l <"$t/exceptions") otherwise (the table in tests/num/coverage.sh); $(echo $OPERATORS | wc -w) operators; $nopt optimisers and $nsch schedules of section 7 against torch.optim and its lr_scheduler"
[ $fails = 0 ] || { echo "FAIL: $fails gaps"; exit 1; }
