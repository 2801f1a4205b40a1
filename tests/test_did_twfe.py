"""TWFE DiD, event study, Goodman-Bacon decomposition and Sun-Abraham against peers.

* ``castle`` (Cheng and Hoekstra 2013, castle-doctrine laws; 50 states x 2000-2010) from
  the ``causaldata`` package 0.1: its ``post`` dummy starts one year later than the copy
  in R ``bacondecomp``; shifting the first treated year back one year reproduces the
  ``bacondecomp`` vignette (TWFE 0.0818), so that is the coding used here.
* ``mpdta`` from ``moderndid`` 0.2 (as R ``did::mpdta``); regressions checked against
  ``pyfixest`` ``feols`` and its saturated event study (``pf.event_study(...,
  estimator="saturated")``, the Sun-Abraham cohort x relative-period regression).
"""

import importlib.util
import os
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from dtistat.did import bacon_decomposition, first_treated, fit_did
from dtistat.errors import ParameterError

KW = {"y": "lemp", "treat_time": "first.treat", "entity": "countyreal", "time": "year"}


@pytest.fixture(scope="module")
def mpdta():
    root = importlib.util.find_spec("moderndid").submodule_search_locations[0]
    return pd.read_pickle(os.path.join(root, "core", "datasets", "mpdta_long.pkl.gz"))


@pytest.fixture(scope="module")
def castle():
    import causaldata
    c = causaldata.castle.load_pandas().data[["sid", "year", "l_homicide", "post"]].copy()
    c["g"] = first_treated(c, treat="post", entity="sid", time="year")
    c.loc[c["g"] > 0, "g"] -= 1  # bacondecomp's coding (see module docstring)
    return c


def _pf_factor(n, k, T):
    """Ratio of the variance factors, dtistat "stata" / pyfixest CRV1 default.

    Both are G/(G-1) (N-1)/(N-K); pyfixest (ssc defaults, k_fixef="nonnested") counts
    the k slopes, the T-1 period effects and the intercept (not the entity effects,
    nested in the entity clusters): K = k + T; Stata's ``xtreg, fe`` convention counts
    the slopes and the intercept: K = k + 1.
    """
    return (n - k - T) / (n - k - 1)


def _pf(formula, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov={"CRV1": "countyreal"})


def test_bacon_matches_bacondecomp_vignette(castle):
    b = bacon_decomposition(castle, y="l_homicide", treat_time="g", entity="sid", time="year")
    # bacondecomp vignette (R bacondecomp 0.1.1, bacon(l_homicide ~ post, castle)):
    assert round(b.twfe, 4) == 0.0818
    ref = {"Earlier vs Later Treated": (0.05976, -0.00554),
           "Later vs Earlier Treated": (0.03190, 0.07032),
           "Treated vs Untreated": (0.90834, 0.08796)}
    for typ, (w, est) in ref.items():
        assert b.by_type.loc[typ, "weight"] == pytest.approx(w, abs=0.5e-5)
        assert b.by_type.loc[typ, "estimate"] == pytest.approx(est, abs=0.5e-5)
    # Theorem 1: the weighted 2x2s add up to the TWFE regression coefficient
    tw = fit_did(castle, y="l_homicide", treat_time="g", entity="sid", time="year",
                 estimator="twfe")
    assert tw.att == pytest.approx(b.twfe, abs=1e-12)
    assert b.two_by_two["weight"].sum() == pytest.approx(1.0, abs=1e-14)


def test_twfe_matches_pyfixest(mpdta):
    res = fit_did(mpdta, **KW, estimator="twfe")
    d = mpdta.assign(D=((mpdta["first.treat"] > 0)
                        & (mpdta["year"] >= mpdta["first.treat"])).astype(float))
    ref = _pf("lemp ~ D | countyreal + year", d)
    assert res.att == pytest.approx(float(ref.coef().iloc[0]), abs=1e-12)
    f = _pf_factor(2500, 1, 5)
    assert res.std_errors.iloc[0] / np.sqrt(f) == pytest.approx(float(ref.se().iloc[0]),
                                                                rel=1e-8)


