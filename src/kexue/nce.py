"""Noise-contrastive estimation, negative sampling and sampled softmax (chapter: notebooks/02-nce).

Conventions
-----------
* A *score* ``s(x)`` is the model's unnormalised log-density (a logit); for a categorical model over a
  vocabulary, ``s(x) = ⟨h, w_x⟩ + b_x`` before any normaliser.
* NCE (Gutmann & Hyvärinen; Mnih & Teh) classifies data against ``k`` noise samples from a known
  distribution ``q`` with the logit ``s(x) − log k − log q(x)``. At the optimum ``s(x) = log p(x)``:
  the model comes out normalised (with a learned offset playing ``log Z``).
* Negative sampling (word2vec) drops the ``log k q(x)`` term: its optimum is
  ``s(x) = log p(x) − log(k q(x))``, a shifted log-ratio — the shifted PMI of the word-vector chapter.
* All losses are computed with ``logsigmoid`` (finite for any finite score) and reduced with
  ``reduction`` ∈ {"none", "mean", "sum"} over the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_int, check_tensor, check_type
from .utils import reduce_loss

__all__ = [
    "nce_loss",
    "negative_sampling_loss",
    "sample_noise",
    "AliasSampler",
    "NCELinear",
    "SampledSoftmax",
    "NegativeSamplingLinear",
    "NGramLM",
    "ngram_data",
    "perplexity",
    "train_lm",
]


def _check_scores(data_scores: Tensor, noise_scores: Tensor) -> None:
    check_tensor(data_scores, "data_scores", kind="float", ndim=1)
    check_tensor(noise_scores, "noise_scores", kind="float", ndim=2)
    if noise_scores.shape[0] != data_scores.shape[0]:
        raise ValueError(f"noise_scores must have shape [B, k] with B = {data_scores.shape[0]} "
                         f"(the length of data_scores), got {tuple(noise_scores.shape)}")


def nce_loss(data_scores: Tensor, noise_scores: Tensor, data_log_noise: Tensor, noise_log_noise: Tensor,
             reduction: str = "mean") -> Tensor:
    """NCE loss per example:
    ``−log σ(s(x) − log k − log q(x)) − Σ_j log σ(−(s(y_j) − log k − log q(y_j)))``.

    Shapes: ``data_scores`` [B] and ``data_log_noise`` [B] (log q of the observed items);
    ``noise_scores`` [B, k] and ``noise_log_noise`` [B, k] (the k noise items of each example).
    Raises ``ValueError`` for disagreeing shapes, ``TypeError`` for non-float tensors.
    """
    _check_scores(data_scores, noise_scores)
    check_tensor(data_log_noise, "data_log_noise", kind="float", shape=tuple(data_scores.shape))
    check_tensor(noise_log_noise, "noise_log_noise", kind="float", shape=tuple(noise_scores.shape))
    log_k = math.log(noise_scores.shape[1])
    pos = data_scores - log_k - data_log_noise
    neg = noise_scores - log_k - noise_log_noise
    loss = -F.logsigmoid(pos) - F.logsigmoid(-neg).sum(-1)
    return reduce_loss(loss, reduction)


def negative_sampling_loss(data_scores: Tensor, noise_scores: Tensor, reduction: str = "mean") -> Tensor:
    """word2vec's negative-sampling loss per example: ``−log σ(s(x)) − Σ_j log σ(−s(y_j))``.

    Shapes: ``data_scores`` [B], ``noise_scores`` [B, k]. Raises ``ValueError`` for disagreeing shapes.
    """
    _check_scores(data_scores, noise_scores)
    loss = -F.logsigmoid(data_scores) - F.logsigmoid(-noise_scores).sum(-1)
    return reduce_loss(loss, reduction)


def _check_q(q: Tensor) -> Tensor:
    check_tensor(q, "q", kind="float", ndim=1, finite=True)
    if q.numel() == 0 or bool((q < 0).any()) or float(q.sum()) <= 0:
        raise ValueError("q must be a non-empty vector of non-negative probabilities with a positive sum")
    return q


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, int):
        shape = (shape,)
    check_type(shape, "shape", (tuple, list, torch.Size))
    for s in shape:
        check_int(s, "shape[i]", low=0)
    return tuple(int(s) for s in shape)


def sample_noise(q: Tensor, shape: int | Sequence[int], generator: torch.Generator | None = None) -> Tensor:
    """Draw int64 indices of the given ``shape`` i.i.d. from the categorical distribution ``q`` [V]
    (normalised internally), with ``torch.multinomial`` (with replacement)."""
    q = _check_q(q)
    shape = _check_shape(shape)
    n = math.prod(shape)
    if n == 0:
        return torch.zeros(shape, dtype=torch.long)
    return torch.multinomial(q, n, replacement=True, generator=generator).view(shape)


class AliasSampler:
    """Walker's alias method: O(V) set-up, then O(1) per sample (two uniform draws and a lookup).

    ``AliasSampler(q).sample(shape, generator)`` draws from ``q`` like :func:`sample_noise`.
    """

    def __init__(self, q: Tensor) -> None:
        q = _check_q(q).double()
        V = q.numel()
        prob = (q / q.sum() * V).tolist()
        alias = [0] * V
        small = [i for i, p in enumerate(prob) if p < 1.0]
        large = [i for i, p in enumerate(prob) if p >= 1.0]
        while small and large:
            s, l = small.pop(), large.pop()
            alias[s] = l
            prob[l] -= 1.0 - prob[s]
            (small if prob[l] < 1.0 else large).append(l)
        for i in small + large:
            prob[i] = 1.0
        self.prob = torch.tensor(prob, dtype=torch.float32)
        self.alias = torch.tensor(alias, dtype=torch.long)

    def sample(self, shape: int | Sequence[int], generator: torch.Generator | None = None) -> Tensor:
        shape = _check_shape(shape)
        idx = torch.randint(len(self.prob), shape, generator=generator)
        keep = torch.rand(shape, generator=generator) < self.prob[idx]
        return torch.where(keep, idx, self.alias[idx])


class _SampledOutput(nn.Module):
    """A linear output layer over ``num_classes`` classes trained from samples of a noise distribution."""

    def __init__(self, in_features: int, num_classes: int, noise: Tensor, k: int = 64) -> None:
        super().__init__()
        check_int(in_features, "in_features", low=1)
        check_int(num_classes, "num_classes", low=2)
        check_int(k, "k", low=1)
        noise = _check_q(noise)
        if noise.numel() != num_classes:
            raise ValueError(f"noise must have num_classes = {num_classes} entries, got {noise.numel()}")
        self.k = k
        self.weight = nn.Parameter(torch.randn(num_classes, in_features) * in_features**-0.5)
        self.bias = nn.Parameter(torch.zeros(num_classes))
        q = noise.double() / noise.double().sum()
        self.register_buffer("log_q", q.clamp_min(1e-300).log().float())
        self.sampler = AliasSampler(q)

    def _check_inputs(self, h: Tensor, target: Tensor) -> None:
        check_tensor(h, "h", kind="float", ndim=2, shape=(None, self.weight.shape[1]))
        check_tensor(target, "target", kind="int", ndim=1, shape=(h.shape[0],))
        if target.numel() and (int(target.min()) < 0 or int(target.max()) >= self.weight.shape[0]):
            raise ValueError(f"target must hold class indices in [0, {self.weight.shape[0]})")

    def logits(self, h: Tensor) -> Tensor:
        """Unnormalised scores of every class [B, C] (what the full softmax would normalise)."""
        return F.linear(h, self.weight, self.bias)

    def log_probs(self, h: Tensor) -> Tensor:
        """Exact log-probabilities with the full softmax [B, C] (for evaluation)."""
        return F.log_softmax(self.logits(h), dim=-1)


class NCELinear(_SampledOutput):
    """Output layer trained by NCE, with ``k`` noise classes shared by the whole batch.

    The score of class ``c`` is ``⟨h, w_c⟩ + b_c − log Z`` with ``log Z`` a learnable scalar
    (``learn_log_z=True``) or fixed at ``log_z``. ``forward(h [B, d], target [B])`` returns the NCE loss
    (reduced by ``reduction``); after training the scores are approximately normalised, so
    ``scores(h)`` can be used as log-probabilities without a softmax.
    """

    def __init__(self, in_features: int, num_classes: int, noise: Tensor, k: int = 64, *,
                 learn_log_z: bool = True, log_z: float = 0.0) -> None:
        super().__init__(in_features, num_classes, noise, k)
        check_type(learn_log_z, "learn_log_z", bool)
        self.log_z = nn.Parameter(torch.tensor(float(log_z)), requires_grad=learn_log_z)

    def scores(self, h: Tensor) -> Tensor:
        """Self-normalised log-probability estimates of every class [B, C]."""
        return self.logits(h) - self.log_z

    def forward(self, h: Tensor, target: Tensor, *, generator: torch.Generator | None = None,
                reduction: str = "mean") -> Tensor:
        self._check_inputs(h, target)
        noise = self.sampler.sample((self.k,), generator)  # shared by the batch
        data_scores = (h * self.weight[target]).sum(-1) + self.bias[target] - self.log_z
        noise_scores = h @ self.weight[noise].T + self.bias[noise] - self.log_z  # [B, k]
        return nce_loss(data_scores, noise_scores, self.log_q[target],
                        self.log_q[noise].expand_as(noise_scores), reduction=reduction)


class SampledSoftmax(_SampledOutput):
    """Output layer trained by sampled softmax (Jean et al. 2015) with the log-q correction.

    ``forward(h, target)`` computes cross-entropy over the target and ``k`` noise classes shared by the
    batch, each logit corrected by ``− log(k q(c))``; noise samples equal to an example's target
    ("accidental hits") are masked out.
    """

    def forward(self, h: Tensor, target: Tensor, *, generator: torch.Generator | None = None,
                reduction: str = "mean") -> Tensor:
        self._check_inputs(h, target)
        noise = self.sampler.sample((self.k,), generator)
        log_k = math.log(self.k)
        true = (h * self.weight[target]).sum(-1) + self.bias[target] - log_k - self.log_q[target]
        sampled = h @ self.weight[noise].T + self.bias[noise] - log_k - self.log_q[noise]
        sampled = sampled.masked_fill(noise.unsqueeze(0) == target.unsqueeze(1), float("-inf"))
        logits = torch.cat([true.unsqueeze(1), sampled], dim=1)
        loss = -F.log_softmax(logits, dim=-1)[:, 0]
        return reduce_loss(loss, reduction)


class NegativeSamplingLinear(_SampledOutput):
    """Output layer trained by word2vec's negative sampling (no ``log k q`` term in the logit).

    Its scores converge to ``log p(c|h) − log(k q(c))`` rather than to ``log p``: the full softmax of the
    raw scores is therefore *not* the model's distribution; ``corrected_log_probs`` adds ``log k q``
    back before normalising.
    """

    def forward(self, h: Tensor, target: Tensor, *, generator: torch.Generator | None = None,
                reduction: str = "mean") -> Tensor:
        self._check_inputs(h, target)
        noise = self.sampler.sample((self.k,), generator)
        data_scores = (h * self.weight[target]).sum(-1) + self.bias[target]
        noise_scores = h @ self.weight[noise].T + self.bias[noise]
        return negative_sampling_loss(data_scores, noise_scores, reduction=reduction)

    def corrected_log_probs(self, h: Tensor) -> Tensor:
        """Softmax of ``score + log(k q)``: undoes the shift of the negative-sampling optimum."""
        return F.log_softmax(self.logits(h) + math.log(self.k) + self.log_q, dim=-1)


OUTPUTS = ("softmax", "nce", "ns", "sampled")


def ngram_data(sentences: Sequence[Sequence[str]], vocab: Sequence[str], order: int = 3) -> tuple[Tensor, Tensor]:
    """(contexts [N, order−1], targets [N]) int64 for an n-gram language model over ``vocab``.

    Words outside ``vocab`` map to index ``len(vocab)`` (``<unk>``); each sentence is padded on the left
    with ``len(vocab) + 1`` (``<s>``) and ends with a target ``<unk>``-free end marker ``len(vocab) + 2``
    (``</s>``): the model's vocabulary has ``len(vocab) + 3`` classes.
    """
    check_int(order, "order", low=2)
    index = {w: i for i, w in enumerate(vocab)}
    unk, bos, eos = len(vocab), len(vocab) + 1, len(vocab) + 2
    ctx, tgt = [], []
    for s in sentences:
        ids = [bos] * (order - 1) + [index.get(w, unk) for w in s] + [eos]
        for i in range(order - 1, len(ids)):
            ctx.append(ids[i - order + 1:i])
            tgt.append(ids[i])
    return torch.tensor(ctx, dtype=torch.long).view(-1, order - 1), torch.tensor(tgt, dtype=torch.long)


class NGramLM(nn.Module):
    """A feed-forward n-gram language model (Bengio et al. 2003) with a choice of output layer.

    ``order − 1`` context words → embeddings of size ``dim`` (concatenated) → tanh layer of size
    ``hidden`` → output over ``num_classes`` classes, trained by ``output``:
    ``"softmax"`` (exact cross-entropy), ``"nce"`` (:class:`NCELinear`, learned log Z),
    ``"ns"`` (:class:`NegativeSamplingLinear`) or ``"sampled"`` (:class:`SampledSoftmax`), the last three
    with ``k`` noise classes from ``noise`` (e.g. unigram counts).
    """

    def __init__(self, num_classes: int, order: int = 3, dim: int = 64, hidden: int = 128,
                 output: str = "softmax", noise: Tensor | None = None, k: int = 64) -> None:
        super().__init__()
        from ._checks import check_choice

        check_int(num_classes, "num_classes", low=2)
        check_int(order, "order", low=2)
        check_int(dim, "dim", low=1)
        check_int(hidden, "hidden", low=1)
        check_choice(output, "output", OUTPUTS)
        self.output = output
        self.embed = nn.Embedding(num_classes, dim)
        self.hidden = nn.Linear((order - 1) * dim, hidden)
        if output == "softmax":
            self.out = nn.Linear(hidden, num_classes)
        else:
            if noise is None:
                raise ValueError(f"noise must be given for output={output!r}")
            if output == "nce":  # start log Z at its value for the initial, near-uniform model
                self.out = NCELinear(hidden, num_classes, noise, k, log_z=math.log(num_classes))
            else:
                layer = {"ns": NegativeSamplingLinear, "sampled": SampledSoftmax}[output]
                self.out = layer(hidden, num_classes, noise, k)

    def features(self, contexts: Tensor) -> Tensor:
        check_tensor(contexts, "contexts", kind="int", ndim=2)
        return torch.tanh(self.hidden(self.embed(contexts).flatten(1)))

    def forward(self, contexts: Tensor, targets: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Training loss (mean over the batch)."""
        h = self.features(contexts)
        if self.output == "softmax":
            return F.cross_entropy(self.out(h), targets)
        return self.out(h, targets, generator=generator)

    def log_probs(self, contexts: Tensor) -> Tensor:
        """Exact log-probabilities with the full softmax over all classes [B, C]."""
        h = self.features(contexts)
        if self.output == "softmax":
            return F.log_softmax(self.out(h), dim=-1)
        return self.out.log_probs(h)


