import math

import pytest
import torch
import torch.nn.functional as F

from kexue.nce import AliasSampler, NCELinear, SampledSoftmax, nce_loss, negative_sampling_loss, sample_noise


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_nce_loss_matches_float64_formula():
    s, sn = rand(7), rand(7, 5, seed=1)
    lq, lqn = -rand(7, seed=2).abs() - 1, -rand(7, 5, seed=3).abs() - 1
    sig = torch.sigmoid
    expected = -torch.log(sig(s - math.log(5) - lq)) - torch.log(1 - sig(sn - math.log(5) - lqn)).sum(-1)
    torch.testing.assert_close(nce_loss(s, sn, lq, lqn, reduction="none"), expected)
    torch.testing.assert_close(nce_loss(s, sn, lq, lqn), expected.mean())
    torch.testing.assert_close(nce_loss(s, sn, lq, lqn, reduction="sum"), expected.sum())


def test_negative_sampling_is_nce_without_the_noise_term():
    s, sn = rand(6), rand(6, 3, seed=1)
    zero = torch.full((6,), -math.log(3), dtype=torch.float64)  # log(k q) = 0
    torch.testing.assert_close(negative_sampling_loss(s, sn, "none"),
                               nce_loss(s, sn, zero, zero.unsqueeze(1).expand(6, 3), "none"))


def test_gradient_matches_hand_derivation():
    s = rand(5).requires_grad_()
    sn = rand(5, 4, seed=1).requires_grad_()
    negative_sampling_loss(s, sn, "sum").backward()
    torch.testing.assert_close(s.grad, torch.sigmoid(s.detach()) - 1)
    torch.testing.assert_close(sn.grad, torch.sigmoid(sn.detach()))


def test_stable_at_extreme_scores():
    s = torch.tensor([1e4, -1e4, 0.0], requires_grad=True)
    sn = torch.tensor([[1e4], [-1e4], [0.0]], requires_grad=True)
    lq = torch.full((3,), -10.0)
    for loss in (nce_loss(s, sn, lq, lq.unsqueeze(1)), negative_sampling_loss(s, sn)):
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(s.grad).all() and torch.isfinite(sn.grad).all()


