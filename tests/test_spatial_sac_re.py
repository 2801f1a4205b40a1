"""SAC, SDEM and random-effects spatial panels against brute-force likelihoods written
with dense matrices, and their standard errors against the general Gaussian information
matrix computed numerically; the spatial Hausman test."""

import numpy as np
import pandas as pd
import pytest
from libpysal.weights import lat2W
from scipy.linalg import helmert
from scipy.optimize import minimize
from scipy.stats import multivariate_normal

from dtistat.errors import DtiStatError, ParameterError
from dtistat.spatial import (
    fit_spatial,
    spatial_effects,
    spatial_hausman,
    spatial_model_selection,
)


def _panel(seed=0, side=4, T=5, rho=0.3, lam=0.4, theta=0.6, sig_mu=0.0, fe_shift=1.0):
    w = lat2W(side, side, rook=False)
    w.transform = "r"
    W = w.sparse.toarray()
    N = W.shape[0]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(T, N, 2))
    a = fe_shift * rng.normal(size=N) + sig_mu * rng.normal(size=N)
    d = rng.normal(size=T) * fe_shift
    Y = np.empty((T, N))
    for t in range(T):
        u = np.linalg.solve(np.eye(N) - lam * W, rng.normal(0, 0.7, N))
        mu = 1.0 + X[t] @ [1.0, -0.5] + theta * W @ X[t, :, 0] + a + d[t]
        Y[t] = np.linalg.solve(np.eye(N) - rho * W, mu + u)
    long = pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(np.arange(T), N),
                         "y": Y.ravel(), "x1": X[..., 0].ravel(), "x2": X[..., 1].ravel()})
    return w, W, long, Y, X


def _dummies(N, T, fe):
    D = []
    if fe in ("entity", "twoway"):
        D.append(np.tile(np.eye(N), (T, 1)))
    if fe in ("time", "twoway"):
        D.append(np.kron(np.eye(T), np.ones((N, 1)))[:, 1 if fe == "twoway" else 0:])
    return D


def _bruteforce_lsdv(W, Y, X, fe, model):
    """Full Gaussian logL of SAC / SDEM with explicit dummies, maximized by BFGS."""
    T, N = Y.shape
    Xl = np.vstack([np.column_stack([X[t], W @ X[t, :, 0]]) if model == "sdem" else X[t]
                    for t in range(T)])
    Z = np.column_stack([Xl] + _dummies(N, T, fe))
    y = Y.ravel()
    IW = np.kron(np.eye(T), W)
    k = Xl.shape[1]
    lag = model == "sac"

    def nll(p):
        rho = p[-3] if lag else 0.0
        lam, s2 = p[-2], np.exp(p[-1])
        e = y - rho * IW @ y - Z @ p[:-3]
        e = e - lam * IW @ e
        ld = T * (np.linalg.slogdet(np.eye(N) - rho * W)[1]
                  + np.linalg.slogdet(np.eye(N) - lam * W)[1])
        return -(-len(y) / 2 * np.log(2 * np.pi * s2) - e @ e / (2 * s2) + ld)

    start = np.r_[np.linalg.lstsq(Z, y, rcond=None)[0], 0.1, 0.1, 0.0]
    res = minimize(nll, start, method="BFGS", options={"gtol": 1e-9, "maxiter": 50000})
    return res.x[:k], res.x[-3], res.x[-2], np.exp(res.x[-1]), -res.fun


@pytest.mark.parametrize("model,fe", [("sac", "twoway"), ("sac", "entity"),
                                      ("sdem", "twoway"), ("sdem", "time")])
def test_sac_sdem_equal_bruteforce_lsdv(model, fe):
    w, W, long, Y, X = _panel(seed=1)
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model=model, fe=fe,
                    durbin=["x1"] if model == "sdem" else None)
    beta, rho, lam, s2, ll = _bruteforce_lsdv(W, Y, X, fe, model)
    assert r.params["lambda"] == pytest.approx(lam, abs=1e-5)
    if model == "sac":
        assert r.params["rho"] == pytest.approx(rho, abs=1e-5)
        np.testing.assert_allclose(r.params.to_numpy()[:-2], beta, atol=1e-5)
    else:
        np.testing.assert_allclose(r.params.to_numpy()[:-1], beta, atol=1e-5)
    assert r.sigma2 == pytest.approx(s2, rel=1e-5)
    assert r.loglik == pytest.approx(ll, rel=1e-8)


def _gaussian_info(mu, Sigma, theta, h=1e-6):
    """mu_i' S^-1 mu_j + tr(S^-1 S_i S^-1 S_j) / 2 with central differences."""
    p = len(theta)
    dmu, dS = [], []
    for i in range(p):
        e = np.zeros(p)
        e[i] = h * max(1.0, abs(theta[i]))
        dmu.append((mu(theta + e) - mu(theta - e)) / (2 * e[i]))
        dS.append((Sigma(theta + e) - Sigma(theta - e)) / (2 * e[i]))
    Si = np.linalg.inv(Sigma(theta))
    info = np.empty((p, p))
    for i in range(p):
        for j in range(p):
            info[i, j] = dmu[i] @ Si @ dmu[j] + 0.5 * np.trace(Si @ dS[i] @ Si @ dS[j])
    return info


