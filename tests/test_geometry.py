"""Tests for kexue.geometry: curvature of known surfaces and spacetimes, an independent brute-force
reference for non-diagonal metrics, numerical geodesics and parallel transport, bad inputs."""

import time

import numpy as np
import pytest
import sympy as sp

from kexue import geometry as geo

u, v, w, t = sp.symbols("u v w t")
theta, phi, r = sp.symbols("theta phi r")
SPHERE = sp.diag(1, sp.sin(theta) ** 2)


def kerr_metric(charge: bool = False):
    tt, rr, th, ph = sp.symbols("t r theta phi")
    M, a, Q = sp.symbols("M a Q", positive=True)
    sigma = rr**2 + a**2 * sp.cos(th) ** 2
    delta = rr**2 - 2 * M * rr + a**2 + (Q**2 if charge else 0)
    s2 = sp.sin(th) ** 2
    g = sp.zeros(4)
    g[0, 0] = -(delta - a**2 * s2) / sigma
    g[0, 3] = g[3, 0] = -a * s2 * (rr**2 + a**2 - delta) / sigma
    g[1, 1] = sigma / delta
    g[2, 2] = sigma
    g[3, 3] = s2 * ((rr**2 + a**2) ** 2 - delta * a**2 * s2) / sigma
    return g, [tt, rr, th, ph]


def brute_force(g: sp.Matrix, coords, point: dict):
    """Γ and R^a_{bcd} straight from the definitions (no simplification), evaluated at a point."""
    n = g.rows
    ginv = g.inv()
    gam = [[[sum(ginv[a, d] * (sp.diff(g[d, c], coords[b]) + sp.diff(g[d, b], coords[c])
                               - sp.diff(g[b, c], coords[d])) for d in range(n)) / 2
             for c in range(n)] for b in range(n)] for a in range(n)]
    R = np.zeros((n,) * 4, dtype=object)
    for a in range(n):
        for b in range(n):
            for c in range(n):
                for d in range(n):
                    e = (sp.diff(gam[a][d][b], coords[c]) - sp.diff(gam[a][c][b], coords[d])
                         + sum(gam[a][c][k] * gam[k][d][b] - gam[a][d][k] * gam[k][c][b] for k in range(n)))
                    R[a, b, c, d] = sp.nsimplify(e.subs(point))
    G = np.array([[[gam[a][b][c].subs(point) for c in range(n)] for b in range(n)] for a in range(n)],
                 dtype=object)
    return G, R


def is_zero_array(arr) -> bool:
    return all(x == 0 for x in sp.flatten(arr))


# ------------------------------------------------------------------ curvature of known metrics
def test_sphere():
    G = geo.christoffel(SPHERE, [theta, phi])
    assert sp.simplify(G[0, 1, 1] + sp.sin(theta) * sp.cos(theta)) == 0
    assert sp.simplify(G[1, 0, 1] - sp.cot(theta)) == 0 and G[1, 0, 1] == G[1, 1, 0]
    assert G[0, 0, 0] == 0 and G[1, 1, 1] == 0
    R = geo.riemann(SPHERE, [theta, phi])
    assert sp.simplify(R[0, 1, 0, 1] - sp.sin(theta) ** 2) == 0  # positive curvature convention
    assert sp.simplify(R[1, 0, 0, 1] + 1) == 0
    assert sp.simplify(geo.ricci(SPHERE, [theta, phi]).tomatrix() - SPHERE) == sp.zeros(2)
    assert geo.ricci_scalar(SPHERE, [theta, phi]) == 2
    assert geo.gaussian_curvature(SPHERE, [theta, phi]) == 1
    assert is_zero_array(geo.einstein(SPHERE, [theta, phi]))


