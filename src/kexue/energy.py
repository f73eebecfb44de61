"""Energy models, Langevin/MALA samplers and maximum-entropy generators (chapter: notebooks/04-energy-gan.ipynb).

Conventions
-----------
- An *energy* is a callable mapping a batch ``x`` of shape ``[n, d]`` to ``U(x)`` of shape ``[n]``; the model
  density is ``q(x) = exp(-U(x)) / Z``.
- Langevin dynamics follows the article: ``x' = x - (ε/2) ∇U(x) + sqrt(ε) ξ`` with ``ξ ~ N(0, I)``, so the
  proposal density is ``N(x'; x - (ε/2)∇U(x), ε I)``.
- Toy data sets are 2-D mixtures; ``toy_centers`` gives the mode centres and ``toy_std`` the per-mode
  standard deviation used by :func:`mode_metrics` (the VEEGAN/PacGAN protocol).
- Randomness only through explicit ``generator`` (``torch.Generator``) or ``seed`` arguments; training
  creates its networks inside ``torch.random.fork_rng`` so the global RNG is left untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ._checks import check_choice, check_int, check_number, check_tensor, check_type

__all__ = [
    "TOY_NAMES",
    "toy_data",
    "toy_centers",
    "toy_std",
    "mode_metrics",
    "langevin",
    "mala",
    "mala_log_acceptance",
    "TrainResult",
    "train_gan",
    "train_meg",
    "latent_energy",
    "save_result",
    "load_result",
    "grid_energy",
    "grid_log_partition",
    "grid_log_likelihood",
]

TOY_NAMES = ("ring8", "grid25", "swissroll")
_STD = {"ring8": 0.02, "grid25": 0.05, "swissroll": 0.25 / 5.0}

Energy = Callable[[Tensor], Tensor]


# ----------------------------------------------------------------------------------------------- data
def toy_centers(name: str) -> Tensor:
    """Mode centres of a toy mixture, float32 ``[m, 2]``.

    ``"ring8"``: 8 points on the circle of radius 2 (angles kπ/4); ``"grid25"``: the 5×5 grid
    {−4, −2, 0, 2, 4}². ``"swissroll"`` has no modes (ValueError).
    """
    check_choice(name, "name", TOY_NAMES)
    if name == "ring8":
        angles = torch.arange(8, dtype=torch.float64) * (math.pi / 4)
        return (2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)).float()
    if name == "grid25":
        v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        return torch.cartesian_prod(v, v)
    raise ValueError("name='swissroll' is a continuous manifold and has no mode centres")


def toy_std(name: str) -> float:
    """Per-mode standard deviation of a toy set (ring8 0.02, grid25 0.05; swissroll: its noise scale)."""
    check_choice(name, "name", TOY_NAMES)
    return _STD[name]


def toy_data(name: str, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` samples, float32 ``[n, 2]``, of a toy set: ``"ring8"``, ``"grid25"`` or ``"swissroll"``.

    Mixtures pick a centre uniformly and add isotropic Gaussian noise of std :func:`toy_std`. The swiss
    roll is ``t (cos t, sin t) / 5`` with ``t ~ U[1.5π, 4.5π]`` plus noise 0.25 / 5 (scikit-learn's
    ``make_swiss_roll`` scaled to about [−2.7, 2.7]).
    """
    check_choice(name, "name", TOY_NAMES)
    check_int(n, "n", low=1)
    if generator is not None:
        check_type(generator, "generator", torch.Generator)
    std = _STD[name]
    if name == "swissroll":
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))
        x = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / 5.0
        return x + std * torch.randn(n, 2, generator=generator)
    centers = toy_centers(name)
    idx = torch.randint(len(centers), (n,), generator=generator)
    return centers[idx] + std * torch.randn(n, 2, generator=generator)


def _as_tensor(x, name: str) -> Tensor:
    if isinstance(x, np.ndarray):
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise TypeError(f"{name} must have a real dtype, got {x.dtype}")
        x = torch.from_numpy(np.asarray(x, dtype=np.float64))
    check_tensor(x, name, ndim=2)
    if x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{name} must have a real dtype, got {x.dtype}")
    return x.detach().to(torch.float64)


