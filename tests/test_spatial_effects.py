"""LeSage-Pace effects: dense S_k matrices, spreg.sputils.spmultiplier, draws vs a loop."""

import libpysal
import numpy as np
import pandas as pd
import pytest
from libpysal import examples
from spreg.sputils import spmultiplier

from dtistat.errors import ParameterError
from dtistat.spatial.effects import _effects_from, _multipliers, spatial_effects
from dtistat.spatial.models import fit_spatial


def _dense_effects(W, rho, beta, theta):
    N = W.shape[0]
    inv = np.linalg.inv(np.eye(N) - rho * W)
    S = inv @ (beta * np.eye(N) + theta * W)
    d = np.trace(S) / N
    t = S.sum() / N
    return d, t - d, t


def test_point_effects_equal_dense_matrices(stl):
    w, long, _ = stl
    r = fit_spatial(long, "hr", ["rd", "pe"], entity="i", time="t", w=w, model="sdm",
                    fe="twoway")
    e = spatial_effects(r, method="delta")
    W = w.sparse.toarray()
    for var in ("rd", "pe"):
        ref = _dense_effects(W, r.rho, r.params[var], r.params[f"W*{var}"])
        got = e.table.set_index(["variable", "effect"]).loc[var, "estimate"]
        np.testing.assert_allclose(got.to_numpy(), ref, rtol=1e-10)


def test_sar_multipliers_equal_spreg(stl):
    w, long, _ = stl
    r = fit_spatial(long, "hr", ["rd", "pe"], entity="i", time="t", w=w, model="sar",
                    fe="entity")
    m = spmultiplier(w, r.rho, method="full")  # spreg 1.9 sputils.spmultiplier
    e = spatial_effects(r, method="delta").table.set_index(["variable", "effect"])
    b = r.params["rd"]
    assert e.loc[("rd", "direct"), "estimate"] == pytest.approx(b * m["adi"], rel=1e-10)
    assert e.loc[("rd", "indirect"), "estimate"] == pytest.approx(b * m["aii"], rel=1e-9)
    assert e.loc[("rd", "total"), "estimate"] == pytest.approx(b * m["ati"], rel=1e-12)


def test_not_row_standardized_w(stl):
    _, long, _ = stl
    wb = libpysal.io.open(examples.get_path("stl.gal")).read()  # binary
    W = wb.sparse.toarray() / 4.0
    ids = pd.Index(wb.id_order)
    r = fit_spatial(long, "hr", ["rd"], entity="i", time="t",
                    w=pd.DataFrame(W, index=ids, columns=ids), model="sdm")
    e = spatial_effects(r, method="delta").table
    ref = _dense_effects(W, r.rho, r.params["rd"], r.params["W*rd"])
    np.testing.assert_allclose(e["estimate"], ref, rtol=1e-9)


def test_simulation_batched_equals_loop_and_is_seeded(stl):
    w, long, _ = stl
    r = fit_spatial(long, "hr", ["rd", "pe"], entity="i", time="t", w=w, model="sdm")
    a = spatial_effects(r, n_sim=500, seed=7)
    b = spatial_effects(r, n_sim=500, seed=7)
    pd.testing.assert_frame_equal(a.table, b.table)
    # the batched evaluation against S_k built draw by draw
    rng = np.random.default_rng(0)
    theta = r.params.to_numpy()
    draws = rng.multivariate_normal(theta, r.cov.to_numpy(), size=5)
    from dtistat.spatial.effects import _coef_index

    _, bi, ti, ri = _coef_index(r)
    assert ri == len(theta) - 1
    batched = _effects_from(draws, bi, ti, _multipliers(r), ri)
    W = w.sparse.toarray()
    for d in range(5):
        for k in range(2):
            ref = _dense_effects(W, draws[d, -1], draws[d, bi[k]], draws[d, ti[k]])
            np.testing.assert_allclose(batched[d, k], ref, rtol=1e-10)
    # simulation and delta standard errors agree up to Monte Carlo error (4,000 draws)
    # and the delta method's first-order approximation of the nonlinear multipliers
    big = spatial_effects(r, n_sim=4000, seed=1).table["std_error"].to_numpy()
    dl = spatial_effects(r, method="delta").table["std_error"].to_numpy()
    np.testing.assert_allclose(big, dl, rtol=0.1)


def test_effects_refused_for_sem(stl):
    w, long, _ = stl
    r = fit_spatial(long, "hr", ["rd"], entity="i", time="t", w=w, model="sem")
    with pytest.raises(ParameterError, match="SEM"):
        r.effects()
    with pytest.raises(ParameterError, match="method"):
        fit_spatial(long, "hr", ["rd"], entity="i", time="t", w=w).effects(method="mc")


@pytest.mark.slow
def test_effects_interval_coverage():
    """Coverage of the 95% simulation intervals of SDM effects over 200 simulated panels."""
    from libpysal.weights import lat2W

    w = lat2W(6, 6)
    w.transform = "r"
    W = w.sparse.toarray()
    N, T, rho, beta, theta = 36, 8, 0.4, 1.0, 0.5
    truth = _dense_effects(W, rho, beta, theta)
    rng = np.random.default_rng(2026)
    inv = np.linalg.inv(np.eye(N) - rho * W)
    hits = np.zeros(3)
    reps = 200
    for _ in range(reps):
        X = rng.normal(size=(T, N))
        a = rng.normal(size=N)
        g = rng.normal(size=T)
        Y = np.stack([inv @ (beta * X[t] + theta * W @ X[t] + a + g[t] + rng.normal(size=N))
                      for t in range(T)])
        df = pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(range(T), N),
                           "y": Y.ravel(), "x": X.ravel()})
        r = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sdm", lee_yu=True)
        t = r.effects(n_sim=500, seed=rng).table
        hits += ((t["ci_low"] <= truth) & (truth <= t["ci_high"])).to_numpy()
    cover = hits / reps
    # binomial sd at 0.95 with 200 draws is 0.015: accept 0.90-0.99
    assert ((cover > 0.90) & (cover < 0.99)).all(), cover


def test_sparse_engine_effects_by_power_series(stl):
    # the sparse engine's traces come from a power series whose tr(W^j), j >= 3, are
    # Hutchinson estimates (100 Rademacher vectors): close to the exact eigenvalue
    # traces, not equal; totals are exact (row-standardized W)
    w, long, _ = stl
    kw = {"entity": "i", "time": "t", "w": w, "model": "sdm"}
    a = fit_spatial(long, "hr", ["rd", "pe"], logdet="eig", **kw)
    b = fit_spatial(long, "hr", ["rd", "pe"], logdet="lu", **kw)
    ea = spatial_effects(a, method="delta").table.set_index(["variable", "effect"])
    eb = spatial_effects(b, method="delta").table.set_index(["variable", "effect"])
    np.testing.assert_allclose(eb["estimate"], ea["estimate"], rtol=5e-3, atol=1e-4)
    tot = [("rd", "total"), ("pe", "total")]
    np.testing.assert_allclose(eb.loc[tot, "estimate"], ea.loc[tot, "estimate"], rtol=1e-7)
