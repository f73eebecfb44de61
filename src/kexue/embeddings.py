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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import chain, count

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
    out = sentences if isinstance(sentences, list) else list(sentences)
    for s in out:
        if type(s) is not list and (isinstance(s, str) or not isinstance(s, Sequence)):  # fast path for lists
            raise TypeError(f"sentences must contain lists of str tokens, got an item of type {type(s).__name__}")
    return out


def build_vocab(sentences, min_count: int = 5) -> tuple[list[str], np.ndarray]:
    """Words with count ≥ ``min_count`` by descending count (ties by word) and their counts (int64 [V])."""
    return _build_vocab(_check_sentences(sentences), min_count)


def _build_vocab(sentences: list, min_count: int) -> tuple[list[str], np.ndarray]:
    vocab, counts, _, _ = _vocab_and_ids(sentences, min_count)
    return vocab, counts


def _vocab_and_ids(sentences: list, min_count: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """One pass over the tokens: ``(vocab, counts, ids, sent)`` with ``ids`` the vocabulary ids of the
    in-vocabulary tokens in corpus order (OOV deleted) and ``sent`` the sentence number of each."""
    check_int(min_count, "min_count", low=1)
    first: defaultdict = defaultdict(count().__next__)  # word → id in order of first appearance
    raw = np.fromiter(map(first.__getitem__, chain.from_iterable(sentences)), dtype=np.int64)  # a C-level loop
    words = list(first)
    for w in words:
        if not isinstance(w, str):
            raise TypeError(f"tokens must be str, got {type(w).__name__}")
    freq = np.bincount(raw, minlength=len(words))
    keep = np.flatnonzero(freq >= min_count).tolist()
    if not keep:
        raise ValueError(f"no word occurs min_count={min_count} times; lower min_count or use a larger corpus")
    f = freq.tolist()
    keep.sort(key=lambda i: (-f[i], words[i]))  # descending count, ties by the word
    rank = np.full(len(words), -1, dtype=np.int64)
    rank[keep] = np.arange(len(keep))
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    sent = np.repeat(np.arange(len(sentences), dtype=np.int64), lengths)
    ids = rank[raw]
    known = ids >= 0
    return [words[i] for i in keep], freq[keep].astype(np.int64), ids[known], sent[known]


# --------------------------------------------------------------------------------------------- counts
def cooccurrence(sentences, window: int = 5, min_count: int = 5, dynamic_window: bool = True):
    """Symmetric word–context co-occurrence counts within ``window`` tokens.

    Returns ``(vocab, counts)``: ``vocab`` a list of V words (see module conventions) and ``counts``
    a ``scipy.sparse.csr_matrix`` [V, V] of float64 (weighted counts when ``dynamic_window``).
    Built with one vectorised pass per distance d = 1..window (no Python loop over pairs): the
    (token i, token i ± d) pairs are packed into integers and counted with one sort (see
    :func:`_count_pairs`).
    """
    sentences = _check_sentences(sentences)
    check_int(window, "window", low=1)
    check_type(dynamic_window, "dynamic_window", bool)
    vocab, _, ids, sent = _vocab_and_ids(sentences, min_count)
    return vocab, _count_pairs(ids, sent, len(vocab), window, dynamic_window)


def _count_pairs(ids: np.ndarray, sent: np.ndarray, V: int, window: int, dynamic_window: bool):
    """CSR [V, V] counts of the (token i, token i ± d) pairs, d = 1..window, inside each sentence.

    Every pair (i, i + d) is packed into one unsigned integer ``(word·V + context) << bits | d``
    (uint32 when it fits, else uint64); one sort brings equal (word, context) pairs together (numpy's
    vectorised integer sort: ~10× faster than an argsort or scipy's COO → CSR summation), and a
    cumulative sum of the distance weights read at the ends of the runs gives the counts M, already
    in sorted CSR order; the pairs (i + d, i) are Mᵀ, so the counts are M + Mᵀ. Weights are the
    integers ``window − d + 1``, summed exactly and divided by ``window`` at the end.
    """
    bits = int(window).bit_length()
    kt = np.uint32 if (V * V) << bits < 2**32 else np.uint64
    ids_k = ids.astype(kt)
    dists = range(1, min(window, len(ids) - 1) + 1)
    sames = [sent[:-d] == sent[d:] for d in dists]
    key = np.empty(sum(int(np.count_nonzero(m)) for m in sames), dtype=kt)  # one buffer, few temporaries
    at = 0
    for d, same in zip(dists, sames):
        seg = key[at:at + int(np.count_nonzero(same))]
        np.multiply(ids_k[:-d][same], kt(V), out=seg)
        seg += ids_k[d:][same]
        seg <<= kt(bits)
        seg |= kt(d)
        at += len(seg)
    del sames
    key.sort()
    pair = key >> kt(bits)
    last = np.flatnonzero(pair[1:] != pair[:-1])
    if len(key):
        last = np.append(last, len(key) - 1)
    if dynamic_window:
        acc = np.int32 if len(key) * window < 2**31 else np.int64  # wide enough for the running sum
        weights = (key & kt((1 << bits) - 1)).astype(acc)  # d
        np.subtract(acc(window + 1), weights, out=weights)  # window − d + 1
        np.cumsum(weights, out=weights)
        vals = np.diff(weights[last], prepend=0) / window
    else:
        vals = np.diff(last + 1, prepend=0).astype(np.float64)
    rows, cols = np.divmod(pair[last], kt(V))
    indptr = np.zeros(V + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=V), out=indptr[1:])
    small = np.int32 if V < 2**31 else np.int64
    upper = sps.csr_matrix((vals, cols.astype(small), indptr), shape=(V, V))
    return (upper + upper.T).tocsr()


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
    m = sps.csr_matrix(counts, dtype=np.float64, copy=True)  # modified in place below
    if m.nnz and m.data.min() < 0:
        raise ValueError("counts must be non-negative")
    sum_w = np.asarray(m.sum(axis=1)).ravel()
    sum_c = np.asarray(m.sum(axis=0)).ravel() ** cds
    if (sum_w == 0).any() or (sum_c == 0).any():
        raise ValueError("counts must have no empty rows or columns (every word and context must occur)")
    total = sum_c.sum()
    m.sum_duplicates()  # one stored value per (w, c): the log below is taken entry by entry
    m.eliminate_zeros()
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    # log(#(w,c)·total / (#(w)·#(c)^α)) − log k, entry by entry on the stored values
    m.data = np.log(m.data * (total / sum_w[rows] / sum_c[m.indices])) - math.log(shift)
    m.data[m.data < 0] = 0.0
    m.eliminate_zeros()
    return m


