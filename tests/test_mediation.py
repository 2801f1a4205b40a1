"""Tests of dtistat.mediation: reference values, peers, bootstrap exactness, bad input."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats

from dtistat import _bootstrap as bs
from dtistat.errors import (
    ColumnError,
    DataError,
    DtiStatWarning,
    EstimationError,
    ParameterError,
)
from dtistat.mediation import MediationResult, fit_mediation

pg = pytest.importorskip("pingouin")


# ------------------------------------------------------------------------------ data

@pytest.fixture(scope="module")
def med():
    # pingouin's bundled data set (n = 100; X, M, Y, Mbin, Ybin, W1, W2)
    return pg.read_dataset("mediation")


def make_panel(G=60, T=6, seed=0, a=0.5, b=0.4, cp=0.2, unbalanced=0.0, provinces=None):
    """Simulated city × quarter panel with entity and time effects (known a*b)."""
    rng = np.random.default_rng(seed)
    e = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    ae, at = rng.normal(size=G)[e], rng.normal(size=T)[t]
    W = rng.normal(size=(G * T, 2))
    x = ae + at + rng.normal(size=G * T) + 0.3 * W[:, 0]
    m = a * x + ae - at + rng.normal(size=G * T) + 0.2 * W[:, 1]
    y = b * m + cp * x + 0.5 * ae + at + rng.normal(size=G * T) + 0.1 * W[:, 0]
    d = pd.DataFrame({
        "city": [f"c{i:03d}" for i in e],
        "quarter": [f"{2021 + q // 4}Q{q % 4 + 1}" for q in t],
        "x": x, "m": m, "y": y, "w1": W[:, 0], "w2": W[:, 1],
    })
    if provinces:
        d["prov"] = [f"p{i % provinces}" for i in e]
    if unbalanced:
        d = d[rng.random(len(d)) > unbalanced].reset_index(drop=True)
    return d


def lm_panel(d):
    """The panel indexed as linearmodels wants it (a date-like time index)."""
    qt = pd.PeriodIndex(d["quarter"], freq="Q").to_timestamp()
    return d.assign(qt=qt).set_index(["city", "qt"])


def est(res, term):
    return res.paths.set_index("term").loc[term, "estimate"]


def ind(res, term):
    return res.indirect.set_index("term").loc[term]


# ------------------------------------------------------- pingouin reference numbers

def test_pingouin_reference_paths(med):
    r = fit_mediation(med, x="X", m="M", y="Y", n_boot=0)
    p = r.paths.set_index("term")
    # Source: docs/references.md "Mediation — pingouin's mediation
    # data set" (OLS paths on pingouin.read_dataset("mediation"))
    assert p.loc["a[M]", "estimate"] == pytest.approx(0.561015, abs=5e-7)
    assert p.loc["a[M]", "std_error"] == pytest.approx(0.094480, abs=5e-7)
    assert p.loc["b[M]", "estimate"] == pytest.approx(0.635495, abs=5e-7)
    assert p.loc["b[M]", "std_error"] == pytest.approx(0.100534, abs=5e-7)
    assert p.loc["c", "estimate"] == pytest.approx(0.396126, abs=5e-7)
    assert p.loc["c", "std_error"] == pytest.approx(0.111160, abs=5e-7)
    assert p.loc["c_prime", "estimate"] == pytest.approx(0.039604, abs=5e-7)
    assert p.loc["c_prime", "std_error"] == pytest.approx(0.109648, abs=5e-7)
    i = ind(r, "indirect[M]")
    assert i["estimate"] == pytest.approx(0.356522, abs=5e-7)  # docs/references.md: ab
    # docs/references.md: hand formulas, Sobel SE 0.082378 (z 4.3279), Aroian 0.082924
    # (z 4.2994), Goodman 0.081828 (z 4.3570)
    assert i["sobel_se"] == pytest.approx(0.082378, abs=5e-7)
    assert i["sobel_z"] == pytest.approx(4.3279, abs=5e-5)
    assert i["aroian_se"] == pytest.approx(0.082924, abs=5e-7)
    assert i["aroian_z"] == pytest.approx(4.2994, abs=5e-5)
    assert i["goodman_se"] == pytest.approx(0.081828, abs=5e-7)
    assert i["goodman_z"] == pytest.approx(4.3570, abs=5e-5)
    prop = r.proportions.set_index("term").loc["prop_mediated", "estimate"]
    assert prop == pytest.approx(0.9000, abs=5e-5)  # docs/references.md: ab/c = 0.9000


def test_equals_pingouin_point_estimates_and_bc_interval(med):
    # pingouin 0.7 mediation_analysis, live: same data, its own bootstrap draws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, dist = pg.mediation_analysis(med, x="X", m="M", y="Y", seed=42, n_boot=500,
                                          return_dist=True)
    ref = ref.set_index("path")
    r = fit_mediation(med, x="X", m="M", y="Y", n_boot=0)
    assert est(r, "a[M]") == pytest.approx(ref.loc["M ~ X", "coef"], abs=1e-10)
    assert est(r, "c") == pytest.approx(ref.loc["Total", "coef"], abs=1e-10)
    assert est(r, "c_prime") == pytest.approx(ref.loc["Direct", "coef"], abs=1e-10)
    ab = ind(r, "indirect[M]")["estimate"]
    assert ab == pytest.approx(ref.loc["Indirect", "coef"], abs=1e-10)
    # our BC formula on pingouin's own draws reproduces pingouin's interval exactly
    lo, hi = bs.bc_ci(dist, ab, 0.95)
    assert lo == ref.loc["Indirect", "CI2.5"]
    assert hi == ref.loc["Indirect", "CI97.5"]
    # docs/references.md: pingouin 0.7, seed=42, n_boot=500: SE 0.083313, BC CI
    # [0.219818, 0.537654]; percentile CI of the same draws [0.213891, 0.530932]
    assert lo == pytest.approx(0.219818, abs=5e-7)
    assert hi == pytest.approx(0.537654, abs=5e-7)
    assert np.std(dist, ddof=1) == pytest.approx(0.083313, abs=5e-7)
    plo, phi = bs.percentile_ci(dist, 0.95)
    assert (plo, phi) == pytest.approx((0.213891, 0.530932), abs=5e-7)


# -------------------------------------------------- statsmodels OLS, several mediators

def test_parallel_mediators_with_covariates_equal_statsmodels(med):
    d = med.copy()
    d["M2"] = 0.3 * d["X"] + 0.5 * d["W1"] + np.random.default_rng(3).normal(size=len(d))
    r = fit_mediation(d, x="X", m=["M", "M2"], y="Y", covariates=["W1", "W2"],
                      n_boot=0)
    W = ["W1", "W2"]
    # statsmodels OLS of each equation (reference implementation)
    fm = sm.OLS(d["M"], sm.add_constant(d[["X"] + W])).fit()
    fm2 = sm.OLS(d["M2"], sm.add_constant(d[["X"] + W])).fit()
    fy = sm.OLS(d["Y"], sm.add_constant(d[["X", "M", "M2"] + W])).fit()
    ft = sm.OLS(d["Y"], sm.add_constant(d[["X"] + W])).fit()
    p = r.paths.set_index("term")
    for term, fit, name in [("a[M]", fm, "X"), ("a[M2]", fm2, "X"), ("b[M]", fy, "M"),
                            ("b[M2]", fy, "M2"), ("c_prime", fy, "X"), ("c", ft, "X")]:
        assert p.loc[term, "estimate"] == pytest.approx(fit.params[name], abs=1e-10)
        assert p.loc[term, "std_error"] == pytest.approx(fit.bse[name], rel=1e-9)
        assert p.loc[term, "p_value"] == pytest.approx(fit.pvalues[name], rel=1e-7)
    i = r.indirect.set_index("term")["estimate"]
    assert i["indirect[M]"] == pytest.approx(fm.params["X"] * fy.params["M"], abs=1e-12)
    assert i["contrast[M-M2]"] == pytest.approx(i["indirect[M]"] - i["indirect[M2]"],
                                                abs=1e-14)
    # OLS identity: total = direct + sum of indirect effects
    assert p.loc["c", "estimate"] == pytest.approx(
        p.loc["c_prime", "estimate"] + i["indirect_total"], abs=1e-12)


def test_serial_chain_equals_statsmodels(med):
    d = med.copy()
    d["M2"] = 0.4 * d["M"] + 0.2 * d["X"] + np.random.default_rng(4).normal(size=len(d))
    r = fit_mediation(d, x="X", m=["M", "M2"], y="Y", covariates="W1", serial=True,
                      n_boot=0)
    f1 = sm.OLS(d["M"], sm.add_constant(d[["X", "W1"]])).fit()
    f2 = sm.OLS(d["M2"], sm.add_constant(d[["X", "M", "W1"]])).fit()
    fy = sm.OLS(d["Y"], sm.add_constant(d[["X", "M", "M2", "W1"]])).fit()
    ft = sm.OLS(d["Y"], sm.add_constant(d[["X", "W1"]])).fit()
    i = r.indirect.set_index("term")["estimate"]
    a1, a2, d12 = f1.params["X"], f2.params["X"], f2.params["M"]
    b1, b2 = fy.params["M"], fy.params["M2"]
    assert i["indirect[M]"] == pytest.approx(a1 * b1, abs=1e-10)
    assert i["indirect[M2]"] == pytest.approx(a2 * b2, abs=1e-10)
    assert i["indirect[M>M2]"] == pytest.approx(a1 * d12 * b2, abs=1e-10)
    assert est(r, "d[M>M2]") == pytest.approx(d12, abs=1e-10)
    # every path through the chain adds up: c = c' + total indirect
    assert ft.params["X"] == pytest.approx(fy.params["X"] + i["indirect_total"], abs=1e-12)
    assert "sobel_se" in r.indirect and np.isnan(ind(r, "indirect[M>M2]")["sobel_se"])


# ---------------------------------------------------------- fixed effects, clustering

def test_twoway_fe_equals_linearmodels_panelols():
    from linearmodels import PanelOLS

    d = make_panel(G=40, T=6, seed=1, unbalanced=0.1)
    p = lm_panel(d)
    kw = {"x": "x", "m": "m", "y": "y", "covariates": ["w1", "w2"], "entity": "city",
              "time": "quarter", "fe": "twoway", "n_boot": 0}
    r_none = fit_mediation(d, small_sample="none", **kw).paths.set_index("term")
    r_areg = fit_mediation(d, small_sample="areg", **kw).paths.set_index("term")
    G = d["city"].nunique()
    for term, dep, regs, name in [("a[m]", "m", ["x", "w1", "w2"], "x"),
                                  ("b[m]", "y", ["x", "m", "w1", "w2"], "m"),
                                  ("c_prime", "y", ["x", "m", "w1", "w2"], "x"),
                                  ("c", "y", ["x", "w1", "w2"], "x")]:
        mod = PanelOLS(p[dep], p[regs], entity_effects=True, time_effects=True)
        # linearmodels with no small-sample factor at all
        f0 = mod.fit(cov_type="clustered", cluster_entity=True, debiased=False,
                     auto_df=False, count_effects=False)
        assert r_none.loc[term, "estimate"] == pytest.approx(f0.params[name], abs=1e-10)
        assert r_none.loc[term, "std_error"] == pytest.approx(f0.std_errors[name], rel=1e-9)
        # linearmodels debiased + group_debias, effects counted: its factor
        # G/(G-1)·(n-1)/n · n/(n-k-d) is the areg convention G/(G-1)·(n-1)/(n-k-d)
        f1 = mod.fit(cov_type="clustered", cluster_entity=True, debiased=True,
                     group_debias=True, auto_df=False, count_effects=True)
        assert r_areg.loc[term, "std_error"] == pytest.approx(f1.std_errors[name], rel=1e-9)
    assert G == 40


def test_entity_and_time_fe_equal_linearmodels():
    from linearmodels import PanelOLS

    d = make_panel(G=30, T=5, seed=2)
    p = lm_panel(d)
    r = fit_mediation(d, x="x", m="m", y="y", entity="city", fe="entity", n_boot=0,
                      small_sample="none")
    f = PanelOLS(p["y"], p[["x", "m"]], entity_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=False, auto_df=False,
        count_effects=False)
    assert est(r, "b[m]") == pytest.approx(f.params["m"], abs=1e-10)
    assert r.paths.set_index("term").loc["b[m]", "std_error"] == pytest.approx(
        f.std_errors["m"], rel=1e-9)
    # time FE without an entity: classical SEs with the absorbed effects counted
    rt = fit_mediation(d, x="x", m="m", y="y", time="quarter", fe="time", n_boot=0)
    ft = PanelOLS(p["y"], p[["x", "m"]], time_effects=True).fit()  # unadjusted, debiased
    assert est(rt, "b[m]") == pytest.approx(ft.params["m"], abs=1e-10)
    assert rt.paths.set_index("term").loc["b[m]", "std_error"] == pytest.approx(
        ft.std_errors["m"], rel=1e-9)


def test_cluster_without_fe_equals_statsmodels(med):
    d = med.assign(g=np.arange(len(med)) // 4)
    r = fit_mediation(d, x="X", m="M", y="Y", cluster="g", n_boot=0)
    f = sm.OLS(d["Y"], sm.add_constant(d[["X", "M"]])).fit(
        cov_type="cluster", cov_kwds={"groups": d["g"]})  # Stata-style correction
    assert r.paths.set_index("term").loc["b[M]", "std_error"] == pytest.approx(
        f.bse["M"], rel=1e-9)


# -------------------------------------------------------------------- the bootstrap

def _naive_cluster_draws(d, idx, labels, kw):
    """Refit the whole model on each resample of whole clusters (reference loop)."""
    out = []
    groups = {g: d[d[kw["cluster"]] == g] for g in labels}
    for r in idx:
        parts = []
        for copy, gi in enumerate(r):
            part = groups[labels[gi]].copy()
            # a duplicated cluster is a new entity (Stata's idcluster())
            part[kw["cluster"]] = f"{labels[gi]}#{copy}"
            if kw.get("entity") and kw["entity"] != kw["cluster"]:
                part[kw["entity"]] = part[kw["entity"]].astype(str) + f"#{copy}"
            parts.append(part)
        bd = pd.concat(parts, ignore_index=True)
        res = fit_mediation(bd, n_boot=0, n_mc=100, **kw)
        out.append(np.concatenate([res.paths["estimate"], res.indirect["estimate"]]))
    return np.array(out)


@pytest.mark.parametrize("case", ["twoway_entity", "time_fe_entity_cluster",
                                  "entity_fe_province_cluster"])
def test_fast_bootstrap_equals_naive_refit_on_same_resamples(case):
    if case == "twoway_entity":
        d = make_panel(G=30, T=5, seed=5, unbalanced=0.15)
        kw = {"x": "x", "m": "m", "y": "y", "covariates": ["w1", "w2"], "entity": "city",
                  "time": "quarter", "fe": "twoway", "cluster": "city"}
    elif case == "time_fe_entity_cluster":  # time effects as explicit dummies
        d = make_panel(G=30, T=5, seed=6)
        kw = {"x": "x", "m": "m", "y": "y", "covariates": ["w1"], "entity": "city", "time": "quarter",
                  "fe": "time", "cluster": "city"}
    else:  # entity effects demeaned once, clusters are provinces of whole cities
        d = make_panel(G=40, T=4, seed=7, provinces=20)
        kw = {"x": "x", "m": "m", "y": "y", "entity": "city", "fe": "entity", "cluster": "prov"}
    B = 60
    res = fit_mediation(d, n_boot=B, ci="percentile", seed=123, **kw)
    labels = np.sort(d[kw["cluster"]].unique())
    idx = bs.resample_indices(123, len(labels), B)
    naive = _naive_cluster_draws(d, idx, labels, kw)
    fast = res.boot_draws[list(res.paths["term"]) + list(res.indirect["term"])].to_numpy()
    np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-10)


@pytest.mark.parametrize("serial", [False, True])
def test_fast_row_bootstrap_equals_naive_refit(med, serial):
    kw = {"x": "X", "m": ["M", "Mbin"], "y": "Y", "covariates": ["W1", "W2"],
          "serial": serial}
    B = 100
    res = fit_mediation(med, n_boot=B, ci="percentile", seed=9, **kw)
    idx = bs.resample_indices(9, len(med), B)
    naive = []
    for r in idx:
        f = fit_mediation(med.iloc[r], n_boot=0, n_mc=100, **kw)
        naive.append(np.concatenate([f.paths["estimate"], f.indirect["estimate"]]))
    fast = res.boot_draws[list(res.paths["term"]) + list(res.indirect["term"])].to_numpy()
    np.testing.assert_allclose(fast, np.array(naive), rtol=0, atol=1e-10)


def test_seed_gives_same_draws_whatever_chunk_size():
    d = make_panel(G=50, T=4, seed=8)
    kw = {"x": "x", "m": "m", "y": "y", "entity": "city", "time": "quarter", "fe": "twoway",
              "n_boot": 300, "ci": "percentile", "seed": 2024}
    r1 = fit_mediation(d, **kw)
    r2 = fit_mediation(d, chunk_size=32, **kw)  # chunks are whole blocks of 32 draws
    r3 = fit_mediation(d, chunk_size=100, **kw)
    # bit for bit, not just to rounding (check_exact)
    pd.testing.assert_frame_equal(r1.boot_draws, r2.boot_draws, check_exact=True)
    pd.testing.assert_frame_equal(r1.boot_draws, r3.boot_draws, check_exact=True)
    pd.testing.assert_frame_equal(r1.tidy(), r2.tidy(), check_exact=True)
    r4 = fit_mediation(d, **{**kw, "seed": np.random.default_rng(2024)})
    pd.testing.assert_frame_equal(r1.boot_draws, r4.boot_draws, check_exact=True)


def _balanced_panel(G, T, seed=0):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"city": np.repeat(np.arange(G), T), "t": np.tile(np.arange(T), G)})
    for c in ("x", "m", "y", "w1", "w2"):
        d[c] = rng.normal(size=G * T)
    return d


def test_bootstrap_memory_does_not_grow_with_rows_times_dummies_squared():
    """Issue #21 item 8: 600 cities × 50 periods, two-way FE, city cluster bootstrap.

    The 49 time dummies are re-estimated in every resample (they are not nested in the
    clusters), so the replicate design has 5 + 49 columns and 1,485 distinct
    cross-products. Before, they were formed for every row at once: a 30,000 × 1,485
    array (356 MB) on top of a 30,000 × 54 dummy design -- peak traced memory ~1 GB.
    Now rows are turned into per-city cross-products block by block and the dummy
    design never exists whole; the 1,225 dummy × dummy products are the same for every
    city of a balanced panel and kept once, so the table is 600 × 260 (1.2 MB), as
    small as the data themselves (30,000 × 5).
    """
    import tracemalloc

    d = _balanced_panel(600, 50)
    kw = {"x": "x", "m": "m", "y": "y", "covariates": ["w1", "w2"], "entity": "city",
          "time": "t", "fe": "twoway", "n_boot": 64, "ci": "bca", "seed": 1, "n_mc": 200}
    tracemalloc.start()
    try:
        fit_mediation(d, **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("cluster", ["city", "prov"])
def test_blocked_cross_products_equal_one_table(monkeypatch, cluster):
    """Tiny block and cache budgets (many blocks, rebuilt on every pass; provinces cut
    into pieces of whole cities) give the same draws and jackknife as one table."""
    d = make_panel(G=30, T=5, seed=5, unbalanced=0.15, provinces=6)
    kw = {"x": "x", "m": "m", "y": "y", "covariates": ["w1", "w2"], "entity": "city",
          "time": "quarter", "fe": "twoway", "n_boot": 96, "ci": "bca", "seed": 4,
          "cluster": cluster}
    one = fit_mediation(d, **kw)
    monkeypatch.setattr(bs, "CROSS_BYTES", 2_000)   # a few rows per block
    monkeypatch.setattr(bs, "CACHE_BYTES", 0)       # rebuilt on every pass
    many = fit_mediation(d, chunk_size=32, **kw)
    np.testing.assert_allclose(many.boot_draws.to_numpy(), one.boot_draws.to_numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(many.indirect[["ci_low", "ci_high"]].to_numpy(),
                               one.indirect[["ci_low", "ci_high"]].to_numpy(), rtol=1e-10)
    # and the row bootstrap (every row its own group)
    kw = {"x": "x", "m": "m", "y": "y", "covariates": ["w1"], "n_boot": 64, "ci": "bca",
          "seed": 5}
    monkeypatch.setattr(bs, "CROSS_BYTES", 10**9)
    monkeypatch.setattr(bs, "CACHE_BYTES", 10**9)
    one = fit_mediation(d, **kw)
    monkeypatch.setattr(bs, "CROSS_BYTES", 500)
    monkeypatch.setattr(bs, "CACHE_BYTES", 0)
    many = fit_mediation(d, **kw)
    np.testing.assert_allclose(many.boot_draws.to_numpy(), one.boot_draws.to_numpy(),
                               rtol=1e-12, atol=1e-12)


def _mc_tol(draws, p, B):
    # 4 sd of the difference of two independent quantile estimates with B draws each:
    # sd(q_p) ~ sqrt(p(1-p)/B) / f(q_p), f from a normal fit to the draws
    sd = np.std(draws, ddof=1)
    f = stats.norm.pdf(stats.norm.ppf(p)) / sd
    return 4 * np.sqrt(2) * np.sqrt(p * (1 - p) / B) / f


def test_intervals_agree_with_scipy_and_pingouin_within_mc_error(med):
    X, M, Y = (med[c].to_numpy() for c in ("X", "M", "Y"))

    def ab(i):
        i = np.asarray(i, dtype=int)
        one = np.ones(len(i))
        a = np.linalg.lstsq(np.column_stack([one, X[i]]), M[i], rcond=None)[0][1]
        b = np.linalg.lstsq(np.column_stack([one, X[i], M[i]]), Y[i], rcond=None)[0][2]
        return a * b

    B = 3000
    for method, ours in (("percentile", "percentile"), ("BCa", "bca")):
        ref = stats.bootstrap((np.arange(len(med)),), ab, vectorized=False, n_resamples=B,
                              method=method, rng=np.random.default_rng(11))
        r = fit_mediation(med, x="X", m="M", y="Y", n_boot=B, ci=ours, seed=12)
        row = ind(r, "indirect[M]")
        draws = r.boot_draws["indirect[M]"].to_numpy()
        for got, want, p in ((row["ci_low"], ref.confidence_interval.low, 0.025),
                             (row["ci_high"], ref.confidence_interval.high, 0.975)):
            assert abs(got - want) < _mc_tol(draws, p, B), (method, got, want)
        assert abs(row["std_error"] - ref.standard_error) < 0.1 * ref.standard_error
    # scipy has no BC interval: compare ours with pingouin's BC on independent draws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pref = pg.mediation_analysis(med, x="X", m="M", y="Y", seed=5, n_boot=B)
    pref = pref.set_index("path").loc["Indirect"]
    r = fit_mediation(med, x="X", m="M", y="Y", n_boot=B, ci="bc", seed=13)
    row = ind(r, "indirect[M]")
    draws = r.boot_draws["indirect[M]"].to_numpy()
    assert abs(row["ci_low"] - pref["CI2.5"]) < _mc_tol(draws, 0.025, B)
    assert abs(row["ci_high"] - pref["CI97.5"]) < _mc_tol(draws, 0.975, B)


def test_bca_uses_leave_one_cluster_out_jackknife():
    d = make_panel(G=40, T=4, seed=10)
    r = fit_mediation(d, x="x", m="m", y="y", entity="city", time="quarter", fe="twoway",
                      n_boot=1000, ci="bca", seed=1)
    # independent BCa: jackknife by refitting without each city
    jack = []
    for c in np.sort(d["city"].unique()):
        f = fit_mediation(d[d["city"] != c], x="x", m="m", y="y", entity="city",
                          time="quarter", fe="twoway", n_boot=0, n_mc=100)
        jack.append(f.indirect["estimate"].iloc[0])
    jack = np.array(jack)
    draws = r.boot_draws["indirect[m]"].to_numpy()
    th = ind(r, "indirect[m]")["estimate"]
    z0 = stats.norm.ppf(np.mean(draws < th))
    dj = jack.mean() - jack
    acc = (dj**3).sum() / (6 * ((dj**2).sum()) ** 1.5)  # Efron (1987) eq. 6.6
    zq = stats.norm.ppf([0.025, 0.975])
    q = stats.norm.cdf(z0 + (z0 + zq) / (1 - acc * (z0 + zq)))
    lo, hi = np.percentile(draws, 100 * q)
    assert ind(r, "indirect[m]")["ci_low"] == pytest.approx(lo, abs=1e-10)
    assert ind(r, "indirect[m]")["ci_high"] == pytest.approx(hi, abs=1e-10)


def test_monte_carlo_interval(med):
    r = fit_mediation(med, x="X", m="M", y="Y", n_boot=0, n_mc=200_000, seed=3)
    row = ind(r, "indirect[M]")
    p = r.paths.set_index("term")
    # Selig & Preacher (2008): a ~ N(a, sa^2), b ~ N(b, sb^2) independently,
    # percentile interval of a*b; an independent draw with another generator
    g = np.random.default_rng(99)
    a = g.normal(p.loc["a[M]", "estimate"], p.loc["a[M]", "std_error"], 200_000)
    b = g.normal(p.loc["b[M]", "estimate"], p.loc["b[M]", "std_error"], 200_000)
    lo, hi = np.percentile(a * b, [2.5, 97.5])
    assert row["mc_ci_low"] == pytest.approx(lo, abs=3e-3)
    assert row["mc_ci_high"] == pytest.approx(hi, abs=3e-3)
    assert row["ci_method"] == "monte_carlo"


# ----------------------------------------------------------------------- procedures

def _world(a, b, cp, n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    m = a * x + rng.normal(size=n)
    y = b * m + cp * x + rng.normal(size=n)
    return pd.DataFrame({"x": x, "m": m, "y": y})


@pytest.mark.parametrize("a,b,cp,verdict,zh", [
    (0.6, 0.5, 0.0, "full mediation", "完全中介"),
    (0.6, 0.5, 0.4, "partial mediation", "部分中介"),
    (0.6, 0.5, -0.6, "suppression", "遮掩效应"),
    (0.0, 0.5, 0.4, "no indirect effect", "中介效应不显著"),
])
def test_wen_ye_2014_verdicts(a, b, cp, verdict, zh):
    d = _world(a, b, cp, seed=1)
    r = fit_mediation(d, x="x", m="m", y="y", n_boot=1000, ci="bc", seed=1,
                      procedure="wen_ye_2014")
    assert r.procedure.verdict == verdict
    assert r.procedure.verdict_zh == zh
    steps = r.procedure.steps
    assert steps["step"].iloc[0] == 1  # always starts by testing c
    if verdict == "partial mediation":
        ratio = r.procedure.verdicts["ratio"].iloc[0]
        assert ratio == pytest.approx(ind(r, "indirect[m]")["estimate"] / est(r, "c"))
    if verdict == "suppression":
        ratio = r.procedure.verdicts["ratio"].iloc[0]
        assert ratio == pytest.approx(abs(ind(r, "indirect[m]")["estimate"]
                                          / est(r, "c_prime")))
    if verdict == "no indirect effect":
        assert 3 in set(steps["step"])  # a not significant -> bootstrap step taken
    assert verdict in str(r)


def test_jiang_2022_only_identified_equations():
    d = make_panel(G=30, T=5, seed=3)
    with pytest.warns(DtiStatWarning, match="not causally identified"):
        r = fit_mediation(d, x="x", m="m", y="y", entity="city", time="quarter",
                          fe="twoway", procedure="jiang_2022")
    assert set(r.paths["term"]) == {"a[m]", "c"}
    assert len(r.indirect) == 0 and len(r.boot_draws) == 0
    full = fit_mediation(d, x="x", m="m", y="y", entity="city", time="quarter",
                         fe="twoway", n_boot=0)
    assert est(r, "a[m]") == est(full, "a[m]")
    assert "Jiang" in r.procedure.note
    with pytest.raises(ParameterError, match="sensitivity"):
        r.sensitivity()


# ---------------------------------------------------------------------- sensitivity

def test_sensitivity_closed_form_and_independent_derivation(med):
    r = fit_mediation(med, x="X", m="M", y="Y", covariates="W1", n_boot=0)
    s = r.sensitivity(rho=[-0.5, 0.0, 0.3, 0.6])
    ab = ind(r, "indirect[M]")["estimate"]
    assert s.indirect[1] == pytest.approx(ab, abs=1e-12)  # rho = 0: the OLS a*b
    # Independent derivation (moments of the LSEM of Imai, Keele & Yamamoto 2010, §4):
    # Y - c X = gamma e_M + e_Y with corr(e_M, e_Y) = rho; solve the two moment
    # equations var(e_total) and cov(e_total, e_M) for (gamma, sd(e_Y)) numerically.
    Xd = sm.add_constant(med[["X", "W1"]])
    e1 = sm.OLS(med["Y"], Xd).fit().resid.to_numpy()
    e2 = sm.OLS(med["M"], Xd).fit().resid.to_numpy()
    n = len(e1)
    s11, s22, s12 = e1 @ e1 / n, e2 @ e2 / n, e1 @ e2 / n
    a = est(r, "a[M]")
    for rho, got in zip(s.rho, s.indirect):
        def eqs(v, rho=rho):
            gam, s3 = v
            return [gam * s22 + rho * np.sqrt(s22) * s3 - s12,
                    gam**2 * s22 + 2 * gam * rho * np.sqrt(s22) * s3 + s3**2 - s11]
        sol = optimize.root(eqs, [s12 / s22, np.sqrt(s11)], tol=1e-13)
        gam, s3 = sol.x
        assert np.abs(eqs(sol.x)).max() < 1e-13 and s3 > 0
        assert got == pytest.approx(a * gam, abs=1e-9)
    assert s.rho_zero == pytest.approx(s12 / np.sqrt(s11 * s22), abs=1e-12)
    zero = r.sensitivity(rho=s.rho_zero).indirect[0]
    assert abs(zero) < 1e-12


def test_sensitivity_recovers_truth_under_confounding():
    # Simulated: mediator and outcome errors correlated at rho0 = 0.4, true a*b = 0.2.
    # OLS a*b is biased; the IKY curve evaluated at rho0 recovers the truth.
    rng = np.random.default_rng(0)
    n, rho0 = 200_000, 0.4
    x = rng.normal(size=n)
    e = rng.multivariate_normal([0, 0], [[1, rho0], [rho0, 1]], size=n)
    m = 0.5 * x + e[:, 0]
    y = 0.4 * m + 0.1 * x + e[:, 1]
    r = fit_mediation(pd.DataFrame({"x": x, "m": m, "y": y}), x="x", m="m", y="y",
                      n_boot=0)
    assert abs(ind(r, "indirect[m]")["estimate"] - 0.2) > 0.1
    assert r.sensitivity(rho=rho0).indirect[0] == pytest.approx(0.2, abs=0.01)


# ------------------------------------------------------------------ result object

def test_result_object_and_input_untouched():
    d = make_panel(G=25, T=4, seed=4)
    d.loc[3, "w1"] = np.nan
    before = d.copy()
    with pytest.warns(DtiStatWarning):
        r = fit_mediation(d, x="x", m="m", y="y", covariates=["w1"], entity="city",
                          time="quarter", fe="twoway", n_boot=1000, missing="drop", seed=0)
    pd.testing.assert_frame_equal(d, before)
    assert isinstance(r, MediationResult)
    assert r.n_dropped == 1 and r.nobs == len(d) - 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.nobs = 3
    s = r.tidy()
    assert list(s.columns) == ["term", "estimate", "std_error", "statistic", "p_value",
                               "ci_low", "ci_high"]
    assert s["estimate"].notna().all() and s.loc[s["term"] == "indirect[m]"].shape[0] == 1
    assert set(r.to_frame()["table"]) == {"path", "indirect", "proportion"}
    text = str(r)
    assert "Indirect effects" in text and "1 row(s) with missing values" in text
    assert r.boot_draws.shape == (1000, len(r.paths) + len(r.indirect) + len(r.proportions))


# --------------------------------------------------------------------------- bad input

def test_bad_input(med):
    kw = {"x": "X", "m": "M", "y": "Y", "n_boot": 0}
    with pytest.raises(ColumnError, match="'Q'"):
        fit_mediation(med, **{**kw, "m": "Q"})
    with pytest.raises(ColumnError, match="numeric"):
        fit_mediation(med.assign(S="a"), **{**kw, "covariates": "S"})
    with pytest.raises(ParameterError, match="used twice"):
        fit_mediation(med, **{**kw, "m": "X"})
    with pytest.raises(ParameterError, match="used twice"):
        fit_mediation(med, **{**kw, "covariates": ["W1", "M"]})
    with pytest.raises(DataError, match="mediator column 'K'"):
        fit_mediation(med.assign(K=2.0), **{**kw, "m": "K"})
    with pytest.raises(DataError, match="treatment column 'K'"):
        fit_mediation(med.assign(K=1.0), **{**kw, "x": "K"})
    with pytest.raises(EstimationError, match="W3"):
        fit_mediation(med.assign(W3=2 * med["W1"] - med["W2"]),
                      **{**kw, "covariates": ["W1", "W2", "W3"]})
    nan = med.copy()
    nan.loc[5, "M"] = np.nan
    with pytest.raises(DataError, match="'M' has NaN"):
        fit_mediation(nan, **kw)
    with pytest.warns(DtiStatWarning, match="1 row"):
        assert fit_mediation(nan, missing="drop", **kw).n_dropped == 1
    with pytest.raises(ParameterError, match="ci="):
        fit_mediation(med, **{**kw, "ci": "studentized"})
    with pytest.raises(ParameterError, match="fe='entity' needs entity"):
        fit_mediation(med, **{**kw, "fe": "entity"})
    with pytest.raises(ParameterError, match="n_boot"):
        fit_mediation(med, **{**kw, "n_boot": -1})
    with pytest.raises(ParameterError, match="level"):
        fit_mediation(med, **{**kw, "level": 95})
    with pytest.warns(DtiStatWarning, match="small for BCa"):
        fit_mediation(med, x="X", m="M", y="Y", n_boot=200, ci="bca", seed=0)


def test_no_within_variation_and_few_clusters():
    d = make_panel(G=30, T=4, seed=11)
    d["xe"] = d.groupby("city")["x"].transform("mean")  # constant within city
    with pytest.raises(DataError, match="no variation within the entity fixed effects"):
        fit_mediation(d, x="xe", m="m", y="y", entity="city", fe="entity", n_boot=0)
    few = make_panel(G=12, T=5, seed=12)
    with pytest.warns(DtiStatWarning, match="only 12 clusters"):
        fit_mediation(few, x="x", m="m", y="y", entity="city", fe="entity", n_boot=0)
    tiny = make_panel(G=4, T=10, seed=12)
    with pytest.raises(DataError, match="4 clusters"):
        fit_mediation(tiny, x="x", m="m", y="y", entity="city", fe="entity", n_boot=0)


def test_singular_replicates_are_counted_and_reported():
    d = make_panel(G=40, T=4, seed=13)
    # a covariate that is non-zero in one city only: resamples without that city have
    # a zero column, i.e. a singular design
    d["rare"] = np.where(d["city"] == "c000", np.arange(len(d)) % 3 + 1.0, 0.0)
    with pytest.warns(DtiStatWarning) as rec:
        r = fit_mediation(d, x="x", m="m", y="y", covariates="rare", entity="city",
                          time="quarter", fe="twoway", n_boot=300, ci="percentile", seed=1)
    msgs = " ".join(str(w.message) for w in rec)
    assert "singular design" in msgs and "more than 5%" in msgs
    n_nan = int(r.boot_draws["indirect[m]"].isna().sum())
    # P(city not drawn) = (1 - 1/40)^40 ~ 0.36
    assert r.n_singular == n_nan and 60 < n_nan < 160
    assert "singular" in str(r)
    assert np.isfinite(ind(r, "indirect[m]")["ci_low"])


# ----------------------------------------------------------------------- coverage study

@pytest.mark.slow
def test_coverage_of_cluster_bootstrap_intervals():
    """500 simulated panels of the issue's size (300 cities × 9 quarters, two-way FE,
    city cluster bootstrap) with known a*b = 0.2: 95% BCa intervals cover 93-97%.

    (With only 60 cities × 6 quarters the same design covers about 92.5-93%: the
    cluster bootstrap, like CR0, is slightly narrow with few clusters.)
    """
    hits = 0
    reps = 500
    for rep in range(reps):
        d = make_panel(G=300, T=9, seed=10_000 + rep, a=0.5, b=0.4, cp=0.2)
        r = fit_mediation(d, x="x", m="m", y="y", covariates=["w1", "w2"], entity="city",
                          time="quarter", fe="twoway", n_boot=1000, ci="bca", seed=rep,
                          n_mc=1000)
        row = ind(r, "indirect[m]")
        hits += row["ci_low"] <= 0.2 <= row["ci_high"]
    coverage = hits / reps
    print(f"coverage of 95% BCa intervals: {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97


@pytest.mark.slow
def test_coverage_on_the_demo_world():
    """500 draws of the demo world's mediation panel (truth: a*b = 0.48 and 0.45,
    total indirect 0.93; dtistat.datasets.demo_world.truth().mediation)."""
    from dtistat.datasets.cities import load_cities
    from dtistat.datasets.demo import load_demo
    from dtistat.datasets.demo_world import simulate_mediation_panel, truth

    tr = truth().mediation
    dti, cities = load_demo().dti, load_cities()
    meds = list(tr.indirect.index)
    want = {f"indirect[{k}]": float(v) for k, v in tr.indirect.items()}
    want["indirect_total"] = tr.total_indirect
    hits = dict.fromkeys(want, 0)
    reps = 500
    for rep in range(reps):
        p = simulate_mediation_panel(cities, dti=dti, seed=20_000 + rep)
        r = fit_mediation(p, x="fi_investment", m=meds, y="fi_development",
                          covariates=["log_dti_total", "log_population",
                                      "log_gdp_per_capita"],
                          entity="city_id", time="quarter", fe="twoway", n_boot=1000,
                          ci="bca", seed=rep, n_mc=1000)
        i = r.indirect.set_index("term")
        for k, v in want.items():
            hits[k] += i.loc[k, "ci_low"] <= v <= i.loc[k, "ci_high"]
    cover = {k: h / reps for k, h in hits.items()}
    print("demo-world coverage of 95% BCa intervals:", cover)
    assert all(0.93 <= c <= 0.97 for c in cover.values())


@pytest.mark.parametrize("n_boot", [1, 2, 49])
def test_too_few_bootstrap_draws_are_refused(n_boot):
    """n_boot=1 used to give NaN SEs and n_boot=2 NaN BC intervals with only numpy
    warnings; now a ParameterError says what is needed."""
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"x": rng.normal(size=100)})
    d["m"] = d["x"] + rng.normal(size=100)
    d["y"] = d["m"] + rng.normal(size=100)
    with pytest.raises(ParameterError, match="at least 50 draws"):
        fit_mediation(d, x="x", m="m", y="y", n_boot=n_boot, ci="bc", seed=1)


def test_uncached_table_is_rebuilt_per_large_chunk_with_identical_draws(monkeypatch):
    """A table beyond CACHE_BYTES is rebuilt on every chunk of replicates; chunks then
    use REBUILD_CHUNK_BYTES (issue #21: 8 rebuilds for 999 draws at 50,000 groups made
    the bootstrap ~9x slower than the cached table), with bit-identical draws."""
    d = make_panel(G=40, T=5, seed=6, unbalanced=0.15)
    kw = {"x": "x", "m": "m", "y": "y", "covariates": ["w1"], "entity": "city",
          "time": "quarter", "fe": "twoway", "n_boot": 320, "seed": 2}
    builds = []
    orig = bs.CrossProducts._build

    def counted(self, g0, g1):
        builds.append((g0, g1))
        return orig(self, g0, g1)

    monkeypatch.setattr(bs.CrossProducts, "_build", counted)
    monkeypatch.setattr(bs, "CACHE_BYTES", 0)
    monkeypatch.setattr(bs, "CHUNK_BYTES", 1)            # one block (32) per chunk
    monkeypatch.setattr(bs, "REBUILD_CHUNK_BYTES", 0)    # as before: 10 chunks
    small = fit_mediation(d, **kw)
    n_small = len(builds)
    builds.clear()
    monkeypatch.setattr(bs, "REBUILD_CHUNK_BYTES", 10**9)  # one chunk
    large = fit_mediation(d, **kw)
    assert np.array_equal(small.boot_draws.to_numpy(), large.boot_draws.to_numpy())
    # one rebuild per chunk of replicates (other passes alike): 10 vs 1
    assert n_small - len(builds) == 9
