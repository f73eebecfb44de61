"""Ricci tensors of the sphere, Schwarzschild and Kerr: kexue.geometry vs EinsteinPy vs sympy.diffgeom.

Chapter: notebooks/08-riemann-geometry.ipynb. Each system computes the Ricci tensor from the same
metric and must *establish* the known answer (Ric = g for the unit sphere, Ric ≡ 0 for the two black
holes), each with its own idiom: ours returns canonical components (an ``expand`` settles it);
EinsteinPy's ``RicciTensor.from_metric(...).simplify()`` and ``sympy.diffgeom``'s
``metric_to_Ricci_components`` followed by ``simplify`` on each component. Every run happens in a
fresh forked process (no warm sympy cache) and is killed at the time cap, reported as "> cap".
Also timed: our own expression back end (``cancel`` per component, no sparse-polynomial field),
to show what the rational-function arithmetic buys.

    pip install -r requirements-bench.txt      # einsteinpy (benchmark-only dependency)
    python -m benchmarks.geometry --cap 240    # the committed run (~12 min on 2 shared cores)
    python -m benchmarks.geometry --quick      # smoke run (cap 20 s)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
import warnings
from typing import Any, Callable

import sympy as sp

from benchmarks._common import Run


# ---------------------------------------------------------------------------------- the metrics
def metrics() -> dict[str, tuple[sp.Matrix, list[sp.Symbol], sp.Matrix]]:
    """name -> (g, coords, expected Ricci tensor)."""
    t, r, th, ph = sp.symbols("t r theta phi")
    M, a = sp.symbols("M a", positive=True)
    sphere = sp.diag(1, sp.sin(th) ** 2)
    f = 1 - 2 * M / r
    schw = sp.diag(-f, 1 / f, r**2, r**2 * sp.sin(th) ** 2)
    sigma = r**2 + a**2 * sp.cos(th) ** 2
    delta = r**2 - 2 * M * r + a**2
    kerr = sp.zeros(4)
    kerr[0, 0] = -(1 - 2 * M * r / sigma)
    kerr[0, 3] = kerr[3, 0] = -2 * M * a * r * sp.sin(th) ** 2 / sigma
    kerr[1, 1] = sigma / delta
    kerr[2, 2] = sigma
    kerr[3, 3] = (r**2 + a**2 + 2 * M * a**2 * r * sp.sin(th) ** 2 / sigma) * sp.sin(th) ** 2
    return {
        "sphere": (sphere, [th, ph], sphere),
        "schwarzschild": (schw, [t, r, th, ph], sp.zeros(4)),
        "kerr": (kerr, [t, r, th, ph], sp.zeros(4)),
    }


# ---------------------------------------------------------------------------------- the systems
def run_ours(g: sp.Matrix, coords: list, expected: sp.Matrix) -> bool:
    from kexue.geometry import ricci

    Ric = ricci(g, coords)
    return all(sp.expand(Ric[i, j] - expected[i, j]) == 0 for i in range(g.rows) for j in range(g.rows))


def run_ours_expr(g: sp.Matrix, coords: list, expected: sp.Matrix) -> bool:
    from kexue import geometry

    geometry._FracAlgebra.usable = staticmethod(lambda *_: None)  # force the expression back end
    return run_ours(g, coords, expected)


def run_einsteinpy(g: sp.Matrix, coords: list, expected: sp.Matrix) -> bool:
    from einsteinpy.symbolic import MetricTensor, RicciTensor

    m = MetricTensor(g.tolist(), tuple(coords))
    Ric = RicciTensor.from_metric(m).simplify()
    n = g.rows
    return all(sp.simplify(Ric[i, j] - expected[i, j]) == 0 for i in range(n) for j in range(n))


def run_diffgeom(g: sp.Matrix, coords: list, expected: sp.Matrix) -> bool:
    from sympy.diffgeom import CoordSystem, Manifold, Patch, TensorProduct, metric_to_Ricci_components

    n = g.rows
    patch = Patch("P", Manifold("Mfd", n))
    cs = CoordSystem("X", patch, [c.name for c in coords])
    sub = dict(zip(coords, cs.base_scalars()))
    dx = cs.base_oneforms()
    metric = sp.Add(*[g[i, j].subs(sub) * TensorProduct(dx[i], dx[j])
                      for i in range(n) for j in range(n) if g[i, j] != 0])
    Ric = metric_to_Ricci_components(metric)
    back = {s: c for c, s in sub.items()}
    return all(sp.simplify(Ric[i, j].subs(back) - expected[i, j]) == 0 for i in range(n) for j in range(n))


SYSTEMS: dict[str, Callable[..., bool]] = {
    "ours": run_ours,
    "ours (expression back end)": run_ours_expr,
    "einsteinpy": run_einsteinpy,
    "sympy.diffgeom": run_diffgeom,
}


# ---------------------------------------------------------------------------------- harness
def _worker(system: str, case: str, queue: Any) -> None:
    warnings.simplefilter("ignore")
    g, coords, expected = metrics()[case]
    t0, c0 = time.perf_counter(), time.process_time()
    ok = SYSTEMS[system](g, coords, expected)
    queue.put((time.perf_counter() - t0, time.process_time() - c0, bool(ok)))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc), for runs killed at the cap."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def timed(system: str, case: str, cap: float) -> tuple[float, float, bool | None]:
    """(wall seconds, CPU seconds, verified) in a fresh forked process. When the wall-clock cap is
    hit the process is killed and (cap, CPU seconds used so far, None) is returned."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_worker, args=(system, case, queue))
    proc.start()
    proc.join(cap)
    if proc.is_alive():
        cpu = _cpu_seconds(proc.pid)
        proc.kill()
        proc.join()
        return cap, cpu, None
    if proc.exitcode != 0 or queue.empty():
        raise RuntimeError(f"{system} on {case} failed (exit code {proc.exitcode})")
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: cap 20 s, one repeat")
    parser.add_argument("--cap", type=float, default=300.0, help="seconds before a run is killed")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each run that fits the cap")
    args = parser.parse_args()
    cap = 20.0 if args.quick else args.cap
    repeats = 1 if args.quick else args.repeats
    import einsteinpy
    import einsteinpy.symbolic  # noqa: F401  (imported before forking: imports are not timed)
    import sympy.diffgeom  # noqa: F401

    import kexue.geometry  # noqa: F401

    config = {"cap_s": cap, "repeats": repeats, "cases": list(metrics()), "systems": list(SYSTEMS),
              "sympy": sp.__version__, "einsteinpy": einsteinpy.__version__,
              "note": "shared 2-core machine under load from other jobs (load average ~10 during the run), "
                      "script run with nice -n 10; medians of repeats, each run in a fresh forked process; "
                      "wall time and the process's CPU time are both recorded (CPU time is less "
                      "sensitive to the load); a capped run reports the CPU time it had used when killed"}
    with Run("geometry", config=config) as run:
        times: dict[str, dict[str, list[float]]] = {s: {c: [] for c in metrics()} for s in SYSTEMS}
        cpus: dict[str, dict[str, list[float]]] = {s: {c: [] for c in metrics()} for s in SYSTEMS}
        capped: dict[str, dict[str, float]] = {s: {} for s in SYSTEMS}  # case -> CPU s used before the kill
        for rep in range(repeats):
            for case in metrics():
                for system in SYSTEMS:  # interleaved: every system once per round
                    if case in capped[system]:
                        continue
                    seconds, cpu, ok = timed(system, case, cap)
                    if ok is None:
                        capped[system][case] = cpu
                        print(f"{system:>28} {case:>14}: > {cap:.0f} s (cap; {cpu:.0f} s CPU)", flush=True)
                        continue
                    if not ok:
                        raise RuntimeError(f"{system} did not establish the Ricci tensor of {case}")
                    times[system][case].append(seconds)
                    cpus[system][case].append(cpu)
                    print(f"{system:>28} {case:>14}: {seconds:8.2f} s wall, {cpu:8.2f} s CPU (round {rep + 1})",
                          flush=True)
        for system in SYSTEMS:
            res: dict[str, Any] = {}
            for case in metrics():
                if case in capped[system]:
                    res[f"{case}_s"] = f"> {cap:.0f}"
                    res[f"{case}_cpu_s"] = f"> {capped[system][case]:.0f}"
                else:
                    res[f"{case}_s"] = round(statistics.median(times[system][case]), 3)
                    res[f"{case}_cpu_s"] = round(statistics.median(cpus[system][case]), 3)
                    res[f"{case}_runs_s"] = [round(x, 3) for x in times[system][case]]
            run.results[system] = res
        for case in metrics():
            ours = statistics.median(times["ours"][case])
            ours_cpu = statistics.median(cpus["ours"][case])
            for peer in ("ours (expression back end)", "einsteinpy", "sympy.diffgeom"):
                if case in capped[peer]:
                    run.ratios[f"{peer}/ours {case} wall (lower bound, capped)"] = round(cap / ours, 1)
                    run.ratios[f"{peer}/ours {case} CPU (lower bound, capped)"] = round(capped[peer][case] / ours_cpu, 1)
                else:
                    run.ratios[f"{peer}/ours {case} wall"] = round(statistics.median(times[peer][case]) / ours, 2)
                    run.ratios[f"{peer}/ours {case} CPU"] = round(statistics.median(cpus[peer][case]) / ours_cpu, 2)
        run.extra["kerr_target_s"] = 15
        run.extra["kerr_ours_under_target"] = bool(statistics.median(times["ours"]["kerr"]) < 15)


if __name__ == "__main__":
    main()