def _one_blas_thread():
    """Context manager limiting BLAS/OpenMP pools to one thread (a no-op without ``threadpoolctl``)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1)


def _torch_csr(m):
    """A float32 ``torch`` CSR tensor sharing nothing with the scipy CSR matrix ``m``."""
    import warnings

    import torch

    with warnings.catch_warnings():  # "sparse CSR support is in beta": products are all we use
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)),
                                       torch.from_numpy(m.indices.astype(np.int64)),
                                       torch.from_numpy(m.data.astype(np.float32)), size=m.shape,
                                       check_invariants=False)


def _randomized_svd(m, k: int, n_iter: int, seed: int, oversample: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` left singular vectors and values of ``m`` [W, C] (Halko, Martinsson & Tropp 2011).

    Sample the range with a Gaussian test matrix Ω [C, k + oversample], sharpen it with ``n_iter``
    power iterations (Y ← M Mᵀ Y, re-orthonormalised by a QR factorisation each time so that small
    singular directions are not lost to rounding), orthonormalise (QR), then take the SVD of the
    small B = Qᵀ M [ℓ, C] through the QR factorisation Bᵀ = Q_b R: B = Rᵀ Q_bᵀ, so B's left singular
    vectors and values are those of the ℓ × ℓ matrix Rᵀ. The sparse products, which are nearly all
    of the cost, run in torch (CSR × dense, on torch's intra-op threads), and so do the small dense
    factorisations: a second thread pool (numpy's or scipy's BLAS) alternating with torch's OpenMP
    pool on two cores was erratic here (once seconds for a 110 × 110 SVD). Returns ``(U [W, k], s [k])``.
    """
    import torch

    rng = np.random.default_rng(seed)
    ell = min(k + oversample, min(m.shape))
    a, at = _torch_csr(m), _torch_csr(m.T.tocsr())

    q = a @ torch.from_numpy(rng.standard_normal((m.shape[1], ell)).astype(np.float32))
    for _ in range(n_iter):  # re-orthonormalising once per iteration gave the same vectors as twice, 20% faster
        q = a @ (at @ torch.linalg.qr(q).Q)
    q = torch.linalg.qr(q).Q  # orthonormal basis of the sampled range
    r = torch.linalg.qr(at @ q, mode="r").R  # Bᵀ = Mᵀ Q = Q_b R
    ub, s, _ = torch.linalg.svd(r.T)
    return (q @ ub)[:, :k].numpy(), s[:k].numpy()


