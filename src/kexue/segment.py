"""NNCWS: a small window-MLP Chinese word segmenter (chapter: notebooks/05-nncws.ipynb).

After 《轻便的深度学习分词系统：NNCWS v0.1》 (kexue.fm/archives/4114, 2016-11-29): every character
is tagged s/b/m/e (see :mod:`kexue.tagging`) from a window of ``window`` characters centred on it,

    e = [E[c_{i-r}]; ...; E[c_{i+r}]]  (window * emb),  h = ReLU(W1 e + b1)  (hidden),
    p_i = softmax(W2 h + b2)  (4 tags),

and the tag sequence is decoded by Viterbi under hard transition constraints (start in {s, b},
end in {s, e}). Training uses PyTorch; inference is plain NumPy, batched over many sentences.

Conventions:
* Character ids: 0 = padding (outside the sentence), 1..n = vocabulary characters (training
  characters seen at least ``min_count`` times, most frequent first), n + 1 = one constant OOV id.
  Half-width ASCII is looked up as its full-width form (the People's Daily corpus writes
  ``１９９８年``), the text itself is never changed.
* Segmentation is lossless: ``"".join(seg.segment(t)) == t`` for every string. Runs of whitespace
  are returned as tokens of their own and never reach the model; long runs of non-space text are
  cut into chunks of at most ``max_len`` characters (preferably after punctuation), so memory stays
  bounded for any input length.
* ``score`` follows the SIGHAN bakeoff scorer: a word counts as correct when its character span
  matches a gold span; P = correct / predicted words, R = correct / gold words, F1 = 2PR/(P+R);
  OOV recall is the recall on gold words absent from the training word list.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_array, check_choice, check_int, check_number, check_type
from .tagging import ALLOWED, END, START, TAGS, viterbi, viterbi_batch, words_to_tags

__all__ = [
    "WindowTagger", "Segmenter", "LMSegmenter", "LM_TRANSITIONS", "train", "score", "load_pretrained", "build_vocab", "char_windows",
    "nncws_forward", "transition_log_probs", "invalid_rate", "build_bigram_vocab", "PRETRAINED", "PRETRAINED_ARTICLE",
]

#: Where ``python -m kexue.segment train`` writes the shipped model (window 7, 64-d character
#: embeddings, 16-d bigram embeddings, 128 hidden units, dropout 0.25, 12 epochs, dev-selected).
PRETRAINED = Path(__file__).resolve().parent / "weights" / "nncws.pt"
#: The article's exact architecture (no bigrams): ``python -m kexue.segment train --bigram-emb 0
#: --epochs 8 --out src/kexue/weights/nncws_article.pt``.
PRETRAINED_ARTICLE = PRETRAINED.with_name("nncws_article.pt")
_TAG_ID = {t: i for i, t in enumerate(TAGS)}
_WS = re.compile(r"\s+")
_PUNCT = set("，。！？；：、,.!?;:）)」』》】”’…—")
_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}  # ASCII '!'..'~' -> U+FF01..U+FF5E


def _lookup_form(text: str) -> str:
    return text.translate(_FULLWIDTH)


# ------------------------------------------------------------------------------------------ data
def build_vocab(texts: Iterable[str], min_count: int = 2) -> str:
    """Characters seen at least ``min_count`` times, most frequent first (ties: code point), as a str.

    Character ``vocab[k]`` gets id ``k + 1``; half-width ASCII is counted as its full-width form.
    """
    check_int(min_count, "min_count", low=1)
    counts: Counter[str] = Counter()
    for t in texts:
        check_type(t, "texts[i]", str)
        counts.update(_lookup_form(t))
    chars = [c for c, n in counts.items() if n >= min_count and not c.isspace()]
    chars.sort(key=lambda c: (-counts[c], ord(c)))
    return "".join(chars)


def build_bigram_vocab(texts: Iterable[str], min_count: int = 3) -> list[str]:
    """Character bigrams (adjacent pairs inside a text) seen at least ``min_count`` times, most frequent first."""
    check_int(min_count, "min_count", low=1)
    counts: Counter[str] = Counter()
    for t in texts:
        check_type(t, "texts[i]", str)
        t = _lookup_form(t)
        counts.update(t[j:j + 2] for j in range(len(t) - 1))
    grams = [g for g, n in counts.items() if n >= min_count]
    grams.sort(key=lambda g: (-counts[g], g))
    return grams


def _bigram_ids(text: str, index: dict[str, int], oov: int) -> np.ndarray:
    """Id of the bigram starting at each position (0 for the last character: it has no successor)."""
    t = _lookup_form(text)
    get = index.get
    out = np.zeros(len(t), np.int64)
    if len(t) > 1:
        out[:-1] = np.fromiter((get(t[j:j + 2], oov) for j in range(len(t) - 1)), dtype=np.int64, count=len(t) - 1)
    return out


def _char_ids(text: str, index: dict[str, int], oov: int) -> np.ndarray:
    get = index.get
    return np.fromiter((get(c, oov) for c in _lookup_form(text)), dtype=np.int64, count=len(text))


def char_windows(ids: np.ndarray, window: int = 7) -> np.ndarray:
    """The ``window`` ids centred on each position, zero-padded at both ends.

    Shapes: ``ids`` [T] int -> [T, window] int64; row ``i`` is ``ids[i-r .. i+r]`` with
    ``r = window // 2`` (``window`` must be odd so that the window has a centre).
    """
    check_array(ids, "ids", kind="int", ndim=1)
    check_int(window, "window", low=1)
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}")
    r = window // 2
    buf = np.concatenate([np.zeros(r, np.int64), ids.astype(np.int64), np.zeros(r, np.int64)])
    return buf[np.arange(len(ids))[:, None] + np.arange(window)[None, :]]


def transition_log_probs(tag_seqs: Iterable[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Tag-bigram and start log-probabilities estimated by counting (add-one over allowed pairs).

    Returns ``(trans [4, 4], start [4])`` in TAGS order; forbidden pairs/starts get ``-inf``.
    """
    trans = np.where(ALLOWED, 1.0, 0.0)
    start = np.zeros(4)
    start[list(START)] = 1.0
    for tags in tag_seqs:
        ids = [_TAG_ID[t] for t in tags]
        if ids:
            start[ids[0]] += 1
        for a, b in zip(ids, ids[1:]):
            trans[a, b] += 1
    with np.errstate(divide="ignore"):
        return np.log(trans / trans.sum(1, keepdims=True)), np.log(start / start.sum())


