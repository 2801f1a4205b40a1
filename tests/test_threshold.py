"""Panel threshold regression (Hansen 1999) against brute-force within regressions,
Hansen's published estimates, linearmodels and statsmodels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels import PanelOLS

from dtistat import DataError, EstimationError, ParameterError
from dtistat.errors import ColumnError
from dtistat.threshold import fit_threshold, lr_constant
from dtistat.threshold._core import Panel, ssr_path, within
from dtistat.threshold._search import HANSEN_QN, make_grid

DATA = Path(__file__).parent / "data" / "hansen1999_invest.csv.gz"


# --------------------------------------------------------------------------- references
def brute_ssr(y, X, Z, q, n, T, fixed, gammas, delete_last=False, ranks=None):
    """SSR of one within regression per candidate γ (the reference path); ``ranks``
    (a list) receives each design's rank deficiency."""
    keep = np.ones(n * T)
    if delete_last:
        keep.reshape(n, T)[:, -1] = 0
    k = keep > 0
    yw = within(y, n, T)[k]
    out = []
    for g in gammas:
        blocks = [X, Z] + [Z * (q <= f)[:, None] for f in fixed] + [Z * (q <= g)[:, None]]
        D = within(np.concatenate(blocks, axis=1), n, T)[k]
        b, _, rank, _ = np.linalg.lstsq(D, yw, rcond=None)
        e = yw - D @ b
        out.append(e @ e)
        if ranks is not None:
            ranks.append(D.shape[1] - rank)
    return np.array(out)


def brute_sequential(y, X, Z, q, n, T, grid, allowed_fn, n_thr):
    """Hansen's sequential steps by brute force: γ1, γ2 | γ1, γ1 | γ2, γ3 | (γ1r, γ2)."""
    def best(fixed, stage):
        ok = allowed_fn(fixed, stage)
        s = brute_ssr(y, X, Z, q, n, T, fixed, grid[ok])
        return grid[ok][np.argmin(s)], s.min()

    g1, s1 = best((), 1)
    out = {"Th-1": (g1, s1)}
    if n_thr >= 2:
        g2, s2 = best((g1,), 2)
        g1r, s2r = best((g2,), 2)
        out["Th-22"], out["Th-21"] = (g2, s2), (g1r, s2r)
    if n_thr == 3:
        out["Th-3"] = best(tuple(sorted((g1r, g2))), 3)
    return out


def simulated(n=40, T=6, seed=0, p=2, gammas=(0.35, 0.7), effects=(1.0, -0.5, 0.5)):
    """Balanced panel with regime-dependent slopes of z at known thresholds of q."""
    rng = np.random.default_rng(seed)
    N = n * T
    df = pd.DataFrame({"id": np.repeat(np.arange(n), T) + 100,
                       "t": np.tile(np.arange(2001, 2001 + T), n)})
    df["x1"] = rng.normal(size=N)
    df["x2"] = rng.normal(size=N) + 0.3 * df["x1"]
    df["q"] = np.round(rng.uniform(size=N), 3)
    zs = [f"z{j}" for j in range(p)]
    for z in zs:
        df[z] = rng.normal(size=N)
    reg = np.searchsorted(np.asarray(gammas), df["q"].to_numpy(), side="left")
    slope = np.asarray(effects)[reg]
    df["y"] = (0.5 * df.x1 - 0.3 * df.x2 + slope * df[zs[0]]
               + (0.2 * df[zs[1]] if p > 1 else 0) + np.repeat(rng.normal(size=n), T)
               + rng.normal(scale=0.7, size=N))
    return df


def arrays(df, zs=("z0", "z1")):
    n, T = df["id"].nunique(), df["t"].nunique()
    d = df.sort_values(["id", "t"])
    return (d["y"].to_numpy(), d[["x1", "x2"]].to_numpy(), d[list(zs)].to_numpy(),
            d["q"].to_numpy(), n, T)