@pytest.mark.parametrize("fe", ["entity", "twoway"])
def test_sac_standard_errors_equal_gaussian_information(fe):
    # Lee-Yu: the transformed model is plain ML without incidental parameters, so its
    # information matrix is the general Gaussian one, computed here by brute force
    w, W, long, Y, X = _panel(seed=2, T=4)
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model="sac", fe=fe,
                    lee_yu=True)
    T, N = Y.shape
    FT = helmert(T).T
    FN = helmert(N).T if fe == "twoway" else np.eye(N)
    Ws = FN.T @ W @ FN
    n = Ws.shape[0]
    Xs = np.einsum("ts,tnk,nm->smk", FT, X, FN).reshape(-1, 2)
    Ts = T - 1
    I = np.eye(n)

    def mu(th):
        A = np.kron(np.eye(Ts), I - th[2] * Ws)
        return np.linalg.solve(A, Xs @ th[:2])

    def Sigma(th):
        G = np.kron(np.eye(Ts), (I - th[3] * Ws) @ (I - th[2] * Ws))
        Gi = np.linalg.inv(G)
        return th[4] * Gi @ Gi.T

    theta = np.r_[r.params.to_numpy(), r.sigma2]
    V = np.linalg.inv(_gaussian_info(mu, Sigma, theta))
    np.testing.assert_allclose(r.cov_full.to_numpy(), V, rtol=1e-5, atol=1e-10)
    # spatial_hausman's common-sigma2 covariance: the same information at 1.3 sigma2
    from dtistat.spatial.random import _fixed_cov

    V13 = np.linalg.inv(_gaussian_info(mu, Sigma, np.r_[theta[:4], 1.3 * r.sigma2]))
    np.testing.assert_allclose(_fixed_cov(r, 1.3 * r.sigma2).to_numpy(), V13[:4, :4],
                               rtol=1e-5, atol=1e-10)
    # and the estimates maximize the same dense likelihood (BFGS from a perturbed start)
    y = np.einsum("ts,tn,nm->sm", FT, Y, FN).ravel()

    def nll(th):
        th = np.r_[th[:4], np.exp(th[4])]
        return -multivariate_normal.logpdf(y, mu(th), Sigma(th))

    start = np.r_[theta[:4] + 0.05, np.log(theta[4]) + 0.1]
    res = minimize(nll, start, method="BFGS", options={"gtol": 1e-8})
    np.testing.assert_allclose(res.x[:4], theta[:4], atol=2e-5)
    assert np.exp(res.x[4]) == pytest.approx(r.sigma2, rel=1e-4)
    assert -res.fun == pytest.approx(r.loglik, rel=1e-9)


def test_sdem_effects_are_its_coefficients():
    w, W, long, Y, X = _panel(seed=3)
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model="sdem",
                    durbin=["x1"])
    e = spatial_effects(r, method="delta").table.set_index(["variable", "effect"])
    p, se = r.params, r.std_errors
    assert e.loc[("x1", "direct"), "estimate"] == pytest.approx(p["x1"], rel=1e-12)
    assert e.loc[("x1", "indirect"), "estimate"] == pytest.approx(p["W*x1"], rel=1e-12)
    assert e.loc[("x2", "indirect"), "estimate"] == 0.0
    tot = np.sqrt(r.cov.loc["x1", "x1"] + r.cov.loc["W*x1", "W*x1"]
                  + 2 * r.cov.loc["x1", "W*x1"])
    assert e.loc[("x1", "total"), "std_error"] == pytest.approx(tot, rel=1e-10)
    assert e.loc[("x1", "direct"), "std_error"] == pytest.approx(se["x1"], rel=1e-10)
    sim = spatial_effects(r, n_sim=4000, seed=1).table.set_index(["variable", "effect"])
    assert sim.loc[("x1", "total"), "std_error"] == pytest.approx(tot, rel=0.05)


def test_sac_effects_as_sar():
    w, W, long, Y, X = _panel(seed=4)
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model="sac")
    rho, b = r.params["rho"], r.params["x1"]
    S = np.linalg.inv(np.eye(len(W)) - rho * W) * b
    e = spatial_effects(r, method="delta").table.set_index(["variable", "effect"])
    assert e.loc[("x1", "direct"), "estimate"] == pytest.approx(np.trace(S) / len(W))
    assert e.loc[("x1", "total"), "estimate"] == pytest.approx(S.sum() / len(W))


