"""Language model on PD1998 words: full softmax vs NCE vs negative sampling vs sampled softmax.

    .venv/bin/python -m benchmarks.nce [--quick]

A feed-forward trigram model (kexue.nce.NGramLM: 2 context words × 64-d embeddings → 128 tanh →
output over a 30,000-word vocabulary + <unk>, <s>, </s>) is trained with each output layer for the
same number of tokens (Adam, batch 512, one torch thread), in one run on the same data, and NCE once
more for the full softmax's training wall-clock time. Reported:
training tokens/s and exact test perplexity with the full softmax on the PD1998 test split (for
negative sampling also with the log kq correction). Also times sample_noise (torch.multinomial)
against AliasSampler. Writes benchmarks/results/nce.json.
"""

from __future__ import annotations

import argparse
import collections
import time

import torch

from benchmarks._common import Run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 steps per method: a smoke run")
    parser.add_argument("--steps", type=int, default=1800, help="training steps per method (batch 512)")
    args = parser.parse_args(argv)
    from kexue import data
    from kexue.nce import AliasSampler, NGramLM, ngram_data, perplexity, sample_noise, train_lm

    torch.set_num_threads(1)
    steps = 50 if args.quick else args.steps
    cfg = dict(vocab=30000, order=3, dim=64, hidden=128, k=64, batch_size=512, steps=steps, lr=2e-3, seed=0,
               noise="unigram counts of the training split (+1)", threads=1)
    with Run("nce", config=cfg) as run:
        train, test = data.pd1998_tokens("train"), data.pd1998_tokens("test")
        counts = collections.Counter(w for s in train for w in s)
        vocab = [w for w, _ in counts.most_common(cfg["vocab"])]
        ctx, tgt = ngram_data(train, vocab, cfg["order"])
        tctx, ttgt = ngram_data(test, vocab, cfg["order"])
        C = len(vocab) + 3
        noise = torch.bincount(tgt, minlength=C).float() + 1
        for output in ("softmax", "nce", "ns", "sampled"):
            torch.manual_seed(cfg["seed"])
            model = NGramLM(C, cfg["order"], cfg["dim"], cfg["hidden"], output=output, noise=noise, k=cfg["k"])
            r = train_lm(model, ctx, tgt, steps=steps, batch_size=cfg["batch_size"], lr=cfg["lr"], seed=cfg["seed"])
            res = {"tokens_per_s": round(r["tokens_per_s"], 1), "train_seconds": round(r["seconds"], 1),
                   "test_perplexity": round(perplexity(model, tctx, ttgt), 2)}
            if output == "ns":
                res["test_perplexity_corrected"] = round(perplexity(model, tctx, ttgt, corrected=True), 2)
            if output == "nce":
                lse = torch.logsumexp(model.out.scores(model.features(tctx[:5000])), dim=-1)
                res["mean_log_normaliser"] = round(float(lse.mean()), 4)  # ≈ 0 when self-normalised
            run.results[output] = res
            print(output, res, flush=True)
        # NCE again, given the full softmax's training wall-clock time instead of its number of tokens
        softmax_seconds = run.results["softmax"]["train_seconds"]
        equal_steps = max(steps, round(softmax_seconds * run.results["nce"]["tokens_per_s"] / cfg["batch_size"]))
        torch.manual_seed(cfg["seed"])
        model = NGramLM(C, cfg["order"], cfg["dim"], cfg["hidden"], output="nce", noise=noise, k=cfg["k"])
        r = train_lm(model, ctx, tgt, steps=equal_steps, batch_size=cfg["batch_size"], lr=cfg["lr"], seed=cfg["seed"])
        run.results["nce_equal_time"] = {"tokens_per_s": round(r["tokens_per_s"], 1), "train_seconds": round(r["seconds"], 1),
                                         "steps": equal_steps, "test_perplexity": round(perplexity(model, tctx, ttgt), 2)}
        print("nce_equal_time", run.results["nce_equal_time"], flush=True)
        r = run.results
        run.ratios["nce_equal_time/softmax test_perplexity"] = r["nce_equal_time"]["test_perplexity"] / r["softmax"]["test_perplexity"]
        for m in ("nce", "ns", "sampled"):
            run.ratios[f"{m}/softmax tokens_per_s"] = r[m]["tokens_per_s"] / r["softmax"]["tokens_per_s"]
            run.ratios[f"{m}/softmax test_perplexity"] = r[m]["test_perplexity"] / r["softmax"]["test_perplexity"]
        run.ratios["ns corrected/softmax test_perplexity"] = (r["ns"]["test_perplexity_corrected"]
                                                               / r["softmax"]["test_perplexity"])
        # samplers: draws per second for 10^6 samples from the unigram distribution
        g = torch.Generator().manual_seed(0)
        alias = AliasSampler(noise)
        times = {"multinomial": [], "alias": []}
        for _ in range(5):
            t0 = time.perf_counter(); sample_noise(noise, (1_000_000,), g); times["multinomial"].append(time.perf_counter() - t0)
            t0 = time.perf_counter(); alias.sample((1_000_000,), g); times["alias"].append(time.perf_counter() - t0)
        run.extra["samplers_draws_per_s"] = {k: round(1e6 / min(v)) for k, v in times.items()}
        run.extra["corpus"] = {"train_tokens": int(len(tgt)), "test_tokens": int(len(ttgt)), "classes": C,
                               "test_oov_rate": round(float((ttgt == len(vocab)).float().mean()), 4)}
        print(run.extra, flush=True)


if __name__ == "__main__":
    main()
