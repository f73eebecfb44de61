"""Tests for kexue.couplet: the gated block, receptive field, decoding rules, metrics, persistence."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import torch

from kexue import couplet as C
from kexue.data import build_couplets

PROBES = ["晚风摇树树还挺", "今天天气不错", "鱼跃此时海", "只有香如故", "科学空间"]


@pytest.fixture(scope="module")
def sample_pairs(request):
    from pathlib import Path

    poems = json.loads((Path(__file__).parent / "data" / "poems_sample.json").read_text(encoding="utf-8"))
    built = build_couplets(poems)
    pairs = [p for s in ("train", "dev", "test") for p in built[s]]
    assert len(pairs) > 50
    return pairs


@pytest.fixture(scope="module")
def tiny(sample_pairs):
    torch.manual_seed(0)
    return C.train(sample_pairs[:-20], sample_pairs[-20:], vocab=C.Vocab.from_pairs(sample_pairs, min_count=1),
                   dim=16, blocks=2, steps=40, batch_size=16, lr=1e-2, eval_every=10, bigram=True, seed=0,
                   progress=False)


@pytest.fixture(scope="module")
def shipped():
    return C.load_pretrained()


def assert_rules(upper: str, lower: str) -> None:
    assert len(lower) == len(upper)
    for cu, cl in zip(upper, lower):
        if C._is_content(cu):
            assert cu != cl, (upper, lower)
        else:
            assert cu == cl, (upper, lower)  # punctuation copied
    assert C.repetition_pattern(lower) == C.repetition_pattern(upper), (upper, lower)


def random_lines(pairs, n=60, seed=0):
    rng = random.Random(seed)
    chars = sorted({c for a, b in pairs for c in a + b})
    out = []
    for _ in range(n):
        T = rng.randint(1, 12)
        line = [rng.choice(chars) for _ in range(T)]
        if T > 2 and rng.random() < 0.6:  # plant repeats
            i, j = rng.sample(range(T), 2)
            line[j] = line[i]
        if T > 3 and rng.random() < 0.3:
            line[rng.randrange(1, T - 1)] = "，"
        out.append("".join(line))
    return out + ["ab12", "x天x", "天 天", "GPT-4很强", "龘龘"]


# ------------------------------------------------------------------------------------------ model
def test_gated_block_is_the_article_formula():
    torch.manual_seed(0)
    blk = C.GatedBlock(4)
    x = torch.randn(2, 4, 7)
    a, b = blk.conv(x).chunk(2, dim=1)
    want = x * torch.sigmoid(a) + b * torch.sigmoid(-a)
    assert torch.allclose(blk(x), want, atol=1e-6)
    assert C.count_parameters(C.GatedBlock(128)) == 3 * 128 * 256 + 256  # 98,560 as in the article


@pytest.mark.parametrize("blocks,block", [(1, "gate"), (3, "gate"), (2, "glu"), (2, "residual")])
def test_receptive_field_matches_gradient(blocks, block):
    torch.manual_seed(0)
    m = C.CoupletTagger(30, dim=8, blocks=blocks, block=block, dropout=0.0).eval()
    store = {}

    def hook(_, __, out):
        out.retain_grad()
        store["h"] = out

    m.embed.register_forward_hook(hook)
    T, t = 15, 7
    logits = m(torch.randint(1, 30, (8, T)))  # several lines: a dead ReLU in one line cannot hide a position
    logits[:, t].sum().backward()
    seen = (store["h"].grad.abs().sum((0, 2)) > 0).nonzero().squeeze(1).tolist()
    assert seen == list(range(t - blocks, t + blocks + 1))
    assert len(seen) == C.receptive_field(m) == 1 + 2 * blocks


def test_bilstm_and_shapes():
    m = C.CoupletTagger(20, dim=8, blocks=2, block="bilstm")
    assert C.receptive_field(m) == math.inf
    assert m(torch.randint(0, 20, (3, 5))).shape == (3, 5, 20)
    s = C.AttentionSeq2Seq(20, dim=8, hidden=8)
    x = torch.randint(0, 20, (3, 5))
    assert s(x, x).shape == (3, 5, 20)


def test_model_bad_arguments():
    with pytest.raises(ValueError, match="block"):
        C.CoupletTagger(10, block="transformer")
    with pytest.raises(ValueError, match="kernel"):
        C.CoupletTagger(10, kernel=2)
    with pytest.raises(TypeError, match="dim"):
        C.CoupletTagger(10, dim=2.5)
    with pytest.raises(ValueError, match="x"):
        C.CoupletTagger(10, dim=4)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="hidden"):
        C.AttentionSeq2Seq(10, hidden=7)
    with pytest.raises(TypeError, match="model"):
        C.receptive_field("not a model")


# ------------------------------------------------------------------------------------------ training
def test_train_keeps_best_dev_checkpoint(tiny, sample_pairs):
    losses = [h["dev_loss"] for h in tiny.history]
    assert len(losses) == 4
    assert tiny.best_step == tiny.history[int(np.argmin(losses))]["step"]
    assert tiny.history[-1]["train_loss"] < 0.9 * tiny.history[0]["train_loss"]  # it learned something
    # the returned weights are the best checkpoint: recompute its dev loss
    dev = C._encode_pairs(sample_pairs[-20:], tiny.vocab)
    assert C._dev_metrics(tiny.model, dev)[0] == pytest.approx(min(losses), rel=1e-5)


def test_train_bad_inputs(sample_pairs):
    with pytest.raises(ValueError, match="equal length"):
        C.train([("天地", "人")], progress=False)
    with pytest.raises(TypeError, match="pairs"):
        C.train("天地", progress=False)
    with pytest.raises(ValueError, match="empty"):
        C.train([], progress=False)
    with pytest.raises(ValueError, match="steps"):
        C.train(sample_pairs, steps=0, progress=False)
    with pytest.raises(ValueError, match="lr"):
        C.train(sample_pairs, lr=0.0, progress=False)
    with pytest.raises(TypeError, match="dev"):
        C.train(sample_pairs, dev=[("天", 3)], progress=False)


# ------------------------------------------------------------------------------------------ decoding rules
@pytest.mark.parametrize("method", ["greedy", "viterbi"])
def test_rules_hold_for_tagger(tiny, sample_pairs, method):
    lines = random_lines(sample_pairs)
    for u, l in zip(lines, tiny.respond_batch(lines, method=method)):
        assert_rules(u, l)


def test_rules_hold_for_baselines(tiny, sample_pairs):
    lines = random_lines(sample_pairs, seed=1)
    torch.manual_seed(0)
    s2s = C.CoupletRobot(C.AttentionSeq2Seq(len(tiny.vocab), 8, 8), tiny.vocab)
    uni = C.CoupletRobot(C.PositionUnigram(sample_pairs, tiny.vocab), tiny.vocab)
    for robot in (s2s, uni):
        for u, l in zip(lines, robot.respond_batch(lines)):
            assert_rules(u, l)


def test_sampling_is_seeded_and_obeys_rules(tiny, sample_pairs):
    lines = random_lines(sample_pairs, seed=2)
    a = tiny.respond_batch(lines, top_k=5, temperature=1.0, seed=3)
    b = tiny.respond_batch(lines, top_k=5, temperature=1.0, seed=3)
    assert a == b
    assert a != tiny.respond_batch(lines, top_k=5, temperature=1.0, seed=4)
    for u, l in zip(lines, a):
        assert_rules(u, l)
    assert tiny.respond_batch(lines, top_k=5, temperature=0.0) == tiny.respond_batch(lines)


def test_batched_equals_single(tiny, sample_pairs):
    lines = random_lines(sample_pairs, n=20, seed=5)
    assert tiny.respond_batch(lines, batch_size=3) == [tiny.respond(x) for x in lines]


def test_unigram_learns_a_mapping():
    pairs = [("天地", "山水"), ("地天", "水山"), ("人天", "月山")] * 5
    v = C.Vocab.from_pairs(pairs)
    robot = C.CoupletRobot(C.PositionUnigram(pairs, v, lam=0.9), v)
    assert robot.respond("天人地") == "山月水"


def test_bigram_is_normalised(tiny):
    V = len(tiny.vocab)
    for a in (1, 2, 5):
        p = np.exp(tiny.bigram.log_prob(np.full(V - 1, a), np.arange(1, V)))
        assert p.sum() == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------------------------------ shipped model
def test_shipped_weights_small_and_safe():
    for name in (C._TAGGER_FILE, C._BIGRAM_FILE):
        path = C.WEIGHTS / name
        assert path.stat().st_size <= 10 * 2**20
        torch.load(path, map_location="cpu", weights_only=True)


def test_respond_rules_on_shipped_model(shipped):
    for line in PROBES + ["今天天气不错，明天天气更好", "AI写对联123", "春", "风风雨雨", "一二三四五六七八九十" * 3]:
        out = C.respond(line)
        assert_rules(line, out)
        assert all("\u3400" <= c <= "\u9fff" for c, u in zip(out, line) if C._is_content(u))
    assert C.respond("晚风摇树树还挺") == C.respond("晚风摇树树还挺")  # deterministic


def test_respond_bad_inputs(shipped):
    with pytest.raises(ValueError, match="first_line"):
        C.respond("")
    with pytest.raises(ValueError, match="at most 32"):
        C.respond("天" * 33)
    C.respond("天地" * 16)  # 32 is fine
    with pytest.raises(ValueError, match="first_line"):
        C.respond("，。！")
    with pytest.raises(TypeError, match="first_line"):
        C.respond(123)
    with pytest.raises(ValueError, match="top_k"):
        C.respond("天地", top_k=0)
    with pytest.raises(ValueError, match="temperature"):
        C.respond("天地", temperature=-1.0)
    with pytest.raises(TypeError, match="seed"):
        C.respond("天地", seed=1.5)
    with pytest.raises(ValueError, match="method"):
        shipped.respond("天地", method="beam")
    with pytest.raises(TypeError, match="lines"):
        C.respond_batch("天地")
    with pytest.raises(ValueError, match=r"lines\[1\]"):
        C.respond_batch(["天地", ""])


def test_viterbi_needs_bigram(tiny):
    robot = C.CoupletRobot(tiny.model, tiny.vocab)
    with pytest.raises(ValueError, match="bigram"):
        robot.respond("天地", method="viterbi")


def test_save_load_roundtrip(tiny, tmp_path, sample_pairs):
    path = tiny.save(tmp_path / "t.pt", half=False)
    torch.save(tiny.bigram.state(), tmp_path / "b.pt")
    back = C.CoupletRobot.load(path, tmp_path / "b.pt")
    lines = random_lines(sample_pairs, n=20, seed=7)
    assert back.respond_batch(lines) == tiny.respond_batch(lines)
    assert back.respond_batch(lines, method="viterbi") == tiny.respond_batch(lines, method="viterbi")
    assert back.best_step == tiny.best_step


# ------------------------------------------------------------------------------------------ metrics
def test_char_bleu_hand_computed():
    assert C.char_bleu(["天地人"], ["天地人"], 2) == pytest.approx(1.0)
    # p1 = 3/4, p2 = 2/3, equal lengths: BLEU-2 = sqrt(p1 p2)
    assert C.char_bleu(["abcd"], ["abce"], 2) == pytest.approx(math.sqrt(0.75 * 2 / 3))
    assert C.char_bleu(["abcd"], ["abce"], 1) == pytest.approx(0.75)
    assert C.char_bleu(["ab"], ["abcd"], 1) == pytest.approx(math.exp(1 - 2))  # brevity penalty
    assert C.char_bleu(["xy"], ["ab"], 2) == 0.0
    with pytest.raises(ValueError, match="refs"):
        C.char_bleu(["a"], [], 1)


def test_evaluate_on_known_responders(sample_pairs):
    pairs = sample_pairs[:30]
    ref = dict(pairs)
    perfect = C.evaluate(pairs, lambda L: [ref[x] for x in L])
    assert perfect["char_acc"] == 1.0 and perfect["bleu2"] == pytest.approx(1.0)
    assert perfect["repetition_agreement"] == perfect["reference_repetition_agreement"]
    assert perfect["tone_contrast"] == perfect["reference_tone_contrast"]
    copier = C.evaluate(pairs, lambda L: list(L))
    assert copier["copy_rate"] == 1.0 and copier["repetition_agreement"] == 1.0
    assert copier["tone_contrast"] == 0.0
    assert copier["length_match"] == 1.0
    short = C.evaluate(pairs, lambda L: [x[:-1] for x in L])
    assert short["length_match"] == 0.0
    with pytest.raises(ValueError, match="respond_fn"):
        C.evaluate(pairs, lambda L: L[:-1])
    with pytest.raises(TypeError, match="respond_fn"):
        C.evaluate(pairs, "not callable")


def test_tone_class_and_pattern():
    assert C.tone_class("天") == "ping" and C.tone_class("人") == "ping"
    assert C.tone_class("地") == "ze" and C.tone_class("好") == "ze"
    assert C.tone_class("a") is None and C.tone_class("，") is None
    assert C.repetition_pattern("晚风摇树树还挺") == (0, 1, 2, 3, 3, 5, 6)
    assert C.repetition_pattern("花花") == C.repetition_pattern("树树")


def test_nearest_pair(sample_pairs):
    pair, d = C.nearest_pair(sample_pairs[3][1], sample_pairs)
    assert d == 0 and pair[1] == sample_pairs[3][1]
    with pytest.raises(ValueError, match="length"):
        C.nearest_pair("天" * 9, sample_pairs)
    with pytest.raises(TypeError, match="line"):
        C.nearest_pair(5, sample_pairs)
    many = C.nearest_pairs([b for _, b in sample_pairs[:5]] + ["天地人和乐"], sample_pairs)
    assert [d for _, d in many[:5]] == [0] * 5
    brute = min(sum(x != y for x, y in zip("天地人和乐", b)) for _, b in sample_pairs if len(b) == 5)
    assert many[5][1] == brute
    with pytest.raises(TypeError, match="lines"):
        C.nearest_pairs("天地", sample_pairs)


def test_text_box_answers_as_typed_and_shows_errors(shipped):
    pytest.importorskip("ipywidgets")
    box = C.text_box(shipped)
    text, out = box.children
    text.value = "今天天气不错"
    answer = out.value.split("下联: ")[1].split(" ·")[0]
    assert answer == shipped.respond("今天天气不错") and len(answer) == 6
    text.value = "x" * 40
    assert "32" in out.value  # the over-long line's ValueError is shown, not raised
    with pytest.raises(TypeError, match="robot"):
        C.text_box("not a robot")


def test_module_level_respond_reuses_one_loaded_model():
    assert C._shipped() is C._shipped()
    assert C.respond("今天天气不错") == C._shipped().respond("今天天气不错")
