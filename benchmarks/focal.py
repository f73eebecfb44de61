"""Full-size runs for chapter 01 (focal loss): speed, stability grid and the three experiments.

Run from the repository root (no extra requirements beyond requirements.txt):

    python -m benchmarks.focal            # full size, about 10 minutes on 2 CPU cores
    python -m benchmarks.focal --quick    # smoke run

Writes ``benchmarks/results/focal.json``. Peers run in this process on the same tensors:
``F.cross_entropy`` (speed target: focal_loss forward+backward ≤ 1.25× on [4096, 1000] logits,
interleaved repeats, median), torchvision's ``sigmoid_focal_loss`` formula (transcribed from its
documentation, since torchvision is not a dependency) and the pre-2023 kornia softmax form
(``log(softmax + eps)``), for the NaN/Inf grid.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks._common import Run
from kexue.focal import (
    article_softened_weight,
    binary_focal_loss,
    focal_loss,
    hard_truncated_loss,
    reader_softened_weight,
    softened_loss,
    softmax_softened_loss,
)
from kexue.imbalance import (
    binary_metrics,
    long_tailed_digits,
    make_blobs,
    make_long_tailed_blobs,
    multiclass_metrics,
    train_binary_mlps,
    train_softmax_classifier,
)


# ------------------------------------------------------------------------------------------ peers
def torchvision_sigmoid_focal(x, y, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss(reduction='none'), transcribed from its documented formula."""
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


def old_kornia_softmax_focal(x, t, gamma=2.0, eps=1e-8):
    """kornia ≤ 0.6 style: softmax + eps, then log (not log space)."""
    p = F.softmax(x, dim=1) + eps
    pt = p.gather(1, t.unsqueeze(1)).squeeze(1)
    return -((1 - pt) ** gamma) * torch.log(pt)


def naive_softmax_focal(x, t, gamma=2.0):
    """Log-space but plain autograd: what one writes in three lines."""
    logpt = F.log_softmax(x, dim=1).gather(1, t.unsqueeze(1)).squeeze(1)
    return (-((1 - logpt.exp()) ** gamma) * logpt).mean()


def time_fwd_bwd(fns: dict, make_inputs, repeats: int) -> dict[str, list[float]]:
    """Interleaved forward+backward timings (seconds) of each fn on the same inputs."""
    x, t = make_inputs()
    times = {k: [] for k in fns}
    for fn in fns.values():  # warm-up
        x.grad = None
        fn(x, t).backward()
    for _ in range(repeats):
        for name, fn in fns.items():
            x.grad = None
            t0 = time.perf_counter()
            fn(x, t).backward()
            times[name].append(time.perf_counter() - t0)
    return times


def speed(repeats: int) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(0)

    def softmax_inputs():
        return (torch.randn(4096, 1000, generator=g).requires_grad_(), torch.randint(0, 1000, (4096,), generator=g))

    fns = {
        "F.cross_entropy": lambda x, t: F.cross_entropy(x, t),
        "kexue focal_loss γ=2": lambda x, t: focal_loss(x, t, gamma=2.0),
        "kexue focal_loss γ=2 α": lambda x, t: focal_loss(x, t, gamma=2.0, alpha=torch.full((1000,), 0.5)),
        "naive autograd focal γ=2": lambda x, t: naive_softmax_focal(x, t, 2.0),
    }
    soft = time_fwd_bwd(fns, softmax_inputs, repeats)

    def binary_inputs():
        return (3 * torch.randn(10**6, generator=g)).requires_grad_(), (torch.rand(10**6, generator=g) < 0.1).float()

    bfns = {
        "torchvision formula": lambda x, y: torchvision_sigmoid_focal(x, y, 0.25, 2.0).mean(),
        "kexue binary_focal_loss": lambda x, y: binary_focal_loss(x, y, gamma=2.0, alpha=0.25),
        "F.binary_cross_entropy_with_logits": lambda x, y: F.binary_cross_entropy_with_logits(x, y),
    }
    binary = time_fwd_bwd(bfns, binary_inputs, repeats)
    results, ratios = {}, {}
    med = {k: statistics.median(v) for k, v in {**soft, **binary}.items()}
    for k, v in {**soft, **binary}.items():
        results[k] = {"median_ms": round(1e3 * med[k], 2), "min_ms": round(1e3 * min(v), 2), "repeats": len(v)}
    ratios["focal_loss/F.cross_entropy time [4096,1000] fwd+bwd"] = round(
        med["kexue focal_loss γ=2"] / med["F.cross_entropy"], 3)
    ratios["focal_loss(alpha)/F.cross_entropy time [4096,1000] fwd+bwd"] = round(
        med["kexue focal_loss γ=2 α"] / med["F.cross_entropy"], 3)
    ratios["naive autograd focal/F.cross_entropy time [4096,1000] fwd+bwd"] = round(
        med["naive autograd focal γ=2"] / med["F.cross_entropy"], 3)
    ratios["binary_focal_loss/torchvision formula time 1e6 fwd+bwd"] = round(
        med["kexue binary_focal_loss"] / med["torchvision formula"], 3)
    ratios["binary_focal_loss/BCE-with-logits time 1e6 fwd+bwd"] = round(
        med["kexue binary_focal_loss"] / med["F.binary_cross_entropy_with_logits"], 3)
    return results, ratios