# --------------------------------------------------------------------------- the constant
def test_lr_critical_value():
    # Hansen (2000, Econometrica 68:575-603), Table 1: c(0.95) = 7.35; the exact constant
    assert round(lr_constant(0.95), 4) == 7.3523
    assert lr_constant(0.90) == pytest.approx(-2 * math.log(1 - math.sqrt(0.90)))
    assert round(lr_constant(0.99), 2) == 10.59  # Hansen (2000), Table 1


# --------------------------------------------------------------------------- SSR paths
@pytest.mark.parametrize("delete_last", [False, True])
@pytest.mark.parametrize("fixed", [(), (0.5,), (0.2, 0.8)])
def test_ssr_path_equals_brute_force(fixed, delete_last):
    y, X, Z, q, n, T = arrays(simulated(seed=3))
    panel = Panel(y, X, Z, q, n, T, delete_last)
    grid = np.unique(np.r_[q, fixed])          # every distinct value: no trimming at all
    fast, base = ssr_path(panel, panel.yw[:, None], fixed, panel.cuts(grid))
    deficient = []
    ref = brute_ssr(y, X, Z, q, n, T, fixed, grid, delete_last, deficient)
    ok = np.isfinite(fast[:, 0])
    # not estimable: exactly the candidates whose design is rank deficient (a regime with
    # fewer rows than regime variables, the fixed thresholds themselves)
    np.testing.assert_array_equal(~ok, np.asarray(deficient) > 0)
    assert set(fixed) <= set(grid[~ok])
    np.testing.assert_allclose(fast[ok, 0], ref[ok], rtol=1e-10)
    # the base model: γ = inf adds a copy of Z, which leaves the SSR unchanged
    assert base[0] == pytest.approx(
        brute_ssr(y, X, Z, q, n, T, fixed, [np.inf], delete_last)[0], rel=1e-10)


def test_ssr_path_batched_outcomes():
    y, X, Z, q, n, T = arrays(simulated(seed=4))
    panel = Panel(y, X, Z, q, n, T)
    grid = np.unique(q)[20:-20:5]
    rng = np.random.default_rng(1)
    Y = within(rng.normal(size=(n * T, 3)), n, T)
    fast, _ = ssr_path(panel, Y, (0.4,), panel.cuts(grid))
    for j in range(3):
        yj = Y[:, j]
        ref = brute_ssr(yj, X, Z, q, n, T, (0.4,), grid)
        ok = np.isfinite(fast[:, j])
        np.testing.assert_allclose(fast[ok, j], ref[ok], rtol=1e-10)


# --------------------------------------------------------------------------- estimation
@pytest.fixture(scope="module")
def sim():
    return simulated(n=50, T=6, seed=11)


@pytest.fixture(scope="module")
def fit3(sim):
    return fit_threshold(sim, "y ~ x1 + x2", threshold_var="q", regime_vars=["z0", "z1"],
                         entity="id", time="t", n_thresholds=3, trim=(0.05, 0.05, 0.05),
                         grid=60, n_boot=(40, 30, 20), seed=7)


def test_sequential_estimates_equal_brute_force(sim, fit3):
    y, X, Z, q, n, T = arrays(sim)
    panel = Panel(y, X, Z, q, n, T)
    grid = make_grid(panel.q, 60, (0.05,) * 3, "q")
    ref = brute_sequential(y, X, Z, q, n, T, grid.values,
                           lambda f, s: grid.allowed(panel, f, s), 3)
    th = fit3.thresholds
    for key, (g, s) in ref.items():
        assert th.loc[key, "estimate"] == g
        assert th.loc[key, "ssr"] == pytest.approx(s, rel=1e-10)
    assert fit3.estimates == tuple(sorted((ref["Th-21"][0], ref["Th-22"][0], ref["Th-3"][0])))
    # the true thresholds 0.35 and 0.70 are found (grid spacing about 0.015)
    assert min(abs(g - 0.35) for g in fit3.estimates) < 0.03
    assert min(abs(g - 0.70) for g in fit3.estimates) < 0.03


