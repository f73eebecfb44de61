"""Full-size runs for chapter 07 (OCR): held-out-font character accuracy, line CER against tesseract and
RapidOCR, speed, the correction gain and the stage scores on synthetic posters.

Run from the repository root (peers: ``pip install -r requirements-bench.txt``; tesseract-ocr and
tesseract-ocr-chi-sim from apt.txt):

    python -m benchmarks.ocr            # about 14 minutes on the shared 2-core machine
    python -m benchmarks.ocr --quick    # smoke run

Writes ``benchmarks/results/ocr.json``. Every system sees the same pixels in the same run; lines are
interleaved (ours, tesseract, RapidOCR for each line), timings are totals over all lines.
Test lines come from the PD1998 *test* split (the bigram counts use the train split only) and are drawn
in the two font families that the classifier never saw (kexue.ocr.TEST_FONTS).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from benchmarks._common import Run
from kexue import ocr
from kexue.data import load_pd1998


def test_lines(n: int, charset: set, seed: int = 0, lo: int = 8, hi: int = 16) -> list[str]:
    """n text lines of lo..hi characters from PD1998's test split, restricted to the classifier's charset."""
    rng = np.random.default_rng(seed)
    out = []
    for sent in load_pd1998("test"):
        t = "".join(ocr._FULLWIDTH.get(c, c) for w, _ in sent for c in w)
        t = "".join(c for c in t if c in charset)
        if len(t) >= lo:
            out.append(t[:int(rng.integers(lo, hi + 1))])
    idx = rng.choice(len(out), size=min(n, len(out)), replace=False)
    return [out[i] for i in sorted(idx)]


def isolated(model, fonts: dict, noises, sizes=(40, 48), seed: int = 0) -> dict:
    cs = model.charset
    res = {}
    confusions: dict = {}
    n_han = sum(1 for c in cs if "\u4e00" <= c <= "\u9fff")
    for p in noises:
        rng = np.random.default_rng(seed)
        acc, acc3, han, per_font = 0, 0, 0, {}
        total = 0
        for name, path in fonts.items():
            cells = ocr.render_char_cells(cs, path, sizes=sizes)
            if p > 0:
                cells = np.where(rng.random(cells.shape) < p, np.uint8(255), cells)
            y = np.repeat(np.arange(len(cs)), len(sizes))
            top = model.logits(cells).topk(3, dim=1).indices.numpy()
            hit = top[:, 0] == y
            if p == 0:
                for t_, p_ in zip(y[~hit], top[~hit, 0]):
                    confusions[(cs[t_], cs[p_])] = confusions.get((cs[t_], cs[p_]), 0) + 1
            per_font[name] = round(float(hit.mean()), 4)
            acc += int(hit.sum())
            acc3 += int((top == y[:, None]).any(1).sum())
            han += int(hit[np.isin(y, [i for i, c in enumerate(cs) if "\u4e00" <= c <= "\u9fff"])].sum())
            total += len(y)
        res[f"noise {p:.2f}"] = {"top1": round(acc / total, 4), "top3": round(acc3 / total, 4),
                                 "top1_hanzi": round(han / (n_han * len(sizes) * len(fonts)), 4),
                                 "per_font": per_font, "images": total}
    top = sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))[:30]
    return res, [[a, b, n] for (a, b), n in top]


def tesseract_line(img) -> str:
    import pytesseract
    return pytesseract.image_to_string(img, lang="chi_sim", config="--oem 1 --psm 7")


def tesseract_char(img) -> str:
    import pytesseract
    return pytesseract.image_to_string(img, lang="chi_sim", config="--oem 1 --psm 10")


class Rapid:
    def __init__(self):
        from rapidocr_onnxruntime import RapidOCR
        self.engine = RapidOCR()

    def __call__(self, img) -> str:
        arr = np.asarray(img.convert("RGB"))
        result, _ = self.engine(arr)
        if not result:
            return ""
        result = sorted(result, key=lambda r: (min(p[1] for p in r[0]) // 20, min(p[0] for p in r[0])))
        return "".join(r[1] for r in result)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    n_lines = 6 if args.quick else 20
    n_tess_chars = 20 if args.quick else 100
    n_posters = 2 if args.quick else 8
    fp = ocr.font_paths()
    test_fonts = {n: str(fp[n]) for n in ocr.TEST_FONTS if n in fp}
    model = ocr.load_pretrained()
    lm = ocr.pd1998_lm()
    cs = set(model.charset)
    config = {"test_fonts": list(test_fonts), "train_fonts": model.history.get("train_fonts"),
              "classes": len(model.charset), "lines_per_font_and_noise": n_lines, "line_noise": [0.0, 0.05],
              "line_font_size": 40, "isolated_sizes": [40, 48], "tesseract": "5.3 chi_sim --oem 1 (--psm 7 lines, --psm 10 chars)",
              "rapidocr": "rapidocr-onnxruntime 1.4.4 (PP-OCRv4 det+cls+rec, default onnxruntime threads)",
              "torch_threads": 2,
              "load": f"1-minute load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start",
              "weights": {"file": ocr.WEIGHTS.name, "bytes": ocr.WEIGHTS.stat().st_size},
              "training": {k: model.history.get(k) for k in ("n_train", "epochs", "render_s", "train_s")}}
    with Run("ocr", config=config) as run:
        # 1. isolated characters, held-out fonts, clean / 5% / 15% salt
        iso, confusions = isolated(model, test_fonts, (0.0, 0.05, 0.15))
        run.results["ours isolated"] = iso
        run.extra["confusions (clean, truth, predicted, count)"] = confusions
        # tesseract on isolated characters (a subset; each image: the glyph on white, --psm 10)
        rng = np.random.default_rng(1)
        han = [c for c in model.charset if "\u4e00" <= c <= "\u9fff"]
        sample = "".join(rng.choice(han, n_tess_chars, replace=False))
        t_hit, o_hit, t_sec = 0, 0, 0.0
        for name, path in test_fonts.items():
            for c in sample:
                img, _ = ocr.render_line(c, path, size=48)
                t0 = time.perf_counter()
                t_hit += "".join(tesseract_char(img).split()) == c
                t_sec += time.perf_counter() - t0
                o_hit += ocr.recognize(img, correct=False, model=model) == c
        run.results["isolated subset (glyph on white, whole pipeline)"] = {
            "chars": len(sample) * len(test_fonts), "tesseract_psm10": round(t_hit / (len(sample) * len(test_fonts)), 4),
            "ours_recognize": round(o_hit / (len(sample) * len(test_fonts)), 4)}
        # 2. line CER, interleaved systems
        rapid = Rapid()
        lines = test_lines(n_lines * len(test_fonts), cs, seed=0)
        systems = {"ours": lambda im: ocr.recognize(im, model=model, lm=lm),
                   "ours (no correction)": lambda im: ocr.recognize(im, correct=False, model=model),
                   "tesseract": tesseract_line, "rapidocr": rapid}
        stats = {(s, p): {"err": 0, "chars": 0, "sec": 0.0, "exact": 0, "lines": 0} for s in systems for p in (0.0, 0.05)}
        examples = []
        for i, text in enumerate(lines):
            name = list(test_fonts)[i % len(test_fonts)]
            for p in (0.0, 0.05):
                img, _ = ocr.render_line(text, test_fonts[name], size=40, noise=p, seed=i)
                row = {"font": name, "noise": p, "truth": text}
                for s, f in systems.items():
                    t0 = time.perf_counter()
                    hyp = "".join(f(img).split())
                    dt = time.perf_counter() - t0
                    st = stats[(s, p)]
                    e = ocr.cer(text, hyp) * len(text)
                    st["err"] += e
                    st["chars"] += len(text)
                    st["sec"] += dt
                    st["exact"] += hyp == text
                    st["lines"] += 1
                    row[s] = hyp
                if len(examples) < 12:
                    examples.append(row)
        for (s, p), st in stats.items():
            run.results.setdefault(s, {})[f"lines noise {p:.2f}"] = {
                "1-CER": round(1 - st["err"] / st["chars"], 4), "line_exact": round(st["exact"] / st["lines"], 4),
                "chars_per_s": round(st["chars"] / st["sec"], 1), "lines": st["lines"], "chars": st["chars"]}
        for p in (0.0, 0.05):
            k = f"lines noise {p:.2f}"
            o, t, r, nc = (run.results[s][k] for s in ("ours", "tesseract", "rapidocr", "ours (no correction)"))
            run.ratios[f"ours/tesseract 1-CER ({k})"] = round(o["1-CER"] / max(t["1-CER"], 1e-9), 3)
            run.ratios[f"ours/rapidocr 1-CER ({k})"] = round(o["1-CER"] / max(r["1-CER"], 1e-9), 3)
            run.ratios[f"ours/tesseract chars per s ({k})"] = round(o["chars_per_s"] / t["chars_per_s"], 3)
            run.ratios[f"ours/rapidocr chars per s ({k})"] = round(o["chars_per_s"] / r["chars_per_s"], 3)
            run.ratios[f"correction gain in 1-CER ({k})"] = round(o["1-CER"] - nc["1-CER"], 4)
        run.extra["line_examples"] = examples
        run.config["load"] += f", {os.getloadavg()[0]:.1f} after the line comparison"
        # 3. synthetic posters: stage scores and end-to-end CER
        poster_texts = test_lines(n_posters * 3, cs, seed=2, lo=5, hi=10)
        agg = {"lines": [], "chars_combined": [], "chars_projection": [], "chars_uniform": [], "cer": [], "cer_nocorr": []}
        for j in range(n_posters):
            texts = poster_texts[3 * j:3 * j + 3]
            img, truth = ocr.render_page(texts, font_paths=list(test_fonts.values()), size=44, seed=j, noise=0.02)
            mask = ocr.text_mask(np.asarray(img))
            lines_ = ocr.detect_lines(mask)
            agg["lines"].append(ocr.score_boxes(lines_, truth["lines"], iou=0.5))
            for rule in ("combined", "projection", "uniform"):
                boxes = [ocr.cut_characters(mask, b, rule=rule) for b in lines_]
                boxes = np.concatenate(boxes) if boxes else np.zeros((0, 4), np.int64)
                agg[f"chars_{rule}"].append(ocr.score_boxes(boxes, truth["chars"], iou=0.5))
            ref = "".join(truth["text"])
            agg["cer"].append(ocr.cer(ref, ocr.recognize(img, model=model, lm=lm)))
            agg["cer_nocorr"].append(ocr.cer(ref, ocr.recognize(img, correct=False, model=model)))
        summary = {}
        for key, vals in agg.items():
            if key.startswith("cer"):
                summary[key] = round(float(np.mean(vals)), 4)
            else:
                summary[key] = {m: round(sum(v["matched"] for v in vals) / max(1, sum(v[d] for v in vals)), 4)
                                for m, d in (("precision", "predicted"), ("recall", "truth"))}
        summary["posters"] = n_posters
        run.results["posters"] = summary


if __name__ == "__main__":
    main()
