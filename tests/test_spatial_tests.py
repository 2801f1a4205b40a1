"""LM, LR, Wald and model-selection tests against spreg (run here) and closed forms."""

import numpy as np
import pytest
import spreg
from spreg.diagnostics_panel import panel_LMerror, panel_rLMerror, panel_rLMlag

from dtistat.spatial.models import fit_spatial
from dtistat.spatial.tests import (
    _lm_stats,
    common_factor_test,
    lm_tests,
    lr_test,
    spatial_model_selection,
)


def test_cross_section_lm_equals_spreg(stl):
    # one period, pooled (constant): spreg.OLS(spat_diag=True) LM tests (Anselin 1988,
    # Anselin et al. 1996) with sigma2 = e'e/n
    w, long, df = stl
    one = long[long["t"] == 1993]
    lm = lm_tests(one, "hr", ["rd", "pe"], entity="i", time="t", w=w, fe=None)
    ols = spreg.OLS(df[["HR8893"]].to_numpy(), df[["RDAC90", "PE87"]].to_numpy(), w=w,
                    spat_diag=True)
    assert lm.loc["LM lag", "statistic"] == pytest.approx(ols.lm_lag[0], rel=1e-10)
    assert lm.loc["LM error", "statistic"] == pytest.approx(ols.lm_error[0], rel=1e-10)
    assert lm.loc["robust LM lag", "statistic"] == pytest.approx(ols.rlm_lag[0], rel=1e-10)
    assert lm.loc["robust LM error", "statistic"] == pytest.approx(ols.rlm_error[0], rel=1e-10)
    assert lm.loc["LM lag", "p_value"] == pytest.approx(ols.lm_lag[1], rel=1e-8)


def test_panel_lm_formulas_equal_spreg_panel(stl):
    # spreg.diagnostics_panel (Elhorst 2014 forms) on pooled OLS with a constant, which
    # uses sigma2 = e'e/(NT - k); evaluate our formulas with that sigma2
    w, long, _ = stl
    y = long[["hr"]].to_numpy()
    X = long[["rd", "pe"]].to_numpy()
    ols = spreg.OLS(y, X)
    W = w.sparse
    T, N = 3, 78
    e = ols.u.ravel()
    Xc = np.column_stack([np.ones(len(y)), X])
    lag = lambda v: (W @ v.reshape(T, N).T).T.ravel()
    trw = float(W.multiply(W).sum() + W.multiply(W.T).sum())
    got = _lm_stats(e, y.ravel(), Xc, lag(ols.predy.ravel()), lag(y.ravel()), lag(e), T, trw,
                    float(ols.sig2))
    assert got["LM error"] == pytest.approx(panel_LMerror(y, X, w)[0], rel=1e-10)
    assert got["robust LM lag"] == pytest.approx(panel_rLMlag(y, X, w)[0], rel=1e-10)
    assert got["robust LM error"] == pytest.approx(panel_rLMerror(y, X, w)[0], rel=1e-10)


def test_lr_wald_and_common_factor(stl):
    w, long, _ = stl
    kw = {"entity": "i", "time": "t", "w": w, "fe": "twoway"}
    sdm = fit_spatial(long, "hr", ["rd", "pe"], model="sdm", **kw)
    sar = fit_spatial(long, "hr", ["rd", "pe"], model="sar", **kw)
    sem = fit_spatial(long, "hr", ["rd", "pe"], model="sem", **kw)
    lr = lr_test(sar, sdm)
    assert lr.statistic == pytest.approx(2 * (sdm.loglik - sar.loglik))
    assert lr.df == (2,) and 0 <= lr.p_value <= 1
    assert lr_test(sem, sdm).statistic >= -1e-8
    cf = common_factor_test(sdm)
    # closed form with the delta method written out
    b = sdm.params
    g = np.array([b["W*rd"] + b["rho"] * b["rd"], b["W*pe"] + b["rho"] * b["pe"]])
    G = np.array([[b["rho"], 0, 1, 0, b["rd"]], [0, b["rho"], 0, 1, b["pe"]]])
    ref = g @ np.linalg.solve(G @ sdm.cov.to_numpy() @ G.T, g)
    assert cf.statistic == pytest.approx(ref, rel=1e-12)


def test_model_selection_table(stl):
    w, long, _ = stl
    sel = spatial_model_selection(long, "hr", ["rd", "pe"], entity="i", time="t", w=w)
    assert list(sel.table.index) == [
        "LM lag", "robust LM lag", "LM error", "robust LM error",
        "Wald SDM vs SAR (theta = 0)", "LR SDM vs SAR", "Wald SDM vs SEM (common factor)",
        "LR SDM vs SEM"]
    assert sel.choice in {"SDM", "SAR", "SEM"}
    assert "Suggested model" in str(sel.summary())
    assert sel.table.loc["LR SDM vs SAR", "statistic"] == pytest.approx(
        2 * (sel.models["sdm"].loglik - sel.models["sar"].loglik))


def test_fixed_effects_lm_equals_lsdv_with_dummies(stl):
    # with fe="twoway" the tests equal the pooled formulas on OLS with explicit dummies
    w, long, _ = stl
    lm = lm_tests(long, "hr", ["rd", "pe"], entity="i", time="t", w=w, fe="twoway")
    T, N = 3, 78
    y = long["hr"].to_numpy()
    D = np.column_stack([np.tile(np.eye(N), (T, 1)), np.kron(np.eye(T), np.ones((N, 1)))[:, 1:]])
    Z = np.column_stack([long[["rd", "pe"]].to_numpy(), D])
    coef = np.linalg.lstsq(Z, y, rcond=None)[0]
    e = y - Z @ coef
    W = w.sparse
    lag = lambda v: (W @ v.reshape(T, N).T).T.ravel()
    trw = float(W.multiply(W).sum() + W.multiply(W.T).sum())
    ref = _lm_stats(e, y, Z, lag(Z @ coef), lag(y), lag(e), T, trw, float(e @ e) / (T * N))
    for k, v in ref.items():
        assert lm.loc[k, "statistic"] == pytest.approx(v, rel=1e-8), k


def test_lm_tests_refuse_an_exact_fit():
    # s2 = e'e / NT is the denominator of every LM statistic: an exact fit (or a constant
    # outcome) gave a raw ZeroDivisionError or statistics of rounding noise
    import pandas as pd
    from libpysal.weights import lat2W

    from dtistat.errors import DataError

    w = lat2W(5, 5)
    w.transform = "r"
    X = np.random.default_rng(0).normal(size=(6, 25))
    df = pd.DataFrame({"i": np.tile(w.id_order, 6), "t": np.repeat(range(6), 25),
                       "y": 2 * X.ravel(), "x": X.ravel()})
    with pytest.raises(DataError, match="'y' is fitted exactly by.*residual variance"):
        lm_tests(df, "y", "x", entity="i", time="t", w=w)
    with pytest.raises(DataError, match="fitted exactly"):
        lm_tests(df.assign(y=1.0), "y", "x", entity="i", time="t", w=w)
    ok = lm_tests(df.assign(y=df["y"] + np.sin(np.arange(150))), "y", "x", entity="i",
                  time="t", w=w)
    assert np.isfinite(ok["statistic"]).all()