def test_lr_curve_and_intervals_equal_brute_force(sim, fit3):
    y, X, Z, q, n, T = arrays(sim)
    sigma_df = n * (T - 1)
    c = -2 * math.log(1 - math.sqrt(0.95))
    curve = fit3.lr_curve(2)           # γ2 given γ1
    g1 = fit3.thresholds.loc["Th-1", "estimate"]
    ssr = brute_ssr(y, X, Z, q, n, T, (g1,), curve["gamma"].to_numpy())
    np.testing.assert_allclose(curve["ssr"], ssr, rtol=1e-10)
    lr = (ssr - ssr.min()) / (ssr.min() / sigma_df)
    np.testing.assert_allclose(curve["lr"], lr, rtol=1e-8, atol=1e-9)
    inside = curve["gamma"].to_numpy()[lr <= c]
    row = fit3.thresholds.loc["Th-22"]
    assert (row["ci_low"], row["ci_high"]) == (inside.min(), inside.max())
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]


def test_f_statistics(sim, fit3):
    y, X, Z, q, n, T = arrays(sim)
    th = fit3.thresholds
    s0 = brute_ssr(y, X, Z, q, n, T, (), [np.inf])[0]  # γ = inf: no threshold at all
    s = [s0, th.loc["Th-1", "ssr"], th.loc["Th-21", "ssr"], th.loc["Th-3", "ssr"]]
    s2 = th.loc["Th-22", "ssr"]
    df = n * (T - 1)
    F = fit3.tests["F"]
    assert F["Single"] == pytest.approx((s[0] - s[1]) / (s[1] / df), rel=1e-9)
    assert F["Double"] == pytest.approx((s[1] - s2) / (s2 / df), rel=1e-9)
    assert F["Triple"] == pytest.approx((s[2] - s[3]) / (s[3] / df), rel=1e-9)
    assert fit3.tests.loc["Single", "p_value"] < 0.05  # two real thresholds
    assert list(fit3.tests["n_boot"]) == [40, 30, 20]


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_draws_equal_brute_force(sim):
    """Each batched bootstrap F equals a brute-force sequential search on that draw."""
    res = fit_threshold(sim, y="y", x=["x1", "x2"], threshold_var="q", regime_vars="z0",
                        entity="id", time="t", n_thresholds=2, trim=0.05, grid=40,
                        n_boot=(3, 3), seed=5)
    y, X, Z, q, n, T = arrays(sim, zs=("z0",))
    panel = Panel(y, X, Z, q, n, T)
    grid = make_grid(q, 40, (0.05, 0.05), "q")
    rng = np.random.default_rng(5)
    g1 = res.thresholds.loc["Th-1", "estimate"]
    for k, fixed in ((1, ()), (2, (g1,))):
        idx = rng.integers(0, n, size=(3, n))
        D = within(np.concatenate([X, Z] + [Z * (q <= f)[:, None] for f in fixed], 1), n, T)
        yw = within(y, n, T)
        e = yw - D @ np.linalg.lstsq(D, yw, rcond=None)[0]
        for b in range(3):
            ystar = (yw - e) + e.reshape(n, T)[idx[b]].ravel()
            steps = brute_sequential(ystar, X, Z, q, n, T, grid.values,
                                     lambda f, s: grid.allowed(panel, f, s), k)
            s_null = (brute_ssr(ystar, X, Z, q, n, T, (), [np.inf])[0] if k == 1
                      else steps["Th-1"][1])
            s_alt = steps["Th-1"][1] if k == 1 else steps["Th-22"][1]
            F = (s_null - s_alt) / (s_alt / (n * (T - 1)))
            got = res.boot_F["Single" if k == 1 else "Double"][b]
            assert got == pytest.approx(F, rel=1e-8)


