"""Tests of dtistat.survey: raking, design-based crosstabs, proportions, ordered models.

References (each number below carries its source):

* R ``survey`` package output for the California API data (``data(api)``), as written
  by ``test/r_reference/generate_fixtures.R`` of xKDR/Survey.jl (survey 4.5, R 4.6.1):
  ``rake_weights.csv`` and ``chisq.csv``. The api designs used have constant weights,
  so the microdata are rebuilt exactly from cell (and cluster x cell) counts of
  ``apiclus1`` / ``apisrs``, given here.
* Agresti (2007), *An Introduction to Categorical Data Analysis*, 2nd ed., §2.5.1,
  Table 2.7 (infant malformation by maternal alcohol consumption) — also Agresti
  (2013), *Categorical Data Analysis*, 3rd ed., §3.4.4.
* scipy ``chi2_contingency``, statsmodels ``proportion_confint``, ``OrderedModel`` and
  ``WLS``; the ``ipfn`` package (independent IPF implementation, test-only dependency).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from ipfn.ipfn import ipfn as IPF  # test-only reference IPF (PyPI ipfn 1.4.4)
from scipy import stats

from dtistat.errors import ConvergenceError, DataError, DtiStatWarning, ParameterError
from dtistat.survey import (
    CrosstabResult,
    OrderedResult,
    RakeReport,
    crosstab,
    effective_n,
    fit_ordered,
    kish_deff,
    proportions,
    rake,
)

# ------------------------------------------------------------------ reference data

# apiclus1 (R survey package, data(api)): schools by type x "met school-wide growth
# target"; 183 schools, pw = 33.847 for all (one-stage cluster sample of 15 districts).
APICLUS1_STYPE_SCHWIDE = {("E", "No"): 12, ("E", "Yes"): 132, ("H", "No"): 3,
                          ("H", "Yes"): 11, ("M", "No"): 8, ("M", "Yes"): 17}
# ?rake example of the survey package (Lumley 2010, Complex Surveys, ch. 7): margins
POP_STYPE = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}
# R: weights(rake(svydesign(id=~dnum, weights=~pw, data=apiclus1),
#     list(~stype, ~sch.wide), list(pop.types, pop.schwide)))  -> rake_weights.csv
# (six distinct values, one per stype x sch.wide cell)
R_RAKE_WEIGHTS = {("E", "No"): 39.838509410554, ("E", "Yes"): 29.8704638727345,
                  ("H", "No"): 67.1257826263303, ("H", "Yes"): 50.3301527726748,
                  ("M", "No"): 49.0700673992951, ("M", "Yes"): 36.7921816646831}

# apisrs: stype x awards counts (200 schools, simple random sample, pw = 30.97)
APISRS_STYPE_AWARDS = {("E", "No"): 41, ("E", "Yes"): 101, ("H", "No"): 16,
                       ("H", "Yes"): 9, ("M", "No"): 19, ("M", "Yes"): 14}
# apiclus1: (district dnum, stype, awards) counts
APICLUS1_DNUM_STYPE_AWARDS = {
    (61, "E", "No"): 1, (61, "E", "Yes"): 9, (61, "M", "No"): 2, (61, "M", "Yes"): 1,
    (135, "E", "No"): 8, (135, "E", "Yes"): 26, (178, "E", "Yes"): 2,
    (178, "H", "Yes"): 1, (178, "M", "No"): 1, (197, "E", "No"): 1,
    (197, "E", "Yes"): 9, (197, "M", "No"): 3, (255, "E", "No"): 3,
    (255, "E", "Yes"): 10, (255, "M", "Yes"): 3, (406, "E", "Yes"): 2,
    (413, "E", "Yes"): 1, (437, "E", "No"): 1, (437, "E", "Yes"): 1,
    (437, "H", "Yes"): 1, (437, "M", "Yes"): 1, (448, "E", "Yes"): 9,
    (448, "H", "Yes"): 1, (448, "M", "No"): 1, (448, "M", "Yes"): 1,
    (510, "E", "No"): 4, (510, "E", "Yes"): 12, (510, "H", "No"): 2,
    (510, "M", "No"): 1, (510, "M", "Yes"): 2, (568, "E", "No"): 2,
    (568, "E", "Yes"): 2, (568, "H", "No"): 2, (568, "H", "Yes"): 2,
    (568, "M", "No"): 1, (637, "E", "No"): 2, (637, "E", "Yes"): 6,
    (637, "H", "Yes"): 1, (637, "M", "Yes"): 2, (716, "E", "No"): 9,
    (716, "E", "Yes"): 21, (716, "H", "No"): 3, (716, "M", "No"): 1,
    (716, "M", "Yes"): 3, (778, "E", "Yes"): 1, (778, "M", "No"): 1,
    (815, "E", "No"): 2, (815, "H", "No"): 1, (815, "M", "No"): 1,
}


def _expand(counts: dict, names: list[str]) -> pd.DataFrame:
    rows = [k for k, v in counts.items() for _ in range(v)]
    return pd.DataFrame(rows, columns=names)


@pytest.fixture
def survey_data() -> pd.DataFrame:
    """Simulated respondents with unequal weights (not the demo world; a test fixture)."""
    rng = np.random.default_rng(20231)
    n = 600
    size = rng.choice([1, 2, 3, 4], n, p=[0.4, 0.3, 0.2, 0.1])
    trained = rng.random(n) < 0.2 + 0.12 * size
    d = pd.DataFrame({
        "gender": rng.choice(["F", "M"], n, p=[0.6, 0.4]),
        "age": rng.choice(["18-29", "30-44", "45+"], n, p=[0.5, 0.3, 0.2]),
        "tier": rng.choice(["t1", "t2", "t3"], n),
        "size": pd.Categorical.from_codes(size - 1, ["<50", "50-299", "300-999", "1000+"],
                                          ordered=True),
        "trained": np.where(trained, "yes", "no"),
        "w": rng.gamma(4.0, 0.25, n),
        "psu": rng.integers(0, 40, n),
    })
    tools = ["chat", "docs", "meet", "ai"]
    pick = rng.random((n, 4)) < np.array([0.7, 0.5, 0.4, 0.15])
    for j, t in enumerate(tools):
        d[f"use_{t}"] = pick[:, j].astype(int)
    d["tools"] = [";".join(t for t, p in zip(tools, row) if p) for row in pick]
    return d


# ========================================================================= rake

def test_rake_reproduces_r_survey_rake_after_its_four_sweeps():
    # R's rake() stops by its default control (epsilon = 1: the margin tables change by
    # less than 1); on this example that is after 4 sweeps, and R's weights reproduce
    # the stype totals only to 0.04. Our IPF after 4 sweeps must give R's weights to
    # 1e-12, and must refuse to call them converged at tol = 1e-8 (the weights travel
    # on the error, they are not returned).
    d = _expand(APICLUS1_STYPE_SCHWIDE, ["stype", "sch.wide"]).assign(pw=33.847)
    with pytest.raises(ConvergenceError, match="did not converge in 4 sweep") as ei:
        rake(d, {"stype": POP_STYPE, "sch.wide": POP_SCHWIDE}, weights="pw", max_iter=4)
    w = ei.value.weights
    ref = np.array([R_RAKE_WEIGHTS[(a, b)] for a, b in zip(d["stype"], d["sch.wide"])])
    np.testing.assert_allclose(w.to_numpy(), ref, rtol=1e-12)  # R rake_weights.csv
    assert ei.value.report.converged is False
    assert ei.value.report.iterations == 4


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside ipfn 1.4.4
def test_rake_converges_margins_and_matches_ipfn():
    d = _expand(APICLUS1_STYPE_SCHWIDE, ["stype", "sch.wide"]).assign(pw=33.847)
    margins = {"stype": POP_STYPE, "sch.wide": POP_SCHWIDE}
    w = rake(d, margins, weights="pw", tol=1e-12, max_iter=200)
    rep = w.attrs["rake"]
    assert isinstance(rep, RakeReport) and rep.converged
    for col, tgt in margins.items():
        got = w.groupby(d[col]).sum()
        for k, v in tgt.items():
            assert abs(got[k] - v) / v < 1e-12  # the margins themselves
    df = d.assign(total=d["pw"])
    agg = [pd.Series(POP_STYPE).rename_axis("stype"),
           pd.Series(POP_SCHWIDE).rename_axis("sch.wide")]
    ref = IPF(df, agg, [["stype"], ["sch.wide"]], weight_col="total",
               convergence_rate=1e-14, rate_tolerance=0.0, max_iteration=2000).iteration()
    # both converged to margins at 1e-12; the raked solution is unique
    np.testing.assert_allclose(w.to_numpy(), ref["total"].to_numpy(), rtol=1e-10)


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside ipfn 1.4.4
def test_rake_three_margins_matches_ipfn_and_reports_kish(survey_data):
    d = survey_data
    margins = {"gender": {"F": 0.49, "M": 0.51},
               "age": {"18-29": 0.25, "30-44": 0.35, "45+": 0.40},
               "tier": {"t1": 0.2, "t2": 0.3, "t3": 0.5}}
    w = rake(d, margins, weights="w", total=10_000.0, tol=1e-12, max_iter=500)
    rep = w.attrs["rake"]
    assert rep.max_rel_error <= 1e-12 and abs(w.sum() - 10_000.0) < 1e-6
    df = d.assign(total=d["w"] * 10_000.0 / d["w"].sum())
    agg = [pd.Series(v).rename_axis(k) * 10_000.0 for k, v in margins.items()]
    ref = IPF(df, agg, [[k] for k in margins], weight_col="total",
               convergence_rate=1e-14, rate_tolerance=0.0, max_iteration=5000).iteration()
    np.testing.assert_allclose(w.to_numpy(), ref["total"].to_numpy(), rtol=1e-9)
    # Kish (1965 §11.7): deff = n sum w^2 / (sum w)^2, n_eff = (sum w)^2 / sum w^2
    wv = w.to_numpy()
    assert rep.design_effect == pytest.approx(len(wv) * (wv**2).sum() / wv.sum() ** 2, rel=1e-12)
    assert rep.effective_n == pytest.approx(wv.sum() ** 2 / (wv**2).sum(), rel=1e-12)
    assert kish_deff(wv) * effective_n(wv) == pytest.approx(len(wv), rel=1e-12)
    assert list(w.index) == list(d.index) and w.name == "weight"
    assert "converged" in str(rep) and len(rep.to_frame()) == 8


def test_rake_joint_margin_equals_poststratification(survey_data):
    d = survey_data
    cells = d.groupby(["gender", "tier"]).size()
    target = {k: 100.0 + 10 * i for i, k in enumerate(cells.index)}
    w = rake(d, {("gender", "tier"): target})
    # one joint margin = post-stratification: weight = target / count in each cell
    expect = [target[(g, t)] / cells[(g, t)] for g, t in zip(d["gender"], d["tier"])]
    np.testing.assert_allclose(w.to_numpy(), expect, rtol=1e-12)


def test_rake_trimming_bounds_hold_with_margins(survey_data):
    d = survey_data
    margins = {"gender": {"F": 0.45, "M": 0.55}, "age": {"18-29": 0.3, "30-44": 0.3, "45+": 0.4}}
    free = rake(d, margins)
    trimmed = rake(d, margins, trim=(0.45, 3.0), max_iter=2000)
    rep = trimmed.attrs["rake"]
    mean_w = 1.0  # shares scaled to total = n (unweighted), so the mean weight is 1
    assert free.max() > 3.0 and free.min() < 0.45  # both bounds bind on this example
    assert trimmed.min() >= 0.45 - 1e-12 and trimmed.max() <= 3.0 + 1e-12
    assert rep.trim_bounds == pytest.approx((0.45 * mean_w, 3.0 * mean_w))
    assert rep.n_trimmed > 0 and rep.converged
    for col, tgt in margins.items():
        got = trimmed.groupby(d[col]).sum() / len(d)
        for k, v in tgt.items():
            assert abs(got[k] - v) / v <= 1e-8
    assert rep.design_effect < free.attrs["rake"].design_effect


def test_rake_infeasible_trim_raises(survey_data):
    margins = {"gender": {"F": 0.05, "M": 0.95}}  # needs M weights ~ 2.4 x mean
    with pytest.raises(ConvergenceError, match="trimming bounds"):
        rake(survey_data, margins, trim=1.5, max_iter=50)


def test_rake_bad_margins(survey_data):
    d = survey_data
    with pytest.raises(DataError, match="'M' occurs in the data"):
        rake(d, {"gender": {"F": 600}})
    with pytest.raises(DataError, match="'X' has a target of 5 but no respondent"):
        rake(d, {"gender": {"F": 300, "M": 295, "X": 5}})
    with pytest.raises(DataError, match="margin totals disagree"):
        rake(d, {"gender": {"F": 300, "M": 300}, "tier": {"t1": 100, "t2": 100, "t3": 101}})
    with pytest.raises(DataError, match="non-negative"):
        rake(d, {"gender": {"F": -1, "M": 300}})
    with pytest.raises(DataError, match="target of 0"):
        rake(d, {"gender": {"F": 0, "M": 300}})
    with pytest.raises(KeyError, match="margin column 'region' not found"):
        rake(d, {"region": {"a": 1}})
    with pytest.raises(ParameterError):
        rake(d, {"gender": {"F": 0.5, "M": 0.5}}, trim=(2, 5))


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_zero_negative_missing_weights_rejected(survey_data, bad):
    d = survey_data.copy()
    d.loc[7, "w"] = bad
    with pytest.raises(DataError, match="row 7"):
        rake(d, {"gender": {"F": 0.5, "M": 0.5}}, weights="w")
    with pytest.raises(DataError, match="weight column 'w'"):
        crosstab(d, "tier", "trained", weights="w")
    with pytest.raises(DataError, match="weight column 'w'"):
        proportions(d, "trained", weights="w")
    d["y"] = pd.Categorical(np.repeat(["a", "b", "c"], 200), ordered=True)
    with pytest.raises(DataError, match="weight column 'w'"):
        fit_ordered(d, "y ~ C(tier)", weights="w")


# ====================================================================== crosstab

def test_rao_scott_matches_svychisq_simple_weighted_design():
    # R: svychisq(~stype + awards, svydesign(id=~1, weights=~pw, data=apisrs))
    # chisq.csv row "srs_w": F = 8.73670415506363, ndf = 2, ddf = 398,
    # p = 0.0001934764159777; statistic = "Chisq": p = 0.000160582270961559,
    # X-squared (unadjusted, table rescaled to n) = 17.5612143820374
    d = _expand(APISRS_STYPE_AWARDS, ["stype", "awards"]).assign(pw=30.97)
    res = crosstab(d, "stype", "awards", weights="pw")
    t = res.tests.set_index("test")
    assert t.loc["rao-scott", "statistic"] == pytest.approx(8.73670415506363, rel=1e-12)
    assert t.loc["rao-scott", "df1"] == pytest.approx(2.0, rel=1e-12)
    assert t.loc["rao-scott", "df2"] == pytest.approx(398.0, rel=1e-12)
    assert t.loc["rao-scott", "p_value"] == pytest.approx(0.0001934764159777, rel=1e-10)
    assert t.loc["rao-scott-1", "p_value"] == pytest.approx(0.000160582270961559, rel=1e-10)
    assert t.loc["pearson", "statistic"] == pytest.approx(17.5612143820374, rel=1e-12)
    assert res.p_value == t.loc["rao-scott", "p_value"] and res.test == "rao-scott"


def test_rao_scott_matches_svychisq_cluster_design():
    # R: svychisq(~stype + awards, svydesign(id=~dnum, weights=~pw, data=apiclus1))
    # chisq.csv row "clus1_w": F = 4.92628761345023, ndf = 1.71200283432057,
    # ddf = 23.9680396804879, p = 0.0200399451888242; "Chisq": p = 0.00725338071380109,
    # X-squared = 12.3661500622019
    d = _expand(APICLUS1_DNUM_STYPE_AWARDS, ["dnum", "stype", "awards"]).assign(pw=33.847)
    res = crosstab(d, "stype", "awards", weights="pw", cluster="dnum", test="rao-scott-1")
    t = res.tests.set_index("test")
    assert t.loc["rao-scott", "statistic"] == pytest.approx(4.92628761345023, rel=1e-10)
    assert t.loc["rao-scott", "df1"] == pytest.approx(1.71200283432057, rel=1e-10)
    assert t.loc["rao-scott", "df2"] == pytest.approx(23.9680396804879, rel=1e-10)
    assert t.loc["rao-scott", "p_value"] == pytest.approx(0.0200399451888242, rel=1e-9)
    assert t.loc["rao-scott-1", "p_value"] == pytest.approx(0.00725338071380109, rel=1e-9)
    assert t.loc["pearson", "statistic"] == pytest.approx(12.3661500622019, rel=1e-12)
    assert res.n_psu == 15 and res.p_value == t.loc["rao-scott-1", "p_value"]


def _rao_scott_by_hand(r, c, w):
    """Second-order Rao–Scott F and first-order χ² from the published formulas.

    Rao & Scott (1984, Ann. Stat. 12:46-60); Lumley (2010, Complex Surveys §6.3): cell
    proportions p (row-major), their linearization covariance under a one-stage
    with-replacement design V = n/(n-1) sum_i u_i u_i', u_i = w_i (y_i - p) / sum w;
    interaction contrasts = interaction dummies with the main effects partialled out
    (least squares), Delta = (C'D^-1C/n)^-1 C'D^-1 V D^-1 C.
    """
    R, C = r.max() + 1, c.max() + 1
    n = len(r)
    Y = np.zeros((n, R * C))
    Y[np.arange(n), r * C + c] = 1.0
    p = (w[:, None] * Y).sum(0) / w.sum()
    U = w[:, None] * (Y - p) / w.sum()
    V = n / (n - 1) * U.T @ U
    cells = [(i, j) for i in range(R) for j in range(C)]
    X1 = np.array([[1.0] + [float(i == a) for a in range(1, R)]
                   + [float(j == b) for b in range(1, C)] for i, j in cells])
    X12 = np.array([[float(i == a and j == b) for a in range(1, R) for b in range(1, C)]
                    for i, j in cells])
    Cm = X12 - X1 @ np.linalg.lstsq(X1, X12, rcond=None)[0]
    Dinv = np.diag(1.0 / p)
    delta = np.linalg.solve(Cm.T @ Dinv @ Cm / n, Cm.T @ Dinv @ V @ Dinv @ Cm)
    P = p.reshape(R, C)
    E = np.outer(P.sum(1), P.sum(0))
    x2 = n * ((P - E) ** 2 / E).sum()
    tr, tr2 = np.trace(delta), np.trace(delta @ delta)
    d0 = tr**2 / tr2
    k = (R - 1) * (C - 1)
    return {"F": x2 / tr, "ndf": d0, "ddf": d0 * (n - 1),
            "p": stats.f.sf(x2 / tr, d0, d0 * (n - 1)),
            "chisq1": x2 / (tr / k), "p1": stats.chi2.sf(x2 / (tr / k), k)}


def test_rao_scott_unequal_weights_against_hand_computation(survey_data):
    d = survey_data
    res = crosstab(d, "tier", "age", weights="w")
    r = pd.factorize(d["tier"], sort=True)[0]
    c = pd.factorize(d["age"], sort=True)[0]
    ref = _rao_scott_by_hand(r, c, d["w"].to_numpy())
    t = res.tests.set_index("test")
    assert t.loc["rao-scott", "statistic"] == pytest.approx(ref["F"], rel=1e-10)
    assert t.loc["rao-scott", "df1"] == pytest.approx(ref["ndf"], rel=1e-10)
    assert t.loc["rao-scott", "df2"] == pytest.approx(ref["ddf"], rel=1e-10)
    assert t.loc["rao-scott", "p_value"] == pytest.approx(ref["p"], rel=1e-9)
    assert t.loc["rao-scott-1", "statistic"] == pytest.approx(ref["chisq1"], rel=1e-10)
    assert t.loc["rao-scott-1", "p_value"] == pytest.approx(ref["p1"], rel=1e-9)
    assert ref["ndf"] != pytest.approx(4.0, abs=1e-3)  # unequal weights: a real correction
    # rescaling the weights changes nothing
    res2 = crosstab(d.assign(w=d["w"] * 37.5), "tier", "age", weights="w")
    np.testing.assert_allclose(res2.tests["statistic"], res.tests["statistic"], rtol=1e-10)


def test_unweighted_pearson_equals_scipy_and_cramers_v(survey_data):
    d = survey_data
    res = crosstab(d, "tier", "age", weights="w")
    tab = pd.crosstab(d["tier"], d["age"]).to_numpy()
    chi2, p, dof, _ = stats.chi2_contingency(tab, correction=False)
    t = res.tests.set_index("test")
    assert t.loc["pearson", "statistic"] == pytest.approx(chi2, rel=1e-12)
    assert t.loc["pearson", "p_value"] == pytest.approx(p, rel=1e-12)
    assert t.loc["pearson", "df1"] == dof
    assert crosstab(d, "tier", "age", test="pearson").p_value == pytest.approx(p, rel=1e-12)
    # Cramér (1946): V = sqrt(X² / (n (min(r, c) - 1))); scipy.stats.contingency.association
    v = stats.contingency.association(tab, method="cramer")
    assert res.cramers_v == pytest.approx(v, rel=1e-12)
    np.testing.assert_array_equal(res.n_table.to_numpy(), tab)
    # weighted counts and percentages
    wt = d.pivot_table(index="tier", columns="age", values="w", aggfunc="sum")
    np.testing.assert_allclose(res.counts.to_numpy(), wt.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(res.row_pct.sum(axis=1), 100.0, rtol=1e-12)
    np.testing.assert_allclose(res.col_pct.sum(axis=0), 100.0, rtol=1e-12)
    assert "Crosstab of tier x age" in str(res)
    assert isinstance(res, CrosstabResult) and len(res.to_frame()) == 9


def test_linear_by_linear_agresti_infant_malformation():
    # Agresti (2007) Table 2.7: malformation (absent/present) by alcohol (drinks/day)
    absent = [17066, 14464, 788, 126, 37]
    present = [48, 38, 5, 1, 1]
    scores = [0.0, 0.5, 1.5, 4.0, 7.0]
    rows = []
    for s, a, p in zip(scores, absent, present):
        rows += [(s, 0)] * a + [(s, 1)] * p
    d = pd.DataFrame(rows, columns=["alcohol", "malformed"])
    t = crosstab(d, "alcohol", "malformed").tests.set_index("test")
    # Agresti (2007) §2.5, Table 2.7: scores (0, 0.5, 1.5, 4, 7): r = 0.0142, M² = 6.57,
    # P = 0.01 (published to the digits shown, hence the rounding tolerances)
    assert t.loc["linear-by-linear", "statistic"] == pytest.approx(6.57, abs=0.005)
    assert t.loc["linear-by-linear", "p_value"] == pytest.approx(0.01, abs=0.0005)
    # Agresti (2007) §2.5 on Table 2.7: Pearson X² = 12.1 (df = 4, P = 0.02)
    assert t.loc["pearson", "statistic"] == pytest.approx(12.1, abs=0.05)
    # exact: M² = (n - 1) r² with r from scipy.stats.pearsonr
    r = stats.pearsonr(d["alcohol"], d["malformed"]).statistic
    assert t.loc["linear-by-linear", "statistic"] == pytest.approx((len(d) - 1) * r**2, rel=1e-12)
    # equally spaced scores (1, ..., 5) of the ordered categories: M² = 1.83, P = 0.18
    # (Agresti 2007 §2.5, choice of scores)
    d["alc"] = pd.Categorical(d["alcohol"].map(dict(zip(scores, "ABCDE"))), ordered=True)
    t2 = crosstab(d, "alc", "malformed").tests.set_index("test")
    assert t2.loc["linear-by-linear", "statistic"] == pytest.approx(1.83, abs=0.005)
    assert t2.loc["linear-by-linear", "p_value"] == pytest.approx(0.18, abs=0.005)
    assert r == pytest.approx(0.0142, abs=5e-5)


def test_design_based_trend_equals_wls_sandwich(survey_data):
    import statsmodels.api as sm

    d = survey_data
    res = crosstab(d, "size", "trained", weights="w")
    t = res.tests.set_index("test")
    x = d["size"].cat.codes.to_numpy() + 1.0
    y = (d["trained"] == "yes").to_numpy(float)
    fit = sm.WLS(y, sm.add_constant(x), weights=d["w"]).fit(cov_type="HC0")
    n = len(d)
    # svyglm-style linearization = HC0 sandwich times n / (n - 1)
    wald = fit.params[1] ** 2 / (fit.cov_params()[1, 1] * n / (n - 1))
    assert t.loc["trend-design", "statistic"] == pytest.approx(wald, rel=1e-9)
    assert t.loc["trend-design", "p_value"] == pytest.approx(stats.f.sf(wald, 1, n - 1), rel=1e-9)
    assert t.loc["linear-by-linear", "p_value"] < 0.001  # the simulated trend is there
    # with clusters: cluster-robust sandwich, G / (G - 1), no (n-1)/(n-k) factor
    rc = crosstab(d, "size", "trained", weights="w", cluster="psu").tests.set_index("test")
    fc = sm.WLS(y, sm.add_constant(x), weights=d["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": d["psu"], "use_correction": False})
    G = d["psu"].nunique()
    wc = fc.params[1] ** 2 / (fc.cov_params()[1, 1] * G / (G - 1))
    assert rc.loc["trend-design", "statistic"] == pytest.approx(wc, rel=1e-9)


def test_unordered_row_has_no_trend_test(survey_data):
    res = crosstab(survey_data, "tier", "age")
    assert "linear-by-linear" not in set(res.tests["test"])


def test_empty_cells_warned_by_name():
    d = pd.DataFrame({"a": ["x", "x", "y", "y", "z", "z"], "b": ["p", "q", "p", "q", "p", "p"]})
    with pytest.warns(DtiStatWarning, match=r"1 empty cell\(s\) \('z', 'q'\)"):
        res = crosstab(d, "a", "b")
    assert np.isfinite(res.p_value)


def test_multi_select_columns_and_delimited_agree(survey_data):
    d = survey_data
    opts = ["use_ai", "use_chat", "use_docs", "use_meet"]
    a = crosstab(d, "tier", opts, weights="w")
    b = crosstab(d, "tier", "tools", weights="w", multi=";")
    assert a.multi and b.multi and b.options == ("ai", "chat", "docs", "meet")
    np.testing.assert_allclose(a.row_pct.to_numpy(), b.row_pct.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.tests["statistic"], b.tests["statistic"], rtol=1e-12)
    # each option is its own yes/no: percentages across options do not sum to 100
    assert (a.row_pct.sum(axis=1) > 100).all()
    # the share choosing 'chat' in tier t1 is a weighted mean of the 0/1 column
    t1 = d["tier"] == "t1"
    expect = 100 * np.average(d.loc[t1, "use_chat"], weights=d.loc[t1, "w"])
    assert a.row_pct.loc["t1", "use_chat"] == pytest.approx(expect, rel=1e-12)
    # the per-option test is the single-choice crosstab of that 0/1 column
    single = crosstab(d, "tier", "use_chat", weights="w").tests
    multi = a.tests[a.tests["option"] == "use_chat"]
    np.testing.assert_allclose(multi["statistic"].to_numpy(), single["statistic"].to_numpy(),
                               rtol=1e-12)
    assert "need not sum to 100" in str(a)


def test_multi_select_bad_values():
    d = pd.DataFrame({"g": ["a", "b", "a"], "o1": [0, 2, 1], "o2": [1, 0, 0]})
    with pytest.raises(DataError, match="option column 'o1' must hold 0/1"):
        crosstab(d, "g", ["o1", "o2"])


def test_missing_values_dropped_and_counted(survey_data):
    d = survey_data.copy()
    d.loc[[3, 5], "age"] = None
    res = crosstab(d, "tier", "age", weights="w")
    assert res.n == len(d) - 2 and res.n_dropped == 2


# =================================================================== proportions

def test_proportions_unweighted_equal_statsmodels(survey_data):
    from statsmodels.stats.proportion import proportion_confint

    d = survey_data
    for method, sm_method in [("wilson", "wilson"), ("korn-graubard", "beta")]:
        t = proportions(d, "trained", by="tier", ci=method)
        for _, row in t[t["category"] == "yes"].iterrows():
            g = d[d["tier"] == row["tier"]]
            k = int((g["trained"] == "yes").sum())
            lo, hi = proportion_confint(k, len(g), alpha=0.05, method=sm_method)
            assert row["proportion"] == pytest.approx(k / len(g), rel=1e-12)
            assert row["ci_low"] == pytest.approx(lo, rel=1e-10)
            assert row["ci_high"] == pytest.approx(hi, rel=1e-10)
            assert row["n_eff"] == pytest.approx(len(g), rel=1e-12)


def test_proportions_weighted_use_kish_effective_n(survey_data):
    from statsmodels.stats.proportion import proportion_confint

    d = survey_data
    t = proportions(d, "trained", by="size", weights="w", ci="wilson", level=0.9)
    kg = proportions(d, "trained", by="size", weights="w", ci="korn-graubard", level=0.9)
    lg = proportions(d, "trained", by="size", weights="w", ci="logit", level=0.9)
    for i, row in t[t["category"] == "yes"].iterrows():
        g = d[d["size"] == row["size"]]
        w = g["w"].to_numpy()
        p = np.average(g["trained"] == "yes", weights=w)
        neff = w.sum() ** 2 / (w**2).sum()
        assert row["proportion"] == pytest.approx(p, rel=1e-12)
        assert row["n_eff"] == pytest.approx(neff, rel=1e-12)
        assert row["std_error"] == pytest.approx(np.sqrt(p * (1 - p) / neff), rel=1e-12)
        lo, hi = proportion_confint(p * neff, neff, alpha=0.1, method="wilson")
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
        lo, hi = proportion_confint(p * neff, neff, alpha=0.1, method="beta")
        assert (kg.loc[i, "ci_low"], kg.loc[i, "ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
        # logit interval (Stata [R] proportion): expit(logit p -/+ z se / (p (1 - p)))
        z = stats.norm.ppf(0.95)
        se = np.sqrt(p * (1 - p) / neff)
        ref = stats.logistic.cdf(np.log(p / (1 - p)) + np.array([-1, 1]) * z * se / (p * (1 - p)))
        assert (lg.loc[i, "ci_low"], lg.loc[i, "ci_high"]) == pytest.approx(tuple(ref), rel=1e-10)


def test_proportions_multi_select_and_logit_degenerate_warns(survey_data):
    d = survey_data
    t = proportions(d, "tools", multi=";", weights="w")
    cols = proportions(d, ["use_ai", "use_chat", "use_docs", "use_meet"], weights="w")
    np.testing.assert_allclose(t["proportion"], cols["proportion"], rtol=1e-12)
    assert t["proportion"].sum() > 1.0  # options are not exclusive
    d2 = pd.DataFrame({"g": ["a", "a", "b", "b"], "v": ["x", "x", "x", "y"]})
    with pytest.warns(DtiStatWarning, match="logit interval undefined"):
        out = proportions(d2, "v", by="g", ci="logit")
    assert out["ci_low"].isna().sum() == 2


# ================================================================== fit_ordered

@pytest.fixture
def likert_data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 500
    d = pd.DataFrame({"age": rng.normal(40, 10, n), "tier": rng.choice(["t1", "t2", "t3"], n),
                      "female": rng.integers(0, 2, n), "fw": rng.integers(1, 4, n),
                      "w": rng.gamma(3.0, 1 / 3, n)})
    latent = 0.05 * d["age"] + 0.6 * (d["tier"] == "t2") - 0.4 * d["female"] + rng.logistic(size=n)
    d["worry"] = pd.Categorical(pd.cut(latent, [-np.inf, 1.2, 2.0, 2.8, np.inf],
                                       labels=["none", "some", "much", "very"]), ordered=True)
    return d


FORMULA = "worry ~ age + C(tier) + female"


@pytest.mark.parametrize("link", ["logit", "probit"])
def test_fit_ordered_unweighted_equals_orderedmodel(likert_data, link):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    res = fit_ordered(likert_data, FORMULA, link=link, cov="nonrobust")
    m = OrderedModel.from_formula(FORMULA, likert_data, distr=link)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = m.fit(method="bfgs", disp=0, maxiter=5000, gtol=1e-10)
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-6)
    # statsmodels' Hessian is a numerical second difference of the log-likelihood
    # (approx_hess), accurate to ~1e-6 relative; ours differentiates the analytic score
    np.testing.assert_allclose(np.sqrt(np.diag(res.cov)), ref.bse.to_numpy(), rtol=1e-5)
    assert res.loglike == pytest.approx(ref.llf, rel=1e-10)
    assert res.pseudo_r2 == pytest.approx(ref.prsquared, rel=1e-8)
    # cutpoints = statsmodels' transformed thresholds
    cuts = m.transform_threshold_params(ref.params.to_numpy())[1:-1]
    got = res.coefficients.set_index("term").filter(like="cut[", axis=0)["estimate"]
    np.testing.assert_allclose(got.to_numpy(), cuts, atol=1e-6)
    assert isinstance(res, OrderedResult) and res.converged


def test_fit_ordered_robust_equals_statsmodels_hc0(likert_data):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    res = fit_ordered(likert_data, FORMULA)
    m = OrderedModel.from_formula(FORMULA, likert_data, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = m.fit(method="bfgs", disp=0, maxiter=5000, gtol=1e-10, cov_type="HC0")
    n = len(likert_data)
    # ours = HC0 sandwich x n/(n-1) (Stata vce(robust)); statsmodels' numerical Hessian
    np.testing.assert_allclose(np.sqrt(np.diag(res.cov)), ref.bse.to_numpy() * np.sqrt(n / (n - 1)),
                               rtol=1e-5)


def test_fit_ordered_weighted_robust_equals_numdiff_sandwich(likert_data):
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    from statsmodels.tools.numdiff import approx_fprime, approx_hess

    d = likert_data
    res = fit_ordered(d, FORMULA, weights="w")
    m = OrderedModel.from_formula(FORMULA, d, distr="logit")
    w = d["w"].to_numpy()
    x = res.params.to_numpy()
    # the weighted score is zero at the estimate (statsmodels' log-likelihood, numdiff)
    s_obs = approx_fprime(x, m.loglikeobs, centered=True)
    assert np.max(np.abs(w @ s_obs)) < 1e-6
    # Binder (1983) sandwich from statsmodels' likelihood: H^-1 [n/(n-1) sum (w s)(w s)'] H^-1
    H = approx_hess(x, lambda p: w @ m.loglikeobs(p))
    Hi = np.linalg.inv(H)
    n = len(d)
    meat = n / (n - 1) * (s_obs * w[:, None]).T @ (s_obs * w[:, None])
    ref = Hi @ meat @ Hi
    # numerical second derivatives of statsmodels' loglike are good to ~1e-6 relative
    np.testing.assert_allclose(np.sqrt(np.diag(res.cov)), np.sqrt(np.diag(ref)), rtol=1e-5)


def test_fit_ordered_frequency_weights_equal_expanded_data(likert_data):
    d = likert_data
    e = d.loc[d.index.repeat(d["fw"])].reset_index(drop=True)
    rw = fit_ordered(d, FORMULA, weights="fw", cov="nonrobust")
    re = fit_ordered(e, FORMULA, cov="nonrobust")
    np.testing.assert_allclose(rw.params.to_numpy(), re.params.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(rw.cov.to_numpy(), re.cov.to_numpy(), rtol=1e-6)
    assert rw.loglike == pytest.approx(re.loglike, rel=1e-10)
    ame = rw.marginal_effects["estimate"].to_numpy()
    np.testing.assert_allclose(ame, re.marginal_effects["estimate"].to_numpy(), atol=1e-8)


def test_fit_ordered_marginal_effects_against_statsmodels_predict(likert_data):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    d = likert_data
    res = fit_ordered(d, FORMULA, weights="w")
    m = OrderedModel.from_formula(FORMULA, d, distr="logit")
    params = res.params.to_numpy()
    w = d["w"].to_numpy()
    me = res.marginal_effects.set_index(["term", "outcome"])["estimate"]
    cats = list(res.categories)

    import patsy

    xnames = list(m.exog_names[: m.exog.shape[1]])  # patsy's names (C(tier)[T.t2]); ours drop the 'T.'
    assert [c.replace("[T.", "[") for c in xnames] == list(res.params.index[: len(xnames)])

    def pred(frame):
        X = patsy.dmatrix(m.data.model_spec, frame, return_type="dataframe")[xnames]
        return np.asarray(m.predict(params, exog=X.to_numpy()))

    # continuous: derivative of the predicted probabilities, central difference
    h = 1e-5
    dp = (pred(d.assign(age=d["age"] + h)) - pred(d.assign(age=d["age"] - h))) / (2 * h)
    np.testing.assert_allclose([me[("age", c)] for c in cats], w @ dp / w.sum(), atol=1e-8)
    # factor: everyone at t2 minus everyone at the reference t1
    diff = pred(d.assign(tier="t2")) - pred(d.assign(tier="t1"))
    np.testing.assert_allclose([me[("C(tier)[t2]", c)] for c in cats], w @ diff / w.sum(),
                               atol=1e-12)
    # 0/1 regressor: discrete change
    diff = pred(d.assign(female=1)) - pred(d.assign(female=0))
    np.testing.assert_allclose([me[("female", c)] for c in cats], w @ diff / w.sum(), atol=1e-12)
    # effects on category probabilities sum to zero; the signs follow the latent model
    sums = res.marginal_effects.groupby("term")["estimate"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 0.0, atol=1e-12)
    assert me[("age", "very")] > 0 > me[("age", "none")]
    assert (res.marginal_effects["std_error"] > 0).all()
    # odds ratios
    orr = res.odds_ratios.set_index("term")
    assert orr.loc["age", "odds_ratio"] == pytest.approx(np.exp(res.params["age"]), rel=1e-12)
    assert "Average marginal effects" in str(res) and len(res.to_frame()) > len(res.tidy())


def test_fit_ordered_bad_likert(likert_data):
    d = likert_data.copy()
    d["unordered"] = pd.Categorical(d["worry"].astype(str))
    with pytest.raises(DataError, match="unordered Categorical"):
        fit_ordered(d, "unordered ~ age")
    d["text"] = d["worry"].astype(str)
    with pytest.raises(DataError, match="no order"):
        fit_ordered(d, "text ~ age")
    with pytest.raises(ParameterError, match="link="):
        fit_ordered(d, FORMULA, link="cloglog")
    with pytest.raises(ParameterError):
        proportions(d, "worry", ci="exact")
    with pytest.raises(ParameterError):
        crosstab(d, "tier", "worry", test="g-test")


def test_fit_ordered_missing_policy(likert_data):
    """No silent drop: missing values raise unless missing="drop", which counts them."""
    d = likert_data.copy()
    d.loc[[1, 2, 3], "age"] = np.nan
    with pytest.raises(DataError, match="'age'.*missing"):
        fit_ordered(d, FORMULA, weights="w")
    res = fit_ordered(d, FORMULA, weights="w", missing="drop")
    assert res.nobs == len(d) - 3 and res.n_dropped == 3
    assert "3 row(s) with missing values" in str(res.summary())
    with pytest.warns(FutureWarning, match="weights="):
        old = fit_ordered(d, FORMULA, weight="w", missing="drop")
    pd.testing.assert_frame_equal(old.coefficients, res.coefficients)


# ============================================================ inputs untouched

def test_inputs_are_never_modified(survey_data, likert_data):
    d = survey_data
    before = d.copy(deep=True)
    rake(d, {"gender": {"F": 0.5, "M": 0.5}, "age": {"18-29": 0.3, "30-44": 0.3, "45+": 0.4}},
         weights="w")
    crosstab(d, "size", "trained", weights="w", cluster="psu")
    crosstab(d, "tier", "tools", weights="w", multi=";")
    crosstab(d, "tier", ["use_ai", "use_chat"], weights="w")
    proportions(d, "tools", by=["tier", "gender"], multi=";", weights="w", ci="korn-graubard")
    pd.testing.assert_frame_equal(d, before)
    lb = likert_data.copy(deep=True)
    fit_ordered(likert_data, FORMULA, weights="w", cluster="tier")
    pd.testing.assert_frame_equal(likert_data, lb)
