"""Tests of dtistat.formula: designs against patsy/statsmodels, lags against pandas, safety."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from dtistat.errors import ColumnError, DataError, PeriodError, SpecError
from dtistat.formula import Design, build_design, parse_time

# statsmodels 0.15 ``datasets.grunfeld``: Grunfeld (1958) investment data, 11 firms x
# 20 years (1935-1954), the table of Baltagi, *Econometric Analysis of Panel Data*.
GRUNFELD = sm.datasets.grunfeld.load_pandas().data
GRUNFELD = GRUNFELD.assign(year=GRUNFELD["year"].astype(int))
FORMULA = "log(invest) ~ log(value)*capital + C(firm) + I(value**2)"
log = np.log  # patsy evaluates formulas in the caller's namespace


@pytest.fixture(scope="module")
def unbalanced() -> pd.DataFrame:
    """Grunfeld with 15% of firm-years removed at random (gaps), rows shuffled."""
    rng = np.random.default_rng(3)
    d = GRUNFELD[rng.random(len(GRUNFELD)) > 0.15]
    return d.sample(frac=1.0, random_state=4).reset_index(drop=True)


def shift_reference(d: pd.DataFrame, col: str, k: int) -> np.ndarray:
    """Lag (k > 0) or lead (k < 0) by a pandas groupby-shift on the complete calendar.

    The panel is put on the full firm x year grid first, so a missing year is a gap
    (its neighbours' lags are NaN), then shifted within firm and read back per row.
    """
    grid = pd.MultiIndex.from_product([sorted(d["firm"].unique()),
                                       range(d["year"].min(), d["year"].max() + 1)],
                                      names=["firm", "year"])
    full = d.set_index(["firm", "year"])[col].reindex(grid)
    shifted = full.groupby(level="firm").shift(k)
    return shifted.reindex(pd.MultiIndex.from_frame(d[["firm", "year"]])).to_numpy()


# --------------------------------------------------------------------------- Wilkinson part
def test_design_equals_patsy_and_ols_equals_statsmodels():
    d = build_design(GRUNFELD, FORMULA, ordering="patsy", level_names="formulaic")
    # patsy 1.0 dmatrices: an independent implementation of the same grammar
    py, pX = patsy.dmatrices(FORMULA, GRUNFELD, return_type="dataframe")
    assert d.names == ["const" if c == "Intercept" else c for c in pX.columns]
    np.testing.assert_array_equal(d.X, pX.to_numpy())
    np.testing.assert_array_equal(d.y, py.to_numpy().ravel())
    assert d.X.flags.f_contiguous and d.y_name == "log(invest)" and d.has_intercept
    # default order (by degree, formula order) and names C(firm)[IBM]: same columns
    dd = build_design(GRUNFELD, FORMULA)
    plain = {c.replace("[T.", "["): j for j, c in enumerate(d.names)}
    assert sorted(plain) == sorted(dd.names)
    np.testing.assert_array_equal(dd.X, d.X[:, [plain[c] for c in dd.names]])
    # reference level: the first firm in sorted order, American Steel
    assert dd.names[:4] == ["const", "log(value)", "capital", "C(firm)[Atlantic Refining]"]
    assert dd.names[-2:] == ["I(value ** 2)", "log(value):capital"]
    assert dd.factors["firm"] == [c for c in dd.names if c.startswith("C(firm)")]
    assert dd.variables == ["invest", "value", "capital", "firm"]
    # OLS on the design == statsmodels' formula OLS (patsy inside), 1e-10
    ref = smf.ols(FORMULA, GRUNFELD).fit()
    ours = sm.OLS(d.y, d.X).fit()
    np.testing.assert_allclose(ours.params, ref.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bse, ref.bse.to_numpy(), rtol=1e-10)
    b = np.linalg.lstsq(dd.X, dd.y, rcond=None)[0]
    inter = dict(zip(dd.names, b, strict=True))["log(value):capital"]
    assert inter == pytest.approx(ref.params["log(value):capital"], rel=1e-8)


def test_reference_levels_transforms_and_intercept():
    g = GRUNFELD
    for spec in ['C(firm, Treatment("IBM"))', 'C(firm, contr.treatment("IBM"))']:
        d = build_design(g, f"invest ~ {spec}", level_names="formulaic")
        ref = patsy.dmatrix('C(firm, Treatment("IBM"))', g, return_type="dataframe")
        np.testing.assert_array_equal(d.X, ref.to_numpy())
        assert not any("[IBM]" in c or "[T.IBM]" in c for c in d.names)
    d = build_design(g, "invest ~ center(value) + scale(capital) + standardize(value)"
                     " + np.log1p(capital) + sqrt(value) + abs(capital) - 1")
    v, c = g["value"].to_numpy(), g["capital"].to_numpy()
    np.testing.assert_allclose(d.X[:, 0], v - v.mean(), rtol=1e-13)
    # scale() divides by the sample standard deviation (ddof=1), as R's scale()
    np.testing.assert_allclose(d.X[:, 1], (c - c.mean()) / c.std(ddof=1), rtol=1e-12)
    # standardize() divides by the population standard deviation (ddof=0), as patsy's
    np.testing.assert_allclose(d.X[:, 2], (v - v.mean()) / v.std(ddof=0), rtol=1e-12)
    np.testing.assert_allclose(d.X[:, 3:], np.c_[np.log1p(c), np.sqrt(v), c], rtol=1e-14)
    assert not d.has_intercept and "const" not in d.names
    assert build_design(g, "invest ~ 0 + value").names == ["value"]
    # orthogonal polynomial: orthonormal, orthogonal to 1, same span as value, value^2
    P = build_design(g, "invest ~ poly(value, 2)").X[:, 1:]
    np.testing.assert_allclose(P.T @ P, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(P.sum(0), 0.0, atol=1e-10)
    V = np.c_[np.ones_like(v), v, v**2]
    resid = P - V @ np.linalg.lstsq(V, P, rcond=None)[0]
    np.testing.assert_allclose(resid, 0.0, atol=1e-8)
    # intercept absorbed by an estimator's effects: dummies still drop a level
    d = build_design(g, "invest ~ C(firm) + value - 1", intercept_allowed=False)
    assert "const" not in d.names and len(d.factors["firm"]) == g["firm"].nunique() - 1
    assert not d.has_intercept
    assert build_design(g, "invest ~ value", intercept_allowed=False).has_intercept


def test_unicode_backquote_and_q_names():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"产出": rng.normal(size=30), "R&D-投入": rng.gamma(2.0, size=30),
                       "数字 指数": rng.normal(size=30), "因子": rng.normal(size=30)})
    d = build_design(df, '产出 ~ `R&D-投入` + Q("数字 指数") + 因子 + log(`R&D-投入`):因子')
    assert d.names == ["const", "R&D-投入", "Q('数字 指数')", "因子", "log(`R&D-投入`):因子"]
    np.testing.assert_array_equal(d.X[:, 1:4], df[["R&D-投入", "数字 指数", "因子"]].to_numpy())
    np.testing.assert_allclose(d.X[:, 4], np.log(df["R&D-投入"]) * df["因子"], rtol=1e-15)
    assert d.variables == ["产出", "R&D-投入", "数字 指数", "因子"]


# --------------------------------------------------------------------------- L / D / F
def test_lags_leads_differences_against_groupby_shift(unbalanced):
    d = unbalanced
    f = "invest ~ L(value) + L(capital, 2) + D(value) + F(value) + value"
    des = build_design(d, f, entity="firm", time="year")
    assert des.names == ["const", "L(value)", "L(capital, 2)", "D(value)", "F(value)", "value"]
    ref = pd.DataFrame({
        "L(value)": shift_reference(d, "value", 1),
        "L(capital, 2)": shift_reference(d, "capital", 2),
        "D(value)": d["value"].to_numpy() - shift_reference(d, "value", 1),
        "F(value)": shift_reference(d, "value", -1),
        "value": d["value"].to_numpy(),
    })
    kept = ref.notna().all(axis=1).to_numpy()
    np.testing.assert_array_equal(des.rows, np.flatnonzero(kept))
    np.testing.assert_array_equal(des.X[:, 1:], ref[kept].to_numpy())
    np.testing.assert_array_equal(des.y, d["invest"].to_numpy()[kept])
    assert des.n_dropped_lags == (~kept).sum() > 0 and des.n_dropped_missing == 0
    # a gap inside a firm's years really occurs in this sample
    yrs = d.groupby("firm")["year"].agg(lambda s: s.max() - s.min() + 1 - s.size)
    assert (yrs > 0).any()


def test_shifts_inside_transforms_interactions_and_outcome(unbalanced):
    d = unbalanced
    kw = {"entity": "firm", "time": "year"}
    a = build_design(d, "D(invest) ~ L(log(value), 1) + log(L(value)) + L(value, 1):capital"
                        " + D(L(capital))", **kw)
    assert a.y_name == "D(invest)"
    assert a.names == ["const", "L(log(value), 1)", "log(L(value))", "D(L(capital))",
                       "L(value, 1):capital"]
    lag = shift_reference(d, "value", 1)
    lc1, lc2 = shift_reference(d, "capital", 1), shift_reference(d, "capital", 2)
    dy = d["invest"].to_numpy() - shift_reference(d, "invest", 1)
    ref = np.c_[np.log(lag), np.log(lag), lc1 - lc2, lag * d["capital"].to_numpy()]
    kept = np.isfinite(ref).all(axis=1) & np.isfinite(dy)
    np.testing.assert_array_equal(a.rows, np.flatnonzero(kept))
    np.testing.assert_allclose(a.X[:, 1:], ref[kept], rtol=1e-15)
    np.testing.assert_allclose(a.y, dy[kept], rtol=1e-15)
    # k = 0 is the variable itself; k= as keyword; the same term is built once
    b = build_design(d, "invest ~ L(value, 0) + L(capital, k=2)", **kw)
    np.testing.assert_array_equal(b.X[:, 1], d["value"].to_numpy()[b.rows])
    assert b.names[2] == "L(capital, 2)"


def test_quarters_with_a_gap_and_monthly_periods():
    q = ["2021Q1", "2021Q2", "2021Q4", "2022Q1", "2022Q2"]  # 2021Q3 missing
    df = pd.DataFrame({"city": ["a"] * 5 + ["b"] * 5, "q": q * 2,
                       "x": [1.0, 2, 4, 8, 16, 1, 3, 9, 27, 81]})
    df["y"] = 2 * df["x"]
    d = build_design(df, "y ~ L(x) + F(x)", entity="city", time="q")
    # kept: 2021Q2 (lag Q1, lead missing Q3 -> dropped), so only 2022Q1 per city
    assert d.nobs == 2 and d.n_dropped_lags == 8
    np.testing.assert_array_equal(d.X[:, 1:], [[4.0, 16.0], [9.0, 81.0]])
    d2 = build_design(df.assign(q=pd.PeriodIndex(df["q"], freq="Q").to_timestamp()),
                      "y ~ L(x) + F(x)", entity="city", time="q")
    np.testing.assert_array_equal(d2.X, d.X)
    m = pd.DataFrame({"m": pd.PeriodIndex(["2021-01", "2021-02", "2021-04"], freq="M"),
                      "x": [1.0, 2.0, 3.0]})
    d3 = build_design(m, "x ~ L(x)", time="m")  # one series, no entity
    assert d3.nobs == 1 and d3.y.tolist() == [2.0] and d3.X[:, 1].tolist() == [1.0]


def test_parse_time_keys_and_errors():
    pos, lab = parse_time(pd.Series(["2021Q1", "2021Q2", "2022Q1"]), "q")
    assert np.diff(pos).tolist() == [1, 3] and lab.tolist() == ["2021Q1", "2021Q2", "2022Q1"]
    pos, lab = parse_time(pd.Series([2001, 2003, 2002]), "year")
    assert pos.tolist() == [2001, 2003, 2002] and lab.tolist() == [2001, 2003, 2002]
    pos, _ = parse_time(pd.Series(["2001", " 2004"]), "year")
    assert pos.tolist() == [2001, 2004]
    pos, _ = parse_time(pd.Series([0.5, 0.25, 0.75]), "t")
    assert pos.tolist() == [1, 0, 2]
    cat = pd.Series(pd.Categorical(["lo", "hi", "mid"], categories=["lo", "mid", "hi"],
                                   ordered=True))
    assert parse_time(cat, "c")[0].tolist() == [0, 2, 1]
    dates = pd.Series(pd.to_datetime(["2021-01-15", "2021-08-01"]))
    assert np.diff(parse_time(dates, "d")[0]).tolist() == [2]
    with pytest.raises(PeriodError, match="unordered Categorical"):
        parse_time(pd.Series(pd.Categorical(["a", "b"])), "c")
    with pytest.raises(PeriodError, match="'t' is not orderable: 'year 1'"):
        parse_time(pd.Series(["year 1", "year 2"]), "t")
    with pytest.raises(PeriodError, match="missing at row 1"):
        parse_time(pd.Series([2001.0, np.nan]), "t")
    with pytest.raises(PeriodError, match="boolean"):
        parse_time(pd.Series([True, False]), "t")
    with pytest.raises(PeriodError, match="values of type object"):
        parse_time(pd.Series([object(), object()]), "t")


def test_names_and_numbers_equal_fit_panel():
    """Same formulas, same column names and estimates as fit_panel's own parser."""
    from dtistat.panel import fit_panel

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"city": np.repeat(list("abcdefgh"), 9),
                       "year": np.tile(np.arange(2001, 2010), 8)})
    df = df.sample(frac=0.85, random_state=2).reset_index(drop=True)  # gaps, shuffled
    for c in ("y", "x1", "x2"):
        df[c] = rng.normal(size=len(df))
    df["region"] = df["city"].map(dict(zip("abcdefgh", "nnssewew", strict=True)))
    for f in ["y ~ x1 + L(x1, 2) + D(x2) + L(y)", "y ~ x1 + C(year) + C(region)",
              "D(y) ~ D(x1) + D(L(x2)) - 1"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fit_panel(df, f, entity="city", time="year", model="pooled",
                          cov="unadjusted")
        d = build_design(df, f, entity="city", time="year")
        assert d.names == list(r.params.index) and d.nobs == r.nobs
        assert d.n_dropped_lags == r.n_dropped_lags
        b = np.linalg.lstsq(d.X, d.y, rcond=None)[0]
        np.testing.assert_allclose(b, r.params.to_numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- missing values
def test_missing_raise_and_drop():
    d = GRUNFELD.copy()
    d.loc[7, "capital"] = np.nan
    d.loc[30, "firm"] = None
    before = d.copy(deep=True)
    with pytest.raises(DataError, match=r"'capital' is missing \(NaN\) at firm='General "
                                        r"Motors', year=1942.*missing=\"drop\""):
        build_design(d, "invest ~ capital + C(firm)", entity="firm", time="year")
    with pytest.raises(DataError, match="row 7"):
        build_design(d, "invest ~ capital")
    des = build_design(d, "invest ~ capital + C(firm)", missing="drop", ordering="patsy")
    ref = patsy.dmatrix("capital + C(firm)", d.dropna(), return_type="dataframe")
    np.testing.assert_array_equal(des.X, ref.to_numpy())
    assert des.n_dropped_missing == 2 and des.nobs == len(d) - 2
    assert des.index.tolist() == d.dropna().index.tolist()
    # GM 1943 reads the missing capital of 1942: counted as missing, not as a lag; the
    # 11 first years and the year after the removed row 30 (a gap) have no lag
    des = build_design(d.drop(index=30), "invest ~ L(capital)", entity="firm", time="year",
                       missing="drop")
    assert des.n_dropped_missing == 1 and des.n_dropped_lags == 11 + 1
    assert 8 not in des.index and 7 in des.index and 31 not in des.index
    pd.testing.assert_frame_equal(d, before)  # input never modified


# --------------------------------------------------------------------------- bad input
def test_bad_formulas_and_data():
    g = GRUNFELD
    kw = {"entity": "firm", "time": "year"}
    for bad in ["invest ~ invest + value", "log(invest) ~ value + log(invest)",
                "invest value", "invest ~ value ~ capital", "invest ~ (value",
                "invest ~ L(value, a)", "invest ~ L(value, -1)", "invest ~ D(value, 0)",
                "invest ~ L(C(firm))", "invest ~ L(center(value))", "invest ~ value | capital",
                "invest ~ 0"]:
        with pytest.raises(SpecError):
            build_design(g, bad, **kw)
    with pytest.raises(SpecError, match="time="):
        build_design(g, "invest ~ L(value)")
    with pytest.raises(ColumnError, match="'nope'"):
        build_design(g, "invest ~ log(nope)")
    with pytest.raises(DataError, match=r"'log\(capital\)' is -inf at row 0"):
        build_design(g.assign(capital=g["capital"].where(g.index > 0, 0.0)),
                     "invest ~ log(capital)")
    with pytest.raises(DataError, match="duplicate firm x year rows"):
        build_design(pd.concat([g, g.iloc[[3]]]), "invest ~ L(value)", **kw)
    with pytest.raises(DataError, match="numeric"):
        build_design(g, "invest ~ L(firm)", **kw)
    with pytest.raises(SpecError, match="one numeric column"):
        build_design(g, "firm ~ value")


@pytest.mark.parametrize("expr", [
    "__import__('pathlib').Path(SENTINEL).touch()",
    "I(__import__('pathlib').Path(SENTINEL).touch())",
    "{__import__('pathlib').Path(SENTINEL).touch()}",
    "L(__import__('pathlib').Path(SENTINEL).touch())",
    "I(().__class__)",
    "I(value.__class__)",
    "np.save(SENTINEL, value)",
    "I(open(SENTINEL, 'w'))",
    "I((lambda: value)())",
    "I([v for v in value])",
    "I(value[0])",
    "I(9 ** 9 ** 9)",
    "I('a' * 10 ** 9)",
])
def test_formula_code_is_refused_and_nothing_runs(tmp_path, expr):
    sentinel = tmp_path / "ran"
    f = "invest ~ " + expr.replace("SENTINEL", repr(str(sentinel)))
    with pytest.raises(SpecError):
        build_design(GRUNFELD, f, entity="firm", time="year")
    assert not sentinel.exists()


def test_design_object():
    d = build_design(GRUNFELD, "invest ~ value + C(firm)")
    assert isinstance(d, Design) and "220 rows" in repr(d)
    fr = d.frame()
    assert list(fr.columns) == d.names and fr.index.equals(GRUNFELD.index)
    assert d.terms["C(firm)"] == d.factors["firm"] and d.terms["const"] == ["const"]


def test_main_effects_path_equals_formulaic(monkeypatch, unbalanced):
    """Main-effects formulas are built without formulaic: the same design as formulaic's."""
    import dtistat.formula.design as D

    d = unbalanced.assign(
        yearf=unbalanced["year"].astype(float),
        size=pd.Categorical(np.where(unbalanced["capital"] > 200, "big", "small"),
                            categories=["tiny", "small", "big"]),
        capital=unbalanced["capital"].where(unbalanced.index % 17 != 3))
    cases = [
        ("invest ~ value + C(firm) + capital", {}),
        ("invest ~ value + C(firm) + capital", {"ordering": "patsy", "level_names": "formulaic"}),
        ("invest ~ L(value) + C(year) + D(capital)", {"intercept_allowed": False}),
        ("invest ~ firm + C(yearf) + size + value", {}),
        ("~ value + C(firm) + F(value, 2)", {"ordering": "patsy"}),
        ("invest ~ C(year) + value - 1", {}),
    ]
    kw = {"entity": "firm", "time": "year", "missing": "drop"}
    fast = [build_design(d, f, **kw, **o) for f, o in cases]
    monkeypatch.setattr(D, "plain_design", lambda *a, **k: None)
    for a, (f, o) in zip(fast, cases, strict=True):
        b = build_design(d, f, **kw, **o)
        assert a.names == b.names and a.y_name == b.y_name, f
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.rows, b.rows)
        if a.y is not None:
            np.testing.assert_array_equal(a.y, b.y)
        assert a.terms == b.terms and a.factors == b.factors, f
    assert "C(yearf)[1936.0]" in fast[3].names and "size[tiny]" not in fast[3].names


def test_sorted_key_lookup_equals_dense_table(monkeypatch, unbalanced):
    import dtistat.formula._shift as S

    f = "invest ~ L(value) + F(capital, 2) + D(value, 3)"
    a = build_design(unbalanced, f, entity="firm", time="year")
    monkeypatch.setattr(S, "_DENSE_MAX", 0)
    b = build_design(unbalanced, f, entity="firm", time="year")
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.rows, b.rows)
    with pytest.raises(DataError, match=r"duplicate firm x year rows.*\(1 duplicate"):
        build_design(pd.concat([unbalanced, unbalanced.iloc[[3]]]), f, entity="firm",
                     time="year")


