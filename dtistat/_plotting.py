"""Matplotlib plumbing shared by the figures: headless backend and CJK font choice.

Chinese labels need a CJK font. :func:`cjk_font` finds one if the machine has it (Noto
Sans CJK, Source Han Sans, WenQuanYi, SimHei, ...); figures then use Chinese labels,
otherwise English ones — never empty boxes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

__all__ = ["pyplot", "cjk_font", "use_chinese", "pick_label"]

_CJK_CANDIDATES = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
    "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN", "Droid Sans Fallback",
)


def pyplot():
    """``matplotlib.pyplot`` with a non-interactive backend unless one is already set."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg", force=False)
        except Exception:  # pragma: no cover - backend already fixed by the user
            pass
    import matplotlib.pyplot as plt

    return plt


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Name of an installed font that covers Chinese, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in _CJK_CANDIDATES:
        if cand in names:
            return cand
    for f in font_manager.fontManager.ttflist:
        if "CJK" in f.name or "Hei" in f.name or "Song" in f.name:
            return f.name
    return None


def use_chinese() -> bool:
    """Whether figures can show Chinese text; sets the font family if so."""
    name = cjk_font()
    if name is None:
        return False
    import matplotlib

    family = matplotlib.rcParams["font.sans-serif"]
    if name not in family:
        matplotlib.rcParams["font.sans-serif"] = [name, *family]
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