# --------------------------------------------------------------------- random effects
def _re_bruteforce(W, Y, X, model, time=False, const=True):
    """Full (non-concentrated) Gaussian logL of the RE model, dense NT x NT, by BFGS over
    (const, beta, rho or lambda, log s2, log s2_mu); SDM = SAR with W x1 appended.
    ``time``: T explicit period dummies in place of the constant; ``const=False``: none."""
    T, N = Y.shape
    y = Y.ravel()
    lead = np.kron(np.eye(T), np.ones((N, 1))) if time else np.ones((N * T, int(const)))
    Xl = np.column_stack([lead, X.reshape(-1, X.shape[-1])])
    if model == "sdm":
        Xl = np.column_stack([Xl, (X[..., 0] @ W.T).ravel()])
        model = "sar"
    k = Xl.shape[1]
    J = np.kron(np.ones((T, T)), np.eye(N))
    I = np.eye(N)

    def nll(p):
        r, s2, s2mu = p[k], np.exp(p[k + 1]), np.exp(p[k + 2])
        if model == "sar":
            e = np.kron(np.eye(T), I - r * W) @ y - Xl @ p[:k]
            Om = s2mu * J + s2 * np.eye(N * T)
            jac = T * np.linalg.slogdet(I - r * W)[1]
        else:
            e = y - Xl @ p[:k]
            B = I - r * W
            Om = s2mu * J + s2 * np.kron(np.eye(T), np.linalg.inv(B.T @ B))
            jac = 0.0
        ld = np.linalg.slogdet(Om)[1]
        return -(-N * T / 2 * np.log(2 * np.pi) - ld / 2 + jac
                 - e @ np.linalg.solve(Om, e) / 2)

    start = np.r_[np.linalg.lstsq(Xl, y, rcond=None)[0], 0.1, 0.0, -1.0]
    res = minimize(nll, start, method="BFGS", options={"gtol": 1e-8, "maxiter": 50000})
    return res.x[:k], res.x[k], np.exp(res.x[k + 1]), np.exp(res.x[k + 2]), -res.fun


@pytest.mark.parametrize("model,binary", [("sar", False), ("sem", False), ("sdm", False),
                                          ("sem", True), ("sdm", True)])
def test_random_effects_equal_bruteforce_likelihood(model, binary):
    # binary W: row sums differ, the intercept is a GLS regressor like any other
    w, W, long, Y, X = _panel(seed=5, side=3, T=4, rho=0.0 if model == "sem" else 0.3,
                              lam=0.4 if model == "sem" else 0.0,
                              theta=0.6 if model == "sdm" else 0.0, sig_mu=1.0, fe_shift=0.0)
    if binary:
        w.transform = "b"
        W = w.sparse.toarray()
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model=model,
                    fe="random", durbin=["x1"] if model == "sdm" else None)
    beta, sp, s2, s2mu, ll = _re_bruteforce(W, Y, X, model)
    assert list(r.params.index[:3]) == ["const", "x1", "x2"]
    np.testing.assert_allclose(r.params.to_numpy()[:-1], beta, atol=2e-5)
    assert r.rho == pytest.approx(sp, abs=2e-5)
    assert r.sigma2 == pytest.approx(s2, rel=1e-4)
    assert r.sigma2_mu == pytest.approx(s2mu, rel=1e-4)
    assert r.loglik == pytest.approx(ll, rel=1e-9)


@pytest.mark.parametrize("model,binary", [("sar", False), ("sem", False), ("sdm", False),
                                          ("sar", True), ("sem", True), ("sdm", True)])
def test_random_effects_with_time_effects_equal_bruteforce_likelihood(model, binary):
    # fe="random-time": random individual effects and T free period intercepts, against
    # the full Gaussian likelihood with explicit period dummies (dense NT x NT covariance);
    # binary W (row sums not constant): demeaning by period would not be exact for SEM
    w, W, long, Y, X = _panel(seed=8, side=3, T=4, rho=0.0 if model == "sem" else 0.3,
                              lam=0.4 if model == "sem" else 0.0,
                              theta=0.6 if model == "sdm" else 0.0, sig_mu=0.8, fe_shift=1.0)
    if binary:
        w.transform = "b"
        W = w.sparse.toarray()
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model=model,
                    fe="random-time", durbin=["x1"] if model == "sdm" else None)
    beta, sp, s2, s2mu, ll = _re_bruteforce(W, Y, X, model, time=True)
    assert list(r.params.index[:2]) == ["x1", "x2"] and "const" not in r.params.index
    np.testing.assert_allclose(r.params.to_numpy()[:-1], beta[4:], atol=2e-5)
    assert r.params.iloc[-1] == pytest.approx(sp, abs=2e-5)
    assert r.sigma2 == pytest.approx(s2, rel=1e-4)
    assert r.sigma2_mu == pytest.approx(s2mu, rel=1e-4)
    assert r.loglik == pytest.approx(ll, rel=1e-9)
    assert "random individual effects" in str(r.summary())


