import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import torch

from kexue import segment as S
from kexue.data import parse_pd1998
from kexue.tagging import ALLOWED, TAGS, viterbi

SAMPLE = "pd1998_sample.txt"


@pytest.fixture(scope="module")
def sample_sents(request):
    from pathlib import Path

    text = (Path(__file__).parent / "data" / SAMPLE).read_text(encoding="utf-8")
    return [[w for w, _ in s] for s in parse_pd1998(text)]


@pytest.fixture(scope="module")
def tiny(sample_sents):
    torch.set_num_threads(1)
    return S.train(sample_sents[:80], window=5, emb=16, hidden=16, epochs=3, batch_size=256, seed=3, progress=False)


@pytest.fixture(scope="module")
def shipped():
    return S.load_pretrained()


# ------------------------------------------------------------------------------ windows, vocab
def test_char_windows_pads_with_zero_and_centres():
    w = S.char_windows(np.array([5, 6, 7]), window=5)
    assert w.shape == (3, 5)
    assert w.tolist() == [[0, 0, 5, 6, 7], [0, 5, 6, 7, 0], [5, 6, 7, 0, 0]]
    assert S.char_windows(np.zeros(0, np.int64), 7).shape == (0, 7)


@pytest.mark.parametrize("ids,window,exc,match", [
    ([1, 2], 7, TypeError, "ids"), (np.array([1.0]), 7, TypeError, "ids"), (np.array([[1]]), 7, ValueError, "ids"),
    (np.array([1]), 4, ValueError, "window"), (np.array([1]), 0, ValueError, "window"),
    (np.array([1]), 7.0, TypeError, "window")])
def test_char_windows_bad_input(ids, window, exc, match):
    with pytest.raises(exc, match=match):
        S.char_windows(ids, window)


def test_build_vocab_min_count_frequency_order_and_fullwidth():
    v = S.build_vocab(["中国中国人", "人人 a", "ａ"], min_count=2)
    assert v == "人中国ａ"  # 人 ×3, then 中/国 ×2 by code point, half-width a counted as ａ; spaces never
    with pytest.raises(ValueError, match="min_count"):
        S.build_vocab(["a"], min_count=0)
    with pytest.raises(TypeError, match="texts"):
        S.build_vocab([1])


def test_transition_log_probs_normalised_and_forbidden():
    trans, start = S.transition_log_probs([list("sbes"), list("bmme")])
    assert np.allclose(np.exp(trans).sum(1), 1) and np.isclose(np.exp(start).sum(), 1)
    assert np.all(np.isneginf(trans[~ALLOWED])) and np.isneginf(start[2]) and np.isneginf(start[3])
    # add-one over the two allowed successors of b: b->m seen once, b->e once -> (1+1)/(2+2)
    assert np.isclose(np.exp(trans[1, 2]), 0.5)


# ------------------------------------------------------------------------------ scoring
def test_score_hand_example_sighan_spans():
    gold = [["结婚", "的", "和", "尚未", "结婚", "的"]]
    pred = [["结婚", "的", "和尚", "未", "结婚", "的"]]
    r = S.score(gold, pred, train_vocab={"结婚", "的", "和"})
    # correct spans: 结婚, 的, 结婚, 的 = 4 of 6 gold and 6 predicted
    assert (r["correct"], r["gold_words"], r["pred_words"]) == (4, 6, 6)
    assert r["precision"] == pytest.approx(4 / 6) and r["recall"] == pytest.approx(4 / 6)
    assert r["f1"] == pytest.approx(4 / 6)
    assert r["oov_rate"] == pytest.approx(1 / 6) and r["oov_recall"] == 0.0  # 尚未 is OOV and missed
    assert r["iv_recall"] == pytest.approx(4 / 5)
    assert S.score(gold[0], gold[0])["f1"] == 1.0 and S.score(gold, gold)["oov_recall"] is None


def test_score_ignores_whitespace_tokens_and_rejects_mismatch():
    assert S.score([["中国", " ", "人"]], [["中国", "人"]])["f1"] == 1.0
    with pytest.raises(ValueError, match="same characters"):
        S.score([["中国"]], [["中", "华"]])
    with pytest.raises(ValueError, match="as many sentences"):
        S.score([["中"], ["国"]], [["中"]])
    with pytest.raises(TypeError, match="gold"):
        S.score("中国", ["中国"])
    with pytest.raises(TypeError, match="pred"):
        S.score([["中国"]], [[1]])