def invalid_rate(tag_paths: Iterable[np.ndarray]) -> float:
    """Share of tag sequences (int arrays in TAGS order) that break the BMES rules.

    A sequence is invalid if it starts with m/e, ends with b/m, or has a forbidden bigram (e.g. b s).
    """
    n = bad = 0
    for p in tag_paths:
        p = np.asarray(p)
        if p.size == 0:
            continue
        n += 1
        if p[0] not in START or p[-1] not in END or not ALLOWED[p[:-1], p[1:]].all():
            bad += 1
    return bad / n if n else 0.0


# ------------------------------------------------------------------------------------------ model
def _torch():
    import torch

    return torch


class WindowTagger(_torch().nn.Module):
    """Embedding -> flatten -> Linear(window*emb, hidden) -> ReLU -> Linear(hidden, 4).

    ``forward(windows)``: windows [N, window] int64 -> logits [N, 4]. Parameters:
    ``V*emb + (window*emb + 1)*hidden + (hidden + 1)*4`` (437,508 for the article's V = 6,383).
    With ``bigram_emb > 0`` (our extension, not in NNCWS) the embeddings of the ``window - 1``
    character bigrams inside the window are appended to the first layer's input.
    """

    def __init__(self, vocab_size: int, window: int = 7, emb: int = 64, hidden: int = 64,
                 dropout: float = 0.0, bigram_vocab_size: int = 0, bigram_emb: int = 0) -> None:
        super().__init__()
        nn = _torch().nn
        self.window, self.emb_dim, self.hidden = window, emb, hidden
        self.emb = nn.Embedding(vocab_size, emb)
        self.bemb = nn.Embedding(bigram_vocab_size, bigram_emb) if bigram_emb else None
        self.drop = nn.Dropout(dropout)
        self.fc1 = nn.Linear(window * emb + (window - 1) * bigram_emb, hidden)
        self.fc2 = nn.Linear(hidden, 4)

    def forward(self, windows, bigram_windows=None):
        """``windows`` [N, W] char ids; ``bigram_windows`` [N, W-1] bigram ids (bigram models only)."""
        e = self.emb(windows).flatten(1)
        if self.bemb is not None:
            e = _torch().cat([e, self.bemb(bigram_windows).flatten(1)], 1)
        return self.fc2(_torch().relu(self.fc1(self.drop(e))))


