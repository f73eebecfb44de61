"""Small shared helpers: reproducibility, device choice, loss reduction, timing."""

from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager

from ._checks import check_int, check_reduction

__all__ = ["seed_everything", "device", "reduce_loss", "timer", "load_benchmark"]


def seed_everything(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python's ``random``, NumPy's legacy global generator and torch (CPU and CUDA).

    With ``deterministic=True`` torch is also asked for deterministic kernels (warning instead of
    failing where an op has none). Library functions never use global randomness themselves: they
    take an explicit ``seed``/``generator``; this helper is for notebooks and scripts.
    """
    check_int(seed, "seed", low=0, high=2**32 - 1)
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects subprocesses only
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def device():
    """``torch.device("cuda")`` if a GPU is available, else ``torch.device("cpu")``.

    Every chapter runs on the CPU; this only lets a reader with a GPU use it.
    """
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def reduce_loss(loss, reduction: str):
    """Apply ``"none"`` / ``"mean"`` / ``"sum"`` to a per-element loss tensor."""
    check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


@contextmanager
def timer():
    """Context manager yielding a dict whose ``"seconds"`` entry is filled on exit (wall clock)."""
    out = {"seconds": float("nan")}
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - t0


def load_benchmark(chapter: str, start=None) -> dict:
    """Read the committed full-size result ``benchmarks/results/<chapter>.json``.

    Looks in ``benchmarks/results`` of the current directory and its parents (so it works from
    ``notebooks/`` and from the repository root). Raises ``FileNotFoundError`` naming the file and
    the command that produces it.
    """
    import json
    from pathlib import Path

    from ._checks import check_type

    check_type(chapter, "chapter", str)
    here = Path(start) if start is not None else Path.cwd()
    for d in (here, *here.resolve().parents):
        path = d / "benchmarks" / "results" / f"{chapter}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(
        f"benchmarks/results/{chapter}.json not found above {here}; run `python -m benchmarks.{chapter}` "
        "from the repository root to produce it"
    )
