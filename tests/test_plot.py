import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib import font_manager

from kexue import plot


def test_setup_picks_an_installed_cjk_font_that_has_the_glyphs():
    name = plot.setup()
    assert name in plot.CJK_FONTS
    assert matplotlib.rcParams["font.sans-serif"][0] == name
    path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
    from matplotlib.ft2font import FT2Font

    font = FT2Font(path)
    charmap = font.get_charmap()
    for ch in "科学空间损失函数":
        assert ord(ch) in charmap, f"{name} lacks {ch}"


def test_chinese_text_renders_without_missing_glyph_warning(recwarn):
    plot.setup()
    fig, ax = plt.subplots()
    ax.set_title("软化的阶跃函数")
    fig.canvas.draw()
    plt.close(fig)
    assert not [w for w in recwarn if "missing from font" in str(w.message)]


def test_missing_font_error_names_the_apt_package(monkeypatch):
    monkeypatch.setattr(plot, "CJK_FONTS", {"No Such Font XYZ": "fonts-nothing"})
    monkeypatch.setattr(font_manager, "_load_fontmanager", lambda try_read_cache=True: font_manager.fontManager)
    with pytest.raises(RuntimeError, match="apt-get install fonts-noto-cjk"):
        plot.cjk_font()
