"""Build-time pages of the book: execution status and benchmark results.

Directives (used in book/status.md and book/benchmarks.md):

``execution-status``
    One row per notebook in ``notebooks/``: did it run in the last ``make test`` (nbval, from
    ``_build/reports/nbval.xml``) or ``make book`` (``_build/reports/execution.jsonl``), and how long it took.
``benchmark-results``
    For every ``benchmarks/results/*.json``: the machine, the results table (systems × metrics), the
    ratios, and a bar chart of the ratios.

Both read files at build time, so the pages always show the data of the current build.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "_build" / "reports"
RESULTS = ROOT / "benchmarks" / "results"
GENERATED = ROOT / "book" / "_generated"


# ---------------------------------------------------------------- helpers producing docutils nodes
def _table(header: list[str], rows: list[list[str]], widths: list[int] | None = None) -> nodes.table:
    table = nodes.table(classes=["kexue-table"])
    tgroup = nodes.tgroup(cols=len(header))
    table += tgroup
    for w in widths or [1] * len(header):
        tgroup += nodes.colspec(colwidth=w)
    thead = nodes.thead()
    tgroup += thead
    row = nodes.row()
    for h in header:
        row += nodes.entry("", nodes.paragraph(text=h))
    thead += row
    tbody = nodes.tbody()
    tgroup += tbody
    for r in rows:
        row = nodes.row()
        for cell in r:
            row += nodes.entry("", nodes.paragraph(text=str(cell)))
        tbody += row
    return table


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        a = abs(v)
        if a != 0 and (a >= 1e5 or a < 1e-3):
            return f"{v:.3g}"
        return f"{v:,.4g}" if a >= 1 else f"{v:.4f}".rstrip("0").rstrip(".") or "0"
    if isinstance(v, list):
        if v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            return "[" + ", ".join(_fmt(x) for x in v) + "]"
        return f"{len(v)} items"
    return str(v)


def _flatten(d: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


# ---------------------------------------------------------------- execution status
def notebook_status(root: Path = ROOT) -> list[dict]:
    """Per notebook: status and seconds from the last nbval run and the last make-book execution."""
    nbs = sorted(p.name for p in (root / "notebooks").glob("*.ipynb"))
    nbval: dict[str, dict] = {}
    xml = root / "_build" / "reports" / "nbval.xml"
    when_nbval = None
    if xml.is_file():
        tree = ET.parse(xml)
        suite = tree.getroot().find("testsuite")
        when_nbval = suite.get("timestamp", "")[:19].replace("T", " ") if suite is not None else None
        acc: dict[str, dict] = defaultdict(lambda: {"seconds": 0.0, "cells": 0, "failed": 0})
        for case in tree.getroot().iter("testcase"):
            name = case.get("classname", "").removeprefix("notebooks.")
            if not name.endswith(".ipynb"):
                continue
            a = acc[name]
            a["seconds"] += float(case.get("time", 0))
            a["cells"] += 1
            a["failed"] += int(case.find("failure") is not None or case.find("error") is not None)
        nbval = dict(acc)
    book: dict[str, dict] = {}
    log = root / "_build" / "reports" / "execution.jsonl"
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            if line.strip():
                e = json.loads(line)
                book[e["notebook"]] = e  # last entry wins
    rows = []
    for nb in nbs:
        row = {"notebook": nb, "test": "not run", "test_seconds": None, "book": "outputs from the repository",
               "book_seconds": None, "when_test": when_nbval}
        if nb in nbval:
            a = nbval[nb]
            row["test"] = "passed" if a["failed"] == 0 else f"FAILED ({a['failed']} of {a['cells']} cells)"
            row["test_seconds"] = a["seconds"]
        if nb in book:
            e = book[nb]
            row["book"] = ("executed" if e["ok"] else "FAILED") + f" ({e['when'][:19].replace('T', ' ')} UTC)"
            row["book_seconds"] = e["seconds"]
        rows.append(row)
    return rows


class ExecutionStatus(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        env.note_reread()  # the page depends on files outside the source tree: rebuild it every time
        rows = notebook_status()
        when = next((r["when_test"] for r in rows if r["when_test"]), None)
        intro = nodes.paragraph()
        if when:
            intro += [nodes.Text("Last "), nodes.literal(text="make test"), nodes.Text(f" (nbval) run: {when} UTC. ")]
        else:
            intro += [nodes.Text("No "), nodes.literal(text="make test"), nodes.Text(" run in this build tree yet. ")]
        intro += nodes.Text("Seconds are the sum of the notebook's cell execution times; the project's limit is "
                            "120 s per notebook on 2 CPU cores.")
        table = _table(
            ["Notebook", "make test (nbval)", "seconds", "make book", "seconds"],
            [[r["notebook"], r["test"], "" if r["test_seconds"] is None else f"{r['test_seconds']:.1f}",
              r["book"], "" if r["book_seconds"] is None else f"{r['book_seconds']:.1f}"] for r in rows],
            [4, 3, 1, 4, 1],
        )
        return [intro, table]


# ---------------------------------------------------------------- benchmark results
def load_results(results: Path = RESULTS) -> list[dict]:
    out = []
    for p in sorted(results.glob("*.json")):
        d = json.loads(p.read_text(encoding="utf-8"))
        d["_file"] = p.name
        out.append(d)
    return out


def chapters_of_benchmarks(root: Path = ROOT) -> dict[str, list[str]]:
    """Benchmark name -> notebooks (stems) whose code cells call ``load_benchmark("name")``."""
    import re

    rx = re.compile(r"""load_benchmark\(\s*["']([\w-]+)["']""")
    out: dict[str, list[str]] = defaultdict(list)
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        code = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
        for name in sorted(set(rx.findall(code))):
            out[name].append(nb.stem)
    return dict(out)


def _doc_link(docname: str, text: str):
    from sphinx import addnodes

    ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget=docname, refexplicit=False,
                                refwarn=True)
    ref += nodes.inline(text=text)
    return ref


def _ratio_plot(chapter: str, ratios: dict[str, float]) -> Path | None:
    vals = {k: v for k, v in ratios.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0}
    if not vals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    GENERATED.mkdir(parents=True, exist_ok=True)
    names = list(vals)
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(names) + 1.0))
    ax.barh(range(len(names)), [vals[n] for n in names], color="#4c72b0")
    ax.axvline(1.0, color="k", lw=1, ls="--")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    if max(vals.values()) / min(vals.values()) > 50:
        ax.set_xscale("log")
    ax.set_xlabel("ratio (dashed line: 1)")
    ax.set_title(f"{chapter}: ratios")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    path = GENERATED / f"bench-{chapter}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


