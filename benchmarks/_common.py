"""Shared plumbing for benchmark scripts: machine description and the result file's shape.

Every script writes ``benchmarks/results/<chapter>.json`` as::

    {"chapter": ..., "machine": {"cpu": ..., "cores": ..., "torch": ..., ...}, "date": ...,
     "seconds": <wall time of the whole run>, "config": {...},
     "results": {"<system>": {"<metric>": value, ...}, ...},
     "ratios": {"<ours>/<peer> <metric>": value, ...}, ...chapter-specific keys}
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import date
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    import numpy as np
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "os": platform.platform(),
    }


class Run:
    """Time a benchmark run and write its result file::

        with Run("focal", config={...}) as run:
            run.results["ours"] = {...}
            run.ratios["ours/torch time"] = ...
    """

    def __init__(self, chapter: str, config: dict[str, Any] | None = None) -> None:
        self.chapter = chapter
        self.config = dict(config or {})
        self.results: dict[str, dict[str, Any]] = {}
        self.ratios: dict[str, float] = {}
        self.extra: dict[str, Any] = {}

    def __enter__(self) -> "Run":
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            return
        seconds = time.perf_counter() - self._t0
        path = write(self.chapter, self.config, self.results, self.ratios, seconds=seconds, **self.extra)
        print(f"{self.chapter}: wrote {path.relative_to(RESULTS.parent.parent)} in {seconds:.1f} s")


def write(chapter: str, config: dict, results: dict, ratios: dict, *, seconds: float, **extra: Any) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {"chapter": chapter, "machine": machine(), "date": date.today().isoformat(),
           "seconds": round(seconds, 1), "config": config, "results": results, "ratios": ratios, **extra}
    path = RESULTS / f"{chapter}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
