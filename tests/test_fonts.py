"""Font choice of the figures (issue #21 item 14): no box instead of a digit or a Chinese glyph.

Droid Sans Fallback, often the only CJK font on Debian/Ubuntu, has Chinese glyphs but no
digits or Latin letters. These tests build a font like it (every CJK ideograph, no digit)
with fontTools and register it with matplotlib for the duration of a test, so they do not
depend on the fonts of the machine.
"""

import io
import re
import warnings

import numpy as np
import pytest

from dtistat import _plotting as P


def _make_font(path, family, cjk=True):
    """A TrueType font named ``family``: a square for every CJK ideograph, no digits."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def square():
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 800))
        pen.lineTo((900, 800))
        pen.lineTo((900, 0))
        pen.closePath()
        return pen.glyph()

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "han", "a"])
    cmap = {0x61 if not cjk else 0x3000: "a"}  # a CJK-named font without CJK has only "a"
    if cjk:
        cmap.update({c: "han" for c in (*range(0x4E00, 0xA000), *range(0xFF01, 0xFF5F))})
    fb.setupCharacterMap(cmap)
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "han": square(), "a": square()})
    fb.setupHorizontalMetrics({".notdef": (500, 0), "han": (1000, 100), "a": (1000, 100)})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    fb.save(str(path))
    return path


@pytest.fixture()
def fonts(monkeypatch, tmp_path):
    """Replace matplotlib's font list for one test; returns a function adding a font file."""
    import matplotlib
    from matplotlib import font_manager

    fm = font_manager.fontManager
    keep = [e for e in fm.ttflist if e.name == "DejaVu Sans"]  # the font matplotlib ships
    monkeypatch.setattr(fm, "ttflist", list(keep))
    saved = dict(matplotlib.rcParams)
    matplotlib.rcParams["font.family"] = ["sans-serif"]
    P.cjk_font.cache_clear()
    fm._findfont_cached.cache_clear()
    font_manager._get_font.cache_clear()

    def add(family, cjk=True):
        path = _make_font(tmp_path / f"{family.replace(' ', '_')}.ttf", family, cjk=cjk)
        fm.addfont(str(path))
        P.cjk_font.cache_clear()
        fm._findfont_cached.cache_clear()
        return path

    yield add
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated rcParams re-set as they were
        matplotlib.rcParams.update(saved)
    P.cjk_font.cache_clear()
    fm._findfont_cached.cache_clear()
    font_manager._get_font.cache_clear()


def _render(text, family=None):
    """Pixels of ``text`` drawn alone; the list of warnings raised while drawing."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.0, 0.6), dpi=100)
    FigureCanvasAgg(fig)
    kw = {} if family is None else {"family": family}
    fig.text(0.05, 0.3, text, fontsize=14, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy(), [str(w.message) for w in caught]


def _glyph(msgs):
    return [m for m in msgs if re.match(r"Glyph \d+ .*missing", m)]


def test_droid_like_font_digits_come_from_dejavu(fonts):
    fonts("Droid Sans Fallback")
    assert P.cjk_font() == "Droid Sans Fallback"
    assert P.use_chinese()
    import matplotlib

    assert matplotlib.rcParams["font.family"][:2] == ["Droid Sans Fallback", "DejaVu Sans"]
    pix, msgs = _render("2023 Index 0.5%")
    assert _glyph(msgs) == []
    ref, _ = _render("2023 Index 0.5%", family="DejaVu Sans")
    np.testing.assert_array_equal(pix, ref)  # digits and letters drawn by DejaVu Sans
    zh, msgs = _render("指数 2023")
    assert _glyph(msgs) == []
    assert (zh[..., :3] < 128).any()  # something drawn


def test_the_font_alone_would_draw_boxes(fonts):
    """The point of the family list: Droid Sans Fallback alone has no '0'."""
    fonts("Droid Sans Fallback")
    _, msgs = _render("2023", family="Droid Sans Fallback")
    assert any("Glyph 50 (2) missing" in m for m in msgs)


def test_a_cjk_name_without_cjk_glyphs_is_not_chosen(fonts):
    fonts("Fake Hei", cjk=False)
    assert P.cjk_font() is None
    assert not P.use_chinese()
    assert P.pick_label("指数", "index") == "index"


def test_a_full_font_is_preferred_to_a_digitless_one(fonts, tmp_path):
    """Droid Sans Fallback is named first, but a font with digits too wins."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    fonts("Droid Sans Fallback")
    path = _make_font(tmp_path / "full.ttf", "Other CJK Sans")
    ttf = TTFont(str(path))
    for table in ttf["cmap"].tables:
        table.cmap.update({ord(c): "a" for c in P.LATIN_PROBE})
    ttf.save(str(path))
    font_manager.fontManager.addfont(str(path))
    P.cjk_font.cache_clear()
    assert P.cjk_font() == "Other CJK Sans"


def test_figures_without_any_cjk_font_use_english_and_miss_no_glyph(fonts, tmp_path):
    assert P.cjk_font() is None and not P.use_chinese()
    from dtistat.report import INDEX_SECTIONS, run_demo

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = run_demo(tmp_path / "rep", sections=INDEX_SECTIONS[:2], progress=lambda m: None)
    assert _glyph([str(w.message) for w in caught]) == []
    html = rep.html_path.read_text(encoding="utf-8")
    assert "Glyph" not in html and "English labels" in html


def test_demo_figures_with_a_droid_like_font_miss_no_glyph(fonts, tmp_path):
    fonts("Droid Sans Fallback")
    from dtistat.report import INDEX_SECTIONS, run_demo

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = run_demo(tmp_path / "rep", sections=INDEX_SECTIONS[:2], progress=lambda m: None)
    assert _glyph([str(w.message) for w in caught]) == []
    html = rep.html_path.read_text(encoding="utf-8")
    assert "Glyph" not in html and "Chinese labels (font Droid Sans Fallback" in html
    assert len(rep.figures) >= 2


def test_glyph_warnings_become_one_true_note(fonts):
    note = P.glyph_note(["Glyph 48 (0) missing from font(s) Droid Sans Fallback.",
                         "Glyph 49 (1) missing from font(s) Droid Sans Fallback."])
    assert "Droid Sans Fallback" in note and "'01'" in note
    assert "install" not in note  # digits missing: a CJK font is not what is lacking
    note = P.glyph_note(["Glyph 25968 (\\N{CJK UNIFIED IDEOGRAPH-6570}) missing from "
                         "font(s) DejaVu Sans."])
    assert "数" in note and "fonts-noto-cjk" in note



def test_labels_set_after_the_axes_exist_get_the_cjk_font(fonts):
    """An axis label's font is fixed when the axes are made: the family list must be in
    place before any figure exists, not only when the first Chinese label is asked for."""
    fonts("Droid Sans Fallback")
    from dtistat import plots

    plt = P.pyplot()
    fig, ax = plt.subplots()
    ax.set_xlabel(P.pick_label("门槛变量 2023", "threshold"))
    ax.set_yticks([0, 1], ["上海市", "北京市"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    assert _glyph([str(w.message) for w in caught]) == []
    P.cjk_font.cache_clear()
    import matplotlib

    matplotlib.rcParams["font.family"] = ["sans-serif"]
    fig = plots._figure((3, 2))  # the figures of dtistat.plots: the same
    ax = fig.add_subplot()
    ax.set_yticks([0, 1], ["上海市", "北京市"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    assert _glyph([str(w.message) for w in caught]) == []
