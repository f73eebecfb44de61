"""Tests for kexue.ocr: renderer ground truth, each stage's boxes, the bigram correction, bad input."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from kexue import ocr

FONTS = ocr.font_paths()
needs_fonts = pytest.mark.skipif("noto-sans-cjk" not in FONTS or "wqy-zenhei" not in FONTS,
                                 reason="CJK fonts not installed (apt.txt)")
SANS = str(FONTS.get("noto-sans-cjk", ""))
TEST = str(FONTS.get("wqy-zenhei", ""))


# ------------------------------------------------------------------ renderer
@needs_fonts
def test_render_line_boxes_hold_the_ink():
    img, boxes = ocr.render_line("电视 机OK", SANS, size=32)
    arr = np.asarray(img)
    assert img.mode == "L" and boxes.shape == (5, 4) and boxes.dtype == np.int64
    ink = arr < 128
    covered = np.zeros_like(ink)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= arr.shape[1] and 0 <= y0 < y1 <= arr.shape[0]
        covered[y0:y1, x0:x1] = True
    assert ink[~covered].sum() == 0 and ink.sum() > 100
    assert np.all(np.diff(boxes[:, 0]) > 0)  # left to right


@needs_fonts
def test_render_line_noise_rate_and_seed():
    clean, _ = ocr.render_line("一二三", SANS, noise=0.0)
    noisy, _ = ocr.render_line("一二三", SANS, noise=0.15, seed=1)
    again, _ = ocr.render_line("一二三", SANS, noise=0.15, seed=1)
    c, n = np.asarray(clean), np.asarray(noisy)
    white = c == 255
    assert abs((n[white] == 0).mean() - 0.15) < 0.02
    assert np.array_equal(n, np.asarray(again))


@needs_fonts
def test_render_line_bad_input():
    with pytest.raises(ValueError, match="text"):
        ocr.render_line("  ", SANS)
    with pytest.raises(TypeError, match="text"):
        ocr.render_line(3, SANS)
    with pytest.raises(ValueError, match="font_path"):
        ocr.render_line("字", "/no/such/font.ttf")
    with pytest.raises(ValueError, match="size"):
        ocr.render_line("字", SANS, size=4)
    with pytest.raises(ValueError, match="noise"):
        ocr.render_line("字", SANS, noise=1.5)


@needs_fonts
def test_render_page_truth_is_consistent():
    img, t = ocr.render_page(["全场五折", "限时12小时"], font_paths=[TEST], size=32, seed=0)
    assert img.mode == "RGB"
    assert t["chars"].shape == (10, 4) and t["lines"].shape == (2, 4) and t["distractors"].shape == (2, 4)
    for i, (x0, y0, x1, y1) in enumerate(t["lines"]):
        c = t["chars"][t["line_of"] == i]
        assert c[:, 0].min() == x0 and c[:, 3].max() == y1
    # distractors do not overlap the text
    assert ocr.box_iou(t["distractors"], t["chars"]).max() == 0
    with pytest.raises(ValueError, match="lines"):
        ocr.render_page([])
    with pytest.raises(ValueError, match="width"):
        ocr.render_page(["很长的一行文字"], font_paths=[TEST], width=50)


# ------------------------------------------------------------------ stages
def test_to_grey_is_eq1_and_checks_input():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], np.uint8)
    g = ocr.to_grey(rgb)
    assert g.tolist() == [[round(0.299 * 255), round(0.587 * 255), round(0.114 * 255), round(2.99 + 11.74 + 3.42)]]
    assert ocr.to_grey(Image.fromarray(rgb)).tolist() == g.tolist()
    with pytest.raises(TypeError, match="uint8"):
        ocr.to_grey(rgb.astype(np.float32))
    with pytest.raises(ValueError, match="empty"):
        ocr.to_grey(np.zeros((0, 5), np.uint8))
    with pytest.raises(ValueError, match="channels"):
        ocr.to_grey(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError, match="image"):
        ocr.to_grey([[1, 2]])


def test_preprocess_zoom_and_rescale():
    g = np.array([[50, 100], [150, 200]], np.uint8)
    p = ocr.preprocess(g, zoom=2, gamma=2.0)
    assert p.shape == (4, 4) and p.min() == 0 and p.max() == 255
    p1 = ocr.preprocess(g, zoom=1, gamma=2.0)  # (x² − 50²) / (200² − 50²) · 255
    assert p1[0, 1] == round((100**2 - 50**2) / (200**2 - 50**2) * 255)
    with pytest.raises(ValueError, match="gamma"):
        ocr.preprocess(g, gamma=0.0)


def test_kde_levels_finds_the_modes():
    rng = np.random.default_rng(0)
    px = np.concatenate([rng.normal(30, 5, 3000), rng.normal(120, 5, 2000), rng.normal(220, 5, 5000)])
    g = np.clip(px, 0, 255).astype(np.uint8)[None]
    dens, maxima, bounds = ocr.kde_levels(g)
    assert len(maxima) == 3 and np.all(np.abs(maxima - [30, 120, 220]) <= 4)
    assert bounds[0] == 0 and bounds[-1] == 256 and 30 < bounds[1] < 120 < bounds[2] < 220
    assert abs(dens.sum() - 1) < 0.05  # a density over 0..255 (tails beyond the ends are cut)
    masks = ocr.layer_masks(g, bounds)
    assert masks.shape == (3, 1, g.size) and np.all(masks.sum(0) == 1)


def test_erosion_resistance_square_and_line():
    m = np.zeros((30, 30), bool)
    m[2:12, 2:12] = True          # 10×10 square: 8×8 survive either erosion
    m[20, 2:28] = True            # a 1-px line: nothing survives
    labels, rho = ocr.erosion_resistance(m)
    assert labels.max() == 2 and np.allclose(sorted(rho), [0.0, 0.64])
    _, rho4 = ocr.erosion_resistance(m, erosion=4)
    assert np.allclose(sorted(rho4), [0.0, 0.64])
    plus = np.zeros((7, 7), bool)
    plus[3, 1:6] = plus[1:6, 3] = True
    plus[2:5, 2:5] = True         # a 3×3 core with arms: the cross keeps more than the square
    assert ocr.erosion_resistance(plus, erosion=4)[1][0] > ocr.erosion_resistance(plus, erosion=8)[1][0]
    with pytest.raises(TypeError, match="mask"):
        ocr.erosion_resistance(m.astype(np.uint8))
    with pytest.raises(ValueError, match="connectivity"):
        ocr.erosion_resistance(m, connectivity=6)


def test_box_distance_is_the_gap():
    d, xc, yc = ocr.box_distance([0, 0, 10, 10], [14, 0, 24, 10])
    assert (d, xc, yc) == (4.0, 14.0, 0.0)
    d, _, _ = ocr.box_distance([0, 0, 10, 10], [13, 14, 20, 20])
    assert d == 5.0  # sqrt(3² + 4²)
    assert ocr.box_distance([0, 0, 10, 10], [5, 5, 8, 8])[0] == 0.0


def test_score_boxes():
    t = np.array([[0, 0, 10, 10], [20, 0, 30, 10]])
    p = np.array([[0, 0, 10, 11], [40, 0, 50, 10], [21, 0, 30, 10]])
    s = ocr.score_boxes(p, t, iou=0.5)
    assert s["matched"] == 2 and math.isclose(s["precision"], 2 / 3) and s["recall"] == 1.0
    assert ocr.score_boxes(np.zeros((0, 4)), t)["recall"] == 0.0
    with pytest.raises(ValueError, match="iou"):
        ocr.score_boxes(p, t, iou=0.0)


@needs_fonts
def test_stages_on_a_tiny_page():
    img, t = ocr.render_page(["科学空间", "小米电饭煲"], font_paths=[TEST], size=40, seed=1, noise=0.01)
    mask = ocr.text_mask(np.asarray(img))
    assert mask.dtype == np.bool_ and mask.shape == img.size[::-1]
    for x0, y0, x1, y1 in t["distractors"]:  # the table and the disc are removed
        assert mask[y0:y1, x0:x1].mean() < 0.02
    lines = ocr.detect_lines(mask)
    assert ocr.score_boxes(lines, t["lines"], iou=0.7)["f1"] == 1.0
    chars = np.concatenate([ocr.cut_characters(mask, b) for b in lines])
    s = ocr.score_boxes(chars, t["chars"], iou=0.5)
    assert s["recall"] >= 0.8 and s["precision"] >= 0.8


@needs_fonts
def test_cutting_rules_on_split_characters():
    img, boxes = ocr.render_line("小川们", TEST, size=40)
    mask = np.asarray(img) < 128
    line = ocr.detect_lines(mask)
    assert len(line) == 1
    proj = ocr.cut_characters(mask, line[0], rule="projection")
    comb = ocr.cut_characters(mask, line[0], rule="combined")
    assert len(proj) > 3          # projection splits 小, 川 and 们
    assert len(comb) == 3 and ocr.score_boxes(comb, boxes, iou=0.7)["f1"] == 1.0
    with pytest.raises(ValueError, match="line_box"):
        ocr.cut_characters(mask, (0, 0, 10_000, 5))
    with pytest.raises(ValueError, match="rule"):
        ocr.cut_characters(mask, line[0], rule="magic")


@needs_fonts
def test_horizontal_dilation_keeps_lines_apart():
    img, t = ocr.render_page(["今天天气很好", "出去走走"], font_paths=[TEST], size=36, distractors=False, seed=2)
    mask = ocr.text_mask(np.asarray(img))
    assert len(ocr.detect_lines(mask, directions="horizontal")) == 2
    assert len(ocr.detect_lines(mask, directions="all", reach=1.0)) < 2


# ------------------------------------------------------------------ classifier
def test_char_cell_keeps_position_and_size():
    ink = np.zeros((40, 100), np.float32)
    ink[30:36, 10:14] = 1.0  # a low, small mark (like ，) in a line whose ink spans rows 4..36
    cell = ocr.char_cell(ink, (10, 30, 14, 36), frame=(4, 36))
    assert cell.shape == (ocr.CELL, ocr.CELL) and cell.dtype == np.float32
    rows = np.where(cell.max(1) > 0.5)[0]
    assert rows.min() > ocr.CELL * 0.6  # stays in the lower part of the cell


def test_classifier_state_roundtrip_and_checks():
    torch.manual_seed(0)
    m = ocr.CharClassifier("一二三四")
    x = np.random.default_rng(0).random((3, ocr.CELL, ocr.CELL)).astype(np.float32)
    m2 = ocr.CharClassifier.from_state(m.state())
    assert torch.allclose(m.logits(x), m2.logits(x), atol=2e-2)
    chars, probs = m2.predict(x, k=2)
    assert len(chars) == 3 and len(chars[0]) == 2 and probs.shape == (3, 2) and np.all(probs[:, 0] >= probs[:, 1])
    with pytest.raises(ValueError, match="charset"):
        ocr.CharClassifier("一一")
    with pytest.raises(ValueError, match="cells"):
        m.logits(np.zeros((2, 10, 10), np.float32))
    with pytest.raises(ValueError, match="k"):
        m.predict(x, k=5)


@pytest.mark.skipif(not ocr.WEIGHTS.is_file(), reason="weights not built")
@needs_fonts
def test_pretrained_reads_an_unseen_font():
    model = ocr.load_pretrained()
    assert ocr.WEIGHTS.stat().st_size <= 10 * 2**20 and len(model.charset) >= 3500 + 62
    text = "中华人民共和国科学技术"
    cells = ocr.render_char_cells(text, TEST, sizes=(40,))
    chars, _ = model.predict(cells, k=1)
    assert sum(c[0] == t for c, t in zip(chars, text)) >= len(text) - 1


# ------------------------------------------------------------------ language model
BLOG = dict(unigram={"电": 145001, "宙": 1980, "柳": 5000, "视": 30000, "规": 9000},
            bigram={"电柳": 0, "电视": 12426, "电规": 7, "宙柳": 0, "宙视": 0, "宙规": 18})


def test_bigram_table_of_the_article():
    lm = ocr.BigramLM(**BLOG, alpha=0.0)
    assert round(lm.prob("电", "视"), 5) == 0.08570 and round(lm.prob("宙", "规"), 5) == 0.00909
    f = 0.99996 * lm.prob("电", "视") * 0.12148  # eq. (14)
    assert math.isclose(f, 1.04e-2, rel_tol=0.01)
    smooth = ocr.BigramLM(**BLOG, alpha=1.0, vocab_size=3500)
    assert smooth.prob("电", "柳") == 1 / (145001 + 3500)


def test_viterbi_correction_turns_dian_liu_into_dianshi():
    cands = [["电", "宙", "宙"], ["柳", "视", "规"]]
    probs = np.array([[0.99996, 0.00004, 0.0], [0.87838, 0.12148, 0.00012]])
    lm = ocr.BigramLM(**BLOG, alpha=1.0, vocab_size=3500)
    assert ocr.correct(cands, probs, lm) == "电视"
    assert ocr.correct(cands, probs, lm, weight=0.0) == "电柳"  # no LM: the classifier's top-1
    assert ocr.correct([], np.zeros((0, 3)), lm) == ""
    with pytest.raises(ValueError, match="probs"):
        ocr.correct(cands, probs[:1], lm)


def test_bigram_counts_from_texts():
    lm = ocr.BigramLM.from_texts(["电视机 电视", "１９９８年"], charset="电视机18年")
    assert lm.bigram["电视"] == 2 and lm.bigram["视机"] == 1 and "机电" not in lm.bigram
    # full-width digits fold to ASCII; 9 is outside the charset and breaks the pairs around it
    assert lm.unigram["1"] == 1 and lm.bigram["8年"] == 1 and "19" not in lm.bigram and lm.V == 6


def test_cer():
    assert ocr.cer("电视机", "电柳机") == pytest.approx(1 / 3)
    assert ocr.cer("ab", "ab") == 0.0 and ocr.cer("a b", "ab") == 0.0
    assert ocr.cer("", "") == 0.0


# ------------------------------------------------------------------ pipeline
def test_recognize_bad_input_and_blank_image():
    with pytest.raises(TypeError, match="uint8"):
        ocr.recognize(np.zeros((10, 10), np.float64))
    with pytest.raises(ValueError, match="empty"):
        ocr.recognize(np.zeros((0, 0), np.uint8))
    with pytest.raises(TypeError, match="model"):
        ocr.recognize(np.full((20, 20), 255, np.uint8), model="cnn")
    assert ocr.recognize(np.full((60, 80), 255, np.uint8)) == ""  # no text → ""
    assert ocr.recognize(Image.new("RGB", (50, 30), (200, 10, 10)), correct=False) == ""