def test_radius_and_three_sphere():
    a = sp.symbols("a", positive=True)
    assert sp.simplify(geo.gaussian_curvature(a**2 * SPHERE, [theta, phi]) - 1 / a**2) == 0
    chi = sp.symbols("chi")
    g3 = sp.diag(1, sp.sin(chi) ** 2, sp.sin(chi) ** 2 * sp.sin(theta) ** 2)  # unit 3-sphere
    coords = [chi, theta, phi]
    assert sp.simplify(geo.ricci(g3, coords).tomatrix() - 2 * g3) == sp.zeros(3)
    assert geo.ricci_scalar(g3, coords) == 6
    assert sp.simplify(geo.einstein(g3, coords).tomatrix() + g3) == sp.zeros(3)  # G = Ric − 3g = −g


@pytest.mark.parametrize("g, coords", [
    (sp.diag(1, 1) / v**2, [u, v]),                                   # upper half-plane
    (4 * sp.eye(2) / (1 - u**2 - v**2) ** 2, [u, v]),                 # Poincaré disk
    (sp.diag(1, sp.sinh(r) ** 2), [r, phi]),                           # geodesic polar coordinates
])
def test_hyperbolic_plane(g, coords):
    assert geo.gaussian_curvature(g, coords) == -1


def test_flat_polar_and_spherical_coordinates():
    polar = sp.diag(1, r**2)
    assert is_zero_array(geo.riemann(polar, [r, phi]))
    assert geo.gaussian_curvature(polar, [r, phi]) == 0
    g3 = sp.diag(1, r**2, r**2 * sp.sin(theta) ** 2)
    coords = [r, theta, phi]
    G = geo.christoffel(g3, coords)
    expected = {(0, 1, 1): -r, (0, 2, 2): -r * sp.sin(theta) ** 2, (1, 0, 1): 1 / r,
                (1, 2, 2): -sp.sin(theta) * sp.cos(theta), (2, 0, 2): 1 / r, (2, 1, 2): sp.cot(theta)}
    for a in range(3):
        for b in range(3):
            for c in range(3):
                want = expected.get((a, b, c), expected.get((a, c, b), 0))
                assert sp.simplify(G[a, b, c] - want) == 0, (a, b, c)
    assert is_zero_array(geo.riemann(g3, coords))


def test_torus_closed_form():
    R, a = sp.symbols("R a", positive=True)
    g = sp.diag(a**2, (R + a * sp.cos(v)) ** 2)
    K = geo.gaussian_curvature(g, [v, u])
    assert sp.simplify(K - sp.cos(v) / (a * (R + a * sp.cos(v)))) == 0


def test_trig_rewrites():
    assert sp.simplify(geo.gaussian_curvature(sp.diag(1, sp.tan(r) ** 2), [r, phi]) + 2 / sp.cos(r) ** 2) == 0
    assert geo.gaussian_curvature(sp.diag(1, sp.sin(2 * r) ** 2), [r, phi]) == 4


def test_non_diagonal_against_brute_force():
    g = sp.Matrix([[1 + u**2, u * v, 0], [u * v, 2 + v**2, w], [0, w, 3 + w**2 + u]])
    coords = [u, v, w]
    point = {u: sp.Rational(1, 3), v: sp.Rational(-2, 5), w: sp.Rational(3, 7)}
    G_ref, R_ref = brute_force(g, coords, point)
    G = geo.christoffel(g, coords)
    R = geo.riemann(g, coords)
    for idx in np.ndindex(3, 3, 3):
        assert sp.nsimplify(G[idx].subs(point) - G_ref[idx]) == 0
    for idx in np.ndindex(3, 3, 3, 3):
        assert sp.nsimplify(R[idx].subs(point) - R_ref[idx]) == 0
    Ric = geo.ricci(g, coords)
    for b in range(3):
        for d in range(3):
            assert sp.nsimplify(Ric[b, d].subs(point) - sum(R_ref[a, b, a, d] for a in range(3))) == 0


