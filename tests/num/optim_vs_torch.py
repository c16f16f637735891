"""Checks nnd's optimisers against torch.optim (Lion against the reference of Chen et al. 2023, as
in the lion-pytorch package): same initial weights (the checkpoint nnd wrote with --steps 0),
same 64 examples as one batch every step (so the order within it does not matter), STEPS steps,
then compares the weights with nnd's checkpoint. PyTorch runs in float64, so that the
difference measures nnd's float32 error alone (PyTorch's own float32 run is about as far from
the float64 one as nnd's is). The difference of a tensor is
max|nnd - torch| / max|torch|; all must be below 1e-5. Reads safetensors with json+struct (nndio.py).

  optim_vs_torch.py INIT AFTER images.gz labels.gz STEPS OPTIMIZER key=value...
  (values as torch takes them: betas=0.9,0.999  centered=1)
group=fc1/sgd/lr=0.1/momentum=0.9[/step=EVERY:GAMMA] puts the layers named (fc1, or fc1+fc2)
in a parameter group of their own, with its optimiser, its arguments and optionally a step
schedule (the others keep OPTIMIZER and key=value): one torch optimiser with param groups when
every group uses the same optimiser, one optimiser per group otherwise; schedules by LambdaLR.
Two more keys are not the optimiser's: clip=X runs torch.nn.utils.clip_grad_norm_(params, X) before
each step (and requires that it clipped at least once); frozen=fc1,fc2 trains only the other
layers in torch and requires nnd's frozen tensors to be bit-identical to INIT.
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # nndio
from nndio import load_safetensors, read_idx
import torch


class Lion(torch.optim.Optimizer):
    """Chen et al. 2023, 'Symbolic Discovery of Optimization Algorithms', as lion-pytorch does it"""
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, wd, (b1, b2) = group["lr"], group["weight_decay"], group["betas"]
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                p.mul_(1 - lr * wd)
                update = m.clone().mul_(b1).add(p.grad, alpha=1 - b1).sign_()
                p.add_(update, alpha=-lr)
                m.mul_(b2).add_(p.grad, alpha=1 - b2)

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
              "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad, "lion": Lion}

def parse_kwargs(args):
    kw = {}
    for a in args:
        k, v = a.split("=")
        if k == "betas":
            kw[k] = tuple(float(x) for x in v.split(","))
        elif k in ("centered", "nesterov"):
            kw[k] = v == "1"
        else:
            kw[k] = float(v)
    return kw

def main():
    init, after, images, labels, steps, name = sys.argv[1:7]
    special = ("clip=", "frozen=", "group=")
    kw = parse_kwargs([a for a in sys.argv[7:] if not a.startswith(special)])
    extra = dict(a.split("=", 1) for a in sys.argv[7:] if a.startswith(("clip=", "frozen=")))
    groups = [a[len("group="):].split("/") for a in sys.argv[7:] if a.startswith("group=")]
    clip = float(extra.get("clip", 0))
    frozen = [f for f in extra.get("frozen", "").split(",") if f]
    steps = int(steps)
    w0, w1 = load_safetensors(init), load_safetensors(after)
    torch.set_default_dtype(torch.float64)
    x = torch.from_numpy(read_idx(images).astype(np.float64).reshape(-1, 784) / 255.0)
    y = torch.from_numpy(read_idx(labels).astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                                torch.nn.ReLU(), torch.nn.Linear(32, 10))
    names = {"0.weight": "fc1.weight", "0.bias": "fc1.bias", "2.weight": "fc2.weight",
             "2.bias": "fc2.bias", "4.weight": "fc3.weight", "4.bias": "fc3.bias"}
    model.load_state_dict({k: torch.from_numpy(w0[v].astype(np.float64)) for k, v in names.items()})
    for k, p in model.named_parameters():
        p.requires_grad_(names[k].split(".")[0] not in frozen)
    trained = [p for p in model.parameters() if p.requires_grad]
    # (layers, optimiser, kwargs, step schedule or None); the first is every layer no group names
    spec = [(None, name, kw, None)]
    for g in groups:
        step = [a[len("step="):] for a in g[2:] if a.startswith("step=")]
        spec.append((g[0].split("+"), g[1], parse_kwargs([a for a in g[2:] if not a.startswith("step=")]),
                     tuple(float(v) for v in step[0].split(":")) if step else None))
    grouped = {l for s in spec[1:] for l in s[0]}
    def members(layers):
        return [p for k, p in model.named_parameters() if p.requires_grad and
                (names[k].split(".")[0] in layers if layers else names[k].split(".")[0] not in grouped)]
    def factor(sched):
        return (lambda t: sched[1] ** (t // int(sched[0]))) if sched else (lambda t: 1.0)
    if len({s[1] for s in spec}) == 1:
        # kw as the defaults too: torch's Adagrad fills its state from the constructor's argument
        opts = [OPTIMIZERS[name]([dict(params=members(s[0]), **s[2]) for s in spec], **kw)]
        scheds = [torch.optim.lr_scheduler.LambdaLR(opts[0], [factor(s[3]) for s in spec])
                  if any(s[3] for s in spec) else None]
    else:
        opts = [OPTIMIZERS[s[1]](members(s[0]), **s[2]) for s in spec]
        scheds = [torch.optim.lr_scheduler.LambdaLR(o, factor(s[3])) if s[3] else None for o, s in zip(opts, spec)]
    clipped = 0
    for _ in range(steps):
        for opt in opts:
            opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        if clip:
            clipped += float(torch.nn.utils.clip_grad_norm_(trained, clip)) > clip
        for opt, sched in zip(opts, scheds):
            opt.step()
            if sched:
                sched.step()
    if clip and not clipped:
        print(f"FAIL: the gradient norm never exceeded {clip}: clipping is not tested")
        sys.exit(1)
    worst, moved = 0.0, 0.0
    for k, v in names.items():
        if v.split(".")[0] in frozen:
            if not np.array_equal(w1[v].view(np.uint32), w0[v].view(np.uint32)):
                print(f"FAIL: frozen {v} changed")
                sys.exit(1)
            continue
        ref = model.state_dict()[k].numpy()
        rel = np.abs(w1[v] - ref).max() / np.abs(ref).max()
        worst = max(worst, rel)
        moved = max(moved, np.abs(ref - w0[v]).max() / np.abs(ref).max())
    desc = " ".join(sys.argv[7:])
    print(f"{name} {desc}: worst relative difference {worst:.3g} after {steps} steps "
          f"(the weights moved by up to {moved:.3g}"
          + (f"; clipped in {clipped} of {steps} steps" if clip else "")
          + (f"; {','.join(frozen)} bit-identical" if frozen else "") + ")")
    if not worst < 1e-5:
        print(f"FAIL: nnd's {name} differs from PyTorch's by more than 1e-5")
        sys.exit(1)
    if not moved > 1e-3:
        print(f"FAIL: the weights barely moved ({moved:.3g}): the comparison proves nothing")
        sys.exit(1)

main()