def test_fit_ordered_with_transforms_equals_statsmodels():
    """fit_ordered reads the same grammar: a transform and a reference level."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    from dtistat.survey import fit_ordered

    rng = np.random.default_rng(11)
    n = 400
    d = pd.DataFrame({"age": rng.uniform(20, 70, n), "tier": rng.choice(["t1", "t2", "t3"], n)})
    latent = 1.5 * np.log(d["age"]) + 0.5 * (d["tier"] == "t1") + rng.logistic(size=n)
    d["worry"] = pd.Categorical(pd.qcut(latent, 3, labels=["lo", "mid", "hi"]), ordered=True)
    f = 'worry ~ log(age) + C(tier, Treatment("t2"))'
    res = fit_ordered(d, f, cov="nonrobust")
    # statsmodels 0.15 OrderedModel.from_formula (patsy), BFGS to a tight gradient
    m = OrderedModel.from_formula(f, d, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = m.fit(method="bfgs", disp=0, maxiter=5000, gtol=1e-10)
    # formulaic spells string literals with single quotes, patsy keeps the user's; levels
    # are named C(x)[b] as in every dtistat estimator (patsy: C(x)[T.b])
    assert list(res.params.index) == [c.replace('"', "'").replace("[T.", "[")
                                      for c in ref.params.index]
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), atol=1e-6)
    assert res.loglike == pytest.approx(ref.llf, rel=1e-10)


def test_panel_formula_ols_equals_statsmodels_with_explicit_lag(unbalanced):
    """log(y) ~ log(x)*z + C(g) + L(log(x), 1): OLS equal to statsmodels on an explicit lag."""
    d = unbalanced
    f = "log(invest) ~ log(value)*capital + C(firm) + L(log(value), 1)"
    des = build_design(d, f, entity="firm", time="year")
    # the lag column made by a groupby-shift on the complete calendar, rows without it
    # dropped; then statsmodels 0.15 formula OLS (patsy)
    ref_data = d.assign(lag_lv=np.log(shift_reference(d, "value", 1))).dropna()
    ref = smf.ols("log(invest) ~ log(value)*capital + C(firm) + lag_lv", ref_data).fit()
    ours = sm.OLS(des.y, des.frame()).fit()
    assert des.nobs == len(ref_data) and des.index.equals(ref_data.index)
    for a, b in [("log(value):capital", "log(value):capital"), ("L(log(value), 1)", "lag_lv"),
                 ("log(value)", "log(value)"), ("C(firm)[IBM]", "C(firm)[T.IBM]")]:
        assert ours.params[a] == pytest.approx(ref.params[b], rel=1e-10)
        assert ours.bse[a] == pytest.approx(ref.bse[b], rel=1e-10)