def mode_metrics(samples, centers, std: float) -> dict[str, float]:
    """Mode coverage of 2-D samples, the VEEGAN/PacGAN protocol.

    ``samples`` ``[n, d]`` and ``centers`` ``[m, d]`` are tensors or arrays. A sample is *high quality*
    if it lies within ``3·std`` of its nearest centre; a centre is *covered* if it is the nearest centre
    of at least one high-quality sample. Returns ``{"modes": int, "hq_fraction": float, "kl": float}``,
    where ``kl`` is ``KL(p̂ ‖ uniform)`` for the histogram ``p̂`` of nearest centres over the high-quality
    samples (``inf`` when there are none). Raises ValueError for empty inputs, mismatched dimensions,
    non-finite values or ``std <= 0``; TypeError for non-numeric inputs.
    """
    x = _as_tensor(samples, "samples")
    c = _as_tensor(centers, "centers")
    check_number(std, "std", low=0.0, low_inclusive=False)
    if x.shape[0] == 0:
        raise ValueError("samples must contain at least one row")
    if c.shape[0] == 0:
        raise ValueError("centers must contain at least one row")
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"samples and centers must have the same dimension, got {x.shape[1]} and {c.shape[1]}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("samples must contain only finite values")
    if not bool(torch.isfinite(c).all()):
        raise ValueError("centers must contain only finite values")
    dist = torch.cdist(x, c)  # [n, m]
    d_min, nearest = dist.min(dim=1)
    hq = d_min <= 3.0 * std
    m = c.shape[0]
    counts = torch.bincount(nearest[hq], minlength=m).to(torch.float64)
    n_hq = float(counts.sum())
    if n_hq == 0:
        kl = math.inf
    else:
        p = counts / n_hq
        nz = p > 0
        kl = float((p[nz] * torch.log(p[nz] * m)).sum())
    return {"modes": int((counts > 0).sum()), "hq_fraction": n_hq / x.shape[0], "kl": kl}


# ------------------------------------------------------------------------------------------ samplers
def _check_sampler_args(energy, x0, steps, step_size, generator) -> None:
    if not callable(energy):
        raise TypeError(f"energy must be callable, got {type(energy).__name__}")
    check_tensor(x0, "x0", kind="float", ndim=2, finite=True)
    check_int(steps, "steps", low=0)
    check_number(step_size, "step_size", low=0.0, low_inclusive=False)
    if generator is not None:
        check_type(generator, "generator", torch.Generator)


def _energy_and_grad(energy: Energy, x: Tensor) -> tuple[Tensor, Tensor]:
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        u = energy(x)
        if not isinstance(u, Tensor) or u.shape != x.shape[:1]:
            shape = tuple(u.shape) if isinstance(u, Tensor) else type(u).__name__
            raise ValueError(f"energy must map [n, d] to [n]; got {shape} for input {tuple(x.shape)}")
        (g,) = torch.autograd.grad(u.sum(), x)
    return u.detach(), g.detach()


def langevin(energy: Energy, x0: Tensor, steps: int, step_size: float, *,
             generator: torch.Generator | None = None, progress: bool = False) -> tuple[Tensor, float]:
    """Unadjusted Langevin algorithm (ULA), ``n`` parallel chains.

    ``x ← x − (ε/2)∇U(x) + sqrt(ε) ξ`` for ``steps`` steps, ``ε = step_size``. ``x0`` is float ``[n, d]``;
    returns ``(final_states [n, d], acceptance_rate)`` with acceptance rate 1.0 (every move is taken), so
    the chain is biased by O(ε) and may diverge for large ε. Raises TypeError/ValueError for a
    non-callable energy, ``x0`` not a finite float matrix, ``steps < 0`` or ``step_size <= 0``.
    """
    _check_sampler_args(energy, x0, steps, step_size, generator)
    from tqdm import trange  # text bars: notebook widgets would make the site load CDN scripts

    x = x0.detach().clone()
    sd = math.sqrt(step_size)
    for _ in trange(steps, disable=not progress, desc="ULA", leave=False):
        _, g = _energy_and_grad(energy, x)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x = x - 0.5 * step_size * g + sd * noise
    return x, 1.0