# ------------------------------------------------------------------------------------ stability grid
def stability_grid() -> dict:
    zs = [-1e4, -1e3, -100, -30, -10, -3, -1, 0, 1, 3, 10, 30, 100, 1e3, 1e4]
    out = {}
    for dtype in (torch.float32, torch.float64):
        bad = {"kexue": 0, "torchvision formula": 0, "old kornia (softmax+eps)": 0, "kexue softmax": 0}
        n = 0
        max_rel = 0.0
        for gamma in (0.0, 0.5, 1.0, 2.0, 5.0):
            for alpha in (-1, 0.25):
                for yv in (0.0, 1.0):
                    x = torch.tensor(zs, dtype=dtype, requires_grad=True)
                    y = torch.full_like(x, yv)
                    ours = binary_focal_loss(x, y, gamma=gamma, alpha=None if alpha < 0 else alpha, reduction="none")
                    (go,) = torch.autograd.grad(ours.sum(), x)
                    ref = torchvision_sigmoid_focal(x, y, alpha, gamma)
                    (gr,) = torch.autograd.grad(ref.sum(), x)
                    bad["kexue"] += int((~torch.isfinite(ours)).sum() + (~torch.isfinite(go)).sum())
                    bad["torchvision formula"] += int((~torch.isfinite(ref)).sum() + (~torch.isfinite(gr)).sum())
                    # torchvision's 1 - p_t loses precision once |z| > 10 (cancellation): compare there only
                    ok = torch.isfinite(ref) & (x.detach().abs() <= 10)
                    if ok.any():
                        rel = ((ours - ref).abs()[ok] / ref.abs()[ok]).max().item()
                        max_rel = max(max_rel, rel)
                    n += 2 * len(zs)
                # softmax (two logits [z, 0], target 0 and 1)
                xs = torch.tensor([[z, 0.0] for z in zs] * 2, dtype=dtype, requires_grad=True)
                t = torch.tensor([0] * len(zs) + [1] * len(zs))
                a = focal_loss(xs, t, gamma=gamma, reduction="none")
                (ga,) = torch.autograd.grad(a.sum(), xs)
                k = old_kornia_softmax_focal(xs, t, gamma)
                (gk,) = torch.autograd.grad(k.sum(), xs)
                bad["kexue softmax"] += int((~torch.isfinite(a)).sum() + (~torch.isfinite(ga)).sum())
                bad["old kornia (softmax+eps)"] += int((~torch.isfinite(k)).sum() + (~torch.isfinite(gk)).sum())
        out[str(dtype).replace("torch.", "")] = {"nonfinite_counts": bad, "binary_values_checked": n,
                                                 "max_rel_diff_vs_torchvision_abs_z_le_10": max_rel}
        # The old-kornia form is finite but wrong at large margins: report its worst loss error.
        xs = torch.tensor([[z, 0.0] for z in zs], dtype=dtype)
        t = torch.ones(len(zs), dtype=torch.long)
        out[str(dtype).replace("torch.", "")]["old_kornia_max_abs_error"] = float(
            (old_kornia_softmax_focal(xs, t, 2.0) - focal_loss(xs, t, gamma=2.0, reduction="none")).abs().max())
    return out