@pytest.mark.parametrize("model", ["sar", "sem", "sdm"])
def test_random_time_lee_yu_equals_transformed_bruteforce(model):
    # lee_yu=True: the random-effects model of the Helmert-transformed panel F'y_t
    # (N - 1 units, W* = F'WF, no intercept), written out densely and maximized by BFGS
    w, W, long, Y, X = _panel(seed=10, side=3, T=4, rho=0.0 if model == "sem" else 0.3,
                              lam=0.4 if model == "sem" else 0.0,
                              theta=0.6 if model == "sdm" else 0.0, sig_mu=0.8, fe_shift=1.0)
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model=model,
                    fe="random-time", lee_yu=True, durbin=["x1"] if model == "sdm" else None)
    F = helmert(W.shape[0])
    Xs = np.einsum("mn,tnk->tmk", F, X)
    if model == "sdm":   # W x1 transformed = W* (F x1): append it, fit as SAR
        Xs = np.concatenate([Xs, np.einsum("mn,tnk->tmk", F @ W, X[..., :1])], axis=-1)
        model = "sar"
    beta, sp, s2, s2mu, ll = _re_bruteforce(F @ W @ F.T, Y @ F.T, Xs, model, const=False)
    np.testing.assert_allclose(r.params.to_numpy()[:-1], beta, atol=2e-5)
    assert r.params.iloc[-1] == pytest.approx(sp, abs=2e-5)
    assert r.sigma2 == pytest.approx(s2, rel=1e-4)
    assert r.sigma2_mu == pytest.approx(s2mu, rel=1e-4)
    assert r.loglik == pytest.approx(ll, rel=1e-9)
    assert r.lee_yu


def _re_moments(model, W, Xl, T):
    """Mean and covariance of the stacked random-effects panel as functions of
    th = (coefficients of Xl's k columns, rho or lambda, psi = sigma2_mu / sigma2, sigma2)."""
    N = W.shape[0]
    k = Xl.shape[1]
    J = np.kron(np.ones((T, T)), np.eye(N))
    I = np.eye(N)

    def mu(th):
        if model == "sar":
            return np.linalg.solve(np.kron(np.eye(T), I - th[k] * W), Xl @ th[:k])
        return Xl @ th[:k]

    def Sigma(th):
        s2, psi = th[k + 2], th[k + 1]
        if model == "sar":
            Ai = np.kron(np.eye(T), np.linalg.inv(I - th[k] * W))
            return s2 * Ai @ (np.eye(N * T) + psi * J) @ Ai.T
        B = I - th[k] * W
        return s2 * (psi * J + np.kron(np.eye(T), np.linalg.inv(B.T @ B)))

    return mu, Sigma


@pytest.mark.parametrize("model", ["sar", "sem"])
def test_random_time_lee_yu_standard_errors_equal_gaussian_information(model):
    # the Gaussian information of the transformed panel (N - 1 units, W*), numerically
    w, W, long, Y, X = _panel(seed=12, side=3, T=4, theta=0.0, sig_mu=1.0, fe_shift=1.0)
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model=model,
                    fe="random-time", lee_yu=True)
    T = Y.shape[0]
    F = helmert(W.shape[0])
    Ws = F @ W @ F.T
    Xl = np.einsum("mn,tnk->tmk", F, X).reshape(-1, 2)
    mu, Sigma = _re_moments(model, Ws, Xl, T)
    theta = np.r_[r.params.to_numpy(), r.sigma2_mu / r.sigma2, r.sigma2]
    V = np.linalg.inv(_gaussian_info(mu, Sigma, theta))
    ours = r.cov_full.to_numpy()
    np.testing.assert_allclose(np.diag(ours), np.diag(V), rtol=1e-5)
    sd, sd_ref = np.sqrt(np.diag(ours)), np.sqrt(np.diag(V))
    np.testing.assert_allclose(ours / np.outer(sd, sd), V / np.outer(sd_ref, sd_ref),
                               atol=1e-6)


@pytest.mark.parametrize("model", ["sar", "sem"])
def test_random_time_standard_errors_equal_gaussian_information(model):
    # the period intercepts are nuisance parameters: the covariance of the rest is the
    # block of the inverse of the full Gaussian information (dummies included)
    w, W, long, Y, X = _panel(seed=9, side=3, T=4, theta=0.0, sig_mu=1.0, fe_shift=1.0)
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model=model,
                    fe="random-time")
    T, N = Y.shape
    Xl = np.column_stack([np.kron(np.eye(T), np.ones((N, 1))), X.reshape(-1, 2)])
    mu, Sigma = _re_moments(model, W, Xl, T)  # th = alpha_1..T, b1, b2, rho/lambda, psi, s2
    # the period intercepts at the optimum (the SAR's d mu / d rho depends on them; the
    # fit does not report them): from the brute-force maximization
    alpha = _re_bruteforce(W, Y, X, model, time=True)[0][:T]
    theta = np.r_[alpha, r.params.to_numpy(), r.sigma2_mu / r.sigma2, r.sigma2]
    V = np.linalg.inv(_gaussian_info(mu, Sigma, theta))[T:, T:]
    ours = r.cov_full.to_numpy()
    np.testing.assert_allclose(np.diag(ours), np.diag(V), rtol=1e-5)
    # off the diagonal as correlations: cov(rho, psi) is exactly 0 in the SAR (the
    # cofactor cancels), the central differences leave ~1e-8 of it
    sd, sd_ref = np.sqrt(np.diag(ours)), np.sqrt(np.diag(V))
    np.testing.assert_allclose(ours / np.outer(sd, sd), V / np.outer(sd_ref, sd_ref),
                               atol=1e-6)


