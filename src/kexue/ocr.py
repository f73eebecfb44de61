"""A shallow exploration of OCR: the whole pipeline of 《OCR技术浅探》 (chapter: notebooks/07-ocr.ipynb).

Stages, each a plain function returning boxes so that it can be scored against the renderer's truth:

1. :func:`to_grey` / :func:`preprocess` — eq. (1) luma, optional ×2 zoom and the power ("gamma")
   contrast restoration with min–max rescaling (eqs. 2–3);
2. :func:`kde_levels` / :func:`layer_masks` — grey-level clustering by the modes of a Gaussian KDE of
   the 256-bin histogram (adaptive multi-level thresholding);
3. :func:`erosion_resistance`, :func:`text_mask` — per-layer 8-connected components kept when their
   erosion resistance lies in [0.1, 0.9], pooled across layers, then the density (8)/(9) and isolation
   filters; :func:`component_boxes` gives the surviving components' boxes;
4. :func:`detect_lines` — directed (horizontal) dilation of component boxes into text-line boxes;
5. :func:`cut_characters` — uniform, projection or the article's combined 1.2·H rule;
6. :class:`CharClassifier` — a small CNN on 32×32 character cells (:func:`char_cell`), trained by
   ``python -m kexue.ocr train`` on fonts of :data:`TRAIN_FONTS` only (:data:`TEST_FONTS` never seen;
   the shipped weights took 2.5 min of rendering and 27.5 min of training on one thread of a shared
   2-core machine, 5 epochs over 107,460 cells);
7. :class:`BigramLM` + :func:`correct` — Viterbi over the top-k candidates with character-bigram
   transitions (the shared :func:`kexue.tagging.viterbi`);
8. :func:`recognize` — all of it, image in, text out.

Conventions: images are uint8 arrays [H, W] (grey, 0 = black) or [H, W, 3] (RGB), or PIL images; masks
are bool [H, W] with True = ink; a box is ``(x0, y0, x1, y1)`` in pixels with x1, y1 exclusive; box
arrays are int64 [N, 4].
"""

from __future__ import annotations

import hashlib
import math
import string
import sys
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import ndimage

from ._checks import check_array, check_choice, check_int, check_number, check_type

__all__ = [
    "PUNCTUATION", "ALNUM", "TRAIN_FONTS", "TEST_FONTS", "font_paths", "default_charset",
    "render_line", "render_page", "render_char_cells", "salt",
    "to_grey", "preprocess", "kde_levels", "layer_masks", "erosion_resistance", "text_mask",
    "density_rules", "component_boxes", "box_distance", "detect_lines", "cut_characters", "box_iou", "score_boxes",
    "char_cell", "CharClassifier", "make_dataset", "train_classifier", "load_pretrained", "BigramLM",
    "pd1998_lm", "font_paths_default", "correct",
    "recognize", "cer",
]

PUNCTUATION = "，。、；：？！“”‘’（）《》【】—…·"
ALNUM = string.digits + string.ascii_uppercase + string.ascii_lowercase
# Training faces (font short name of kexue.data.FONT_FILES, or "name:Bold" for the bold file of the
# same family). The two test families below are never rendered for training.
TRAIN_FONTS = ("noto-sans-cjk", "noto-sans-cjk:Bold", "noto-serif-cjk", "noto-serif-cjk:Bold", "wqy-microhei",
               "arphic-ukai", "lxgw-wenkai", "lxgw-wenkai:Bold", "droid-fallback", "hanazono")
TEST_FONTS = ("wqy-zenhei", "arphic-uming")
CELL = 32
WEIGHTS = Path(__file__).resolve().parent / "weights" / "ocr_cnn.pt"


# ------------------------------------------------------------------------------------------ fonts
def font_paths() -> dict[str, Path]:
    """``{face name: font file}`` for every installed face of :data:`TRAIN_FONTS` + :data:`TEST_FONTS`."""
    from .data import cjk_fonts

    base = cjk_fonts()
    out = {}
    for name in TRAIN_FONTS + TEST_FONTS:
        fam, _, weight = name.partition(":")
        if fam not in base:
            continue
        p = base[fam]
        if weight:
            p = p.with_name(p.name.replace("Regular", weight))
            if not p.is_file():
                continue
        out[name] = p
    return out


@lru_cache(maxsize=256)
def _font(path: str, size: int):
    """A PIL font; for collections (.ttc) the simplified-Chinese face (name with "SC"/"CN"), else face 0."""
    from PIL import ImageFont

    if not path.lower().endswith(".ttc"):
        return ImageFont.truetype(path, size)
    first = None
    for i in range(8):
        try:
            f = ImageFont.truetype(path, size, index=i)
        except OSError:
            break
        first = first or f
        fam = f.getname()[0]
        if fam.endswith(" SC") or fam.endswith(" CN"):
            return f
    if first is None:
        raise ValueError(f"font_path {path!r} could not be opened")
    return first


def _check_font(font_path) -> str:
    check_type(font_path, "font_path", (str, Path))
    if not Path(font_path).is_file():
        raise ValueError(f"font_path {str(font_path)!r} is not a file")
    return str(font_path)


def default_charset() -> str:
    """The classifier's classes: 通用规范汉字表 level 1 (3,500) + digits + ASCII letters + punctuation."""
    from .data import charset

    chars = charset("tongyong-1") + ALNUM + PUNCTUATION
    return "".join(dict.fromkeys(chars))


# ------------------------------------------------------------------------------------------ rendering
def salt(image: np.ndarray, p: float, rng: np.random.Generator, ink: int = 0) -> np.ndarray:
    """Salt noise as in the article's training data: each pixel becomes ``ink`` with probability ``p``."""
    check_number(p, "p", low=0.0, high=1.0)
    out = image.copy()
    hit = rng.random(image.shape[:2]) < p
    out[hit] = ink
    return out


