# tests/e2e/rt/build.sh: sourced by tests/e2e/runtime_*.sh (from the repo root). Makes a
# temporary directory $T (removed on exit), builds libnndrt and the two main objects, and links
# the hand-written fake model (softmax_model.c) into $T/fake-train and $T/fake-infer.
T=$(mktemp -d "${TMPDIR:-/tmp}/nnd-rt.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
if ! make -s runtime/libnndrt.a runtime/train_main.o runtime/infer_main.o >"$T/make.log" 2>&1; then
	cat "$T/make.log"; echo "FAIL: cannot build the runtime"; exit 1
fi
for exe in train infer; do
	cc -O2 $NNDC_LDFLAGS -I. -o "$T/fake-$exe" tests/e2e/rt/softmax_model.c runtime/${exe}_main.o \
		runtime/libnndrt.a -ljansson -lopenblas -lz -lm -lpthread || { echo "FAIL: link fake-$exe"; exit 1; }
done
fail() { echo "FAIL: $*"; exit 1; }
need_fm() { [ -r "$FM/train-images-idx3-ubyte.gz" ] || { echo "SKIP: no Fashion-MNIST in $FM"; exit 77; }; }
need_py() { [ -x "$PY" ] || { echo "SKIP: no $PY"; exit 77; }; }
# expect STATUS PATTERN CMD...: runs CMD, checks its exit status and that stderr holds PATTERN
expect() {
	want=$1 pat=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; got=$?
	[ "$got" -eq "$want" ] || { cat "$T/out" "$T/err"; fail "'$*' exited $got, expected $want"; }
	grep -qF -- "$pat" "$T/err" || { cat "$T/err"; fail "'$*': stderr lacks '$pat'"; }
}