@pytest.mark.parametrize("model", ["sar", "sem"])
def test_random_effects_standard_errors_equal_gaussian_information(model):
    w, W, long, Y, X = _panel(seed=6, side=3, T=4, theta=0.0, sig_mu=1.0, fe_shift=0.0)
    r = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w, model=model,
                    fe="random")
    T, N = Y.shape
    Xl = np.column_stack([np.ones(N * T), X.reshape(-1, 2)])
    mu, Sigma = _re_moments(model, W, Xl, T)  # th = const, b1, b2, rho/lambda, psi, s2
    theta = np.r_[r.params.to_numpy(), r.sigma2_mu / r.sigma2, r.sigma2]
    assert list(r.cov_full.index[-2:]) == ["psi", "sigma2"]
    V = np.linalg.inv(_gaussian_info(mu, Sigma, theta))
    np.testing.assert_allclose(r.cov_full.to_numpy(), V, rtol=1e-5, atol=1e-10)


def test_spatial_hausman():
    w, W, long, Y, X = _panel(seed=7, side=6, T=6, theta=0.0, lam=0.0, sig_mu=1.0,
                              fe_shift=0.0)
    kw = {"entity": "i", "time": "t", "w": w, "model": "sar"}
    fe = fit_spatial(long, "y", ["x1", "x2"], fe="entity", lee_yu=True, **kw)
    re = fit_spatial(long, "y", ["x1", "x2"], fe="random", **kw)
    h = spatial_hausman(fe, re, method="separate")
    t = ["x1", "x2"]
    d = fe.params[t] - re.params[t]
    Vd = fe.cov.loc[t, t] - re.cov.loc[t, t]
    assert h.statistic == pytest.approx(float(d @ np.linalg.solve(Vd, d)), rel=1e-10)
    assert h.df == (2,) and h.terms == ("x1", "x2")
    # default "sigmamore": V_fe from the Lee-Yu (Helmert-transformed) SAR information
    # written out at the fixed-effects b, rho and the random-effects sigma2
    T, N = Y.shape
    FT = helmert(T).T
    Xs = np.einsum("ts,tnk->snk", FT, X).reshape(-1, 2)
    A = W @ np.linalg.inv(np.eye(N) - fe.rho * W)
    axb = (Xs @ fe.params[t].to_numpy()).reshape(T - 1, N) @ A.T
    s2, n = re.sigma2, N * (T - 1)
    info = np.zeros((4, 4))
    info[:2, :2] = Xs.T @ Xs / s2
    info[:2, 2] = info[2, :2] = Xs.T @ axb.ravel() / s2
    info[2, 2] = (T - 1) * np.trace(A @ A + A.T @ A) + (axb ** 2).sum() / s2
    info[2, 3] = info[3, 2] = (T - 1) * np.trace(A) / s2
    info[3, 3] = n / (2 * s2 ** 2)
    V_fe = np.linalg.inv(info)
    for sp, idx in ((False, t), (True, [*t, "rho"])):
        Vd = V_fe[:len(idx), :len(idx)] - re.cov.loc[idx, idx].to_numpy()
        dd = (fe.params[idx] - re.params[idx]).to_numpy()
        hs = spatial_hausman(fe, re, spatial=sp)
        assert hs.statistic == pytest.approx(float(dd @ np.linalg.solve(Vd, dd)), rel=1e-8)
    assert "sigma2 of RE in both" in hs.test
    with pytest.raises(DtiStatError, match="method"):
        spatial_hausman(fe, re, method="stata")
    assert spatial_hausman(fe, re, spatial=True).df == (3,)
    # individual effects correlated with x1: FE stays consistent, RE does not
    c = np.tile(np.random.default_rng(7).normal(size=36), 6)
    bad = long.assign(x1=long["x1"] + c, y=long["y"] + 2 * c)
    fe2 = fit_spatial(bad, "y", ["x1", "x2"], fe="entity", lee_yu=True, **kw)
    re2 = fit_spatial(bad, "y", ["x1", "x2"], fe="random", **kw)
    assert spatial_hausman(fe2, re2, method="separate").p_value < 0.01
    # "sigmamore" takes the random-effects sigma2, inflated when RE is inconsistent: a
    # little less power (p = 0.011 here)
    assert spatial_hausman(fe2, re2).p_value < 0.05
    with pytest.raises(ParameterError, match="fe='random'"):
        spatial_hausman(fe, fe)
    with pytest.raises(ParameterError, match="lee_yu=True"):
        spatial_hausman(fit_spatial(long, "y", ["x1", "x2"], fe="entity", **kw), re)


