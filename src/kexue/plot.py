"""The one place where the book's plotting style is set.

Call :func:`setup` at the top of a notebook: it picks an installed CJK font so that Chinese labels
render (no tofu boxes), and sets a small consistent style. If no CJK font is installed it raises an
error that names the Debian package to install (the same packages are listed in ``apt.txt``).
"""

from __future__ import annotations

__all__ = ["CJK_FONTS", "cjk_font", "setup"]

#: Font family names matplotlib knows, in order of preference, with the Debian package providing each.
CJK_FONTS: dict[str, str] = {
    "Noto Sans CJK SC": "fonts-noto-cjk",
    "Noto Serif CJK SC": "fonts-noto-cjk",
    "WenQuanYi Micro Hei": "fonts-wqy-microhei",
    "WenQuanYi Zen Hei": "fonts-wqy-zenhei",
    "AR PL UMing CN": "fonts-arphic-uming",
    "LXGW WenKai": "fonts-lxgw-wenkai",
    "Droid Sans Fallback": "fonts-droid-fallback",
}


def cjk_font() -> str:
    """Name of the first installed font of :data:`CJK_FONTS`.

    Raises ``RuntimeError`` naming the apt package if none is installed.
    """
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    # A font installed after matplotlib built its cache: rebuild once and look again.
    font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    raise RuntimeError(
        "No CJK font found for matplotlib, so Chinese labels would render as boxes. "
        "Install one, e.g. `sudo apt-get install fonts-noto-cjk` (the book's apt.txt lists it), "
        "then restart the kernel."
    )


def setup(font: str | None = None) -> str:
    """Set matplotlib's rcParams for the book and return the CJK font family in use."""
    import matplotlib as mpl

    name = font if font is not None else cjk_font()
    mpl.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [name, "DejaVu Sans"],
            "axes.unicode_minus": False,  # CJK fonts often lack U+2212
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )
    return name
