# tests/e2e/rt/build.sh: sourced by tests/e2e/runtime_*.sh (from the repo root). Takes
# tests/e2e/lib.sh's prelude (its temporary directory as $T), builds libnndrt and the two main
# objects, and links the hand-written fake model (softmax_model.c) into $T/fake-train and
# $T/fake-infer.
. tests/e2e/lib.sh
T=$t
PY=/usr/bin/python3
FM=$fm
if ! make -s runtime/libnndrt.a runtime/train_main.o runtime/infer_main.o >"$T/make.log" 2>&1; then
	cat "$T/make.log"; echo "FAIL: cannot build the runtime"; exit 1
fi
for exe in train infer; do
	cc -O2 $NNDC_LDFLAGS -I. -o "$T/fake-$exe" tests/e2e/rt/softmax_model.c runtime/${exe}_main.o \
		runtime/libnndrt.a -ljansson -lopenblas -lz -lm -lpthread || { echo "FAIL: link fake-$exe"; exit 1; }
done
need_py() { [ -x "$PY" ] || { echo "SKIP: no $PY"; exit 77; }; }
# expect STATUS PATTERN CMD...: runs CMD, checks its exit status and that stderr holds PATTERN
expect() {
	want=$1 pat=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; got=$?
	[ "$got" -eq "$want" ] || { cat "$T/out" "$T/err"; fail "'$*' exited $got, expected $want"; }
	grep -qF -- "$pat" "$T/err" || { cat "$T/err"; fail "'$*': stderr lacks '$pat'"; }
}