def test_spatial_hausman_indefinite_contrast_uses_positive_part():
    # V_fe - V_re indefinite (here: the random-effects fit's rho variance inflated past
    # the fixed-effects one): d' pinv(V) d could be negative; the statistic uses the
    # positive eigenvalues only, df = their number, with a warning
    import dataclasses

    from dtistat.errors import DtiStatWarning

    w, W, long, Y, X = _panel(seed=7, side=6, T=6, theta=0.0, lam=0.0, sig_mu=1.0,
                              fe_shift=0.0)
    kw = {"entity": "i", "time": "t", "w": w, "model": "sar"}
    fe = fit_spatial(long, "y", ["x1", "x2"], fe="entity", lee_yu=True, **kw)
    re = fit_spatial(long, "y", ["x1", "x2"], fe="random", **kw)
    cov = re.cov.copy()
    cov.loc["rho", "rho"] = 3 * fe.cov.loc["rho", "rho"]
    re2 = dataclasses.replace(re, cov=cov)
    t = ["x1", "x2", "rho"]
    V = (fe.cov.loc[t, t] - cov.loc[t, t]).to_numpy()
    d = (fe.params[t] - re.params[t]).to_numpy()
    vals, vecs = np.linalg.eigh(V)
    assert (vals < 0).sum() == 1
    z = vecs[:, vals > 0].T @ d
    with pytest.warns(DtiStatWarning, match="2 degree"):
        h = spatial_hausman(fe, re2, spatial=True, method="separate")
    assert h.df == (2,) and h.statistic >= 0
    assert h.statistic == pytest.approx(float((z * z / vals[vals > 0]).sum()), rel=1e-10)
    assert float(d @ np.linalg.pinv(V) @ d) < h.statistic   # the old form


def test_bad_input_sac_re(stl):
    w, long, _ = stl
    kw = {"entity": "i", "time": "t", "w": w}
    with pytest.raises(ParameterError, match="fe='random'"):
        fit_spatial(long, "hr", ["rd"], model="sac", fe="random", **kw)
    with pytest.raises(ParameterError, match="durbin"):
        fit_spatial(long, "hr", ["rd"], model="sar", durbin=["rd"], **kw)
    with pytest.raises(DtiStatError, match="unbalanced"):
        fit_spatial(long.iloc[1:], "hr", ["rd"], model="sem", fe="random", **kw)
    with pytest.raises(ParameterError, match="lee_yu"):
        fit_spatial(long, "hr", ["rd"], model="sar", fe="random", lee_yu=True, **kw)


@pytest.mark.parametrize("fe,pair,label", [
    ("entity", ("entity", "random"), "Hausman SDM (entity FE vs RE)"),
    ("twoway", ("twoway", "random-time"), "Hausman SDM (two-way FE vs RE + time FE)")])
def test_model_selection_with_hausman(stl, fe, pair, label):
    w, long, _ = stl
    kw = {"entity": "i", "time": "t", "w": w, "model": "sdm"}
    sel = spatial_model_selection(long, "hr", ["rd", "pe"], hausman=True, fe=fe,
                                  entity="i", time="t", w=w)
    row = sel.table.loc[label]
    h = spatial_hausman(fit_spatial(long, "hr", ["rd", "pe"], fe=pair[0], lee_yu=True,
                                    **kw),
                        fit_spatial(long, "hr", ["rd", "pe"], fe=pair[1],
                                    lee_yu=pair[1] == "random-time", **kw))
    assert row["statistic"] == pytest.approx(h.statistic, rel=1e-12)
    assert row["df"] == 4 and sel.models["sdm_re"].fe == pair[1]
    assert sel.models["sdm_fe"].fe == pair[0]


def _trend_panel(seed, side=9, T=6, rho=0.3, corr=0.0):
    """SAR panel whose period effects trend with x1 (0.4 t in x1, 0.3 t in y) and whose
    individual effects are random, plus ``corr`` times a city-level shift of x1."""
    w = lat2W(side, side, rook=False)
    w.transform = "r"
    W = w.sparse.toarray()
    N = W.shape[0]
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=N)
    X = rng.normal(size=(T, N, 2))
    X[..., 0] += 0.4 * np.arange(T)[:, None] + corr * mu
    Y = np.stack([np.linalg.solve(np.eye(N) - rho * W, X[t] @ [1.0, -0.5] + mu + 0.3 * t
                                  + rng.normal(0, 0.7, N)) for t in range(T)])
    long = pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(np.arange(T), N),
                         "y": Y.ravel(), "x1": X[..., 0].ravel(), "x2": X[..., 1].ravel()})
    return w, long


def _hausman_pair(long, w, pair, model="sar"):
    kw = {"entity": "i", "time": "t", "w": w, "model": model}
    return spatial_hausman(fit_spatial(long, "y", ["x1", "x2"], fe=pair[0], lee_yu=True,
                                       **kw),
                           fit_spatial(long, "y", ["x1", "x2"], fe=pair[1],
                                       lee_yu=pair[1] == "random-time", **kw))


