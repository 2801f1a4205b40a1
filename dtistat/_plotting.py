"""Matplotlib plumbing shared by the figures: headless backend and CJK font choice.

Chinese labels need a CJK font. :func:`cjk_font` picks an installed font whose file
really has the glyphs of Chinese text (Noto Sans CJK, Source Han Sans, WenQuanYi, SimHei,
..., Droid Sans Fallback), preferring one that also has digits and Latin letters. When
one is found, :func:`use_chinese` sets ``font.family`` to the list ``[that font,
DejaVu Sans]``: matplotlib (>= 3.6) takes each glyph from the first font of the list that
has it, so digits and Latin letters come from DejaVu Sans when the CJK font lacks them
(Droid Sans Fallback, common on Debian and Ubuntu, has no digits). Without a CJK font the
figures use English labels, so no glyph is missing either way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

__all__ = ["pyplot", "cjk_font", "use_chinese", "pick_label", "glyph_note", "check_ax",
           "check_mapping", "check_result"]

_CJK_CANDIDATES = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
    "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN", "Droid Sans Fallback",
)
#: The Latin font that completes the family list (ships with matplotlib).
LATIN_FONT = "DejaVu Sans"
#: Characters a font must have to count as CJK: common in the labels of the figures.
CJK_PROBE = "数字化转型指数城市年度的一二三线省"
#: Characters of numbers and axis labels.
LATIN_PROBE = "0123456789.-%abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def pyplot():
    """``matplotlib.pyplot`` with a non-interactive backend unless one is already set.

    Also puts the CJK font family in place (:func:`use_chinese`) before any figure is
    made: an axis label's font is fixed when its axes are created.
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg", force=False)
        except Exception:  # pragma: no cover - backend already fixed by the user
            pass
    import matplotlib.pyplot as plt

    use_chinese()
    return plt