def test_bootstrap_reproducible_and_n_jobs_free(sim):
    kw = {"y": "y", "x": ["x1"], "threshold_var": "q", "regime_vars": "z0", "entity": "id",
          "time": "t", "grid": 30, "n_boot": 25, "seed": 3}
    a = fit_threshold(sim, **kw)
    b = fit_threshold(sim, **kw, n_jobs=2)
    np.testing.assert_array_equal(a.boot_F["Single"], b.boot_F["Single"])
    t = a.tests.loc["Single"]
    draws = np.sort(a.boot_F["Single"])
    assert t["p_value"] == np.mean(draws > t["F"])
    # Hansen's order statistics: the ceil(0.95 B)-th smallest draw
    assert t["crit5"] == draws[math.ceil(0.95 * 25) - 1]
    c = fit_threshold(sim, **{**kw, "seed": np.random.default_rng(3)})
    np.testing.assert_array_equal(a.boot_F["Single"], c.boot_F["Single"])


def test_bootstrap_memory_is_chunked_over_draws(monkeypatch):
    """Issue #21 (same class as item 8): the bootstrap held every draw's outcomes and
    their transforms as (rows × n_boot) arrays at once -- 2,000 entities × 10 periods ×
    200 draws peaked at ~250 MiB traced (1e6 rows × 300 draws: ~14 GiB). Draws now go
    in chunks of a fixed working-set budget, drawn from the generator in order, so the
    F draws are those of one big batch (same stream, same numbers)."""
    import tracemalloc

    from dtistat.threshold import _search

    d = simulated(n=2000, T=10, seed=5)
    kw = {"y": "y", "x": ["x1"], "threshold_var": "q", "regime_vars": "z0",
          "entity": "id", "time": "t", "grid": 40, "n_boot": 200, "seed": 3}
    tracemalloc.start()
    try:
        a = fit_threshold(d, **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 96 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"
    monkeypatch.setattr(_search, "BOOT_BYTES", 10**12)  # one batch of all draws
    b = fit_threshold(d, **kw)
    np.testing.assert_allclose(a.boot_F["Single"], b.boot_F["Single"], rtol=1e-10)
    assert a.tests.loc["Single", "p_value"] == b.tests.loc["Single", "p_value"]


def test_design_cache_is_bounded_in_bytes(monkeypatch):
    """The bootstrap of a second threshold computes a base design (an N × K basis) per
    distinct first-threshold estimate among the draws; the cache kept up to 4,096 of
    them whatever N (with no threshold in the data, 200,000 rows × 2 thresholds × 100
    draws peaked at 557 MiB). Bounded by bytes now, and a recomputed entry is equal."""
    from dtistat.threshold import _core

    monkeypatch.setattr(_core, "DESIGN_CACHE_BYTES", 4 * 2**20, raising=False)
    y, X, Z, q, n, T = arrays(simulated(n=500, T=8, seed=4))
    panel = Panel(y, X, Z, q, n, T)
    grid = make_grid(panel.q, 60, (0.05,), "q")
    cuts = panel.cuts(grid.values)
    first = panel.design_terms((float(grid.values[10]),), cuts)
    for g in grid.values[:60]:
        panel.design_terms((float(g),), cuts)
    kept = sum(a.nbytes for hit in panel._design_cache.values() for a in hit)
    assert 0 < kept <= 4 * 2**20
    again = panel.design_terms((float(grid.values[10]),), cuts)  # evicted, recomputed
    for u, v in zip(first, again):
        np.testing.assert_array_equal(u, v)


# --------------------------------------------------------------------------- Hansen 1999
@pytest.fixture(scope="module")
def hansen():
    """Hansen's (1999) 565 firms, 1973-1987, with his one-year lags (14 years used)."""
    d = pd.read_csv(DATA)
    g = d.groupby("firm")
    for c in ("q", "c", "d"):
        d[c + "1"] = g[c].shift(1)
    d = d.dropna().copy()
    d["q2"], d["q3"], d["qd1"] = d.q1 ** 2, d.q1 ** 3, d.q1 * d.d1
    return d


def test_hansen_1999_thresholds(hansen):
    res = fit_threshold(hansen, "i ~ q1 + q2 + q3 + d1 + qd1", threshold_var="d1",
                        regime_vars="c1", entity="firm", time="year", n_thresholds=2,
                        trim=0.01, grid="hansen", n_boot=0, transform="hansen")
    th = res.thresholds["estimate"]
    # Hansen (1999, J. Econometrics 93:345-368), Section 5: debt-to-assets thresholds
    # 0.0157 and 0.5362 (his program: demeaning, one period deleted, 400 quantiles)
    assert round(th["Th-1"], 4) == 0.0157
    assert round(th["Th-22"], 4) == 0.5362
    assert round(th["Th-21"], 4) == 0.0157
    assert res.nobs == 565 * 13 and res.n_periods == 14
    assert res.tests["p_value"].isna().all()
    # the grid is Hansen's: 400 (1 - 2 trim) = 392 quantiles of the distinct values
    assert len(res.lr_curve(1)) <= round(HANSEN_QN * 0.98)
    # SSR path on his data, with his transformation, equals brute force at a few points
    curve = res.lr_curve(1).iloc[::60]
    d = hansen.sort_values(["firm", "year"])
    X = d[["q1", "q2", "q3", "d1", "qd1"]].to_numpy()
    ref = brute_ssr(d.i.to_numpy(), X, d[["c1"]].to_numpy(), d.d1.to_numpy(), 565, 14, (),
                    curve["gamma"].to_numpy(), delete_last=True)
    np.testing.assert_allclose(curve["ssr"], ref, rtol=1e-10)


def test_wang_2015_triple_command_on_hansen_data(hansen):
    """Wang's (2015) xthreg example, thnum(3) grid(400) trim(0.01 0.01 0.05) bs(300 300
    300), runs through: bootstrap draws whose first two thresholds leave a regime below
    5% (trim 0.01 allows it) still place a third threshold inside a larger regime."""
    res = fit_threshold(hansen, "i ~ q1 + q2 + q3 + d1 + qd1", threshold_var="d1",
                        regime_vars="c1", entity="firm", time="year", n_thresholds=3,
                        trim=(0.01, 0.01, 0.05), grid=400, n_boot=(300, 300, 300), seed=1)
    for test, draws in res.boot_F.items():
        assert len(draws) == 300 and np.isfinite(draws).all() and (draws >= 0).all(), test
    # Th-1 on the quantile grid is a neighbour of Hansen's 0.0157 (his grid: 0.0157)
    assert abs(res.thresholds.loc["Th-1", "estimate"] - 0.0157) < 0.001


def test_trim_rule_only_guards_the_regime_being_split():
    """The quantile grid's rule, counted directly: a candidate is open iff both regimes
    it splits off hold at least ceil(trim N) rows, even when a regime it leaves alone
    is smaller than that."""
    rng = np.random.default_rng(4)
    n, T = 50, 4
    q = rng.uniform(size=n * T)
    panel = Panel(rng.normal(size=n * T), np.empty((n * T, 0)), rng.normal(size=(n * T, 1)),
                  q, n, T)
    g = make_grid(q, 100, (0.01, 0.01, 0.1), "q")
    fixed = tuple(np.sort(q)[[100, 195]])   # regimes of 101, 95 and 4 rows (< 10% of 200)
    need = math.ceil(0.1 * n * T)
    edges = [-np.inf, *fixed, np.inf]
    expect = []
    for gam in g.values:
        j = np.searchsorted(edges, gam, side="left")   # gam in (edges[j-1], edges[j]]
        lo, hi = edges[j - 1], edges[j]
        expect.append(((q > lo) & (q <= gam)).sum() >= need
                      and ((q > gam) & (q <= hi)).sum() >= need)
    got = g.allowed(panel, fixed, 3)
    np.testing.assert_array_equal(got, expect)
    assert got.any()


def test_hansen_1999_against_pdR_ptm(hansen):
    """R pdR 1.9.3 (Hansen's program ported to R), run once on the same data:

    source("ptm.R")  # pdR 1.9.3, R 4.2.2; y, c1, d1, x = i, c, d, (q, q^2, q^3, d, qd) lagged
    yt <- tr(y, 14, 565); ct <- tr(c1, 14, 565); xt <- tr(x[, j], 14, 565) for each j
    sse_calc(yt, cbind(xt, ct)); thr_sse(yt, 0.0157, 0, ...); thr_sse(yt, 0.53616, 0.0157, ...)
    and pdR's model() regression at the threshold 0.0157 (beta, White standard errors).

    pdR, as Hansen's program, puts q < γ in the lower regime: its SSR at a grid value γ is
    the SSR under q <= γ- (the largest distinct value below γ), which dtistat computes.
    """
    from dtistat.threshold._fit import _coefficients

    d = hansen.sort_values(["firm", "year"])
    X = d[["q1", "q2", "q3", "d1", "qd1"]].to_numpy()
    q = d.d1.to_numpy()
    panel = Panel(d.i.to_numpy(), X, d[["c1"]].to_numpy(), q, 565, 14, delete_last=True)
    below = lambda g: np.unique(q)[np.unique(q) < g][-1]
    s1, s0 = ssr_path(panel, panel.yw[:, None], (), panel.cuts(np.array([below(0.0157)])))
    s2, _ = ssr_path(panel, panel.yw[:, None], (below(0.0157),),
                     panel.cuts(np.array([below(0.53616)])))
    assert s0[0] == pytest.approx(16.59122009855, rel=1e-11)
    assert s1[0, 0] == pytest.approx(16.51779541917, rel=1e-11)
    assert s2[0, 0] == pytest.approx(16.4599794682475, rel=1e-11)
    names = ["q1", "q2", "q3", "d1", "qd1", "c1 lo", "c1 hi"]
    params, cov, _, _ = _coefficients(panel, (below(0.0157),), names, "robust", "none",
                                      np.repeat(np.arange(565), 14))
    beta = [0.0104775609467062, -0.000199734175555854, 1.05462551134176e-06,
            -0.0254456948672043, 0.00142421786464863, 0.0588684339693336,
            0.0904234944430299]
    white = [0.00192098620404527, 6.52670536345786e-05, 4.56955620637009e-07,
             0.00678479500986259, 0.00197977325035706, 0.0138029597800735,
             0.0115933183548342]
    np.testing.assert_allclose(params.to_numpy(), beta, rtol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(cov.to_numpy())), white, rtol=1e-9)


