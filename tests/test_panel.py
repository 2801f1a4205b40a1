"""Tests of dtistat.panel: textbook references, equality with linearmodels, bad input."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels import (
    BetweenOLS,
    FirstDifferenceOLS,
    PanelOLS,
    PooledOLS,
    RandomEffects,
)
from scipy import stats

from dtistat.errors import (
    DataError,
    DtiStatError,
    DtiStatWarning,
    EstimationError,
    ParameterError,
    PeriodError,
    SpecError,
)
from dtistat.panel import HausmanResult, PanelResult, fit_panel, hausman


# --------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def grunfeld() -> pd.DataFrame:
    # statsmodels ships 11 firms; Baltagi and R plm use 10 (no "American Steel").
    d = sm.datasets.grunfeld.load_pandas().data
    return d[d.firm != "American Steel"].reset_index(drop=True)


@pytest.fixture(scope="module")
def wage() -> pd.DataFrame:
    from linearmodels.datasets import wage_panel

    return wage_panel.load()


GF = "invest ~ value + capital"
GKW = dict(entity="firm", time="year")


def simulate_unbalanced(seed: int = 7, n_ent: int = 60, n_per: int = 12) -> pd.DataFrame:
    """Simulated unbalanced panel (not real data): y = x'b + a_i + g_t + e.

    Entities have string ids; about 25% of entity x period cells are missing at random
    (gaps included), every entity keeps at least 3 periods (no singletons); x1 is
    correlated with the entity effect, errors are heteroskedastic and serially
    correlated within entity.
    """
    rng = np.random.default_rng(seed)
    ent = np.repeat([f"city{i:03d}" for i in range(n_ent)], n_per)
    per = np.tile(np.arange(2000, 2000 + n_per), n_ent)
    a = np.repeat(rng.normal(size=n_ent), n_per)
    g = np.tile(rng.normal(size=n_per), n_ent)
    x1 = 0.7 * a + rng.normal(size=n_ent * n_per)
    x2 = rng.normal(size=n_ent * n_per) + 0.3 * g
    x3 = rng.gamma(2.0, size=n_ent * n_per)
    e = rng.normal(size=n_ent * n_per) * (0.5 + np.abs(x2))
    e = e + 0.5 * np.roll(e, 1)
    y = 1.0 + 0.5 * x1 - 0.3 * x2 + 0.2 * x3 + a + g + e
    df = pd.DataFrame({"city": ent, "year": per, "y": y, "x1": x1, "x2": x2, "x3": x3,
                       "region": np.repeat(rng.integers(0, 35, n_ent), n_per),
                       "w": rng.uniform(0.5, 2.0, n_ent * n_per)})
    keep = rng.random(len(df)) > 0.25
    df = df[keep]
    df = df[df.groupby("city")["y"].transform("size") >= 3]
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)  # rows unordered


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return simulate_unbalanced()


def fit(data, formula, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtiStatWarning)  # few time clusters in tests
        return fit_panel(data, formula, **kw)


# --------------------------------------------------------------------------- Grunfeld
def test_grunfeld_within(grunfeld):
    r = fit(grunfeld, GF, **GKW, cov="unadjusted")
    # Baltagi (2013) Table 2.1 / docs/references.md: within 0.110124 (0.011857), 0.310065 (0.017355)
    assert r.params["value"] == pytest.approx(0.110124, abs=5e-7)
    assert r.params["capital"] == pytest.approx(0.310065, abs=5e-7)
    assert r.std_errors["value"] == pytest.approx(0.011857, abs=5e-7)
    assert r.std_errors["capital"] == pytest.approx(0.017355, abs=5e-7)
    assert r.r2_within == pytest.approx(0.7668, abs=5e-5)  # docs/references.md: within R2 0.7668
    assert (r.nobs, r.n_entities, r.n_periods) == (200, 10, 20)
    # poolability F(9, 188) = 49.1766: linearmodels PanelOLS f_pooled on the same data
    assert r.f_effects.df_num == 9 and r.f_effects.df_denom == 188
    assert r.f_effects.statistic == pytest.approx(49.1766, abs=5e-5)


def test_grunfeld_random(grunfeld):
    r = fit(grunfeld, GF, **GKW, model="random", cov="unadjusted")
    # Baltagi (2013) Table 2.1 / docs/references.md (Swamy-Arora)
    assert r.params["value"] == pytest.approx(0.109781, abs=5e-7)
    assert r.params["capital"] == pytest.approx(0.308113, abs=5e-7)
    assert r.params["const"] == pytest.approx(-57.834415, abs=5e-7)
    assert r.std_errors["value"] == pytest.approx(0.010493, abs=5e-7)
    assert r.std_errors["capital"] == pytest.approx(0.017180, abs=5e-7)
    assert r.std_errors["const"] == pytest.approx(28.898935, abs=5e-7)
    assert r.theta.to_numpy() == pytest.approx(np.full(10, 0.861224), abs=5e-7)  # θ 0.861224
    assert r.sigma2_u == pytest.approx(7089.80, abs=5e-3)  # σ²_u 7089.80
    assert r.sigma2_e == pytest.approx(2784.46, abs=5e-3)  # σ²_e 2784.46


def test_grunfeld_twoway_between_pooled_fd(grunfeld):
    # docs/references.md (Baltagi 2013, Tables 2.1 and 3.1; plm): two-way within
    r = fit(grunfeld, GF, **GKW, fe="twoway", cov="unadjusted")
    assert r.params.to_numpy() == pytest.approx([0.117716, 0.357916], abs=5e-7)
    assert r.std_errors.to_numpy() == pytest.approx([0.013751, 0.022719], abs=5e-7)
    # between: 0.134646 (0.028745), 0.032031 (0.190938), const -8.527114
    r = fit(grunfeld, GF, **GKW, model="between", cov="unadjusted")
    assert r.params[["value", "capital"]].to_numpy() == pytest.approx([0.134646, 0.032031], abs=5e-7)
    assert r.std_errors[["value", "capital"]].to_numpy() == pytest.approx([0.028745, 0.190938], abs=5e-7)
    assert r.params["const"] == pytest.approx(-8.527114, abs=5e-7)
    assert r.nobs == 10
    # pooled OLS: 0.115562 (0.005836), 0.230678 (0.025476), const -42.714369
    r = fit(grunfeld, GF, **GKW, model="pooled", cov="unadjusted")
    assert r.params[["value", "capital"]].to_numpy() == pytest.approx([0.115562, 0.230678], abs=5e-7)
    assert r.std_errors[["value", "capital"]].to_numpy() == pytest.approx([0.005836, 0.025476], abs=5e-7)
    assert r.params["const"] == pytest.approx(-42.714369, abs=5e-7)
    # first difference: 0.089063 (0.008234), 0.278694 (0.047156)
    r = fit(grunfeld, GF, **GKW, model="fd", cov="unadjusted")
    assert r.params.to_numpy() == pytest.approx([0.089063, 0.278694], abs=5e-7)
    assert r.std_errors.to_numpy() == pytest.approx([0.008234, 0.047156], abs=5e-7)
    assert r.nobs == 190 and r.n_dropped_lags == 10


def test_grunfeld_hausman(grunfeld):
    fe = fit(grunfeld, GF, **GKW, cov="unadjusted")
    re_ = fit(grunfeld, GF, **GKW, model="random", cov="unadjusted")
    h = hausman(fe, re_)
    # docs/references.md: chi2(2) = 2.3304, p = 0.3119 (Baltagi 2013 §4.3.1 reports 2.33)
    assert isinstance(h, HausmanResult)
    assert h.statistic == pytest.approx(2.3304, abs=5e-5)
    assert h.p_value == pytest.approx(0.3119, abs=5e-5)
    assert h.df == 2
    s = h.to_frame()
    assert list(s.columns) == ["test", "statistic", "df", "distribution", "p_value", "null"]
    assert "chi2(2)" in str(h)
    # clustered covariances: a warning that the classic test wants unadjusted ones, and
    # here V_fe - V_re is not positive definite (pseudo-inverse, df = its rank)
    with pytest.warns(DtiStatWarning) as rec:
        h2 = hausman(fit(grunfeld, GF, **GKW), fit(grunfeld, GF, **GKW, model="random"))
    msgs = " ".join(str(w.message) for w in rec)
    assert "unadjusted" in msgs and "not positive definite" in msgs
    assert h2.df == 1


@pytest.mark.parametrize(
    "small_sample, expected",
    [
        # docs/references.md: Stata xtreg, fe vce(cluster firm): G/(G-1)(N-1)/(N-K), K = 3
        ("stata", (0.0151945, 0.0527518)),
        # areg-style, the absorbed effects counted in K
        ("areg", (0.0155539, 0.0539997)),
        # linearmodels PanelOLS default (no G/(G-1))
        ("linearmodels", (0.0144144, 0.0500435)),
    ],
)
def test_grunfeld_cluster_conventions(grunfeld, small_sample, expected):
    with pytest.warns(DtiStatWarning, match="only 10 clusters"):
        r = fit_panel(grunfeld, GF, **GKW, cov="cluster", small_sample=small_sample)
    assert r.std_errors.to_numpy() == pytest.approx(expected, abs=5e-8)
    assert r.n_clusters == (10,)


def test_grunfeld_driscoll_kraay(grunfeld):
    # docs/references.md: two-way FE, pyfixest vcov={"DK": 3} gives (0.023811, 0.060647):
    # our small_sample="areg" with lags=3 (the periods are the clusters of the factor)
    r = fit(grunfeld, GF, **GKW, fe="twoway", cov="driscoll-kraay", lags=3, small_sample="areg")
    assert r.std_errors.to_numpy() == pytest.approx([0.023811, 0.060647], abs=5e-7)
    # linearmodels kernel Bartlett bandwidth 3 (defaults: effects counted) gives
    # (0.023267, 0.059260): the same meat with n/(n-K-A) instead of T/(T-1)(n-1)/(n-K-A)
    n, T = 200, 20
    lm = r.std_errors.to_numpy() * np.sqrt((T - 1) / T * n / (n - 1))
    assert lm == pytest.approx([0.023267, 0.059260], abs=5e-7)


def test_grunfeld_string_output(grunfeld):
    r = fit(grunfeld, GF, **GKW, model="random", cov="robust")
    s = r.tidy()
    assert list(s.columns) == ["term", "estimate", "std_error", "statistic", "p_value", "ci_low",
                               "ci_high"]
    assert list(s.term) == ["const", "value", "capital"]
    text = str(r)
    assert "Random effects" in text and "0.861224" in text
    assert isinstance(r, PanelResult)
    st = r.fit_stats()
    assert st["nobs"] == 200 and st["model"] == "random" and st["theta"] == pytest.approx(0.861224, abs=5e-7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.nobs = 3  # frozen


# --------------------------------------------------------------------------- wage_panel
WAGE_X = "educ + black + hisp + exper + expersq + married + union + C(year)"


def test_wage_panel_wooldridge_14_4(wage):
    kw = dict(entity="nr", time="year", cov="unadjusted")
    # Wooldridge, Introductory Econometrics, Example 14.4 (docs/references.md), 4 decimals
    pooled = fit(wage, "lwage ~ " + WAGE_X, model="pooled", **kw)
    assert pooled.params[["educ", "black", "hisp", "exper", "expersq", "married", "union"]
                         ].round(4).tolist() == [0.0913, -0.1392, 0.0160, 0.0672, -0.0024, 0.1083, 0.1825]
    re_ = fit(wage, "lwage ~ " + WAGE_X, model="random", **kw)
    assert re_.params[["educ", "black", "hisp", "exper", "expersq", "married", "union"]
                      ].round(4).tolist() == [0.0919, -0.1394, 0.0217, 0.1058, -0.0047, 0.0640, 0.1061]
    assert re_.theta.iloc[0] == pytest.approx(0.6429, abs=5e-5)  # Wooldridge: theta = .643
    # FE with year dummies: educ, black, hisp (time invariant) and exper (collinear with
    # the year dummies within a person) are absorbed
    with pytest.raises(EstimationError, match="'educ', 'black', 'hisp'"):
        fit(wage, "lwage ~ " + WAGE_X, **kw)
    fe = fit(wage, "lwage ~ educ + black + hisp + exper + expersq + married + union",
             fe="twoway", drop_absorbed=True, **kw)
    assert fe.absorbed == ("educ", "black", "hisp", "exper")
    assert fe.params[["expersq", "married", "union"]].round(4).tolist() == [-0.0052, 0.0467, 0.0800]
    fe2 = fit(wage, "lwage ~ expersq + married + union + C(year)", **kw)
    np.testing.assert_allclose(fe2.params[["expersq", "married", "union"]],
                               fe.params[["expersq", "married", "union"]], rtol=1e-9)


# --------------------------------------------------------------------------- linearmodels
def _lm_data(df, with_const):
    p = df.set_index(["city", "year"])
    x = p[["x1", "x2", "x3"]].copy()
    if with_const:
        x.insert(0, "const", 1.0)
    return p["y"], x, p


def _lm_cov_kwargs(cov, ss, p):
    if cov == "unadjusted":
        return dict(cov_type="unadjusted")
    if cov == "robust":
        return dict(cov_type="robust")
    if cov == "cluster":
        return dict(cov_type="clustered", cluster_entity=True, group_debias=ss != "linearmodels")
    if cov == "twoway-cluster":
        idx = p.index
        cl = pd.DataFrame({"e": pd.factorize(idx.get_level_values(0))[0],
                           "t": pd.factorize(idx.get_level_values(1))[0]}, index=idx)
        return dict(cov_type="clustered", clusters=cl, group_debias=ss != "linearmodels")
    return dict(cov_type="kernel", kernel="bartlett", bandwidth=2)


def _dk_factor(cov, ss, n, T):
    # linearmodels' kernel covariance has no cluster-count factor: ours is T/(T-1)(n-1)/n
    # times it under "stata" / "areg" (see dtistat.panel docstring)
    return T / (T - 1) * (n - 1) / n if (cov == "driscoll-kraay" and ss != "linearmodels") else 1.0


COVS = ["unadjusted", "robust", "cluster", "twoway-cluster", "driscoll-kraay"]
SS = ["stata", "areg", "linearmodels"]


@pytest.mark.parametrize("fe", ["entity", "time", "twoway"])
@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("ss", SS)
def test_within_equals_linearmodels(sim, fe, cov, ss):
    """Within vs PanelOLS. stata: const, debiased, group_debias, count_effects=False;
    areg: the same with count_effects=True; none: no const, count_effects=False
    (unadjusted always counts the effects)."""
    r = fit(sim, "y ~ x1 + x2 + x3", entity="city", time="year", fe=fe, cov=cov,
            small_sample=ss, lags=2 if cov == "driscoll-kraay" else None)
    y, x, p = _lm_data(sim, with_const=ss != "linearmodels")
    mod = PanelOLS(y, x, entity_effects=fe != "time", time_effects=fe != "entity")
    count = cov == "unadjusted" or ss == "areg"
    lm = mod.fit(debiased=True, auto_df=False, count_effects=count, **_lm_cov_kwargs(cov, ss, p))
    names = ["x1", "x2", "x3"]
    np.testing.assert_allclose(r.params[names], lm.params[names], rtol=1e-8, atol=1e-10)
    f = _dk_factor(cov, ss, r.nobs, r.n_periods)
    np.testing.assert_allclose(r.std_errors[names], lm.std_errors[names] * np.sqrt(f),
                               rtol=1e-8, atol=1e-12)
    assert r.nobs == lm.nobs
    np.testing.assert_allclose([r.r2_within, r.r2_between, r.r2_overall],
                               [lm.corr_squared_within, lm.corr_squared_between,
                                lm.corr_squared_overall], rtol=1e-8)
    if fe == "entity" and cov == "unadjusted":
        assert r.f_effects.statistic == pytest.approx(lm.f_pooled.stat, rel=1e-8)


@pytest.mark.parametrize("model", ["pooled", "random", "fd"])
@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("ss", SS)
def test_other_models_equal_linearmodels(sim, model, cov, ss):
    """Pooled / random / first difference: stata and areg = debiased=True with
    group_debias=True for clusters; none = debiased=True, group_debias=False."""
    r = fit(sim, "y ~ x1 + x2 + x3", entity="city", time="year", model=model, cov=cov,
            small_sample=ss, lags=2 if cov == "driscoll-kraay" else None)
    y, x, p = _lm_data(sim, with_const=model != "fd")
    cls = {"pooled": PooledOLS, "random": RandomEffects, "fd": FirstDifferenceOLS}[model]
    if model == "fd" and cov == "twoway-cluster":
        # FirstDifferenceOLS rejects time clusters: pooled OLS (no constant) of the
        # differences (gaps respected), clustered by entity and the later period
        z = p[["y", "x1", "x2", "x3"]]
        lag = z.reindex(pd.MultiIndex.from_arrays(
            [z.index.get_level_values(0), z.index.get_level_values(1) - 1]))
        dz = (z - lag.to_numpy()).dropna()
        y, x, p = dz["y"], dz[["x1", "x2", "x3"]], dz
        cls = PooledOLS
    lm = cls(y, x).fit(debiased=True, **_lm_cov_kwargs(cov, ss, p))
    np.testing.assert_allclose(r.params, lm.params[r.params.index], rtol=1e-8, atol=1e-10)
    f = _dk_factor(cov, ss, r.nobs, r.n_periods)
    np.testing.assert_allclose(r.std_errors, lm.std_errors[r.params.index] * np.sqrt(f),
                               rtol=1e-8, atol=1e-12)
    assert r.nobs == lm.nobs
    if not (model == "fd" and cov == "twoway-cluster"):  # R2 in levels: FD tested above
        np.testing.assert_allclose([r.r2_within, r.r2_between, r.r2_overall],
                                   [lm.corr_squared_within, lm.corr_squared_between,
                                    lm.corr_squared_overall], rtol=1e-8)
    if model == "random":
        assert np.ptp(r.theta.to_numpy()) > 0.01  # unbalanced: one theta per entity
        lm_theta = lm.theta["theta"]
        np.testing.assert_allclose(r.theta.to_numpy(), lm_theta.loc[r.theta.index].to_numpy(),
                                   rtol=1e-10)
        vd = lm.variance_decomposition
        assert r.sigma2_u == pytest.approx(vd["Effects"], rel=1e-10)
        assert r.sigma2_e == pytest.approx(vd["Residual"], rel=1e-10)


@pytest.mark.parametrize("cov", ["unadjusted", "robust", "cluster"])
@pytest.mark.parametrize("ss", SS)
def test_between_equals_linearmodels(sim, cov, ss):
    r = fit(sim, "y ~ x1 + x2 + x3", entity="city", time="year", model="between", cov=cov,
            small_sample=ss)
    y, x, p = _lm_data(sim, with_const=True)
    kw = dict(cov_type={"unadjusted": "unadjusted", "robust": "robust", "cluster": "clustered"}[cov])
    if cov == "cluster":
        kw.update(clusters=pd.Series(pd.factorize(p.index.get_level_values(0))[0], index=p.index),
                  group_debias=ss != "linearmodels")
    lm = BetweenOLS(y, x).fit(debiased=True, **kw)
    np.testing.assert_allclose(r.params, lm.params[r.params.index], rtol=1e-8)
    np.testing.assert_allclose(r.std_errors, lm.std_errors[r.params.index], rtol=1e-8)


@pytest.mark.parametrize("model", ["pooled", "within", "random", "between", "fd"])
@pytest.mark.parametrize("cov", ["unadjusted", "cluster"])
def test_weights_equal_linearmodels(sim, model, cov):
    """WLS in every model equals linearmodels with weights= (stata convention)."""
    r = fit(sim, "y ~ x1 + x2 + x3", entity="city", time="year", model=model, weights="w",
            fe="twoway", cov=cov)
    y, x, p = _lm_data(sim, with_const=model != "fd")
    kw = dict(cov_type="unadjusted")
    if cov == "cluster":
        kw = dict(cov_type="clustered", group_debias=True,
                  clusters=pd.Series(pd.factorize(p.index.get_level_values(0))[0],
                                     index=p.index))
    if model == "within":
        lm = PanelOLS(y, x, entity_effects=True, time_effects=True, weights=p["w"]).fit(
            auto_df=False, count_effects=cov == "unadjusted", **kw)
    else:
        cls = {"pooled": PooledOLS, "random": RandomEffects, "between": BetweenOLS,
               "fd": FirstDifferenceOLS}[model]
        lm = cls(y, x, weights=p["w"]).fit(**kw)
    names = list(r.params.index)
    np.testing.assert_allclose(r.params[names], lm.params[names], rtol=1e-8)
    np.testing.assert_allclose(r.std_errors[names], lm.std_errors[names], rtol=1e-8)
    if model == "random":
        np.testing.assert_allclose(r.theta.to_numpy(), lm.theta["theta"].loc[r.theta.index],
                                   rtol=1e-10)


def test_random_without_intercept_and_with_dummies(sim):
    p = sim.set_index(["city", "year"])
    r = fit(sim, "y ~ x1 + x2 - 1", entity="city", time="year", model="random", cov="robust")
    lm = RandomEffects(p["y"], p[["x1", "x2"]]).fit(cov_type="robust")
    np.testing.assert_allclose(r.params, lm.params, rtol=1e-10)
    np.testing.assert_allclose(r.std_errors, lm.std_errors, rtol=1e-10)
    # year dummies: collinear with the constant in the between regression if balanced;
    # here unbalanced, rank handled as linearmodels
    r = fit(sim, "y ~ x1 + x2 + C(year)", entity="city", time="year", model="random",
            cov="unadjusted")
    d = pd.get_dummies(p.reset_index()["year"], prefix="y", drop_first=True, dtype=float)
    d.index = p.index
    X = pd.concat([pd.Series(1.0, index=p.index, name="const"), p[["x1", "x2"]], d], axis=1)
    lm = RandomEffects(p["y"], X).fit()
    np.testing.assert_allclose(r.params.to_numpy(), lm.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r.std_errors.to_numpy(), lm.std_errors.to_numpy(), rtol=1e-9)
    assert r.sigma2_u == pytest.approx(lm.variance_decomposition["Effects"], rel=1e-10)


@pytest.mark.parametrize("fe", ["entity", "time"])
def test_weighted_one_way_within(sim, fe):
    p = sim.set_index(["city", "year"])
    r = fit(sim, "y ~ x1 + x2", entity="city", time="year", fe=fe, weights="w",
            cov="unadjusted")
    lm = PanelOLS(p["y"], p[["x1", "x2"]], entity_effects=fe == "entity",
                  time_effects=fe == "time", weights=p["w"]).fit()
    np.testing.assert_allclose(r.params, lm.params, rtol=1e-10)
    np.testing.assert_allclose(r.std_errors, lm.std_errors, rtol=1e-10)


def test_twoway_cluster_by_columns(sim):
    r = fit(sim, "y ~ x1 + x2", entity="city", time="year", cov="twoway-cluster",
            cluster=["city", "region"], small_sample="stata", model="pooled")
    y, x, p = _lm_data(sim, with_const=True)
    cl = pd.DataFrame({"c": pd.factorize(p.index.get_level_values(0))[0],
                       "r": p["region"].to_numpy()}, index=p.index)
    lm = PooledOLS(y, x[["const", "x1", "x2"]]).fit(cov_type="clustered", clusters=cl,
                                                    group_debias=True)
    np.testing.assert_allclose(r.std_errors, lm.std_errors[r.params.index], rtol=1e-8)
    assert r.cluster == ("city", "region")


# --------------------------------------------------------------------------- engine
def test_twoway_demeaning_paths_agree(sim):
    """Exact small-dimension solve == alternating projections (forced) == LSDV."""
    import dtistat.panel.absorb as P

    kw = dict(entity="city", time="year", fe="twoway", cov="robust")
    exact = fit(sim, "y ~ x1 + x2 + x3", **kw)
    old = P._SMALL_DIM_MAX
    try:
        P._SMALL_DIM_MAX = 0  # force alternating projections
        ap = fit(sim, "y ~ x1 + x2 + x3", **kw)
    finally:
        P._SMALL_DIM_MAX = old
    np.testing.assert_allclose(exact.params, ap.params, rtol=1e-8)
    d = pd.get_dummies(sim[["city", "year"]].astype(str), drop_first=True, dtype=float)
    X = np.column_stack([np.ones(len(sim)), sim[["x1", "x2", "x3"]], d])
    b = np.linalg.lstsq(X, sim["y"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(exact.params.to_numpy(), b[1:4], rtol=1e-9)


def test_balanced_twoway_fast_path(grunfeld):
    r = fit(grunfeld, GF, **GKW, fe="twoway", cov="unadjusted")
    g2 = grunfeld.iloc[1:]  # unbalanced: generic exact path
    r2 = fit(g2, GF, **GKW, fe="twoway", cov="unadjusted")
    d = pd.get_dummies(g2[["firm", "year"]].astype(str), drop_first=True, dtype=float)
    X = np.column_stack([np.ones(len(g2)), g2[["value", "capital"]], d])
    b = np.linalg.lstsq(X, g2["invest"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(r2.params.to_numpy(), b[1:3], rtol=1e-9)
    assert r.params["value"] == pytest.approx(0.117716, abs=5e-7)


def test_disconnected_twoway_matches_lsdv(sim):
    """Two groups of entities observed in disjoint periods: the effects have two
    connected components (pseudo-inverse path, one more redundant effect)."""
    a = sim[sim.city < "city030"]
    b = sim[sim.city >= "city030"].assign(year=lambda d: d.year + 50)
    d = pd.concat([a, b], ignore_index=True)
    r = fit(d, "y ~ x1 + x2", entity="city", time="year", fe="twoway", cov="unadjusted")
    dm = pd.get_dummies(d[["city", "year"]].astype(str), drop_first=True, dtype=float)
    X = np.column_stack([d[["x1", "x2"]], np.ones(len(d)), dm])
    b_, _, rank, _ = np.linalg.lstsq(X, d["y"].to_numpy(), rcond=None)
    np.testing.assert_allclose(r.params.to_numpy(), b_[:2], rtol=1e-9)
    e = d["y"].to_numpy() - X @ b_
    s2 = e @ e / (len(d) - rank)  # LSDV residual variance: rank counts the redundancy
    assert r.sigma2_e == pytest.approx(s2, rel=1e-9)


def test_large_sample_normal_equations_match_qr(grunfeld, sim, monkeypatch):
    """Above _NORMAL_EQ_MIN_ROWS rows, OLS uses equilibrated normal equations with one
    refinement step: same numbers as the QR path (Grunfeld is badly scaled)."""
    import dtistat.panel.estimators as P

    cases = [(grunfeld, GF, GKW), (sim, "y ~ x1 + x2 + x3", dict(entity="city", time="year"))]
    for data, f, kw in cases:
        for model in ["within", "pooled", "random"]:
            qr = fit(data, f, **kw, model=model, cov="cluster")
            monkeypatch.setattr(P, "_NORMAL_EQ_MIN_ROWS", 0)
            ne = fit(data, f, **kw, model=model, cov="cluster")
            monkeypatch.setattr(P, "_NORMAL_EQ_MIN_ROWS", 100_000)
            np.testing.assert_allclose(ne.params, qr.params, rtol=1e-10)
            np.testing.assert_allclose(ne.std_errors, qr.std_errors, rtol=1e-10)
            if model == "within":
                assert ne.f_effects.statistic == pytest.approx(qr.f_effects.statistic, rel=1e-8)
    monkeypatch.setattr(P, "_NORMAL_EQ_MIN_ROWS", 0)
    d = sim.assign(x4=sim["x1"] - sim["x2"])
    with pytest.raises(EstimationError, match="'x4'"):
        fit(d, "y ~ x1 + x2 + x4", entity="city", time="year", model="pooled")


# --------------------------------------------------------------------------- formula
def _manual_lag(df, col, k, ent="city", t="year"):
    s = df.set_index([ent, t])[col]
    idx = pd.MultiIndex.from_arrays([df[ent], df[t] - k])
    return s.reindex(idx).to_numpy()


def test_lags_and_differences_respect_gaps(sim):
    r = fit(sim, "y ~ x1 + L(x1, 2) + D(x2) + L(y)", entity="city", time="year",
            model="pooled", cov="robust")
    m = sim.copy()
    m["l2"] = _manual_lag(sim, "x1", 2)
    m["d2"] = sim["x2"].to_numpy() - _manual_lag(sim, "x2", 1)
    m["ly"] = _manual_lag(sim, "y", 1)
    m = m.dropna(subset=["l2", "d2", "ly"])
    X = sm.add_constant(m[["x1", "l2", "d2", "ly"]])
    ols = sm.OLS(m["y"], X).fit(cov_type="HC1")
    np.testing.assert_allclose(r.params.to_numpy(), ols.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r.std_errors.to_numpy(), ols.bse.to_numpy(), rtol=1e-9)
    assert r.nobs == len(m) and r.n_dropped_lags == len(sim) - len(m)
    assert list(r.params.index) == ["const", "x1", "L(x1, 2)", "D(x2)", "L(y)"]
    # first differences of a lagged regressor == pooled OLS of the explicit differences
    fd = fit(sim, "y ~ x1 + L(x2)", entity="city", time="year", model="fd", cov="cluster")
    po = fit(sim, "D(y) ~ D(x1) + D(L(x2)) - 1", entity="city", time="year",
             model="pooled", cov="cluster")
    np.testing.assert_allclose(fd.params.to_numpy(), po.params.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(fd.std_errors.to_numpy(), po.std_errors.to_numpy(), rtol=1e-12)
    assert fd.nobs == po.nobs


def test_quarter_time_and_gap():
    df = pd.DataFrame({
        "city": ["a"] * 5 + ["b"] * 5,
        "q": ["2021Q1", "2021Q2", "2021Q4", "2022Q1", "2022Q2"] * 2,  # 2021Q3 missing
        "x": [1.0, 2, 4, 8, 16, 1, 3, 9, 27, 81],
    })
    df["y"] = df["x"] * 2 + np.arange(10) * 0.01
    r = fit(df, "y ~ L(x)", entity="city", time="q", model="pooled", cov="robust")
    # lag at 2021Q4 would cross the missing 2021Q3: rows kept are Q2, 22Q1, 22Q2 per city
    assert r.nobs == 6 and r.n_dropped_lags == 4
    # dates and Periods give the same quarter positions
    df2 = df.assign(q=pd.PeriodIndex(df["q"], freq="Q").to_timestamp())
    r2 = fit(df2, "y ~ L(x)", entity="city", time="q", model="pooled", cov="robust")
    np.testing.assert_allclose(r.params, r2.params)


def test_monthly_periods_keep_their_frequency():
    df = pd.DataFrame({"firm": ["a"] * 4 + ["b"] * 4,
                       "m": pd.PeriodIndex(["2021-01", "2021-02", "2021-04", "2021-05"] * 2,
                                           freq="M"),
                       "x": [1.0, 2.0, 4.0, 7.0, 2.0, 1.0, 5.0, 3.0]})
    df["y"] = np.arange(8.0) ** 1.5
    r = fit(df, "y ~ L(x)", entity="firm", time="m", model="pooled", cov="robust")
    assert r.nobs == 4 and r.n_dropped_lags == 4  # March is missing: April has no lag


def test_formula_intercept_and_dummies(sim):
    r = fit(sim, "y ~ x1 + x2 - 1", entity="city", time="year", model="pooled", cov="robust")
    assert list(r.params.index) == ["x1", "x2"]
    r = fit(sim, "y ~ 0 + x1", entity="city", time="year", model="pooled", cov="robust")
    assert list(r.params.index) == ["x1"]
    r = fit(sim, "y ~ x1 + C(year)", entity="city", time="year", cov="robust")
    tw = fit(sim, "y ~ x1", entity="city", time="year", fe="twoway", cov="robust")
    assert r.params["x1"] == pytest.approx(tw.params["x1"], rel=1e-9)
    for bad in ["y x1", "y ~ L(x1, a)", "y ~ __import__('os').getcwd()", "y ~ x1 +",
                "y ~ y + x1"]:
        with pytest.raises(SpecError):
            fit_panel(sim, bad, entity="city", time="year")


def test_formula_transforms_interactions_and_lags_equal_lsdv(grunfeld):
    """log(), x*z, C() interactions and L(log(x), 1) in one within model equal the
    least-squares dummy-variable regression run by statsmodels with the same formula
    and an explicitly lagged column (Grunfeld data; LSDV = within, Baltagi 2013 §2.2)."""
    import statsmodels.formula.api as smf

    g = grunfeld.copy()
    g["big"] = g["firm"].isin(["General Motors", "US Steel", "General Electric"]).map(
        {True: "large", False: "small"})
    g = g.sort_values(["firm", "year"])
    g["lag_lv"] = g.groupby("firm")["value"].shift(1).pipe(np.log)
    f = "log(invest) ~ log(value)*capital + log(value):C(big) + L(log(value), 1)"
    r = fit_panel(g, f, entity="firm", time="year", cov="unadjusted")
    assert r.dependent == "log(invest)" and r.n_dropped_lags == 10 and r.nobs == 190
    ref = smf.ols("np.log(invest) ~ np.log(value)*capital + np.log(value):C(big) + lag_lv"
                  " + C(firm)", data=g.dropna(subset=["lag_lv"])).fit()
    pairs = {"log(value)": "np.log(value)", "capital": "capital",
             "log(value):capital": "np.log(value):capital",
             "log(value):C(big)[small]": "np.log(value):C(big)[T.small]",
             "L(log(value), 1)": "lag_lv"}
    for ours, theirs in pairs.items():
        assert r.params[ours] == pytest.approx(ref.params[theirs], rel=1e-10, abs=1e-12)
        # unadjusted SEs: the same residual variance (N - K - A degrees of freedom)
        assert r.std_errors[ours] == pytest.approx(ref.bse[theirs], rel=1e-8)


# --------------------------------------------------------------------------- bad input
def test_duplicates_named(sim):
    bad = pd.concat([sim, sim.iloc[[5]]])
    name = sim.iloc[5]["city"]
    with pytest.raises(DataError, match=f"city='{name}'"):
        fit_panel(bad, "y ~ x1", entity="city", time="year")


def test_absorbed_regressor_named(sim):
    d = sim.assign(size=sim.groupby("city")["x1"].transform("mean"))
    with pytest.raises(EstimationError, match="'size'.*absorbed by the entity"):
        fit(d, "y ~ x1 + size", entity="city", time="year")
    r = fit(d, "y ~ x1 + size", entity="city", time="year", drop_absorbed=True)
    assert r.absorbed == ("size",) and list(r.params.index) == ["x1"]


def test_collinear_regressors_named(sim):
    d = sim.assign(x4=sim["x1"] + 2 * sim["x2"])
    with pytest.raises(EstimationError, match="'x4'"):
        fit(d, "y ~ x1 + x2 + x4", entity="city", time="year", model="pooled")


def test_time_not_orderable(sim):
    d = sim.assign(year=sim["year"].map(lambda v: f"year {v}"))
    with pytest.raises(PeriodError, match="not orderable"):
        fit_panel(d, "y ~ x1", entity="city", time="year")
    d = sim.assign(year=pd.Categorical(sim["year"]))
    with pytest.raises(PeriodError, match="unordered"):
        fit_panel(d, "y ~ x1", entity="city", time="year")
    obj = fit(sim.assign(year=sim["year"].astype(object)), "y ~ L(x1)", entity="city",
              time="year", model="pooled", cov="robust")
    ref = fit(sim, "y ~ L(x1)", entity="city", time="year", model="pooled", cov="robust")
    np.testing.assert_allclose(obj.params, ref.params, rtol=1e-12)
    d = sim.assign(year=[object()] * len(sim))
    with pytest.raises(PeriodError):
        fit_panel(d, "y ~ x1", entity="city", time="year")


def test_singletons_dropped_and_reported(sim):
    extra = pd.DataFrame({"city": ["lonely1", "lonely2"], "year": [2003, 2004],
                          "y": [1.0, 2.0], "x1": [0.5, 0.1], "x2": [0.0, 1.0],
                          "x3": [1.0, 1.0], "region": [1, 2], "w": [1.0, 1.0]})
    d = pd.concat([sim, extra], ignore_index=True)
    r = fit(d, "y ~ x1", entity="city", time="year", cov="robust")
    base = fit(sim, "y ~ x1", entity="city", time="year", cov="robust")
    assert r.n_singletons == 2 and r.nobs == base.nobs
    np.testing.assert_allclose(r.params, base.params, rtol=1e-12)
    assert "2 singleton(s)" in str(r)


def test_cluster_counts(grunfeld):
    with pytest.warns(DtiStatWarning, match="only 10 clusters"):
        fit_panel(grunfeld, GF, **GKW)
    one = grunfeld.assign(all="x")
    with pytest.raises(EstimationError, match="at least 2"):
        fit_panel(one, GF, **GKW, cluster="all")


def test_string_entities_and_input_not_modified(sim):
    before = sim.copy(deep=True)
    for model in ["within", "random", "between", "fd", "pooled"]:
        fit(sim, "y ~ x1 + L(x2) + C(region)" if model == "pooled" else "y ~ x1 + L(x2)",
            entity="city", time="year", model=model, cov="robust",
            weights="w" if model == "within" else None)
        pd.testing.assert_frame_equal(sim, before)
    r = fit(sim, "y ~ x1 + L(x2)", entity="city", time="year", model="random")
    assert r.theta.index[0].startswith("city")
    mixed = sim.assign(city=[i if i.endswith("7") else int(i[4:]) for i in sim["city"]])
    r3 = fit(mixed, "y ~ x1 + L(x2)", entity="city", time="year", model="random")
    np.testing.assert_allclose(r.params, r3.params, rtol=1e-12)
    num = sim.assign(city=pd.factorize(sim["city"], sort=True)[0])
    r2 = fit(num, "y ~ x1 + L(x2)", entity="city", time="year", model="random")
    np.testing.assert_allclose(r.params, r2.params, rtol=1e-12)


def test_nan_policy(sim):
    d = sim.copy()
    d.loc[d.index[3], "x2"] = np.nan
    with pytest.raises(DataError, match="'x2'.*city="):
        fit_panel(d, "y ~ x1 + x2", entity="city", time="year")
    r = fit(d, "y ~ x1 + x2", entity="city", time="year", missing="drop", cov="robust")
    base = fit(d.drop(index=d.index[3]), "y ~ x1 + x2", entity="city", time="year",
               cov="robust")
    assert r.n_dropped_missing == 1 and r.nobs == base.nobs
    np.testing.assert_allclose(r.params, base.params, rtol=1e-12)


def test_bad_parameters(sim):
    kw = dict(entity="city", time="year")
    for bad in [dict(model="gmm"), dict(fe="city"), dict(cov="hac"), dict(small_sample="r"),
                dict(lags=-1), dict(level=1.5),
                dict(cov="robust", cluster="city"), dict(model="between", cov="driscoll-kraay")]:
        with pytest.raises(ParameterError):
            fit_panel(sim, "y ~ x1", **{**kw, **bad})
    with pytest.raises(DtiStatError, match="'nope'"):
        fit_panel(sim, "y ~ nope", **kw)
    with pytest.raises(DataError):
        fit_panel(sim.to_numpy(), "y ~ x1", **kw)
    with pytest.raises(ParameterError, match="number of periods"):
        fit(sim, "y ~ x1", **kw, cov="driscoll-kraay", lags=20)
    fe = fit(sim, "y ~ x1", **kw)
    with pytest.raises(ParameterError):
        hausman(fe, fe)


# --------------------------------------------------------------------------- presets vs pyfixest
@pytest.mark.parametrize("fe, fs", [("entity", "firm"), ("twoway", "firm + year")])
@pytest.mark.parametrize("cov, vcov, preset, ssc", [
    # "none" = no factor at all: pyfixest ssc(k_adj=False, G_adj=False) (= sandwich CR0/HC0)
    ("cluster", {"CRV1": "firm"}, "none", dict(k_adj=False, G_adj=False)),
    ("robust", "hetero", "none", dict(k_adj=False, G_adj=False)),
    # "reghdfe": effects nested in the cluster not counted = pyfixest k_fixef="nonnested"
    ("cluster", {"CRV1": "firm"}, "reghdfe", dict(k_fixef="nonnested")),
    # "areg": every absorbed effect counted = pyfixest k_fixef="full"
    ("cluster", {"CRV1": "firm"}, "areg", dict(k_fixef="full")),
])
def test_presets_equal_pyfixest(grunfeld, fe, fs, cov, vcov, preset, ssc):
    import warnings

    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols(f"invest ~ value + capital | {fs}", data=grunfeld, vcov=vcov,
                     ssc=pf.ssc(**ssc))
        r = fit_panel(grunfeld, GF, **GKW, fe=fe, cov=cov, small_sample=preset)
    np.testing.assert_allclose(r.std_errors.to_numpy(), m.se().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r.params.to_numpy(), m.coef().to_numpy(), rtol=1e-9)


def test_with_cov_equals_refit(grunfeld):
    base = fit(grunfeld, GF, **GKW, cov="unadjusted")
    for cov, ss in [("robust", "stata"), ("cluster", "none"), ("driscoll-kraay", "areg"),
                    ("twoway-cluster", "stata")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            direct = fit_panel(grunfeld, GF, **GKW, cov=cov, small_sample=ss)
            post = base.with_cov(cov, small_sample=ss)
        np.testing.assert_allclose(post.cov.to_numpy(), direct.cov.to_numpy(), rtol=1e-12)
        assert post.df_inference == direct.df_inference
        assert post.cov_type == cov and post.small_sample == ss
    # the original is unchanged (results are immutable)
    assert base.cov_type == "unadjusted"
    # a cluster column read from the data after the fit
    g = grunfeld.assign(big=(grunfeld.firm.isin(["General Motors", "US Steel"])).astype(int))
    b2 = fit(g, GF, **GKW, model="pooled", cov="unadjusted")
    with pytest.warns(DtiStatWarning, match="only 2 clusters"):
        a = b2.with_cov("cluster", cluster="big")
        d = fit_panel(g, GF, **GKW, model="pooled", cov="cluster", cluster="big")
    np.testing.assert_allclose(a.std_errors, d.std_errors, rtol=1e-12)


def test_conf_int_is_a_method_and_levels(grunfeld):
    r = fit(grunfeld, GF, **GKW, cov="unadjusted")
    ci95, ci90 = r.conf_int(), r.conf_int(0.90)
    assert list(ci95.columns) == ["lower", "upper"]
    assert (ci90["upper"] - ci90["lower"] < ci95["upper"] - ci95["lower"]).all()
    t = stats.t(r.df_inference).ppf(0.95)
    np.testing.assert_allclose(ci90["upper"], r.params + t * r.std_errors, rtol=1e-12)
    with pytest.raises(ParameterError, match="level"):
        r.conf_int(1.5)


def test_outcome_among_regressors_is_refused(grunfeld):
    with pytest.raises(SpecError, match="also among the regressors"):
        fit(grunfeld, "invest ~ invest + value", **GKW)


def test_summary_prints_whole_table(grunfeld):
    r = fit(grunfeld, GF, **GKW, cov="unadjusted")
    text = str(r.summary())
    assert "[3 rows" not in text and "capital" in text and "Observations: 200" in text
    assert str(r) == text
    assert "<table" in r._repr_html_() and "\\toprule" in r.summary().as_latex()
    assert len(repr(r).splitlines()) == 1 and "N=200" in repr(r)


def test_constant_outcome_is_an_error_not_nan(sim):
    d = sim.assign(y=1.0)
    with pytest.raises(DataError, match="'y' is constant"):
        fit_panel(d, "y ~ x1", entity="city", time="year")