def test_event_study_matches_pyfixest_and_bins(mpdta):
    es = fit_did(mpdta, **KW, estimator="event")
    rel = np.where(mpdta["first.treat"] > 0, mpdta["year"] - mpdta["first.treat"], -1000.0)
    ref = _pf("lemp ~ i(rel, ref=-1.0) | countyreal + year", mpdta.assign(rel=rel))
    np.testing.assert_allclose(es.params.to_numpy(), ref.coef().to_numpy(), atol=1e-12)
    f = _pf_factor(2500, 7, 5)
    np.testing.assert_allclose(es.std_errors.to_numpy() / np.sqrt(f), ref.se().to_numpy(),
                               rtol=1e-8)
    assert es.event_study().set_index("event_time").loc[-1.0, "estimate"] == 0.0
    # binned endpoints: event times <= -2 share one dummy, >= 2 another
    eb = fit_did(mpdta, **KW, estimator="event", leads=2, lags=2)
    binned = np.where(rel == -1000.0, -1000.0, np.clip(rel, -2, 2))
    ref = _pf("lemp ~ i(rel, ref=-1.0) | countyreal + year", mpdta.assign(rel=binned))
    np.testing.assert_allclose(eb.params.to_numpy(), ref.coef().to_numpy(), atol=1e-12)
    assert eb.binned == (-2.0, 2.0) and "binned" in str(eb.summary())


def test_parallel_trends_test_is_the_joint_wald_of_the_leads(mpdta):
    es = fit_did(mpdta, **KW, estimator="event")
    w = es.pretrend_test()
    b = es.params.to_numpy()[:3]
    V = es.cov.to_numpy()[:3, :3]
    assert w.statistic == pytest.approx(b @ np.linalg.solve(V, b) / 3, rel=1e-12)
    assert w.df == (3, 499.0) and w.distribution == "F"


def test_sun_abraham_matches_pyfixest_saturated(mpdta):
    sa = fit_did(mpdta, **KW, estimator="sa")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.event_study(data=mpdta, yname="lemp", idname="countyreal", tname="year",
                             gname="first.treat", estimator="saturated")
        agg = fit.aggregate()
    f = np.sqrt(_pf_factor(2500, 12, 5))
    # cohort x relative-period coefficients (pyfixest orders by relative period, cohort)
    ce = sa.cohort_effects.sort_values(["event_time", "cohort"])
    np.testing.assert_allclose(ce["estimate"], fit.coef().to_numpy(), atol=1e-12)
    np.testing.assert_allclose(ce["std_error"] / f, fit.se().to_numpy(), rtol=1e-8)
    # interaction-weighted event-time estimates (cohort-share weights, W V W')
    np.testing.assert_allclose(sa.params.to_numpy(), agg["Estimate"].astype(float),
                               atol=1e-12)
    np.testing.assert_allclose(sa.std_errors.to_numpy() / f,
                               agg["Std. Error"].astype(float), rtol=1e-8)
    assert sa.event_times.tolist() == agg.index.astype(float).tolist()


def test_sun_abraham_without_never_treated_uses_last_cohort(mpdta):
    d = mpdta[mpdta["first.treat"] > 0]
    sa = fit_did(d, **KW, estimator="sa")
    assert set(sa.cohort_effects["cohort"]) == {2004, 2006}
    assert sa.nobs == (d["year"] < 2007).sum()


def test_event_window_errors(mpdta):
    with pytest.raises(ParameterError, match="reference=-5 lies outside"):
        fit_did(mpdta, **KW, estimator="event", leads=2, lags=2, reference=-5)
    with pytest.raises(ParameterError, match="leads"):
        fit_did(mpdta, **KW, estimator="event", leads=-1)


def test_biennial_panel_with_string_ids():
    # gaps in the time axis: event times are even, the reference must be observed
    rng = np.random.default_rng(0)
    n, years = 60, np.arange(2010, 2022, 2)
    g = rng.choice([2014, 2018, 0], n)
    df = pd.DataFrame({"city": np.repeat([f"c{i:02d}" for i in range(n)], len(years)),
                       "year": np.tile(years, n), "g": np.repeat(g, len(years))})
    df["y"] = rng.normal(size=len(df)) * 0.1 + ((df.g > 0) & (df.year >= df.g))
    kw = {"y": "y", "treat_time": "g", "entity": "city", "time": "year"}
    with pytest.raises(ParameterError, match="reference=-1 is not an observed"):
        fit_did(df, **kw, estimator="event")
    with pytest.raises(ParameterError, match="reference=-1 is not an observed"):
        fit_did(df, **kw, estimator="sa")
    es = fit_did(df, **kw, estimator="event", reference=-2)
    assert es.event_times.tolist() == [-8, -6, -4, 0, 2, 4, 6]
    rel = np.where(df["g"] > 0, df["year"] - df["g"], -1000.0)
    ref = _pf("y ~ i(rel, ref=-2.0) | city + year", df.assign(rel=rel, countyreal=df["city"]))
    np.testing.assert_allclose(es.params.to_numpy(), ref.coef().to_numpy(), atol=1e-12)
    cs = fit_did(df, **kw, n_boot=0).aggregate("dynamic")
    assert cs.keys.tolist() == [-6, -4, -2, 0, 2, 4, 6]