def test_non_diagonal_2d_brioschi():
    """Gaussian curvature of a non-orthogonal 2-D metric vs the Brioschi formula (E, F, G)."""
    E, F, Gm = 1 + u**2, u * v, 1 + v**2  # the graph z = (u² + v²)/2
    g = sp.Matrix([[E, F], [F, Gm]])
    d = sp.diff
    m1 = sp.Matrix([[-d(E, v, 2) / 2 + d(F, u, v) - d(Gm, u, 2) / 2, d(E, u) / 2, d(F, u) - d(E, v) / 2],
                    [d(F, v) - d(Gm, u) / 2, E, F], [d(Gm, v) / 2, F, Gm]])
    m2 = sp.Matrix([[0, d(E, v) / 2, d(Gm, u) / 2], [d(E, v) / 2, E, F], [d(Gm, u) / 2, F, Gm]])
    brioschi = (m1.det() - m2.det()) / (E * Gm - F**2) ** 2
    K = geo.gaussian_curvature(g, [u, v])
    assert sp.simplify(K - brioschi) == 0
    assert sp.simplify(K - 1 / (1 + u**2 + v**2) ** 2) == 0


def test_conformal_metric_with_undefined_function():
    f = sp.Function("f")(u, v)
    K = geo.gaussian_curvature(f * sp.eye(2), [u, v])
    lap_log = sp.diff(sp.log(f), u, 2) + sp.diff(sp.log(f), v, 2)
    assert sp.simplify(K + lap_log / (2 * f)) == 0
    # the formula of the original Part 6 (−∇²f/f + ½|∇f/f|², as R^0_101) is not this
    blog = -(sp.diff(f, u, 2) + sp.diff(f, v, 2)) / f + ((sp.diff(f, u) / f) ** 2 + (sp.diff(f, v) / f) ** 2) / 2
    R0101 = geo.riemann(f * sp.eye(2), [u, v])[0, 1, 0, 1]
    assert sp.simplify(R0101 + lap_log / 2) == 0
    assert sp.simplify(R0101 - blog) != 0
    # non-trig functions take the expression path: exp(u) (du² + dv²) is flat
    assert geo.gaussian_curvature(sp.exp(u) * sp.eye(2), [u, v]) == 0
    # stereographic sphere
    assert geo.gaussian_curvature(4 * sp.eye(2) / (1 + u**2 + v**2) ** 2, [u, v]) == 1


def test_fisher_metric_of_gaussian():
    mu = sp.symbols("mu")
    sigma = sp.symbols("sigma", positive=True)
    assert geo.gaussian_curvature(sp.diag(1, 2) / sigma**2, [mu, sigma]) == sp.Rational(-1, 2)


def test_schwarzschild_ricci_flat_and_not_flat():
    M = sp.symbols("M", positive=True)
    f = 1 - 2 * M / r
    g = sp.diag(-f, 1 / f, r**2, r**2 * sp.sin(theta) ** 2)
    coords = [t, r, theta, phi]
    assert is_zero_array(geo.ricci(g, coords))
    assert is_zero_array(geo.einstein(g, coords))
    assert geo.ricci_scalar(g, coords) == 0
    R = geo.riemann(g, coords)
    assert sp.simplify(R[0, 1, 0, 1] - 2 * M / (r**2 * (r - 2 * M))) == 0  # tidal term: not flat
    # Kretschmann scalar R_abcd R^abcd = 48 M²/r⁶
    ginv = g.inv()
    low = [[[[sum(g[a, e] * R[e, b, c, d] for e in range(4)) for d in range(4)] for c in range(4)]
            for b in range(4)] for a in range(4)]
    up = [[[[sum(ginv[b, e] * ginv[c, f_] * ginv[d, h] * R[a, e, f_, h]
                 for e in range(4) for f_ in range(4) for h in range(4) if R[a, e, f_, h] != 0)
             for d in range(4)] for c in range(4)] for b in range(4)] for a in range(4)]
    kretsch = sum(low[a][b][c][d] * up[a][b][c][d] for a in range(4) for b in range(4)
                  for c in range(4) for d in range(4))
    assert sp.simplify(kretsch - 48 * M**2 / r**6) == 0


def test_kerr_ricci_flat_fast():
    g, coords = kerr_metric()
    t0 = time.perf_counter()
    Ric = geo.ricci(g, coords)
    seconds = time.perf_counter() - t0
    assert is_zero_array(Ric)
    assert seconds < 15, f"Kerr Ricci took {seconds:.1f} s"


