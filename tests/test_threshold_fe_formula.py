"""Panel threshold regression with time effects (``fe="twoway"``) against explicit period
dummies, fit_panel and linearmodels; formula terms (L(), C(), interactions, log())
against precomputed columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS

from dtistat import EstimationError, ParameterError, fit_panel
from dtistat.threshold import fit_threshold
from dtistat.threshold._core import Panel, ssr_path


def _panel(n=40, T=6, seed=0):
    """Balanced panel, a threshold in the slope of z at q = 0.4 and strong period
    effects (so leaving them out would move the estimates)."""
    rng = np.random.default_rng(seed)
    N = n * T
    df = pd.DataFrame({"id": np.repeat(np.arange(n), T) + 10,
                       "t": np.tile(np.arange(2001, 2001 + T), n)})
    df["x1"] = rng.normal(size=N) + 0.2 * (df["t"] - 2001)
    df["x2"] = rng.lognormal(size=N)
    df["q"] = np.round(rng.uniform(size=N), 3)
    df["z0"] = rng.normal(size=N)
    df["z1"] = rng.normal(size=N)
    df["g"] = np.where(df["id"] % 3 == 0, "a", np.where(df["id"] % 3 == 1, "b", "c"))
    slope = np.where(df["q"] <= 0.4, 1.0, -0.5)
    df["y"] = (0.5 * df.x1 + 0.3 * np.log(df.x2) + slope * df.z0 + 0.2 * df.z1
               + np.repeat(rng.normal(size=n), T) + np.tile(rng.normal(0, 2, T), n)
               + rng.normal(scale=0.7, size=N))
    return df


def _brute_ssr(y, X, Z, q, n, T, fixed, gammas):
    """One least-squares fit per candidate with entity AND period dummies written out
    (no demeaning at all); also returns each design's rank deficiency."""
    ent = np.kron(np.eye(n), np.ones((T, 1)))
    per = np.tile(np.eye(T)[:, 1:], (n, 1))
    out, defic = [], []
    for g in gammas:
        D = np.concatenate([X, Z, *[Z * (q <= f)[:, None] for f in fixed],
                            Z * (q <= g)[:, None], ent, per], axis=1)
        b, _, rank, _ = np.linalg.lstsq(D, y, rcond=None)
        e = y - D @ b
        out.append(e @ e)
        defic.append(D.shape[1] - rank)
    return np.array(out), np.array(defic)


@pytest.fixture(scope="module")
def df():
    return _panel()


# --------------------------------------------------------------------------- time effects
@pytest.mark.parametrize("fixed", [(), (0.4,), (0.2, 0.7)])
def test_twoway_ssr_path_equals_period_dummies(df, fixed):
    """SSR(γ) at every distinct value of q equals least squares with explicit entity and
    period dummies; the points the fast path refuses are exactly the rank-deficient ones."""
    d = df.sort_values(["id", "t"])
    n, T = d["id"].nunique(), d["t"].nunique()
    y, q = d["y"].to_numpy(), d["q"].to_numpy()
    X, Z = d[["x1", "x2"]].to_numpy(), d[["z0", "z1"]].to_numpy()
    panel = Panel(y, X, Z, q, n, T, twoway=True)
    gam = np.unique(q)
    ssr, _ = ssr_path(panel, panel.yw[:, None], fixed, panel.cuts(gam))
    ref, defic = _brute_ssr(y, X, Z, q, n, T, fixed, gam)
    ok = np.isfinite(ssr[:, 0])
    np.testing.assert_array_equal(ok, defic == 0)
    assert ok.sum() > 0.9 * len(gam)
    np.testing.assert_allclose(ssr[ok, 0], ref[ok], rtol=1e-10)
    # and time effects matter here: the entity-only path is a different one
    entity_only = Panel(y, X, Z, q, n, T)
    one, _ = ssr_path(entity_only, entity_only.yw[:, None], fixed, panel.cuts(gam))
    assert np.nanmin(np.abs(one[ok, 0] - ref[ok]) / ref[ok]) > 1e-3


def _dummies(df):
    return df.assign(**{f"p{t}": (df["t"] == t).astype(float)
                        for t in sorted(df["t"].unique())[1:]})


