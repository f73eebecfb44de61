"""Tests for kexue.energy: toy data, mode metrics, ULA/MALA, GAN/MEG training, grid likelihood."""

import math

import numpy as np
import pytest
import torch

from kexue.energy import (
    TrainResult,
    grid_energy,
    grid_log_likelihood,
    grid_log_partition,
    langevin,
    latent_energy,
    load_result,
    mala,
    mala_log_acceptance,
    mode_metrics,
    save_result,
    toy_centers,
    toy_data,
    toy_std,
    train_gan,
    train_meg,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one intra-op thread is fastest (and much faster on a loaded machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def double_well(x):
    return 2.0 * (x[:, 0] ** 2 - 1.0) ** 2


def gauss(x):
    return 0.5 * (x * x).sum(dim=1)


# ------------------------------------------------------------------------------------------ toy data
@pytest.mark.parametrize("name,m", [("ring8", 8), ("grid25", 25)])
def test_toy_data_sits_on_its_modes(name, m):
    c = toy_centers(name)
    assert c.shape == (m, 2)
    x = toy_data(name, 5000, torch.Generator().manual_seed(0))
    assert x.shape == (5000, 2) and x.dtype == torch.float32
    met = mode_metrics(x, c, toy_std(name))
    # 3σ in 2-D holds 1 − exp(−4.5) ≈ 98.9 % of each Gaussian
    assert met["modes"] == m
    assert abs(met["hq_fraction"] - (1 - math.exp(-4.5))) < 0.01
    assert met["kl"] < 0.02


def test_grid25_centres_are_the_pacgan_grid():
    c = toy_centers("grid25")
    assert sorted(set(c[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert toy_std("grid25") == 0.05


def test_toy_data_is_seeded_and_swissroll_has_no_centres():
    a = toy_data("swissroll", 100, torch.Generator().manual_seed(3))
    b = toy_data("swissroll", 100, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (100, 2)
    with pytest.raises(ValueError, match="name"):
        toy_centers("swissroll")


def test_toy_bad_inputs():
    with pytest.raises(ValueError, match="name"):
        toy_data("moons", 10)
    with pytest.raises(ValueError, match="n"):
        toy_data("ring8", 0)
    with pytest.raises(TypeError, match="n"):
        toy_data("ring8", 2.5)
    with pytest.raises(TypeError, match="generator"):
        toy_data("ring8", 5, generator=0)


# -------------------------------------------------------------------------------------- mode metrics
def test_mode_metrics_on_constructed_samples():
    c = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    std = 0.1
    samples = np.array([
        [0.0, 0.0], [0.29, 0.0],      # two HQ samples at mode 0 (0.29 < 3σ)
        [10.0, 0.2],                  # one at mode 1
        [5.0, 5.0], [0.0, 10.31],     # low quality: far from all; just outside 3σ of mode 2
    ])
    met = mode_metrics(samples, c.numpy(), std)
    assert met["modes"] == 2
    assert met["hq_fraction"] == pytest.approx(3 / 5)
    p = np.array([2 / 3, 1 / 3])
    assert met["kl"] == pytest.approx(float((p * np.log(p * 4)).sum()))
    # all modes hit equally: KL 0; none hit: inf
    assert mode_metrics(c, c, std) == {"modes": 4, "hq_fraction": 1.0, "kl": 0.0}
    none = mode_metrics(c + 5.0, c, std)
    assert none["modes"] == 0 and none["hq_fraction"] == 0 and math.isinf(none["kl"])


def test_mode_metrics_collapse_to_one_mode():
    c = toy_centers("grid25")
    x = c[7].repeat(100, 1)
    met = mode_metrics(x, c, 0.05)
    assert met["modes"] == 1 and met["kl"] == pytest.approx(math.log(25))


def test_mode_metrics_bad_inputs():
    c = toy_centers("ring8")
    with pytest.raises(TypeError, match="samples"):
        mode_metrics([[0.0, 0.0]], c, 0.1)
    with pytest.raises(ValueError, match="samples"):
        mode_metrics(torch.zeros(5), c, 0.1)
    with pytest.raises(ValueError, match="dimension"):
        mode_metrics(torch.zeros(5, 3), c, 0.1)
    with pytest.raises(ValueError, match="std"):
        mode_metrics(torch.zeros(5, 2), c, 0.0)
    with pytest.raises(ValueError, match="samples"):
        mode_metrics(torch.full((5, 2), float("nan")), c, 0.1)
    with pytest.raises(ValueError, match="samples"):
        mode_metrics(torch.zeros(0, 2), c, 0.1)
    with pytest.raises(TypeError, match="centers"):
        mode_metrics(torch.zeros(5, 2), np.array([["a", "b"]]), 0.1)


# ------------------------------------------------------------------------------------------ samplers
def _chains(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 1, generator=g, dtype=torch.float64) * 3 - 1.5), g


def test_mala_is_exact_on_a_gaussian_and_ula_is_biased():
    # U = x²/2: ULA with step ε has stationary variance 1/(1 − ε/4) exactly; MALA has variance 1.
    x0, g = _chains(20000, 0)
    eps = 0.5
    xu, acc_u = langevin(gauss, x0, 200, eps, generator=g)
    xm, acc_m = mala(gauss, x0, 200, eps, generator=g)
    assert acc_u == 1.0 and 0.5 < acc_m < 1.0
    assert float(xu.var()) == pytest.approx(1 / (1 - eps / 4), rel=0.03)
    assert float(xm.var()) == pytest.approx(1.0, rel=0.03)


def test_double_well_mala_exact_article_kernel_biased():
    # E[x²] under exp(−2(x²−1)²) is 0.8521 (quadrature)
    x0, g = _chains(20000, 1)
    exact, _ = mala(double_well, x0, 300, 0.05, generator=g)
    article, _ = mala(double_well, x0, 300, 0.05, generator=g, kernel="article")
    ula, _ = langevin(double_well, x0, 300, 0.05, generator=g)
    truth = 0.8521
    assert abs(float((exact ** 2).mean()) - truth) < 0.01
    assert float((article ** 2).mean()) < truth - 0.15
    assert float((ula ** 2).mean()) < truth - 0.015


def test_acceptance_ratio_matches_float64_formula():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(50, 3, generator=g, dtype=torch.float64)
    y = torch.randn(50, 3, generator=g, dtype=torch.float64)
    eps = 0.3

    def U(v):
        return (v ** 4).sum(1) / 4 + torch.sin(v).sum(1)

    xn, yn = x.numpy(), y.numpy()

    def u_np(v):
        return (v ** 4).sum(1) / 4 + np.sin(v).sum(1)

    def g_np(v):
        return v ** 3 + np.cos(v)

    def log_q(b, a, drift):  # log N(b; a − drift ε ∇U(a), ε I), constant dropped
        return -((b - a + drift * eps * g_np(a)) ** 2).sum(1) / (2 * eps)

    for kernel, drift in (("exact", 0.5), ("article", 1.0)):
        want = u_np(xn) - u_np(yn) + log_q(xn, yn, drift) - log_q(yn, xn, drift)
        got = mala_log_acceptance(U, x, y, eps, kernel=kernel).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mala_log_acceptance(U, x, y, eps, kernel="none").numpy(),
                               u_np(xn) - u_np(yn), rtol=1e-12)


def test_exact_ratio_satisfies_detailed_balance():
    # π(x) q(y|x) min(1, γ(x→y)) = π(y) q(x|y) min(1, γ(y→x)): log γ(x→y) = −log γ(y→x)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(20, 2, generator=g, dtype=torch.float64)
    y = torch.randn(20, 2, generator=g, dtype=torch.float64)
    a = mala_log_acceptance(double_well, x, y, 0.1)
    b = mala_log_acceptance(double_well, y, x, 0.1)
    torch.testing.assert_close(a, -b)


def test_samplers_are_deterministic_and_steps_zero():
    x0 = torch.zeros(4, 2)
    a = mala(gauss, x0, 5, 0.1, generator=torch.Generator().manual_seed(0))
    b = mala(gauss, x0, 5, 0.1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a[0], b[0]) and a[1] == b[1]
    x, rate = mala(gauss, x0, 0, 0.1)
    assert torch.equal(x, x0) and math.isnan(rate)


@pytest.mark.parametrize("sampler", [langevin, mala])
def test_sampler_bad_inputs(sampler):
    x0 = torch.zeros(4, 2)
    with pytest.raises(TypeError, match="energy"):
        sampler(3.0, x0, 1, 0.1)
    with pytest.raises(ValueError, match="x0"):
        sampler(gauss, torch.zeros(4), 1, 0.1)
    with pytest.raises(TypeError, match="x0"):
        sampler(gauss, torch.zeros(4, 2, dtype=torch.int64), 1, 0.1)
    with pytest.raises(ValueError, match="x0"):
        sampler(gauss, torch.full((4, 2), float("inf")), 1, 0.1)
    with pytest.raises(ValueError, match="steps"):
        sampler(gauss, x0, -1, 0.1)
    with pytest.raises(ValueError, match="step_size"):
        sampler(gauss, x0, 1, 0.0)
    with pytest.raises(TypeError, match="generator"):
        sampler(gauss, x0, 1, 0.1, generator=1)
    with pytest.raises(ValueError, match="energy"):
        sampler(lambda v: v, x0, 1, 0.1)  # returns [n, d], not [n]


def test_mala_bad_kernel_and_acceptance_bad_inputs():
    x0 = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="kernel"):
        mala(gauss, x0, 1, 0.1, kernel="typo")
    with pytest.raises(ValueError, match="same shape"):
        mala_log_acceptance(gauss, x0, torch.zeros(3, 2), 0.1)
    with pytest.raises(ValueError, match="step_size"):
        mala_log_acceptance(gauss, x0, x0, -1.0)


# ---------------------------------------------------------------------------------- grid likelihood
def test_grid_log_likelihood_of_a_known_gaussian():
    mu = torch.tensor([0.5, -0.3])
    s = torch.tensor([0.7, 1.3])

    def U(x):  # unnormalised N(mu, diag s²) with an arbitrary additive constant
        return 0.5 * (((x - mu) / s) ** 2).sum(1) + 3.0

    pts = torch.randn(100, 2, generator=torch.Generator().manual_seed(0)) * s + mu
    got = grid_log_likelihood(U, pts, (-9.0, 9.0, -10.0, 10.0), n=600)
    exact = torch.distributions.Normal(mu.double(), s.double()).log_prob(pts.double()).sum(1)
    torch.testing.assert_close(got, exact, atol=1e-6, rtol=0)
    assert grid_log_partition(U, (-9.0, 9.0, -10.0, 10.0), n=600) == pytest.approx(
        math.log(2 * math.pi * 0.7 * 1.3) - 3.0, abs=1e-6)


def test_grid_energy_orientation():
    xs, ys, u = grid_energy(lambda x: x[:, 0] + 10 * x[:, 1], (0.0, 1.0, 0.0, 2.0), n=4)
    assert xs.tolist() == [0.125, 0.375, 0.625, 0.875] and ys.tolist() == [0.25, 0.75, 1.25, 1.75]
    assert u[1, 2].item() == pytest.approx(0.625 + 7.5)


def test_grid_bad_inputs():
    pts = torch.zeros(3, 2)
    with pytest.raises(TypeError, match="energy"):
        grid_log_likelihood(None, pts, (0.0, 1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="test_points"):
        grid_log_likelihood(gauss, torch.zeros(3, 3), (0.0, 1.0, 0.0, 1.0))
    with pytest.raises(TypeError, match="test_points"):
        grid_log_likelihood(gauss, torch.zeros(3, 2, dtype=torch.int64), (0.0, 1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="bounds"):
        grid_log_likelihood(gauss, pts, (1.0, 0.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="bounds"):
        grid_log_likelihood(gauss, pts, (0.0, 1.0, 0.0))
    with pytest.raises(TypeError, match="bounds"):
        grid_log_likelihood(gauss, pts, "box")
    with pytest.raises(ValueError, match="n"):
        grid_log_likelihood(gauss, pts, (0.0, 1.0, 0.0, 1.0), n=1)


# ------------------------------------------------------------------------------------------ training
SMALL = dict(steps=10, batch_size=32, hidden=16, depth=2, progress=False)


@pytest.mark.parametrize("train", [train_gan, train_meg])
def test_training_is_deterministic_and_leaves_global_rng_alone(train):
    data = toy_data("ring8", 512, torch.Generator().manual_seed(0))
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = train(data, seed=5, **SMALL)
    assert torch.equal(torch.get_rng_state(), before)
    b = train(data, seed=5, **SMALL)
    c = train(data, seed=6, **SMALL)
    z = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(a.generator(z), b.generator(z))
        assert not torch.equal(a.generator(z), c.generator(z))
    assert isinstance(a, TrainResult) and all(len(v) == 10 for v in a.history.values())
    # same network sizes for both models
    n_params = sum(p.numel() for p in a.generator.parameters())
    assert n_params == 2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2


def test_meg_energy_separates_real_from_generated():
    g = torch.Generator().manual_seed(0)
    data = toy_data("ring8", 2048, g)
    res = train_meg(data, steps=150, batch_size=64, hidden=32, depth=2, lr=1e-3, seed=0, progress=False)
    h = res.history
    # the energy step pushes U down on data and up on samples: after training U(real) < U(fake)
    assert np.mean(h["u_real"][-50:]) < np.mean(h["u_fake"][-50:])
    assert all(math.isfinite(v) for v in h["gp"]) and min(h["gp"]) >= 0
    with torch.no_grad():
        x = res.sample(256, torch.Generator().manual_seed(1))
    xr = res.sample(256, torch.Generator().manual_seed(1), mala_steps=3, step_size=1e-3)
    assert x.shape == xr.shape == (256, 2)
    f = latent_energy(res, prior=False)
    z = torch.zeros(3, 2)
    with torch.no_grad():
        torch.testing.assert_close(f(z), res.energy(res.generator(z)))
        torch.testing.assert_close(latent_energy(res, temperature=0.5)(z), 2 * f(z))


@pytest.mark.parametrize("train", [train_gan, train_meg])
def test_training_bad_inputs(train):
    data = torch.zeros(10, 2)
    with pytest.raises(TypeError, match="data"):
        train(data.numpy())
    with pytest.raises(ValueError, match="data"):
        train(torch.zeros(10))
    with pytest.raises(ValueError, match="data"):
        train(torch.full((10, 2), float("nan")))
    with pytest.raises(ValueError, match="steps"):
        train(data, steps=0)
    with pytest.raises(ValueError, match="batch_size"):
        train(data, batch_size=1)
    with pytest.raises(TypeError, match="hidden"):
        train(data, hidden=3.0)
    with pytest.raises(ValueError, match="lr"):
        train(data, lr=0.0)
    with pytest.raises(ValueError, match="seed"):
        train(data, seed=-1)
    with pytest.raises(ValueError, match="lr_decay"):
        train(data, lr_decay=1.5)


def test_meg_bad_weights_and_latent_energy_bad_inputs():
    data = torch.zeros(10, 2)
    with pytest.raises(ValueError, match="gp_weight"):
        train_meg(data, gp_weight=-1.0)
    with pytest.raises(ValueError, match="mi_weight"):
        train_meg(data, mi_weight=-0.1)
    with pytest.raises(TypeError, match="result"):
        latent_energy(object())


def test_save_and_load_roundtrip(tmp_path):
    data = toy_data("grid25", 256, torch.Generator().manual_seed(0))
    for train in (train_gan, train_meg):
        res = train(data, seed=1, **SMALL)
        path = tmp_path / f"{res.kind}.pt"
        save_result(res, path)
        back = load_result(path)
        z = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            assert torch.equal(back.generator(z), res.generator(z))
            assert torch.equal(back.energy(z), res.energy(z))
        assert back.kind == res.kind and back.config == res.config and back.history == res.history
    with pytest.raises(TypeError, match="result"):
        save_result("model", tmp_path / "x.pt")


def test_progress_bars_are_plain_text_tqdm(monkeypatch):
    """Regression: the bars came from tqdm.auto, which renders ipywidgets in a notebook (the built site
    then loads CDN scripts). Every bar must be a plain text tqdm."""
    import tqdm
    import tqdm.auto

    seen = []
    real = tqdm.trange

    def spy(*args, **kwargs):
        seen.append(kwargs.get("desc"))
        return real(*args, **kwargs)

    def widget(*args, **kwargs):
        raise AssertionError("tqdm.auto used")

    monkeypatch.setattr(tqdm, "trange", spy)
    monkeypatch.setattr(tqdm.auto, "trange", widget)
    data = toy_data("ring8", 64, torch.Generator().manual_seed(0))
    kw = dict(steps=2, batch_size=8, hidden=4, depth=1, progress=False)
    train_gan(data, **kw)
    train_meg(data, **kw)
    x0 = torch.zeros(3, 1)
    langevin(gauss, x0, 2, 0.1)
    mala(gauss, x0, 2, 0.1)
    assert seen == ["GAN", "MEG", "ULA", "MALA"]
