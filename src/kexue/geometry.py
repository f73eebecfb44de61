"""Riemannian geometry from the metric, in plain sympy (chapter: notebooks/08-riemann-geometry.ipynb).

Everything starts from a metric ``ds² = g_{μν} dx^μ dx^ν`` given as a symmetric ``n × n``
``sympy.Matrix`` ``g`` and a sequence of ``n`` coordinate ``Symbol``s ``coords``.

Conventions (those of Misner–Thorne–Wheeler and of ``sympy.diffgeom``; the unit sphere has
positive curvature):

* Christoffel symbols ``G[a, b, c] = Γ^a_{bc} = ½ g^{ad} (∂_b g_{dc} + ∂_c g_{db} − ∂_d g_{bc})``;
* Riemann tensor ``R[a, b, c, d] = R^a_{bcd} = ∂_c Γ^a_{db} − ∂_d Γ^a_{cb} + Γ^a_{ce} Γ^e_{db}
  − Γ^a_{de} Γ^e_{cb}``;
* Ricci tensor ``Ric[b, d] = R^a_{bad}``, scalar ``R = g^{bd} Ric[b, d]``, Einstein tensor
  ``G_{bd} = Ric_{bd} − ½ R g_{bd}``; Gaussian curvature (n = 2) ``K = R / 2``.

How it stays fast (the Kerr metric's Ricci tensor in one or two seconds on 2 CPU cores): every expression is first
rewritten as a rational function of the coordinates, the parameters and the symbols
``s = sin x``, ``c = cos x`` (and ``sh = sinh x``, ``ch = cosh x``) for each coordinate ``x``;
derivatives use the chain rule (``∂_x s = c``, ``∂_x c = −s``). When the metric is a rational
function of those symbols over the rationals (sphere, Schwarzschild, Kerr, ...), the arithmetic
runs on sparse polynomial fractions (``sympy.polys.fields``, kept in lowest terms by gcds); other
metrics (undefined functions such as ``f(u, v)``, ``exp``, roots) use sympy expressions with one
``cancel`` per component. Either way each component's numerator and denominator are reduced
modulo ``s² + c² − 1`` (``ch² − sh² − 1``), which makes "is this component zero?" an exact test;
on output the shorter of the two reductions (eliminating ``c²`` or ``s²``) is returned.
The inverse metric is computed block by block; only ``Γ^a_{bc}`` with ``b ≤ c`` and ``R^a_{bcd}``
with ``c < d`` are computed; the Ricci tensor is contracted directly from the Christoffel symbols
(``Γ^a_{ab}`` summed once), for ``b ≤ d`` only. No blind ``simplify`` is ever called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from ._checks import check_int, check_type

__all__ = [
    "christoffel",
    "riemann",
    "ricci",
    "ricci_scalar",
    "einstein",
    "gaussian_curvature",
    "geodesic_equations",
    "geodesic",
    "parallel_transport",
]

_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)
_HYP = (sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech, sp.csch)


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------
def _check_metric(g: Any, coords: Any) -> tuple[sp.Matrix, tuple[sp.Symbol, ...]]:
    check_type(g, "g", sp.MatrixBase)
    if g.rows != g.cols:
        raise ValueError(f"g must be a square matrix, got shape {g.shape}")
    if g.rows < 1:
        raise ValueError("g must be at least 1 × 1")
    if isinstance(coords, (str, sp.Basic)) or not isinstance(coords, Sequence):
        raise TypeError(f"coords must be a sequence of sympy Symbols, got {type(coords).__name__}")
    coords = tuple(coords)
    for i, x in enumerate(coords):
        if not isinstance(x, sp.Symbol):
            raise TypeError(f"coords[{i}] must be a sympy Symbol, got {type(x).__name__}")
    if len(set(coords)) != len(coords):
        raise ValueError(f"coords must be distinct, got {coords}")
    if len(coords) != g.rows:
        raise ValueError(f"coords must have one symbol per dimension of g ({g.rows}), got {len(coords)}")
    for i in range(g.rows):
        for j in range(i + 1, g.rows):
            if sp.cancel(sp.expand(g[i, j] - g[j, i])) != 0:
                raise ValueError(f"g must be symmetric: g[{i}, {j}] != g[{j}, {i}]")
    return sp.Matrix(g), coords


# --------------------------------------------------------------------------------------------
# The rational-function algebra
# --------------------------------------------------------------------------------------------
class _Algebra:
    """Rational functions in coordinates, parameters and sin/cos (sinh/cosh) of the coordinates.

    Two back ends share this interface: sparse polynomial fractions (``sympy.polys.fields``, fast,
    used whenever the metric is a rational function of its symbols once sin/cos are renamed) and
    sympy expressions with ``cancel`` (for metrics with undefined functions such as ``f(u, v)``).
    """

    def __init__(self, coords: tuple[sp.Symbol, ...], entries: list[sp.Expr]) -> None:
        self.coords = coords
        self.trig: dict[sp.Symbol, tuple[sp.Dummy, sp.Dummy]] = {}
        self.hyp: dict[sp.Symbol, tuple[sp.Dummy, sp.Dummy]] = {}
        for e in entries:
            for f in sp.sympify(e).atoms(sp.Function):
                if isinstance(f, _TRIG + _HYP):
                    for x in f.args[0].free_symbols & set(coords):
                        table = self.trig if isinstance(f, _TRIG) else self.hyp
                        if x not in table:
                            table[x] = (sp.Dummy(f"s_{x}"), sp.Dummy(f"c_{x}"))
        self.forward: dict[sp.Expr, sp.Expr] = {}
        self.backward: dict[sp.Expr, sp.Expr] = {}
        for x, (s, c) in self.trig.items():
            self.forward.update({sp.sin(x): s, sp.cos(x): c})
            self.backward.update({s: sp.sin(x), c: sp.cos(x)})
        for x, (s, c) in self.hyp.items():
            self.forward.update({sp.sinh(x): s, sp.cosh(x): c})
            self.backward.update({s: sp.sinh(x), c: sp.cosh(x)})
        # Relations s² + c² − 1 (trig) and c² − s² − 1 (hyperbolic): the numerators of results are
        # reduced modulo them, which makes the zero test exact.
        self.relations = [(c, c**2 + s**2 - 1) for s, c in self.trig.values()]
        self.relations += [(c, c**2 - s**2 - 1) for s, c in self.hyp.values()]
        self.zero = sp.S.Zero
        self.trig_s = {s for s, _ in self.trig.values()} | {s for s, _ in self.hyp.values()}

    def _rename(self, e: sp.Expr) -> sp.Expr:
        e = sp.sympify(e)
        if self.forward and e.has(*_TRIG, *_HYP):
            e = sp.expand_trig(e)
            if e.has(sp.tan, sp.cot, sp.sec, sp.csc):
                e = e.replace(sp.tan, lambda u: sp.sin(u) / sp.cos(u))
                e = e.replace(sp.cot, lambda u: sp.cos(u) / sp.sin(u))
                e = e.replace(sp.sec, lambda u: 1 / sp.cos(u))
                e = e.replace(sp.csc, lambda u: 1 / sp.sin(u))
            if e.has(sp.tanh, sp.coth, sp.sech, sp.csch):
                e = e.replace(sp.tanh, lambda u: sp.sinh(u) / sp.cosh(u))
                e = e.replace(sp.coth, lambda u: sp.cosh(u) / sp.sinh(u))
                e = e.replace(sp.sech, lambda u: 1 / sp.cosh(u))
                e = e.replace(sp.csch, lambda u: 1 / sp.sinh(u))
        return e.xreplace(self.forward) if self.forward else e

    def _chain(self, e: Any, x: sp.Symbol, diff: Callable[[Any, sp.Symbol], Any]) -> Any:
        d = diff(e, x)
        if x in self.trig:
            s, c = self.trig[x]
            d = d + self._conv(c) * diff(e, s) - self._conv(s) * diff(e, c)
        if x in self.hyp:
            s, c = self.hyp[x]
            d = d + self._conv(c) * diff(e, s) + self._conv(s) * diff(e, c)
        return d

    def _conv(self, sym: sp.Symbol) -> Any:
        return sym

    def sum(self, terms: list) -> Any:
        total = self.zero
        for term in terms:
            total = total + term
        return total


class _ExprAlgebra(_Algebra):
    """Back end on sympy expressions: ``cancel`` per component, relations via ``rem``."""

    def to_alg(self, e: sp.Expr) -> sp.Expr:
        return self.simp(self._rename(e))

    def to_expr(self, e: sp.Expr) -> sp.Expr:
        return e.xreplace(self.backward) if self.backward else e

    def diff(self, e: sp.Expr, x: sp.Symbol) -> sp.Expr:
        if e == 0:
            return sp.S.Zero
        return self._chain(e, x, sp.diff)

    def sum(self, terms: list) -> sp.Expr:
        return sp.Add(*terms)

    def _reduce(self, p: sp.Expr) -> sp.Expr:
        for c, rel in self.relations:
            if p.has(c):
                p = sp.rem(sp.expand(p), rel, c)
        return p

    def simp(self, e: sp.Expr) -> sp.Expr:
        if e == 0:
            return sp.S.Zero
        e = sp.cancel(e)
        if self.relations and e != 0:
            num, den = sp.fraction(e)
            red = self._reduce(num)
            if red == 0:
                return sp.S.Zero
            if len(sp.Add.make_args(sp.expand(red))) < len(sp.Add.make_args(sp.expand(num))):
                e = sp.cancel(red / den)
        return e


class _FracAlgebra(_Algebra):
    """Back end on sparse multivariate fractions over QQ (``sympy.polys.fields``)."""

    def __init__(self, coords: tuple[sp.Symbol, ...], entries: list[sp.Expr]) -> None:
        super().__init__(coords, entries)
        renamed = [self._rename(e) for e in entries]
        syms = set(coords).union(*(e.free_symbols for e in renamed), self.backward)
        gens = sorted(syms, key=lambda s: (s not in self.backward, str(s)))
        self.field, *elems = sp.polys.fields.field(gens, sp.QQ)
        self.gen = dict(zip(gens, elems))
        self.zero = self.field.zero
        self.rels = [self.field.from_expr(rel).numer for _, rel in self.relations]
        self._entries = [self.field.from_expr(e) for e in renamed]  # raises if not rational over QQ
        # The same field with sin before cos: reducing there eliminates s² instead of c², which
        # sometimes gives a much shorter result (used once, on output).
        alt = sorted(syms, key=lambda s: (s not in self.backward, s not in self.trig_s, str(s)))
        self.alt_field = sp.polys.fields.field(alt, sp.QQ)[0] if self.backward else None
        self.alt_rels = [self.alt_field.from_expr(rel).numer for _, rel in self.relations] if self.backward else []

    @staticmethod
    def usable(coords: tuple[sp.Symbol, ...], entries: list[sp.Expr]) -> "_FracAlgebra | None":
        try:
            alg = _FracAlgebra(coords, entries)
        except (ValueError, TypeError, NotImplementedError, sp.polys.polyerrors.PolynomialError,
                sp.polys.polyerrors.CoercionFailed, sp.polys.polyerrors.GeneratorsError):
            return None
        return alg

    def _conv(self, sym: sp.Symbol) -> Any:
        return self.gen[sym]

    def to_alg(self, e: sp.Expr) -> Any:
        return self.simp(self.field.from_expr(self._rename(e)))

    def to_expr(self, e: Any) -> sp.Expr:
        if self.alt_field is not None and e:
            f = e.set_field(self.alt_field)
            f = self.alt_field.new(f.numer.rem(self.alt_rels), f.denom.rem(self.alt_rels))
            if len(f.numer) + len(f.denom) < len(e.numer) + len(e.denom):
                e = f
        out = e.as_expr()
        return out.xreplace(self.backward) if self.backward else out

    def diff(self, e: Any, x: sp.Symbol) -> Any:
        if not e:
            return self.zero
        return self._chain(e, x, lambda f, s: f.diff(self.gen[s]))

    def simp(self, e: Any) -> Any:
        if not self.rels or not e:
            return e
        num = e.numer.rem(self.rels)
        if not num:
            return self.zero
        return self.field.new(num, e.denom.rem(self.rels))


def _algebra(coords: tuple[sp.Symbol, ...], entries: list[sp.Expr]) -> _Algebra:
    return _FracAlgebra.usable(coords, entries) or _ExprAlgebra(coords, entries)


def _inverse(g: list[list[Any]], alg: _Algebra) -> list[list[Any]]:
    """Inverse metric, block by block (connected components of the non-zero pattern),
    each block by Gauss–Jordan elimination with every entry kept in reduced form."""
    n = len(g)
    seen: set[int] = set()
    inv = [[alg.zero] * n for _ in range(n)]
    for start in range(n):
        if start in seen:
            continue
        block, stack = [], [start]
        seen.add(start)
        while stack:
            i = stack.pop()
            block.append(i)
            for j in range(n):
                if j not in seen and g[i][j] != 0:
                    seen.add(j)
                    stack.append(j)
        block.sort()
        m = len(block)
        one = alg.to_alg(sp.S.One)
        aug = [[g[i][j] for j in block] + [one if k == a else alg.zero for k in range(m)]
               for a, i in enumerate(block)]
        for col in range(m):
            piv = next((r for r in range(col, m) if aug[r][col] != 0), None)
            if piv is None:
                raise ValueError("g must be non-singular (its determinant simplifies to 0)")
            aug[col], aug[piv] = aug[piv], aug[col]
            p = aug[col][col]
            aug[col] = [alg.simp(v / p) if v != 0 else v for v in aug[col]]
            for r in range(m):
                f = aug[r][col]
                if r != col and f != 0:
                    aug[r] = [alg.simp(v - f * w) if w != 0 else v for v, w in zip(aug[r], aug[col])]
        for a, i in enumerate(block):
            for b, j in enumerate(block):
                inv[i][j] = aug[a][m + b]
    return inv


class _Geometry:
    """Shared intermediate results for one metric (all in the algebra's variables)."""

    def __init__(self, g: Any, coords: Any) -> None:
        g, coords = _check_metric(g, coords)
        self.n = n = g.rows
        self.coords = coords
        self.alg = alg = _algebra(coords, list(g))
        self.g = [[alg.to_alg(g[i, j]) if j >= i else None for j in range(n)] for i in range(n)]
        for i in range(n):
            for j in range(i):
                self.g[i][j] = self.g[j][i]
        self.ginv = _inverse(self.g, alg)
        self._gamma: list[list[list[sp.Expr]]] | None = None
        self._dgamma: dict[tuple[int, int, int, int], sp.Expr] = {}

    # Christoffel symbols Γ^a_{bc}, computed for b ≤ c and mirrored.
    @property
    def gamma(self) -> list[list[list[sp.Expr]]]:
        if self._gamma is None:
            n, alg, g, x = self.n, self.alg, self.g, self.coords
            dg = [[[alg.diff(g[i][j], x[k]) if j >= i else None for k in range(n)] for j in range(n)]
                  for i in range(n)]

            def d(i: int, j: int, k: int) -> sp.Expr:
                return dg[i][j][k] if j >= i else dg[j][i][k]

            first = [[[None] * n for _ in range(n)] for _ in range(n)]  # Γ_{d b c}
            for dd in range(n):
                for b in range(n):
                    for c in range(b, n):
                        first[dd][b][c] = (d(dd, c, b) + d(dd, b, c) - d(b, c, dd)) / 2
            gam = [[[alg.zero] * n for _ in range(n)] for _ in range(n)]
            for a in range(n):
                for b in range(n):
                    for c in range(b, n):
                        terms = [self.ginv[a][dd] * first[dd][b][c] for dd in range(n)
                                 if self.ginv[a][dd] != 0 and first[dd][b][c] != 0]
                        val = alg.simp(alg.sum(terms)) if terms else alg.zero
                        gam[a][b][c] = gam[a][c][b] = val
            self._gamma = gam
        return self._gamma

    def dgamma(self, a: int, b: int, c: int, k: int) -> sp.Expr:
        """∂_k Γ^a_{bc} (cached, b ≤ c canonical)."""
        if b > c:
            b, c = c, b
        key = (a, b, c, k)
        if key not in self._dgamma:
            self._dgamma[key] = self.alg.diff(self.gamma[a][b][c], self.coords[k])
        return self._dgamma[key]

    def riemann(self) -> list:
        n, G = self.n, self.gamma
        R = [[[[self.alg.zero] * n for _ in range(n)] for _ in range(n)] for _ in range(n)]
        for a in range(n):
            for b in range(n):
                for c in range(n):
                    for d in range(c + 1, n):
                        terms = [self.dgamma(a, d, b, c), -self.dgamma(a, c, b, d)]
                        terms += [G[a][c][e] * G[e][d][b] - G[a][d][e] * G[e][c][b] for e in range(n)]
                        val = self.alg.simp(self.alg.sum(terms))
                        R[a][b][c][d] = val
                        R[a][b][d][c] = -val
        return R

    def ricci(self) -> list[list[sp.Expr]]:
        n, G, alg = self.n, self.gamma, self.alg
        # L_b = Γ^a_{ab} = ∂_b ln √|g|
        L = [alg.simp(alg.sum([G[a][a][b] for a in range(n)])) for b in range(n)]
        dL = {}
        Ric = [[alg.zero] * n for _ in range(n)]
        for b in range(n):
            for d in range(b, n):
                if (b, d) not in dL:
                    dL[(b, d)] = alg.diff(L[b], self.coords[d])
                terms = [self.dgamma(a, d, b, a) for a in range(n)]
                terms.append(-dL[(b, d)])
                terms += [L[e] * G[e][d][b] for e in range(n)]
                terms += [-G[a][d][e] * G[e][a][b] for a in range(n) for e in range(n)]
                val = alg.simp(alg.sum(terms))
                Ric[b][d] = Ric[d][b] = val
        return Ric

    def scalar(self, Ric: list[list[sp.Expr]]) -> sp.Expr:
        n = self.n
        terms = [self.ginv[b][d] * Ric[b][d] for b in range(n) for d in range(n)
                 if self.ginv[b][d] != 0 and Ric[b][d] != 0]
        return self.alg.simp(self.alg.sum(terms)) if terms else self.alg.zero

    def out(self, nested: Any) -> sp.Array:
        return sp.Array(_map_nested(nested, self.alg.to_expr))


def _map_nested(x: Any, f: Callable) -> Any:
    return [_map_nested(y, f) for y in x] if isinstance(x, list) else f(x)


# --------------------------------------------------------------------------------------------
# Public symbolic API
# --------------------------------------------------------------------------------------------
def christoffel(g: sp.Matrix, coords: Sequence[sp.Symbol]) -> sp.Array:
    """Christoffel symbols of the second kind, ``G[a, b, c] = Γ^a_{bc}``, shape ``(n, n, n)``.

    ``g``: symmetric non-singular ``n × n`` ``sympy.Matrix`` (non-diagonal allowed, entries may use
    undefined functions of the coordinates); ``coords``: ``n`` distinct ``Symbol``s.
    Raises ``TypeError`` for a ``g`` that is not a matrix or coordinates that are not symbols and
    ``ValueError`` for a non-square, non-symmetric or singular ``g`` or a wrong number of coordinates.
    """
    geo = _Geometry(g, coords)
    return geo.out(geo.gamma)


def riemann(g: sp.Matrix, coords: Sequence[sp.Symbol]) -> sp.Array:
    """Riemann tensor ``R[a, b, c, d] = R^a_{bcd}``, shape ``(n, n, n, n)`` (MTW sign convention).

    Same inputs and errors as :func:`christoffel`.
    """
    geo = _Geometry(g, coords)
    return geo.out(geo.riemann())


def ricci(g: sp.Matrix, coords: Sequence[sp.Symbol]) -> sp.Array:
    """Ricci tensor ``Ric[b, d] = R^a_{bad}``, shape ``(n, n)``, symmetric.

    Contracted directly from the Christoffel symbols (the full Riemann tensor is never formed).
    Same inputs and errors as :func:`christoffel`.
    """
    geo = _Geometry(g, coords)
    return geo.out(geo.ricci())


def ricci_scalar(g: sp.Matrix, coords: Sequence[sp.Symbol]) -> sp.Expr:
    """Scalar curvature ``R = g^{bd} Ric_{bd}`` (a sympy expression). Errors as :func:`christoffel`."""
    geo = _Geometry(g, coords)
    return geo.alg.to_expr(geo.scalar(geo.ricci()))


def einstein(g: sp.Matrix, coords: Sequence[sp.Symbol]) -> sp.Array:
    """Einstein tensor ``G[b, d] = Ric_{bd} − ½ R g_{bd}``, shape ``(n, n)``.

    Identically zero for every 2-D metric. Errors as :func:`christoffel`.
    """
    geo = _Geometry(g, coords)
    Ric = geo.ricci()
    R = geo.scalar(Ric)
    n = geo.n
    out = [[geo.alg.simp(Ric[b][d] - R * geo.g[b][d] / 2) for d in range(n)] for b in range(n)]
    return geo.out(out)


def gaussian_curvature(g: sp.Matrix, coords: Sequence[sp.Symbol]) -> sp.Expr:
    """Gaussian curvature ``K = R_{0101} / det g = R / 2`` of a 2-D metric (sympy expression).

    Works for any 2-D metric, including ones built from undefined functions such as
    ``f(u, v) (du² + dv²)``. Raises ``ValueError`` unless ``g`` is 2 × 2 (plus the errors of
    :func:`christoffel`).
    """
    check_type(g, "g", sp.MatrixBase)
    if g.shape != (2, 2):
        raise ValueError(f"gaussian_curvature needs a 2 × 2 metric, got shape {g.shape}")
    geo = _Geometry(g, coords)
    return geo.alg.to_expr(geo.alg.simp(geo.scalar(geo.ricci()) / 2))


def geodesic_equations(g: sp.Matrix, coords: Sequence[sp.Symbol], t: sp.Symbol) -> list[sp.Eq]:
    """The geodesic equations ``ẍ^a = −Γ^a_{bc} ẋ^b ẋ^c`` as ``n`` sympy ``Eq``.

    Each coordinate ``x`` becomes the function ``Function(x.name)(t)``; the left-hand sides are
    ``Derivative(x(t), (t, 2))``. ``t`` (a ``Symbol`` not among ``coords``) is an affine parameter.
    Errors as :func:`christoffel`, plus ``ValueError`` if ``t`` is one of the coordinates.
    """
    check_type(t, "t", sp.Symbol)
    geo = _Geometry(g, coords)
    if t in geo.coords:
        raise ValueError(f"t must not be one of the coordinates, got {t}")
    n, G = geo.n, geo.gamma
    funcs = [sp.Function(x.name)(t) for x in geo.coords]
    sub = dict(zip(geo.coords, funcs))
    vel = [sp.diff(f, t) for f in funcs]
    eqs = []
    for a in range(n):
        rhs = -sp.Add(*[geo.alg.to_expr(G[a][b][c]) * vel[b] * vel[c] for b in range(n) for c in range(n)
                        if G[a][b][c] != 0])
        eqs.append(sp.Eq(sp.diff(funcs[a], t, 2), rhs.subs(sub)))
    return eqs


# --------------------------------------------------------------------------------------------
# Numerics: geodesics and parallel transport
# --------------------------------------------------------------------------------------------
def _numeric_gamma(geo: _Geometry) -> Callable[[np.ndarray], np.ndarray]:
    """Γ as a function of a point: ``x [n] -> Γ [n, n, n]`` (float64)."""
    expr = geo.out(geo.gamma)
    free = expr.free_symbols - set(geo.coords)
    if free or any(expr.atoms(sp.core.function.AppliedUndef)):
        raise ValueError(f"g must contain no symbols other than the coordinates for numerics; found {free}")
    f = sp.lambdify(geo.coords, expr.tolist(), modules="numpy")
    n = geo.n

    def gamma(x: np.ndarray) -> np.ndarray:
        out = np.zeros((n, n, n))
        out[...] = np.asarray(f(*x), dtype=float)
        return out

    return gamma


def _check_vector(v: Any, name: str, n: int) -> np.ndarray:
    arr = np.asarray(v, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def _check_span(t_span: Any) -> tuple[float, float]:
    if not isinstance(t_span, Sequence) or len(t_span) != 2:
        raise ValueError(f"t_span must be a pair (t0, t1), got {t_span!r}")
    t0, t1 = (float(t) for t in t_span)
    if not (np.isfinite(t0) and np.isfinite(t1)) or t0 == t1:
        raise ValueError(f"t_span must be two distinct finite numbers, got {t_span!r}")
    return t0, t1


def geodesic(g: sp.Matrix, coords: Sequence[sp.Symbol], x0: Sequence[float], v0: Sequence[float],
             t_span: tuple[float, float], n: int = 200, rtol: float = 1e-10,
             atol: float = 1e-12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate the geodesic equations numerically (``scipy.integrate.solve_ivp``, DOP853).

    ``x0``, ``v0``: initial point and velocity, shape ``[dim]``; ``t_span = (t0, t1)``; ``n`` ≥ 2
    output samples. Returns ``t [n]``, ``x [n, dim]``, ``v [n, dim]``. The metric must be numeric
    apart from the coordinates. Raises ``ValueError`` for wrong shapes, a bad ``t_span`` or ``n``.
    """
    from scipy.integrate import solve_ivp

    geo = _Geometry(g, coords)
    dim = geo.n
    x0 = _check_vector(x0, "x0", dim)
    v0 = _check_vector(v0, "v0", dim)
    t0, t1 = _check_span(t_span)
    n = check_int(n, "n", low=2)
    gamma = _numeric_gamma(geo)

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        x, v = y[:dim], y[dim:]
        return np.concatenate([v, -np.einsum("abc,b,c->a", gamma(x), v, v)])

    ts = np.linspace(t0, t1, n)
    sol = solve_ivp(rhs, (t0, t1), np.concatenate([x0, v0]), t_eval=ts, method="DOP853",
                    rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"geodesic integration failed: {sol.message}")
    return sol.t, sol.y[:dim].T, sol.y[dim:].T


def parallel_transport(g: sp.Matrix, coords: Sequence[sp.Symbol], curve: Any, A0: Sequence[float],
                       t_span: tuple[float, float], n: int = 200, rtol: float = 1e-10,
                       atol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Parallel-transport a vector along a curve: ``dA^a/dt = −Γ^a_{bc} A^b ẋ^c``.

    ``curve``: either a sequence of ``dim`` sympy expressions in one parameter symbol (the
    coordinates along the curve; differentiated symbolically), or a callable ``t -> (x [dim],
    ẋ [dim])``. ``A0``: the vector at ``t0``, shape ``[dim]``. Returns ``t [n]`` and
    ``A [n, dim]``. Raises ``ValueError`` for wrong shapes, a curve with the wrong number of
    components or more than one parameter, a bad ``t_span`` or ``n``.
    """
    from scipy.integrate import solve_ivp

    geo = _Geometry(g, coords)
    dim = geo.n
    A0 = _check_vector(A0, "A0", dim)
    t0, t1 = _check_span(t_span)
    n = check_int(n, "n", low=2)
    gamma = _numeric_gamma(geo)
    if callable(curve):
        path = curve
    else:
        if isinstance(curve, (str, sp.Basic)) or not isinstance(curve, Sequence) or len(curve) != dim:
            raise ValueError(f"curve must be a callable or a sequence of {dim} sympy expressions")
        exprs = [sp.sympify(c) for c in curve]
        params = set().union(*(e.free_symbols for e in exprs))
        if len(params) > 1:
            raise ValueError(f"curve must depend on one parameter only, got {params}")
        s = params.pop() if params else sp.Dummy("t")
        fx = sp.lambdify(s, exprs, modules="numpy")
        fv = sp.lambdify(s, [sp.diff(e, s) for e in exprs], modules="numpy")

        def path(t: float) -> tuple[np.ndarray, np.ndarray]:
            return np.asarray(fx(t), dtype=float), np.asarray(fv(t), dtype=float)

    def rhs(t: float, A: np.ndarray) -> np.ndarray:
        x, xdot = path(t)
        return -np.einsum("abc,b,c->a", gamma(np.asarray(x, dtype=float)), A, np.asarray(xdot, dtype=float))

    ts = np.linspace(t0, t1, n)
    sol = solve_ivp(rhs, (t0, t1), A0, t_eval=ts, method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"parallel transport failed: {sol.message}")
    return sol.t, sol.y.T
