"""NNCWS chapter: a BiLSTM character tagger (CWS part 4) at about the article-size model's budget.

    python -m benchmarks.segment_bilstm [--epochs 4]   # -> benchmarks/results/segment_bilstm.json

Embedding 64 -> bidirectional LSTM (hidden size chosen so that the total parameter count is close
to the 7x64 -> 64 -> 4 window model's) -> Linear -> 4 tags; trained with Adam on the PD1998 train
split (sentences cut after punctuation into pieces of at most 64 characters, as part 4 truncates
to short clauses), dev-selected epoch, decoded with the same hard-constraint Viterbi, scored on the
test split. Its character vocabulary is the window model's (count >= 2, one OOV id).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import Run  # noqa: E402
from kexue.data import pd1998_tokens  # noqa: E402
from kexue.segment import _cut, load_pretrained, score  # noqa: E402
from kexue.tagging import ALLOWED, END, START, TAGS, viterbi_batch, words_to_tags  # noqa: E402

MAXLEN = 64


class BiLSTMTagger(torch.nn.Module):
    def __init__(self, vocab_size: int, emb: int = 64, hidden: int = 48) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(vocab_size, emb, padding_idx=0)
        self.lstm = torch.nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.out = torch.nn.Linear(2 * hidden, 4)

    def forward(self, ids, lengths):
        x = torch.nn.utils.rnn.pack_padded_sequence(self.emb(ids), lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(x)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=ids.shape[1])
        return self.out(h)


def pieces_of(text: str, tags: list[str] | None):
    """(text, tags) pieces of at most MAXLEN characters, cut after punctuation where possible."""
    out, start = [], 0
    while start < len(text):
        end = min(start + MAXLEN, len(text))
        if end < len(text):  # prefer a cut after punctuation, at a word boundary when tags are known
            for i in range(end - 1, start + MAXLEN // 2, -1):
                if text[i] in "，。！？；：、" and (tags is None or tags[i] in "se"):
                    end = i + 1
                    break
        out.append((text[start:end], None if tags is None else tags[start:end]))
        start = end
    return out


def encode(seg, pieces):
    L = max(len(p) for p, _ in pieces)
    ids = np.zeros((len(pieces), L), np.int64)
    for i, (p, _) in enumerate(pieces):
        ids[i, :len(p)] = seg.char_ids(p)
    return torch.from_numpy(ids), torch.tensor([len(p) for p, _ in pieces])


def predict(model, seg, texts, batch=512):
    model.eval()
    with torch.no_grad():
        flat = [(i, p) for i, t in enumerate(texts) for p, _ in pieces_of(t, None)]
        words = [[] for _ in texts]
        for s in range(0, len(flat), batch):
            chunk = flat[s:s + batch]
            ids, lens = encode(seg, [(p, None) for _, p in chunk])
            lp = torch.log_softmax(model(ids, lens), -1).numpy()
            paths = viterbi_batch(lp, lens.numpy(), ALLOWED, START, END)
            for (i, p), path in zip(chunk, paths):
                words[i].extend(_cut(p, path[:len(p)]))
    return words


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train_sents, dev_sents, test_sents = (pd1998_tokens(s) for s in ("train", "dev", "test"))
    article = load_pretrained("article")  # reuse its vocabulary and id mapping
    V = len(article.vocab) + 2
    budget = article.n_params
    if args.hidden is None:  # largest hidden size whose total stays within the window model's budget
        hidden = max(h for h in range(8, 257) if sum(p.numel() for p in BiLSTMTagger(V, 64, h).parameters()) <= budget)
    else:
        hidden = args.hidden
    model = BiLSTMTagger(V, 64, hidden)
    n_params = sum(p.numel() for p in model.parameters())
    train_pieces = [pc for s in train_sents for pc in pieces_of("".join(s), words_to_tags(s))]
    y_all = [[TAGS.index(t) for t in tags] for _, tags in train_pieces]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    config = {"emb": 64, "hidden_per_direction": hidden, "params": n_params, "window_model_params": budget,
              "epochs": args.epochs, "batch_sentences": 128, "lr": 3e-3, "max_piece_len": MAXLEN, "seed": 0,
              "threads": 1, "machine_note": "2 shared CPU cores loaded by other jobs"}
    dev_texts = ["".join(s) for s in dev_sents]
    test_texts = ["".join(s) for s in test_sents]
    train_vocab = {w for s in train_sents for w in s}
    with Run("segment_bilstm", config=config) as run:
        best, best_f1, history = None, -1.0, []
        t_train = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            model.train()
            perm = torch.randperm(len(train_pieces), generator=gen).tolist()
            for s in range(0, len(perm), 128):
                idx = perm[s:s + 128]
                ids, lens = encode(article, [train_pieces[i] for i in idx])
                y = torch.full(ids.shape, -100, dtype=torch.long)
                for r, i in enumerate(idx):
                    y[r, :len(y_all[i])] = torch.tensor(y_all[i])
                loss = torch.nn.functional.cross_entropy(model(ids, lens).reshape(-1, 4), y.reshape(-1), ignore_index=-100)
                opt.zero_grad()
                loss.backward()
                opt.step()
            f1 = score(dev_sents, predict(model, article, dev_texts))["f1"]
            history.append({"epoch": epoch, "dev_f1": f1, "loss_last_batch": float(loss.detach())})
            print(history[-1], flush=True)
            if f1 > best_f1:
                best_f1, best = f1, {k: v.clone() for k, v in model.state_dict().items()}
        train_seconds = time.perf_counter() - t_train
        model.load_state_dict(best)
        t0 = time.perf_counter()
        pred = predict(model, article, test_texts)
        sec = time.perf_counter() - t0
        r = score(test_sents, pred, train_vocab)
        n_chars = sum(map(len, test_texts))
        run.results["bilstm"] = {"precision": r["precision"], "recall": r["recall"], "f1": r["f1"],
                                 "oov_recall": r["oov_recall"], "iv_recall": r["iv_recall"], "params": n_params,
                                 "dev_f1": best_f1, "train_seconds": train_seconds, "chars_per_s": n_chars / sec}
        r2 = score(test_sents, article.segment_batch(test_texts), train_vocab)
        run.results["window (article size)"] = {"precision": r2["precision"], "recall": r2["recall"], "f1": r2["f1"],
                                                "oov_recall": r2["oov_recall"], "iv_recall": r2["iv_recall"],
                                                "params": budget, "dev_f1": article.state["config"]["dev_f1"]}
        run.ratios["bilstm/window f1"] = r["f1"] / r2["f1"]
        run.extra["history"] = history
        print(run.results)


if __name__ == "__main__":
    main()