def render_line(text: str, font_path, size: int = 40, noise: float = 0.0, seed: int = 0):
    """Render one line of black text on white.

    Returns ``(image, boxes)``: a PIL "L" image and int64 boxes [N, 4] ``(x0, y0, x1, y1)``, the ink box of
    each non-space character of ``text`` in order (N = number of non-space characters). ``noise`` is the
    probability of a salt (black) pixel. Raises ``ValueError`` for an empty/blank ``text``, a missing
    font file, ``size`` outside [8, 256] or ``noise`` outside [0, 1].
    """
    from PIL import Image, ImageDraw

    check_type(text, "text", str)
    if not text.strip() or "\n" in text:
        raise ValueError("text must be one non-blank line")
    font = _font(_check_font(font_path), check_int(size, "size", low=8, high=256))
    check_number(noise, "noise", low=0.0, high=1.0)
    check_int(seed, "seed", low=0)
    margin = size // 2
    width = int(sum(font.getlength(c) for c in text)) + 2 * margin
    img = Image.new("L", (width, int(size * 1.5) + 2 * margin), 255)
    draw = ImageDraw.Draw(img)
    x, y = float(margin), margin + size  # baseline
    boxes = []
    for c in text:
        if not c.isspace():
            draw.text((x, y), c, font=font, fill=0, anchor="ls")
            b = draw.textbbox((x, y), c, font=font, anchor="ls")
            boxes.append(b)
        x += font.getlength(c)
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    arr = np.asarray(img)
    # tighten the text boxes to actual ink (textbbox is the glyph's control box)
    ink = arr < 128
    for b in boxes:
        sub = ink[b[1]:b[3], b[0]:b[2]]
        if sub.any():
            rows, cols = np.where(sub.any(1))[0], np.where(sub.any(0))[0]
            b[:] = (b[0] + cols[0], b[1] + rows[0], b[0] + cols[-1] + 1, b[1] + rows[-1] + 1)
    top = max(0, int(boxes[:, 1].min()) - margin // 2)
    bot = min(arr.shape[0], int(boxes[:, 3].max()) + margin // 2)
    arr = arr[top:bot]
    boxes[:, [1, 3]] -= top
    if noise > 0:
        arr = salt(arr, noise, np.random.default_rng(seed))
    return Image.fromarray(np.ascontiguousarray(arr)), boxes


def render_page(lines: Sequence[str], font_paths: Sequence | None = None, size: int = 40,
                width: int | None = None, noise: float = 0.0, distractors: bool = True, seed: int = 0):
    """A synthetic poster with ground truth: gradient background, coloured lines, a table and a blob.

    ``lines``: the text lines, drawn top to bottom (line i in ``font_paths[i % len(font_paths)]``; default:
    the installed test fonts, else any CJK font) at sizes between 0.8·size and 1.25·size, each in a
    random dark or light colour contrasting with the background. ``distractors`` adds a ruled table and
    a solid disc (the article's rice-cooker photo stand-in) beside/below the text, ``noise`` salt pixels.

    Returns ``(image, truth)``: an RGB PIL image and ``{"lines": int64 [L, 4] line boxes, "chars": int64
    [N, 4] character boxes, "line_of": int64 [N] line index of each character, "text": list of the lines
    without spaces, "distractors": int64 [D, 4] boxes of the table and the disc}``.
    """
    from PIL import Image, ImageDraw

    check_type(lines, "lines", (list, tuple))
    if not lines or any(not isinstance(t, str) or not t.strip() or "\n" in t for t in lines):
        raise ValueError("lines must be a non-empty list of non-blank one-line strings")
    if font_paths is None:
        font_paths = font_paths_default()
    font_paths = [_check_font(f) for f in font_paths]
    if not font_paths:
        raise ValueError("font_paths must not be empty")
    check_int(size, "size", low=12, high=200)
    check_number(noise, "noise", low=0.0, high=1.0)
    check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    sizes = [int(size * rng.uniform(0.8, 1.25)) for _ in lines]
    fonts = [_font(font_paths[i % len(font_paths)], s) for i, s in enumerate(sizes)]
    line_w = [int(sum(f.getlength(c) for c in t)) for t, f in zip(lines, fonts)]
    margin = size
    text_w = max(line_w)
    blob = int(size * 2.6)
    W = width or (text_w + 2 * margin + (blob + margin if distractors else 0))
    if W < text_w + 2 * margin:
        raise ValueError(f"width {W} is too small for the longest line ({text_w + 2 * margin} px needed)")
    table_h = int(size * 2.4) if distractors else 0
    H = int(sum(s * 1.6 for s in sizes)) + 2 * margin + (table_h + margin // 2 if distractors else 0)
    # background: a linear gradient between two light (or two dark) colours
    dark_bg = rng.random() < 0.3
    lo, hi = (20, 90) if dark_bg else (170, 250)
    c0, c1 = rng.integers(lo, hi, 3), rng.integers(lo, hi, 3)
    t = np.linspace(0, 1, H)[:, None, None] * rng.uniform(0.5, 1) + np.linspace(0, 1, W)[None, :, None] * rng.uniform(0, 0.5)
    t = t / t.max()
    bg = (c0[None, None] * (1 - t) + c1[None, None] * t).astype(np.uint8)
    img = Image.fromarray(bg, "RGB")
    draw = ImageDraw.Draw(img)
    y = margin
    char_boxes, line_of, line_boxes = [], [], []
    for i, (text, font, s) in enumerate(zip(lines, fonts, sizes)):
        colour = tuple(int(v) for v in (rng.integers(200, 256, 3) if dark_bg else rng.integers(0, 90, 3)))
        x = float(margin + rng.integers(0, max(1, text_w - line_w[i] + 1)))
        base = y + s
        for c in text:
            if not c.isspace():
                draw.text((x, base), c, font=font, fill=colour, anchor="ls")
                char_boxes.append(draw.textbbox((x, base), c, font=font, anchor="ls"))
                line_of.append(i)
            x += font.getlength(c)
        y += int(s * 1.6)
    dboxes = []
    if distractors:
        ink = rng.integers(0, 80, 3) if not dark_bg else rng.integers(180, 256, 3)
        tx0, ty0 = margin, y + margin // 4
        tx1, ty1 = min(W - margin, tx0 + int(size * 7)), ty0 + table_h
        for k in range(4):
            yy = ty0 + k * (ty1 - ty0) // 3
            draw.line([(tx0, yy), (tx1, yy)], fill=tuple(int(v) for v in ink), width=1)
        for k in range(5):
            xx = tx0 + k * (tx1 - tx0) // 4
            draw.line([(xx, ty0), (xx, ty1)], fill=tuple(int(v) for v in ink), width=1)
        dboxes.append((tx0, ty0, tx1 + 1, ty1 + 1))
        bx0 = margin + text_w + margin // 2
        by0 = margin
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse([bx0, by0, bx0 + blob, by0 + blob], fill=colour)
        dboxes.append((bx0, by0, bx0 + blob + 1, by0 + blob + 1))
    arr = np.asarray(img).copy()
    # tighten character boxes to ink: pixels whose colour is closer to the text colour than to the background
    grey = to_grey(arr).astype(np.int16)
    bgg = to_grey(bg).astype(np.int16)
    ink_mask = np.abs(grey - bgg) > 40
    chars = np.asarray(char_boxes, dtype=np.int64).reshape(-1, 4)
    for b in chars:
        sub = ink_mask[b[1]:b[3], b[0]:b[2]]
        if sub.any():
            rows, cols = np.where(sub.any(1))[0], np.where(sub.any(0))[0]
            b[:] = (b[0] + cols[0], b[1] + rows[0], b[0] + cols[-1] + 1, b[1] + rows[-1] + 1)
    line_of = np.asarray(line_of, dtype=np.int64)
    for i in range(len(lines)):
        cb = chars[line_of == i]
        line_boxes.append((cb[:, 0].min(), cb[:, 1].min(), cb[:, 2].max(), cb[:, 3].max()))
    if noise > 0:
        hit = rng.random((H, W)) < noise
        arr[hit] = rng.integers(0, 256, (int(hit.sum()), 3))
    truth = {"lines": np.asarray(line_boxes, dtype=np.int64).reshape(-1, 4), "chars": chars, "line_of": line_of,
             "text": ["".join(t.split()) for t in lines],
             "distractors": np.asarray(dboxes, dtype=np.int64).reshape(-1, 4)}
    return Image.fromarray(arr), truth


def font_paths_default() -> list[str]:
    """The installed test fonts (never used in training), else every installed CJK font."""
    fp = font_paths()
    test = [str(fp[n]) for n in TEST_FONTS if n in fp]
    if test:
        return test
    if not fp:
        raise ValueError("no CJK font installed: install the Debian packages listed in apt.txt")
    return [str(p) for p in fp.values()]


# ------------------------------------------------------------------------------------------ stage 1–2
def to_grey(image) -> np.ndarray:
    """Eq. (1): ``Y = 0.299 R + 0.587 G + 0.114 B`` as uint8 [H, W].

    Accepts a PIL image, a uint8 array [H, W] (returned unchanged) or [H, W, 3|4]. Raises ``TypeError``
    for other types or dtypes and ``ValueError`` for an empty image or a wrong number of channels.
    """
    try:
        from PIL import Image
        if isinstance(image, Image.Image):
            image = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
    except ImportError:  # pragma: no cover
        pass
    check_array(image, "image", ndim=(2, 3))
    if image.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {image.dtype}")
    if image.size == 0:
        raise ValueError(f"image must not be empty, got shape {image.shape}")
    if image.ndim == 2:
        return image
    if image.shape[2] not in (3, 4):
        raise ValueError(f"image must have 3 or 4 channels, got shape {image.shape}")
    rgb = image[..., :3].astype(np.float64)
    return np.clip(np.rint(rgb @ np.array([0.299, 0.587, 0.114])), 0, 255).astype(np.uint8)


def preprocess(grey: np.ndarray, zoom: int = 2, gamma: float = 2.0) -> np.ndarray:
    """Zoom ×``zoom`` (cubic spline) then the power transform x → x^γ with min–max rescaling to 0–255 (eqs. 2–3).

    ``grey``: uint8 [H, W]. Returns uint8 [zoom·H, zoom·W]. A constant image stays constant.
    """
    check_array(grey, "grey", ndim=2)
    if grey.dtype != np.uint8:
        raise TypeError(f"grey must be uint8, got {grey.dtype}")
    check_int(zoom, "zoom", low=1, high=8)
    check_number(gamma, "gamma", low=0.0, low_inclusive=False)
    x = grey.astype(np.float64)
    if zoom > 1:  # the spline overshoots: clip to the input's range (a constant image stays constant)
        x = np.clip(ndimage.zoom(x, zoom, order=3), float(grey.min()), float(grey.max()))
    x = x ** gamma
    lo, hi = x.min(), x.max()
    if hi - lo < 1e-6 * max(hi, 1.0):
        return np.full(x.shape, int(grey.flat[0]), np.uint8)
    return np.rint((x - lo) / (hi - lo) * 255).astype(np.uint8)


def kde_levels(grey: np.ndarray, bw: float = 0.2, prominence: float = 0.1):
    """Grey-level clustering by the modes of a Gaussian KDE (the article's adaptive multi-level threshold).

    The KDE of the pixel values with bandwidth ``bw``·σ (SciPy's ``bw_method=bw`` semantics: the factor
    *replaces* Scott's) is computed exactly from the 256-bin histogram and evaluated at 0..255. Maxima and
    minima come from sign changes of its difference; a minimum whose depth below the lower neighbouring
    maximum is under ``prominence`` × that maximum is dropped (merging the two modes), so that the
    ripples of a gradient's plateau do not each become a layer while a small text mode survives.

    Returns ``(density [256], maxima int64 [K], bounds int64 [K+1])``: layer k holds the grey values
    ``bounds[k] <= v < bounds[k+1]`` (bounds[0] = 0, bounds[-1] = 256) and has its mode at ``maxima[k]``.
    """
    check_array(grey, "grey", min_ndim=2)
    if grey.dtype != np.uint8:
        raise TypeError(f"grey must be uint8, got {grey.dtype}")
    if grey.size == 0:
        raise ValueError("grey must not be empty")
    check_number(bw, "bw", low=0.0, low_inclusive=False)
    check_number(prominence, "prominence", low=0.0, high=1.0)
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    v = np.arange(256.0)
    n = hist.sum()
    mean = (hist * v).sum() / n
    sigma = math.sqrt(max((hist * (v - mean) ** 2).sum() / n, 0.0))
    h = max(bw * sigma, 0.5)
    k = np.exp(-0.5 * ((v[:, None] - v[None, :]) / h) ** 2) / (h * math.sqrt(2 * math.pi))
    density = k @ hist / n
    d = np.sign(np.diff(density))
    # flat stretches inherit the sign of the previous slope so that plateaus yield one extremum
    for i in range(1, len(d)):
        if d[i] == 0:
            d[i] = d[i - 1]
    change = np.diff(d)
    maxima = list(np.where(change < 0)[0] + 1)
    minima = list(np.where(change > 0)[0] + 1)
    if d[0] < 0:
        maxima.insert(0, 0)
    if d[-1] > 0:
        maxima.append(255)
    if not maxima:
        maxima = [int(np.argmax(density))]
    # interleave: a minimum between each pair of maxima (argmin of the density between them)
    maxima = sorted(set(int(m) for m in maxima))
    changed = True
    while changed and len(maxima) > 1:
        changed = False
        mins = [a + int(np.argmin(density[a:b + 1])) for a, b in zip(maxima[:-1], maxima[1:])]
        depth = [(min(density[a], density[b]) - density[m]) / max(min(density[a], density[b]), 1e-300)
                 for a, b, m in zip(maxima[:-1], maxima[1:], mins)]
        j = int(np.argmin(depth))
        if depth[j] < prominence:
            drop = j if density[maxima[j]] < density[maxima[j + 1]] else j + 1
            maxima.pop(drop)
            changed = True
    mins = [a + int(np.argmin(density[a:b + 1])) for a, b in zip(maxima[:-1], maxima[1:])]
    bounds = np.array([0] + mins + [256], dtype=np.int64)
    return density, np.array(maxima, dtype=np.int64), bounds


def layer_masks(grey: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Binary masks bool [K, H, W], mask k = pixels with ``bounds[k] <= grey < bounds[k+1]``."""
    check_array(grey, "grey", ndim=2)
    check_array(bounds, "bounds", kind="int", ndim=1)
    if len(bounds) < 2 or bounds[0] != 0 or bounds[-1] != 256 or np.any(np.diff(bounds) <= 0):
        raise ValueError("bounds must increase strictly from 0 to 256")
    idx = np.searchsorted(bounds, grey, side="right") - 1
    return idx[None] == np.arange(len(bounds) - 1)[:, None, None]


_EIGHT = np.ones((3, 3), bool)
_FOUR = ndimage.generate_binary_structure(2, 1)


def erosion_resistance(mask: np.ndarray, connectivity: int = 8, erosion: int = 8):
    """Eq. (7): ρ(R) = |erode(R)| / |R| for each ``connectivity``-connected component R of ``mask``.

    ``erosion`` picks the structuring element: 8 = 3×3 square (the article's text), 4 = the cross
    (SciPy's default, what the article's code used). Returns ``(labels int [H, W], rho float [n])``,
    component i+1 of ``labels`` having resistance ``rho[i]``.
    """
    check_array(mask, "mask", ndim=2)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be bool, got {mask.dtype}")
    check_choice(connectivity, "connectivity", (4, 8))
    check_choice(erosion, "erosion", (4, 8))
    labels, n = ndimage.label(mask, structure=_EIGHT if connectivity == 8 else _FOUR)
    if n == 0:
        return labels, np.zeros(0)
    eroded = ndimage.binary_erosion(mask, structure=_EIGHT if erosion == 8 else _FOUR)
    size = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    kept = np.bincount(labels[eroded], minlength=n + 1)[1:]
    return labels, kept / size


def density_rules(area, box_h, box_w, image_area: int, threshold: float = 16.0, floor: float = 160.0):
    """Rules (8) and (9) for components of ``area`` pixels in boxes ``box_h`` × ``box_w``: returns bool arrays
    ``(low, high)`` — low-density (tables, frames) and high-density (solid blocks).

    low:  |R|/|B| · s < ``threshold``;  high: (1 + |B| − |R|)/|B| · s < ``threshold``, with the size factor
    s = max(|I|/|B|, ``floor``). Our changes: the article's s = |I|/|B| assumes posters much larger than
    their characters (``floor=0`` restores it); we floor it for boxes smaller than a quarter of the image
    so that the characters of a line or a small image survive (bigger boxes keep s = |I|/|B| < 4 and so
    always fail both rules). And the high-density rule spares elongated boxes (short side < 1/4 of the long
    one), which is what the article's "+1" was meant to do for 一 but does not (a bar rarely fills its box).
    """
    area, h, w = (np.asarray(v, np.float64) for v in (area, box_h, box_w))
    b = h * w
    raw = image_area / b
    size = np.where(raw < 4, raw, np.maximum(raw, floor))
    low = area / b * size < threshold
    high = ((1 + b - area) / b * size < threshold) & (np.minimum(h, w) >= 0.25 * np.maximum(h, w))
    return low, high


def _density_ok(area, box_h, box_w, image_area, threshold=16.0):
    low, high = density_rules(area, box_h, box_w, image_area, threshold)
    return ~low & ~high


def text_mask(grey: np.ndarray, rho: tuple[float, float] = (0.1, 0.9), bw: float = 0.2,
              density: float = 16.0, isolation: bool = True, erosion: int = 8, zoom: int = 2,
              gamma: float = 2.0, denoise: bool = False) -> np.ndarray:
    """Stages 1–4: :func:`preprocess` (×``zoom``, power ``gamma``) → layers → components with ρ in ``rho`` →
    pooled across layers → density/isolation filters → back to the input resolution (a pixel is ink if
    any of its ``zoom``×``zoom`` sub-pixels is). ``denoise`` adds a 3×3 median filter after the zoom
    (our addition against salt noise; off by default, :func:`recognize` switches it on).

    The density rules are applied to each layer's components *before* pooling as well as after it
    (a background band of a gradient, with the text as holes, would otherwise swallow the text when the
    layers are pooled). Pooling: the kept components of all layers are united; for each connected region of the union one
    layer wins. The article takes the layer with the largest pixel share; we take the layer whose
    components span the largest box (ties: most pixels), so that the counters of 口/日/回 (a background
    layer enclosed by the strokes) lose to the strokes around them. Density rules (8)/(9) use
    ``density`` as threshold; the isolation rule drops a component with fill ratio > 0.75 and no other
    ink in its box grown to 3× width and height. Returns bool [H, W] (True = text ink).
    """
    grey0 = to_grey(grey)
    check_int(zoom, "zoom", low=1, high=4)
    grey = preprocess(grey0, zoom=zoom, gamma=gamma) if (zoom > 1 or gamma != 1) else grey0
    if denoise:
        grey = ndimage.median_filter(grey, size=3)
    out = _text_mask(grey, rho, bw, density, isolation, erosion)
    if zoom > 1:
        H0, W0 = grey0.shape
        out = out[:H0 * zoom, :W0 * zoom].reshape(H0, zoom, W0, zoom).any((1, 3))
    return out


def _text_mask(grey, rho, bw, density, isolation, erosion):
    _, _, bounds = kde_levels(grey, bw=bw)
    layers = layer_masks(grey, bounds)
    H, W = grey.shape
    kept_layers = np.zeros((len(layers), H, W), bool)
    for k, m in enumerate(layers):
        labels, r = erosion_resistance(m, erosion=erosion)
        if len(r) == 0:
            continue
        sl = ndimage.find_objects(labels)
        area = np.bincount(labels.ravel(), minlength=len(r) + 1)[1:].astype(np.float64)
        bh = np.array([s[0].stop - s[0].start for s in sl], float)
        bw_ = np.array([s[1].stop - s[1].start for s in sl], float)
        ok = (r >= rho[0]) & (r <= rho[1]) & _density_ok(area, bh, bw_, H * W, density)
        kept_layers[k] = np.concatenate([[False], ok])[labels]
    union = kept_layers.any(0)
    ulab, n = ndimage.label(union, structure=_EIGHT)
    if n == 0:
        return union
    slices = ndimage.find_objects(ulab)
    out = np.zeros((H, W), bool)
    for i, sl in enumerate(slices):
        region = ulab[sl] == i + 1
        best, best_key = None, None
        for k in range(len(layers)):
            part = kept_layers[k][sl] & region
            cnt = int(part.sum())
            if cnt == 0:
                continue
            rows, cols = np.where(part.any(1))[0], np.where(part.any(0))[0]
            key = ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1), cnt)
            if best_key is None or key > best_key:
                best, best_key = part, key
        out[sl] |= best
    # post-processing: density and isolation rules on the components of the pooled mask
    lab, n = ndimage.label(out, structure=_EIGHT)
    if n == 0:
        return out
    sl = ndimage.find_objects(lab)
    area = np.bincount(lab.ravel(), minlength=n + 1)[1:].astype(np.float64)
    bh = np.array([s[0].stop - s[0].start for s in sl], float)
    bwid = np.array([s[1].stop - s[1].start for s in sl], float)
    keep = _density_ok(area, bh, bwid, H * W, density)
    if isolation:
        for i, s in enumerate(sl):
            if not keep[i] or area[i] / (bh[i] * bwid[i]) <= 0.75:
                continue
            y0, y1 = max(0, int(s[0].start - bh[i])), min(H, int(s[0].stop + bh[i]))
            x0, x1 = max(0, int(s[1].start - bwid[i])), min(W, int(s[1].stop + bwid[i]))
            window = lab[y0:y1, x0:x1]
            if not np.any((window != 0) & (window != i + 1)):
                keep[i] = False
    return np.concatenate([[False], keep])[lab]


def component_boxes(mask: np.ndarray) -> np.ndarray:
    """Boxes int64 [N, 4] of the 8-connected components of a bool mask (in label order)."""
    check_array(mask, "mask", ndim=2)
    lab, n = ndimage.label(mask, structure=_EIGHT)
    return np.array([(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in ndimage.find_objects(lab)],
                    dtype=np.int64).reshape(-1, 4)


# ------------------------------------------------------------------------------------------ stage 5
def box_distance(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Eqs. (10)–(12), corrected: gap-based distance between boxes a and b, and the centre difference.

    Centre difference (x_c, y_c) = centre(b) − centre(a) with centre ((x0+x1)/2, (y0+y1)/2); the gap per
    axis is |x_c| − (wa + wb)/2 (resp. heights); d = sqrt(max(gap_x, 0)² + max(gap_y, 0)²).
    Returns ``(d, x_c, y_c)``.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    xc = (b[0] + b[2]) / 2 - (a[0] + a[2]) / 2
    yc = (b[1] + b[3]) / 2 - (a[1] + a[3]) / 2
    gx = abs(xc) - ((a[2] - a[0]) + (b[2] - b[0])) / 2
    gy = abs(yc) - ((a[3] - a[1]) + (b[3] - b[1])) / 2
    return math.hypot(max(gx, 0.0), max(gy, 0.0)), xc, yc


def _merge_overlapping(boxes: list[list[int]]) -> list[list[int]]:
    changed = True
    while changed:
        changed = False
        out: list[list[int]] = []
        for b in boxes:
            for o in out:
                if b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]:
                    o[:] = [min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])]
                    changed = True
                    break
            else:
                out.append(list(b))
        boxes = out
    return boxes


def detect_lines(mask: np.ndarray, directions: str = "horizontal", reach: float = 0.25, rounds: int = 3,
                 min_side: int = 4) -> np.ndarray:
    """Stage 5: text-line boxes by directed dilation of the component boxes.

    Each component becomes its box; each box's nearest neighbour (distance of :func:`box_distance`) is
    found, and when it is close enough (d ≤ max(h, w)·``reach`` of the box) the box grows by ``reach`` ×
    its width toward it — only if the neighbour lies horizontally (|x_c| ≥ |y_c|) when ``directions`` is
    ``"horizontal"`` (the article's rule), in every direction (vertically by ``reach`` × height) when
    ``"all"``. Overlapping boxes merge; this repeats ``rounds`` times. Our addition: a line-assembly pass
    joins boxes that overlap vertically by more than half the smaller height and are less than one
    height apart (punctuation with wide side bearings); boxes are then trimmed to their ink and those
    with a side < ``min_side`` dropped. Returns int64 [L, 4] sorted top to bottom, left to right.
    """
    check_array(mask, "mask", ndim=2)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be bool, got {mask.dtype}")
    check_choice(directions, "directions", ("horizontal", "all"))
    check_number(reach, "reach", low=0.0, high=2.0)
    check_int(rounds, "rounds", low=1, high=20)
    boxes = [list(map(int, b)) for b in component_boxes(mask)]
    for _ in range(rounds):
        if len(boxes) < 2:
            break
        arr = np.array(boxes, float)
        grown = []
        for i, a in enumerate(arr):
            best, bd, bxc, byc = None, np.inf, 0.0, 0.0
            for j, b in enumerate(arr):
                if i == j:
                    continue
                d, xc, yc = box_distance(a, b)
                if d < bd:
                    best, bd, bxc, byc = j, d, xc, yc
            g = list(boxes[i])
            w, h = a[2] - a[0], a[3] - a[1]
            if best is not None and bd <= max(h, w) * reach:
                horizontal = abs(bxc) >= abs(byc)
                if horizontal:
                    step = int(math.ceil(w * reach)) + 1
                    if bxc > 0:
                        g[2] += step
                    else:
                        g[0] -= step
                elif directions == "all":
                    step = int(math.ceil(h * reach)) + 1
                    if byc > 0:
                        g[3] += step
                    else:
                        g[1] -= step
            grown.append(g)
        merged = _merge_overlapping(grown)
        if len(merged) == len(boxes):
            boxes = merged
            break
        boxes = merged
    # also merge pieces that overlap horizontally and touch vertically inside one line (e.g. 三, 二)
    boxes = _merge_overlapping([[b[0], b[1] - 1, b[2], b[3] + 1] for b in boxes])
    # line assembly: boxes that share most of their height and lie within one line height side by side
    # are one line (punctuation with wide side bearings such as ！ and ，)
    changed = True
    while changed:
        changed = False
        boxes.sort(key=lambda b: b[0])
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                ov = min(a[3], b[3]) - max(a[1], b[1])
                hmax = max(a[3] - a[1], b[3] - b[1])
                gap = max(a[0], b[0]) - min(a[2], b[2])
                if (ov > 0 and gap < 0) or (ov > 0.5 * min(a[3] - a[1], b[3] - b[1]) and gap < 1.0 * hmax
                                            and min(a[3] - a[1], b[3] - b[1]) > 0.2 * hmax):
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    boxes.pop(j)
                    changed = True
                    break
            if changed:
                break
    H, W = mask.shape
    out = []
    for b in boxes:
        x0, y0, x1, y1 = max(0, b[0]), max(0, b[1]), min(W, b[2]), min(H, b[3])
        sub = mask[y0:y1, x0:x1]
        if not sub.any():
            continue
        rows, cols = np.where(sub.any(1))[0], np.where(sub.any(0))[0]
        t = (x0 + cols[0], y0 + rows[0], x0 + cols[-1] + 1, y0 + rows[-1] + 1)
        if min(t[2] - t[0], t[3] - t[1]) >= min_side:
            out.append(t)
    out.sort(key=lambda b: (b[1], b[0]))
    return np.array(out, dtype=np.int64).reshape(-1, 4)


# ------------------------------------------------------------------------------------------ stage 6
def _pieces(cols: np.ndarray) -> list[tuple[int, int]]:
    """Runs of non-zero columns, as (start, stop)."""
    nz = np.concatenate([[0], (cols > 0).astype(np.int8), [0]])
    d = np.diff(nz)
    return list(zip(np.where(d == 1)[0], np.where(d == -1)[0]))


def cut_characters(mask: np.ndarray, line_box, rule: str = "combined", ratio: float = 1.2) -> np.ndarray:
    """Stage 6: character boxes inside one line box.

    ``rule``: ``"uniform"`` — squares of side H (the line height); ``"projection"`` — every run of empty
    columns is a cut; ``"combined"`` — the article's rule: the empty-column runs, collapsed to their mean
    position, are candidates c_1..c_m between the line ends c_0, c_{m+1}; c_i is kept iff
    c_{i+1} − c_{i−1} > ``ratio``·H (height — the original says "width", corrected by its author), and
    every resulting segment of width w is then split into round(w/H) equal parts. Boxes are trimmed to
    their ink; returns int64 [N, 4] left to right.
    """
    check_array(mask, "mask", ndim=2)
    check_choice(rule, "rule", ("uniform", "projection", "combined"))
    check_number(ratio, "ratio", low=0.0, low_inclusive=False)
    x0, y0, x1, y1 = (int(v) for v in line_box)
    if not (0 <= x0 < x1 <= mask.shape[1] and 0 <= y0 < y1 <= mask.shape[0]):
        raise ValueError(f"line_box {tuple(line_box)} must lie inside the mask of shape {mask.shape}")
    sub = mask[y0:y1, x0:x1]
    H = y1 - y0
    cols = sub.sum(0)
    if rule == "uniform":
        n = max(1, int(round((x1 - x0) / H)))
        edges = np.linspace(0, x1 - x0, n + 1).round().astype(int)
        segs = list(zip(edges[:-1], edges[1:]))
    else:
        pieces = _pieces(cols)
        if not pieces:
            return np.zeros((0, 4), np.int64)
        if rule == "projection":
            segs = pieces
        else:
            cands = [pieces[0][0]] + [(a[1] + b[0]) / 2 for a, b in zip(pieces[:-1], pieces[1:])] + [pieces[-1][1]]
            keep = [cands[0]] + [c for i, c in enumerate(cands[1:-1], 1)
                                 if cands[i + 1] - cands[i - 1] > ratio * H] + [cands[-1]]
            segs = []
            for a, b in zip(keep[:-1], keep[1:]):
                n = max(1, int(round((b - a) / H)))
                e = np.linspace(a, b, n + 1)
                segs += [(int(round(e[k])), int(round(e[k + 1]))) for k in range(n)]
    out = []
    for a, b in segs:
        s = sub[:, a:b]
        if not s.any():
            continue
        rows, cs = np.where(s.any(1))[0], np.where(s.any(0))[0]
        out.append((x0 + a + cs[0], y0 + rows[0], x0 + a + cs[-1] + 1, y0 + rows[-1] + 1))
    return np.array(out, dtype=np.int64).reshape(-1, 4)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU float [len(a), len(b)] of int boxes [N, 4] and [M, 4]."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def score_boxes(pred, truth, iou: float = 0.5) -> dict[str, float]:
    """Precision, recall and F1 of predicted boxes against ground truth, one-to-one matches at IoU ≥ ``iou``.

    Matching is greedy by decreasing IoU. Empty prediction and truth give precision = recall = 1.
    """
    check_number(iou, "iou", low=0.0, high=1.0, low_inclusive=False)
    m = box_iou(pred, truth)
    P, T = m.shape
    matched = 0
    if P and T:
        used_p, used_t = set(), set()
        for flat in np.argsort(-m, axis=None):
            i, j = divmod(int(flat), T)
            if m[i, j] < iou:
                break
            if i in used_p or j in used_t:
                continue
            used_p.add(i)
            used_t.add(j)
            matched += 1
    prec = matched / P if P else float(T == 0)
    rec = matched / T if T else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "matched": matched, "predicted": P, "truth": T}


# ------------------------------------------------------------------------------------------ stage 7
def char_cell(ink: np.ndarray, box, frame: tuple[int, int] | None = None, size: int = CELL,
              scale: float = 1.0, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The classifier's input: a square window around one character, resized to ``size``×``size``.

    ``ink``: float or uint8 [H, W] with larger = more ink (a bool mask works); ``box``: the character's
    ink box; ``frame``: (top, bottom) of its line's ink (default: the box itself). The window's side is
    1.1 × ``scale`` × max(bottom − top, box width), centred at the box's horizontal centre and the frame's
    vertical centre (+ ``shift`` × side), so that the size and height of punctuation and small letters
    survive (，vs 、vs '). Returns float32 [size, size] in [0, 1].
    """
    from PIL import Image

    x0, y0, x1, y1 = (float(v) for v in box)
    top, bot = frame if frame is not None else (y0, y1)
    side = max(bot - top, x1 - x0, 1.0) * 1.1 * scale
    cx = (x0 + x1) / 2 + shift[0] * side
    cy = (top + bot) / 2 + shift[1] * side
    arr = np.asarray(ink, dtype=np.float32)
    if arr.max() > 1.0:
        arr = arr / 255.0
    im = Image.fromarray(arr, mode="F")
    box_ = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    out = im.transform((size, size), Image.Transform.EXTENT, box_, resample=Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def render_char_cells(chars: str, font_path, sizes: Sequence[int] = (40,), augment: bool = False,
                      copies: int = 1, seed: int = 0, progress: bool = False) -> np.ndarray:
    """Render isolated characters as classifier inputs, uint8 [len(chars)·len(sizes)·copies, 32, 32].

    Order: for each character, for each size, ``copies`` images. The frame is the font's ink height of
    国 at that size (what a line of CJK text gives at recognition time). ``augment`` adds random scale
    (×0.92–1.2), shift (±6%), rotation (±4°), blur and stroke weight (3×3 max/min filter).
    255 = ink.
    """
    from PIL import Image, ImageDraw, ImageFilter
    from tqdm import tqdm

    path = _check_font(font_path)
    check_type(chars, "chars", str)
    rng = np.random.default_rng(seed)
    out = np.zeros((len(chars) * len(sizes) * copies, CELL, CELL), np.uint8)
    k = 0
    for c in tqdm(chars, disable=not progress, desc=Path(path).stem):
        for s in sizes:
            font = _font(path, int(s))
            canvas = Image.new("L", (3 * s, 3 * s), 0)
            draw = ImageDraw.Draw(canvas)
            org = (s, 2 * s)
            draw.text(org, c, font=font, fill=255, anchor="ls")
            ref = draw.textbbox(org, "国", font=font, anchor="ls")
            frame = (ref[1], ref[3])
            base = np.asarray(canvas)
            for _ in range(copies):
                img = canvas
                if augment:
                    r = rng.random()
                    if r < 0.2:
                        img = img.filter(ImageFilter.MaxFilter(3))
                    elif r < 0.3 and s >= 40:
                        img = img.filter(ImageFilter.MinFilter(3))
                    ang = rng.uniform(-4, 4)
                    if abs(ang) > 0.5:
                        img = img.rotate(ang, resample=Image.Resampling.BILINEAR, center=(org[0] + s / 2, org[1] - s / 2))
                    if rng.random() < 0.3:
                        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
                arr = np.asarray(img) if augment else base
                ys, xs = np.where(arr > 64)
                if len(xs) == 0:
                    k += 1
                    continue  # a glyph without ink (missing in the font): stays blank
                box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
                sc = rng.uniform(0.92, 1.2) if augment else 1.0
                sh = tuple(rng.uniform(-0.06, 0.06, 2)) if augment else (0.0, 0.0)
                out[k] = np.rint(char_cell(arr, box, frame, scale=sc, shift=sh) * 255).astype(np.uint8)
                k += 1
    return out


def _net(n_classes: int):
    import torch.nn as nn

    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(1, 24), nn.MaxPool2d(2),            # 32 → 16
        *block(24, 48), nn.MaxPool2d(2),           # 16 → 8
        *block(48, 96), nn.MaxPool2d(2),           # 8 → 4
        *block(96, 192), nn.MaxPool2d(2),          # 4 → 2
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(768, n_classes),
    )


class CharClassifier:
    """A small CNN over 32×32 character cells (:func:`char_cell`): 4 conv blocks (24-48-96-192 channels,
    3×3, batch norm, ReLU, 2× max-pool) down to 2×2, dropout 0.2, linear to the classes.

    ``charset``: the class labels in order (one character each). ``predict(cells)`` takes float [N, 32, 32]
    in [0, 1] (or uint8 with 255 = ink) and returns ``(chars [N][k], probs float [N, k])`` of the top-k.
    """

    def __init__(self, charset: str, history: dict | None = None):
        import torch

        check_type(charset, "charset", str)
        if len(charset) < 2 or len(set(charset)) != len(charset):
            raise ValueError("charset must hold at least two distinct characters")
        self.charset = charset
        self.index = {c: i for i, c in enumerate(charset)}
        self.net = _net(len(charset))
        self.history = history or {}
        self.torch = torch

    def logits(self, cells) -> "torch.Tensor":
        torch = self.torch
        x = torch.as_tensor(np.asarray(cells))
        if x.ndim != 3 or tuple(x.shape[1:]) != (CELL, CELL):
            raise ValueError(f"cells must have shape [N, {CELL}, {CELL}], got {tuple(x.shape)}")
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        self.net.eval()
        with torch.inference_mode():
            return torch.cat([self.net(x[i:i + 512, None]) for i in range(0, len(x), 512)]) if len(x) else torch.zeros(0, len(self.charset))

    def predict(self, cells, k: int = 3):
        check_int(k, "k", low=1, high=len(self.charset))
        p = self.torch.softmax(self.logits(cells), dim=1)
        top = p.topk(k, dim=1)
        chars = [[self.charset[j] for j in row] for row in top.indices.tolist()]
        return chars, top.values.numpy().astype(np.float64)

    def state(self) -> dict:
        sd = {k: (v.half() if v.is_floating_point() else v) for k, v in self.net.state_dict().items()}
        return {"format": 1, "charset": self.charset, "state_dict": sd, "history": self.history}

    @classmethod
    def from_state(cls, state: dict) -> "CharClassifier":
        model = cls(state["charset"], history=state.get("history"))
        model.net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["state_dict"].items()})
        model.net.eval()
        return model


def make_dataset(chars: str, fonts: Sequence[str], copies: int = 3, sizes: Sequence[int] = (32, 40, 52),
                 seed: int = 0, progress: bool = True):
    """Augmented training cells: uint8 [N, 32, 32] and labels int64 [N] (index into ``chars``)."""
    xs, ys = [], []
    labels = np.repeat(np.arange(len(chars)), len(sizes) * copies)
    for i, f in enumerate(fonts):
        xs.append(render_char_cells(chars, f, sizes=sizes, augment=True, copies=copies, seed=seed + i, progress=progress))
        ys.append(labels)
    return np.concatenate(xs), np.concatenate(ys)


def train_classifier(x: np.ndarray, y: np.ndarray, charset: str, epochs: int = 6, batch: int = 256,
                     lr: float = 3e-3, noise: float = 0.15, seed: int = 0, val: tuple | None = None,
                     threads: int | None = None, progress: bool = True, on_epoch=None) -> CharClassifier:
    """Train a :class:`CharClassifier` on cells ``x`` uint8 [N, 32, 32] (255 = ink), labels ``y`` int64 [N].

    AdamW with a one-cycle schedule and label smoothing 0.1; each sample gets salt noise of probability
    U(0, ``noise``) with chance 0.6 (fresh every epoch). ``val = (x_val, y_val)`` is scored after every
    epoch; the history (loss, train and val accuracy per epoch) is kept in ``model.history``.
    ``on_epoch(model)``, if given, is called after every epoch (e.g. to save a checkpoint).
    """
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    check_array(x, "x", ndim=3)
    check_array(y, "y", kind="int", ndim=1)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = CharClassifier(charset)
    net = model.net
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(x) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    X = torch.from_numpy(x)
    Y = torch.from_numpy(y)
    hist = {"epoch": [], "loss": [], "train_acc": [], "val_acc": []}
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(X), generator=g)
        tot, correct_, seen = 0.0, 0, 0
        for i in tqdm(range(0, len(X), batch), disable=not progress, desc=f"epoch {ep + 1}/{epochs}"):
            idx = perm[i:i + batch]
            xb = X[idx].float() / 255.0
            p = torch.rand(len(idx), 1, 1, generator=g) * noise * (torch.rand(len(idx), 1, 1, generator=g) < 0.6)
            xb = torch.where(torch.rand(xb.shape, generator=g) < p, torch.ones_like(xb), xb)
            out = net(xb[:, None])
            loss = F.cross_entropy(out, Y[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
            correct_ += int((out.argmax(1) == Y[idx]).sum())
            seen += len(idx)
        hist["epoch"].append(ep + 1)
        hist["loss"].append(round(tot / seen, 4))
        hist["train_acc"].append(round(correct_ / seen, 4))
        if val is not None:
            pred = model.logits(val[0]).argmax(1).numpy()
            hist["val_acc"].append(round(float((pred == np.asarray(val[1])).mean()), 4))
        model.history = hist
        if on_epoch is not None:
            on_epoch(model)
    model.history = hist
    net.eval()
    return model


@lru_cache(maxsize=1)
def _pretrained() -> CharClassifier:
    import torch

    if not WEIGHTS.is_file():
        raise FileNotFoundError(f"{WEIGHTS} is missing: run `python -m kexue.ocr train`")
    return CharClassifier.from_state(torch.load(WEIGHTS, map_location="cpu", weights_only=True))


def load_pretrained() -> CharClassifier:
    """The shipped classifier (src/kexue/weights/ocr_cnn.pt, fp16, made by ``python -m kexue.ocr train``)."""
    return _pretrained()


# ------------------------------------------------------------------------------------------ stage 8
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)}
_FULLWIDTH.update({chr(0xFF21 + i): chr(65 + i) for i in range(26)})
_FULLWIDTH.update({chr(0xFF41 + i): chr(97 + i) for i in range(26)})


class BigramLM:
    """Character bigram model with add-α smoothing: P(b | a) = (#ab + α) / (#a + α·V).

    ``unigram``: {char: count}; ``bigram``: {two-char string: count}; V = ``vocab_size`` (default: the
    number of characters in ``unigram``). ``log_transitions(prev, nxt)`` gives the [len(prev), len(nxt)]
    matrix of log P(nxt | prev).
    """

    def __init__(self, unigram: dict[str, int], bigram: dict[str, int], alpha: float = 1.0,
                 vocab_size: int | None = None):
        check_type(unigram, "unigram", dict)
        check_type(bigram, "bigram", dict)
        check_number(alpha, "alpha", low=0.0)
        if alpha == 0 and not unigram:
            raise ValueError("alpha must be > 0 when unigram is empty")
        self.unigram = unigram
        self.bigram = bigram
        self.alpha = float(alpha)
        self.V = int(vocab_size or max(len(unigram), 1))

    def prob(self, a: str, b: str) -> float:
        den = self.unigram.get(a, 0) + self.alpha * self.V
        return (self.bigram.get(a + b, 0) + self.alpha) / den if den > 0 else 0.0

    def log_transitions(self, prev: Sequence[str], nxt: Sequence[str]) -> np.ndarray:
        m = np.array([[self.prob(a, b) for b in nxt] for a in prev], dtype=np.float64).reshape(len(prev), len(nxt))
        with np.errstate(divide="ignore"):
            return np.log(m)

    @classmethod
    def from_texts(cls, texts, alpha: float = 1.0, charset: str | None = None) -> "BigramLM":
        """Count characters and adjacent pairs in ``texts`` (full-width digits/letters folded to ASCII);
        with ``charset``, characters outside it are not counted (pairs across them are broken)."""
        from collections import Counter

        allowed = set(charset) if charset else None
        uni, bi = Counter(), Counter()
        for t in texts:
            t = "".join(_FULLWIDTH.get(c, c) for c in t)
            prev = None
            for c in t:
                if c.isspace() or (allowed is not None and c not in allowed):
                    prev = None
                    continue
                uni[c] += 1
                if prev is not None:
                    bi[prev + c] += 1
                prev = c
        return cls(dict(uni), dict(bi), alpha=alpha, vocab_size=len(allowed) if allowed else None)


@lru_cache(maxsize=1)
def pd1998_lm(alpha: float = 1.0) -> BigramLM:
    """Bigram counts over the PD1998 *train* split restricted to :func:`default_charset` (the benchmark's
    test lines come from the test split); counted once and cached as JSON under the data cache."""
    import json

    from .data import _processed, _write_atomic, load_pd1998

    cs = default_charset()
    key = hashlib.sha256(cs.encode()).hexdigest()[:10]
    path = _processed(f"ocr_bigram_{key}.json")
    if path.is_file():
        d = json.loads(path.read_text(encoding="utf-8"))
    else:
        lm = BigramLM.from_texts(("".join(w for w, _ in s) for s in load_pd1998("train")), charset=cs)
        d = {"unigram": lm.unigram, "bigram": lm.bigram}
        _write_atomic(path, json.dumps(d, ensure_ascii=False))
    return BigramLM(d["unigram"], d["bigram"], alpha=alpha, vocab_size=len(cs))


def correct(candidates: Sequence[Sequence[str]], probs, lm: BigramLM, weight: float = 1.0) -> str:
    """Eq. (15) by Viterbi: argmax over one candidate per position of Σ log W_t(s_t) + weight·Σ log P(s_{t+1}|s_t).

    ``candidates``: T lists of k characters; ``probs``: float [T, k] classifier probabilities W. Uses the
    shared :func:`kexue.tagging.viterbi` with per-step transitions [T−1, k, k]. Returns the chosen string.
    """
    from .tagging import viterbi

    probs = np.asarray(probs, dtype=np.float64)
    T = len(candidates)
    if T == 0:
        return ""
    check_array(probs, "probs", kind="float", ndim=2)
    if probs.shape[0] != T or any(len(c) != probs.shape[1] for c in candidates):
        raise ValueError(f"probs must have shape [{T}, k] matching candidates, got {probs.shape}")
    check_type(lm, "lm", BigramLM)
    floor = -1e9
    with np.errstate(divide="ignore"):
        logw = np.maximum(np.log(probs), floor)
    trans = None
    if T > 1:
        trans = np.stack([np.maximum(lm.log_transitions(candidates[t], candidates[t + 1]), floor / 2) * weight
                          for t in range(T - 1)])
    path = viterbi(logw, transitions=trans)
    return "".join(candidates[t][int(s)] for t, s in enumerate(path))


# ------------------------------------------------------------------------------------------ the pipeline
def _segment_line(ink: np.ndarray, mask: np.ndarray, line, model: CharClassifier, k: int,
                  max_width: float = 1.15, bonus: float = 0.0):
    """Over-segmentation + DP: projection pieces (wide ones split uniformly) grouped so that each group is
    at most ``max_width``·H wide, choosing the grouping that maximises Σ (log p_top(group) + ``bonus``).
    H is the line's frame: the rows holding at least 5% of the busiest row's ink."""
    x0, y0, x1, y1 = (int(v) for v in line)
    rows = mask[y0:y1, x0:x1].sum(1)
    core = np.where(rows >= 0.05 * rows.max())[0]  # the line's frame without stray specks above/below
    y0, y1 = y0 + int(core[0]), y0 + int(core[-1]) + 1
    H = y1 - y0
    sub = mask[y0:y1, x0:x1]
    pieces = []
    for a, b in _pieces(sub.sum(0)):
        n = max(1, int(round((b - a) / H))) if (b - a) > 1.3 * H else 1
        e = np.linspace(a, b, n + 1).round().astype(int)
        pieces += list(zip(e[:-1], e[1:]))
    P = len(pieces)
    if P == 0:
        return [], np.zeros((0, k)), np.zeros((0, 4), np.int64)
    groups, cells, gboxes = [], [], []
    for i in range(P):
        for j in range(i, P):
            if j > i and pieces[j][1] - pieces[i][0] > max_width * H:
                break
            a, b = pieces[i][0], pieces[j][1]
            s = sub[:, a:b]
            rows = np.where(s.any(1))[0]
            box = (x0 + a, y0 + rows[0], x0 + b, y0 + rows[-1] + 1)
            groups.append((i, j))
            gboxes.append(box)
            cells.append(char_cell(ink, box, (y0, y1)))
    chars, probs = model.predict(np.stack(cells), k=k)
    best = np.full(P + 1, -np.inf)
    best[0] = 0.0
    back = [None] * (P + 1)
    order = sorted(range(len(groups)), key=lambda g: groups[g][0])
    for g in order:
        i, j = groups[g]
        sc = best[i] + math.log(max(probs[g, 0], 1e-12)) + bonus
        if sc > best[j + 1]:
            best[j + 1], back[j + 1] = sc, g
    sel = []
    pos = P
    while pos > 0:
        g = back[pos]
        sel.append(g)
        pos = groups[g][0]
    sel.reverse()
    return [chars[g] for g in sel], probs[sel], np.array([gboxes[g] for g in sel], np.int64).reshape(-1, 4)


def _ink(grey: np.ndarray, mask: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Anti-aliased ink intensity in [0, 1] inside each line box: (grey − bg) / (fg − bg) with fg, bg the
    median grey of the mask's pixels and of the pixels away from it, kept only near the mask (1 px)."""
    ink = np.zeros(grey.shape, np.float32)
    near = ndimage.binary_dilation(mask, structure=_EIGHT)
    g = grey.astype(np.float32)
    for x0, y0, x1, y1 in lines:
        sl = (slice(y0, y1), slice(x0, x1))
        m, n = mask[sl], near[sl]
        if not m.any() or n.all():
            ink[sl] = m
            continue
        fg, bg = np.median(g[sl][m]), np.median(g[sl][~n])
        if abs(fg - bg) < 1:
            ink[sl] = m
            continue
        ink[sl] = np.clip((g[sl] - bg) / (fg - bg), 0, 1) * n
    return ink


def recognize(image, correct: bool = True, model: CharClassifier | None = None, lm: BigramLM | None = None,
              k: int = 3, details: bool = False):
    """The whole pipeline: image → text, lines joined by "\\n" (spaces are not produced).

    ``image``: PIL image or uint8 array [H, W] / [H, W, 3]. Stages: :func:`text_mask` → :func:`detect_lines`
    (with the median filter, then components under 5% of the median component area dropped) → per
    line an over-segmentation by column projection, grouped by dynamic programming on the
    classifier's confidence (groups ≤ 1.15·H wide) → top-``k`` candidates → with ``correct`` the bigram
    Viterbi of :func:`correct` (``lm`` default: PD1998 counts), else the top-1 characters.
    ``model`` defaults to :func:`load_pretrained`. An image without detectable text gives "".
    Raises ``TypeError`` for a non-image / non-uint8 array and ``ValueError`` for an empty image.
    With ``details``, returns ``(text, {"lines": boxes, "chars": per-line boxes, "candidates": ...})``.
    """
    grey = to_grey(image)
    check_int(k, "k", low=1, high=20)
    if model is not None:
        check_type(model, "model", CharClassifier)
    if lm is not None:
        check_type(lm, "lm", BigramLM)
    mask = text_mask(grey, denoise=True)
    lab, n = ndimage.label(mask, structure=_EIGHT)
    if n:  # drop specks far smaller than the typical component (salt noise that survived)
        area = np.bincount(lab.ravel())[1:]
        mask = np.concatenate([[False], area >= max(4, 0.05 * np.median(area))])[lab]
    lines = detect_lines(mask)
    out_lines, info = [], {"lines": lines, "chars": [], "candidates": []}
    if len(lines) == 0:
        return ("", info) if details else ""
    model = model or load_pretrained()
    if correct:
        lm = lm or pd1998_lm()
    ink = _ink(grey, mask, lines)
    for line in lines:
        cands, probs, boxes = _segment_line(ink, mask, line, model, k)
        info["chars"].append(boxes)
        info["candidates"].append((cands, probs))
        if not cands:
            continue
        text = _correct_fn(cands, probs, lm) if correct else "".join(c[0] for c in cands)
        out_lines.append(text)
    text = "\n".join(out_lines)
    return (text, info) if details else text


_correct_fn = correct


def cer(ref: str, hyp: str) -> float:
    """Character error rate: Levenshtein distance / len(ref) (whitespace ignored on both sides)."""
    ref = "".join(ref.split())
    hyp = "".join(hyp.split())
    if not ref:
        return float(len(hyp) > 0)
    prev = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, b in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
    return prev[-1] / len(ref)


# ------------------------------------------------------------------------------------------ CLI
def _train_main(argv: list[str]) -> None:
    import argparse
    import time

    import torch

    ap = argparse.ArgumentParser(prog="python -m kexue.ocr train")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="only the first N classes (smoke test)")
    ap.add_argument("--out", default=str(WEIGHTS))
    ap.add_argument("--cache", default="", help="npz file to keep the rendered cells in (reused if present)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    cs = default_charset()
    if a.limit:
        cs = cs[:a.limit]
    fp = font_paths()
    train_fonts = [str(fp[n]) for n in TRAIN_FONTS if n in fp]
    t0 = time.perf_counter()
    cache = Path(a.cache) if a.cache else None
    if cache is not None and cache.is_file():
        z = np.load(cache)
        x, y, vx, vy = z["x"], z["y"], z["vx"], z["vy"]
    else:
        x, y = make_dataset(cs, train_fonts, copies=a.copies, seed=0)
        vx = np.concatenate([render_char_cells(cs, fp[n], sizes=(40,)) for n in TEST_FONTS if n in fp])
        vy = np.tile(np.arange(len(cs)), len([n for n in TEST_FONTS if n in fp]))
        if cache is not None:
            np.savez(cache, x=x, y=y, vx=vx, vy=vy)
    t1 = time.perf_counter()
    meta = {"render_s": round(t1 - t0, 1), "n_train": int(len(x)), "train_fonts": [n for n in TRAIN_FONTS if n in fp],
            "test_fonts": [n for n in TEST_FONTS if n in fp], "epochs": a.epochs}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)

    def save(model):
        model.history.update(meta, train_s=round(time.perf_counter() - t1, 1))
        torch.save(model.state(), a.out)

    train_classifier(x, y, cs, epochs=a.epochs, val=(vx, vy), threads=a.threads, on_epoch=save)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "train":
        raise SystemExit("usage: python -m kexue.ocr train [--epochs N] [--copies N] [--threads N] [--cache FILE]")
    _train_main(argv[1:])


if __name__ == "__main__":
    main()