# --------------------------------------------------------------------------- coefficients
def test_coefficients_equal_linearmodels_and_lsdv(sim):
    res = fit_threshold(sim, "y ~ x1 + x2", threshold_var="q", regime_vars="z0",
                        entity="id", time="t", grid=40, n_boot=0, cov="cluster",
                        small_sample="linearmodels")
    g = res.estimates[0]
    p = sim.set_index(["id", "t"]).copy()
    p["lo"], p["hi"] = p.z0 * (p.q <= g), p.z0 * (p.q > g)
    lm = PanelOLS(p.y, p[["x1", "x2", "lo", "hi"]], entity_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    np.testing.assert_allclose(res.params.to_numpy(), lm.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.std_errors.to_numpy(), lm.std_errors.to_numpy(),
                               rtol=1e-8)
    assert list(res.params.index) == ["x1", "x2", f"z0 [q<={g:.6g}]", f"z0 [q>{g:.6g}]"]
    # xtreg, fe (unadjusted) = least squares with entity dummies (statsmodels)
    un = fit_threshold(sim, "y ~ x1 + x2", threshold_var="q", regime_vars="z0",
                       entity="id", time="t", grid=40, n_boot=0, cov="unadjusted")
    dums = pd.get_dummies(sim["id"], dtype=float).to_numpy()
    Xd = np.column_stack([p[["x1", "x2", "lo", "hi"]].to_numpy(), dums])
    ols = sm.OLS(p.y.to_numpy(), Xd).fit()
    np.testing.assert_allclose(un.std_errors.to_numpy(), ols.bse[:4], rtol=1e-8)
    assert un.df_inference == ols.df_resid


# --------------------------------------------------------------------------- results
def test_result_protocol(fit3):
    s = fit3.summary()
    assert list(s.tables) == ["门槛效应检验", "门槛估计值", "门槛模型回归结果"]
    assert list(s.tables["门槛效应检验"].index) == ["单一门槛", "双重门槛", "三重门槛"]
    en = fit3.summary(lang="en")
    assert "Threshold effect tests" in str(en) and "\\toprule" in en.as_latex()
    assert repr(fit3).startswith("<ThresholdResult: 3 threshold(s) in q")
    assert list(fit3.thresholds.index) == ["Th-1", "Th-21", "Th-22", "Th-3"]
    assert list(fit3.tidy().columns)[:2] == ["term", "estimate"]
    assert fit3.regimes().shape == (4, 2)
    with pytest.raises(ParameterError, match="available"):
        fit3.lr_curve(4)
    with pytest.raises(ParameterError):
        fit3.summary(lang="fr")


def test_plot_lr(fit3):
    fig = fit3.plot_lr()
    assert len(fig.axes) == 4
    ys = [ln.get_ydata() for ln in fig.axes[0].get_lines()]
    assert any(np.allclose(y, lr_constant(0.95)) for y in ys)
    # issue #21: the legend sat over the LR curves; now one legend below the panels
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    assert len(fig.legends) == 1 and all(a.get_legend() is None for a in fig.axes)
    box = fig.legends[0].get_window_extent()
    for a in fig.axes:
        assert not box.overlaps(a.get_window_extent())  # not on any panel
        assert not box.overlaps(a.xaxis.label.get_window_extent())
    from dtistat._plotting import pyplot

    pyplot().close(fig)


# --------------------------------------------------------------------------- bad input
def _kw(**over):
    kw = {"y": "y", "x": ["x1"], "threshold_var": "q", "regime_vars": "z0", "entity": "id",
          "time": "t", "grid": 30, "n_boot": 0}
    kw.update(over)
    return kw


def test_bad_input(sim):
    before = sim.copy()
    with pytest.raises(DataError, match="unbalanced panel"):
        fit_threshold(sim.iloc[1:], **_kw())
    few = sim.assign(q=(sim.index % 2).astype(float))
    with pytest.raises(DataError, match="distinct value"):
        fit_threshold(few, **_kw(grid="hansen"))
    with pytest.raises(DataError, match="distinct value"):
        fit_threshold(few, **_kw())
    with pytest.raises(ParameterError, match="trim"):
        fit_threshold(sim, **_kw(trim=0.5))
    with pytest.raises(ParameterError, match="trim"):
        fit_threshold(sim, **_kw(trim=(0.1, 0.1)))
    with pytest.raises(EstimationError, match="no grid point is left for threshold 3"):
        fit_threshold(sim, **_kw(n_thresholds=3, trim=0.3))
    fixed = sim.assign(z0=sim["id"].astype(float))
    with pytest.raises(EstimationError, match="absorbed by the entity fixed effects"):
        fit_threshold(fixed, **_kw())
    with pytest.raises(ParameterError, match="n_thresholds"):
        fit_threshold(sim, **_kw(n_thresholds=4))
    with pytest.raises(ParameterError, match="both a regime variable and a control"):
        fit_threshold(sim, **_kw(x=["x1", "z0"]))
    with pytest.raises(ParameterError, match="cov"):
        fit_threshold(sim, **_kw(cov="driscoll-kraay"))
    with pytest.raises(ColumnError, match="nope"):
        fit_threshold(sim, **_kw(regime_vars="nope"))
    nan = sim.copy()
    nan.loc[5, "q"] = np.nan
    with pytest.raises(DataError, match="NaN"):
        fit_threshold(nan, **_kw())
    with pytest.raises(DataError, match="duplicate"):
        fit_threshold(pd.concat([sim, sim.iloc[:1]]), **_kw())
    with pytest.raises(ParameterError, match="grid"):
        fit_threshold(sim, **_kw(grid=3))
    with pytest.raises(ParameterError, match="n_boot"):
        fit_threshold(sim, **_kw(n_boot=-1))
    pd.testing.assert_frame_equal(sim, before)


# --------------------------------------------------------------------------- size, power
def _mc_panel(rng, n, T, effect):
    N = n * T
    df = pd.DataFrame({"id": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n)})
    df["x1"] = rng.normal(size=N)
    df["q"] = rng.uniform(size=N)
    df["z0"] = rng.normal(size=N)
    slope = 1.0 + effect * (df["q"].to_numpy() > 0.5)
    df["y"] = (0.5 * df.x1 + slope * df.z0 + np.repeat(rng.normal(size=n), T)
               + rng.normal(size=N))
    return df


