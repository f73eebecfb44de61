"""Notebook maintenance for the book (not part of the kexue library).

    python tools/nbtools.py execute notebooks/01-focal-loss.ipynb ...   # run in place, stamp
    python tools/nbtools.py refresh notebooks                           # re-run stale ones only
    python tools/nbtools.py check notebooks                             # exit 1 if any is stale

A notebook's stamp is ``metadata.kexue.code_sha256``: the hash of its code cells' sources at the
time its outputs were produced. A notebook is *stale* when its code changed since (or it has never
been stamped or has no outputs); `make book` re-executes stale notebooks only and otherwise builds
from the committed outputs. Changes to the library are caught by `make test` (nbval re-runs every
notebook and compares the checked cells).

Execution timings are appended to ``_build/reports/execution.jsonl`` for the book's status page.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "_build" / "reports"
TIMEOUT = 600


def code_hash(nb) -> str:
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(cell.source.encode())
            h.update(b"\0")
    return h.hexdigest()


def is_stale(nb) -> bool:
    stamp = nb.metadata.get("kexue", {}).get("code_sha256")
    has_outputs = any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    return stamp != code_hash(nb) or not has_outputs


def record(path: Path, ok: bool, seconds: float, how: str) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    entry = {"notebook": path.name, "ok": ok, "seconds": round(seconds, 2), "how": how,
             "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with open(REPORTS / "execution.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except Exception:
        record(path, False, time.perf_counter() - t0, "make book")
        raise
    seconds = time.perf_counter() - t0
    nb.metadata.setdefault("kexue", {})["code_sha256"] = code_hash(nb)
    nbformat.write(nb, path)
    record(path, True, seconds, "make book")
    return seconds


def notebooks(args: list[str]) -> list[Path]:
    out: list[Path] = []
    for a in args:
        p = Path(a)
        out.extend(sorted(p.glob("*.ipynb")) if p.is_dir() else [p])
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"execute", "refresh", "check"}:
        print(__doc__)
        return 2
    cmd, paths = argv[0], notebooks(argv[1:])
    stale = [p for p in paths if cmd == "execute" or is_stale(nbformat.read(p, as_version=4))]
    if cmd == "check":
        for p in stale:
            print(f"stale: {p}")
        return 1 if stale else 0
    for p in stale:
        print(f"executing {p} ...", flush=True)
        print(f"  done in {execute(p):.1f} s", flush=True)
    if cmd == "refresh" and not stale:
        print("all notebooks up to date; building from committed outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
