"""Focal loss and its precursors: hard truncation and the softened gate (chapter: notebooks/01-focal-loss.ipynb).

Source: Su Jianlin, 《从loss的硬截断、软化到focal loss》, https://kexue.fm/archives/4733 (2017-12-25),
and Lin et al., "Focal Loss for Dense Object Detection" (ICCV 2017).

Conventions
-----------
* ``logits`` are unnormalised scores ``x``; ``p = σ(x)`` (binary) or ``p = softmax(x)`` (multi-class).
* Every loss is computed in log space (``F.logsigmoid`` / ``F.log_softmax``), so values and gradients
  stay finite for float32 logits of magnitude up to 1e4 and beyond. Non-finite *inputs* are not
  rejected (as in ``F.cross_entropy``): NaN in gives NaN out.
* Binary functions take ``targets`` of the same shape as ``logits`` with values in ``[0, 1]``
  (floating dtype); multi-class functions take ``F.cross_entropy``'s shapes: logits ``[N, C]`` or
  ``[N, C, d1, ...]`` and an integer ``target`` ``[N]`` or ``[N, d1, ...]`` with values in ``[0, C)``.
* ``reduction`` is ``"none"`` (per-element loss, the shape of ``targets``/``target``), ``"mean"``
  (plain average over elements) or ``"sum"``.

The binary losses for a hard label ``y`` (``p_t`` the probability given to the true label):

==========================  ==========================================================
``binary_focal_loss``        ``-α_t (1 - p_t)^γ log p_t``                (Lin et al.)
``hard_truncated_loss``      ``-λ(y, p) log p_t`` with the 0/1 gate λ of threshold ``m``
``softened_loss``            ``-σ(-K x) log σ(x)`` (y=1), ``-σ(K x) log σ(-x)`` (y=0)
==========================  ==========================================================

and the multi-class versions: ``focal_loss`` (softmax focal loss), ``softmax_softened_loss`` with
the article's weight ``[softmax(-K x)]_t`` (``article_softened_weight``) or a reader's alternative
``1 - [softmax(K x)]_t`` (``reader_softened_weight``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import check_choice, check_number, check_reduction, check_same_shape, check_tensor, check_type
from .utils import reduce_loss

__all__ = [
    "binary_focal_loss",
    "focal_loss",
    "hard_truncated_loss",
    "softened_loss",
    "article_softened_weight",
    "reader_softened_weight",
    "softmax_softened_loss",
    "focal_grad",
]


# ----------------------------------------------------------------------------------------- checks
def _check_binary(logits: Tensor, targets: Tensor) -> bool:
    """Validate a binary (logits, targets) pair; return True if every target is exactly 0 or 1."""
    check_tensor(logits, "logits", kind="float")
    check_tensor(targets, "targets", kind="float")
    check_same_shape(logits, targets, "logits", "targets")
    if bool(((targets == 0) | (targets == 1)).all()):
        return True
    if bool((targets < 0).any()) or bool((targets > 1).any()) or bool(targets.isnan().any()):
        raise ValueError("targets must have values in [0, 1]")
    return False


def _check_multiclass(logits: Tensor, target: Tensor) -> None:
    check_tensor(logits, "logits", kind="float", min_ndim=2)
    check_tensor(target, "target", kind="int")
    want = (logits.shape[0], *logits.shape[2:])
    if tuple(target.shape) != want:
        raise ValueError(f"target must have shape {want} for logits of shape {tuple(logits.shape)}, "
                         f"got {tuple(target.shape)}")
    if logits.shape[1] < 1:
        raise ValueError("logits must have at least one class (dimension 1)")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= logits.shape[1]):
        raise ValueError(f"target must have values in [0, {logits.shape[1]}) (the number of classes)")


def _class_alpha(alpha, logits: Tensor) -> Tensor | None:
    if alpha is None:
        return None
    check_type(alpha, "alpha", (Tensor, Sequence))
    if isinstance(alpha, Tensor):
        check_tensor(alpha, "alpha", ndim=1)
        if alpha.dtype == torch.bool or alpha.is_complex():
            raise TypeError(f"alpha must have a real dtype, got {alpha.dtype}")
        a = alpha.to(dtype=logits.dtype, device=logits.device)
    else:
        if isinstance(alpha, str):
            raise TypeError("alpha must be a sequence of numbers or a tensor, got str")
        for i, v in enumerate(alpha):
            check_number(v, f"alpha[{i}]", low=0)
        a = torch.tensor([float(v) for v in alpha], dtype=logits.dtype, device=logits.device)
    if a.numel() != logits.shape[1]:
        raise ValueError(f"alpha must have one weight per class ({logits.shape[1]}), got {a.numel()}")
    if not bool(torch.isfinite(a).all()) or bool((a < 0).any()):
        raise ValueError("alpha must contain finite, non-negative weights")
    return a


def _log_one_minus_pt_binary(logits: Tensor, targets: Tensor) -> Tensor:
    """``log(1 - p_t)`` with ``1 - p_t = y σ(-x) + (1 - y) σ(x)`` (torchvision's ``p_t``), in log space."""
    # log y = -inf for y = 0 (and log1p(-y) = -inf for y = 1) only enter logaddexp, which handles them.
    return torch.logaddexp(torch.log(targets) + F.logsigmoid(-logits), torch.log1p(-targets) + F.logsigmoid(logits))


# ------------------------------------------------------------------------------------ binary losses
def binary_focal_loss(logits: Tensor, targets: Tensor, gamma: float = 2.0, alpha: float | None = None,
                      reduction: str = "mean") -> Tensor:
    """Sigmoid focal loss ``-α_t (1 - p_t)^γ [y log p + (1 - y) log(1 - p)]``, ``p = σ(logits)``.

    Shapes: ``logits`` any shape; ``targets`` the same shape, floating dtype, values in ``[0, 1]``
    (soft labels allowed: ``p_t = p y + (1 - p)(1 - y)`` as in torchvision). ``alpha`` is ``None``
    (no weighting) or a float in ``[0, 1]``: positives weighted by ``α``, negatives by ``1 - α``
    (``α_t = α y + (1 - α)(1 - y)``). With ``gamma=0, alpha=None`` this is
    ``F.binary_cross_entropy_with_logits``.

    Raises TypeError for non-tensors or non-float dtypes; ValueError if the shapes differ, targets
    leave ``[0, 1]``, ``gamma < 0``, ``alpha`` is outside ``[0, 1]`` or ``reduction`` is unknown.
    """
    hard = _check_binary(logits, targets)
    check_number(gamma, "gamma", low=0)
    if alpha is not None:
        check_number(alpha, "alpha", low=0, high=1)
    check_reduction(reduction)
    if hard:  # y ∈ {0, 1}: with s = (1 - 2y) x,  log p_t = log σ(-s)  and  log(1 - p_t) = log σ(s)
        s = logits * (1 - 2 * targets)
        ce = -F.logsigmoid(-s)
        loss = ce if gamma == 0 else torch.exp(gamma * F.logsigmoid(s)) * ce
    else:
        ce = -(targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits))
        loss = ce if gamma == 0 else torch.exp(gamma * _log_one_minus_pt_binary(logits, targets)) * ce
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return reduce_loss(loss, reduction)


