"""NNCWS chapter benchmark: our window segmenter vs jieba, THULAC and pkuseg on the PD1998 test split.

    python -m benchmarks.segment [--rounds 3] [--limit N]     # -> results/segment.json
    python -m benchmarks.segment_ablations [--epochs 2]       # -> results/segment_ablations.json

Everything is measured in one run on the same test split
(the last 10 % of People's Daily, January 1998; never trained or tuned on):

* accuracy: P / R / F1 / OOV recall / IV recall (SIGHAN word spans, OOV = not in the train word list);
* throughput: characters per second to segment the whole test split, peers interleaved over
  ``--rounds`` rounds, median reported (the machine is shared, so only ratios within a round mean much);
* decoding: greedy argmax vs hard-constraint Viterbi vs Viterbi with counted (learned) transitions,
  and the invalid-sequence rate of greedy decoding;
* the unsupervised character-LM segmenter of CWS part 5 (no gold boundaries used);
* ablations (a separate run and file, ``benchmarks/segment_ablations.py``): short training runs
  (``--epochs`` epochs, batch 2048, lr 3e-3, dev-selected) over window 3/5/7/9 and hidden widths, unigram-only as in NNCWS vs with bigram embeddings
  (the shipped models are trained longer; see the config's ``shipped_model``/``article_model``).

Peers: jieba 0.42.1 (default "accurate" mode with HMM, and without HMM), THULAC 0.2.2
(``seg_only=True``), pkuseg's default model (the pkuseg 0.0.25 wheel's ``models/default``, run by
spacy-pkuseg 1.0.2; the wheel is fetched with pip and cached under ``~/.cache/kexue``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import Run  # noqa: E402
from kexue.data import cache_dir, pd1998_tokens  # noqa: E402
from kexue.segment import PRETRAINED, PRETRAINED_ARTICLE, LMSegmenter, Segmenter, invalid_rate, load_pretrained, score, train  # noqa: E402

PKUSEG_WHEEL = "pkuseg-0.0.25-cp37-cp37m-manylinux1_x86_64.whl"
PKUSEG_SHA256 = "6fc2f97d0f66cc6722cf772e65dbcde1b01d8cc53b66ac4aa7bce639de79588f"


def pkuseg_model_dir() -> Path:
    """The default model folder of the pkuseg 0.0.25 wheel, unzipped into the cache."""
    import hashlib

    root = cache_dir()
    target = root / "pkuseg-0.0.25-default"
    if (target / "weights.npz").is_file():
        return target
    wheel = root / PKUSEG_WHEEL
    if not wheel.is_file():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--python-version", "3.7",
                        "--only-binary=:all:", "-d", str(root), "pkuseg==0.0.25"], check=True)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != PKUSEG_SHA256:
        raise RuntimeError(f"{wheel}: sha256 {digest} != {PKUSEG_SHA256}")
    target.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith("pkuseg/models/default/") and not name.endswith("/"):
                (target / Path(name).name).write_bytes(z.read(name))
    return target


def peers() -> dict:
    import jieba
    import spacy_pkuseg
    import thulac

    jieba.setLogLevel(60)
    jieba.initialize()
    thu = thulac.thulac(seg_only=True)
    pku = spacy_pkuseg.pkuseg(model_name=str(pkuseg_model_dir()))
    return {
        "jieba": lambda texts: [list(jieba.cut(t)) for t in texts],
        "jieba (no HMM)": lambda texts: [list(jieba.cut(t, HMM=False)) for t in texts],
        "thulac": lambda texts: [[w for w, _ in thu.cut(t)] for t in texts],
        "pkuseg": lambda texts: [pku.cut(t) for t in texts],
    }


def ablations(epochs: int) -> None:
    """Short dev-selected training runs with one setting changed -> results/segment_ablations.json."""
    torch.set_num_threads(1)
    train_sents, dev_sents, test_sents = (pd1998_tokens(s) for s in ("train", "dev", "test"))
    train_vocab = {w for s in train_sents for w in s}
    texts = ["".join(s) for s in test_sents]
    grid = [{"window": w} for w in (3, 5, 7, 9)] + [{"hidden": h} for h in (32, 128)] + [{"bigram_emb": 16}]
    config = {"epochs": epochs, "batch_size": 2048, "lr": 3e-3, "seed": 0, "base": {"window": 7, "emb": 64, "hidden": 64},
              "selection": "best dev-F1 epoch", "threads": 1,
              "machine_note": "2 shared CPU cores, heavily loaded by other jobs: train_seconds are noisy"}
    with Run("segment_ablations", config=config) as run:
        for kw in grid:
            t0 = time.perf_counter()
            seg = train(train_sents, **{"window": 7, "emb": 64, "hidden": 64, **kw}, epochs=epochs,
                        batch_size=2048, lr=3e-3, dev=dev_sents, seed=0, progress=False)
            r = score(test_sents, seg.segment_batch(texts), train_vocab)
            key = ", ".join(f"{k}={v}" for k, v in kw.items())
            run.results[key] = {**kw, "f1": r["f1"], "oov_recall": r["oov_recall"], "params": seg.n_params,
                                "dev_f1": seg.state["config"]["dev_f1"], "train_seconds": time.perf_counter() - t0}
            print(key, run.results[key], flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="only the first N test sentences (smoke run)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    train_sents, dev_sents, test_sents = (pd1998_tokens(s) for s in ("train", "dev", "test"))
    train_vocab = {w for s in train_sents for w in s}
    test_sents = test_sents[:args.limit]
    texts = ["".join(s) for s in test_sents]
    n_chars = sum(map(len, texts))
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    ours = load_pretrained()
    article = load_pretrained("article")
    systems = {"ours": ours.segment_batch, "ours (article size)": article.segment_batch, **peers()}

    config = {"test_sentences": len(texts), "test_chars": n_chars, "test_utf8_bytes": n_bytes,
              "rounds": args.rounds, "threads": 1,
              "shipped_model": {k: v for k, v in ours.state["config"].items() if k != "history"},
              "shipped_model_bytes": PRETRAINED.stat().st_size, "shipped_model_params": ours.n_params,
              "article_model": {k: v for k, v in article.state["config"].items() if k != "history"},
              "article_model_bytes": PRETRAINED_ARTICLE.stat().st_size, "article_model_params": article.n_params,
              "machine_note": "2 shared CPU cores, loaded by other jobs during the run: absolute speeds are "
                              "noisy, peers were interleaved round by round and medians are reported"}
    with Run("segment", config=config) as run:
        times = {k: [] for k in systems}
        preds = {}
        for rnd in range(args.rounds):
            for name, fn in systems.items():
                t0 = time.perf_counter()
                out = fn(texts)
                times[name].append(time.perf_counter() - t0)
                if rnd == 0:
                    preds[name] = out
        for name in systems:
            pred = [[w for w in ws if w.strip()] for ws in preds[name]]
            r = score(test_sents, pred, train_vocab)
            sec = statistics.median(times[name])
            run.results[name] = {"precision": r["precision"], "recall": r["recall"], "f1": r["f1"],
                                 "oov_recall": r["oov_recall"], "iv_recall": r["iv_recall"],
                                 "chars_per_s": n_chars / sec, "kb_per_s": n_bytes / 1024 / sec,
                                 "seconds_median": sec}
        run.extra["seconds_per_round"] = times
        run.extra["oov_rate"] = score(test_sents, test_sents, train_vocab)["oov_rate"]
        for peer in ("jieba", "jieba (no HMM)", "thulac", "pkuseg"):
            run.ratios[f"ours/{peer} chars_per_s"] = run.results["ours"]["chars_per_s"] / run.results[peer]["chars_per_s"]
            run.ratios[f"ours/{peer} f1"] = run.results["ours"]["f1"] / run.results[peer]["f1"]

        # decoding variants of the shipped model
        decoding = {}
        for name, kw in {"viterbi (hard)": {}, "viterbi (learned transitions)": {"transitions": "learned"},
                         "greedy": {"decode": "greedy"}}.items():
            seg = Segmenter(article.state, **kw)
            pieces = [p for t in texts for p, m in seg._pieces(t) if m]
            tags = seg.tag_batch(pieces)
            r = score(test_sents, seg.segment_batch(texts), train_vocab)
            decoding[name] = {"f1": r["f1"], "oov_recall": r["oov_recall"], "invalid_rate": invalid_rate(tags)}
        run.extra["decoding"] = decoding  # on the article-size model

        # CWS part 5: unsupervised segmentation with a character 4-gram LM counted on the raw train text
        t0 = time.perf_counter()
        lm = LMSegmenter(["".join(s) for s in train_sents])
        fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = score(test_sents, lm.segment_batch(texts), train_vocab)
        sec = time.perf_counter() - t0
        run.extra["unsupervised_lm"] = {"precision": r["precision"], "recall": r["recall"], "f1": r["f1"],
                                        "oov_recall": r["oov_recall"], "iv_recall": r["iv_recall"],
                                        "fit_seconds": fit, "chars_per_s": n_chars / sec,
                                        "note": "character 4-gram MLE counts on the unsegmented PD1998 train text "
                                                "(1.5 M chars; the article used ~2 GB of WeChat text with KenLM), "
                                                "hand-set transition weights of CWS part 5, Viterbi"}

        print({k: (round(v["f1"], 4), round(v["chars_per_s"])) for k, v in run.results.items()})


if __name__ == "__main__":
    main()