_KERNELS = ("exact", "article", "none")


def _log_proposal(y: Tensor, x: Tensor, gx: Tensor, step_size: float, drift: float) -> Tensor:
    """log N(y; x − drift·ε·∇U(x), ε I) up to the constant shared by both directions."""
    r = y - x + drift * step_size * gx
    return -(r * r).sum(dim=1) / (2.0 * step_size)


def mala_log_acceptance(energy: Energy, x: Tensor, y: Tensor, step_size: float,
                        kernel: str = "exact") -> Tensor:
    """Log Metropolis–Hastings ratio ``log γ`` (before ``min(0, ·)``) for moving from ``x`` to ``y``, ``[n]``.

    ``kernel="exact"``: ``−U(y) + U(x) + log q(x|y) − log q(y|x)`` with the Langevin proposal
    ``q(y|x) = N(y; x − (ε/2)∇U(x), ε I)`` — the corrected formula.
    ``kernel="article"``: the same but with the proposal density written with drift ``ε∇U`` (the typo
    in the original article; the moves themselves still use ``ε/2``).
    ``kernel="none"``: energy difference only (the MEG paper's test). Shapes: ``x``, ``y`` ``[n, d]``.
    """
    check_choice(kernel, "kernel", _KERNELS)
    check_tensor(x, "x", kind="float", ndim=2, finite=True)
    check_tensor(y, "y", kind="float", ndim=2, finite=True)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    check_number(step_size, "step_size", low=0.0, low_inclusive=False)
    ux, gx = _energy_and_grad(energy, x)
    uy, gy = _energy_and_grad(energy, y)
    return _log_ratio(ux, gx, uy, gy, x, y, step_size, kernel)


def _log_ratio(ux, gx, uy, gy, x, y, step_size, kernel) -> Tensor:
    log_r = ux - uy
    if kernel != "none":
        drift = 0.5 if kernel == "exact" else 1.0
        log_r = log_r + _log_proposal(x, y, gy, step_size, drift) - _log_proposal(y, x, gx, step_size, drift)
    return log_r


