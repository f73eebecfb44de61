"""A couplet robot as a character tagger (chapter: notebooks/06-couplet.ipynb).

Source: Su Jianlin, 《基于CNN和序列标注的对联机器人》, https://kexue.fm/archives/6270 (2019-01-14).

The two lines of a couplet (对联) have the same length and correspond character by character, so the
lower line can be predicted as a *tag per upper-line character*: an embedding, a stack of gated
residual convolutions ``y = x⊙σ(a) + b⊙σ(−a)`` with ``[a; b] = Conv1d_k(x)``, and a softmax over the
character vocabulary at every position. No decoder, no attention, one forward pass.

Conventions
-----------
* A :class:`Vocab` maps characters to ids; id 0 is the unknown character ``<unk>`` (never produced as
  output, ignored as a training target). Only *content* characters (Unicode letters and digits: Han,
  Latin, digits) are answered; any other character (``，`` ``。`` spaces …) is copied unchanged.
* Models map ids ``[B, T]`` (int64) to logits ``[B, T, V]``; no padding: batches hold lines of one
  length.
* Decoding rules (:meth:`CoupletRobot.respond_batch`), enforced by construction: the answer has the
  input's length; a content character is never answered by itself (same position); positions whose
  upper characters are equal get equal answers and positions whose upper characters differ get
  different answers (the repetition pattern is mirrored exactly).
* ``greedy`` decoding is the article's (argmax per position, with the rules above, scored jointly over
  the positions of a repeated character); ``viterbi`` keeps the top-``beam`` candidates per position
  and runs :func:`kexue.tagging.viterbi` with a character bigram of lower lines as transition scores.
"""

from __future__ import annotations

import argparse
import sys
import math
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._checks import check_choice, check_int, check_number, check_type
from .tagging import viterbi

__all__ = [
    "MAX_LEN", "BLOCKS", "Vocab", "GatedBlock", "ResidualBlock", "GLUBlock", "CoupletTagger",
    "AttentionSeq2Seq", "PositionUnigram", "Bigram", "CoupletRobot", "train", "load_pretrained",
    "respond", "respond_batch", "evaluate", "repetition_pattern", "tone_class", "char_bleu",
    "nearest_pair", "nearest_pairs", "receptive_field", "count_parameters", "text_box", "WEIGHTS",
]

#: Longest accepted upper line (characters, punctuation included).
MAX_LEN = 32
#: Block types of :class:`CoupletTagger`.
BLOCKS = ("gate", "residual", "glu", "bilstm")
WEIGHTS = Path(__file__).resolve().parent / "weights"
_TAGGER_FILE = "couplet_tagger.pt"
_BIGRAM_FILE = "couplet_bigram.pt"


def _is_content(ch: str) -> bool:
    """Letters and digits are answered; everything else (punctuation, spaces) is copied."""
    return unicodedata.category(ch)[0] in "LN"


def _check_line(line, name: str = "first_line") -> str:
    check_type(line, name, str)
    if len(line) == 0:
        raise ValueError(f"{name} must not be empty")
    if len(line) > MAX_LEN:
        raise ValueError(f"{name} must have at most {MAX_LEN} characters, got {len(line)}")
    if not any(_is_content(c) for c in line):
        raise ValueError(f"{name} must contain at least one letter or character to answer, got {line!r}")
    return line


def _check_pairs(pairs, name: str = "pairs") -> list[tuple[str, str]]:
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise TypeError(f"{name} must be a sequence of (upper, lower) string pairs, got {type(pairs).__name__}")
    if len(pairs) == 0:
        raise ValueError(f"{name} must not be empty")
    out = []
    for i, p in enumerate(pairs):
        if not (isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str)):
            raise TypeError(f"{name}[{i}] must be a pair of str, got {p!r}")
        if len(p[0]) != len(p[1]) or not p[0]:
            raise ValueError(f"{name}[{i}] must hold two non-empty lines of equal length, got {p!r}")
        out.append((p[0], p[1]))
    return out


# ------------------------------------------------------------------------------------------ vocabulary
class Vocab:
    """Characters ↔ ids; id 0 is ``<unk>``. Build with :meth:`from_pairs` (train split only)."""

    def __init__(self, chars: str | Sequence[str]) -> None:
        chars = list(chars)
        if len(set(chars)) != len(chars):
            raise ValueError("chars must be distinct")
        self.chars = ["<unk>"] + chars
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_pairs(cls, pairs, min_count: int = 2) -> "Vocab":
        """Content characters of both lines occurring at least ``min_count`` times, most frequent first."""
        pairs = _check_pairs(pairs)
        check_int(min_count, "min_count", low=1)
        cnt = Counter(c for a, b in pairs for c in a + b if _is_content(c))
        return cls([c for c, n in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count])

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, line: str) -> list[int]:
        return [self.index.get(c, 0) for c in line]

    def to_str(self) -> str:
        return "".join(self.chars[1:])


