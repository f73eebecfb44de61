"""Word vectors two ways: count → (shifted) PPMI → truncated SVD, and skip-gram with negative sampling.

Chapter: notebooks/03-word2vec-svd.ipynb ("is Word2Vec just an SVD?").

Conventions
-----------
* A corpus is an iterable of sentences, each a list of ``str`` tokens.
* The vocabulary keeps words with count ≥ ``min_count``, ordered by descending count (ties: by the
  word), and out-of-vocabulary tokens are deleted *before* windows are formed (word2vec's and
  hyperwords' convention).
* Co-occurrence counts are symmetric word × context matrices over the same vocabulary. With a
  dynamic window, a context at distance ``d`` is weighted ``(window − d + 1) / window``: the
  probability that word2vec's randomly shrunk window of size ``U{1..window}`` still reaches it.
* PMI follows hyperwords: ``PMI(w, c) = log #(w,c)·Σ_c #(c)^α / (#(w)·#(c)^α)`` with context
  distribution smoothing α = ``cds``; ``shift`` = k subtracts ``log k`` and negatives are clipped to
  0 (SPPMI).  SGNS with k negatives drawn ∝ #(c)^α has the shifted PMI as its optimum (see the
  chapter's sympy derivation), which is the whole point of the comparison.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sps

from ._checks import check_choice, check_int, check_number, check_type

__all__ = [
    "WordVectors",
    "build_vocab",
    "cooccurrence",
    "drop_isolated",
    "ppmi",
    "svd_embeddings",
    "train_ppmi_svd",
    "train_sgns",
    "evaluate_similarity",
    "evaluate_analogy",
]


# --------------------------------------------------------------------------------------------- corpus
def _check_sentences(sentences) -> list[list[str]]:
    if isinstance(sentences, (str, bytes)) or not isinstance(sentences, Iterable):
        raise TypeError(f"sentences must be an iterable of token lists, got {type(sentences).__name__}")
    out = []
    for s in sentences:
        if isinstance(s, str) or not isinstance(s, Sequence):
            raise TypeError(f"sentences must contain lists of str tokens, got an item of type {type(s).__name__}")
        out.append(s)
    return out


def build_vocab(sentences, min_count: int = 5) -> tuple[list[str], np.ndarray]:
    """Words with count ≥ ``min_count`` by descending count (ties by word) and their counts (int64 [V])."""
    sentences = _check_sentences(sentences)
    check_int(min_count, "min_count", low=1)
    counter: Counter = Counter()
    for s in sentences:
        counter.update(s)
    for w in counter:
        if not isinstance(w, str):
            raise TypeError(f"tokens must be str, got {type(w).__name__}")
    items = sorted(((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
    if not items:
        raise ValueError(f"no word occurs min_count={min_count} times; lower min_count or use a larger corpus")
    return [w for w, _ in items], np.array([c for _, c in items], dtype=np.int64)


def _encode(sentences: list[list[str]], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (OOV deleted) concatenated over sentences, and the sentence number of each token."""
    ids, sent = [], []
    for i, s in enumerate(sentences):
        row = [index[w] for w in s if w in index]
        ids.extend(row)
        sent.extend([i] * len(row))
    return np.asarray(ids, dtype=np.int64), np.asarray(sent, dtype=np.int64)


# --------------------------------------------------------------------------------------------- counts
def cooccurrence(sentences, window: int = 5, min_count: int = 5, dynamic_window: bool = True):
    """Symmetric word–context co-occurrence counts within ``window`` tokens.

    Returns ``(vocab, counts)``: ``vocab`` a list of V words (see module conventions) and ``counts``
    a ``scipy.sparse.csr_matrix`` [V, V] of float64 (weighted counts when ``dynamic_window``).
    Built with one vectorised pass per distance d = 1..window (no Python loop over pairs).
    """
    sentences = _check_sentences(sentences)
    check_int(window, "window", low=1)
    check_type(dynamic_window, "dynamic_window", bool)
    vocab, _ = build_vocab(sentences, min_count)
    ids, sent = _encode(sentences, {w: i for i, w in enumerate(vocab)})
    V = len(vocab)
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        if d >= len(ids):
            break
        same = sent[:-d] == sent[d:]
        a, b = ids[:-d][same], ids[d:][same]
        weight = (window - d + 1) / window if dynamic_window else 1.0
        rows += [a, b]
        cols += [b, a]
        vals.append(np.full(2 * len(a), weight))
    if rows:
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    else:
        r = c = np.zeros(0, dtype=np.int64)
        v = np.zeros(0)
    counts = sps.coo_matrix((v, (r, c)), shape=(V, V)).tocsr()
    counts.sum_duplicates()
    return vocab, counts


