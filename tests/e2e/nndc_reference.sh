#!/bin/sh
# tests/e2e/nndc_reference.sh: the documents' examples compile (`nndc check` exits 0 and prints
# nothing):
# - every example of lang/REFERENCE.md fenced as ```nnd;
# - every code block of the language design, LANGUAGE.md (in shared/design beside the repository,
#   or in $NND_DESIGN): as it is, or completed into a program by the text below (block 6, the
#   compiler's command line, is not a program).
. tests/e2e/lib.sh
ok() { ./nndc check "$1" >"$t/out" 2>&1 && ! [ -s "$t/out" ]; } # silent success
fail=0

mkdir "$t/ref"
awk -v dir="$t/ref" '/^```nnd$/ { n++; f = sprintf("%s/ex%02d.nnd", dir, n); inb = 1; next }
                     /^```/ { inb = 0; next }
                     inb { print > f }' lang/REFERENCE.md
n=$(ls "$t/ref" | wc -l)
[ "$n" -ge 2 ] || { echo "FAIL: only $n examples found in lang/REFERENCE.md"; exit 1; }
for f in "$t"/ref/ex*.nnd; do
	ok "$f" || { echo "FAIL: example $(basename "$f") of lang/REFERENCE.md:"; cat "$t/out"; fail=1; }
done
[ $fail = 0 ] && echo "ok: $n examples of lang/REFERENCE.md compile"

# ---- LANGUAGE.md ----
lang=
for d in "$NND_DESIGN" ../shared/design ../../shared/design; do
	[ -n "$d" ] && [ -r "$d/LANGUAGE.md" ] && { lang=$(cd "$d" && pwd)/LANGUAGE.md; break; }
done
if [ -z "$lang" ]; then
	echo "not checked: LANGUAGE.md is not in ../shared/design or ../../shared/design (set NND_DESIGN)"
	exit $fail
fi
mkdir "$t/lang"
cd "$t/lang" || exit 1
awk '/^```/ { if (inb) { inb = 0; next } n++; f = sprintf("block%d.txt", n); inb = 1; next }
     inb { print > f }' "$lang"
[ "$(ls block*.txt | wc -l)" = 6 ] ||
	{ echo "FAIL: $lang has $(ls block*.txt | wc -l) code blocks; the table in $0 knows 6: update it"; exit 1; }
cat > blocks.nnd <<'NND'
module Block(d: int) {
  fc = Linear(d, d)
  forward(x: f32[B, d]) -> f32[B, d] { return relu(fc(x)) }
}
NND
# 1: the whole program of section 1, as it is
cp block1.txt ex1.nnd
# 2: the declarations before the schematic `module Name(...)`, used by a model
{ awk '/^module /{exit} {print}' block2.txt; cat <<'NND'
module Net() {
  blocks = [Block(D) for i in 0..2]
  up = nn.Linear(D, 2 * D)
  forward(x: f32[B, D]) -> f32[B, D] {
    for b in blocks { x = b(x) }
    let (a, g) = chunk(up(x), 2, axis: 1)
    return gelu(swiglu(a, g))
  }
}
train t {
  model = Net()
  loss(x: f32[B, 128]) -> f32 { return mean(model(x)) }
}
NND
} > ex2.nnd
# 3: the LSTM loop, the body of a function of xw: f32[T, B, 4 * H]
{ echo 'fn lstm(w_hh: f32[H, G], xw: f32[T, B, G]) -> f32[T, B, H] {'; cat block3.txt; cat <<'NND'
  return hs
}
module Lstm(hidden: int) {
  param w_hh: f32[hidden, 4 * hidden] = zeros()
  forward(xw: f32[T, B, 4 * hidden]) -> f32[T, B, hidden] { return lstm(w_hh, xw) }
}
train t {
  model = Lstm(8)
  loss(xw: f32[T, B, 32]) -> f32 { return mean(model(xw)) }
}
NND
} > ex3.nnd
# 4: functions with `grad` blocks, called by a model
{ cat block4.txt; cat <<'NND'
module Quant() {
  param w: f32[4, 4] = zeros()
  forward(x: f32[B, 4]) -> f32[B, 4] { return reverse_grad(round_ste(x @ w), 0.5) }
}
train t {
  model = Quant()
  loss(x: f32[B, 4]) -> f32 { return mean(model(x)) }
}
NND
} > ex4.nnd
# 5: the recipe of section 7, after the modules and the data source it names
{ cat <<'NND'
import std.nn
const SOURCE = idx("images.gz", "labels.gz")
module Big() {
  fc = Linear(3 * 32 * 32, 10)
  forward(x: f32[B, 3, 32, 32]) -> f32[B, 10] { return fc(reshape(x, [B, 3072])) }
}
module Mlp(hidden: int) {
  backbone = Linear(3 * 32 * 32, hidden)
  alpha = Linear(hidden, 10)
  head = Linear(hidden, 10)
  forward(x: f32[B, 3, 32, 32]) -> (f32[B, 10], f32[B, 10]) {
    let h = relu(backbone(reshape(x, [B, 3072])))
    return (alpha(h), head(h))
  }
}
NND
cat block5.txt; } > ex5.nnd
# 6: `nndc build model.nnd ...`: the command line, not a program
cd - >/dev/null || exit 1
good=0
for i in 1 2 3 4 5; do
	f=$t/lang/ex$i.nnd
	if ok "$f"; then good=$((good + 1)); else echo "FAIL: LANGUAGE.md block $i:"; cat "$t/out"; fail=1; fi
done
[ $fail = 0 ] && echo "ok: $good code blocks of LANGUAGE.md compile"
exit $fail