def svd_embeddings(matrix, dim: int, eig: float = 0.5, seed: int = 0, method: str = "randomized",
                   n_iter: int = 4, threads: int | None = None) -> np.ndarray:
    """Truncated-SVD word vectors ``U_d · Σ_d^eig`` (float32 [W, dim]).

    ``method="randomized"`` (default): Halko–Martinsson–Tropp randomized SVD (float32, ``n_iter``
    QR-renormalised power iterations, 10 extra sampled directions, seeded; see :func:`_randomized_svd`),
    computed in torch on ``threads`` intra-op threads (``None``: torch's current setting).
    ``method="arpack"``: ``scipy.sparse.linalg.svds`` (float64, Lanczos, seeded start vector) —
    slower, the reference, run with BLAS limited to one thread when ``threadpoolctl`` is installed.
    Components are sorted by decreasing singular value and each singular vector's sign is fixed
    (largest-magnitude entry positive), so the result is deterministic for a given thread count
    (1 and 2 threads agree to float32 rounding, ~1e-4). ``dim`` must be < min(matrix.shape); ``eig`` ∈
    [0, 1] (hyperwords' eigenvalue weighting p: 0, 0.5 or 1).
    """
    if not (sps.issparse(matrix) or isinstance(matrix, np.ndarray)):
        raise TypeError(f"matrix must be a scipy.sparse matrix or numpy.ndarray, got {type(matrix).__name__}")
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {matrix.shape}")
    check_int(dim, "dim", low=1, high=min(matrix.shape) - 1)
    check_number(eig, "eig", low=0.0, high=1.0)
    check_int(seed, "seed", low=0)
    check_choice(method, "method", ("randomized", "arpack"))
    check_int(n_iter, "n_iter", low=0)
    if threads is not None:
        check_int(threads, "threads", low=1)
    if method == "arpack":
        from scipy.sparse.linalg import svds

        m = sps.csr_matrix(matrix, dtype=np.float64)
        v0 = np.random.default_rng(seed).standard_normal(min(m.shape))
        with _one_blas_thread():
            u, s, _ = svds(m, k=dim, v0=v0)
    else:
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(threads or old)
        try:
            u, s = _randomized_svd(sps.csr_matrix(matrix, dtype=np.float32), dim, n_iter, seed)
        finally:
            torch.set_num_threads(old)
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
                   shift: float = 1.0, eig: float = 0.5, *, threads: int | None = None) -> WordVectors:
    """Counts (dynamic window) → SPPMI(cds, shift) → truncated SVD with eigenvalue weight ``eig``.

    The SVD is :func:`svd_embeddings`' default (randomized, 4 power iterations, seed 0) on
    ``threads`` torch threads (``None``: torch's current setting).
    """
    vocab, counts = drop_isolated(*cooccurrence(sentences, window=window, min_count=min_count, dynamic_window=True))
    return WordVectors(vocab, svd_embeddings(ppmi(counts, cds=cds, shift=shift), dim=dim, eig=eig, threads=threads))