# ------------------------------------------------------------------------------ training
def test_train_learns_and_is_deterministic(sample_sents, tiny):
    cfg = tiny.state["config"]
    losses = [h["loss"] for h in cfg["history"]]
    assert losses[-1] < losses[0]
    again = S.train(sample_sents[:80], window=5, emb=16, hidden=16, epochs=3, batch_size=256, seed=3, progress=False)
    assert np.array_equal(again.arrays["w1"], tiny.arrays["w1"])
    # better than calling every character a word on its own training text
    pred = tiny.segment_batch(["".join(s) for s in sample_sents[:80]])
    singles = [list("".join(s)) for s in sample_sents[:80]]
    assert S.score(sample_sents[:80], pred)["f1"] > S.score(sample_sents[:80], singles)["f1"] + 0.2
    assert tiny.n_params == (len(tiny.vocab) + 2) * 16 + (5 * 16 + 1) * 16 + (16 + 1) * 4


def test_train_dev_selection_keeps_best_epoch(sample_sents):
    seg = S.train(sample_sents[:60], window=3, emb=8, hidden=8, epochs=3, batch_size=512, seed=0,
                  dev=sample_sents[60:80], progress=False)
    hist = seg.state["config"]["history"]
    best = max(hist, key=lambda h: h["dev_f1"])
    assert seg.state["config"]["best_epoch"] == best["epoch"]
    assert seg.state["config"]["dev_f1"] == pytest.approx(best["dev_f1"])


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"sentences": "中国"}, TypeError, "sentences"), ({"sentences": ["中国"]}, TypeError, r"sentences\[i\]"),
    ({"sentences": [["中", ""]]}, ValueError, "sentences"), ({"sentences": [["中 国"]]}, ValueError, "sentences"),
    ({"sentences": []}, ValueError, "sentences"), ({"window": 6}, ValueError, "window"),
    ({"hidden": 0}, ValueError, "hidden"), ({"emb": 2.5}, TypeError, "emb"), ({"epochs": 0}, ValueError, "epochs"),
    ({"lr": -1.0}, ValueError, "lr"), ({"dropout": 1.0}, ValueError, "dropout"),
    ({"dev": [[1]]}, TypeError, "dev")])
def test_train_bad_input(kwargs, exc, match):
    args = {"sentences": [["中国", "人"]], "epochs": 1, "progress": False, **kwargs}
    with pytest.raises(exc, match=match):
        S.train(**args)


