"""Small imbalanced-classification experiments for the focal-loss chapter (notebooks/01-focal-loss.ipynb).

Data makers, two tiny trainers and the metrics the chapter reports; ``benchmarks/focal.py`` runs the
same code at full size.

* :func:`make_blobs` — two overlapping 2-D Gaussians with a small positive fraction.
* :func:`train_binary_mlps` — trains one small MLP per seed *in parallel* (batched weights; each
  seed has its own data, initialisation and batch order), records, per training sample, how often
  its prediction crossed the decision threshold between epochs, and returns test logits.
* :func:`long_tailed_digits` / :func:`make_long_tailed_blobs` — long-tailed multi-class data sets.
* :func:`train_softmax_classifier` — a small softmax MLP, full batch Adam.
* :func:`binary_metrics`, :func:`expected_calibration_error`, :func:`multiclass_metrics`.

The models are tiny: call ``torch.set_num_threads(1)`` first; on a busy machine extra threads only
add synchronisation stalls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ._checks import check_array, check_int, check_number, check_tensor, check_type

__all__ = [
    "make_blobs",
    "train_binary_mlps",
    "binary_metrics",
    "expected_calibration_error",
    "long_tailed_digits",
    "make_long_tailed_blobs",
    "long_tail_counts",
    "train_softmax_classifier",
    "multiclass_metrics",
]

LossFn = Callable[[Tensor, Tensor], Tensor]


# ----------------------------------------------------------------------------------------- binary
def make_blobs(n: int, pos_frac: float = 0.015, sep: float = 2.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping 2-D Gaussians: negatives ``N(0, I)``, positives ``N((sep/√2, sep/√2), I)``.

    Returns ``X`` float32 ``[n, 2]`` and ``y`` float32 ``[n]`` (0/1) with exactly
    ``round(pos_frac * n)`` positives (at least one), in random order.
    Raises ValueError if ``n < 2`` or ``pos_frac`` is outside ``(0, 1)``.
    """
    check_int(n, "n", low=2)
    check_number(pos_frac, "pos_frac", low=0, high=1, low_inclusive=False, high_inclusive=False)
    check_number(sep, "sep", low=0)
    check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    n_pos = min(max(1, round(pos_frac * n)), n - 1)
    X = rng.standard_normal((n, 2))
    y = np.zeros(n)
    y[:n_pos] = 1
    X[:n_pos] += sep / math.sqrt(2)
    perm = rng.permutation(n)
    return X[perm].astype(np.float32), y[perm].astype(np.float32)


