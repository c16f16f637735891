"""Checks the learning rate of every step in nnd's run log (--log run.csv, column lr) against
torch.optim.lr_scheduler (LambdaLR for the warm-ups and for transformers'
get_linear_schedule_with_warmup).

  recipe_schedules.py RUN.csv LR TOTAL SCHEDULE key=value...
"""
import csv, math, sys
import torch

def reference(name, lr, total, kw):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    S = torch.optim.lr_scheduler
    w = int(kw.get("warmup", 0))
    if name == "constant":
        s = S.LambdaLR(opt, lambda t: (t + 1) / w if t < w else 1.0)
    elif name == "step" and w == 0:
        s = S.StepLR(opt, step_size=int(kw["every"]), gamma=kw["gamma"])
    elif name == "step":
        s = S.LambdaLR(opt, lambda t: (t + 1) / w if t < w else kw["gamma"] ** ((t - w) // int(kw["every"])))
    elif name == "exponential" and w == 0:
        s = S.ExponentialLR(opt, gamma=kw["gamma"])
    elif name == "exponential":
        s = S.LambdaLR(opt, lambda t: (t + 1) / w if t < w else kw["gamma"] ** (t - w))
    elif name == "cosine" and w == 0:
        s = S.CosineAnnealingLR(opt, T_max=total - 1, eta_min=kw.get("min_lr", 0.0))
    elif name == "cosine":
        m = kw.get("min_lr", 0.0) / lr
        s = S.LambdaLR(opt, lambda t: (t + 1) / w if t < w else
                       m + (1 - m) * 0.5 * (1 + math.cos(math.pi * min(1.0, (t - w) / (total - 1 - w)))))
    elif name == "linear":  # transformers.get_linear_schedule_with_warmup
        s = S.LambdaLR(opt, lambda t: t / max(1, w) if t < w else max(0.0, (total - t) / max(1, total - w)))
    elif name == "onecycle":
        s = S.OneCycleLR(opt, max_lr=kw["max_lr"], total_steps=total, cycle_momentum=False)
    else:
        raise SystemExit(f"unknown schedule {name}")
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return out

def main():
    path, lr, total, name = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    kw = {k: float(v) for k, v in (a.split("=") for a in sys.argv[5:])}
    with open(path) as f:
        ours = [float(r["lr"]) for r in csv.DictReader(f)]
    ref = reference(name, lr, total, kw)
    if len(ours) != total:
        raise SystemExit(f"FAIL: {path} has {len(ours)} steps, expected {total}")
    worst, at = 0.0, 0
    for i, (a, b) in enumerate(zip(ours, ref)):
        d = abs(a - b) / max(abs(b), 1e-12) if b != 0 or a != 0 else 0.0
        if d > worst:
            worst, at = d, i
    print(f"{name} {' '.join(sys.argv[5:])}: {total} steps, worst relative difference {worst:.3g} "
          f"(step {at}: nnd {ours[at]:.9g}, torch {ref[at]:.9g})")
    if worst > 1e-6:
        raise SystemExit(f"FAIL: the {name} schedule differs from PyTorch's")

main()