def drop_isolated(vocab: list[str], counts):
    """Remove words that never share a window with another word (empty rows/columns of ``counts``).

    Returns ``(vocab, counts)`` restricted to the remaining words, ready for :func:`ppmi`.
    """
    keep = np.asarray(counts.sum(axis=1)).ravel() > 0
    if keep.all():
        return vocab, counts
    idx = np.flatnonzero(keep)
    return [vocab[i] for i in idx], counts[idx][:, idx]


def ppmi(counts, cds: float = 0.75, shift: float = 1.0):
    """Shifted positive PMI of a word × context count matrix (hyperwords conventions).

    ``counts``: scipy sparse or dense ndarray [W, C], non-negative, every row and column non-empty.
    ``cds`` ∈ (0, 1]: exponent of the context distribution (1 = plain PMI).
    ``shift`` ≥ 1: the k of SPPMI = max(PMI − log k, 0).
    Returns ``scipy.sparse.csr_matrix`` [W, C] float64 with explicit zeros removed.
    """
    if not (sps.issparse(counts) or isinstance(counts, np.ndarray)):
        raise TypeError(f"counts must be a scipy.sparse matrix or numpy.ndarray, got {type(counts).__name__}")
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D, got shape {counts.shape}")
    check_number(cds, "cds", low=0.0, high=1.0, low_inclusive=False)
    check_number(shift, "shift", low=1.0)
    m = sps.csr_matrix(counts, dtype=np.float64)
    if m.nnz and m.data.min() < 0:
        raise ValueError("counts must be non-negative")
    sum_w = np.asarray(m.sum(axis=1)).ravel()
    sum_c = np.asarray(m.sum(axis=0)).ravel() ** cds
    if (sum_w == 0).any() or (sum_c == 0).any():
        raise ValueError("counts must have no empty rows or columns (every word and context must occur)")
    total = sum_c.sum()
    m.eliminate_zeros()
    out = sps.diags(1.0 / sum_w) @ m @ sps.diags(1.0 / sum_c)
    out = out.tocsr()
    out.data = np.log(out.data * total) - math.log(shift)
    out.data[out.data < 0] = 0.0
    out.eliminate_zeros()
    return out