def train_binary_mlps(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    loss_fn: LossFn,
    *,
    seed: int = 0,
    hidden: int = 16,
    epochs: int = 20,
    batch_size: int = 256,
    lr: float = 0.01,
    prior: float = 0.01,
    margin: float = 0.0,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Train ``S`` independent MLPs ``2 → hidden → 1`` (tanh) in parallel, one per data set.

    Shapes: ``X_train`` ``[S, n, d]``, ``y_train`` ``[S, n]`` (0/1), ``X_test`` ``[S, m, d]``.
    ``loss_fn(logits, targets)`` gets ``[S, B]`` tensors and must return the per-element loss
    ``[S, B]`` (``reduction="none"``); each model minimises its own batch mean with Adam. The output
    bias starts at ``-log((1 - prior)/prior)`` (RetinaNet's prior initialisation). After every epoch
    the sign of each training logit is compared with the previous epoch's.

    Returns ``{"test_logits": [S, m], "train_logits": [S, n], "crossings": [S, n],
    "gate_crossings": [S, n]}`` (numpy). ``crossings`` counts, per training sample, the epochs after
    which its predicted class (``logit > 0``) differs from the one after the previous epoch;
    ``gate_crossings`` does the same for the threshold ``logit = +margin`` (positives) and
    ``-margin`` (negatives), e.g. ``margin=log(m/(1-m))`` for the gate of
    :func:`kexue.focal.hard_truncated_loss` (equal to ``crossings`` when ``margin=0``). Randomness only from ``seed``.
    """
    check_array(X_train, "X_train", ndim=3)
    check_array(y_train, "y_train", shape=X_train.shape[:2])
    check_array(X_test, "X_test", ndim=3)
    if X_test.shape[0] != X_train.shape[0] or X_test.shape[2] != X_train.shape[2]:
        raise ValueError(f"X_test must have shape [{X_train.shape[0]}, m, {X_train.shape[2]}], got {X_test.shape}")
    check_type(loss_fn, "loss_fn", Callable)
    check_int(seed, "seed", low=0)
    check_int(hidden, "hidden", low=1)
    check_int(epochs, "epochs", low=1)
    check_int(batch_size, "batch_size", low=1)
    check_number(lr, "lr", low=0, low_inclusive=False)
    check_number(prior, "prior", low=0, high=1, low_inclusive=False, high_inclusive=False)
    check_number(margin, "margin")
    from tqdm import tqdm  # text bars: notebook widgets would make the site load CDN scripts

    g = torch.Generator().manual_seed(seed)
    S, n, d = X_train.shape
    Xt = torch.as_tensor(X_train, dtype=torch.float32)
    yt = torch.as_tensor(y_train, dtype=torch.float32)
    W1 = (torch.randn(S, d, hidden, generator=g) / math.sqrt(d)).requires_grad_()
    b1 = torch.zeros(S, 1, hidden, requires_grad=True)
    W2 = (torch.randn(S, hidden, 1, generator=g) / math.sqrt(hidden)).requires_grad_()
    b2 = torch.full((S, 1, 1), -math.log((1 - prior) / prior), requires_grad=True)
    params = [W1, b1, W2, b2]
    opt = torch.optim.Adam(params, lr=lr)

    def forward(x: Tensor) -> Tensor:
        return (torch.tanh(x @ W1 + b1) @ W2 + b2).squeeze(-1)

    rows = torch.arange(S).unsqueeze(1)
    thr = margin * (2 * yt - 1)
    crossings = torch.zeros(S, n, dtype=torch.int64)
    gate_crossings = torch.zeros(S, n, dtype=torch.int64)
    with torch.no_grad():
        z = forward(Xt)
        prev, prev_gate = z > 0, z > thr
    for _ in tqdm(range(epochs), disable=not progress, desc="epochs", leave=False):
        perm = torch.argsort(torch.rand(S, n, generator=g), dim=1)
        for start in range(0, n, batch_size):
            idx = perm[:, start:start + batch_size]
            logits = forward(Xt[rows, idx])
            loss = loss_fn(logits, yt[rows, idx]).mean(dim=1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            z = forward(Xt)
            now, now_gate = z > 0, z > thr
            crossings += (now != prev).long()
            gate_crossings += (now_gate != prev_gate).long()
            prev, prev_gate = now, now_gate
    with torch.no_grad():
        test_logits = forward(torch.as_tensor(X_test, dtype=torch.float32))
        train_logits = forward(Xt)
    return {"test_logits": test_logits.numpy(), "train_logits": train_logits.numpy(), "crossings": crossings.numpy(),
            "gate_crossings": gate_crossings.numpy()}


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """Expected calibration error with ``n_bins`` equal-width bins.

    Binary: ``probs`` ``[N]`` = P(y=1), ``labels`` ``[N]`` in {0, 1}; bins on P(y=1) and compares the
    bin's mean probability with its fraction of positives. Multi-class: ``probs`` ``[N, C]``,
    integer ``labels`` ``[N]``; top-label ECE (confidence vs accuracy). Raises ValueError for
    mismatched shapes or ``n_bins < 1``.
    """
    check_array(probs, "probs", ndim=(1, 2))
    check_array(labels, "labels", ndim=1)
    check_int(n_bins, "n_bins", low=1)
    if labels.shape[0] != probs.shape[0]:
        raise ValueError(f"labels must have {probs.shape[0]} entries, got {labels.shape[0]}")
    if probs.ndim == 1:
        conf, hit = probs.astype(np.float64), labels.astype(np.float64)
    else:
        conf = probs.max(axis=1).astype(np.float64)
        hit = (probs.argmax(axis=1) == labels).astype(np.float64)
    bins = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.sum() * abs(conf[mask].mean() - hit[mask].mean())
    return float(total / len(conf))


def binary_metrics(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Average precision, F1 at p = 0.5, ECE (15 bins on P(y=1)) and log-loss of logits ``[N]`` vs labels ``[N]``."""
    from sklearn.metrics import average_precision_score, f1_score

    check_array(logits, "logits", ndim=1)
    check_array(y, "y", shape=logits.shape)
    z = logits.astype(np.float64)
    p = 1 / (1 + np.exp(-z))
    logloss = float(np.mean(np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y)))
    return {
        "ap": float(average_precision_score(y, z)),
        "f1": float(f1_score(y, z > 0, zero_division=0)),
        "ece": expected_calibration_error(p, y),
        "logloss": logloss,
    }


# ----------------------------------------------------------------------------------- multi-class
def long_tail_counts(n_max: int, ratio: float, n_classes: int) -> list[int]:
    """Exponential long tail: class ``k`` gets ``round(n_max * ratio ** (-k / (C - 1)))`` samples."""
    check_int(n_max, "n_max", low=1)
    check_number(ratio, "ratio", low=1)
    check_int(n_classes, "n_classes", low=2)
    return [max(1, round(n_max * ratio ** (-k / (n_classes - 1)))) for k in range(n_classes)]


def long_tailed_digits(ratio: float = 50.0, n_max: int = 100, n_test: int = 70, seed: int = 0):
    """A long-tailed training set from sklearn's 8×8 digits and a balanced test set.

    ``n_test`` images per class are held out (balanced test set); from the rest, the class of rank
    ``k`` keeps ``long_tail_counts(n_max, ratio, 10)[k]`` images. Which digit gets which rank is a
    random permutation drawn from ``seed``. Features are scaled to ``[0, 1]`` (pixel / 16).
    Returns ``X_train [n, 64] float32, y_train [n] int64, X_test [10·n_test, 64], y_test, order``
    where ``order[k]`` is the digit of rank ``k`` (``order[-1]`` the rarest).
    Raises ValueError if a class has fewer than ``n_test + n_max`` images.
    """
    from sklearn.datasets import load_digits

    check_number(ratio, "ratio", low=1)
    check_int(n_max, "n_max", low=1)
    check_int(n_test, "n_test", low=1)
    check_int(seed, "seed", low=0)
    data = load_digits()
    X, y = (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    order = rng.permutation(10)
    counts = long_tail_counts(n_max, ratio, 10)
    tr, te = [], []
    for rank, digit in enumerate(order):
        idx = rng.permutation(np.flatnonzero(y == digit))
        if len(idx) < n_test + n_max:
            raise ValueError(f"digit {digit} has {len(idx)} images, fewer than n_test + n_max = {n_test + n_max}")
        te.append(idx[:n_test])
        tr.append(idx[n_test:n_test + counts[rank]])
    tr, te = rng.permutation(np.concatenate(tr)), np.concatenate(te)
    return X[tr], y[tr], X[te], y[te], order


def make_long_tailed_blobs(ratio: float = 50.0, n_max: int = 500, n_classes: int = 10, n_test: int = 200,
                           spread: float = 1.0, seed: int = 0):
    """``n_classes`` 2-D Gaussians (centres on a circle of radius 3, std ``spread``); long-tailed train set.

    Train counts follow :func:`long_tail_counts`; the test set has ``n_test`` points per class.
    Returns ``X_train [n, 2] float32, y_train [n] int64, X_test, y_test``.
    """
    check_int(n_test, "n_test", low=1)
    check_number(spread, "spread", low=0, low_inclusive=False)
    check_int(seed, "seed", low=0)
    counts = long_tail_counts(n_max, ratio, n_classes)
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(n_classes) / n_classes
    centres = 3 * np.stack([np.cos(angles), np.sin(angles)], axis=1)

    def sample(ns):
        y = np.repeat(np.arange(n_classes), ns)
        return (centres[y] + spread * rng.standard_normal((len(y), 2))).astype(np.float32), y.astype(np.int64)

    Xtr, ytr = sample(counts)
    Xte, yte = sample([n_test] * n_classes)
    perm = rng.permutation(len(ytr))
    return Xtr[perm], ytr[perm], Xte, yte


def train_softmax_classifier(
    X: np.ndarray,
    y: np.ndarray,
    loss_fn: LossFn,
    *,
    n_classes: int,
    hidden: int = 64,
    steps: int = 300,
    lr: float = 0.01,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> Callable[[np.ndarray], np.ndarray]:
    """Full-batch Adam on a softmax MLP ``d → hidden → C`` (ReLU; ``hidden=0``: linear).

    ``X`` ``[n, d]`` float, ``y`` ``[n]`` int in ``[0, n_classes)``; ``loss_fn(logits [n, C], y [n])``
    returns a scalar. Returns ``predict(X [m, d]) -> logits [m, C]`` (numpy).
    """
    check_array(X, "X", ndim=2)
    check_array(y, "y", kind="int", shape=(X.shape[0],))
    check_int(n_classes, "n_classes", low=2)
    check_int(hidden, "hidden", low=0)
    check_int(steps, "steps", low=1)
    check_int(seed, "seed", low=0)
    torch.manual_seed(seed)  # module initialisation below draws from torch's global generator
    d = X.shape[1]
    if hidden:
        model = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_classes))
    else:
        model = torch.nn.Linear(d, n_classes)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_fn(model(Xt), yt).backward()
        opt.step()
    model.eval()

    def predict(Xn: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.as_tensor(Xn, dtype=torch.float32)).numpy()

    return predict


def multiclass_metrics(logits: np.ndarray, y: np.ndarray, minority: Sequence[int]) -> dict[str, float]:
    """Accuracy, macro-F1, mean recall over the ``minority`` classes and top-label ECE."""
    from sklearn.metrics import f1_score, recall_score

    check_array(logits, "logits", ndim=2)
    check_array(y, "y", kind="int", shape=(logits.shape[0],))
    pred = logits.argmax(axis=1)
    C = logits.shape[1]
    rec = recall_score(y, pred, labels=list(range(C)), average=None, zero_division=0)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return {
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1_score(y, pred, labels=list(range(C)), average="macro", zero_division=0)),
        "minority_recall": float(np.mean([rec[c] for c in minority])),
        "ece": expected_calibration_error(p, y),
    }