# ------------------------------------------------------------------------------ inference
def test_bigram_model_matches_torch_forward(sample_sents):
    seg = S.train(sample_sents[:40], window=5, emb=8, hidden=8, epochs=1, batch_size=256, seed=1, progress=False,
                  bigram_emb=4, bigram_min_count=1)
    st = seg.state
    m = S.WindowTagger(len(seg.vocab) + 2, 5, 8, 8, 0.0, st["bemb"].shape[0], 4)
    m.load_state_dict({"emb.weight": st["emb"], "bemb.weight": st["bemb"], "fc1.weight": st["w1"],
                       "fc1.bias": st["b1"], "fc2.weight": st["w2"], "fc2.bias": st["b2"]})
    text = "".join(sample_sents[3])
    grams = st["bigrams"]
    bindex = {grams[2 * j:2 * j + 2]: j + 1 for j in range(len(grams) // 2)}
    bids = S._bigram_ids(text, bindex, len(bindex) + 1)
    bw = S.char_windows(bids, 5)[:, :4]  # bigrams starting at i-2 .. i+1
    ref = torch.log_softmax(m(torch.from_numpy(S.char_windows(seg.char_ids(text), 5)), torch.from_numpy(bw)), 1)
    assert np.allclose(ref.detach().numpy(), seg.tag_log_probs(text), atol=1e-4)
    assert seg.n_params == sum(p.numel() for p in m.parameters())


def test_numpy_port_matches_batched_inference(tiny):
    text = "中国人民今天发表讲话"
    ids = tiny.char_ids(text)
    p = S.nncws_forward(tiny.arrays, S.char_windows(ids, tiny.window))
    assert np.allclose(np.log(p), tiny.tag_log_probs(text), atol=1e-4)
    # the same forward in torch
    m = S.WindowTagger(len(tiny.vocab) + 2, tiny.window, 16, 16)
    m.load_state_dict({"emb.weight": torch.tensor(tiny.arrays["emb"]), "fc1.weight": torch.tensor(tiny.arrays["w1"]),
                       "fc1.bias": torch.tensor(tiny.arrays["b1"]), "fc2.weight": torch.tensor(tiny.arrays["w2"]),
                       "fc2.bias": torch.tensor(tiny.arrays["b2"])})
    ref = torch.log_softmax(m(torch.from_numpy(S.char_windows(ids, tiny.window))), 1).detach().numpy()
    assert np.allclose(ref, tiny.tag_log_probs(text), atol=1e-4)
    p0 = S.nncws_forward(tiny.arrays, S.char_windows(ids, tiny.window), output_bias=False)
    assert not np.allclose(p0, p)  # the original's missing-bias bug changes the outputs


def test_oov_id_is_constant(tiny):
    ids = tiny.char_ids("😀𠀀𠀁\u2603")
    assert set(ids.tolist()) == {tiny.oov} and tiny.oov == tiny.arrays["emb"].shape[0] - 1


def test_viterbi_paths_valid_and_match_reference(tiny):
    texts = ["中国人民今天发表讲话", "新年好", "１９９８年"]
    for t, tags in zip(texts, tiny.tag_batch(texts)):
        ref = viterbi(tiny.tag_log_probs(t).astype(np.float64), ALLOWED, (0, 1), (0, 3))
        assert tags.tolist() == ref.tolist()
    assert S.invalid_rate(tiny.tag_batch(texts)) == 0.0
    assert S.invalid_rate([np.array([1, 0]), np.array([0])]) == 0.5


@pytest.mark.parametrize("text", [
    "", " ", "\n\n", "中国 人民\t解放军\n", "Hello, world! 123 abc", "ＡＢＣ１２３ABC123。", "我爱😀emoji🇨🇳！",
    "  前后有空格  ", "ａ　ｂ　ｃ", "e\u0301\u200b中", "！？。，、；：", "x" * 1000])
def test_segment_is_lossless(shipped, text):
    words = shipped.segment(text)
    assert "".join(words) == text
    assert all(words)


def test_segment_empty_and_batch(shipped):
    assert shipped.segment("") == []
    texts = ["迈向充满希望的新世纪", "", "中国 人"]
    assert shipped.segment_batch(texts) == [shipped.segment(t) for t in texts]
    assert shipped.segment_batch([]) == []


def test_long_input_bounded_memory(shipped):
    text = ("１２月３１日，中共中央总书记、国家主席江泽民发表１９９８年新年讲话。" * 3000)[:100_000]
    tracemalloc.start()
    words = shipped.segment(text)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "".join(words) == text
    assert peak < 200 * 2**20  # well below what one 100k-character window batch at once would need


def test_chunking_does_not_depend_on_batching(shipped):
    text = "中共中央总书记国家主席江泽民发表新年讲话" * 40
    a = S.Segmenter(shipped.state, max_len=64, batch_chars=100)
    b = S.Segmenter(shipped.state, max_len=64, batch_chars=10**6)
    assert a.segment(text) == b.segment(text)
    assert "".join(a.segment(text)) == text


def test_shipped_model_segments_news_and_size(shipped, sample_sents):
    assert S.PRETRAINED.stat().st_size <= 10 * 2**20
    state = torch.load(S.PRETRAINED, weights_only=True)
    assert state["window"] == 7
    pred = shipped.segment_batch(["".join(s) for s in sample_sents])
    assert S.score(sample_sents, pred)["f1"] > 0.9


def test_user_dictionary_hard_decoding(shipped):
    seg = S.Segmenter(shipped.state)
    text = "我的微信号是多少"
    seg.add_word("微信号", 1e6)
    assert "微信号" in seg.segment(text)
    seg2 = S.Segmenter(shipped.state)
    seg2.add_word("中华人民共和国", 1e6)
    assert "中华人民共和国" in seg2.segment("中华人民共和国成立了")
    seg2.add_word("中华人民共和国", 1e-6)  # a factor below 1 forces a split
    assert "中华人民共和国" not in seg2.segment("中华人民共和国成立了")
    for bad, exc in [("", ValueError), ("a b", ValueError), (3, TypeError)]:
        with pytest.raises(exc, match="word"):
            seg.add_word(bad)
    with pytest.raises(ValueError, match="factor"):
        seg.add_word("微信", 0.0)


def test_greedy_and_learned_modes(shipped):
    text = "中共中央总书记、国家主席江泽民发表新年讲话"
    for kw in ({"decode": "greedy"}, {"transitions": "learned"}):
        words = S.Segmenter(shipped.state, **kw).segment(text)
        assert "".join(words) == text


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"decode": "beam"}, ValueError, "decode"), ({"transitions": "soft"}, ValueError, "transitions"),
    ({"max_len": 0}, ValueError, "max_len"), ({"batch_chars": 1.5}, TypeError, "batch_chars")])