def svd_embeddings(matrix, dim: int, eig: float = 0.5, seed: int = 0) -> np.ndarray:
    """Truncated-SVD word vectors ``U_d · Σ_d^eig`` (float32 [W, dim]).

    Uses ``scipy.sparse.linalg.svds`` (ARPACK) with a seeded start vector; components are sorted by
    decreasing singular value and each singular vector's sign is fixed (largest-magnitude entry
    positive), so the result is deterministic. ``dim`` must be < min(matrix.shape); ``eig`` ∈ [0, 1]
    (hyperwords' eigenvalue weighting p: 0, 0.5 or 1).
    """
    if not (sps.issparse(matrix) or isinstance(matrix, np.ndarray)):
        raise TypeError(f"matrix must be a scipy.sparse matrix or numpy.ndarray, got {type(matrix).__name__}")
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {matrix.shape}")
    check_int(dim, "dim", low=1, high=min(matrix.shape) - 1)
    check_number(eig, "eig", low=0.0, high=1.0)
    check_int(seed, "seed", low=0)
    from scipy.sparse.linalg import svds

    m = sps.csr_matrix(matrix, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(min(m.shape))
    u, s, _ = svds(m, k=dim, v0=v0)
    order = np.argsort(-s)
    u, s = u[:, order], s[order]
    signs = np.sign(u[np.abs(u).argmax(axis=0), np.arange(dim)])
    signs[signs == 0] = 1.0
    return (u * signs * s**eig).astype(np.float32)


# --------------------------------------------------------------------------------------------- vectors
class WordVectors:
    """A vocabulary and its vectors, with cosine similarity queries.

    ``words``: list of V distinct str; ``vectors``: float array [V, dim]; ``contexts``: optional
    context (output) vectors [V, dim] of the same words (SGNS keeps them: ⟨vectors[w], contexts[c]⟩
    is the model's score of the pair (w, c)).
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray, contexts: np.ndarray | None = None) -> None:
        words = list(words)
        if not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.floating):
            raise TypeError("vectors must be a 2-D floating-point numpy.ndarray")
        if len(words) != vectors.shape[0]:
            raise ValueError(f"words and vectors disagree: {len(words)} words, {vectors.shape[0]} vectors")
        if any(not isinstance(w, str) for w in words):
            raise TypeError("words must be str")
        self.words = words
        self.vectors = vectors
        self._index = {w: i for i, w in enumerate(words)}
        if len(self._index) != len(words):
            raise ValueError("words must be distinct")
        if contexts is not None and (not isinstance(contexts, np.ndarray) or contexts.shape != vectors.shape):
            raise ValueError("contexts must be a numpy.ndarray with the same shape as vectors")
        self.contexts = contexts
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._unit = (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __getitem__(self, word: str) -> np.ndarray:
        try:
            return self.vectors[self._index[word]]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary") from None

    def index(self, word: str) -> int:
        """Row of ``word`` (KeyError if absent)."""
        try:
            return self._index[word]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary") from None

    @property
    def unit(self) -> np.ndarray:
        """Row-normalised vectors (zero rows stay zero)."""
        return self._unit

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words (KeyError if either is absent)."""
        return float(self._unit[self.index(a)] @ self._unit[self.index(b)])

    def most_similar(self, word: str, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` nearest words by cosine, nearest first, excluding ``word`` itself."""
        check_int(n, "n", low=1)
        i = self.index(word)
        sims = self._unit @ self._unit[i]
        sims[i] = -np.inf
        n = min(n, len(self.words) - 1)
        top = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.words[j], float(sims[j])) for j in top[:n]]


# --------------------------------------------------------------------------------------------- training
def train_ppmi_svd(sentences, dim: int = 100, window: int = 5, min_count: int = 5, cds: float = 0.75,
                   shift: float = 1.0, eig: float = 0.5) -> WordVectors:
    """Counts (dynamic window) → SPPMI(cds, shift) → truncated SVD with eigenvalue weight ``eig``."""
    vocab, counts = drop_isolated(*cooccurrence(sentences, window=window, min_count=min_count, dynamic_window=True))
    return WordVectors(vocab, svd_embeddings(ppmi(counts, cds=cds, shift=shift), dim=dim, eig=eig))


def _sgns_pairs(ids: np.ndarray, sent: np.ndarray, keep_prob: np.ndarray, window: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of (centre, context) pairs: subsample tokens, shrink each window to U{1..window}."""
    kept = rng.random(len(ids)) < keep_prob[ids]
    ids, sent = ids[kept], sent[kept]
    reach = rng.integers(1, window + 1, size=len(ids))
    centres, contexts = [], []
    for d in range(1, window + 1):
        if d >= len(ids):
            break
        same = sent[:-d] == sent[d:]
        right = same & (reach[:-d] >= d)  # centre i, context i + d
        left = same & (reach[d:] >= d)  # centre i + d, context i
        centres += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    if not centres:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(centres), np.concatenate(contexts)


def train_sgns(sentences, dim: int = 100, window: int = 5, negative: int = 5, epochs: int = 5,
               min_count: int = 5, ns_exponent: float = 0.75, sample: float = 1e-3, seed: int = 0, *,
               alpha: float = 0.025, min_alpha: float = 1e-4, batch_size: int = 1024,
               threads: int | None = 1, progress: bool = True) -> WordVectors:
    """Skip-gram with negative sampling, in torch, trained by minibatch SGD.

    word2vec's recipe: frequent-word subsampling with threshold ``sample`` (keep probability
    (√(f/t)+1)·t/f with f the relative frequency), windows shrunk uniformly to 1..``window``,
    ``negative`` noise words per pair drawn ∝ count^``ns_exponent``, input vectors initialised
    U(−0.5/dim, 0.5/dim) and output vectors 0, learning rate decaying linearly from ``alpha`` to
    ``min_alpha``. Pairs are shuffled each epoch and processed in minibatches of ``batch_size``;
    the loss of a minibatch is :func:`kexue.nce.negative_sampling_loss` (summed), its gradient
    w.r.t. the gathered rows is applied with sparse ``index_add_`` updates.
    ``threads``: torch intra-op threads during training (restored afterwards; ``None`` leaves the
    setting alone). One is fastest for these small, memory-bound ops and immune to oversubscription.
    Returns :class:`WordVectors` of the input vectors, with the output vectors as ``.contexts``.
    Deterministic for a given ``seed``.
    """
    import torch
    from tqdm import tqdm  # text bars: notebook widgets would make the site load CDN scripts

    from .nce import negative_sampling_loss

    sentences = _check_sentences(sentences)
    for name, value, low in (("dim", dim, 1), ("window", window, 1), ("negative", negative, 1),
                             ("epochs", epochs, 1), ("batch_size", batch_size, 1), ("seed", seed, 0)):
        check_int(value, name, low=low)
    check_number(ns_exponent, "ns_exponent", low=0.0, high=1.0)
    check_number(sample, "sample", low=0.0)
    check_number(alpha, "alpha", low=0.0, low_inclusive=False)
    check_number(min_alpha, "min_alpha", low=0.0, high=alpha)
    check_type(progress, "progress", bool)
    if threads is not None:
        check_int(threads, "threads", low=1)

    vocab, counts = build_vocab(sentences, min_count)
    ids, sent = _encode(sentences, {w: i for i, w in enumerate(vocab)})
    V = len(vocab)
    freq = counts / counts.sum()
    keep_prob = np.ones(V) if sample == 0 else np.minimum(1.0, (np.sqrt(freq / sample) + 1) * sample / freq)
    noise = torch.from_numpy(counts.astype(np.float64) ** ns_exponent)
    noise /= noise.sum()

    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    w_in = (torch.rand(V, dim, generator=gen) - 0.5) / dim
    w_out = torch.zeros(V, dim)
    # negatives come from a pre-sampled table (word2vec's unigram table), refilled when used up
    table_size = max(1_000_000, 10 * V)
    expected_pairs = epochs * float((keep_prob[ids] * (window + 1)).sum())  # E[pairs]/epoch ≈ kept·(window+1)
    done = 0
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        bar = tqdm(total=epochs, desc="SGNS epochs", disable=not progress)
        for _ in range(epochs):
            centres, contexts = _sgns_pairs(ids, sent, keep_prob, window, rng)
            perm = rng.permutation(len(centres))
            c_all = torch.from_numpy(centres[perm])
            o_all = torch.from_numpy(contexts[perm])
            table = torch.multinomial(noise, table_size, replacement=True, generator=gen)
            t_pos = 0
            for start in range(0, len(c_all), batch_size):
                c = c_all[start:start + batch_size]
                o = o_all[start:start + batch_size]
                b = len(c)
                if t_pos + b * negative > table_size:
                    table = torch.multinomial(noise, table_size, replacement=True, generator=gen)
                    t_pos = 0
                neg = table[t_pos:t_pos + b * negative]
                t_pos += b * negative
                lr = max(min_alpha, alpha - (alpha - min_alpha) * done / expected_pairs)
                u = w_in.index_select(0, c)
                v = w_out.index_select(0, o)
                n = w_out.index_select(0, neg).view(b, negative, dim)
                # autograd only through the scores; the chain rule to the rows is two lines of algebra
                s_pos = (u * v).sum(-1).requires_grad_()
                s_neg = (n * u.unsqueeze(1)).sum(-1).requires_grad_()
                negative_sampling_loss(s_pos, s_neg, reduction="sum").backward()
                g_pos, g_neg = s_pos.grad.unsqueeze(-1), s_neg.grad.unsqueeze(-1)
                w_in.index_add_(0, c, g_pos * v + (g_neg * n).sum(1), alpha=-lr)
                w_out.index_add_(0, o, g_pos * u, alpha=-lr)
                w_out.index_add_(0, neg, (g_neg * u.unsqueeze(1)).view(-1, dim), alpha=-lr)
                done += b
            if not bool(torch.isfinite(w_in).all()):
                raise FloatingPointError(
                    "SGNS diverged (non-finite vectors): with a small vocabulary, a minibatch repeats each word "
                    "many times and the summed sparse updates blow up; lower batch_size or alpha")
            bar.update(1)
        bar.close()
    finally:
        torch.set_num_threads(old_threads)
    return WordVectors(vocab, w_in.numpy().copy(), contexts=w_out.numpy().copy())


# --------------------------------------------------------------------------------------------- evaluation
def evaluate_similarity(vectors: WordVectors, pairs) -> tuple[float, float]:
    """Spearman ρ between cosine similarities and human scores, over the pairs whose words are known.

    ``pairs``: iterable of ``(word1, word2, human_score)``. Returns ``(rho, coverage)`` with coverage
    the fraction of pairs evaluated; rho is NaN when fewer than 2 pairs are covered.
    """
    from scipy.stats import spearmanr

    check_type(vectors, "vectors", WordVectors)
    ours, human, total = [], [], 0
    for item in pairs:
        if len(item) != 3:
            raise ValueError(f"pairs must hold (word1, word2, score) triples, got {item!r}")
        a, b, score = item
        check_number(score, "pairs[i][2] (human score)")
        total += 1
        if a in vectors and b in vectors:
            ours.append(vectors.similarity(a, b))
            human.append(float(score))
    if total == 0:
        raise ValueError("pairs is empty")
    coverage = len(ours) / total
    if len(ours) < 2:
        return float("nan"), coverage
    return float(spearmanr(ours, human).statistic), coverage


def evaluate_analogy(vectors: WordVectors, questions, method: str = "3cosadd",
                     chunk: int = 512) -> tuple[float, float]:
    """Analogy accuracy: for ``a : b :: c : d`` predict d among all words except a, b, c.

    ``method``: ``"3cosadd"`` (argmax cos(x,b) − cos(x,a) + cos(x,c)) or ``"3cosmul"`` (Levy &
    Goldberg 2014: cosines mapped to [0, 1], argmax cos(x,b)·cos(x,c)/(cos(x,a)+0.001)).
    Returns ``(accuracy over covered questions, coverage)``; accuracy is NaN if none is covered.
    """
    check_type(vectors, "vectors", WordVectors)
    check_choice(method, "method", ("3cosadd", "3cosmul"))
    check_int(chunk, "chunk", low=1)
    qs, total = [], 0
    for q in questions:
        if len(q) != 4:
            raise ValueError(f"questions must hold (a, b, c, d) 4-tuples, got {q!r}")
        total += 1
        if all(w in vectors for w in q):
            qs.append([vectors.index(w) for w in q])
    if total == 0:
        raise ValueError("questions is empty")
    if not qs:
        return float("nan"), 0.0
    idx = np.asarray(qs)
    unit = vectors.unit
    correct = 0
    for s in range(0, len(idx), chunk):
        q = idx[s:s + chunk]
        ca, cb, cc = (unit[q[:, j]] @ unit.T for j in range(3))  # [n, V] each
        if method == "3cosadd":
            score = cb - ca + cc
        else:
            score = ((cb + 1) / 2) * ((cc + 1) / 2) / ((ca + 1) / 2 + 1e-3)
        rows = np.arange(len(q))[:, None]
        score[rows, q[:, :3]] = -np.inf
        correct += int((score.argmax(axis=1) == q[:, 3]).sum())
    return correct / len(idx), len(idx) / total