def test_nce_optimum_is_log_p_and_ns_optimum_is_shifted():
    """Minimise the expected losses over the scores of a 4-symbol distribution directly."""
    p = torch.tensor([0.5, 0.25, 0.15, 0.1], dtype=torch.float64)
    q = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    k = 3
    for kind in ("nce", "ns"):
        s = torch.zeros(4, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([s], max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-14)
        shift = torch.log(k * q) if kind == "nce" else torch.zeros(4, dtype=torch.float64)

        def closure():
            opt.zero_grad()
            loss = -(p * F.logsigmoid(s - shift)).sum() - k * (q * F.logsigmoid(-(s - shift))).sum()
            loss.backward()
            return loss

        opt.step(closure)
        expected = torch.log(p) if kind == "nce" else torch.log(p / (k * q))
        torch.testing.assert_close(s.detach(), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("draw", ["multinomial", "alias"])
def test_samplers_match_q(draw):
    q = torch.tensor([0.5, 0.2, 0.2, 0.1, 0.0])
    g = torch.Generator().manual_seed(0)
    n = 100_000
    x = sample_noise(q, (n,), g) if draw == "multinomial" else AliasSampler(q).sample((n,), g)
    freq = torch.bincount(x, minlength=5).double() / n
    assert (freq - q.double()).abs().max() < 0.006
    assert freq[4] == 0  # zero-probability class never drawn
    assert (sample_noise(q, (3, 4), torch.Generator().manual_seed(1))
            == sample_noise(q, (3, 4), torch.Generator().manual_seed(1))).all()


@pytest.mark.slow
def test_output_layers_train_towards_the_softmax_solution():
    torch.manual_seed(0)
    C, d = 50, 8
    true_w = torch.randn(C, d)
    h = torch.randn(1000, d)
    target = torch.distributions.Categorical(logits=h @ true_w.T).sample()
    noise = torch.bincount(target, minlength=C).float() + 1
    for layer in (NCELinear(d, C, noise, k=20), SampledSoftmax(d, C, noise, k=20)):
        opt = torch.optim.Adam(layer.parameters(), lr=0.05)
        g = torch.Generator().manual_seed(0)
        before = F.nll_loss(layer.log_probs(h), target).item()
        for _ in range(150):
            opt.zero_grad()
            layer(h, target, generator=g).backward()
            opt.step()
        after = F.nll_loss(layer.log_probs(h), target).item()
        assert after < before - 0.5


def test_nce_self_normalises():
    torch.manual_seed(1)
    C, d = 30, 6
    true_w = torch.randn(C, d)
    h = torch.randn(1500, d)
    target = torch.distributions.Categorical(logits=h @ true_w.T).sample()
    noise = torch.bincount(target, minlength=C).float() + 1
    layer = NCELinear(d, C, noise, k=25, log_z=3.0)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(0)
    for _ in range(250):
        opt.zero_grad()
        layer(h, target, generator=g).backward()
        opt.step()
    total = torch.logsumexp(layer.scores(h), dim=-1)  # log Σ_c exp(score) should be ≈ 0
    assert total.mean().abs() < 0.15


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: negative_sampling_loss(torch.zeros(3), torch.zeros(4, 2)), ValueError, "noise_scores"),
        (lambda: negative_sampling_loss(torch.zeros(3, 1), torch.zeros(3, 2)), ValueError, "data_scores"),
        (lambda: negative_sampling_loss(torch.zeros(3, dtype=torch.long), torch.zeros(3, 2)), TypeError, "data_scores"),
        (lambda: negative_sampling_loss(torch.zeros(3), torch.zeros(3, 2), "avg"), ValueError, "reduction"),
        (lambda: nce_loss(torch.zeros(3), torch.zeros(3, 2), torch.zeros(2), torch.zeros(3, 2)), ValueError, "data_log_noise"),
        (lambda: nce_loss(torch.zeros(3), torch.zeros(3, 2), torch.zeros(3), torch.zeros(3, 3)), ValueError, "noise_log_noise"),
        (lambda: sample_noise(torch.tensor([0.5, -0.1]), 3), ValueError, "q must be"),
        (lambda: sample_noise(torch.tensor([1, 2]), 3), TypeError, "q must have a floating"),
        (lambda: sample_noise(torch.tensor([0.5, 0.5]), (2, -1)), ValueError, "shape"),
        (lambda: AliasSampler(torch.zeros(3)), ValueError, "q must be"),
        (lambda: NCELinear(4, 10, torch.ones(9)), ValueError, "noise must have"),
        (lambda: NCELinear(4, 10, torch.ones(10), k=0), ValueError, "k must be"),
        (lambda: NCELinear(4, 10, torch.ones(10))(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)), ValueError, "h must"),
        (lambda: NCELinear(4, 10, torch.ones(10))(torch.zeros(2, 4), torch.tensor([0, 10])), ValueError, "target"),
        (lambda: SampledSoftmax(4, 10, torch.ones(10))(torch.zeros(2, 4), torch.zeros(2)), TypeError, "target"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_ngram_data_pads_and_marks_unknown_words():
    from kexue.nce import ngram_data

    ctx, tgt = ngram_data([["a", "b", "zz"]], ["a", "b"], order=3)
    unk, bos, eos = 2, 3, 4
    assert ctx.tolist() == [[bos, bos], [bos, 0], [0, 1], [1, unk]]
    assert tgt.tolist() == [0, 1, unk, eos]
    with pytest.raises(ValueError, match="order"):
        ngram_data([["a"]], ["a"], order=1)


@pytest.mark.slow
@pytest.mark.parametrize("output", ["softmax", "nce", "ns", "sampled"])
def test_ngram_lm_trains_and_perplexity_is_exact(output):
    from kexue.nce import NGramLM, perplexity, train_lm

    torch.manual_seed(0)
    C = 12
    ctx = torch.randint(C, (600, 2))
    tgt = (ctx[:, 0] + ctx[:, 1]) % C  # a deterministic rule the model can learn
    noise = torch.bincount(tgt, minlength=C).float() + 1
    model = NGramLM(C, order=3, dim=8, hidden=32, output=output, noise=noise, k=8)
    before = perplexity(model, ctx, tgt)
    train_lm(model, ctx, tgt, steps=150, batch_size=64, lr=1e-2, progress=False)
    after = perplexity(model, ctx, tgt)
    assert after < before
    with torch.no_grad():  # the perplexity is exp of the mean exact NLL
        nll = -model.log_probs(ctx).gather(1, tgt[:, None]).mean()
    assert after == pytest.approx(math.exp(nll.item()), rel=1e-6)
    if output == "ns":
        assert perplexity(model, ctx, tgt, corrected=True) > 0
    else:
        with pytest.raises(ValueError, match="corrected"):
            perplexity(model, ctx, tgt, corrected=True)


def test_ngram_lm_bad_input():
    from kexue.nce import NGramLM

    with pytest.raises(ValueError, match="output must be one of"):
        NGramLM(10, output="hsm")
    with pytest.raises(ValueError, match="noise must be given"):
        NGramLM(10, output="nce")
    with pytest.raises(TypeError, match="contexts"):
        NGramLM(10).features(torch.zeros(3, 2))