# ------------------------------------------------------------------------------------- experiments
def binary_losses(full: bool) -> dict:
    L = {
        "CE": lambda x, y: binary_focal_loss(x, y, gamma=0.0, reduction="none"),
        "hard m=0.5": lambda x, y: hard_truncated_loss(x, y, m=0.5, reduction="none"),
        "hard m=0.6": lambda x, y: hard_truncated_loss(x, y, m=0.6, reduction="none"),
        "softened K=1": lambda x, y: softened_loss(x, y, K=1.0, reduction="none"),
        "softened K=2": lambda x, y: softened_loss(x, y, K=2.0, reduction="none"),
    }
    alphas = (0.25, 0.5, 0.75, 0.9) if full else (0.25, 0.75)
    for a in alphas:
        L[f"α-CE α={a}"] = (lambda a: lambda x, y: binary_focal_loss(x, y, gamma=0.0, alpha=a, reduction="none"))(a)
    for gmm, a in ([(0.5, 0.5), (1.0, 0.25), (2.0, 0.25), (2.0, 0.5), (5.0, 0.25)] if full else [(2.0, 0.25)]):
        L[f"FL γ={gmm} α={a}"] = (lambda g_, a_: lambda x, y: binary_focal_loss(
            x, y, gamma=g_, alpha=a_, reduction="none"))(gmm, a)
    return L


def experiment1(seeds: int, n: int, epochs: int, pos_frac: float, full: bool) -> dict:
    data = [make_blobs(2 * n, pos_frac=pos_frac, sep=2.5, seed=s) for s in range(seeds)]
    Xtr = np.stack([d[0][:n] for d in data])
    ytr = np.stack([d[1][:n] for d in data])
    Xte = np.stack([d[0][n:] for d in data])
    yte = np.stack([d[1][n:] for d in data])
    res = {}
    for name, fn in binary_losses(full).items():
        margin = math.log(0.6 / 0.4) if name == "hard m=0.6" else 0.0
        out = train_binary_mlps(Xtr, ytr, Xte, fn, seed=0, epochs=epochs, batch_size=256, lr=0.01, margin=margin)
        ms = [binary_metrics(out["test_logits"][s], yte[s]) for s in range(seeds)]
        row = {}
        for key in ms[0]:
            vals = [m[key] for m in ms]
            row[key] = [round(float(np.mean(vals)), 4), round(float(np.std(vals)), 4)]
        cr = out["crossings"]
        row["crossings_per_sample"] = round(float(cr.mean()), 4)
        row["crossings_per_positive"] = round(float(cr[ytr == 1].mean()), 4)
        row["frac_samples_crossing_ge2"] = round(float((cr >= 2).mean()), 5)
        if margin:
            row["gate_crossings_per_positive"] = round(float(out["gate_crossings"][ytr == 1].mean()), 4)
        res[name] = row
        print(f"  exp1 {name}: AP {row['ap'][0]:.3f} crossings/positive {row['crossings_per_positive']:.2f}", flush=True)
    return res


def experiment2(seeds: int, steps: int) -> dict:
    x = torch.tensor([[2.0, 1.9, -5.0]], dtype=torch.float64)
    t = torch.tensor([1])
    pt = torch.softmax(x, 1)[0, 1].item()
    numbers = {
        "p_t": pt,
        "article K=1": article_softened_weight(x, t, K=1.0).item(),
        "article K=2": article_softened_weight(x, t, K=2.0).item(),
        "reader K=1": reader_softened_weight(x, t, K=1.0).item(),
        "reader K=2": reader_softened_weight(x, t, K=2.0).item(),
        "focal γ=2": (1 - pt) ** 2,
    }
    fns = {
        "CE": lambda z, y: F.cross_entropy(z, y),
        "article K=1": lambda z, y: softmax_softened_loss(z, y, K=1.0, weight="article"),
        "article K=2": lambda z, y: softmax_softened_loss(z, y, K=2.0, weight="article"),
        "reader K=1": lambda z, y: softmax_softened_loss(z, y, K=1.0, weight="reader"),
        "reader K=2": lambda z, y: softmax_softened_loss(z, y, K=2.0, weight="reader"),
        "focal γ=2": lambda z, y: focal_loss(z, y, gamma=2.0),
    }
    runs = {k: [] for k in fns}
    for s in range(seeds):
        Xtr, ytr, Xte, yte = make_long_tailed_blobs(ratio=50.0, n_max=500, seed=s)
        for name, fn in fns.items():
            pred = train_softmax_classifier(Xtr, ytr, fn, n_classes=10, hidden=32, steps=steps, lr=0.01, seed=s)
            runs[name].append(multiclass_metrics(pred(Xte), yte, minority=[7, 8, 9]))
    table = {k: {m: [round(float(np.mean([r[m] for r in v])), 4), round(float(np.std([r[m] for r in v])), 4)]
                 for m in v[0]} for k, v in runs.items()}
    return {"weights_example": numbers, "long_tailed_blobs": table}


