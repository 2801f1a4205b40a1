"""Publication tables: rendered text of a fixed result, and numbers read back from files."""

import re
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from dtistat import IndexSpec, compute_index, fit_drivers
from dtistat.errors import DtiStatError, ParameterError
from dtistat.mediation import fit_mediation
from dtistat.panel import fit_panel
from dtistat.tables import (
    TableColumn,
    frame_table,
    index_table,
    mediation_equations,
    mediation_table,
    regression_table,
)


@pytest.fixture(scope="module")
def grunfeld():
    g = sm.datasets.grunfeld.load_pandas().data
    kw = dict(entity="firm", time="year")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "only 11 clusters"
        fe1 = fit_panel(g, "invest ~ value + capital", **kw)
        fe2 = fit_panel(g, "invest ~ value + capital", fe="twoway", **kw)
    ols = fit_panel(g, "invest ~ value + capital", model="pooled", cov="robust", **kw)
    return fe1, fe2, ols


@pytest.fixture(scope="module")
def mediation():
    rng = np.random.default_rng(7)
    n = 400
    d = pd.DataFrame({"x": rng.normal(size=n), "w": rng.normal(size=n)})
    d["m"] = 0.5 * d["x"] + 0.2 * d["w"] + rng.normal(size=n)
    d["y"] = 0.4 * d["m"] + 0.2 * d["x"] + rng.normal(size=n)
    return fit_mediation(d, x="x", m="m", y="y", covariates="w", n_boot=300,
                         ci="percentile", seed=3)


def num(cell) -> float:
    if isinstance(cell, (int, float)):  # xlsx cells are numbers (shown with a format)
        return float(cell)
    return float(re.sub(r"[^0-9.\-]", "", cell))


MARKDOWN = """\
|  | (1) | (2) | (3) |
|:---|:---:|:---:|:---:|
|  | invest | invest | invest |
| Market value | 0.110*** | 0.117*** | 0.115*** |
|  | (0.015) | (0.011) | (0.007) |
| Capital stock | 0.310*** | 0.351*** | 0.228*** |
|  | (0.052) | (0.046) | (0.049) |
| Constant |  |  | -38.410*** |
|  |  |  | (10.427) |
| Entity FE | Yes | Yes | No |
| Time FE | No | Yes | No |
| Cluster | firm | firm |  |
| Observations | 220 | 220 | 220 |
| R² |  |  | 0.818 |
| Within R² | 0.767 | 0.766 |  |

Standard errors in parentheses. * p<0.1, ** p<0.05, *** p<0.01
"""

LATEX = r"""\begin{table}[htbp]
\centering
\caption{Grunfeld investment, 1935--1954}
\begin{tabular}{lcc}
\toprule
 & (1) & (2) \\
 & invest & invest \\
\midrule
value & 0.110*** & 0.117*** \\
 & (0.015) & (0.011) \\
capital & 0.310*** & 0.351*** \\
 & (0.052) & (0.046) \\
\midrule
Entity FE & Yes & Yes \\
Time FE & No & Yes \\
Cluster & firm & firm \\
\midrule
Observations & 220 & 220 \\
Within R$^2$ & 0.767 & 0.766 \\
Clusters & 11 & 11 \\
\bottomrule
\multicolumn{3}{l}{\footnotesize Standard errors in parentheses. * p$<$0.1, ** p$<$0.05, *** p$<$0.01} \\
\end{tabular}
\end{table}
"""


def test_markdown_of_grunfeld_matches_expected(grunfeld):
    out = regression_table(list(grunfeld), labels={
        "value": "Market value", "capital": "Capital stock", "const": "Constant"})
    assert out == MARKDOWN


def test_latex_of_grunfeld_matches_expected(grunfeld):
    out = regression_table(grunfeld[:2], format="latex",
                           title="Grunfeld investment, 1935–1954",
                           stats=("nobs", "r2_within", "n_clusters"))
    assert out == LATEX


