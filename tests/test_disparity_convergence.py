"""Sigma and beta convergence against statsmodels OLS (HC1) and linearmodels PanelOLS."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels.panel import PanelOLS

from dtistat.errors import DataError
from dtistat.index.disparity import beta_convergence, sigma_convergence
from dtistat.index.disparity.convergence import speed


def _sim(n=80, T=6, seed=0):
    rng = np.random.default_rng(seed)
    lny = np.empty((n, T))
    lny[:, 0] = rng.normal(1.0, 0.5, n)
    z = rng.normal(size=n)
    for t in range(1, T):
        lny[:, t] = 0.3 + 0.85 * lny[:, t - 1] + 0.05 * z + rng.normal(0, 0.05, n)
    return pd.DataFrame({"city": np.repeat(np.arange(n), T), "year": np.tile(2010 + np.arange(T), n),
                         "y": np.exp(lny.ravel()), "z": np.repeat(z, T),
                         "x": rng.normal(size=n * T)})


def test_sigma_against_numpy():
    df = _sim()
    r = sigma_convergence(df, value="y", entity="city", time="year")
    for t, sub in df.groupby("year"):
        assert r.table.loc[t, "sd_log"] == pytest.approx(np.std(np.log(sub.y)), rel=1e-13)
        assert r.table.loc[t, "cv"] == pytest.approx(np.std(sub.y) / np.mean(sub.y), rel=1e-13)
    assert r.table["sd_log"].iloc[-1] < r.table["sd_log"].iloc[0]  # the DGP converges


@pytest.mark.parametrize("controls", [None, ["z"]])
def test_cross_section_beta_equals_statsmodels(controls):
    df = _sim()
    r = beta_convergence(df, value="y", entity="city", time="year", controls=controls)
    w = df.pivot(index="city", columns="year", values="y")
    g = np.log(w.iloc[:, -1] / w.iloc[:, 0]) / 5
    X = pd.DataFrame({"ln0": np.log(w.iloc[:, 0])})
    if controls:
        X["z"] = df.groupby("city")["z"].first()
    ols = sm.OLS(g, sm.add_constant(X)).fit(cov_type="HC1")
    np.testing.assert_allclose(r.params.to_numpy(), ols.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.std_errors.to_numpy(), ols.bse.to_numpy(), rtol=1e-10)
    assert r.kind == ("conditional" if controls else "absolute")
    theta = -np.log(1 + 5 * ols.params["ln0"]) / 5
    assert r.theta == pytest.approx(theta, rel=1e-12)
    assert r.half_life == pytest.approx(np.log(2) / theta, rel=1e-12)


def test_panel_beta_equals_linearmodels():
    df = _sim()
    r = beta_convergence(df, value="y", entity="city", time="year", model="panel",
                         controls=["x"], cov="cluster")
    d = df.sort_values(["city", "year"]).copy()
    d["lny"] = np.log(d.y)
    d["lag"] = d.groupby("city")["lny"].shift()
    d["xlag"] = d.groupby("city")["x"].shift()
    d["g"] = d["lny"] - d["lag"]
    d = d.dropna().set_index(["city", "year"])
    lm = PanelOLS(d["g"], d[["lag", "xlag"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    np.testing.assert_allclose(r.params.to_numpy(), lm.params.to_numpy(), rtol=1e-9)
    assert r.theta == pytest.approx(-np.log(1 + lm.params["lag"]), rel=1e-9)
    assert r.fe == "twoway" and r.nobs == 80 * 5
    assert "beta=" in repr(r) and "theta" in str(r.summary())


def test_speed_and_bad_input():
    th, hl = speed(-0.5, 1)
    assert th == pytest.approx(np.log(2)) and hl == pytest.approx(1.0)
    assert all(np.isnan(speed(-0.3, 5)))
    th, hl = speed(0.01, 4)  # divergence: negative speed, no half-life
    assert th == pytest.approx(-np.log(1.04) / 4) and np.isnan(hl)
    df = _sim()
    df.loc[3, "y"] = 0.0
    with pytest.raises(DataError, match="strictly positive.*'y'"):
        beta_convergence(df, value="y", entity="city", time="year")


def test_log_t_equals_convergence_clubs():
    import convergence_clubs as cc

    data = cc.load_filtered_gdp()  # ConvergenceClubs' filteredGDP (152 countries, 1970-2003)
    long = data.stack().rename("lgdp").reset_index()
    from dtistat.index.disparity import log_t_test

    r = log_t_test(long, value="lgdp", entity="Countries", time="year")
    ref = cc.log_t_test(cc.cross_sectional_variation(data.to_numpy()), time_trim=1 / 3)
    assert r.beta == pytest.approx(ref.beta, rel=1e-12)
    assert r.std_error == pytest.approx(ref.std_err, rel=1e-10)
    assert r.t_value == pytest.approx(ref.t_value, rel=1e-10)
    # convergence-clubs 0.1.2 README (= R ConvergenceClubs::estimateMod on filteredGDP):
    # beta -0.8748..., t -159.55... (digits as printed, truncated)
    assert -0.8749 < r.beta <= -0.8748 and -159.56 < r.t_value <= -159.55
    assert not r.converges
    for members in (data.index[:20], data.index[40:70]):  # subsets: other residual paths
        sub = data.loc[members]
        r = log_t_test(sub.stack().rename("x").reset_index(), value="x", entity="Countries",
                       time="year", time_trim=0.3)
        ref = cc.log_t_test(cc.cross_sectional_variation(sub.to_numpy()), time_trim=0.3)
        assert r.t_value == pytest.approx(ref.t_value, rel=1e-10)


def test_spatial_beta_convergence_is_the_sdm_on_growth():
    # spatial beta convergence (w=): the SDM of fit_spatial on growth and lagged log level
    # (Elhorst, Piras & Arbia 2010); simulated with a known beta, rho, theta
    from libpysal.weights import lat2W

    from dtistat.errors import ParameterError
    from dtistat.spatial import fit_spatial

    w = lat2W(6, 6)
    w.transform = "r"
    W = w.sparse.toarray()
    N, T = 36, 12
    rng = np.random.default_rng(3)
    L = np.empty((N, T))
    L[:, 0] = rng.normal(2, 0.5, N)
    a = rng.normal(0, 0.1, N)
    A = np.linalg.inv(np.eye(N) - 0.3 * W)
    for t in range(1, T):
        g = A @ (a - 0.2 * L[:, t - 1] + 0.05 * W @ L[:, t - 1] + rng.normal(0, 0.05, N))
        L[:, t] = L[:, t - 1] + g
    df = pd.DataFrame({"city": np.repeat(w.id_order, T), "year": np.tile(range(T), N),
                       "y": np.exp(L.ravel())})
    r = beta_convergence(df, value="y", entity="city", time="year", model="panel",
                         fe="entity", w=w)
    assert list(r.params.index) == ["ln_y_lag", "W*ln_y_lag", "rho"]
    assert r.model == "panel SDM" and r.spatial.model == "sdm"
    assert r.beta == pytest.approx(-0.2, abs=0.03)
    assert r.params["rho"] == pytest.approx(0.3, abs=0.1)
    assert r.theta == pytest.approx(-np.log(1 + r.beta), rel=1e-12)
    # the same fit by hand
    long = pd.DataFrame({"i": np.repeat(w.id_order, T - 1), "t": np.tile(range(1, T), N),
                         "g": (L[:, 1:] - L[:, :-1]).ravel(), "lag": L[:, :-1].ravel()})
    ref = fit_spatial(long, "g", ["lag"], entity="i", time="t", w=w, fe="entity")
    np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.std_errors.to_numpy(), ref.std_errors.to_numpy(), rtol=1e-10)
    # cross-section SAR (Rey & Montouri 1999): growth over the whole span
    cs = beta_convergence(df, value="y", entity="city", time="year", w=w, spatial_model="sar")
    assert cs.tau == T - 1 and cs.beta < 0 and "rho" in cs.params.index
    with pytest.raises(ParameterError, match="spatial_model"):
        beta_convergence(df, value="y", entity="city", time="year", w=w, spatial_model="x")