def covers(entry, text: str) -> bool:
    """Whether the font file of a ``font_manager`` entry has a glyph for every character."""
    from matplotlib import ft2font

    try:
        try:
            font = ft2font.FT2Font(str(entry.fname),
                                   face_index=int(getattr(entry, "index", 0) or 0))
        except TypeError:  # matplotlib < 3.10: no face_index, the first face of a .ttc
            font = ft2font.FT2Font(str(entry.fname))
        chars = font.get_charmap()
    except Exception:  # unreadable or unsupported file: not usable
        return False
    return all(ord(c) in chars for c in text)


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Name of an installed font that has the glyphs of Chinese text, or None.

    A font whose name promises CJK but whose file lacks the glyphs is skipped. Among
    those that have them, one that also has digits and Latin letters comes first.
    """
    from matplotlib import font_manager

    entries = list(font_manager.fontManager.ttflist)
    rank = {n: i for i, n in enumerate(_CJK_CANDIDATES)}
    named = sorted((e for e in entries if e.name in rank), key=lambda e: rank[e.name])
    guessed = [e for e in entries if e.name not in rank
               and ("CJK" in e.name or "Hei" in e.name or "Song" in e.name)]
    cjk = [e for e in (*named, *guessed) if covers(e, CJK_PROBE)]
    full = [e for e in cjk if covers(e, LATIN_PROBE)]
    best = (full or cjk or [None])[0]
    return None if best is None else best.name


def use_chinese() -> bool:
    """Whether figures can show Chinese text; sets the font family list if so."""
    name = cjk_font()
    if name is None:
        return False
    import matplotlib

    family = matplotlib.rcParams["font.family"]
    family = [family] if isinstance(family, str) else list(family)
    if family[:1] != [name] or LATIN_FONT not in family:
        rest = [f for f in family if f not in (name, LATIN_FONT, "sans-serif")]
        matplotlib.rcParams["font.family"] = [name, LATIN_FONT, *rest]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return True


def pick_label(zh: str, en: str | None = None, mapping: Mapping[str, str] | None = None) -> str:
    """The Chinese label if a CJK font is present, else the English one."""
    if use_chinese():
        return zh
    if en is not None:
        return en
    if mapping is not None and zh in mapping:
        return mapping[zh]
    return zh if zh.isascii() else "?"


_GLYPH = re.compile(r"Glyph (\d+) .*missing from (?:current )?font\(?s?\)?\s*(.*?)\.?$")


def glyph_note(messages) -> str | None:
    """One plain sentence for matplotlib's "Glyph ... missing from font(s) ..." warnings.

    Says which characters were missing and from which font, and what to do: install a CJK
    font when Chinese characters were missing, nothing to blame on a missing CJK font
    when only digits or Latin letters were.

    Examples
    --------
    >>> glyph_note(["Glyph 48 (0) missing from font(s) Droid Sans Fallback."])
    "the figures' font Droid Sans Fallback has no glyph for '0', which shows as a box"
    >>> glyph_note(["hello"]) is None
    True
    """
    chars, fonts = [], []
    for m in messages:
        hit = _GLYPH.search(str(m))
        if hit:
            chars.append(chr(int(hit.group(1))))
            fonts.append(hit.group(2).strip() or "the current font")
    if not chars:
        return None
    chars = sorted(set(chars))
    font = ", ".join(dict.fromkeys(fonts))
    shown = "".join(chars[:12]) + ("..." if len(chars) > 12 else "")
    cjk = any("\u2e80" <= c <= "\u9fff" or "\uf900" <= c <= "\uffef" for c in chars)
    hint = (" (install a font with Chinese glyphs, e.g. fonts-noto-cjk)" if cjk and
            cjk_font() is None else "")
    many = "s" if len(chars) > 1 else ""
    return (f"the figures' font {font} has no glyph{many} for {shown!r}, which "
            f"show{'' if many else 's'} as {'boxes' if many else 'a box'}{hint}")


def check_ax(ax, param: str = "ax", *, many: bool = False):
    """``ax`` if it is None or a matplotlib Axes (``many``: or a sequence of Axes).

    Examples
    --------
    >>> check_ax(None) is None
    True
    >>> check_ax("left")
    Traceback (most recent call last):
    ...
    dtistat.errors.ParameterError: ax='left' is not a matplotlib Axes; pass one (e.g. ...
    """
    if ax is None:
        return None
    import numpy as np
    from matplotlib.axes import Axes

    items = list(np.ravel(np.asarray(ax, dtype=object))) if many and not isinstance(
        ax, Axes) else [ax]
    if not items or not all(isinstance(a, Axes) for a in items):
        from dtistat.errors import ParameterError

        what = "a matplotlib Axes or a sequence of them" if many else "a matplotlib Axes"
        raise ParameterError(f"{param}={ax!r} is not {what}; pass one (e.g. from "
                             "plt.subplots()) or None for a new figure")
    return ax


def check_mapping(labels, param: str = "labels"):
    """``labels`` if it is None or a mapping (key -> display label).

    Examples
    --------
    >>> check_mapping({"a": "A"})
    {'a': 'A'}
    """
    if labels is None or isinstance(labels, Mapping):
        return labels
    from dtistat.errors import ParameterError

    shown = repr(labels)[:80]
    raise ParameterError(f"{param} must be a mapping (dict) from names to display labels, "
                         f"e.g. {{'beijing': '北京'}}; got {type(labels).__name__} {shown}")


def check_result(obj, func: str, what: str, attrs: tuple[str, ...]):
    """``obj`` if it has every attribute in ``attrs`` (the result a figure draws).

    Examples
    --------
    >>> check_result(3, "sobol_plot", "a SobolResult", ("indices",))
    Traceback (most recent call last):
    ...
    dtistat.errors.ParameterError: sobol_plot() needs a SobolResult, got int
    """
    if all(hasattr(obj, a) for a in attrs):
        return obj
    from dtistat.errors import ParameterError

    raise ParameterError(f"{func}() needs {what}, got {type(obj).__name__}")