def hard_truncated_loss(logits: Tensor, targets: Tensor, m: float = 0.6, reduction: str = "mean") -> Tensor:
    """The precursor's threshold loss ``λ(y, p) · BCE`` (kexue.fm/archives/4293).

    ``λ = 1 - θ(y - m) θ(p - m) - θ(1 - m - y) θ(1 - m - p)`` with the unit step ``θ`` (``θ(0) = 1/2``):
    a positive stops contributing once ``p > m``, a negative once ``p < 1 - m``. The comparisons
    with ``p = σ(x)`` are made in logit space (``p > m`` ⇔ ``x > log(m / (1 - m))``), so the loss
    is exact for any logit. ``m=0.5`` is the form used in kexue.fm/archives/4733.

    Shapes as :func:`binary_focal_loss`. Raises ValueError if ``m`` is outside ``[0.5, 1)``, and
    for the same bad inputs as :func:`binary_focal_loss`.
    """
    _check_binary(logits, targets)
    check_number(m, "m", low=0.5, high=1, high_inclusive=False)
    check_reduction(reduction)
    margin = math.log(m / (1 - m))
    half = torch.tensor(0.5, dtype=logits.dtype, device=logits.device)
    step = lambda t: torch.heaviside(t, half)  # noqa: E731
    gate = 1 - step(targets - m) * step(logits.detach() - margin) - step(1 - m - targets) * step(-margin - logits.detach())
    ce = -(targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits))
    return reduce_loss(gate * ce, reduction)