# ------------------------------------------------------------------------------------------ models
class GatedBlock(nn.Module):
    """The article's block: ``[a; b] = Conv1d_k(x)`` (2d channels, "same" padding), ``y = x⊙σ(a) + b⊙σ(−a)``.

    Shapes: ``x`` [B, d, T] → [B, d, T]. The candidate path ``b`` is linear; the gate is the only
    nonlinearity. Parameters: ``k·d·2d + 2d`` (98,560 for d = 128, k = 3).
    """

    def __init__(self, dim: int, kernel: int = 3, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, 2 * dim, kernel, padding=dilation * (kernel // 2), dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(x).chunk(2, dim=1)
        g = torch.sigmoid(a)
        return x * g + b * (1 - g)  # σ(−a) = 1 − σ(a)


class ResidualBlock(nn.Module):
    """Plain residual ReLU convolution ``y = x + ReLU(Conv1d_k(x))`` (d → d channels; half the gate's parameters)."""

    def __init__(self, dim: int, kernel: int = 3, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel, padding=dilation * (kernel // 2), dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.relu(self.conv(x))


class GLUBlock(nn.Module):
    """Residual gated linear unit (Dauphin et al. 2017): ``[a; b] = Conv1d_k(x)``, ``y = x + a⊙σ(b)``."""

    def __init__(self, dim: int, kernel: int = 3, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, 2 * dim, kernel, padding=dilation * (kernel // 2), dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(x).chunk(2, dim=1)
        return x + a * torch.sigmoid(b)


_BLOCK_TYPES = {"gate": GatedBlock, "residual": ResidualBlock, "glu": GLUBlock}


class CoupletTagger(nn.Module):
    """Embedding(V, d) → Dropout → ``blocks`` × block → Linear(d, V): logits per position.

    ``block``: ``"gate"`` (the article), ``"residual"``, ``"glu"`` or ``"bilstm"`` (``blocks`` BiLSTM
    layers of d/2 units per direction, about the gate's parameter count per layer). ``dilation``: 1 for
    the article; 2 doubles each conv block's reach (DGCNN style). Shapes: ``x`` [B, T] int64 →
    logits [B, T, V].
    """

    teacher_forcing = False

    def __init__(self, vocab_size: int, dim: int = 128, blocks: int = 6, *, kernel: int = 3,
                 block: str = "gate", dropout: float = 0.25, dilation: int = 1) -> None:
        super().__init__()
        check_int(vocab_size, "vocab_size", low=2)
        check_int(dim, "dim", low=2)
        check_int(blocks, "blocks", low=0)
        check_int(kernel, "kernel", low=1)
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (same padding), got {kernel}")
        check_choice(block, "block", BLOCKS)
        check_number(dropout, "dropout", low=0.0, high=1.0, high_inclusive=False)
        check_int(dilation, "dilation", low=1)
        if block == "bilstm" and dim % 2:
            raise ValueError(f"dim must be even for block='bilstm', got {dim}")
        self.config = {"vocab_size": vocab_size, "dim": dim, "blocks": blocks, "kernel": kernel,
                       "block": block, "dropout": dropout, "dilation": dilation}
        self.embed = nn.Embedding(vocab_size, dim)
        self.drop = nn.Dropout(dropout)
        if block == "bilstm":
            self.lstm = nn.LSTM(dim, dim // 2, num_layers=blocks, bidirectional=True, batch_first=True) if blocks else None
            self.blocks = nn.ModuleList()
        else:
            self.lstm = None
            self.blocks = nn.ModuleList(_BLOCK_TYPES[block](dim, kernel, dilation) for _ in range(blocks))
        self.out = nn.Linear(dim, vocab_size)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states [B, T, d] before the output layer."""
        h = self.drop(self.embed(x))
        if self.lstm is not None:
            return self.lstm(h)[0]
        h = h.transpose(1, 2)
        for blk in self.blocks:
            h = blk(h)
        return h.transpose(1, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 2 or x.dtype != torch.int64:
            raise ValueError(f"x must be an int64 tensor [B, T], got {x.dtype} {tuple(x.shape)}")
        return self.out(self.features(x))


class AttentionSeq2Seq(nn.Module):
    """Baseline: GRU encoder–decoder with Luong attention (bi-GRU encoder, input feeding).

    Embedding(V+1, d) shared by encoder and decoder (id V = begin-of-line), bi-GRU encoder of
    ``hidden/2`` units per direction, GRUCell decoder of ``hidden`` units whose input is
    ``[emb(y_{t−1}); context_{t−1}]``, ``tanh(W[h_t; c_t])`` → Linear(d, V). ``forward(x, y)``
    (teacher forcing) gives logits [B, T, V] for ``y_t`` given ``y_{<t}`` and ``x``; decoding is done
    step by step by :class:`CoupletRobot` with the same rules as the tagger (length fixed to the
    input's, which gives the seq2seq the tagger's length advantage for free).
    """

    teacher_forcing = True

    def __init__(self, vocab_size: int, dim: int = 128, hidden: int = 256, dropout: float = 0.25) -> None:
        super().__init__()
        check_int(vocab_size, "vocab_size", low=2)
        check_int(dim, "dim", low=2)
        check_int(hidden, "hidden", low=2)
        if hidden % 2:
            raise ValueError(f"hidden must be even, got {hidden}")
        self.config = {"vocab_size": vocab_size, "dim": dim, "hidden": hidden, "dropout": dropout, "arch": "seq2seq"}
        self.bos = vocab_size
        self.embed = nn.Embedding(vocab_size + 1, dim)
        self.drop = nn.Dropout(dropout)
        self.enc = nn.GRU(dim, hidden // 2, bidirectional=True, batch_first=True)
        self.init = nn.Linear(hidden, hidden)
        self.dec = nn.GRUCell(dim + hidden, hidden)
        self.att = nn.Linear(hidden, hidden, bias=False)
        self.comb = nn.Linear(2 * hidden, dim)
        self.out = nn.Linear(dim, vocab_size)

    def encode(self, x: torch.Tensor):
        enc = self.enc(self.drop(self.embed(x)))[0]  # [B, T, h]
        h = torch.tanh(self.init(enc.mean(1)))
        return enc, h, torch.zeros_like(h)

    def step(self, state, y_prev: torch.Tensor):
        """One decoder step: returns (logits [B, V], new state)."""
        enc, h, ctx = state
        h = self.dec(torch.cat([self.drop(self.embed(y_prev)), ctx], -1), h)
        w = torch.softmax(torch.einsum("bth,bh->bt", enc, self.att(h)), -1)
        ctx = torch.einsum("bt,bth->bh", w, enc)
        o = torch.tanh(self.comb(torch.cat([h, ctx], -1)))
        return self.out(self.drop(o)), (enc, h, ctx)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        state = self.encode(x)
        prev = torch.full_like(x[:, 0], self.bos)
        logits = []
        for t in range(x.shape[1]):
            lt, state = self.step(state, prev)
            logits.append(lt)
            prev = y[:, t].clamp(min=0)
        return torch.stack(logits, 1)


class PositionUnigram(nn.Module):
    """Baseline with receptive field 1: ``p(y_t | x_t)`` from aligned character counts.

    ``log p(y|x) = log(λ c(x, y)/c(x) + (1 − λ) p(y))`` with the ``top`` most frequent answers kept per
    input character and ``p(y)`` the unigram of lower-line characters. Shapes as the tagger.
    """

    teacher_forcing = False

    def __init__(self, pairs, vocab: Vocab, lam: float = 0.9, top: int = 64) -> None:
        super().__init__()
        pairs = _check_pairs(pairs)
        check_number(lam, "lam", low=0.0, high=1.0)
        check_int(top, "top", low=1)
        V = len(vocab)
        cnt: dict[int, Counter] = {}
        uni = np.ones(V)
        uni[0] = 0
        for a, b in pairs:
            for ca, cb in zip(vocab.encode(a), vocab.encode(b)):
                if cb:
                    cnt.setdefault(ca, Counter())[cb] += 1
                    uni[cb] += 1
        idx = np.zeros((V, top), dtype=np.int64)
        prob = np.zeros((V, top), dtype=np.float32)
        for ca, c in cnt.items():
            total = sum(c.values())
            for j, (cb, n) in enumerate(c.most_common(top)):
                idx[ca, j], prob[ca, j] = cb, lam * n / total
        self.config = {"vocab_size": V, "lam": lam, "top": top, "arch": "unigram"}
        self.register_buffer("idx", torch.from_numpy(idx))
        self.register_buffer("prob", torch.from_numpy(prob))
        self.register_buffer("uni", torch.from_numpy((1 - lam) * uni / uni.sum()).float())

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        p = self.uni.expand(*x.shape, -1).clone()
        p.scatter_add_(-1, self.idx[x], self.prob[x])
        return p.clamp_min(1e-12).log()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def receptive_field(model: CoupletTagger) -> int | float:
    """Characters each output position sees: ``1 + blocks·dilation·(kernel − 1)``; ``inf`` for a BiLSTM."""
    check_type(model, "model", CoupletTagger)
    c = model.config
    if c["block"] == "bilstm":
        return math.inf
    return 1 + c["blocks"] * c["dilation"] * (c["kernel"] - 1)


# ------------------------------------------------------------------------------------------ bigram LM
class Bigram:
    """Character bigram of lower lines, interpolated with the add-one unigram ``p(b)`` (over ids ≥ 1):
    ``log P(b|a) = log(λ c(a, b)/c(a) + (1 − λ) p(b))`` (``p(b)`` alone if ``c(a) = 0``), so that
    ``Σ_b P(b|a) = 1``; vectorised lookups by sorted keys ``a·V + b``.
    """

    def __init__(self, keys: np.ndarray, counts: np.ndarray, unigram: np.ndarray, lam: float = 0.8) -> None:
        self.V = len(unigram)
        order = np.argsort(keys)
        self.keys = np.asarray(keys, dtype=np.int64)[order]
        self.counts = np.asarray(counts, dtype=np.float64)[order]
        self.unigram = np.asarray(unigram, dtype=np.float64)
        self.left = np.bincount(self.keys // self.V, weights=self.counts, minlength=self.V)
        p_uni = self.unigram + 1.0
        p_uni[0] = 0.0  # <unk> is never predicted
        self.p_uni = p_uni / p_uni.sum()
        self.lam = lam

    @classmethod
    def from_lines(cls, lines: Sequence[str], vocab: Vocab, lam: float = 0.8) -> "Bigram":
        V = len(vocab)
        cnt: Counter = Counter()
        uni = np.zeros(V)
        for line in lines:
            ids = vocab.encode(line)
            for i in ids:
                uni[i] += 1
            for a, b in zip(ids, ids[1:]):
                if a and b:
                    cnt[a * V + b] += 1
        keys = np.fromiter(cnt.keys(), dtype=np.int64, count=len(cnt))
        counts = np.fromiter(cnt.values(), dtype=np.int64, count=len(cnt))
        uni[0] = 0
        return cls(keys, counts, uni, lam)

    def log_prob(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``log P(b | a)`` elementwise (broadcasting int arrays of ids)."""
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        k = a * self.V + b
        pos = np.searchsorted(self.keys, k).clip(max=len(self.keys) - 1)
        c = np.where(self.keys[pos] == k, self.counts[pos], 0.0)
        left = self.left[a]
        cond = np.divide(c, left, out=np.zeros_like(c), where=left > 0)
        lam = np.where(left > 0, self.lam, 0.0)  # an unseen left character backs off to the unigram
        return np.log(lam * cond + (1 - lam) * self.p_uni[b])

    def state(self) -> dict:
        return {"keys": torch.from_numpy(self.keys.astype(np.int32)),
                "counts": torch.from_numpy(self.counts.astype(np.int32)),
                "unigram": torch.from_numpy(self.unigram.astype(np.int32)), "lam": self.lam}

    @classmethod
    def from_state(cls, d: dict) -> "Bigram":
        return cls(d["keys"].numpy().astype(np.int64), d["counts"].numpy(), d["unigram"].numpy(), float(d["lam"]))


# ------------------------------------------------------------------------------------------ decoding
def repetition_pattern(line: str) -> tuple[int, ...]:
    """Canonical pattern of a line: the index of each character's first occurrence, e.g. 晚风摇树树 → (0,1,2,3,3)."""
    first: dict[str, int] = {}
    return tuple(first.setdefault(c, i) for i, c in enumerate(line))


@dataclass
class _Prepared:
    line: str
    ids: list[int]
    content: list[bool]
    group: list[int]  # first position of each position's content group, -1 for copied characters


def _prepare(line: str, vocab: Vocab) -> _Prepared:
    content = [_is_content(c) for c in line]
    pat = repetition_pattern(line)
    ids = [vocab.index.get(c, 0) if k else 0 for c, k in zip(line, content)]
    return _Prepared(line, ids, content, [p if k else -1 for p, k in zip(pat, content)])


class CoupletRobot:
    """A trained model with its vocabulary (and optionally the lower-line bigram): answers upper lines.

    ``model``: a :class:`CoupletTagger`, :class:`PositionUnigram` or :class:`AttentionSeq2Seq`.
    ``history``: the training log (list of dicts), ``best_step``: the checkpoint kept.
    """

    def __init__(self, model: nn.Module, vocab: Vocab, bigram: Bigram | None = None,
                 history: list | None = None, best_step: int | None = None) -> None:
        check_type(model, "model", nn.Module)
        check_type(vocab, "vocab", Vocab)
        self.model = model.eval()
        self.vocab = vocab
        self.bigram = bigram
        self.history = list(history or [])
        self.best_step = best_step

    # -- log-probabilities ---------------------------------------------------------------------
    @torch.no_grad()
    def log_probs(self, lines: Sequence[str]) -> list[np.ndarray]:
        """Per-position log-probabilities [T, V] for each line (tagger/unigram: one forward pass)."""
        self.model.eval()
        out: list[np.ndarray | None] = [None] * len(lines)
        by_len: dict[int, list[int]] = {}
        for i, line in enumerate(lines):
            by_len.setdefault(len(line), []).append(i)
        for T, idx in by_len.items():
            x = torch.tensor([self.vocab.encode(lines[i]) for i in idx], dtype=torch.int64)
            lp = torch.log_softmax(self.model(x).float(), -1).numpy()
            for j, i in enumerate(idx):
                out[i] = lp[j]
        return out

    # -- public API ------------------------------------------------------------------------------
    def respond(self, first_line: str, *, top_k: int = 1, temperature: float = 0.0, seed: int | None = None,
                method: str = "greedy", beam: int = 8, lm_weight: float = 0.3) -> str:
        """Answer one upper line; see :meth:`respond_batch`."""
        _check_line(first_line, "first_line")
        return self.respond_batch([first_line], top_k=top_k, temperature=temperature, seed=seed,
                                  method=method, beam=beam, lm_weight=lm_weight)[0]

    def respond_batch(self, lines: Sequence[str], *, top_k: int = 1, temperature: float = 0.0,
                      seed: int | None = None, method: str = "greedy", beam: int = 8,
                      lm_weight: float = 0.3, batch_size: int = 1024) -> list[str]:
        """Answer many upper lines (batched by length).

        ``method="greedy"``: per repeated-character group, the best allowed character (the article's
        argmax with the rules of the module docstring); with ``temperature > 0`` a character is drawn
        among the ``top_k`` best allowed ones with probabilities ∝ ``p^(1/temperature)`` (generator
        seeded by ``seed``). ``method="viterbi"``: top-``beam`` candidates per position, Viterbi with
        ``lm_weight · log P_bigram`` transitions (needs a bigram), then the same rules.
        Raises ``TypeError``/``ValueError`` for a non-str, empty or over-long (> 32) line, bad
        ``top_k``/``temperature``/``seed``/``method``/``beam``/``lm_weight``.
        """
        if isinstance(lines, str) or not isinstance(lines, Sequence):
            raise TypeError(f"lines must be a sequence of str, got {type(lines).__name__}")
        lines = [_check_line(s, f"lines[{i}]") for i, s in enumerate(lines)]
        check_int(top_k, "top_k", low=1)
        check_number(temperature, "temperature", low=0.0)
        if seed is not None:
            check_int(seed, "seed")
        check_choice(method, "method", ("greedy", "viterbi"))
        check_int(beam, "beam", low=1)
        check_number(lm_weight, "lm_weight", low=0.0)
        check_int(batch_size, "batch_size", low=1)
        if method == "viterbi" and self.bigram is None:
            raise ValueError("method='viterbi' needs a bigram (CoupletRobot(..., bigram=Bigram...))")
        rng = np.random.default_rng(seed)
        self.model.eval()  # decoding never uses dropout
        out: list[str] = []
        for s in range(0, len(lines), batch_size):
            chunk = lines[s:s + batch_size]
            preps = [_prepare(x, self.vocab) for x in chunk]
            if getattr(self.model, "teacher_forcing", False):
                out.extend(self._seq2seq_decode(preps))
                continue
            cands = self._candidates(preps, max(top_k, beam if method == "viterbi" else 1), method == "viterbi")
            for p, (lp, cid, csc) in zip(preps, cands):
                if method == "greedy":
                    out.append(self._greedy(p, cid, csc, top_k, temperature, rng))
                else:
                    out.append(self._viterbi(p, lp, cid, csc, beam, lm_weight))
        return out

    # -- internals -------------------------------------------------------------------------------
    def _candidates(self, preps: list[_Prepared], k: int, need_log_probs: bool = False):
        """For each line: (log-probs [T, V] or None, candidate ids [T, K], candidate scores [T, K]).

        Candidates are ranked by their *group* score: in a line with a repeated upper character the
        log-probabilities are summed over every position of that character (so the positions choose
        jointly); elsewhere the raw logits rank the candidates (the softmax normaliser is the same for
        every candidate of a position, so it is skipped for speed). The input character itself and
        ``<unk>`` are excluded. K = k + T, enough to skip characters already used by other groups.
        """
        res: list = [None] * len(preps)
        by_len: dict[int, list[int]] = {}
        for i, p in enumerate(preps):
            by_len.setdefault(len(p.line), []).append(i)
        with torch.no_grad():
            for T, idx in by_len.items():
                x = torch.tensor([preps[i].ids for i in idx], dtype=torch.int64)
                S = self.model(x).float()  # [B, T, V] logits, overwritten in place below
                lpn = torch.log_softmax(S, -1).numpy() if need_log_probs else [None] * len(idx)
                grp = torch.tensor([preps[i].group for i in idx])  # [B, T]
                A = ((grp[:, :, None] == grp[:, None, :]) & (grp[:, :, None] >= 0)).float()
                rep = (A.sum(-1) > 1).any(-1)  # lines with a repeated character
                if bool(rep.any()):
                    r = rep.nonzero().squeeze(1)
                    S[r] = torch.bmm(A[r], torch.log_softmax(S[r], -1))  # group sums of log-probabilities
                S[:, :, 0] = -math.inf
                S.scatter_(-1, x[:, :, None], -math.inf)  # never the input character (x = 0: <unk>, already)
                K = min(k + T, S.shape[-1] - 1)
                sc, ci = S.topk(K, dim=-1)
                scn, cin = sc.numpy(), ci.numpy()
                for j, i in enumerate(idx):
                    res[i] = (lpn[j], cin[j], scn[j])
        return res

    @staticmethod
    def _group_order(p: _Prepared, csc) -> list[int]:
        """Groups (first positions), the clearest winner (largest top-1 − top-2 margin) first."""
        return sorted({g for g in p.group if g >= 0}, key=lambda g: -(csc[g, 0] - csc[g, 1]))

    def _greedy(self, p: _Prepared, cid, csc, top_k: int, temperature: float, rng) -> str:
        firsts = self._group_order(p, csc)
        used: set[int] = set()
        pick: dict[int, int] = {}
        for g in firsts:
            allowed = [j for j in range(cid.shape[1]) if cid[g, j] not in used][:top_k]
            if temperature > 0 and len(allowed) > 1:
                z = csc[g, allowed] / temperature
                w = np.exp(z - z.max())
                j = allowed[int(rng.choice(len(allowed), p=w / w.sum()))]
            else:
                j = allowed[0]
            pick[g] = int(cid[g, j])
            used.add(pick[g])
        return "".join(self.vocab.chars[pick[g]] if g >= 0 else c for c, g in zip(p.line, p.group))

    def _viterbi(self, p: _Prepared, lp, cid, csc, beam: int, lm_weight: float) -> str:
        T = len(p.line)
        K = min(beam, cid.shape[1])
        ids = cid[:, :K]  # candidate ids per position (identical lists within a group)
        emis = np.full((T, K), -np.inf)
        for t in range(T):
            if p.group[t] >= 0:
                emis[t] = lp[t, ids[t]]
            else:
                emis[t, 0] = 0.0  # copied character: a single state
        trans = np.zeros((max(T - 1, 0), K, K))
        for t in range(T - 1):
            if p.group[t] >= 0 and p.group[t + 1] >= 0:
                trans[t] = lm_weight * self.bigram.log_prob(ids[t][:, None], ids[t + 1][None, :])
                if p.group[t] == p.group[t + 1]:
                    trans[t][~np.eye(K, dtype=bool)] = -np.inf  # same upper character: same answer
                else:
                    trans[t][ids[t][:, None] == ids[t + 1][None, :]] = -np.inf
        path = viterbi(emis, transitions=trans)
        # repair the non-adjacent rules: one character per group, distinct across groups
        firsts = self._group_order(p, csc)
        chosen = {}
        for g in firsts:
            pos = [t for t in range(T) if p.group[t] == g]
            opts = {int(ids[t, path[t]]) for t in pos}
            order = [int(c) for c in cid[g] if int(c) in opts]  # best group score first
            chosen[g] = order[0]
        used: set[int] = set()
        for g in firsts:
            if chosen[g] in used:
                chosen[g] = next(int(c) for c in cid[g] if int(c) not in used)
            used.add(chosen[g])
        return "".join(self.vocab.chars[chosen[g]] if g >= 0 else c for c, g in zip(p.line, p.group))

    @torch.no_grad()
    def _seq2seq_decode(self, preps: list[_Prepared]) -> list[str]:
        out: list[str | None] = [None] * len(preps)
        by_len: dict[int, list[int]] = {}
        for i, p in enumerate(preps):
            by_len.setdefault(len(p.line), []).append(i)
        m = self.model
        for T, idx in by_len.items():
            x = torch.tensor([preps[i].ids for i in idx], dtype=torch.int64)
            B = len(idx)
            state = m.encode(x)
            prev = torch.full((B,), m.bos, dtype=torch.int64)
            used = torch.zeros(B, len(self.vocab), dtype=torch.bool)
            used[:, 0] = True
            ys = torch.zeros(B, T, dtype=torch.int64)
            grp = torch.tensor([preps[i].group for i in idx])
            for t in range(T):
                lt, state = m.step(state, prev)
                ban = used.clone()
                ban[torch.arange(B), x[:, t]] = True
                lt = lt.masked_fill(ban, -math.inf)
                y = lt.argmax(-1)
                g = grp[:, t]
                rep = (g >= 0) & (g < t)  # repeats an earlier upper character: same answer
                y = torch.where(rep, ys[torch.arange(B), g.clamp(min=0)], y)
                y = torch.where(g < 0, torch.zeros_like(y), y)
                ys[:, t] = y
                used[torch.arange(B), y] = True
                used[:, 0] = True
                prev = y
            for j, i in enumerate(idx):
                p = preps[i]
                out[i] = "".join(self.vocab.chars[int(ys[j, t])] if p.group[t] >= 0 else c
                                 for t, c in enumerate(p.line))
        return out

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path: str | Path, *, half: bool = True) -> Path:
        """Write model config, weights (float16 if ``half``), vocabulary and training log to one file."""
        path = Path(path)
        sd = {k: (v.half() if half and v.is_floating_point() else v) for k, v in self.model.state_dict().items()}
        torch.save({"format": 1, "config": dict(self.model.config), "state_dict": sd, "vocab": self.vocab.to_str(),
                    "history": self.history, "best_step": self.best_step}, path)
        return path

    @classmethod
    def load(cls, path: str | Path, bigram_path: str | Path | None = None) -> "CoupletRobot":
        """Inverse of :meth:`save` (``torch.load(..., weights_only=True)``)."""
        blob = torch.load(path, map_location="cpu", weights_only=True)
        cfg = dict(blob["config"])
        if cfg.pop("arch", None) == "seq2seq":
            model = AttentionSeq2Seq(**cfg)
        else:
            model = CoupletTagger(**cfg)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
        bigram = None
        if bigram_path is not None:
            bigram = Bigram.from_state(torch.load(bigram_path, map_location="cpu", weights_only=True))
        return cls(model, Vocab(blob["vocab"]), bigram, blob.get("history"), blob.get("best_step"))


# ------------------------------------------------------------------------------------------ training
def _encode_pairs(pairs, vocab: Vocab) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    by_len: dict[int, list] = {}
    for a, b in pairs:
        by_len.setdefault(len(a), []).append((vocab.encode(a), vocab.encode(b)))
    return {T: (np.array([x for x, _ in v], dtype=np.int64), np.array([y for _, y in v], dtype=np.int64))
            for T, v in by_len.items()}


@torch.no_grad()
def _dev_metrics(model: nn.Module, dev_enc) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    tot_loss, tot_ok, n = 0.0, 0, 0
    for X, Y in dev_enc.values():
        for s in range(0, len(X), 512):
            x, y = torch.from_numpy(X[s:s + 512]), torch.from_numpy(Y[s:s + 512])
            logits = model(x, y)
            mask = y > 0
            tot_loss += float(F.cross_entropy(logits[mask], y[mask], reduction="sum"))
            tot_ok += int((logits.argmax(-1)[mask] == y[mask]).sum())
            n += int(mask.sum())
    model.train(was_training)
    return tot_loss / max(n, 1), tot_ok / max(n, 1)


def train(pairs, dev=None, *, vocab: Vocab | None = None, model: nn.Module | None = None, dim: int = 128,
          blocks: int = 6, block: str = "gate", dilation: int = 1, steps: int = 2000, batch_size: int = 128,
          lr: float = 1e-3, eval_every: int = 250, dev_size: int = 2000, unk_rate: float = 0.02,
          max_seconds: float | None = None, bigram: bool = False, seed: int = 0,
          progress: bool = True) -> CoupletRobot:
    """Train a tagger (or the given ``model``) on ``(upper, lower)`` pairs; keep the best dev checkpoint.

    Batches hold ``batch_size`` pairs of one length (a length is drawn ∝ its number of pairs, pairs
    are drawn without replacement, reshuffled per pass), loss = cross-entropy over all positions
    (unknown targets ignored), Adam. Every ``eval_every`` steps (and at the end) the dev loss on the
    first ``dev_size`` dev pairs is measured; the weights with the lowest dev loss are returned
    (``robot.best_step``; without ``dev`` the last weights). ``unk_rate``: share of input characters
    replaced by ``<unk>`` during training (so that unknown characters have a useful embedding).
    ``max_seconds`` stops early. ``bigram=True`` also fits the lower-line bigram for Viterbi decoding.
    Raises ``TypeError``/``ValueError`` for malformed pairs or out-of-range settings.
    """
    pairs = _check_pairs(pairs, "pairs")
    if dev is not None:
        dev = _check_pairs(dev, "dev")
    for name, v, lo in (("steps", steps, 1), ("batch_size", batch_size, 1), ("eval_every", eval_every, 1),
                        ("dev_size", dev_size, 1), ("seed", seed, 0)):
        check_int(v, name, low=lo)
    check_number(lr, "lr", low=0.0, low_inclusive=False)
    check_number(unk_rate, "unk_rate", low=0.0, high=1.0, high_inclusive=False)
    if max_seconds is not None:
        check_number(max_seconds, "max_seconds", low=0.0, low_inclusive=False)
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vocab = vocab if vocab is not None else Vocab.from_pairs(pairs)
    check_type(vocab, "vocab", Vocab)
    if model is None:
        model = CoupletTagger(len(vocab), dim, blocks, block=block, dilation=dilation)
    check_type(model, "model", nn.Module)
    enc = _encode_pairs(pairs, vocab)
    dev_enc = _encode_pairs(dev[:dev_size], vocab) if dev is not None else None
    lengths = sorted(enc)
    weights = np.array([len(enc[T][0]) for T in lengths], dtype=float)
    weights /= weights.sum()
    perms = {T: rng.permutation(len(enc[T][0])) for T in lengths}
    cursor = {T: 0 for T in lengths}
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[dict] = []
    best = (math.inf, None, 0)
    model.train()
    t0 = time.perf_counter()
    run_loss, run_n = 0.0, 0

    def checkpoint(step: int) -> None:
        nonlocal best, run_loss, run_n
        rec = {"step": step, "seconds": round(time.perf_counter() - t0, 2),
               "train_loss": run_loss / max(run_n, 1)}
        if dev_enc is not None:
            rec["dev_loss"], rec["dev_acc"] = _dev_metrics(model, dev_enc)
            if rec["dev_loss"] < best[0]:
                best = (rec["dev_loss"], {k: v.detach().clone() for k, v in model.state_dict().items()}, step)
        history.append(rec)
        run_loss, run_n = 0.0, 0

    bar = tqdm(range(1, steps + 1), desc="couplet: training", disable=not progress, leave=False)
    step = 0
    for step in bar:
        T = lengths[int(rng.choice(len(lengths), p=weights))]
        X, Y = enc[T]
        if cursor[T] + batch_size > len(X):
            perms[T], cursor[T] = rng.permutation(len(X)), 0
        sel = perms[T][cursor[T]:cursor[T] + batch_size]
        cursor[T] += batch_size
        x, y = torch.from_numpy(X[sel]), torch.from_numpy(Y[sel])
        if unk_rate > 0:
            x = x.masked_fill(torch.rand(x.shape) < unk_rate, 0)
        logits = model(x, y)
        mask = y > 0
        loss = F.cross_entropy(logits[mask], y[mask])
        opt.zero_grad()
        loss.backward()
        opt.step()
        run_loss += loss.item()
        run_n += 1
        if step % 50 == 0:
            bar.set_postfix(loss=f"{run_loss / run_n:.3f}")
        if step % eval_every == 0:
            checkpoint(step)
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            break
    if not history or history[-1]["step"] != step:
        checkpoint(step)
    bar.close()
    best_step = step
    if best[1] is not None:
        model.load_state_dict(best[1])
        best_step = best[2]
    model.eval()
    lm = Bigram.from_lines([b for _, b in pairs], vocab) if bigram else None
    return CoupletRobot(model, vocab, lm, history, best_step)


@lru_cache(maxsize=1)
def load_pretrained() -> CoupletRobot:
    """The shipped tagger (``python -m kexue.couplet train``) with its vocabulary and lower-line bigram."""
    path = WEIGHTS / _TAGGER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m kexue.couplet train`")
    bigram = WEIGHTS / _BIGRAM_FILE
    return CoupletRobot.load(path, bigram if bigram.is_file() else None)


def respond(first_line: str, *, top_k: int = 1, temperature: float = 0.0, seed: int | None = None) -> str:
    """Answer ``first_line`` with the shipped tagger (article's greedy decoding with the module's rules).

    Returns a str of exactly ``len(first_line)`` characters. ``temperature > 0`` samples among the
    ``top_k`` best allowed characters per position (``seed`` makes it reproducible).
    Raises ``TypeError`` for a non-str, ``ValueError`` if it is empty, longer than 32 characters or has
    nothing to answer, or for out-of-range ``top_k``/``temperature``.
    """
    _check_line(first_line, "first_line")
    return _shipped().respond(first_line, top_k=top_k, temperature=temperature, seed=seed)


def respond_batch(lines: Sequence[str], **kwargs) -> list[str]:
    """Batched :func:`respond` with the shipped tagger (keywords of :meth:`CoupletRobot.respond_batch`)."""
    return _shipped().respond_batch(lines, **kwargs)


@lru_cache(maxsize=1)
def _shipped() -> CoupletRobot:
    """The shipped robot, loaded once per process for :func:`respond` and :func:`respond_batch`."""
    return load_pretrained()


def text_box(robot: CoupletRobot | None = None):
    """An ipywidgets text box that answers each upper line as it is typed (greedy and Viterbi answers).

    Needs a running Jupyter kernel; ``robot`` defaults to the shipped model. Invalid lines show the
    ``ValueError`` message instead of an answer. Returns the widget (display it as a cell's last value).
    """
    import ipywidgets as widgets

    if robot is not None:
        check_type(robot, "robot", CoupletRobot)
    robot = robot or _shipped()
    box = widgets.Text(placeholder="上联, e.g. 晚风摇树树还挺", description="上联")
    out = widgets.HTML()

    def answer(change):
        try:
            out.value = (f"下联: {robot.respond(change['new'])} · "
                         f"Viterbi: {robot.respond(change['new'], method='viterbi')}")
        except ValueError as err:
            out.value = str(err)

    box.observe(answer, names="value")
    return widgets.VBox([box, out])


# ------------------------------------------------------------------------------------------ evaluation
@lru_cache(maxsize=None)
def tone_class(ch: str) -> str | None:
    """``"ping"`` (level: Mandarin tones 1, 2), ``"ze"`` (oblique: tones 3, 4) or ``None`` (no tone / not Han).

    Uses ``pypinyin``'s modern reading; old entering-tone (入声) characters now read in tones 1/2 are
    therefore counted as level, a known approximation of the classical 平仄.
    """
    from pypinyin import Style, pinyin

    if not ("\u3400" <= ch <= "\u9fff"):
        return None
    s = pinyin(ch, style=Style.TONE3, heteronym=False)[0][0]
    tone = s[-1] if s and s[-1].isdigit() else None
    return {"1": "ping", "2": "ping", "3": "ze", "4": "ze"}.get(tone)


def char_bleu(hyps: Sequence[str], refs: Sequence[str], n: int = 2) -> float:
    """Corpus BLEU-n over characters (one reference per line, uniform weights, brevity penalty), in [0, 1]."""
    check_int(n, "n", low=1)
    if len(hyps) != len(refs):
        raise ValueError(f"refs must have one reference per hypothesis: {len(refs)} != {len(hyps)}")
    logs = []
    for k in range(1, n + 1):
        match = total = 0
        for h, r in zip(hyps, refs):
            hc = Counter(h[i:i + k] for i in range(len(h) - k + 1))
            rc = Counter(r[i:i + k] for i in range(len(r) - k + 1))
            match += sum(min(c, rc[g]) for g, c in hc.items())
            total += sum(hc.values())
        if match == 0:
            return 0.0
        logs.append(math.log(match / total))
    c, r = sum(map(len, hyps)), sum(map(len, refs))
    bp = 1.0 if c >= r else math.exp(1 - r / max(c, 1))
    return bp * math.exp(sum(logs) / n)


def evaluate(pairs, respond_fn: Callable[[list[str]], list[str]]) -> dict[str, float]:
    """Metrics of ``respond_fn`` (a batched responder: list of upper lines → list of answers) on ``pairs``.

    Returns shares in [0, 1]: ``length_match``; ``char_acc`` (positions equal to the reference, over
    content positions of length-matched lines); ``bleu1``/``bleu2`` (char corpus BLEU); ``copy_rate``
    (content positions answered by the upper line's own character); ``repetition_agreement`` (lines
    whose repetition pattern equals the upper line's) and the same for the references
    (``reference_repetition_agreement``); ``tone_contrast`` (last characters of upper line and answer
    in opposite 平/仄 classes, among lines where both are known) and ``level_ending`` (answer ends
    level), each with the reference's value; ``lines``: the number of pairs.
    """
    pairs = _check_pairs(pairs)
    if not callable(respond_fn):
        raise TypeError(f"respond_fn must be callable, got {type(respond_fn).__name__}")
    uppers = [a for a, _ in pairs]
    refs = [b for _, b in pairs]
    hyps = list(respond_fn(uppers))
    if len(hyps) != len(pairs) or not all(isinstance(h, str) for h in hyps):
        raise ValueError("respond_fn must return one str per upper line")
    n_len = ok = tot = copies = ctot = 0
    rep_h = rep_r = 0
    tone: dict[str, list[int]] = {"h": [0, 0], "r": [0, 0]}
    lvl: dict[str, list[int]] = {"h": [0, 0], "r": [0, 0]}
    for u, r, h in zip(uppers, refs, hyps):
        if len(h) == len(u):
            n_len += 1
            for cu, cr, ch in zip(u, r, h):
                if _is_content(cu):
                    tot += 1
                    ok += cr == ch
        for cu, ch in zip(u, h):
            if _is_content(cu):
                ctot += 1
                copies += cu == ch
        rep_h += repetition_pattern(h) == repetition_pattern(u)
        rep_r += repetition_pattern(r) == repetition_pattern(u)
        tu = tone_class(u[-1])
        for key, line in (("h", h), ("r", r)):
            tl = tone_class(line[-1]) if line else None
            if tl is not None:
                lvl[key][0] += tl == "ping"
                lvl[key][1] += 1
                if tu is not None:
                    tone[key][0] += tl != tu
                    tone[key][1] += 1
    n = len(pairs)
    div = lambda a, b: a / b if b else float("nan")  # noqa: E731
    return {"lines": n, "length_match": n_len / n, "char_acc": div(ok, tot),
            "bleu1": char_bleu(hyps, refs, 1), "bleu2": char_bleu(hyps, refs, 2),
            "copy_rate": div(copies, ctot), "repetition_agreement": rep_h / n,
            "reference_repetition_agreement": rep_r / n,
            "tone_contrast": div(*tone["h"]), "reference_tone_contrast": div(*tone["r"]),
            "level_ending": div(*lvl["h"]), "reference_level_ending": div(*lvl["r"])}


def nearest_pairs(lines: Sequence[str], pairs) -> list[tuple[tuple[str, str], int]]:
    """For each line, the pair whose *lower* line is closest in Hamming distance (equal lengths only).

    Returns ``[(pair, distance), ...]``; a distance of 0 means the line occurs verbatim as a lower line
    of ``pairs`` (memorised or coincident); ties go to the first pair. Raises ``ValueError`` if no lower
    line has the length of a given line, ``TypeError`` for non-str lines.
    """
    if isinstance(lines, str) or not isinstance(lines, Sequence):
        raise TypeError(f"lines must be a sequence of str, got {type(lines).__name__}")
    for i, line in enumerate(lines):
        check_type(line, f"lines[{i}]", str)
    pairs = _check_pairs(pairs)
    tables: dict[int, tuple[list, np.ndarray]] = {}
    out = []
    for line in lines:
        T = len(line)
        if T not in tables:
            cand = [p for p in pairs if len(p[1]) == T]
            if not cand:
                raise ValueError(f"pairs must contain a lower line of length {T}")
            codes = np.frombuffer("".join(b for _, b in cand).encode("utf-32-le"), dtype=np.uint32)
            tables[T] = (cand, codes.reshape(len(cand), T))
        cand, L = tables[T]
        d = (L != np.frombuffer(line.encode("utf-32-le"), dtype=np.uint32)).sum(1)
        i = int(np.argmin(d))
        out.append((cand[i], int(d[i])))
    return out


def nearest_pair(line: str, pairs) -> tuple[tuple[str, str], int]:
    """:func:`nearest_pairs` for one line: ``(pair, distance)``."""
    check_type(line, "line", str)
    return nearest_pairs([line], pairs)[0]


# ------------------------------------------------------------------------------------------ command line
def main(argv: Sequence[str] | None = None) -> None:
    """``python -m kexue.couplet train``: train the shipped tagger on the train split, select on dev."""
    ap = argparse.ArgumentParser(prog="python -m kexue.couplet")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train and write src/kexue/weights/couplet_*.pt")
    t.add_argument("--steps", type=int, default=4000)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--max-seconds", type=float, default=720.0)
    t.add_argument("--eval-every", type=int, default=250)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args(argv)
    from .data import load_couplets

    torch.set_num_threads(args.threads)
    tr, dv = load_couplets("train"), load_couplets("dev")
    robot = train(tr, dv, steps=args.steps, batch_size=args.batch_size, max_seconds=args.max_seconds,
                  eval_every=args.eval_every, lr=args.lr, seed=args.seed, bigram=True,
                  progress=sys.stderr.isatty())
    args.out.mkdir(parents=True, exist_ok=True)
    robot.save(args.out / _TAGGER_FILE)
    torch.save(robot.bigram.state(), args.out / _BIGRAM_FILE)


if __name__ == "__main__":
    main()