def _sgns_batch_grads(inp, out, pair_mask, scale: float = 1.0, with_loss: bool = True):
    """Loss and hand-derived gradients of one SGNS minibatch with negatives shared per centre word.

    ``inp`` [B, m, d]: input vectors of the m context slots of B centre words; ``out`` [B, K, d]: output
    vectors of each centre word (column 0) and its K − 1 negatives; ``pair_mask`` [B, m] float, 1 for a
    real context and 0 for a padded slot beyond the sentence. The scores are ``s = inp · outᵀ``
    [B, m, K]; the loss is :func:`kexue.nce.negative_sampling_loss` summed over the real pairs, and
    since ∂/∂s of ``−log σ(s)`` is ``σ(s) − 1`` and of ``−log σ(−s)`` is ``σ(s)``, its gradient w.r.t.
    the scores is ``G = (σ(s) − [column 0])·mask``, so ``∂L/∂inp = G · out`` and ``∂L/∂out = Gᵀ · inp``
    (three batched matmuls in all, no autograd). Both gradients are multiplied by ``scale`` (folded
    into the small G, so that ``scale = −lr`` yields the SGD steps themselves at no extra cost);
    ``with_loss=False`` skips the loss (returned as ``None``). Returns ``(loss, grad_inp, grad_out)``.
    """
    import torch

    from .nce import negative_sampling_loss

    B, m, _ = inp.shape
    K = out.shape[1]
    s = torch.bmm(inp, out.transpose(1, 2))  # [B, m, K]
    loss = None
    if with_loss:
        flat = s.view(B * m, K)
        loss = negative_sampling_loss(flat[:, 0], flat[:, 1:], reduction="none").view(B, m).mul_(pair_mask).sum()
    g = torch.sigmoid(s)
    g[:, :, 0] -= 1.0
    g.mul_(pair_mask.unsqueeze(-1) * scale)
    return loss, torch.bmm(g, out), torch.bmm(g.transpose(1, 2), inp)