def mala(energy: Energy, x0: Tensor, steps: int, step_size: float, *, kernel: str = "exact",
         generator: torch.Generator | None = None, progress: bool = False) -> tuple[Tensor, float]:
    """Metropolis-adjusted Langevin algorithm, ``n`` parallel chains.

    Proposal ``y = x − (ε/2)∇U(x) + sqrt(ε) ξ``; accept with probability ``min(1, γ)`` where ``log γ`` is
    :func:`mala_log_acceptance` (``kernel="exact"`` is the corrected ratio, ``"article"`` reproduces the
    original article's kernel, ``"none"`` the MEG paper's energy-only test). ``x0`` float ``[n, d]``.
    Returns ``(final_states [n, d], acceptance_rate)``, the rate averaged over chains and steps (nan when
    ``steps == 0``). Raises TypeError/ValueError like :func:`langevin`, and for an unknown ``kernel``.
    """
    _check_sampler_args(energy, x0, steps, step_size, generator)
    check_choice(kernel, "kernel", _KERNELS)
    from tqdm import trange  # text bars: notebook widgets would make the site load CDN scripts

    x = x0.detach().clone()
    sd = math.sqrt(step_size)
    ux, gx = _energy_and_grad(energy, x)
    accepted = 0.0
    for _ in trange(steps, disable=not progress, desc="MALA", leave=False):
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        y = x - 0.5 * step_size * gx + sd * noise
        uy, gy = _energy_and_grad(energy, y)
        log_r = _log_ratio(ux, gx, uy, gy, x, y, step_size, kernel)
        u = torch.rand(x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
        acc = torch.log(u) < log_r  # nan (diverged proposal) compares False: rejected
        accepted += float(acc.to(torch.float64).mean())
        x = torch.where(acc[:, None], y, x)
        ux = torch.where(acc, uy, ux)
        gx = torch.where(acc[:, None], gy, gx)
    return x, (accepted / steps if steps else math.nan)


# ------------------------------------------------------------------------------------------ training
def _mlp(d_in: int, d_out: int, hidden: int, depth: int, act: Callable[[], nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(depth):
        layers += [nn.Linear(d, hidden), act()]
        d = hidden
    layers.append(nn.Linear(d, d_out))
    return nn.Sequential(*layers)


@dataclass
class TrainResult:
    """A trained generator with its critic.

    ``kind`` is ``"meg"`` (``critic`` is the energy ``U``) or ``"gan"`` (``critic`` is the discriminator
    logit ``D``; :meth:`energy` then returns ``−D``, the "GAN as an energy model" reading).
    ``history`` holds one float per generator step for each logged quantity.
    """

    kind: str
    generator: nn.Module
    critic: nn.Module
    stats: nn.Module | None
    z_dim: int
    config: dict
    history: dict[str, list[float]] = field(default_factory=dict)

    def energy(self, x: Tensor) -> Tensor:
        """Energy ``[n]`` of points ``[n, 2]`` (``U`` for MEG, ``−D`` for the GAN)."""
        u = self.critic(x).squeeze(-1)
        return u if self.kind == "meg" else -u

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``z ~ N(0, I)``, ``[n, z_dim]``."""
        check_int(n, "n", low=1)
        return torch.randn(n, self.z_dim, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, *, mala_steps: int = 0,
               step_size: float = 0.01, temperature: float = 1.0, prior: bool = True) -> Tensor:
        """``n`` generated points ``[n, 2]``; with ``mala_steps > 0`` the latents are first refined by
        MALA (exact kernel) on :func:`latent_energy`."""
        z = self.sample_latent(n, generator)
        check_int(mala_steps, "mala_steps", low=0)
        if mala_steps:
            z, _ = mala(latent_energy(self, temperature=temperature, prior=prior), z, mala_steps, step_size,
                        generator=generator)
        return self.generator(z)


def latent_energy(result: TrainResult, temperature: float = 1.0, prior: bool = True) -> Energy:
    """Latent energy ``z ↦ U(G(z)) / T (+ ||z||²/2 if prior)``, ``[n, z_dim] → [n]``.

    With ``prior=False`` this is MEG's heuristic ``U(G(z))``; it ignores the Jacobian of ``G`` (see the
    chapter), so it is a refinement, not the pull-back of ``q``.
    """
    check_type(result, "result", TrainResult)
    check_number(temperature, "temperature", low=0.0, low_inclusive=False)

    def f(z: Tensor) -> Tensor:
        u = result.energy(result.generator(z)) / temperature
        return u + 0.5 * (z * z).sum(dim=1) if prior else u

    return f


def _check_train_args(data, steps, batch_size, hidden, depth, z_dim, n_critic, lr, seed) -> None:
    check_tensor(data, "data", kind="float", ndim=2, finite=True)
    if data.shape[0] < 2:
        raise ValueError(f"data must have at least 2 rows, got {data.shape[0]}")
    check_int(steps, "steps", low=1)
    check_int(batch_size, "batch_size", low=2)
    check_int(hidden, "hidden", low=1)
    check_int(depth, "depth", low=1)
    check_int(z_dim, "z_dim", low=1)
    check_int(n_critic, "n_critic", low=1)
    check_number(lr, "lr", low=0.0, low_inclusive=False)
    check_int(seed, "seed", low=0, high=2**63 - 1)


def _schedulers(opts, steps: int, lr_decay: float):
    """Linear decay of every optimiser's learning rate from ``lr`` to ``lr · lr_decay`` over ``steps``."""
    check_number(lr_decay, "lr_decay", low=0.0, high=1.0)
    def factor(t: int) -> float:
        return 1.0 - (1.0 - lr_decay) * min(t, steps) / steps
    return [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in opts]


def _setup(data, hidden, depth, z_dim, seed, with_stats):
    d = data.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = _mlp(z_dim, d, hidden, depth, nn.ReLU)
        critic = _mlp(d, 1, hidden, depth, lambda: nn.LeakyReLU(0.2))
        stats = _mlp(d + z_dim, 1, hidden, depth, lambda: nn.LeakyReLU(0.2)) if with_stats else None
    rng = torch.Generator().manual_seed(seed)
    return gen, critic, stats, rng


def train_gan(data: Tensor, *, steps: int = 2000, batch_size: int = 256, hidden: int = 128, depth: int = 3,
              z_dim: int = 2, n_critic: int = 1, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.9),
              lr_decay: float = 1.0, seed: int = 0, progress: bool = True) -> TrainResult:
    """Plain (non-saturating) GAN baseline on points ``data`` ``[N, d]``.

    Networks: generator MLP ``z_dim → hidden × depth (ReLU) → d``, discriminator MLP ``d → hidden × depth
    (LeakyReLU 0.2) → 1`` (the same sizes as :func:`train_meg`). ``steps`` generator updates, each after
    ``n_critic`` discriminator updates on minibatches of ``batch_size``; Adam(lr, betas) with the learning
    rate decayed linearly to ``lr · lr_decay``. Losses:
    ``softplus(−D(x)) + softplus(D(G(z)))`` and ``softplus(−D(G(z)))``. Deterministic under ``seed``.
    ``history``: ``"d_loss"``, ``"g_loss"``. Raises TypeError/ValueError naming a bad argument.
    """
    _check_train_args(data, steps, batch_size, hidden, depth, z_dim, n_critic, lr, seed)
    from tqdm import trange  # text bars: notebook widgets would make the site load CDN scripts

    data = data.detach().float()
    gen, disc, _, rng = _setup(data, hidden, depth, z_dim, seed, False)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=betas)
    scheds = _schedulers((opt_g, opt_d), steps, lr_decay)
    hist: dict[str, list[float]] = {"d_loss": [], "g_loss": []}
    n = data.shape[0]
    for _ in trange(steps, disable=not progress, desc="GAN", leave=False):
        for _ in range(n_critic):
            real = data[torch.randint(n, (batch_size,), generator=rng)]
            z = torch.randn(batch_size, z_dim, generator=rng)
            with torch.no_grad():
                fake = gen(z)
            d_loss = F.softplus(-disc(real)).mean() + F.softplus(disc(fake)).mean()
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        z = torch.randn(batch_size, z_dim, generator=rng)
        g_loss = F.softplus(-disc(gen(z))).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for sch in scheds:
            sch.step()
        hist["d_loss"].append(float(d_loss.detach()))
        hist["g_loss"].append(float(g_loss.detach()))
    config = dict(steps=steps, batch_size=batch_size, hidden=hidden, depth=depth, z_dim=z_dim,
                  n_critic=n_critic, lr=lr, betas=tuple(betas), lr_decay=lr_decay, seed=seed)
    return TrainResult("gan", gen.eval(), disc.eval(), None, z_dim, config, hist)


