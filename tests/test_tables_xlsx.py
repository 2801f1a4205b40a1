"""xlsx tables (issue #21 item 15): every number is a number, shown as in the paper table.

Before, ``1.130`` was stored as a General number (Excel showed 1.13) while ``1.130***``
and ``(0.012)`` were text. Now each is a number whose fixed number format shows exactly the
table's text (``0.000``, ``0.000"***"``, ``"("0.000")"``).
"""

import re
import warnings

import pytest
import statsmodels.api as sm

from dtistat import fit_panel
from dtistat.tables import regression_table


def shown(value, fmt):
    """The text Excel shows for a number under the formats dtistat writes."""
    if fmt in (None, "General"):
        return str(value)
    m = re.fullmatch(r'(?:"([^"]*)")?0(?:\.(0+))?(?:"([^"]*)")?(?:"([^"]*)")?', fmt)
    assert m, f"unexpected number format {fmt!r}"
    pre, dec, post, stars = m.group(1) or "", len(m.group(2) or ""), m.group(3) or "", \
        m.group(4) or ""
    return f"{pre}{value:.{dec}f}{post}{stars}"


@pytest.fixture(scope="module")
def fits():
    g = sm.datasets.grunfeld.load_pandas().data
    kw = dict(entity="firm", time="year")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "only 11 clusters"
        fe = fit_panel(g, "invest ~ value + capital", **kw)
    g = g.assign(value=g["value"] / 1000)  # a coefficient with a trailing zero: 1.130-like
    ols = fit_panel(g, "invest ~ value + capital", model="pooled", cov="robust", **kw)
    return fe, ols


def test_xlsx_cells_are_numbers_shown_like_the_table(fits, tmp_path):
    from openpyxl import load_workbook

    md = regression_table(list(fits), format="markdown", digits=3)
    want = [[c.strip() for c in line.strip("|").split("|")]
            for line in md.splitlines() if line.startswith("|") and ":---" not in line]
    p = regression_table(list(fits), path=tmp_path / "t.xlsx", digits=3)
    ws = load_workbook(p)["table"]
    cells = [c for r in ws.iter_rows() for c in r]
    got = [["" if c.value is None else
            (shown(c.value, c.number_format) if isinstance(c.value, (int, float))
             else str(c.value)) for c in r] for r in ws.iter_rows()]
    assert got[:len(want)] == want  # the sheet shows the table's text, cell for cell
    assert got[0][1:] == ["(1)", "(2)"]  # column headers stay text
    numeric_text = [c.value for c in cells if isinstance(c.value, str)
                    and re.fullmatch(r"[(\[]?-?\d+(\.\d+)?[)\]]?\**", c.value)
                    and c.row > 1]
    assert numeric_text == []  # no number left as text (starred or in parentheses)
    floats = [c for c in cells if isinstance(c.value, float)]
    assert floats and all(c.number_format != "General" for c in floats)
    assert any(re.fullmatch(r'0\.000"\*\*\*"', c.number_format) for c in floats)
    assert any(re.fullmatch(r'"\("0\.000"\)"', c.number_format) for c in floats)
    assert any(c.number_format == "0.000" for c in floats)  # R², unstarred


def test_xlsx_value_is_the_rounded_estimate(fits, tmp_path):
    from openpyxl import load_workbook

    fe, ols = fits
    p = regression_table([fe, ols], path=tmp_path / "t.xlsx", digits=3)
    rows = [[c for c in r] for r in load_workbook(p)["table"].iter_rows()]
    row = next(r for r in rows if r[0].value == "capital")
    below = rows[rows.index(row) + 1]
    for j, res in enumerate((fe, ols), start=1):
        assert row[j].value == pytest.approx(res.params["capital"], abs=5e-4)
        assert isinstance(below[j].value, float)
        assert below[j].value == pytest.approx(res.std_errors["capital"], abs=5e-4)