def test_options_keep_se_stars_and_headings(grunfeld):
    fe1, _, ols = grunfeld
    out = regression_table({"FE": fe1, "Pooled": ols}, keep=["capital", "val.*"], se="t",
                           stars=None, digits=2, fe_rows=False, stats=())
    lines = out.splitlines()
    assert lines[2] == "|  | FE | Pooled |"
    assert lines[3].startswith("| capital | 0.31 | 0.23 |")   # keep order, no stars
    assert lines[4] == f"|  | ({fe1.tstats['capital']:.2f}) | ({ols.tstats['capital']:.2f}) |"
    assert lines[5].startswith("| value |")
    assert "const" not in out and "Entity FE" not in out and "Observations" not in out
    assert "t statistics in parentheses." in out
    ci = regression_table(fe1, se="ci", format="frame")
    lo, hi = fe1.conf_int().loc["value"]
    assert ci.iloc[1, 0] == f"[{lo:.3f}, {hi:.3f}]"


def test_frame_html_and_file(grunfeld, tmp_path):
    fe1, fe2, _ = grunfeld
    f = regression_table([fe1, fe2], format="frame")
    assert list(f.columns.get_level_values(0)) == ["(1)", "(2)"]
    assert f.loc["capital"].tolist() == ["0.310***", "0.351***"]
    h = regression_table([fe1, fe2], format="html", path=tmp_path / "t.html")
    assert h.count("<tr>") == 2 + 4 + 3 + 2 and "0.351***" in h
    assert (tmp_path / "t.html").read_text(encoding="utf-8") == h


def test_xlsx_numbers_read_back(grunfeld, tmp_path):
    from openpyxl import load_workbook

    fe1, fe2, ols = grunfeld
    p = regression_table([fe1, fe2, ols], format="xlsx", path=tmp_path / "t.xlsx",
                         title="Grunfeld")
    wb = load_workbook(p)
    ws = wb["table"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    row = next(r for r in rows if r[0] == "capital")
    se_row = rows[rows.index(row) + 1]
    for j, res in enumerate((fe1, fe2, ols), start=1):
        assert num(row[j]) == pytest.approx(res.params["capital"], abs=5e-4)
        assert num(se_row[j]) == pytest.approx(res.std_errors["capital"], abs=5e-4)
    nobs = next(r for r in rows if r[0] == "Observations")
    assert nobs[1:4] == [220, 220, 220]        # stored as numbers
    est = pd.DataFrame(list(wb["estimates"].values)[1:],
                       columns=list(wb["estimates"].values)[0])
    got = est[(est["column"] == "(2)") & (est["term"] == "value")]["estimate"].iloc[0]
    assert got == pytest.approx(fe2.params["value"], rel=1e-12)


def test_docx_numbers_read_back(grunfeld, tmp_path):
    import docx  # python-docx: the docx extra (and the test extra)

    fe1, fe2, _ = grunfeld
    p = regression_table([fe1, fe2], format="docx", path=tmp_path / "t.docx", title="T")
    d = docx.Document(str(p))
    assert d.paragraphs[0].text == "T"
    cells = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert cells[0] == ["", "(1)", "(2)"]
    row = next(r for r in cells if r[0] == "value")
    assert num(row[1]) == pytest.approx(fe1.params["value"], abs=5e-4)
    assert num(row[2]) == pytest.approx(fe2.params["value"], abs=5e-4)
    assert row[1].endswith("***")
    assert next(r for r in cells if r[0] == "Observations")[1:] == ["220", "220"]


def test_drivers_and_generic_columns_mix(grunfeld):
    rng = np.random.default_rng(1)
    d = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "w"])
    d["y"] = d["a"] + 0.5 * d["b"] + rng.normal(size=120)
    drv = fit_drivers(d, "y", ["a", "b"], ["w"], standardize=False)
    custom = TableColumn("y", pd.DataFrame({"term": ["a"], "estimate": [1.5],
                                            "std_error": [0.5], "p_value": [0.04]}),
                         stats={"nobs": 50})
    f = regression_table([grunfeld[0], drv, custom], format="frame")
    assert f.loc["a"].tolist() == ["", f"{drv.coefficients.set_index('term').loc['a', 'estimate']:.3f}***", "1.500**"]
    assert f.loc["Controls"].tolist() == ["", "Yes", ""]
    assert f.loc["R²"].tolist() == ["", f"{drv.r2:.3f}", ""]
    assert f.loc["Observations"].tolist() == ["220", "120", "50"]