@pytest.mark.slow
def test_bootstrap_size_and_power():
    """Monte Carlo: rejection rate of the single-threshold F test at 5%.

    Under no threshold the bootstrap test should reject about 5% of the time (Hansen 1999,
    Theorem 2: the bootstrap p-value is asymptotically uniform); with a slope change of
    0.5 at q = 0.5 it should reject nearly always.
    """
    rng = np.random.default_rng(2024)
    reps, n, T = 200, 80, 5
    kw = {"y": "y", "x": ["x1"], "threshold_var": "q", "regime_vars": "z0", "entity": "id",
          "time": "t", "grid": 50, "trim": 0.05, "n_boot": 99}
    p_null = np.array([fit_threshold(_mc_panel(rng, n, T, 0.0), seed=int(rng.integers(1e9)),
                                     **kw).tests.loc["Single", "p_value"]
                       for _ in range(reps)])
    size = np.mean(p_null < 0.05)
    # binomial(200, 0.05): sd 0.015; a band of about 3 sd
    assert 0.01 <= size <= 0.10, size
    # the p-values spread over (0, 1) as a uniform would (Kolmogorov-Smirnov, 1%)
    from scipy import stats

    assert stats.kstest(p_null, "uniform").pvalue > 0.01
    p_alt = np.array([fit_threshold(_mc_panel(rng, n, T, 0.5), seed=int(rng.integers(1e9)),
                                    **kw).tests.loc["Single", "p_value"]
                      for _ in range(60)])
    assert np.mean(p_alt < 0.05) >= 0.9


