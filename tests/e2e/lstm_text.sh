#!/bin/sh
# examples/lstm_text.nnd: an LSTM over T = 512 bytes is one loop, not 512 copies. It compiles in
# under 5 s, its executables are as large as with T = 64 (within 64 bytes: only immediates
# differ), and a few Adam steps on the text lower the loss. The text is a Vim help file, or a
# generated one where Vim's documentation is not installed.
. tests/e2e/lib.sh
text=/usr/share/vim/vim90/doc/usr_01.txt
if [ ! -r "$text" ]; then
	text=$t/text.txt
	i=0
	while [ $i -lt 300 ]; do
		echo "line $i: the quick brown fox jumps over the lazy dog, and the dog sleeps on." >>"$text"
		i=$((i + 1))
	done
fi
sed "s|/usr/share/vim/vim90/doc/usr_01.txt|$text|" examples/lstm_text.nnd >"$t/t512.nnd"
sed 's/512/64/g' "$t/t512.nnd" >"$t/t64.nnd"
grep -q 'seq: 64' "$t/t64.nnd" || fail "the T = 64 variant was not made"
mkdir "$t/a" "$t/b"
s0=$(date +%s.%N)
"$root/nndc" build "$t/t512.nnd" -o "$t/a" || fail "nndc build (T = 512)"
s1=$(date +%s.%N)
"$root/nndc" build "$t/t64.nnd" -o "$t/b" || fail "nndc build (T = 64)"
secs=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", b - a }')
echo "compile time at T = 512: $secs s"
awk -v s="$secs" 'BEGIN { exit !(s < 5) }' || fail "compiling took $secs s (limit 5 s)"
for exe in lstm_text-train lstm_text-infer; do
	a=$(wc -c <"$t/a/$exe") b=$(wc -c <"$t/b/$exe")
	echo "$exe: $a bytes at T = 512, $b bytes at T = 64"
	d=$((a - b))
	[ ${d#-} -le 64 ] || fail "$exe grows with T ($b -> $a bytes)"
done
cd "$t/a"
./lstm_text-train --steps 8 --valid none --log run.csv --quiet >out 2>&1 || { cat out; fail "lstm_text-train"; }
awk -F, 'NR == 2 { a = $3 } NR > 1 { b = $3; n++ }
         END { printf "8 Adam steps: loss %.4f -> %.4f\n", a, b; exit !(n == 8 && b < 0.8 * a) }' run.csv ||
	fail "the loss did not go down"
