"""The environment the book promises is the one it installs."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(lines):
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_requirements_are_exact_pins():
    lines = [l for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert lines, "requirements.txt is empty"
    assert all("==" in l for l in lines), [l for l in lines if "==" not in l]


def test_environment_yml_pins_equal_requirements():
    req = pins((ROOT / "requirements.txt").read_text().splitlines())
    env = pins((ROOT / "environment.yml").read_text().splitlines())
    assert env == req


def test_torch_is_the_cpu_build_version_available_here():
    req = pins((ROOT / "requirements.txt").read_text().splitlines())
    assert req["torch"] == "2.13.0"
    assert "download.pytorch.org/whl/cpu" in (ROOT / "environment.yml").read_text()


def test_package_version_matches_pyproject():
    import kexue

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["version"] == kexue.__version__


def test_toc_lists_every_notebook_and_only_existing_files():
    toc = (ROOT / "_toc.yml").read_text()
    files = re.findall(r"file:\s*(\S+)", toc)
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"notebooks/{nb.stem}" in files, f"{nb.name} missing from _toc.yml"


def _apt_packages(path):
    return [l.split("#", 1)[0].strip() for l in path.read_text().splitlines() if l.split("#", 1)[0].strip()]


def test_apt_txt_packages_exist_in_the_debian_archive():
    """Binder installs apt.txt: every name must be a real Debian package with an install candidate."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("apt-cache") is None:
        pytest.skip("apt-cache not available (not a Debian system)")
    for path in (ROOT / "apt.txt", ROOT / "tools" / "apt-test.txt"):
        pkgs = _apt_packages(path)
        assert pkgs, f"{path.name} is empty"
        out = subprocess.run(["apt-cache", "policy", *pkgs], capture_output=True, text=True, check=True).stdout
        for pkg in pkgs:
            block = out.split(f"{pkg}:\n", 1)
            assert len(block) == 2, f"{pkg} ({path.name}) is unknown to apt-cache policy"
            candidate = block[1].split("Candidate:", 1)[1].split("\n", 1)[0].strip()
            assert candidate and candidate != "(none)", f"{pkg} ({path.name}) has no install candidate"


def test_every_chapter_notebook_has_the_colab_bootstrap_and_no_error_outputs():
    import json

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        first = code[0]
        assert "remove-cell" in first.get("metadata", {}).get("tags", []), nb_path.name
        assert "google.colab" in "".join(first["source"]), nb_path.name
        for c in code:
            assert all(o.get("output_type") != "error" for o in c.get("outputs", [])), nb_path.name
        assert nb.get("metadata", {}).get("kexue", {}).get("code_sha256"), f"{nb_path.name}: run tools/nbtools.py execute"


def test_bibliography_parses_and_has_unique_keys():
    import re

    from pybtex.database import parse_file

    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,]+),", text, flags=re.M)
    assert len(keys) == len(set(keys)), "duplicate BibTeX keys"
    for entry in re.split(r"\n(?=@)", text):
        if entry.strip().startswith("@"):
            assert entry.count("{") == entry.count("}"), f"unbalanced braces in {entry.splitlines()[0]}"
    assert len(parse_file(ROOT / "book" / "references.bib").entries) == len(keys)


def test_notebooks_store_no_widget_state():
    """ipywidget outputs (e.g. tqdm.auto bars) make the built pages load require.js and widget
    scripts from a CDN: use text progress bars instead."""
    import json

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        assert "widgets" not in nb.get("metadata", {}), nb_path.name
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {}), nb_path.name


def test_book_build_uses_stored_outputs():
    """Jupyter Book must not execute: its "auto" mode re-runs any notebook with one output-less code cell
    (every chapter's bootstrap cell), so `make book` would execute the whole book. Staleness is handled by
    tools/nbtools.py refresh, and `make test` verifies the outputs with nbval."""
    cfg = (ROOT / "_config.yml").read_text()
    assert re.search(r'^\s*execute_notebooks:\s*"?off"?\s*$', cfg, re.M), "execute_notebooks must be off"