def train_meg(data: Tensor, *, steps: int = 2000, batch_size: int = 256, hidden: int = 128, depth: int = 3,
              z_dim: int = 2, n_critic: int = 1, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.9),
              lr_decay: float = 1.0, gp_weight: float = 0.1, mi_weight: float = 1.0, seed: int = 0,
              progress: bool = True) -> TrainResult:
    """Maximum-entropy generator (MEG) for an energy model on points ``data`` ``[N, d]``.

    Energy step (``n_critic`` per generator step): minimise
    ``mean U(x_real) − mean U(G(z)) + gp_weight · mean ||∇_x U(x_real)||²`` (zero-centred score penalty on
    real data). Generator step: minimise ``mean U(G(z)) + mi_weight · J`` where
    ``J = BCE(T(G(z), z) → 1) + BCE(T(G(z), z̃) → 0)`` is the Deep-InfoMax/JSD loss of a statistics
    network ``T`` trained on the same loss, ``z̃`` the batch's ``z`` shuffled; lowering ``J`` raises the
    estimated ``I(X; Z)``, the stand-in for the generator's entropy. Same network sizes as
    :func:`train_gan` (``T`` is an MLP on ``[x; z]`` of the same width and depth). Deterministic under
    ``seed``. ``history``: ``"e_loss"``, ``"g_loss"``, ``"mi_loss"``, ``"u_real"``, ``"u_fake"``, ``"gp"``.
    Raises TypeError/ValueError naming a bad argument.
    """
    _check_train_args(data, steps, batch_size, hidden, depth, z_dim, n_critic, lr, seed)
    check_number(gp_weight, "gp_weight", low=0.0)
    check_number(mi_weight, "mi_weight", low=0.0)
    from tqdm import trange  # text bars: notebook widgets would make the site load CDN scripts

    data = data.detach().float()
    gen, energy, stats, rng = _setup(data, hidden, depth, z_dim, seed, True)
    opt_g = torch.optim.Adam(list(gen.parameters()) + list(stats.parameters()), lr=lr, betas=betas)
    opt_e = torch.optim.Adam(energy.parameters(), lr=lr, betas=betas)
    scheds = _schedulers((opt_g, opt_e), steps, lr_decay)
    keys = ("e_loss", "g_loss", "mi_loss", "u_real", "u_fake", "gp")
    hist: dict[str, list[float]] = {k: [] for k in keys}
    n = data.shape[0]
    for _ in trange(steps, disable=not progress, desc="MEG", leave=False):
        for _ in range(n_critic):
            real = data[torch.randint(n, (batch_size,), generator=rng)].requires_grad_(True)
            z = torch.randn(batch_size, z_dim, generator=rng)
            with torch.no_grad():
                fake = gen(z)
            u_real = energy(real).squeeze(-1)
            u_fake = energy(fake).squeeze(-1)
            (g,) = torch.autograd.grad(u_real.sum(), real, create_graph=True)
            gp = (g * g).sum(dim=1).mean()
            e_loss = u_real.mean() - u_fake.mean() + gp_weight * gp
            opt_e.zero_grad(set_to_none=True)
            e_loss.backward()
            opt_e.step()
        z = torch.randn(batch_size, z_dim, generator=rng)
        x = gen(z)
        z_shuf = z[torch.randperm(batch_size, generator=rng)]
        t_joint = stats(torch.cat([x, z], dim=1))
        t_marg = stats(torch.cat([x, z_shuf], dim=1))
        mi_loss = F.softplus(-t_joint).mean() + F.softplus(t_marg).mean()
        u_gen = energy(x).mean()
        g_loss = u_gen + mi_weight * mi_loss
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for sch in scheds:
            sch.step()
        for k, v in zip(keys, (e_loss, g_loss, mi_loss, u_real.mean(), u_fake.mean(), gp)):
            hist[k].append(float(v.detach()))
    energy.zero_grad(set_to_none=True)
    config = dict(steps=steps, batch_size=batch_size, hidden=hidden, depth=depth, z_dim=z_dim,
                  n_critic=n_critic, lr=lr, betas=tuple(betas), lr_decay=lr_decay, gp_weight=gp_weight, mi_weight=mi_weight,
                  seed=seed)
    return TrainResult("meg", gen.eval(), energy.eval(), stats.eval(), z_dim, config, hist)