def test_spatial_hausman_with_time_effects():
    # period effects trending with x1, individual effects random: random effects with
    # time effects are valid and the two-way pair does not reject (the demo panel, where
    # the individual-only pair rejects, is in test_spatial_demo.py)
    w, long = _trend_panel(seed=11)
    h = _hausman_pair(long, w, ("twoway", "random-time"))
    assert h.p_value > 0.05 and h.df == (2,)
    assert "two-way FE" in h.test
    # individual effects correlated with x1: random effects inconsistent, rejection
    w, bad = _trend_panel(seed=11, corr=1.0)
    assert _hausman_pair(bad, w, ("twoway", "random-time")).p_value < 0.01
    with pytest.raises(ParameterError, match="fe='twoway' and fe='random'"):
        _hausman_pair(long, w, ("twoway", "random"))
    with pytest.raises(ParameterError, match="fe='entity' and fe='random-time'"):
        _hausman_pair(long, w, ("entity", "random-time"))
    kw = {"entity": "i", "time": "t", "w": w, "model": "sar"}
    with pytest.raises(ParameterError, match="lee_yu=True as well"):
        spatial_hausman(fit_spatial(long, "y", "x1", fe="twoway", lee_yu=True, **kw),
                        fit_spatial(long, "y", "x1", fe="random-time", **kw))


@pytest.mark.slow
def test_spatial_hausman_with_time_effects_size_under_the_null():
    # 200 panels (81 units x 6 periods) with period effects trending with x1 and random
    # individual effects: chi2(2) under H0 (mean 2, 5% rejections; Monte Carlo standard
    # error 0.14 on the mean, 0.015 on the rate: the bounds are about 3 of them); here
    # 1.74 and 3.0% (method="separate": 1.81, 4.0%). Batches of 40 panels scatter from
    # 1.40 to 2.02: the "conservative" means once measured on 40 panels were that noise
    # (benchmarks/hausman_size.py: 1000 panels per cell, docs/spatial.md)
    stats_ = np.array([_hausman_pair(long, w, ("twoway", "random-time")).statistic
                       for w, long in (_trend_panel(seed=200 + s) for s in range(200))])
    assert 1.6 < stats_.mean() < 2.45
    assert 0.015 <= np.mean(stats_ > 5.991) <= 0.095        # chi2(2) 95% quantile


def test_random_effects_sar_equals_spreg(stl):
    import spreg

    w, long, _ = stl
    y = long["hr"].to_numpy()[:, None]
    ref = spreg.Panel_RE_Lag(y, long[["rd", "pe"]].to_numpy(), w)
    r = fit_spatial(long, "hr", ["rd", "pe"], entity="i", time="t", w=w, model="sar",
                    fe="random")
    b = np.ravel(ref.betas)                     # const, rd, pe, rho, phi
    # spreg alternates phi and rho steps until |d phi| < 1e-7
    np.testing.assert_allclose(r.params.to_numpy(), b[:4], rtol=1e-6)
    N, T = 78, 3
    phi = np.sqrt(1 / (1 + T * r.sigma2_mu / r.sigma2))   # spreg: phi^2 = s2/(T s2_u + s2)
    assert phi == pytest.approx(b[4], rel=1e-6)
    assert r.sigma2 == pytest.approx(float(np.ravel(ref.sig2)[0]), rel=1e-6)
    # spreg's logll is the concentrated likelihood of its last rho step, which leaves
    # out the N/2 log(phi^2) term of the full likelihood; its stopping rule leaves it
    # ~1e-5 below our maximum
    ll_ref = float(ref.logll) + N / 2 * np.log(b[4] ** 2)
    assert r.loglik == pytest.approx(ll_ref, rel=1e-7)
    assert r.loglik >= ll_ref
    # spreg's (rho, phi, sigma2) information entries differ from the Gaussian information
    # (ours equals it: test above); the coefficient SEs agree to 1e-4
    np.testing.assert_allclose(r.std_errors.to_numpy(), np.sqrt(np.diag(ref.vm))[:4],
                               rtol=1e-4)


def test_dense_size_limits_are_refused(stl, monkeypatch):
    from dtistat.spatial import models

    w, long, _ = stl
    kw = {"entity": "i", "time": "t", "w": w}
    monkeypatch.setitem(models._DENSE_MAX_N, "sac", 50)
    monkeypatch.setitem(models._DENSE_MAX_N, "sem-re", 50)
    with pytest.raises(ParameterError, match="N = 78 is above 50"):
        fit_spatial(long, "hr", ["rd"], model="sac", **kw)
    with pytest.raises(ParameterError, match="N = 78 is above 50"):
        fit_spatial(long, "hr", ["rd"], model="sem", fe="random", **kw)


def test_missing_keys_are_named(stl):
    w, long, _ = stl
    bad = long.astype({"t": float})
    bad.loc[7, "t"] = np.nan
    with pytest.raises(DtiStatError, match="key column 't' is missing at row 7"):
        fit_spatial(bad, "hr", ["rd"], entity="i", time="t", w=w)
    dup = pd.concat([long, long.iloc[[3]]], ignore_index=True)
    with pytest.raises(DtiStatError, match="duplicate rows for i x t"):
        fit_spatial(dup, "hr", ["rd"], entity="i", time="t", w=w)