def test_kerr_newman_is_not_ricci_flat():
    g, coords = kerr_metric(charge=True)
    Ric = geo.ricci(g, coords)
    assert not is_zero_array(Ric)
    Q = sp.symbols("Q", positive=True)
    assert all(sp.simplify(x.subs(Q, 0)) == 0 for x in sp.flatten(Ric))
    assert sp.simplify(geo.ricci_scalar(g, coords)) == 0  # electrovacuum: traceless


def test_einstein_vanishes_in_2d():
    g = sp.Matrix([[1 + u**2, u * v], [u * v, 1 + v**2]])
    assert is_zero_array(geo.einstein(g, [u, v]))


def test_one_dimension_is_flat():
    assert is_zero_array(geo.riemann(sp.Matrix([[1 + u**2]]), [u]))


# ------------------------------------------------------------------ geodesics and transport
def test_geodesic_equations_sphere():
    eqs = geo.geodesic_equations(SPHERE, [theta, phi], t)
    th, ph = sp.Function("theta")(t), sp.Function("phi")(t)
    assert eqs[0].lhs == sp.diff(th, t, 2)
    assert sp.simplify(eqs[0].rhs - sp.sin(th) * sp.cos(th) * sp.diff(ph, t) ** 2) == 0
    assert sp.simplify(eqs[1].rhs + 2 * sp.cot(th) * sp.diff(th, t) * sp.diff(ph, t)) == 0


def _embed(x):
    th, ph = x[..., 0], x[..., 1]
    return np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=-1)


def test_geodesic_stays_on_great_circle():
    x0, v0 = np.array([1.0, 0.3]), np.array([0.4, 0.7])
    ts, xs, vs = geo.geodesic(SPHERE, [theta, phi], x0, v0, (0.0, 3.0), n=100)
    assert ts.shape == (100,) and xs.shape == (100, 2) and vs.shape == (100, 2)
    p = _embed(xs)
    h = 1e-6
    tangent = (_embed(x0 + h * v0) - _embed(x0 - h * v0)) / (2 * h)
    normal = np.cross(p[0], tangent)
    assert np.abs(p @ normal).max() < 1e-8
    speed2 = vs[:, 0] ** 2 + np.sin(xs[:, 0]) ** 2 * vs[:, 1] ** 2
    assert np.abs(speed2 - speed2[0]).max() < 1e-9
    # arc length travelled = speed × time: the angle between start and end points
    assert abs(np.arccos(np.clip(p[0] @ p[-1], -1, 1)) - np.sqrt(speed2[0]) * 3.0) < 1e-7


def test_parallel_transport_norm_and_holonomy():
    th0 = 0.3
    s = sp.symbols("s")
    A0 = np.array([1.0, 0.0])  # unit vector along e_theta
    ts, A = geo.parallel_transport(SPHERE, [theta, phi], [sp.Float(th0), s], A0, (0.0, 2 * np.pi), n=50)
    norm2 = A[:, 0] ** 2 + np.sin(th0) ** 2 * A[:, 1] ** 2
    assert np.abs(norm2 - 1).max() < 1e-9
    # in the orthonormal frame (e_θ, e_φ / sin θ) the vector turns by the enclosed area 2π(1 − cos θ0)
    angle = np.arctan2(np.sin(th0) * A[-1, 1], A[-1, 0])
    assert abs(abs(angle) - 2 * np.pi * (1 - np.cos(th0))) < 1e-8
    assert round(abs(angle), 6) == 0.280629
    # a callable curve gives the same result
    curve = lambda tt: (np.array([th0, tt]), np.array([0.0, 1.0]))  # noqa: E731
    _, B = geo.parallel_transport(SPHERE, [theta, phi], curve, A0, (0.0, 2 * np.pi), n=50)
    assert np.allclose(A, B, atol=1e-9)


