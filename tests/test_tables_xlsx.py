"""xlsx tables (issue #21 item 15): every number is a number, shown as in the paper table.

Before, ``1.130`` was stored as a General number (Excel showed 1.13) while ``1.130***``
and ``(0.012)`` were text. Now each is a number whose fixed number format shows exactly the
table's text (``0.000``, ``0.000"***"``, ``"("0.000")"``).
"""

import re
import warnings

import pandas as pd
import pytest
import statsmodels.api as sm

from dtistat import fit_panel
from dtistat.tables import regression_table


def shown(value, fmt):
    """The text Excel shows for a number under the formats dtistat writes."""
    if fmt in (None, "General"):
        return str(value)
    secs = fmt.split(";")
    if len(secs) == 3:  # positive;negative;zero
        sec = secs[0] if value > 0 else secs[1] if value < 0 else secs[2]
        value = abs(value)
    else:
        sec = fmt
    m = re.fullmatch(r'(?:"([^"]*)")?([+-]?)0(?:\.(0+))?(%?)(?:"([^"]*)")?(?:"([^"]*)")?', sec)
    assert m, f"unexpected number format {fmt!r}"
    pre, sign, dec, pct, post, stars = (g or "" for g in m.groups())
    value = 100 * value if pct else value
    return f"{pre}{sign}{value:.{len(dec)}f}{pct}{post}{stars}"


def sheet_rows(path):
    from openpyxl import load_workbook

    out = []
    for r in load_workbook(path)["table"].iter_rows():
        row = ["" if c.value is None else shown(c.value, c.number_format)
               if isinstance(c.value, (int, float)) else str(c.value) for c in r]
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    return out


def assert_shows_markdown(md, path):
    """Every row of the Markdown table appears, cell for cell and in order, in the sheet;
    no number in the sheet is text."""
    want = [[c.strip() for c in line.strip("|").split("|")]
            for line in md.splitlines() if line.startswith("|") and ":---" not in line]
    rows = sheet_rows(path)
    i = 0
    for w in want:
        while w and w[-1] == "":
            w.pop()
        while i < len(rows) and rows[i] != w:
            i += 1
        assert i < len(rows), f"row {w} is not shown in the sheet"
        i += 1
    from openpyxl import load_workbook

    ws = load_workbook(path)["table"]
    as_text = [c.value for r in ws.iter_rows(min_row=2) for c in r[1:]
               if isinstance(c.value, str)
               and re.fullmatch(r"[(\[]?\+?-?\d+(\.\d+)?%?[)\]]?\**", c.value)
               and not re.fullmatch(r"\(\d+\)", c.value)]  # column numbers: headers
    assert as_text == []


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


def test_index_and_mediation_tables_keep_numbers_numeric(tmp_path):
    """Rank changes (+3) and shares (45.2%) were text too."""
    import numpy as np

    from dtistat import IndexSpec, compute_index
    from dtistat.mediation import fit_mediation
    from dtistat.tables import index_table, mediation_table

    spec = IndexSpec.from_dict({"name": "total", "children": [{"name": "x"}, {"name": "z"}]})
    q = ["2021Q1", "2021Q2", "2021Q3", "2021Q4", "2022Q1"]
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"city": np.repeat(list("ABCDE"), 5), "quarter": q * 5,
                       "x": rng.uniform(1, 5, 25), "z": rng.uniform(1, 5, 25)})
    res = compute_index(df, spec)
    kw = dict(compare="2021Q1", growth="yoy")
    p = index_table(res, "2022Q1", format="xlsx", path=tmp_path / "i.xlsx", **kw)
    assert_shows_markdown(index_table(res, "2022Q1", format="markdown", **kw), p)
    fmts = {c.number_format for r in load(p).iter_rows() for c in r}
    assert "+0;-0;0" in fmts  # the rank change column

    d = pd.DataFrame({"x": rng.normal(size=300)})
    d["m"] = 0.6 * d["x"] + rng.normal(size=300)
    d["y"] = 0.5 * d["m"] + rng.normal(size=300)
    med = fit_mediation(d, x="x", m="m", y="y", n_boot=200, ci="percentile", seed=1)
    p = mediation_table(med, format="xlsx", path=tmp_path / "m.xlsx")
    assert_shows_markdown(mediation_table(med, format="markdown"), p)
    share = [c for r in load(p).iter_rows() for c in r if c.number_format == "0.0%"]
    assert share and isinstance(share[0].value, float)  # 45.2% is the number 0.452


def load(path):
    from openpyxl import load_workbook

    return load_workbook(path)["table"]
