"""Tests for kexue.focal: identities, limits, an independent float64 reference, gradients, extremes, bad input."""

import math

import mpmath as mp
import pytest
import torch
import torch.nn.functional as F

from kexue.focal import (
    article_softened_weight,
    binary_focal_loss,
    focal_grad,
    focal_loss,
    hard_truncated_loss,
    reader_softened_weight,
    softened_loss,
    softmax_softened_loss,
)

GAMMAS = [0.0, 0.5, 1.0, 2.0, 5.0]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def torchvision_formula(x, y, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss (reduction='none') as documented, evaluated with 40-digit mpmath.

    p = σ(x); ce = BCE(x, y); p_t = p y + (1 - p)(1 - y); loss = ce (1 - p_t)^γ; times α_t if α ≥ 0.
    High precision makes the formula's 1 - p_t cancellation harmless, so this is an exact reference.
    """
    mp.mp.dps = 40
    out = []
    for xi, yi in zip(x.double().tolist(), y.double().tolist()):
        xi, yi = mp.mpf(xi), mp.mpf(yi)
        p = 1 / (1 + mp.exp(-xi))
        ce = -(yi * mp.log(p) + (1 - yi) * mp.log(1 - p))
        p_t = p * yi + (1 - p) * (1 - yi)
        loss = ce * (1 - p_t) ** gamma
        if alpha >= 0:
            loss *= alpha * yi + (1 - alpha) * (1 - yi)
        out.append(float(loss))
    return torch.tensor(out, dtype=torch.float64)


# ---------------------------------------------------------------------------------------- identities
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_binary_gamma0_is_bce(reduction):
    x = 3 * torch.randn(4, 5, 6, generator=_gen())
    y = torch.rand(4, 5, 6, generator=_gen(1))  # soft labels too
    y[0] = (y[0] > 0.5).float()
    ours = binary_focal_loss(x, y, gamma=0.0, reduction=reduction)
    ref = F.binary_cross_entropy_with_logits(x, y, reduction=reduction)
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("shape", [(32, 7), (4, 7, 3, 5), (1, 1)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_focal_gamma0_is_cross_entropy(shape, reduction):
    x = (4 * torch.randn(*shape, generator=_gen())).requires_grad_()
    t = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=_gen(1))
    ours = focal_loss(x, t, gamma=0.0, reduction=reduction)
    ref = F.cross_entropy(x, t, reduction=reduction)
    torch.testing.assert_close(ours, ref)
    (g1,) = torch.autograd.grad(ours.sum(), x)
    (g2,) = torch.autograd.grad(ref.sum(), x)
    torch.testing.assert_close(g1, g2)


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_focal_alpha_gamma0_is_weighted_cross_entropy(reduction):
    x = torch.randn(50, 4, generator=_gen())
    t = torch.randint(0, 4, (50,), generator=_gen(1))
    w = [0.1, 2.0, 0.5, 1.0]
    torch.testing.assert_close(focal_loss(x, t, gamma=0.0, alpha=w, reduction=reduction),
                               F.cross_entropy(x, t, weight=torch.tensor(w), reduction=reduction))
    # "mean" is the plain mean over elements (not divided by the summed weights)
    torch.testing.assert_close(focal_loss(x, t, gamma=0.0, alpha=torch.tensor(w), reduction="mean"),
                               F.cross_entropy(x, t, weight=torch.tensor(w), reduction="sum") / 50)


def test_softened_K1_is_focal_gamma1():
    x = (5 * torch.randn(200, generator=_gen())).requires_grad_()
    y = (torch.rand(200, generator=_gen(1)) < 0.3).float()
    a = softened_loss(x, y, K=1.0, reduction="none")
    b = binary_focal_loss(x, y, gamma=1.0, reduction="none")
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(torch.autograd.grad(a.sum(), x)[0], torch.autograd.grad(b.sum(), x)[0])


def test_softened_large_K_tends_to_hard_truncation():
    x = torch.tensor([-3.0, -0.5, -0.1, 0.1, 0.5, 3.0])
    for y in (torch.ones(6), torch.zeros(6)):
        torch.testing.assert_close(softened_loss(x, y, K=500.0, reduction="none"),
                                   hard_truncated_loss(x, y, m=0.5, reduction="none"), atol=1e-6, rtol=0)


# ------------------------------------------------------------------------------ independent reference
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_binary_matches_torchvision_formula(gamma, alpha, dtype):
    x = torch.linspace(-30, 30, 61, dtype=dtype)
    for y in (torch.ones_like(x), torch.zeros_like(x), torch.full_like(x, 0.3)):
        ours = binary_focal_loss(x, y, gamma=gamma, alpha=alpha, reduction="none")
        ref = torchvision_formula(x, y, alpha=-1 if alpha is None else alpha, gamma=gamma)
        tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(ours.double(), ref, **tol)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_softmax_focal_matches_float64_formula_and_autograd(gamma):
    x = (3 * torch.randn(64, 6, generator=_gen(), dtype=torch.float64)).requires_grad_()
    t = torch.randint(0, 6, (64,), generator=_gen(1))
    alpha = torch.rand(6, generator=_gen(2), dtype=torch.float64)
    ours = focal_loss(x, t, gamma=gamma, alpha=alpha, reduction="none")
    p = torch.softmax(x, dim=1)[torch.arange(64), t]
    ref = -alpha[t] * (1 - p) ** gamma * torch.log(p)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-14)
    v = torch.randn(64, generator=_gen(3), dtype=torch.float64)  # a random cotangent
    (g_ours,) = torch.autograd.grad((ours * v).sum(), x)
    (g_ref,) = torch.autograd.grad((ref * v).sum(), x)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_softmax_focal_gradcheck_and_closed_form(gamma):
    x = torch.randn(2, 3, 2, generator=_gen(), dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 3, (2, 2), generator=_gen(1))
    assert torch.autograd.gradcheck(lambda z: focal_loss(z, t, gamma=gamma, reduction="none"), (x,))
    (g,) = torch.autograd.grad(focal_loss(x, t, gamma=gamma, reduction="sum"), x)
    torch.testing.assert_close(g, focal_grad(x, t, gamma=gamma), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_binary_gradient_matches_hand_derived(gamma):
    # y=1: d/dx [-σ(-x)^γ log σ(x)] = γ σ(-x)^γ σ(x) log σ(x) - σ(-x)^{γ+1};  y=0 mirrors it (x -> -x).
    x = torch.linspace(-8, 8, 161, dtype=torch.float64, requires_grad=True)
    for y, s in ((1.0, 1.0), (0.0, -1.0)):
        loss = binary_focal_loss(x, torch.full_like(x, y), gamma=gamma, reduction="sum")
        (g,) = torch.autograd.grad(loss, x)
        z = (s * x).detach()
        sp, sn = torch.sigmoid(z), torch.sigmoid(-z)
        hand = s * (gamma * sn**gamma * sp * torch.log(sp) - sn ** (gamma + 1))
        torch.testing.assert_close(g, hand, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("K", [0.5, 1.0, 2.0, 5.0])
def test_softened_gradient_matches_A8(K):
    x = torch.linspace(-8, 8, 161, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(softened_loss(x, torch.ones_like(x), K=K, reduction="sum"), x)
    xd = x.detach()
    s = torch.sigmoid
    a8 = -s(-K * xd) * s(-xd) + K * s(K * xd) * s(-K * xd) * torch.log(s(xd))
    torch.testing.assert_close(g, a8, rtol=1e-10, atol=1e-12)
    assert bool((g < 0).all())  # descent always increases x for a positive


def test_hard_truncation_gate():
    m = 0.6
    thr = math.log(m / (1 - m))
    x = torch.tensor([-2.0, 0.0, thr - 1e-3, thr + 1e-3, 3.0], dtype=torch.float64, requires_grad=True)
    ce_pos = F.softplus(-x.detach())
    loss = hard_truncated_loss(x, torch.ones_like(x), m=m, reduction="none")
    torch.testing.assert_close(loss, torch.cat([ce_pos[:3], torch.zeros(2, dtype=torch.float64)]))
    (g,) = torch.autograd.grad(loss.sum(), x)
    assert bool((g[3:] == 0).all()) and bool((g[:3] < 0).all())  # zero-gradient plateau (A5)
    # negatives: switched off once p < 1 - m, i.e. x < -thr
    neg = hard_truncated_loss(-x.detach(), torch.zeros_like(x), m=m, reduction="none")
    torch.testing.assert_close(neg, loss.detach())
    # theta(0) = 1/2 at m = 0.5 exactly at the boundary
    half = hard_truncated_loss(torch.zeros(1), torch.ones(1), m=0.5, reduction="none")
    torch.testing.assert_close(half, torch.tensor([0.5 * math.log(2)]))


# ------------------------------------------------------------------------------------ multi-class gates
def test_article_and_reader_weights_reference_numbers():
    x = torch.tensor([[2.0, 1.9, -5.0]], dtype=torch.float64)
    t = torch.tensor([1])
    assert abs(torch.softmax(x, 1)[0, 1].item() - 0.4748) < 5e-5
    assert abs(article_softened_weight(x, t, K=1.0).item() - 0.00101) < 5e-6
    assert abs(article_softened_weight(x, t, K=2.0).item() - 1.0e-6) < 5e-8
    assert abs(reader_softened_weight(x, t, K=1.0).item() - 0.525) < 5e-4
    assert abs(reader_softened_weight(x, t, K=2.0).item() - 0.550) < 5e-4
    assert abs((1 - torch.softmax(x, 1)[0, 1]).item() ** 2 - 0.276) < 5e-4


def test_multiclass_weights_reduce_to_binary_gate():
    x = 4 * torch.randn(100, 2, generator=_gen(), dtype=torch.float64)
    t = torch.randint(0, 2, (100,), generator=_gen(1))
    margin = x[torch.arange(100), t] - x[torch.arange(100), 1 - t]
    for K in (0.5, 1.0, 3.0):
        gate = torch.sigmoid(-K * margin)
        torch.testing.assert_close(article_softened_weight(x, t, K=K), gate)
        torch.testing.assert_close(reader_softened_weight(x, t, K=K), gate)
    # and the whole loss reduces to the binary softened loss of the logit difference
    d = (x[:, 1] - x[:, 0]).requires_grad_()
    xx = torch.stack([torch.zeros_like(d), d], dim=1)
    for weight in ("article", "reader"):
        a = softmax_softened_loss(xx, t, K=2.0, weight=weight, reduction="none")
        b = softened_loss(d, t.double(), K=2.0, reduction="none")
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(torch.autograd.grad(a.sum(), d)[0], torch.autograd.grad(b.sum(), d)[0])


def test_article_weight_uniform_is_one_over_C():
    for C in (2, 5, 10):
        w = article_softened_weight(torch.zeros(3, C), torch.tensor([0, 1, C - 1]), K=1.7)
        torch.testing.assert_close(w, torch.full((3,), 1 / C))


def test_reader_weight_K1_is_focal_modulator():
    x = torch.randn(30, 5, generator=_gen(), dtype=torch.float64)
    t = torch.randint(0, 5, (30,), generator=_gen(1))
    torch.testing.assert_close(reader_softened_weight(x, t, K=1.0), 1 - torch.softmax(x, 1)[torch.arange(30), t])


# --------------------------------------------------------------------------------------- extremes
BIG = [-1e4, -1e3, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1e3, 1e4]


@pytest.mark.parametrize("gamma", GAMMAS)
def test_binary_extreme_logits_finite(gamma):
    x = torch.tensor(BIG * 2, dtype=torch.float32, requires_grad=True)
    y = torch.tensor([1.0] * len(BIG) + [0.0] * len(BIG))
    for fn in (lambda: binary_focal_loss(x, y, gamma=gamma, alpha=0.25, reduction="none"),
               lambda: binary_focal_loss(x, y, gamma=gamma, reduction="none"),
               lambda: softened_loss(x, y, K=gamma + 0.5, reduction="none"),
               lambda: hard_truncated_loss(x, y, reduction="none")):
        loss = fn()
        (g,) = torch.autograd.grad(loss.sum(), x)
        assert bool(torch.isfinite(loss).all()) and bool(torch.isfinite(g).all())
    # a confidently wrong positive costs its logit (BCE = softplus(-x)); a confident right one ~ 0
    ce = binary_focal_loss(x, y, gamma=0.0, reduction="none")
    assert ce[0].item() == pytest.approx(1e4) and ce[len(BIG) - 1].item() == 0.0
    # kornia #2115 regression: logit 100, y = 1 is finite and ~0
    assert binary_focal_loss(torch.tensor([100.0]), torch.tensor([1.0])).item() == 0.0


@pytest.mark.parametrize("gamma", GAMMAS)
def test_softmax_extreme_logits_finite(gamma):
    rows = [[v, 0.0, -v] for v in BIG] + [[v, v, 0.0] for v in BIG]
    x = torch.tensor(rows, dtype=torch.float32, requires_grad=True)
    t = torch.tensor([0, 1, 2] * (len(rows) // 3) + [0] * (len(rows) % 3))
    for fn in (lambda: focal_loss(x, t, gamma=gamma, alpha=[0.2, 1.0, 3.0], reduction="none"),
               lambda: softmax_softened_loss(x, t, K=gamma + 0.5, weight="article", reduction="none"),
               lambda: softmax_softened_loss(x, t, K=gamma + 0.5, weight="reader", reduction="none")):
        loss = fn()
        (g,) = torch.autograd.grad(loss.sum(), x)
        assert bool(torch.isfinite(loss).all()) and bool(torch.isfinite(g).all())
    # a confidently right sample at gamma < 1 has exactly zero focal gradient (no 0 * inf)
    xr = torch.tensor([[1e4, 0.0, -1e4]], requires_grad=True)
    (g,) = torch.autograd.grad(focal_loss(xr, torch.tensor([0]), gamma=gamma), xr)
    assert bool((g == 0).all())
    # and a confidently wrong one costs the logit gap
    wrong = focal_loss(torch.tensor([[1e4, 0.0]]), torch.tensor([1]), gamma=gamma)
    assert wrong.item() == pytest.approx(1e4)


def test_float32_matches_float64_moderate_logits():
    x = 10 * torch.randn(256, 10, generator=_gen(), dtype=torch.float64)
    t = torch.randint(0, 10, (256,), generator=_gen(1))
    for gamma in GAMMAS:
        a = focal_loss(x.float(), t, gamma=gamma, reduction="none").double()
        b = focal_loss(x, t, gamma=gamma, reduction="none")
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# -------------------------------------------------------------------------------------- bad input
X2, Y2 = torch.zeros(3, 4), torch.zeros(3, 4)
XC, TC = torch.zeros(3, 4), torch.zeros(3, dtype=torch.long)

BINARY = [binary_focal_loss, hard_truncated_loss, softened_loss]
MULTI = [
    focal_loss,
    article_softened_weight,
    reader_softened_weight,
    softmax_softened_loss,
    focal_grad,
]


@pytest.mark.parametrize("fn", BINARY)
def test_binary_bad_inputs(fn):
    with pytest.raises(TypeError, match="logits"):
        fn([[0.0]], Y2)
    with pytest.raises(TypeError, match="logits"):
        fn(torch.zeros(3, 4, dtype=torch.long), Y2)
    with pytest.raises(TypeError, match="targets"):
        fn(X2, torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="targets"):
        fn(X2, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="targets"):
        fn(X2, torch.full((3, 4), 1.5))
    with pytest.raises(ValueError, match="targets"):
        fn(X2, torch.full((3, 4), -0.1))
    with pytest.raises(ValueError, match="reduction"):
        fn(X2, Y2, reduction="avg")
    with pytest.raises(TypeError, match="reduction"):
        fn(X2, Y2, reduction=None)


def test_binary_parameter_rules():
    with pytest.raises(ValueError, match="gamma"):
        binary_focal_loss(X2, Y2, gamma=-1.0)
    with pytest.raises(TypeError, match="gamma"):
        binary_focal_loss(X2, Y2, gamma="2")
    with pytest.raises(ValueError, match="alpha"):
        binary_focal_loss(X2, Y2, alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        binary_focal_loss(X2, Y2, alpha=-0.25)
    with pytest.raises(TypeError, match="alpha"):
        binary_focal_loss(X2, Y2, alpha=[0.25])
    for m in (0.4, 1.0, 1.2):
        with pytest.raises(ValueError, match="m"):
            hard_truncated_loss(X2, Y2, m=m)
    with pytest.raises(ValueError, match="K"):
        softened_loss(X2, Y2, K=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        binary_focal_loss(X2, Y2, gamma=float("nan"))


@pytest.mark.parametrize("fn", MULTI)
def test_multiclass_bad_inputs(fn):
    with pytest.raises(TypeError, match="logits"):
        fn([[0.0]], TC)
    with pytest.raises(TypeError, match="logits"):
        fn(torch.zeros(3, 4, dtype=torch.long), TC)
    with pytest.raises(ValueError, match="logits"):
        fn(torch.zeros(3), TC)
    with pytest.raises(TypeError, match="target"):
        fn(XC, torch.zeros(3))
    with pytest.raises(TypeError, match="target"):
        fn(XC, torch.zeros(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="target"):
        fn(XC, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="target"):
        fn(XC, torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match="target"):
        fn(XC, torch.tensor([0, -1, 1]))


def test_multiclass_parameter_rules():
    with pytest.raises(ValueError, match="gamma"):
        focal_loss(XC, TC, gamma=-0.5)
    with pytest.raises(ValueError, match="alpha"):
        focal_loss(XC, TC, alpha=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="alpha"):
        focal_loss(XC, TC, alpha=torch.tensor([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="alpha"):
        focal_loss(XC, TC, alpha=[1.0, -1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match="alpha"):
        focal_loss(XC, TC, alpha=0.25)
    with pytest.raises(TypeError, match="alpha"):
        focal_loss(XC, TC, alpha="abcd")
    with pytest.raises(ValueError, match="alpha"):
        focal_loss(XC, TC, alpha=torch.ones(2, 2))
    with pytest.raises(ValueError, match="reduction"):
        focal_loss(XC, TC, reduction="batchmean")
    for fn in (article_softened_weight, reader_softened_weight, softmax_softened_loss):
        with pytest.raises(ValueError, match="K"):
            fn(XC, TC, K=-2.0)
    with pytest.raises(ValueError, match="weight"):
        softmax_softened_loss(XC, TC, weight="su")
    with pytest.raises(ValueError, match="reduction"):
        softmax_softened_loss(XC, TC, reduction="max")