def softened_loss(logits: Tensor, targets: Tensor, K: float = 1.0, reduction: str = "mean") -> Tensor:
    """The article's softened gate: ``-σ(-K x) log σ(x)`` for ``y=1``, ``-σ(K x) log σ(-x)`` for ``y=0``.

    The unit step of :func:`hard_truncated_loss` (``m = 0.5``) is replaced by ``σ(±K x)``; the gradient
    flows through the gate too. Soft targets mix the two branches linearly. With ``K=1`` and hard
    targets this equals ``binary_focal_loss(gamma=1)``; as ``K → ∞`` it tends to the hard truncation at
    ``m = 0.5``.

    Shapes as :func:`binary_focal_loss`. Raises ValueError if ``K < 0``, and for the same bad
    inputs as :func:`binary_focal_loss`.
    """
    _check_binary(logits, targets)
    check_number(K, "K", low=0)
    check_reduction(reduction)
    log_pos, log_neg = F.logsigmoid(logits), F.logsigmoid(-logits)
    pos = -torch.exp(F.logsigmoid(-K * logits)) * log_pos
    neg = -torch.exp(F.logsigmoid(K * logits)) * log_neg
    return reduce_loss(targets * pos + (1 - targets) * neg, reduction)


# ------------------------------------------------------------------------------- softmax focal loss
class _SoftmaxFocal(torch.autograd.Function):
    """``-(1 - p_t)^γ log p_t`` per element, with a hand-derived backward (one pass over the logits).

    With ``u = 1 - p_t`` and ``ℓ = log p_t``:  ``∂L/∂x_j = g (δ_jt - p_j)``,
    ``g = γ p_t u^γ (ℓ / u) - u^γ``, where ``ℓ / u → -1`` as ``u → 0`` (so the gradient stays finite for
    every ``γ ≥ 0``, including ``0 < γ < 1`` where ``d(1-p)^γ/dp`` itself is infinite at ``p = 1``).
    """

    @staticmethod
    def forward(ctx, logits: Tensor, target: Tensor, gamma: float) -> Tensor:
        logp = F.log_softmax(logits, dim=1)
        idx = target.unsqueeze(1)
        logpt = logp.gather(1, idx).squeeze(1)
        if gamma == 0:
            loss = -logpt
            w = None
            u = None
        else:
            u = (-torch.expm1(logpt)).clamp_(min=0)
            w = u.pow(gamma)
            loss = -w * logpt
        ctx.gamma = gamma
        ctx.save_for_backward(logp, idx, logpt, u, w)
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):
        logp, idx, logpt, u, w = ctx.saved_tensors
        gamma = ctx.gamma
        if gamma == 0:
            g = -torch.ones_like(logpt)
        else:
            ratio = torch.where(u > 0, logpt / torch.where(u > 0, u, torch.ones_like(u)), -torch.ones_like(u))
            g = gamma * torch.exp(logpt) * w * ratio - w
        coef = (grad_out * g).unsqueeze(1)
        grad = logp.exp().mul_(-coef)
        grad.scatter_add_(1, idx, coef)
        return grad, None, None


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 2.0, alpha: Tensor | Sequence[float] | None = None,
               reduction: str = "mean") -> Tensor:
    """Softmax focal loss ``-α_t (1 - p_t)^γ log p_t`` with ``p = softmax(logits, dim=1)``.

    Shapes: ``logits`` ``[N, C]`` or ``[N, C, d1, ...]`` (float); ``target`` ``[N]`` or ``[N, d1, ...]``
    (integer dtype, values in ``[0, C)``); result ``[N, d1, ...]`` for ``reduction="none"``.
    ``alpha`` is ``None`` or ``C`` non-negative class weights (sequence or 1-D tensor), applied as
    ``alpha[target]``. With ``gamma=0, alpha=None`` this equals ``F.cross_entropy``. Note that
    ``"mean"`` is the plain mean over elements (torchvision/kornia's convention), not
    ``F.cross_entropy(weight=...)``'s division by the summed weights; ``"none"`` and ``"sum"`` agree
    with ``F.cross_entropy(weight=alpha)`` at ``gamma=0``.

    The backward pass is hand-derived (see ``_SoftmaxFocal``); double backward is not supported.

    Raises TypeError for non-tensors, a non-float ``logits`` or non-integer ``target``; ValueError
    for mismatched shapes, targets outside ``[0, C)``, ``gamma < 0``, a wrong-length or negative
    ``alpha`` or an unknown ``reduction``.
    """
    _check_multiclass(logits, target)
    check_number(gamma, "gamma", low=0)
    a = _class_alpha(alpha, logits)
    check_reduction(reduction)
    loss = _SoftmaxFocal.apply(logits, target.long(), float(gamma))
    if a is not None:
        loss = a[target] * loss
    return reduce_loss(loss, reduction)