def test_parallel_transport_flat_is_trivial():
    s = sp.symbols("s")
    # polar coordinates, straight line x = 1, y = s: the Cartesian components must stay constant
    ts, A = geo.parallel_transport(sp.diag(1, r**2), [r, phi], [sp.sqrt(1 + s**2), sp.atan(s)],
                                   np.array([1.0, 0.0]), (0.0, 2.0), n=20)
    rr, pp = np.sqrt(1 + ts**2), np.arctan(ts)
    ax = A[:, 0] * np.cos(pp) - rr * A[:, 1] * np.sin(pp)
    ay = A[:, 0] * np.sin(pp) + rr * A[:, 1] * np.cos(pp)
    assert np.allclose(ax, 1.0, atol=1e-9) and np.allclose(ay, 0.0, atol=1e-9)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("func", [geo.christoffel, geo.riemann, geo.ricci, geo.ricci_scalar, geo.einstein])
def test_bad_metric(func):
    with pytest.raises(TypeError, match="g"):
        func([[1, 0], [0, 1]], [u, v])
    with pytest.raises(ValueError, match="square"):
        func(sp.Matrix([[1, 0, 0], [0, 1, 0]]), [u, v])
    with pytest.raises(ValueError, match="symmetric"):
        func(sp.Matrix([[1, u], [0, 1]]), [u, v])
    with pytest.raises(ValueError, match="coords"):
        func(sp.eye(2), [u])
    with pytest.raises(ValueError, match="coords"):
        func(sp.eye(2), [u, u])
    with pytest.raises(TypeError, match="coords"):
        func(sp.eye(2), [u, 1])
    with pytest.raises(TypeError, match="coords"):
        func(sp.eye(2), "uv")
    with pytest.raises(ValueError, match="singular"):
        func(sp.Matrix([[1, u], [u, u**2]]), [u, v])
    with pytest.raises(ValueError, match="singular"):
        func(sp.Matrix([[sp.sin(u) ** 2, 1], [1, 1 / sp.sin(u) ** 2]]), [u, v])  # det ≡ 0 via trig


def test_bad_gaussian_curvature():
    with pytest.raises(ValueError, match="2 × 2"):
        geo.gaussian_curvature(sp.eye(3), [u, v, w])
    with pytest.raises(TypeError, match="g"):
        geo.gaussian_curvature("g", [u, v])


def test_bad_geodesic_inputs():
    with pytest.raises(ValueError, match="t"):
        geo.geodesic_equations(SPHERE, [theta, phi], theta)
    with pytest.raises(TypeError, match="t"):
        geo.geodesic_equations(SPHERE, [theta, phi], "t")
    args = (SPHERE, [theta, phi])
    with pytest.raises(ValueError, match="x0"):
        geo.geodesic(*args, [1.0], [0.0, 1.0], (0, 1))
    with pytest.raises(ValueError, match="v0"):
        geo.geodesic(*args, [1.0, 0.0], [0.0, np.nan], (0, 1))
    with pytest.raises(ValueError, match="t_span"):
        geo.geodesic(*args, [1.0, 0.0], [0.0, 1.0], (1, 1))
    with pytest.raises(ValueError, match="t_span"):
        geo.geodesic(*args, [1.0, 0.0], [0.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="n"):
        geo.geodesic(*args, [1.0, 0.0], [0.0, 1.0], (0, 1), n=1)
    a = sp.symbols("a")
    with pytest.raises(ValueError, match="symbols other than the coordinates"):
        geo.geodesic(sp.diag(1, a * sp.sin(theta) ** 2), [theta, phi], [1.0, 0.0], [0.0, 1.0], (0, 1))


def test_bad_parallel_transport_inputs():
    s, q = sp.symbols("s q")
    args = (SPHERE, [theta, phi])
    with pytest.raises(ValueError, match="A0"):
        geo.parallel_transport(*args, [1, s], [1.0, 0.0, 0.0], (0, 1))
    with pytest.raises(ValueError, match="curve"):
        geo.parallel_transport(*args, [s], [1.0, 0.0], (0, 1))
    with pytest.raises(ValueError, match="curve"):
        geo.parallel_transport(*args, [q, s], [1.0, 0.0], (0, 1))
    with pytest.raises(ValueError, match="t_span"):
        geo.parallel_transport(*args, [1, s], [1.0, 0.0], (0, np.inf))