def test_bad_input_names_the_problem(grunfeld, tmp_path):
    fe1 = grunfeld[0]
    with pytest.raises(ParameterError, match="format='pdf'"):
        regression_table(fe1, format="pdf")
    with pytest.raises(ParameterError, match="path="):
        regression_table(fe1, format="xlsx")
    with pytest.raises(ParameterError, match="keep='nothing'"):
        regression_table(fe1, keep="nothing")
    with pytest.raises(ParameterError, match="stars"):
        regression_table(fe1, stars=(0.1, 2))
    with pytest.raises(DtiStatError, match="cannot put a int"):
        regression_table([fe1, 3])
    with pytest.raises(ParameterError, match="se="):
        regression_table(fe1, se="stars")


# ----------------------------------------------------------------------------- mediation
def test_mediation_table_layout_and_numbers(mediation):
    res = mediation
    tab = mediation_table(res, format="frame")
    eq = tab["equations"]
    assert list(eq.columns.get_level_values(1)) == ["y", "m", "y"]
    p = res.paths.set_index("term")["estimate"]
    x_row = eq.loc["x"]
    for cell, term in zip(x_row, ("c", "a[m]", "c_prime")):
        assert num(cell) == pytest.approx(p[term], abs=5e-4)
    assert eq.loc["m"].tolist()[:2] == ["", ""]
    assert num(eq.loc["m"].iloc[2]) == pytest.approx(p["b[m]"], abs=5e-4)
    assert eq.loc["Controls"].tolist() == ["Yes"] * 3
    assert eq.loc["Observations"].tolist() == ["400"] * 3
    ind = tab["indirect"].set_index("term")
    got = res.indirect.set_index("term").loc["indirect[m]"]
    assert ind.loc["indirect[m]", "estimate"] == got["estimate"]
    assert ind.loc["indirect[m]", "ci_low"] == got["ci_low"]
    # one mediator, OLS: indirect + direct = total, so the shares add to one
    assert ind.loc["indirect[m]", "share"] + ind.loc["c_prime", "share"] == pytest.approx(1)
    md = mediation_table(res)
    assert "Panel B: bootstrap test of the indirect effect" in md
    assert "| Indirect: x → m → y |" in md and "300 draws" in md
    tex = mediation_table(res, format="latex", labels={"x": "DTI", "m": "Platform"})
    assert tex.count(r"\toprule") == 2 and r"DTI $\rightarrow$ Platform" in tex


def test_mediation_in_regression_table_and_files(mediation, tmp_path):
    from openpyxl import load_workbook

    cols = mediation_equations(mediation)
    assert [c.name for c in cols] == ["y", "m", "y"]
    out = regression_table(mediation, keep=["x", "m"])
    assert out.splitlines()[2] == "|  | y | m | y |"
    p = mediation_table(mediation, format="xlsx", path=tmp_path / "m.xlsx")
    rows = [[c.value for c in r] for r in load_workbook(p)["table"].iter_rows()]
    ind_row = next(r for r in rows if r[0] == "Indirect: x → m → y")
    want = mediation.indirect.set_index("term").loc["indirect[m]", "estimate"]
    assert ind_row[1] == pytest.approx(want, abs=5e-4)