# --------------------------------------------------------------------------- demo
def test_demo_section_recovers_the_simulated_threshold():
    from dtistat.datasets.demo_threshold import TRUTH
    from dtistat.report import _Context
    from dtistat.reporting.threshold import section

    sec = section(_Context(2023))
    tables = {name: frame for name, frame, _ in sec.tables}
    th = tables["threshold_estimates"].set_index("model")
    lo, hi = th.loc["Th-1", ["ci_low", "ci_high"]]
    assert lo - 0.02 <= TRUTH["gamma"] <= hi + 0.02   # grid spacing about 0.02
    tests = tables["threshold_tests"].set_index("门槛数")
    assert tests.loc["单一门槛", "P值"] < 0.01 and tests.loc["双重门槛", "P值"] > 0.05
    co = tables["threshold_coefficients"].dropna(subset=["truth"]).iloc[2:]
    assert ((co["ci_low"] <= co["truth"]) & (co["truth"] <= co["ci_high"])).all()
    from dtistat._plotting import pyplot

    for _, fig, _ in sec.figures:
        pyplot().close(fig)


def test_formula_transforms_equal_precomputed_columns():
    """The formula goes through dtistat.formula: log() of a control equals the same
    model with the logged column precomputed."""
    rng = np.random.default_rng(5)
    n, T = 40, 5
    d = pd.DataFrame({"id": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n),
                      "q": rng.uniform(size=n * T), "z": rng.normal(size=n * T),
                      "c": rng.uniform(1, 3, size=n * T)})
    d["y"] = np.where(d["q"] <= 0.5, 1.0, 2.0) * d["z"] + np.log(d["c"]) + rng.normal(
        size=n * T)
    kw = dict(threshold_var="q", regime_vars="z", entity="id", time="t", grid=30,
              n_boot=0, seed=1)
    a = fit_threshold(d, "y ~ log(c)", **kw)
    b = fit_threshold(d.assign(lc=np.log(d["c"])), "y ~ lc", **kw)
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-12)
    assert a.params.index[0] == "log(c)"