def focal_grad(logits: Tensor, target: Tensor, gamma: float = 2.0) -> Tensor:
    """Closed-form ``∂/∂logits`` of the per-element softmax focal loss (no α, no reduction).

    ``∂L/∂x_j = (γ p_t (1 - p_t)^{γ-1} log p_t - (1 - p_t)^γ)(δ_jt - p_j)``. Shapes as
    :func:`focal_loss`; returns a tensor shaped like ``logits``. Meant for checks and teaching;
    computed directly from the formula (exact for moderate logits, not for saturated ones).
    """
    _check_multiclass(logits, target)
    check_number(gamma, "gamma", low=0)
    p = torch.softmax(logits, dim=1)
    idx = target.long().unsqueeze(1)
    pt = p.gather(1, idx)
    u = 1 - pt
    g = gamma * pt * u.pow(gamma - 1) * torch.log(pt) - u.pow(gamma) if gamma != 0 else -torch.ones_like(pt)
    onehot = torch.zeros_like(p).scatter_(1, idx, 1.0)
    return g * (onehot - p)


# -------------------------------------------------------------------------- multi-class softening
def article_softened_weight(logits: Tensor, target: Tensor, K: float = 1.0) -> Tensor:
    """The article's multi-class gate ``[softmax(-K x)]_t`` (the ``t``-th component of the softmax of ``-K x``).

    Shapes as :func:`focal_loss`; returns ``[N, d1, ...]``. For two classes it equals
    ``σ(-K (x_t - x_other))``, the binary gate of :func:`softened_loss`. Its size is set by the
    *smallest* logit, so a misclassified target that is the runner-up can get a near-zero weight.
    Raises ValueError if ``K < 0`` and for the bad inputs of :func:`focal_loss`.
    """
    _check_multiclass(logits, target)
    check_number(K, "K", low=0)
    return F.log_softmax(-K * logits, dim=1).gather(1, target.long().unsqueeze(1)).squeeze(1).exp()


def _log_reader_weight(logits: Tensor, target: Tensor, K: float) -> Tensor:
    z = K * logits
    idx = target.long().unsqueeze(1)
    others = z.scatter(1, idx, float("-inf"))
    if logits.shape[1] == 1:  # a single class: 1 - p_t = 0
        return torch.full_like(target, float("-inf"), dtype=logits.dtype)
    return torch.logsumexp(others, dim=1) - torch.logsumexp(z, dim=1)


def reader_softened_weight(logits: Tensor, target: Tensor, K: float = 1.0) -> Tensor:
    """A reader's alternative gate ``1 - [softmax(K x)]_t``, computed as ``exp(lse_{j≠t}(Kx_j) - lse_j(Kx_j))``.

    Shapes as :func:`focal_loss`; returns ``[N, d1, ...]``. Also reduces to ``σ(-K (x_t - x_other))``
    for two classes; at ``K = 1`` it is focal loss's ``1 - p_t``. Raises ValueError if ``K < 0`` and
    for the bad inputs of :func:`focal_loss`.
    """
    _check_multiclass(logits, target)
    check_number(K, "K", low=0)
    return _log_reader_weight(logits, target, K).exp()


def softmax_softened_loss(logits: Tensor, target: Tensor, K: float = 1.0, weight: str = "article",
                          reduction: str = "mean") -> Tensor:
    """Multi-class softened loss ``-w_t log p_t`` with ``w`` the article's or the reader's gate.

    ``weight="article"``: ``w_t = [softmax(-K x)]_t`` (eq. A14 of the chapter);
    ``weight="reader"``: ``w_t = 1 - [softmax(K x)]_t``. The gradient flows through the weight, as
    in the binary :func:`softened_loss`, to which both reduce for two classes. Shapes as
    :func:`focal_loss`. Raises ValueError for an unknown ``weight``, ``K < 0`` and the bad inputs of
    :func:`focal_loss`.
    """
    _check_multiclass(logits, target)
    check_number(K, "K", low=0)
    check_choice(weight, "weight", ("article", "reader"))
    check_reduction(reduction)
    idx = target.long().unsqueeze(1)
    logpt = F.log_softmax(logits, dim=1).gather(1, idx).squeeze(1)
    if weight == "article":
        logw = F.log_softmax(-K * logits, dim=1).gather(1, idx).squeeze(1)
    else:
        logw = _log_reader_weight(logits, target, K)
    return reduce_loss(-torch.exp(logw) * logpt, reduction)