def test_mediation_table_without_bootstrap_and_needs_a_result():
    """A Jiang (2022)-style fit (a and c only, no bootstrap): Panel A only; anything
    that is not a MediationResult is refused (tables read the results protocol)."""
    rng = np.random.default_rng(3)
    n = 300
    d = pd.DataFrame({"city": np.repeat(np.arange(60), 5), "q": np.tile(np.arange(5), 60)})
    d["x"] = rng.normal(size=n)
    d["m"] = 0.5 * d["x"] + rng.normal(size=n)
    d["y"] = 0.3 * d["x"] + 0.4 * d["m"] + rng.normal(size=n)
    res = fit_mediation(d, x="x", m="m", y="y", entity="city", time="q", fe="twoway",
                        cluster="city", procedure="jiang_2022", n_boot=0)
    out = mediation_table(res)
    assert "Panel B" not in out
    assert "| Entity FE | Yes | Yes |" in out and "| Cluster | city | city |" in out
    with pytest.raises(ParameterError, match="MediationResult"):
        mediation_table(SimpleNamespace(x="x", mediators=("m",), y="y", paths=res.paths))


# ----------------------------------------------------------------------------- index
def _index():
    spec = IndexSpec.from_dict({"name": "total", "children": [{"name": "x"}]})
    q = [f"2021Q{i}" for i in range(1, 5)] + ["2022Q1", "2022Q2"]
    vals = {"A": [1, 2, 3, 4, 5, 6], "B": [3, 3, 3, 3, 3, 3], "C": [2, 2, 1, 1, 2, 4],
            "D": [1, 1, 1, 1, 1, 1]}
    df = pd.DataFrame([(c, t, float(x)) for c, xs in vals.items() for t, x in zip(q, xs)],
                      columns=["city", "quarter", "x"])
    meta = pd.DataFrame({"city": list("ABCD"), "cluster": ["n", "n", "s", "s"]})
    return compute_index(df, spec, metadata=meta)


def test_index_table_ranking_change_and_growth():
    res = _index()
    out = index_table(res, "2022Q2", compare="2021Q1", growth="yoy")
    assert out == (
        "| Rank | city | Score | Rank 2021Q1 | Change | YoY growth (%) |\n"
        "|:---:|:---|---:|:---:|:---:|---:|\n"
        "| 1 | A | 0.8571 | 3 | +2 | 200.00 |\n"
        "| 2 | C | 0.5714 | 2 | 0 | 100.00 |\n"
        "| 3 | B | 0.4286 | 1 | -2 | 0.00 |\n"
        "| 4 | D | 0.1429 | 3 | -1 | 0.00 |\n")
    f = index_table(res, "2022Q2", within="cluster", growth="yoy_mean", format="frame", top=1)
    assert f[["cluster", "city", "rank"]].values.tolist() == [["n", "A", 1], ["s", "C", 1]]
    g = res.growth("yoy_mean").set_index("city")["yoy_mean"]
    assert f.set_index("city")["growth"].to_dict() == pytest.approx(g[["A", "C"]].to_dict())
    with pytest.raises(ParameterError, match="growth"):
        index_table(res, 2022, growth="qoq")


def test_frame_table():
    df = pd.DataFrame({"factor": ["F1", "F2"], "n": [3, 4], "loading": [0.71234, np.nan]})
    assert frame_table(df, digits=2) == (
        "| factor | n | loading |\n|:---|---:|---:|\n| F1 | 3 | 0.71 |\n| F2 | 4 |  |\n")
    assert frame_table(df, format="frame").equals(df)


def test_format_follows_the_path_and_a_mismatch_is_refused(tmp_path):
    """regression_table(..., path="t.docx") used to write Markdown into the .docx."""
    g = sm.datasets.grunfeld.load_pandas().data
    g = g[g.firm != "American Steel"]
    fe = fit_panel(g, "invest ~ value + capital", entity="firm", time="year",
                   cov="unadjusted")
    p = regression_table([fe], path=tmp_path / "t.tex")
    assert "\\toprule" in p and (tmp_path / "t.tex").read_text().startswith("\\begin")
    out = regression_table([fe], path=tmp_path / "t.xlsx")
    import openpyxl

    assert openpyxl.load_workbook(out).active.max_row > 3
    with pytest.raises(ParameterError, match="ends in '.docx' but format='markdown'"):
        regression_table([fe], format="markdown", path=tmp_path / "t.docx")