def perplexity(model: NGramLM, contexts: Tensor, targets: Tensor, batch_size: int = 4096,
               corrected: bool = False) -> float:
    """Exact test perplexity ``exp(mean −log p(target))`` with the full softmax.

    ``corrected=True`` (negative sampling only) uses :meth:`NegativeSamplingLinear.corrected_log_probs`.
    """
    check_tensor(targets, "targets", kind="int", ndim=1, shape=(contexts.shape[0],))
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(targets), batch_size):
            c, t = contexts[s:s + batch_size], targets[s:s + batch_size]
            if corrected:
                if model.output != "ns":
                    raise ValueError("corrected=True applies to output='ns' only")
                lp = model.out.corrected_log_probs(model.features(c))
            else:
                lp = model.log_probs(c)
            total += -lp.gather(1, t.unsqueeze(1)).sum().item()
    return math.exp(total / len(targets))


def train_lm(model: NGramLM, contexts: Tensor, targets: Tensor, *, steps: int, batch_size: int = 512,
             lr: float = 2e-3, seed: int = 0, progress: bool = True) -> dict[str, float]:
    """Train with Adam for ``steps`` minibatches drawn with replacement; returns
    ``{"seconds", "tokens_per_s", "final_loss"}`` (wall-clock of the training loop only)."""
    import time

    from tqdm import tqdm

    check_int(steps, "steps", low=1)
    check_int(batch_size, "batch_size", low=1)
    check_tensor(targets, "targets", kind="int", ndim=1, shape=(contexts.shape[0],))
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss = torch.tensor(float("nan"))
    t0 = time.perf_counter()
    for _ in tqdm(range(steps), desc=f"train ({model.output})", disable=not progress):
        idx = torch.randint(len(targets), (batch_size,), generator=g)
        opt.zero_grad()
        loss = model(contexts[idx], targets[idx], generator=g)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "tokens_per_s": steps * batch_size / seconds, "final_loss": float(loss.detach())}