def save_result(result: TrainResult, path) -> None:
    """Save a trained model (networks, config, history) as a plain dict of tensors and numbers.

    The file loads with ``torch.load(path, weights_only=True)``; :func:`load_result` rebuilds the model.
    """
    check_type(result, "result", TrainResult)
    torch.save({"kind": result.kind, "z_dim": result.z_dim, "config": dict(result.config),
                "generator": result.generator.state_dict(), "critic": result.critic.state_dict(),
                "stats": None if result.stats is None else result.stats.state_dict(),
                "history": {k: list(v) for k, v in result.history.items()}}, path)


def load_result(path, d: int = 2) -> TrainResult:
    """Load a model written by :func:`save_result` (``torch.load(..., weights_only=True)``); ``d`` is the
    data dimension."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    cfg = blob["config"]
    hidden, depth, z_dim = cfg["hidden"], cfg["depth"], blob["z_dim"]
    gen = _mlp(z_dim, d, hidden, depth, nn.ReLU)
    critic = _mlp(d, 1, hidden, depth, lambda: nn.LeakyReLU(0.2))
    gen.load_state_dict(blob["generator"])
    critic.load_state_dict(blob["critic"])
    stats = None
    if blob["stats"] is not None:
        stats = _mlp(d + z_dim, 1, hidden, depth, lambda: nn.LeakyReLU(0.2))
        stats.load_state_dict(blob["stats"])
        stats.eval()
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
    return TrainResult(blob["kind"], gen.eval(), critic.eval(), stats, z_dim, cfg, blob["history"])


# ----------------------------------------------------------------------------- exact 2-D likelihood
def _check_bounds(bounds) -> tuple[float, float, float, float]:
    check_type(bounds, "bounds", (tuple, list))
    if len(bounds) != 4:
        raise ValueError(f"bounds must be (xmin, xmax, ymin, ymax), got {len(bounds)} values")
    for i, b in enumerate(bounds):
        check_number(b, f"bounds[{i}]")
    x0, x1, y0, y1 = map(float, bounds)
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"bounds must satisfy xmin < xmax and ymin < ymax, got {tuple(bounds)}")
    return x0, x1, y0, y1


@torch.no_grad()
def grid_energy(energy: Energy, bounds, n: int = 400, chunk: int = 65536) -> tuple[Tensor, Tensor, Tensor]:
    """Energy on the ``n × n`` grid of cell midpoints of ``bounds = (xmin, xmax, ymin, ymax)``.

    Returns ``(xs [n], ys [n], U [n, n])`` with ``U[i, j] = U((xs[j], ys[i]))`` (row = y, as ``imshow``
    expects), float64.
    """
    if not callable(energy):
        raise TypeError(f"energy must be callable, got {type(energy).__name__}")
    x0, x1, y0, y1 = _check_bounds(bounds)
    check_int(n, "n", low=2)
    xs = x0 + (torch.arange(n, dtype=torch.float64) + 0.5) * (x1 - x0) / n
    ys = y0 + (torch.arange(n, dtype=torch.float64) + 0.5) * (y1 - y0) / n
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1).float()
    u = torch.cat([energy(pts[i:i + chunk]).double() for i in range(0, len(pts), chunk)])
    return xs, ys, u.reshape(n, n)


def grid_log_partition(energy: Energy, bounds, n: int = 400) -> float:
    """``log Z = log ∫ exp(−U)`` over ``bounds`` by the midpoint rule on an ``n × n`` grid (float64)."""
    xs, ys, u = grid_energy(energy, bounds, n)
    x0, x1, y0, y1 = _check_bounds(bounds)
    cell = (x1 - x0) * (y1 - y0) / (n * n)
    return float(torch.logsumexp(-u.reshape(-1), dim=0)) + math.log(cell)


@torch.no_grad()
def grid_log_likelihood(energy: Energy, test_points: Tensor, bounds, n: int = 400) -> Tensor:
    """Exact log-likelihood ``−U(x) − log Z`` of a 2-D energy model, ``[m]`` float64.

    ``test_points`` float ``[m, 2]``; ``Z`` is integrated over ``bounds = (xmin, xmax, ymin, ymax)`` by
    the midpoint rule on ``n × n`` cells (the model is taken to live on that box). Raises
    TypeError/ValueError for a non-callable energy, bad points, bad bounds or ``n < 2``.
    """
    if not callable(energy):
        raise TypeError(f"energy must be callable, got {type(energy).__name__}")
    check_tensor(test_points, "test_points", kind="float", ndim=2, shape=(None, 2), finite=True)
    log_z = grid_log_partition(energy, bounds, n)
    return -energy(test_points.float()).double() - log_z