def test_segmenter_bad_options(shipped, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        S.Segmenter(shipped.state, **kwargs)


def test_segmenter_bad_input(shipped):
    with pytest.raises(TypeError, match="text"):
        shipped.segment(["中国"])
    with pytest.raises(TypeError, match="texts"):
        shipped.segment_batch("中国")
    with pytest.raises(TypeError, match=r"texts\[i\]"):
        shipped.segment_batch(["中国", None])
    with pytest.raises(ValueError, match="state"):
        S.Segmenter({"emb": np.zeros((3, 2))})
    with pytest.raises(TypeError, match="state"):
        S.Segmenter([1, 2])


def test_save_load_roundtrip(tiny, tmp_path):
    path = tmp_path / "m.pt"
    tiny.save(path)
    back = S.Segmenter.load(path)
    assert back.vocab == tiny.vocab and back.segment("中国人民") == tiny.segment("中国人民")


def test_cli_segments_stdin(tmp_path):
    out = subprocess.run([sys.executable, "-m", "kexue.segment"], input="中国人民\n\nHello world 你好\n",
                         capture_output=True, text=True, timeout=60, check=True).stdout
    lines = out.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[3] == ""
    assert lines[0].replace(" ", "") == "中国人民"
    assert lines[2].replace(" ", "") == "Helloworld你好"


def test_tags_order_is_bmes():
    assert TAGS == ("s", "b", "m", "e")


def test_lm_segmenter_prefers_frequent_words_and_is_lossless(sample_sents):
    texts = ["".join(s) for s in sample_sents]
    lm = S.LMSegmenter(texts)
    words = lm.segment("中共中央总书记")
    assert "".join(words) == "中共中央总书记" and len(words) < 7  # frequent character runs stay together
    for t in ["", "  ab 中国\n", "😀😀"]:
        assert "".join(lm.segment(t)) == t
    assert lm.segment("") == []
    # 中 is always followed by 国 but both are rare: p(中)p(国|中)*0.15 = 0.15/102 beats p(中)p(国) = 1/102^2
    lm2 = S.LMSegmenter(["中国" + "甲乙丙丁戊己庚辛壬癸" * 10])
    assert lm2.segment("中国甲") == ["中国", "甲"]
    # ... whereas for frequent characters the 0.15 word-continuation weight makes single characters win
    lm3 = S.LMSegmenter(["中国" * 50])
    assert lm3.segment("中国") == ["中", "国"]
    with pytest.raises(ValueError, match="floor"):
        S.LMSegmenter(texts, floor=0.0)
    with pytest.raises(TypeError, match="texts"):
        lm.segment_batch("中国")
    with pytest.raises(TypeError, match="text"):
        lm.segment(3)


def test_load_pretrained_article_model_is_the_article_architecture():
    art = S.load_pretrained("article")
    cfg = art.state["config"]
    assert (art.window, cfg["emb"], cfg["hidden"], cfg["bigram_emb"]) == (7, 64, 64, 0)
    assert art.n_params == 64 * (len(art.vocab) + 2) + (7 * 64 + 1) * 64 + (64 + 1) * 4
    assert S.PRETRAINED_ARTICLE.stat().st_size <= 10 * 2**20
    with pytest.raises(ValueError, match="model"):
        S.load_pretrained("huge")
