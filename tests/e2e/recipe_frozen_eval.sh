#!/bin/sh
# A frozen teacher runs in eval mode (lang/elab.c): a teacher with BatchNorm1d and dropout(p: 0.5),
# its weights and running statistics written by PyTorch (num_batches_tracked an I64 tensor), a
# student trained 3 steps to match it (mse). The loss of every step in --log equals PyTorch's
# with teacher.eval() (dropout off, the running statistics used), and the checkpoint holds the
# teacher's tensors unchanged (running statistics and num_batches_tracked included).
set -e
. tests/e2e/lib.sh
need_torch
cd "$t"
cat > fe.nnd <<'NND'
import std.nn

module Teacher() {
  fc = Linear(6, 4)
  bn = BatchNorm1d(4)
  forward(x: f32[B, 6]) -> f32[B, 4] { return dropout(bn(fc(x)), p: 0.5) }
}

train fe {
  model     = Linear(6, 4)
  teacher   = Teacher() from "teacher.safetensors" frozen
  data      = npy(x: "x.npy")
  batch     = 8
  optimizer = sgd(lr: 0.1)
  loss(x: f32[B, 6]) -> f32 { return mse(model(x), teacher(x)) }
}
NND
cat > fe.py <<'PY'
import json, struct, sys
import numpy as np, torch
sys.path.insert(0, sys.argv[2] + "/tests/num"); import nndio
torch.manual_seed(3)
teacher = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.BatchNorm1d(4), torch.nn.Dropout(0.5))
with torch.no_grad():
    teacher[1].running_mean.copy_(torch.randn(4)); teacher[1].running_var.copy_(torch.rand(4) + 0.5)
    teacher[1].weight.copy_(torch.randn(4)); teacher[1].num_batches_tracked.fill_(12)
names = {"0": "fc", "1": "bn"}
sd = {names[k.split(".")[0]] + k[1:]: v for k, v in teacher.state_dict().items()}
if sys.argv[1] == "write":
    np.save("x.npy", np.random.default_rng(5).standard_normal((8, 6)).astype(np.float32))
    header, data = {}, b""
    for k, v in sd.items():
        a = v.numpy()
        header[k] = {"dtype": {"float32": "F32", "int64": "I64"}[str(a.dtype)], "shape": list(a.shape),
                     "data_offsets": [len(data), len(data) + a.nbytes]}
        data += a.tobytes()
    h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
    open("teacher.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + data)
    sys.exit(0)
w0, w3 = nndio.load_safetensors("init.st"), nndio.load_safetensors("after.st")
for k, v in sd.items():
    assert (w3["teacher." + k] == v.numpy().astype(np.float32)).all(), "teacher tensor %s changed" % k
student = torch.nn.Linear(6, 4)
student.load_state_dict({k: torch.from_numpy(w0[k]) for k in ("weight", "bias")})
opt = torch.optim.SGD(student.parameters(), lr=0.1)
teacher.eval()
x = torch.from_numpy(np.load("x.npy"))
logged = [float(r.split(",")[2]) for r in open("run.csv").read().split("\n")[1:] if r]
worst = 0.0
for step in range(3):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(student(x), teacher(x).detach())
    loss.backward(); opt.step()
    worst = max(worst, abs(logged[step] - loss.item()) / abs(loss.item()))
print("ok: frozen teacher in eval mode: losses %s against torch's with teacher.eval(): worst relative difference %.2g; "
      "its %d tensors unchanged" % (", ".join("%.5g" % l for l in logged), worst, len(sd)))
assert len(logged) == 3 and worst < 1e-5
PY
/usr/bin/python3 fe.py write "$root" || fail "writing the teacher"
"$root/nndc" build fe.nnd -o .
./fe-train --steps 0 --out init.st --quiet
./fe-train --steps 3 --out after.st --quiet --log run.csv
/usr/bin/python3 fe.py check "$root" || fail "the frozen teacher is not in eval mode or changed"
