# tests/e2e/lib.sh: the prelude the e2e and num scripts share, sourced from the repository's root
# (`. tests/e2e/lib.sh`): root (that directory), a temporary directory $t removed on exit, fail,
# the Fashion-MNIST directory $fm, checks that skip (exit 77, saying why), and IDX subsets.
root=$(pwd)
t=$(mktemp -d) || exit 1
trap "rm -rf '$t'" EXIT # the directory made here, whatever $t holds later
fm=/usr/share/datasets/fashion-mnist
fail() { echo "FAIL: $*"; exit 1; }
need_torch() {
	/usr/bin/python3 -c "import torch, numpy" 2>/dev/null && return
	echo "skipped: python3-torch or python3-numpy is not installed in /usr/bin/python3"
	exit 77
}
need_fm() { [ -r "$fm/train-images-idx3-ubyte.gz" ] || { echo "skipped: no Fashion-MNIST in $fm"; exit 77; }; }
# subset N: the first N examples of Fashion-MNIST's training set as $t/data-images.gz and
# $t/data-labels.gz (IDX, the names tests/num/sgd_small.nnd's recipe reads)
subset() {
	/usr/bin/python3 "$root/tests/e2e/rt/mkidx.py" subset "$fm/train-images-idx3-ubyte.gz" \
		"$fm/train-labels-idx1-ubyte.gz" "$1" "$t/data-images.gz" "$t/data-labels.gz"
}