@pytest.mark.slow
def test_spatial_hausman_size_under_the_null():
    # 200 panels of 81 units x 6 periods with random effects independent of x: the
    # statistic should follow chi2(2) (mean 2, 5% rejections); Monte Carlo standard error
    # 0.14 on the mean and 0.015 on the rate; here 1.79 and 2.5% (method="separate":
    # 1.91, 5.0%)
    stats_, rej = [], []
    for seed in range(200):
        w, W, long, Y, X = _panel(seed=100 + seed, side=9, T=6, theta=0.0, lam=0.0,
                                  sig_mu=1.0, fe_shift=0.0)
        kw = {"entity": "i", "time": "t", "w": w, "model": "sar"}
        h = spatial_hausman(fit_spatial(long, "y", ["x1", "x2"], fe="entity", lee_yu=True,
                                        **kw),
                            fit_spatial(long, "y", ["x1", "x2"], fe="random", **kw))
        stats_.append(h.statistic)
        rej.append(h.p_value < 0.05)
    assert 1.6 < np.mean(stats_) < 2.45
    assert 0.015 <= np.mean(rej) <= 0.095


def test_lm_tests_and_selection_refuse_random_effects(stl):
    from dtistat.spatial import spatial_lm_tests

    w, long, _ = stl
    kw = {"entity": "i", "time": "t", "w": w, "fe": "random"}
    with pytest.raises(ParameterError, match="fe='random' is not valid"):
        spatial_lm_tests(long, "hr", ["rd"], **kw)
    with pytest.raises(ParameterError, match="fe='random' is not valid"):
        spatial_model_selection(long, "hr", ["rd"], **kw)


def test_sac_weak_identification_is_reported():
    # no regressor effect: rho and lambda share W and trade off against each other
    w = lat2W(5, 5)
    w.transform = "r"
    W = w.sparse.toarray()
    rng = np.random.default_rng(3)
    Y = np.stack([np.linalg.solve(np.eye(25) - 0.5 * W, rng.normal(size=25))
                  for _ in range(4)])
    df = pd.DataFrame({"i": np.tile(w.id_order, 4), "t": np.repeat(range(4), 25),
                       "y": Y.ravel(), "x": rng.normal(size=100)})
    r = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sac", fe="entity")
    assert r.rho_lambda_correlation < -0.99
    assert "weakly identified" in str(r.summary())
    w2, _, long, _, _ = _panel(seed=1)
    ok = fit_spatial(long, "y", ["x1", "x2"], entity="i", time="t", w=w2, model="sac")
    assert abs(ok.rho_lambda_correlation) < 0.9
    assert "weakly identified" not in str(ok.summary())


@pytest.mark.parametrize("model", ["sar", "sem", "sdm"])
@pytest.mark.parametrize("fe,lee_yu", [("twoway", False), ("entity", True), ("random", False),
                                       ("random-time", False), ("random-time", True)])
def test_t_statistics_invariant_to_units(model, fe, lee_yu):
    # lambda (SEM) and phi (random effects) are polished as roots of their concentrated
    # scores, as rho is: a change of units leaves every t-statistic unchanged to 1e-9
    # (the bounded searches alone left 1e-8 to 4e-7)
    w, W, long, Y, X = _panel(seed=3, side=5, T=5, sig_mu=1.0, fe_shift=0.5)
    scaled = long.assign(y=long["y"] * 1e3, x1=long["x1"] * 1e-2, x2=long["x2"] * 7.0)
    kw = {"entity": "i", "time": "t", "w": w, "model": model, "fe": fe, "lee_yu": lee_yu}
    a = fit_spatial(long, "y", ["x1", "x2"], **kw)
    b = fit_spatial(scaled, "y", ["x1", "x2"], **kw)
    keep = [n for n in a.params.index if n != "const"]
    ta, tb = (a.params / a.std_errors)[keep], (b.params / b.std_errors)[keep]
    np.testing.assert_allclose(tb.to_numpy(), ta.to_numpy(), rtol=1e-9)
    # the Jacobian of y -> 1e3 y over the observations the likelihood counts
    n_star = {"entity": 25 * 4, "random-time": 24 * 5}.get(fe, 125) if lee_yu else 125
    assert b.loglik - a.loglik == pytest.approx(-n_star * np.log(1e3), rel=1e-12)


def test_sem_random_effects_scores_equal_finite_differences():
    from dtistat.spatial.random import _ErrorRE

    w, W, long, Y, X = _panel(seed=3, side=5, T=5, sig_mu=1.0, fe_shift=0.5)
    T, N, _ = X.shape
    m = _ErrorRE(Y, np.concatenate([np.ones((T, N, 1)), X], axis=-1), W)
    lam, phi, h = 0.3, 0.2, 1e-6

    def f(x, p):
        return m.conc(x, p, m.eig(x))[0]

    assert m.phi_score(phi, m.eig(lam)) == pytest.approx(
        (f(lam, phi + h) - f(lam, phi - h)) / (2 * h), rel=1e-7)
    assert m.lam_score(lam, phi, m.eig(lam)) == pytest.approx(
        (f(lam + h, phi) - f(lam - h, phi)) / (2 * h), rel=1e-7)
