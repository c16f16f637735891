#!/bin/sh
# Knowledge distillation with a frozen teacher (examples/distill_fashion.nnd):
# - the teacher is examples/mlp_fashion.nnd trained here for one epoch (~1.5 s);
# - the student trains one epoch with the teacher loaded from teacher.safetensors: its
#   checkpoint holds the teacher's tensors (teacher.fc1.weight ...) bit-identical to the file,
#   and its validation accuracy is sane (0.85 measured; the bound is 0.80);
# - resume needs no teacher file (the checkpoint is self-contained); infer runs the student;
# - a teacher file with a missing tensor or a wrong shape is refused naming file and tensor;
# - compile errors: frozen without from, from without frozen, the teacher updating its state.
. tests/e2e/lib.sh
need_fm
py=/usr/bin/python3
cd "$t"
"$root/nndc" build "$root/examples/mlp_fashion.nnd" -o . || fail "nndc build mlp_fashion"
./fashion-train --epochs 1 --quiet --out teacher.safetensors > log 2>&1 || { cat log; fail "fashion-train"; }
echo "teacher: $(cat log)"
"$root/nndc" build "$root/examples/distill_fashion.nnd" -o . || fail "nndc build distill_fashion"
./distill-train --epochs 1 --quiet --out student.safetensors > log 2>&1 || { cat log; fail "distill-train"; }
echo "student: $(cat log)"
acc=$(sed -n 's/.*valid loss [0-9.]*  accuracy \([0-9.]*\).*/\1/p' log | tail -n 1)
[ -n "$acc" ] || fail "no validation accuracy in the log"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.80) }' || fail "student accuracy $acc < 0.80"

# safetensors -> {name: bytes}, with python's json and struct only
cat > st.py <<'PYEOF'
import json, struct, sys
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
t, s = load(sys.argv[1]), load(sys.argv[2])
names = sorted(k for k in s if k.startswith("teacher."))
assert names == sorted("teacher." + k for k in t), (names, sorted(t))
for k in names:
    assert s[k] == t[k[len("teacher."):]], "teacher tensor %s changed" % k
students = sorted(k for k in s if not k.startswith("teacher."))
assert students == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"], students
print("ok: %d teacher tensors bit-identical to %s; student tensors %s" % (len(names), sys.argv[1], ", ".join(students)))
PYEOF
$py st.py teacher.safetensors student.safetensors || fail "the teacher in the student's checkpoint"

# resume without the teacher file: the checkpoint holds it
./distill-train --steps 100 --quiet --out a.safetensors > log 2>&1 || { cat log; fail "distill-train --steps 100"; }
mv teacher.safetensors keep.safetensors
./distill-train --steps 150 --quiet --resume a.safetensors --out b.safetensors > log 2>&1 || { cat log; fail "resume without the teacher file"; }
$py st.py keep.safetensors b.safetensors > /dev/null || fail "teacher after resume"
echo "ok: resumed without teacher.safetensors"
./distill-infer --weights student.safetensors --idx "$fm/t10k-images-idx3-ubyte.gz" --eval --labels "$fm/t10k-labels-idx1-ubyte.gz" > log 2>&1 || { cat log; fail "distill-infer --eval"; }
grep -q "accuracy 0\.[89]" log || { cat log; fail "distill-infer --eval: $(cat log)"; }
echo "ok: infer: $(cat log)"

# a missing teacher file, a missing tensor, a wrong shape
rc=0; ./distill-train --steps 1 --quiet > log 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "teacher.safetensors: cannot open" log || { cat log; fail "missing teacher file: status $rc"; }
echo "ok: $(cat log)"
$py - keep.safetensors teacher.safetensors <<'PYEOF' || fail "writing a teacher without fc3"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
out, data = {}, b""
for k, v in h.items():
    if k == "__metadata__" or k.startswith("fc3."):
        continue
    x = b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
    out[k] = dict(v, data_offsets=[len(data), len(data) + len(x)])
    data += x
j = json.dumps(out).encode()
j += b" " * (-len(j) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(j)) + j + data)
PYEOF
rc=0; ./distill-train --steps 1 --quiet > log 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "teacher.safetensors: missing tensor 'fc3.weight'" log || { cat log; fail "teacher file without fc3: status $rc"; }
echo "ok: $(cat log)"
sed 's/hidden: 256) from/hidden: 128) from/' "$root/examples/distill_fashion.nnd" > small.nnd
"$root/nndc" build small.nnd -o . || fail "nndc build small.nnd"
cp keep.safetensors teacher.safetensors
rc=0; ./distill-train --steps 1 --quiet > log 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "teacher.safetensors: tensor 'fc1.weight' has shape \[256, 784\], the model expects \[128, 784\]" log ||
	{ cat log; fail "teacher of the wrong shape: status $rc"; }
echo "ok: $(cat log)"

# compile errors
expect() {
	sed "$1" "$root/examples/distill_fashion.nnd" > e.nnd
	if "$root/nndc" build e.nnd -o . > log 2>&1; then fail "'$1' was accepted"; fi
	grep -qF -- "$2" log || { cat log; fail "'$1': expected '$2'"; }
	echo "ok: $(head -n 1 log)"
}
expect 's/ from "teacher.safetensors" frozen/ frozen/' "a frozen model needs its weights: expected teacher = Module(...) from"
expect 's/ from "teacher.safetensors" frozen/ from "teacher.safetensors"/' "a second model that is trained is not compiled yet"
expect 's/ from "teacher.safetensors" frozen//' "unknown recipe field 'teacher'"
expect 's/Mlp(hidden: 256) from/3 from/' "'teacher' must be a module"
expect 's/model     = Student(hidden: 64)/model     = Student(hidden: 64) from "x.safetensors"/' "recipe field 'model' from a file or frozen is not compiled yet"
expect 's/^    h = relu(fc2(h))/    h = relu(fc2(h))\n    count := count + 1.0/; s/^  fc3 = Linear(hidden, classes)/  fc3 = Linear(hidden, classes)\n  state count: f32[1]/' \
	"state 'teacher.count' belongs to a frozen model, which keeps the values of its file"