def _sentence_chunks(sent: np.ndarray, chunk_tokens: int) -> list[tuple[int, int]]:
    """Cut a token stream into ``[start, stop)`` pieces of about ``chunk_tokens`` at sentence starts."""
    n = len(sent)
    if n == 0:
        return []
    starts = np.flatnonzero(np.r_[True, sent[1:] != sent[:-1]])
    cuts = np.unique(starts[np.searchsorted(starts, np.arange(0, n, chunk_tokens))])
    cuts = np.r_[cuts, n]
    return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _sgns_windows(ids: np.ndarray, sent: np.ndarray, reach: np.ndarray, r: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres with window ``r``: their positions' word ids [n], context ids [n, 2r] and 0/1 mask [n, 2r]."""
    pos = np.flatnonzero(reach == r)
    offsets = np.r_[np.arange(-r, 0), np.arange(1, r + 1)]
    p = pos[:, None] + offsets
    inside = (p >= 0) & (p < len(ids))
    p = np.clip(p, 0, len(ids) - 1)
    valid = inside & (sent[p] == sent[pos][:, None])
    return ids[pos], np.where(valid, ids[p], ids[pos][:, None]), valid.astype(np.float32)


def train_sgns(sentences, dim: int = 100, window: int = 5, negative: int = 5, epochs: int = 5,
               min_count: int = 5, ns_exponent: float = 0.75, sample: float = 1e-3, seed: int = 0, *,
               alpha: float = 0.025, min_alpha: float = 1e-4, batch_size: int = 2048,
               threads: int = 1, chunk_tokens: int = 1 << 17, loss_every: int = 8,
               progress: bool = True) -> WordVectors:
    """Skip-gram with negative sampling in torch: large vectorised minibatches, hand-derived gradients.

    word2vec's recipe: frequent-word subsampling with threshold ``sample`` (keep probability
    (√(f/t)+1)·t/f with f the relative frequency; dropped tokens are deleted before windowing), each
    centre word's window shrunk uniformly to r ∈ 1..``window``, the context words' input vectors
    predicting the centre word's output vector against ``negative`` noise words drawn ∝
    count^``ns_exponent`` (Walker alias sampler, :class:`kexue.nce.AliasSampler`; a noise word equal
    to its centre word is drawn again), input vectors initialised U(−0.5/dim, 0.5/dim) and output vectors 0,
    learning rate decaying linearly from ``alpha`` to ``min_alpha`` over the corpus tokens of all epochs.

    Batching (Ji et al. 2016, "Parallelizing word2vec in shared and distributed memory"): the 2r
    context pairs of one centre word share its k negatives, so a minibatch of centres with the same r
    is two batched matmuls [2r, d]×[d, k+1] instead of 2r·(k+1) row gathers. Each pair still sees k
    i.i.d. noise words, so the expected gradient — and the optimum, shifted PMI — is unchanged. The
    corpus is processed in pieces of about ``chunk_tokens`` tokens (cut at sentence starts); inside a
    piece, centres are grouped by r, shuffled, cut into minibatches of about ``batch_size`` pairs and
    the minibatches are visited in random order. The gradient of a minibatch is applied in place
    with ``index_add_`` (sparse SGD, no autograd) — see :func:`_sgns_batch_grads`. Its loss,
    :func:`kexue.nce.negative_sampling_loss` summed over its pairs, is only needed for monitoring,
    so it is computed on every ``loss_every``-th minibatch of each worker (1 = all of them; the
    default 8 saves ~15% of the time).

    ``threads``: worker threads, each running torch single-threaded (torch's intra-op threads are set
    to 1 during training and restored afterwards). With ``threads`` > 1 the workers take turns at a
    piece's minibatches and update the shared vectors without locks (Hogwild, as word2vec and gensim
    do with their workers): faster, but no longer bit-for-bit reproducible. A helper thread prepares
    the next piece (numpy subsampling/windows, negatives) while the workers train on the current one.
    Returns :class:`WordVectors` of the input vectors, with the output vectors as ``.contexts`` and
    ``.losses`` the mean loss per pair of each epoch (over the minibatches where it was computed).
    Deterministic for a given ``seed`` when
    ``threads`` = 1.
    """
    from concurrent.futures import ThreadPoolExecutor

    import torch
    from tqdm import tqdm  # text bars: notebook widgets would make the site load CDN scripts

    from .nce import AliasSampler

    sentences = _check_sentences(sentences)
    for name, value, low in (("dim", dim, 1), ("window", window, 1), ("negative", negative, 1),
                             ("epochs", epochs, 1), ("batch_size", batch_size, 1), ("seed", seed, 0),
                             ("threads", threads, 1), ("chunk_tokens", chunk_tokens, 1),
                             ("loss_every", loss_every, 1)):
        check_int(value, name, low=low)
    check_number(ns_exponent, "ns_exponent", low=0.0, high=1.0)
    check_number(sample, "sample", low=0.0)
    check_number(alpha, "alpha", low=0.0, low_inclusive=False)
    check_number(min_alpha, "min_alpha", low=0.0, high=alpha)
    check_type(progress, "progress", bool)

    vocab, counts, ids, sent = _vocab_and_ids(sentences, min_count)
    V = len(vocab)
    freq = counts / counts.sum()
    keep_prob = np.ones(V) if sample == 0 else np.minimum(1.0, (np.sqrt(freq / sample) + 1) * sample / freq)
    sampler = AliasSampler(torch.from_numpy(counts.astype(np.float64) ** ns_exponent))

    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    w_in = (torch.rand(V, dim, generator=gen) - 0.5) / dim
    w_out = torch.zeros(V, dim)
    chunks = _sentence_chunks(sent, chunk_tokens)
    n_tokens = max(1, len(ids))
    total_tokens = epochs * n_tokens

    def prepare(epoch: int, start: int, stop: int) -> list:
        """Minibatches of one piece, in visiting order: [ctx, mask, out_idx, lr, pairs]."""
        kept = rng.random(stop - start) < keep_prob[ids[start:stop]]
        c_ids, c_sent = ids[start:stop][kept], sent[start:stop][kept]
        reach = rng.integers(1, window + 1, size=len(c_ids))
        batches = []
        for r in range(1, window + 1):
            centre, ctx, mask = _sgns_windows(c_ids, c_sent, reach, r)
            if len(centre) == 0:
                continue
            perm = rng.permutation(len(centre))
            centre, ctx, mask = centre[perm], ctx[perm], mask[perm]
            pairs = mask.sum(axis=1)
            centre_t, ctx_t, mask_t = (torch.from_numpy(a) for a in (centre, ctx, mask))
            neg = sampler.sample((len(centre), negative), generator=gen)
            clash = neg == centre_t.unsqueeze(1)
            while bool(clash.any()):  # a noise word equal to its centre word is drawn again
                neg[clash] = sampler.sample(int(clash.sum()), generator=gen)
                clash = neg == centre_t.unsqueeze(1)
            out_idx = torch.cat([centre_t.unsqueeze(1), neg], 1)
            step = max(1, batch_size // (2 * r))
            for b in range(0, len(centre), step):
                sl = slice(b, b + step)
                batches.append([ctx_t[sl], mask_t[sl], out_idx[sl], float(pairs[sl].sum())])
        batches = [batches[i] for i in rng.permutation(len(batches))]
        total_pairs = max(1.0, sum(bt[-1] for bt in batches))
        done = 0.0
        for bt in batches:  # linear decay by corpus position, as word2vec does
            frac = (epoch * n_tokens + start + (stop - start) * done / total_pairs) / total_tokens
            bt.insert(3, max(min_alpha, alpha - (alpha - min_alpha) * frac))
            done += bt[-1]
        return batches

    def work(batches: list) -> tuple[float, float]:
        torch.set_num_threads(1)  # per thread: a worker thread would otherwise start its own OpenMP team
        loss_sum = loss_pairs = 0.0
        for i, (ctx, mask, out_idx, lr, pairs) in enumerate(batches):
            ctx_flat, out_flat = ctx.view(-1), out_idx.view(-1)
            # index_select, not w_in[ctx]: advanced indexing is several times slower on CPU
            inp = w_in.index_select(0, ctx_flat).view(*ctx.shape, dim)
            out = w_out.index_select(0, out_flat).view(*out_idx.shape, dim)
            with_loss = i % loss_every == 0
            loss, step_inp, step_out = _sgns_batch_grads(inp, out, mask, scale=-lr, with_loss=with_loss)
            # the steps already carry −lr: index_add_ with alpha= is ~3x slower on CPU
            w_in.index_add_(0, ctx_flat, step_inp.view(-1, dim))
            w_out.index_add_(0, out_flat, step_out.view(-1, dim))
            if with_loss:
                loss_sum += float(loss)
                loss_pairs += pairs
        return loss_sum, loss_pairs

    jobs = [(e, a, b) for e in range(epochs) for a, b in chunks]
    losses = []
    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(1) as prep_pool, ThreadPoolExecutor(threads) as pool:
            bar = tqdm(total=total_tokens, desc="SGNS tokens", unit="tok", unit_scale=True, disable=not progress)
            pending = prep_pool.submit(prepare, *jobs[0]) if jobs else None
            loss_sum = pairs_sum = 0.0
            for j, (epoch, start, stop) in enumerate(jobs):
                batches = pending.result()
                pending = prep_pool.submit(prepare, *jobs[j + 1]) if j + 1 < len(jobs) else None
                parts = [pool.submit(work, batches[t::threads]) for t in range(threads)]
                for p in parts:
                    part_loss, part_pairs = p.result()
                    loss_sum += part_loss
                    pairs_sum += part_pairs
                bar.update(stop - start)
                if j + 1 == len(jobs) or jobs[j + 1][0] != epoch:  # end of an epoch
                    if not (bool(torch.isfinite(w_in).all()) and math.isfinite(loss_sum)):
                        if pending is not None:
                            pending.cancel()
                        raise FloatingPointError(
                            "SGNS diverged (non-finite vectors): with a small vocabulary, a minibatch repeats "
                            "each word many times and the summed sparse updates blow up; lower batch_size or alpha")
                    losses.append(loss_sum / max(pairs_sum, 1.0))
                    loss_sum = pairs_sum = 0.0
            bar.close()
    finally:
        torch.set_num_threads(old_threads)
    wv = WordVectors(vocab, w_in.numpy().copy(), contexts=w_out.numpy().copy())
    wv.losses = losses
    return wv


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