class BenchmarkResults(Directive):
    has_content = False
    option_spec = {"chapter": directives.unchanged}

    def run(self):
        env = self.state.document.settings.env
        env.note_reread()
        only = self.options.get("chapter")
        docs = [d for d in load_results() if only is None or d.get("chapter") == only]
        if not docs:
            return [nodes.paragraph(text="No benchmark results have been committed yet.")]
        out = []
        srcdir = Path(env.srcdir)
        shown_in = chapters_of_benchmarks()
        for d in docs:
            chapter = d.get("chapter", d["_file"])
            sec = nodes.section(ids=[f"bench-{chapter}"])
            sec += nodes.title(text=f"{chapter}")
            m = d.get("machine", {})
            sec += nodes.paragraph(text=(
                f"File benchmarks/results/{d['_file']}, run on {d.get('date', '?')} in {_fmt(d.get('seconds', '?'))} s "
                f"on {m.get('cpu', '?')} ({m.get('cores', '?')} cores, {m.get('memory_gb', '?')} GB), "
                f"torch {m.get('torch', '?')}. Re-run: python -m benchmarks.{chapter}"))
            if shown_in.get(chapter):
                para = nodes.paragraph(text="Discussed in: ")
                for i, stem in enumerate(shown_in[chapter]):
                    if i:
                        para += nodes.Text(", ")
                    para += _doc_link(f"/notebooks/{stem}", stem)
                sec += para
            results = d.get("results", {})
            if results:
                flat = {sys: _flatten(v) if isinstance(v, dict) else {"value": v} for sys, v in results.items()}
                metrics: list[str] = []
                for v in flat.values():
                    metrics += [k for k in v if k not in metrics]
                sec += _table(["system", *metrics],
                              [[sys, *[_fmt(v.get(k, "")) if k in v else "" for k in metrics]] for sys, v in flat.items()])
            ratios = d.get("ratios", {})
            if ratios:
                sec += nodes.paragraph(text="Ratios (ours relative to the peer, same run):")
                sec += _table(["ratio", "value"], [[k, _fmt(v)] for k, v in ratios.items()], [4, 1])
                png = _ratio_plot(chapter, ratios)
                if png is not None:
                    rel = "/" + str(png.relative_to(srcdir))
                    sec += nodes.image(uri=rel, alt=f"Bar chart of the {chapter} benchmark's ratios of ours to the peers; "
                                                   "a dashed line marks 1.")
            cfg = d.get("config")
            if cfg:
                sec += nodes.paragraph(text="Configuration: " + json.dumps(cfg, ensure_ascii=False)[:600])
            out.append(sec)
        return out


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    """Drop repeated identical <script> entries.

    With Sphinx 7.4, sphinx-thebe and sphinx-togglebutton register their inline configuration
    scripts twice; the second ``const THEBE_JS_URL`` is a JavaScript SyntaxError on every page
    (found by tests/test_site.py).
    """
    # Start in light mode: sphinx-book-theme leaves pydata-sphinx-theme's `default_mode` empty, which
    # makes the theme log "Got invalid theme mode" as a console error on a reader's first visit.
    context.setdefault("default_mode", "light")
    files = context.get("script_files")
    if not files:
        return
    seen, unique = set(), []
    for js in files:
        key = (getattr(js, "filename", str(js)) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts)
    app.add_directive("execution-status", ExecutionStatus)
    app.add_directive("benchmark-results", BenchmarkResults)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