def nncws_forward(arrays: dict[str, np.ndarray], windows: np.ndarray, output_bias: bool = True) -> np.ndarray:
    """The NumPy forward pass exactly as NNCWS ships it (probabilities, [N, 4]).

    ``arrays``: ``emb`` [V, D], ``w1`` [H, W*D], ``b1`` [H], ``w2`` [4, H], ``b2`` [4] (see
    :meth:`Segmenter.arrays`); ``windows`` [N, W] int. ``output_bias=False`` reproduces the
    original's bug (the second layer's bias is never added).
    """
    check_array(windows, "windows", kind="int", ndim=2)
    x = arrays["emb"][windows].reshape(len(windows), -1)
    h = np.maximum(x @ arrays["w1"].T + arrays["b1"], 0)
    z = h @ arrays["w2"].T + (arrays["b2"] if output_bias else 0)
    z = z - z.max(1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(1, keepdims=True)


class Segmenter:
    """A trained window tagger with NumPy inference and Viterbi decoding.

    ``segment(text) -> list[str]`` and ``segment_batch(texts) -> list[list[str]]`` are lossless
    (see the module docstring). ``decode``: ``"viterbi"`` (hard constraints) or ``"greedy"``
    (per-character argmax, may break the BMES rules); ``transitions``: ``"hard"`` (all allowed
    pairs score 0, as in NNCWS) or ``"learned"`` (add tag-bigram log-probabilities counted on the
    training tags). ``max_len``: longest chunk fed to the model; ``batch_chars``: characters per
    vectorised batch (memory is O(batch_chars * hidden)).
    """

    def __init__(self, state: dict[str, Any], *, decode: str = "viterbi", transitions: str = "hard",
                 max_len: int = 256, batch_chars: int = 65536) -> None:
        check_type(state, "state", dict)
        for key in ("emb", "w1", "b1", "w2", "b2", "vocab", "window"):
            if key not in state:
                raise ValueError(f"state must contain {key!r}")
        self.vocab: str = state["vocab"]
        self.window = int(state["window"])
        arr = {k: np.asarray(state[k].numpy() if hasattr(state[k], "numpy") else state[k], dtype=np.float32)
               for k in ("emb", "w1", "b1", "w2", "b2")}
        self._arrays = arr
        V, D = arr["emb"].shape
        if V != len(self.vocab) + 2:
            raise ValueError("state arrays do not match its vocab")
        self.index = {c: i + 1 for i, c in enumerate(self.vocab)}
        self.oov = len(self.vocab) + 1
        H = arr["w1"].shape[0]
        self._bigram = None
        if state.get("bemb") is not None:
            be = state["bemb"]
            be = np.asarray(be.numpy() if hasattr(be, "numpy") else be, dtype=np.float32)
            grams = state["bigrams"]
            bindex = {grams[2 * j:2 * j + 2]: j + 1 for j in range(len(grams) // 2)}
            wb = arr["w1"][:, self.window * D:]
            if be.shape[0] != len(bindex) + 2 or wb.shape[1] != (self.window - 1) * be.shape[1]:
                raise ValueError("state bigram arrays do not match its bigrams/window")
            # Vectorised look-up: a bigram of vocabulary characters (ids a, b) has the key a * M + b.
            # Every character of a kept bigram is in the vocabulary (it occurs at least as often).
            M = len(self.vocab) + 2
            keys = np.array([self.index.get(g[0], self.oov) * M + self.index.get(g[1], self.oov)
                             for g in bindex], dtype=np.int64)
            order = np.argsort(keys, kind="stable")
            gid = np.fromiter(bindex.values(), dtype=np.int64, count=len(bindex))
            self._bigram = (keys[order], gid[order], len(bindex) + 1, be, np.ascontiguousarray(wb.T), M)
            arr["w1"] = np.ascontiguousarray(arr["w1"][:, :self.window * D])
        elif arr["w1"].shape[1] != self.window * D:
            raise ValueError("state arrays do not match its vocab/window")
        # Precompute the first layer per window slot: h = b1 + sum_k (E W1_k^T)[c_{i+k-r}].
        w1 = arr["w1"].reshape(H, self.window, D)
        self._tables = np.ascontiguousarray(np.einsum("vd,hkd->kvh", arr["emb"], w1))
        lt = state.get("trans")
        ls = state.get("start")
        self._learned = (None if lt is None else np.asarray(lt.numpy() if hasattr(lt, "numpy") else lt, np.float64),
                         None if ls is None else np.asarray(ls.numpy() if hasattr(ls, "numpy") else ls, np.float64))
        self.state = state
        self.user_dict: dict[str, float] = {}
        self.decode = check_choice(decode, "decode", ("viterbi", "greedy"))
        self.transitions = check_choice(transitions, "transitions", ("hard", "learned"))
        if transitions == "learned" and self._learned[0] is None:
            raise ValueError("transitions='learned' needs 'trans' in state")
        self.max_len = check_int(max_len, "max_len", low=1)
        self.batch_chars = check_int(batch_chars, "batch_chars", low=1)

    # -------------------------------------------------------------- helpers
    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """The plain weight arrays (``emb``, ``w1``, ``b1``, ``w2``, ``b2``), as NNCWS exports them."""
        return dict(self._arrays)

    @property
    def n_params(self) -> int:
        """Number of trained parameters (embeddings included)."""
        extra = 0 if self._bigram is None else self._bigram[3].size + self._bigram[4].size
        return int(sum(a.size for a in self._arrays.values()) + extra)

    def char_ids(self, text: str) -> np.ndarray:
        """Ids [len(text)] int64 of the characters (0 never occurs; unknown -> the OOV id)."""
        check_type(text, "text", str)
        return _char_ids(text, self.index, self.oov)

    def add_word(self, word: str, factor: float = 10.0) -> None:
        """User dictionary "hard decoding": wherever ``word`` occurs, multiply the probabilities of
        its tags (b m.. e, or s) by ``factor`` before decoding (> 1 favours the word, < 1 splits it).
        """
        check_type(word, "word", str)
        if not word or _WS.search(word):
            raise ValueError("word must be non-empty and contain no whitespace")
        self.user_dict[word] = check_number(factor, "factor", low=0, low_inclusive=False)

    def _pieces(self, text: str) -> list[tuple[str, bool]]:
        """Split into (piece, is_model_input): whitespace runs, then chunks of at most max_len."""
        out: list[tuple[str, bool]] = []
        pos = 0
        for m in _WS.finditer(text):
            if m.start() > pos:
                self._chunk(text[pos:m.start()], out)
            out.append((m.group(), False))
            pos = m.end()
        if pos < len(text):
            self._chunk(text[pos:], out)
        return out

    def _chunk(self, run: str, out: list) -> None:
        L = self.max_len
        while len(run) > L:
            cut = max((i + 1 for i in range(L - 1, L // 2 - 1, -1) if run[i] in _PUNCT), default=L)
            out.append((run[:cut], True))
            run = run[cut:]
        if run:
            out.append((run, True))

    def _log_probs(self, ids_list: list[np.ndarray]) -> np.ndarray:
        """Tag log-probabilities [sum(len), 4] float32 for several id sequences (vectorised)."""
        r = self.window // 2
        lens = np.array([len(x) for x in ids_list])
        parts = []
        for x in ids_list:
            parts.append(np.zeros(r, np.int64))
            parts.append(x)
        parts.append(np.zeros(r, np.int64))
        buf = np.concatenate(parts)
        starts = np.cumsum(np.r_[0, lens[:-1] + r]) + r
        pos = np.repeat(starts - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
        bbuf = None
        if self._bigram is not None:
            keys, gid, boov, be, wb, M = self._bigram
            a, b = buf[:-1], buf[1:]
            k = a * M + b
            j = np.minimum(np.searchsorted(keys, k), max(len(keys) - 1, 0))
            bbuf = np.zeros(len(buf), np.int64)  # id of the bigram starting at each position
            bbuf[:-1] = np.where(keys[j] == k, gid[j], boov) if len(keys) else boov
            bbuf[:-1][(a == 0) | (b == 0)] = 0  # padding, or the last character of a sentence
        out = np.empty((len(pos), 4), np.float32)
        step = 4096  # rows per pass: keeps the hidden activations in cache
        b1, w2t, b2 = self._arrays["b1"], np.ascontiguousarray(self._arrays["w2"].T), self._arrays["b2"]
        boffs = np.arange(-r, r)[None, :]
        for s0 in range(0, len(pos), step):
            p = pos[s0:s0 + step] - r
            h = self._tables[0][buf[p]]
            for k in range(1, self.window):
                h += self._tables[k][buf[p + k]]
            h += b1
            if bbuf is not None:
                bw = bbuf[p[:, None] + r + boffs]  # bigrams starting at i-r .. i+r-1
                h += be[bw].reshape(len(p), -1) @ wb
            np.maximum(h, 0, out=h)
            z = h @ w2t + b2
            z -= z.max(1, keepdims=True)
            z -= np.log(np.exp(z).sum(1, keepdims=True))
            out[s0:s0 + step] = z
        return out

    def tag_log_probs(self, text: str) -> np.ndarray:
        """Model log-probabilities [len(text), 4] (TAGS order) for one whitespace-free string."""
        check_type(text, "text", str)
        if not text:
            return np.zeros((0, 4), np.float32)
        return self._log_probs([self.char_ids(text)])

    def _decode(self, pieces: list[str], lp: np.ndarray, lens: np.ndarray) -> list[np.ndarray]:
        offs = np.r_[0, np.cumsum(lens)]
        if self.decode == "greedy":
            tags = lp.argmax(1)
            return [tags[offs[i]:offs[i + 1]] for i in range(len(pieces))]
        B, T = len(pieces), int(lens.max())
        padded = np.zeros((B, T, 4), np.float32)
        mask = np.arange(T)[None, :] < lens[:, None]
        padded[mask] = lp
        trans, start = (None, None) if self.transitions == "hard" else self._learned
        if start is not None:
            padded[:, 0] += start.astype(np.float32)
        paths = viterbi_batch(padded, lens.astype(np.int64), ALLOWED, START, END, trans)
        return [paths[i, :lens[i]] for i in range(B)]

    def tag_batch(self, pieces: list[str]) -> list[np.ndarray]:
        """Decoded tag ids (TAGS order) for whitespace-free strings, batched."""
        if not pieces:
            return []
        ids = [self.char_ids(p) for p in pieces]
        lp = self._log_probs(ids)
        lens = np.array([len(p) for p in pieces])
        if self.user_dict:
            offs = np.r_[0, np.cumsum(lens)]
            for i, p in enumerate(pieces):
                for w, f in self.user_dict.items():
                    tag = np.array([_TAG_ID[t] for t in words_to_tags([w])])
                    j = p.find(w)
                    while j >= 0:
                        lp[offs[i] + j + np.arange(len(w)), tag] += math.log(f)
                        j = p.find(w, j + 1)
        return self._decode(pieces, lp, lens)

    # -------------------------------------------------------------- public API
    def segment(self, text: str) -> list[str]:
        """Words of ``text`` (whitespace runs are tokens of their own); ``"".join`` gives ``text``."""
        check_type(text, "text", str)
        return self.segment_batch([text])[0]

    def segment_batch(self, texts: Sequence[str]) -> list[list[str]]:
        """:meth:`segment` for many texts, vectorised over batches of about ``batch_chars`` characters."""
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise TypeError(f"texts must be a sequence of str, got {type(texts).__name__}")
        for t in texts:
            check_type(t, "texts[i]", str)
        layout = [self._pieces(t) for t in texts]
        flat = [(i, j, p) for i, lay in enumerate(layout) for j, (p, model) in enumerate(lay) if model]
        flat.sort(key=lambda x: len(x[2]))
        words: dict[tuple[int, int], list[str]] = {}
        k = 0
        while k < len(flat):
            n, m = 0, k
            while m < len(flat) and (n == 0 or n + len(flat[m][2]) <= self.batch_chars):
                n += len(flat[m][2])
                m += 1
            batch = flat[k:m]
            for (i, j, p), tags in zip(batch, self.tag_batch([b[2] for b in batch])):
                words[i, j] = _cut(p, tags)
            k = m
        out = []
        for i, lay in enumerate(layout):
            ws: list[str] = []
            for j, (p, model) in enumerate(lay):
                if model:
                    ws.extend(words[i, j])
                else:
                    ws.append(p)
            out.append(ws)
        return out

    def save(self, path: str | Path) -> None:
        """Write the state (tensors, vocab str, ints) for ``torch.load(path, weights_only=True)``."""
        torch = _torch()
        state = {k: (torch.from_numpy(np.asarray(v)) if isinstance(v, np.ndarray) else v) for k, v in self.state.items()}
        torch.save(state, path)

    @classmethod
    def load(cls, path: str | Path, **kwargs) -> "Segmenter":
        """Load a state written by :meth:`save` (safe loading: ``weights_only=True``)."""
        return cls(_torch().load(path, weights_only=True), **kwargs)


def _cut(text: str, tags: np.ndarray) -> list[str]:
    """Words from tag ids; a word closes after s/e and before s/b (as tags_to_words)."""
    if len(text) == 0:
        return []
    tags = np.asarray(tags)
    starts = np.flatnonzero((tags[1:] <= 1) | (tags[:-1] == 0) | (tags[:-1] == 3)) + 1
    bounds = np.r_[0, starts, len(text)]
    return [text[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def load_pretrained(model: str = "default", **kwargs) -> Segmenter:
    """A shipped segmenter, trained on the PD1998 train split by ``python -m kexue.segment train``.

    ``model``: ``"default"`` (:data:`PRETRAINED`: bigram embeddings, 128 hidden, dropout) or
    ``"article"`` (:data:`PRETRAINED_ARTICLE`: NNCWS's 7x64 -> 64 -> 4 exactly, 8 epochs). ``kwargs`` go to :class:`Segmenter`.
    """
    check_choice(model, "model", ("default", "article"))
    path = PRETRAINED if model == "default" else PRETRAINED_ARTICLE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m kexue.segment train` (see its docstring)")
    return Segmenter.load(path, **kwargs)


# ------------------------------------------------------------------------------------------ training
def _check_sentences(sentences: Any, name: str) -> list[list[str]]:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError(f"{name} must be a sequence of word lists, got {type(sentences).__name__}")
    out = []
    for s in sentences:
        if isinstance(s, str) or not isinstance(s, Sequence):
            raise TypeError(f"{name}[i] must be a list of words, got {type(s).__name__}")
        for w in s:
            check_type(w, f"{name}[i][j]", str)
            if not w or _WS.search(w):
                raise ValueError(f"{name} words must be non-empty and contain no whitespace, got {w!r}")
        out.append(list(s))
    return out


def train(sentences: Sequence[Sequence[str]], window: int = 7, emb: int = 64, hidden: int = 64, *,
          epochs: int = 5, batch_size: int = 1024, lr: float = 2e-3, min_count: int = 2, dropout: float = 0.0,
          dev: Sequence[Sequence[str]] | None = None, seed: int = 0, progress: bool = True,
          max_chars: int | None = None, bigram_emb: int = 0, bigram_min_count: int = 3) -> Segmenter:
    """Train the window tagger on segmented ``sentences`` (each a list of words) with Adam.

    Cross-entropy on the gold BMES tag of every character; one epoch visits every character once in
    a random order (generator seeded with ``seed``). With ``dev`` (held-out sentences), the epoch
    with the best dev F1 is kept. ``max_chars``: use only the first sentences up to that many
    characters (book-size runs). ``bigram_emb > 0`` adds embeddings of the character bigrams in
    the window (bigrams seen ``bigram_min_count`` times; an extension, NNCWS has none). Returns a :class:`Segmenter` whose state also holds the counted
    tag transitions (``transitions="learned"``) and the training word list (``train_words``).
    """
    torch = _torch()
    sentences = _check_sentences(sentences, "sentences")
    if not sentences:
        raise ValueError("sentences must not be empty")
    check_int(window, "window", low=1)
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}")
    check_int(emb, "emb", low=1)
    check_int(hidden, "hidden", low=1)
    check_int(epochs, "epochs", low=1)
    check_int(batch_size, "batch_size", low=1)
    check_number(lr, "lr", low=0, low_inclusive=False)
    check_number(dropout, "dropout", low=0, high=1, high_inclusive=False)
    check_int(seed, "seed", low=0)
    check_int(bigram_emb, "bigram_emb", low=0)
    check_int(bigram_min_count, "bigram_min_count", low=1)
    if max_chars is not None:
        check_int(max_chars, "max_chars", low=1)
        kept, n = [], 0
        for s in sentences:
            if n >= max_chars:
                break
            kept.append(s)
            n += sum(map(len, s))
        sentences = kept
    dev = None if dev is None else _check_sentences(dev, "dev")

    texts = ["".join(s) for s in sentences]
    tag_seqs = [words_to_tags(s) for s in sentences]
    vocab = build_vocab(texts, min_count)
    index = {c: i + 1 for i, c in enumerate(vocab)}
    oov = len(vocab) + 1
    r = window // 2
    grams = build_bigram_vocab(texts, bigram_min_count) if bigram_emb else []
    bindex = {g: j + 1 for j, g in enumerate(grams)}
    parts, bparts, pos, labels, off = [np.zeros(r, np.int64)], [np.zeros(r, np.int64)], [], [], r
    for t, tags in zip(texts, tag_seqs):
        ids = _char_ids(t, index, oov)
        parts += [ids, np.zeros(r, np.int64)]
        if bigram_emb:
            bparts += [_bigram_ids(t, bindex, len(grams) + 1), np.zeros(r, np.int64)]
        pos.append(np.arange(off, off + len(ids)))
        labels.append(np.array([_TAG_ID[x] for x in tags], np.int64))
        off += len(ids) + r
    buf = torch.from_numpy(np.concatenate(parts))
    pos_t = torch.from_numpy(np.concatenate(pos))
    y = torch.from_numpy(np.concatenate(labels))
    offsets = torch.arange(-r, r + 1)
    bbuf = torch.from_numpy(np.concatenate(bparts)) if bigram_emb else None
    boffsets = torch.arange(-r, r)

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = WindowTagger(len(vocab) + 2, window, emb, hidden, dropout,
                         len(grams) + 2 if bigram_emb else 0, bigram_emb)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    trans, start = transition_log_probs(tag_seqs)
    words = sorted({w for s in sentences for w in s})
    config = {"window": window, "emb": emb, "hidden": hidden, "epochs": epochs, "batch_size": batch_size,
              "lr": lr, "min_count": min_count, "dropout": dropout, "seed": seed,
              "bigram_emb": bigram_emb, "bigram_min_count": bigram_min_count,
              "train_chars": int(len(y)), "train_sentences": len(sentences)}

    def snapshot(epoch: int, dev_f1: float | None) -> dict[str, Any]:
        sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
        out = {"emb": sd["emb.weight"], "w1": sd["fc1.weight"], "b1": sd["fc1.bias"], "w2": sd["fc2.weight"],
               "b2": sd["fc2.bias"], "vocab": vocab, "window": window, "trans": torch.from_numpy(trans),
               "start": torch.from_numpy(start), "train_words": "\n".join(words),
               "config": {**config, "best_epoch": epoch, "dev_f1": dev_f1}}
        if bigram_emb:
            out["bemb"], out["bigrams"] = sd["bemb.weight"], "".join(grams)
        return out

    from tqdm import tqdm

    n = len(y)
    steps = math.ceil(n / batch_size)
    best, best_f1, history = None, -1.0, []
    bar = tqdm(total=epochs * steps, desc="nncws train", disable=not progress, file=sys.stderr, mininterval=1)
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for s in range(steps):
            idx = perm[s * batch_size:(s + 1) * batch_size]
            centre = pos_t[idx, None]
            bwin = None if bbuf is None else bbuf[centre + boffsets]
            loss = torch.nn.functional.cross_entropy(model(buf[centre + offsets], bwin), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            bar.update(1)
        model.eval()
        if dev is not None:
            seg = Segmenter(snapshot(epoch, None))
            f1 = score(dev, seg.segment_batch(["".join(s) for s in dev]))["f1"]
            history.append({"epoch": epoch, "loss": total / n, "dev_f1": f1})
            bar.set_postfix(loss=f"{total / n:.4f}", dev_f1=f"{f1:.4f}")
            if f1 > best_f1:
                best, best_f1 = snapshot(epoch, f1), f1
        else:
            history.append({"epoch": epoch, "loss": total / n})
            bar.set_postfix(loss=f"{total / n:.4f}")
            best = snapshot(epoch, None)
    bar.close()
    best["config"]["history"] = history
    return Segmenter(best)


# ------------------------------------------------------------------------------------------ scoring
def _spans(words: Sequence[str]) -> set[tuple[int, int]]:
    out, i = set(), 0
    for w in words:
        out.add((i, i + len(w)))
        i += len(w)
    return out


def score(gold: Sequence, pred: Sequence, train_vocab: Iterable[str] | None = None) -> dict[str, Any]:
    """SIGHAN-style word scores of ``pred`` against ``gold``.

    ``gold``, ``pred``: one sentence (a list of words) or a list of sentences; sentence ``i`` of both
    must concatenate to the same text. Whitespace-only tokens are ignored on both sides (the
    bakeoff files separate words by spaces). Returns ``precision``, ``recall``, ``f1``, counts
    ``gold_words``/``pred_words``/``correct``, and with ``train_vocab`` (the training word list)
    ``oov_rate``, ``oov_recall`` and ``iv_recall`` (otherwise None). Raises ``ValueError`` if the
    texts differ or the numbers of sentences differ.
    """
    def sentences(x, name):
        if isinstance(x, str) or not isinstance(x, Sequence):
            raise TypeError(f"{name} must be a list of words or a list of sentences, got {type(x).__name__}")
        if len(x) and all(isinstance(w, str) for w in x):
            return [list(x)]
        for s in x:
            if isinstance(s, str) or not isinstance(s, Sequence) or not all(isinstance(w, str) for w in s):
                raise TypeError(f"{name} must be a list of words or a list of sentences (lists of str)")
        return [list(s) for s in x]

    g_all, p_all = sentences(gold, "gold"), sentences(pred, "pred")
    if len(g_all) != len(p_all):
        raise ValueError(f"pred must have as many sentences as gold: {len(p_all)} != {len(g_all)}")
    vocab = None if train_vocab is None else set(train_vocab)
    ng = npred = nc = n_oov = c_oov = 0
    for k, (g, p) in enumerate(zip(g_all, p_all)):
        g = [w for w in g if w and not w.isspace()]
        p = [w for w in p if w and not w.isspace()]
        if "".join(g) != "".join(p):
            raise ValueError(f"pred sentence {k} does not have the same characters as gold sentence {k}")
        gs, ps = _spans(g), _spans(p)
        ok = gs & ps
        ng, npred, nc = ng + len(gs), npred + len(ps), nc + len(ok)
        if vocab is not None:
            text = "".join(g)
            for a, b in gs:
                if text[a:b] not in vocab:
                    n_oov += 1
                    c_oov += (a, b) in ok
    P = nc / npred if npred else 0.0
    R = nc / ng if ng else 0.0
    out = {"precision": P, "recall": R, "f1": 2 * P * R / (P + R) if P + R else 0.0,
           "gold_words": ng, "pred_words": npred, "correct": nc,
           "oov_rate": None, "oov_recall": None, "iv_recall": None}
    if vocab is not None:
        out["oov_rate"] = n_oov / ng if ng else 0.0
        out["oov_recall"] = c_oov / n_oov if n_oov else None
        out["iv_recall"] = (nc - c_oov) / (ng - n_oov) if ng - n_oov else None
    return out


# ------------------------------------------------------------------------------------------ unsupervised
#: CWS part 5's hand-set transition weights between the word-position states b, c, d, e (first,
#: second, third, fourth-or-later character of a word); other pairs are forbidden.
LM_TRANSITIONS = {("b", "b"): 1.0, ("b", "c"): 0.15, ("c", "b"): 1.0, ("c", "d"): 0.01, ("d", "b"): 1.0,
                  ("d", "e"): 0.01, ("e", "b"): 1.0, ("e", "e"): 0.001}


class LMSegmenter:
    """Unsupervised segmentation with a character n-gram language model (CWS part 5).

    The best segmentation maximises ``prod_j p(w_j)`` with ``p(w) = p(c1) p(c2|c1) ... `` from a
    character 4-gram model counted on *unsegmented* text. As a tagging problem: states b/c/d/e =
    1st/2nd/3rd/later character of a word, with emission log-probabilities of the unigram, bigram,
    trigram and 4-gram conditionals (maximum likelihood, ``floor`` for unseen events) and the
    hand-set transition weights :data:`LM_TRANSITIONS`, decoded with Viterbi; a word starts at each b.
    ``segment(text)`` is lossless like :meth:`Segmenter.segment`.
    """

    def __init__(self, texts: Iterable[str], floor: float = 1e-8) -> None:
        check_number(floor, "floor", low=0, high=1, low_inclusive=False)
        self.floor = math.log(floor)
        counts: list[Counter[str]] = [Counter() for _ in range(5)]
        for t in texts:
            check_type(t, "texts[i]", str)
            t = _lookup_form(t)
            for n in range(1, 5):
                counts[n].update(t[j:j + n] for j in range(len(t) - n + 1))
            counts[0][""] += len(t)
        self.counts = counts
        states = "bcde"
        self.allowed = np.zeros((4, 4), bool)
        self.trans = np.zeros((4, 4))
        for (a, b), w in LM_TRANSITIONS.items():
            self.allowed[states.index(a), states.index(b)] = True
            self.trans[states.index(a), states.index(b)] = math.log(w)

    def _logp(self, ctx: str, c: str) -> float:
        num, den = self.counts[len(ctx) + 1].get(ctx + c, 0), self.counts[len(ctx)].get(ctx, 0)
        return math.log(num / den) if num and den else self.floor

    def _emissions(self, text: str) -> np.ndarray:
        t = _lookup_form(text)
        lp = np.full((len(t), 4), -np.inf)
        for i, c in enumerate(t):
            for k in range(min(i, 3) + 1):  # state k: the character is the (k+1)-th of its word
                lp[i, k] = self._logp(t[i - k:i] if k < 3 else t[i - 3:i], c)
        return lp

    def segment(self, text: str) -> list[str]:
        """Words of ``text``; whitespace runs are tokens of their own."""
        check_type(text, "text", str)
        out: list[str] = []
        pos = 0
        for m in list(_WS.finditer(text)) + [None]:
            run = text[pos:m.start()] if m else text[pos:]
            if run:
                path = viterbi(self._emissions(run), self.allowed, (0,), None, self.trans)
                starts = np.flatnonzero(path == 0)
                bounds = np.r_[starts, len(run)]
                out.extend(run[a:b] for a, b in zip(bounds[:-1], bounds[1:]))
            if m:
                out.append(m.group())
                pos = m.end()
        return out

    def segment_batch(self, texts: Sequence[str]) -> list[list[str]]:
        """:meth:`segment` for each text."""
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise TypeError(f"texts must be a sequence of str, got {type(texts).__name__}")
        return [self.segment(t) for t in texts]


# ------------------------------------------------------------------------------------------ CLI
def _main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m kexue.segment",
                                 description="Segment stdin (one sentence a line) to stdout, words separated by "
                                             "spaces; or `train` the shipped model on the PD1998 train split.")
    sub = ap.add_subparsers(dest="cmd")
    tr = sub.add_parser("train", help="train on PD1998 train (dev split selects the epoch), save the weights")
    tr.add_argument("--window", type=int, default=7)
    tr.add_argument("--emb", type=int, default=64)
    tr.add_argument("--hidden", type=int, default=128)
    tr.add_argument("--epochs", type=int, default=12)
    tr.add_argument("--batch-size", type=int, default=1024)
    tr.add_argument("--lr", type=float, default=2e-3)
    tr.add_argument("--dropout", type=float, default=0.25)
    tr.add_argument("--bigram-emb", type=int, default=16, help="0: unigram windows only, as in NNCWS")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--out", default=str(PRETRAINED))
    ap.add_argument("--model", default=None, help="weights file (default: the shipped model)")
    args = ap.parse_args(argv)
    if args.cmd == "train":
        import torch

        from .data import pd1998_tokens

        torch.set_num_threads(1)  # one thread: the run is reproducible bit for bit
        seg = train(pd1998_tokens("train"), args.window, args.emb, args.hidden, epochs=args.epochs,
                    batch_size=args.batch_size, lr=args.lr, dropout=args.dropout, dev=pd1998_tokens("dev"),
                    seed=args.seed, bigram_emb=args.bigram_emb)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        seg.save(args.out)
        return 0
    seg = load_pretrained() if args.model is None else Segmenter.load(args.model)
    lines = sys.stdin.read().split("\n")
    trailing = lines and lines[-1] == ""
    if trailing:
        lines = lines[:-1]
    out = [" ".join(w for w in ws if not w.isspace()) for ws in seg.segment_batch(lines)]
    sys.stdout.write("\n".join(out) + ("\n" if trailing else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
