"""examples/mlp_fashion.nnd's recipe in PyTorch: the same model (784-256-256-10, ReLU, PyTorch's
default initialisation, which std.nn's Linear copies), SGD(lr 0.05, momentum 0.9, weight decay
5e-4), batch 64 with the last partial batch kept, and the same cosine schedule (linear warm-up
over 200 steps, then a cosine to 0 at the last step). Prints the test accuracy after each epoch
and a final line `RESULT {json}`.

  /usr/bin/python3 bench/torch_mlp_recipe.py [--epochs 5] [--threads 2] [--seed 1]
"""
import argparse, json, math, os, sys, time
sys.path.insert(0, "/work/shared/bench")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench"))
import torch
import torch.nn as nn
import torch.nn.functional as F
import common as C

def lr_at(step, total, lr, warmup, min_lr=0.0):
    if step < warmup:
        return lr * (step + 1) / warmup
    span = total - 1 - warmup
    p = min(1.0, (step - warmup) / span) if span > 0 else 1.0
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * p))

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr, xte, yte = C.load_fmnist()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    batch = 64
    per_epoch = (len(xtr) + batch - 1) // batch
    total = per_epoch * a.epochs
    gen = torch.Generator().manual_seed(a.seed + 1)
    step = 0
    accs = []
    t0 = time.perf_counter()
    for e in range(a.epochs):
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), batch):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, 0.05, 200)
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
            step += 1
        accs.append(C.test_accuracy(model, xte, yte))
        print(f"epoch {e + 1}/{a.epochs}  test accuracy {accs[-1]:.4f}", flush=True)
    print("RESULT " + json.dumps({"workload": "mlp_recipe", "test_acc": accs, "seconds": time.perf_counter() - t0}))

main()
