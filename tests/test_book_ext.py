"""The build-time pages (book/_ext/kexue_book.py): execution status and benchmark tables."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import kexue_book  # noqa: E402


def _notebook(path: Path, code: list[str]) -> None:
    cells = [{"cell_type": "code", "source": c, "metadata": {}, "outputs": [], "execution_count": None} for c in code]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_notebook_status_reads_nbval_junit_and_make_book_log(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for name in ("01-a.ipynb", "02-b.ipynb", "03-c.ipynb"):
        _notebook(tmp_path / "notebooks" / name, ["1"])
    reports = tmp_path / "_build" / "reports"
    reports.mkdir(parents=True)
    (reports / "nbval.xml").write_text(
        '<testsuites><testsuite timestamp="2026-12-01T10:00:00.1">'
        '<testcase classname="notebooks.01-a.ipynb" time="1.5"/>'
        '<testcase classname="notebooks.01-a.ipynb" time="2.0"/>'
        '<testcase classname="notebooks.02-b.ipynb" time="3"><failure message="x"/></testcase>'
        '</testsuite></testsuites>')
    (reports / "execution.jsonl").write_text(
        json.dumps({"notebook": "02-b.ipynb", "ok": False, "seconds": 9.0, "when": "2026-12-01T09:00:00+00:00"}) + "\n"
        + json.dumps({"notebook": "02-b.ipynb", "ok": True, "seconds": 4.0, "when": "2026-12-01T09:30:00+00:00"}) + "\n")
    rows = {r["notebook"]: r for r in kexue_book.notebook_status(tmp_path)}
    assert rows["01-a.ipynb"]["test"] == "passed" and rows["01-a.ipynb"]["test_seconds"] == 3.5
    assert rows["02-b.ipynb"]["test"] == "FAILED (1 of 1 cells)"
    assert rows["02-b.ipynb"]["book"].startswith("executed") and rows["02-b.ipynb"]["book_seconds"] == 4.0  # last entry wins
    assert rows["03-c.ipynb"]["test"] == "not run" and rows["03-c.ipynb"]["book"] == "outputs from the repository"
    assert rows["01-a.ipynb"]["when_test"] == "2026-12-01 10:00:00"


def test_benchmarks_are_linked_to_the_notebooks_that_load_them(tmp_path):
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "01-a.ipynb", ['bench = load_benchmark("focal")\n', "x = 1"])
    _notebook(tmp_path / "notebooks" / "02-b.ipynb", ["load_benchmark('focal'); load_benchmark( 'nce' )"])
    _notebook(tmp_path / "notebooks" / "03-c.ipynb", ["# no benchmark here"])
    assert kexue_book.chapters_of_benchmarks(tmp_path) == {"focal": ["01-a", "02-b"], "nce": ["02-b"]}


def test_every_committed_benchmark_is_shown_by_a_chapter():
    shown = kexue_book.chapters_of_benchmarks()
    for d in kexue_book.load_results():
        assert d["chapter"] in shown, f"benchmarks/results/{d['_file']} is loaded by no notebook"


def test_number_formatting():
    assert kexue_book._fmt(True) == "yes"
    assert kexue_book._fmt(12345) == "12,345"
    assert kexue_book._fmt(0.5) == "0.5"
    assert kexue_book._fmt(1234.5678) == "1,235"
    assert kexue_book._fmt(2.5e-5) == "2.5e-05"
    assert kexue_book._fmt([1, 2.0]) == "[1, 2]"
    assert kexue_book._fmt(["a"]) == "1 items"
