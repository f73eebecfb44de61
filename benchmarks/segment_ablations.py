"""NNCWS chapter ablations: short training runs of the window tagger with one setting changed.

    python -m benchmarks.segment_ablations [--epochs 2]   # -> benchmarks/results/segment_ablations.json

See :func:`benchmarks.segment.ablations` (window 3/5/7/9, hidden 32/128, bigram embeddings; each
run dev-selected, scored on the PD1998 test split).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.segment import ablations  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ablations(ap.parse_args().epochs)