def digits(seeds: int, ratios: tuple[float, ...], steps: int) -> dict:
    out = {}
    for ratio in ratios:
        runs: dict[str, list] = {}
        for s in range(seeds):
            Xtr, ytr, Xte, yte, order = long_tailed_digits(ratio=ratio, n_max=100, seed=s)
            counts = np.bincount(ytr, minlength=10)
            w = torch.tensor(1.0 / counts, dtype=torch.float32)
            w = w / w.sum() * 10
            fns = {
                "CE": lambda z, y: F.cross_entropy(z, y),
                "class-balanced CE": lambda z, y, w=w: F.cross_entropy(z, y, weight=w),
                "focal γ=1": lambda z, y: focal_loss(z, y, gamma=1.0),
                "focal γ=2": lambda z, y: focal_loss(z, y, gamma=2.0),
                "class-balanced focal γ=2": lambda z, y, w=w: focal_loss(z, y, gamma=2.0, alpha=w),
                "article softened K=1": lambda z, y: softmax_softened_loss(z, y, K=1.0, weight="article"),
                "reader softened K=1": lambda z, y: softmax_softened_loss(z, y, K=1.0, weight="reader"),
            }
            for name, fn in fns.items():
                pred = train_softmax_classifier(Xtr, ytr, fn, n_classes=10, hidden=64, steps=steps, lr=0.01, seed=s)
                runs.setdefault(name, []).append(multiclass_metrics(pred(Xte), yte, minority=list(order[-3:])))
        out[f"ratio {int(ratio)}"] = {
            k: {m: [round(float(np.mean([r[m] for r in v])), 4), round(float(np.std([r[m] for r in v])), 4)]
                for m in v[0]} for k, v in runs.items()}
        out[f"ratio {int(ratio)}"]["_train_size"] = int(len(ytr))
        print(f"  digits ratio {ratio}: done", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (minutes → seconds)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    q = args.quick
    cfg = {
        "speed_repeats": 5 if q else 30,
        "threads": "2 for the speed comparison, 1 for the experiments",
        "exp1": {"seeds": 2 if q else 10, "n_train": 2000 if q else 10000, "n_test": 2000 if q else 10000,
                 "epochs": 3 if q else 20, "pos_frac": 0.01, "sep": 2.5, "mlp": "2-16-1 tanh, Adam lr 0.01, batch 256",
                 "prior_init": 0.01},
        "exp2": {"seeds": 2 if q else 8, "steps": 50 if q else 500, "ratio": 50, "n_max": 500},
        "digits": {"seeds": 2 if q else 15, "ratios": [50] if q else [50, 100], "steps": 50 if q else 500,
                   "n_max": 100, "n_test_per_class": 70, "mlp": "64-64-10 ReLU, full-batch Adam lr 0.01, wd 1e-4",
                   "minority": "3 rarest classes", "class_balanced_weights": "1/n_k normalised to mean 1"},
    }
    with Run("focal", config=cfg) as run:
        t0 = time.perf_counter()
        res, rat = speed(cfg["speed_repeats"])
        run.results.update(res)
        run.ratios.update(rat)
        print(f"speed done ({time.perf_counter() - t0:.0f} s): {rat}", flush=True)
        # The experiments train tiny models: on a busy 2-core machine a second thread only adds
        # synchronisation stalls (measured: 25x slower under load), so they run single-threaded.
        torch.set_num_threads(1)
        run.extra["stability"] = stability_grid()
        e = cfg["exp1"]
        run.extra["experiment1"] = experiment1(e["seeds"], e["n_train"], e["epochs"], e["pos_frac"], full=not q)
        print(f"experiment 1 done ({time.perf_counter() - t0:.0f} s)", flush=True)
        run.extra["experiment2"] = experiment2(cfg["exp2"]["seeds"], cfg["exp2"]["steps"])
        print(f"experiment 2 done ({time.perf_counter() - t0:.0f} s)", flush=True)
        d = cfg["digits"]
        run.extra["digits"] = digits(d["seeds"], tuple(d["ratios"]), d["steps"])
        print(f"digits done ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