def test_twoway_fit_equals_period_dummies_as_controls(df):
    """The whole fit -- thresholds, intervals, LR curves, F statistics, bootstrap draws,
    slopes and their unadjusted/clustered covariance -- equals fe="entity" with the
    period dummies among the controls (what a Stata user adds to xthreg)."""
    kw = dict(threshold_var="q", regime_vars=["z0", "z1"], entity="id", time="t",
              n_thresholds=2, trim=0.05, grid=50, n_boot=(30, 20), seed=3)
    pd_cols = [f"p{t}" for t in sorted(df["t"].unique())[1:]]
    for cov, ss in (("unadjusted", "stata"), ("cluster", "none"), ("robust", "none")):
        a = fit_threshold(df, "y ~ x1 + x2", fe="twoway", cov=cov, small_sample=ss, **kw)
        b = fit_threshold(_dummies(df), "y ~ x1 + x2 + " + " + ".join(pd_cols),
                          cov=cov, small_sample=ss, **kw)
        assert a.estimates == b.estimates and a.fe == "twoway"
        cols = ["estimate", "ci_low", "ci_high"]
        pd.testing.assert_frame_equal(a.thresholds[cols], b.thresholds[cols])
        np.testing.assert_allclose(a.thresholds["ssr"], b.thresholds["ssr"], rtol=1e-10)
        for key in a.lr_curves:
            np.testing.assert_allclose(a.lr_curves[key].to_numpy(),
                                       b.lr_curves[key].to_numpy(), rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(a.tests[["ssr", "mse", "F"]], b.tests[["ssr", "mse", "F"]],
                                   rtol=1e-9)
        for test in a.boot_F:
            np.testing.assert_allclose(a.boot_F[test], b.boot_F[test], rtol=1e-7)
        names = a.params.index
        np.testing.assert_allclose(a.params, b.params[names], rtol=1e-9)
        np.testing.assert_allclose(a.std_errors, b.std_errors[names], rtol=1e-8)
    again = fit_threshold(df, "y ~ x1 + x2", fe="twoway", cov=cov, small_sample=ss,
                          n_jobs=2, **kw)  # same seed: same draws whatever n_jobs
    for test in a.boot_F:
        np.testing.assert_array_equal(a.boot_F[test], again.boot_F[test])
    text = a.summary().as_text()
    assert "Fixed effects" in text and "twoway" in text


def test_twoway_coefficients_equal_fit_panel_and_linearmodels(df):
    """At the estimated thresholds the slopes and clustered standard errors equal
    fit_panel(fe="twoway") (same small-sample convention) and linearmodels PanelOLS with
    entity and time effects."""
    res = fit_threshold(df, "y ~ x1 + x2", threshold_var="q", regime_vars="z0",
                        entity="id", time="t", fe="twoway", grid=40, n_boot=0)
    g = res.estimates[0]
    d = df.assign(lo=df.z0 * (df.q <= g), hi=df.z0 * (df.q > g))
    fp = fit_panel(d, "y ~ x1 + x2 + lo + hi", entity="id", time="t", fe="twoway",
                   cov="cluster")
    np.testing.assert_allclose(res.params.to_numpy(), fp.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res.std_errors.to_numpy(), fp.std_errors.to_numpy(),
                               rtol=1e-8)
    p = d.set_index(["id", "t"])
    lm = PanelOLS(p.y, p[["x1", "x2", "lo", "hi"]], entity_effects=True,
                  time_effects=True).fit(cov_type="unadjusted")
    un = fit_threshold(df, "y ~ x1 + x2", threshold_var="q", regime_vars="z0",
                       entity="id", time="t", fe="twoway", grid=40, n_boot=0,
                       cov="unadjusted")
    np.testing.assert_allclose(un.params.to_numpy(), lm.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(un.std_errors.to_numpy(), lm.std_errors.to_numpy(),
                               rtol=1e-8)


def test_twoway_bad_input(df):
    kw = dict(threshold_var="q", regime_vars="z0", entity="id", time="t", grid=30,
              n_boot=0)
    before = df.copy()
    with pytest.raises(ParameterError, match="fe"):
        fit_threshold(df, "y ~ x1", fe="time", **kw)
    with pytest.raises(ParameterError, match="transform='within'"):
        fit_threshold(df, "y ~ x1", fe="twoway", transform="hansen", **kw)
    trend = df.assign(trend=(df["t"] - 2000).astype(float))  # absorbed by period effects
    with pytest.raises(EstimationError, match="absorbed by the entity and time"):
        fit_threshold(trend, "y ~ x1 + trend", fe="twoway", **kw)
    fit_threshold(trend, "y ~ x1 + trend", **kw)  # not absorbed by entity effects alone
    pd.testing.assert_frame_equal(df, before)


# --------------------------------------------------------------------------- formulas
def test_formula_terms_equal_precomputed_columns(df):
    """log(), C() dummies, an interaction and a lag in the controls give the model fitted
    on the same columns computed by hand (lags: pandas groupby().shift(), first period
    dropped)."""
    kw = dict(threshold_var="q", regime_vars="z0", entity="id", time="t", grid=40,
              n_boot=(25,), seed=2)
    a = fit_threshold(df, "y ~ log(x2) + x1:z1 + L(x1) + C(t)", **kw)
    d = df.sort_values(["id", "t"]).copy()
    d["lx2"], d["x1z1"] = np.log(d["x2"]), d["x1"] * d["z1"]
    d["lag"] = d.groupby("id")["x1"].shift(1)
    d = d.dropna(subset=["lag"])
    years = sorted(d["t"].unique())
    for t in years[1:]:
        d[f"y{t}"] = (d["t"] == t).astype(float)
    # columns in the formula engine's order: main effects, then interactions
    b = fit_threshold(d, "y ~ lx2 + lag + " + " + ".join(f"y{t}" for t in years[1:])
                      + " + x1z1", **kw)
    assert a.nobs == b.nobs == 40 * 5 and a.n_periods == 5
    assert a.estimates == b.estimates
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(a.std_errors.to_numpy(), b.std_errors.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(a.tests["F"], b.tests["F"], rtol=1e-9)
    np.testing.assert_allclose(a.boot_F["Single"], b.boot_F["Single"], rtol=1e-7)
    assert list(a.params.index[:-2]) == ["log(x2)", "L(x1)", *(f"C(t)[{t}]" for t in
                                                               years[1:]), "x1:z1"]
    # x*z expands to x + z + x:z, as in fit_panel
    c = fit_threshold(df, "y ~ x1*z1", **kw)
    assert list(c.params.index[:3]) == ["x1", "z1", "x1:z1"]


def test_formula_lag_reproduces_hansen_1999():
    """Hansen's (1999) regressors written as lags in the formula (his data, one-year lags
    of Tobin's q, its square and cube, debt and q x debt): the published thresholds
    0.0157 and 0.5362 and the model fitted on precomputed lags."""
    from pathlib import Path

    raw = pd.read_csv(Path(__file__).parent / "data" / "hansen1999_invest.csv.gz")
    g = raw.groupby("firm")
    raw["d1"], raw["c1"] = g["d"].shift(1), g["c"].shift(1)  # q and z: plain columns
    f = "i ~ L(q) + I(L(q)**2) + I(L(q)**3) + L(d) + L(q):L(d)"
    kw = dict(threshold_var="d1", regime_vars="c1", entity="firm", time="year",
              n_thresholds=2, grid="hansen", n_boot=0, transform="hansen")
    a = fit_threshold(raw, f, **kw)
    assert round(a.thresholds.loc["Th-1", "estimate"], 4) == 0.0157
    assert round(a.thresholds.loc["Th-22", "estimate"], 4) == 0.5362
    pre = raw.assign(q1=g["q"].shift(1)).dropna().copy()
    pre["q2"], pre["q3"], pre["qd1"] = pre.q1 ** 2, pre.q1 ** 3, pre.q1 * pre.d1
    b = fit_threshold(pre.rename(columns={"d1": "dd"}).assign(d1=pre["d1"]),
                      "i ~ q1 + q2 + q3 + dd + qd1", **kw)
    np.testing.assert_allclose(a.thresholds["ssr"], b.thresholds["ssr"], rtol=1e-10)
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-8)


def test_formula_lag_is_calendar_aware(df):
    """A period missing for every firm: L() drops the first period and the one after the
    gap (its previous year is absent), leaving a balanced panel; equals the lag merged
    on (id, t - 1) by hand."""
    gap = df[df["t"] != 2003]
    kw = dict(threshold_var="q", regime_vars="z0", entity="id", time="t", grid=30,
              n_boot=0)
    a = fit_threshold(gap, "y ~ L(x1) + x2", **kw)
    prev = gap[["id", "t", "x1"]].assign(t=gap["t"] + 1).rename(columns={"x1": "lag"})
    b = fit_threshold(gap.merge(prev, on=["id", "t"]), "y ~ lag + x2", **kw)
    assert a.n_periods == b.n_periods == 3 and a.nobs == 40 * 3
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(a.tests["F"], b.tests["F"], rtol=1e-9)
