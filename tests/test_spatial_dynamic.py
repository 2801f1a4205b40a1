"""Dynamic spatial panels (fit_spatial(dynamic=...)): R SDPDmod 0.0.6's vignette
`mod2`-`mod5` on plm::Cigar, simulated recovery, bad input.

SDPDmod's numbers are reproduced by re-running its *algorithm* here (not its code):
its concentrated likelihood with the log-determinant looked up in a table on a 0.001
grid of rho (LeSage's lndetfull), maximized by R's ``optimize`` (Brent 1973's localmin,
ported below from the published algorithm); its bias correction uses the information
matrix after ``Matrix::nearPD`` (Higham 2002 with nearPD's default tolerances, below).
Everything else is dtistat's own code: the closed forms given rho, the information
matrix, the bias correction (:func:`dtistat.spatial.dynamic.bias_correction`) and the
QML sandwich (:func:`dtistat.spatial.dynamic.omega`).
"""

import math

import numpy as np
import pandas as pd
import pytest
from libpysal.weights import lat2W

from dtistat.errors import DataError, ParameterError
from dtistat.spatial.dynamic import bias_correction, omega
from dtistat.spatial.models import _demean, _info_lag, _jacobian, fit_spatial
from dtistat.spatial.weights import as_weights

# R SDPDmod 0.0.6 vignette "Spatial dynamic panel data modeling" (summary() output),
# logc ~ logp + logy on plm::Cigar, W = rownor(usa46). Order: lags, x, W*x, rho.
# (as printed: strings keep the trailing zeros that say how many digits there are)
MOD2 = dict(b="0.8697327 -0.2796636 -0.1147081 -0.0206479 0.305592",
            se="0.0130098 0.0336333 0.0138649 0.0079911 0.031396")
MOD3 = dict(b="0.9287971 -0.3030634 -0.0864323 -0.0217271 0.310875",
            se="0.0132188 0.0350687 0.0138446 0.0081269 0.031508")
MOD4 = dict(b="0.920917 -0.051035 -0.031962 0.095318",
            se="0.013658 0.014055 0.008385 0.016432")
MOD5 = dict(b="0.864412 -0.096270 -0.270872 0.104262 0.195595 -0.032464 0.162189",
            se="0.012879 0.038810 0.023145 0.029783 0.043870 0.039520 0.036753")


def prints_as(values, printed: str) -> bool:
    """Every value rounds to the printed string (same number of decimals)."""
    out = [f"{float(v):.{len(p.split('.')[1])}f}" for v, p in zip(values, printed.split())]
    return [o.replace("-0.0", "0.0") if float(o) == 0 else o for o in out] == printed.split()


def floats(printed: str) -> np.ndarray:
    return np.array([float(p) for p in printed.split()])


# ----------------------------------------------------------------- SDPDmod's algorithm
def r_optimize(f, ax, bx, tol=np.finfo(float).eps ** 0.25):
    """Brent's (1973, ch. 5) localmin as R's ``optimize`` runs it (golden section plus
    parabolic steps, stopping at ``2 (sqrt(eps)|x| + tol/3)``)."""
    c = (3.0 - math.sqrt(5.0)) * 0.5
    eps = math.sqrt(np.finfo(float).eps)
    a, b = ax, bx
    v = w = x = a + c * (b - a)
    d = e = 0.0
    fx = fv = fw = f(x)
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol / 3.0
        t2 = tol1 * 2.0
        if abs(x - xm) <= t2 - (b - a) * 0.5:
            return x
        p = q = r = 0.0
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = (q - r) * 2.0
            p, q = (-p, q) if q > 0.0 else (p, -q)
            r, e = e, d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)
            d = c * e
        else:
            d = p / q
            if x + d - a < t2 or b - x - d < t2:
                d = tol1 if x < xm else -tol1
        u = x + d if abs(d) >= tol1 else (x + tol1 if d > 0 else x - tol1)
        fu = f(u)
        if fu <= fx:
            a, b = (a, x) if u < x else (x, b)
            v, w, x, fv, fw, fx = w, x, u, fw, fx, fu
        else:
            a, b = (u, b) if u < x else (a, u)
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu


def near_pd(x, eig_tol=1e-6, conv_tol=1e-7, posd_tol=1e-8, maxit=100):
    """Nearest positive-definite matrix (Higham 2002, Dykstra's correction) with
    ``Matrix::nearPD``'s defaults: eigenvalues below ``eig_tol`` times the largest are
    dropped, then raised to ``posd_tol`` times the largest, keeping the diagonal."""
    D_S, X = np.zeros_like(x), x.copy()
    for _ in range(maxit):
        Y = X
        R = Y - D_S
        d, Q = np.linalg.eigh(R)
        d, Q = d[::-1], Q[:, ::-1]
        p = d > eig_tol * d[0]
        X = (Q[:, p] * d[p]) @ Q[:, p].T
        D_S = X - R
        if np.abs(Y - X).sum(1).max() / np.abs(Y).sum(1).max() <= conv_tol:
            break
    d, Q = np.linalg.eigh(X)
    d, Q = d[::-1], Q[:, ::-1]
    eps = posd_tol * abs(d[0])
    if d[-1] < eps:
        o = np.diag(X).copy()
        X = Q @ (np.maximum(d, eps)[:, None] * Q.T)
        s = np.sqrt(np.maximum(eps, o) / np.diag(X))
        X = s[:, None] * X * s[None, :]
    return X


class Dyn:
    """A dynamic Cigar design as SDPDmod builds it: periods 2..T, lags first, demeaned;
    ``Wn`` is the W of the (possibly Helmert-transformed) cross-section."""

    def __init__(self, cigar, lags, sdm, fe, c):
        self.lags = lags
        d, Wdf = cigar
        N, T = 46, 30
        d = d.sort_values(["year", "state"])
        W = Wdf.to_numpy()
        Y = d["logc"].to_numpy().reshape(T, N)
        X = d[["logp", "logy"]].to_numpy().reshape(T, N, 2)
        cols = ([Y[:-1]] if lags in ("time", "both") else [])
        cols += [Y[:-1] @ W.T] if lags in ("spacetime", "both") else []
        cols += [X[1:, :, 0], X[1:, :, 1]]
        if sdm:
            cols += [X[1:, :, 0] @ W.T, X[1:, :, 1] @ W.T]
        self.Z = _demean(np.stack(cols, -1), fe)
        self.y = _demean(Y[1:], fe)
        self.wy = _demean(Y[1:] @ W.T, fe)
        self.t, self.N, self.k = self.Z.shape
        self.c, self.n = c, N - c
        self.W, self.jac = W, _jacobian(as_weights(Wdf), "eig")
        from scipy.linalg import helmert

        self.F = helmert(N) if c else np.eye(N)
        self.Wn = self.F @ W @ self.F.T

    def at(self, rho):
        Z2 = self.Z.reshape(-1, self.k)
        b = np.linalg.lstsq(Z2, (self.y - rho * self.wy).ravel(), rcond=None)[0]
        e = (self.y - rho * self.wy).ravel() - Z2 @ b
        return b, float(e @ e) / (self.n * self.t)

    def info(self, b, rho, s2):
        return _info_lag(self.Z.reshape(-1, self.k), b, rho, s2, self.jac, self.t,
                         self.n * self.t, self.t, self.c)

    def sdpd_rho(self):
        """SDPDmod's rho: its grid likelihood maximized by R's optimize."""
        om = np.linalg.eigvals(self.Wn)
        lo, hi = 1 / om.real.min() + 0.001, 1 / om.real.max() - 0.001
        grid = lo + np.arange(math.floor((hi - lo) / 0.001 + 1e-10) + 1) * 0.001
        lndet = np.array([np.log(np.abs(1 - r * om)).sum() for r in grid])
        Z2 = self.Z.reshape(-1, self.k)
        eo = self.y.ravel() - Z2 @ np.linalg.lstsq(Z2, self.y.ravel(), rcond=None)[0]
        ed = self.wy.ravel() - Z2 @ np.linalg.lstsq(Z2, self.wy.ravel(), rcond=None)[0]
        nt = self.n * self.t

        def f(rho):  # the table entry at the grid point below rho (f_sar's lookup)
            i1 = np.nonzero(grid <= rho + 0.001)[0].max() + 1
            i2 = np.nonzero(grid <= rho - 0.001)[0].max() + 1
            ss = (eo @ eo - 2 * rho * (ed @ eo) + rho * rho * (ed @ ed)) / nt
            return nt / 2 * np.log(ss) - self.t * lndet[int(np.round((i1 + i2) / 2)) - 1]

        return r_optimize(f, grid[0], grid[-1])

    def exact_loglik(self, rho):
        om = np.linalg.eigvals(self.Wn).real
        return (-self.n * self.t / 2 * np.log(self.at(rho)[1])
                + self.t * np.log(1 - rho * om).sum())

    def sandwich_se(self, b, rho, s2, reduced_form=True):
        """SEs as SDPDmod computes them: the 4th moment from ``y - S^-1 Z b`` (the
        reduced-form residual) unless ``reduced_form=False`` (dtistat: ``S y - Z b``)."""
        Si = np.linalg.inv(np.eye(self.N) - rho * self.W)
        zb = self.Z @ b
        e = self.y - zb @ Si.T if reduced_form else self.y - rho * self.wy - zb
        V = np.linalg.inv(self.info(b, rho, s2))
        V = V + V @ omega(e @ self.F.T, s2, self.Wn, rho, self.k) @ V
        return np.sqrt(np.diag(V))

    def corrected(self, rho, nearpd=False):
        b, s2 = self.at(rho)
        info = self.info(b, rho, s2)
        if nearpd:
            nt = self.n * self.t
            info = near_pd(info / nt) * nt
        return np.r_[b, rho, s2] + bias_correction(b, rho, s2, info, self.Wn, self.t, self.lags)


def _fit(cigar, **kw):
    d, W = cigar
    return fit_spatial(d, "logc", ["logp", "logy"], entity="state", time="year", w=W,
                       cov="sandwich", **kw)


def _exact_ml(D):
    """The exact maximizer: the root of the concentrated score (brentq, to 1e-14)."""
    from scipy.optimize import brentq

    Z2 = D.Z.reshape(-1, D.k)
    e0 = D.y.ravel() - Z2 @ np.linalg.lstsq(Z2, D.y.ravel(), rcond=None)[0]
    e1 = D.wy.ravel() - Z2 @ np.linalg.lstsq(Z2, D.wy.ravel(), rcond=None)[0]
    om = np.linalg.eigvals(D.Wn)

    def score(r):
        ss = e0 @ e0 - 2 * r * (e0 @ e1) + r * r * (e1 @ e1)
        return (-D.n * D.t * (r * (e1 @ e1) - e0 @ e1) / ss
                - D.t * float(np.sum(om / (1 - r * om)).real))

    return brentq(score, -0.5, 0.9, xtol=1e-14)


def test_sdpdmod_mod2(cigar):
    """Dynamic SAR (y(t-1), W y(t-1)), individual FE, no Lee-Yu."""
    D = Dyn(cigar, "both", False, "entity", 0)
    rho_sdpd = D.sdpd_rho()
    assert f"{rho_sdpd:.6f}" == "0.305592"         # SDPDmod's optimizer, re-run
    r = _fit(cigar, model="sar", fe="entity", dynamic="both")
    # the table makes SDPDmod's objective a sawtooth (teeth of 0.001, height ~0.1 in
    # log-likelihood): it stops 0.003 from the exact maximizer, with a lower likelihood
    assert r.rho == pytest.approx(_exact_ml(D), abs=1e-8)
    assert 0.001 < rho_sdpd - r.rho < 0.005
    assert D.exact_loglik(r.rho) > D.exact_loglik(rho_sdpd) + 1e-3
    b, s2 = D.at(rho_sdpd)
    assert prints_as(np.r_[b, rho_sdpd], MOD2["b"])
    assert prints_as(D.sandwich_se(b, rho_sdpd, s2)[:-1], MOD2["se"])
    # dtistat takes the kurtosis of the structural residual S y - Z b (SDPDmod: of
    # y - S^-1 Z b): SE(W*logc(t-1)) moves in its 6th digit
    assert not prints_as(D.sandwich_se(b, rho_sdpd, s2, reduced_form=False)[:-1],
                         MOD2["se"])
    b_own, s2_own = D.at(r.rho)
    np.testing.assert_allclose(r.params.to_numpy()[:-1], b_own, rtol=1e-7)
    assert r.sigma2 == pytest.approx(s2_own, rel=1e-9)
    np.testing.assert_allclose(
        r.std_errors.to_numpy(), D.sandwich_se(b_own, r.rho, s2_own, False)[:-1], rtol=1e-7)
    assert list(r.params.index) == ["logc(t-1)", "W*logc(t-1)", "logp", "logy", "rho"]
    assert r.nobs == 46 * 29 and r.n_periods == 29


@pytest.mark.parametrize("name, lags", [("mod3", "both"), ("mod4", "time")])
def test_sdpdmod_lee_yu(cigar, name, lags):
    """mod3 (y(t-1), W y(t-1)) and mod4 (y(t-1) only), individual FE, Lee-Yu bias
    correction: at SDPDmod's maximizer our correction and sandwich give every digit."""
    ref = {"mod3": MOD3, "mod4": MOD4}[name]
    D = Dyn(cigar, lags, False, "entity", 0)
    th = D.corrected(D.sdpd_rho())
    assert prints_as(th[:-1], ref["b"])
    k = D.k
    assert prints_as(D.sandwich_se(th[:k], th[k], th[k + 1])[:-1], ref["se"])
    r = _fit(cigar, model="sar", fe="entity", dynamic=lags, lee_yu=True)
    own = D.corrected(_exact_ml(D))
    np.testing.assert_allclose(r.params.to_numpy(), own[:-1], rtol=1e-6)
    assert r.sigma2 == pytest.approx(own[-1], rel=1e-6)
    assert abs(r.rho - float(ref["b"].split()[-1])) < 0.005


def test_sdpdmod_mod5(cigar):
    """Dynamic SDM, two-way FE, Lee-Yu (time effects transformed away, N - 1 units).

    SDPDmod's bias correction inverts the information matrix after ``Matrix::nearPD``:
    here its smallest eigenvalue is 7.9e-7 times its largest (the sigma2 entry
    1/(2 sigma2^2), sigma2 = 0.0012), below nearPD's ``eig.tol = 1e-6``, so nearPD
    replaces it and the correction moves rho from 0.077 to 0.162. With that step every
    printed coefficient is reproduced; dtistat inverts the information matrix itself."""
    D = Dyn(cigar, "both", True, "twoway", 1)
    rho_ml = D.sdpd_rho()
    th = D.corrected(rho_ml, nearpd=True)
    assert prints_as(th[:-1], MOD5["b"])
    plain = D.corrected(rho_ml)
    # without nearPD the same correction leaves rho far from SDPDmod's printed value
    assert abs(plain[D.k] - float(MOD5["b"].split()[-1])) > 0.05
    ev = np.linalg.eigvalsh(D.info(*D.at(rho_ml)[:1], rho_ml, D.at(rho_ml)[1]))
    assert ev[0] / ev[-1] < 1e-6
    # nearPD's step depends on the units of y: with 10 logc it does nothing, and
    # SDPDmod's corrected rho would be the plain one
    d, W = cigar
    D10 = Dyn((d.assign(logc=10 * d["logc"]), W), "both", True, "twoway", 1)
    th10 = D10.corrected(D10.sdpd_rho(), nearpd=True)
    assert th10[D.k] == pytest.approx(plain[D.k], abs=1e-6)
    # dtistat: the plain correction at the exact maximizer, free of y's units
    r = _fit(cigar, model="sdm", fe="twoway", dynamic="both", lee_yu=True)
    own = D.corrected(_exact_ml(D))
    np.testing.assert_allclose(r.params.to_numpy(), own[:-1], rtol=1e-6)
    r10 = _fit((d.assign(logc=10 * d["logc"]), W), model="sdm", fe="twoway",
               dynamic="both", lee_yu=True)
    assert r10.rho == pytest.approx(r.rho, rel=1e-7)
    assert r10.params["logp"] == pytest.approx(10 * r.params["logp"], rel=1e-7)


def test_sdpdmod_mod5_standard_errors(cigar):
    """The kurtosis term of the sandwich uses diag(G) and the residuals of the N - 1
    transformed units, which depend on the orthonormal basis of the transformation
    (SDPDmod: R's eigen(I - J/N); dtistat: Helmert). At SDPDmod's estimates, its printed
    SEs lie within the range our sandwich spans over random bases, a narrow range."""
    from scipy.linalg import helmert
    from scipy.stats import ortho_group

    D = Dyn(cigar, "both", True, "twoway", 1)
    th = D.corrected(D.sdpd_rho(), nearpd=True)
    k = D.k
    ses = []
    for s in range(30):
        D.F = ortho_group.rvs(45, random_state=s) @ helmert(46)
        D.Wn = D.F @ D.W @ D.F.T
        ses.append(D.sandwich_se(th[:k], th[k], th[k + 1])[:-1])
    ses = np.array(ses)
    printed = floats(MOD5["se"])
    assert np.all(ses.min(0) - 5e-7 <= printed) and np.all(printed <= ses.max(0) + 5e-7)
    assert np.all((ses.max(0) - ses.min(0)) / printed < 0.03)
    # without the kurtosis term (information SEs) SE(rho) is outside that range
    V = np.linalg.inv(D.info(th[:k], th[k], th[k + 1]))
    assert not ses.min(0)[-1] <= np.sqrt(V[k, k]) <= ses.max(0)[-1]


def simulate(seed, side=8, T=12, tau=0.4, eta=0.15, rho=0.3, beta=1.0, theta=0.5,
             time_effects=False, burn=30):
    """A dynamic SDM panel on a rook lattice, entity (and time) effects."""
    rng = np.random.default_rng(seed)
    w = lat2W(side, side)
    w.transform = "r"
    W = w.sparse.toarray()
    N = W.shape[0]
    Si = np.linalg.inv(np.eye(N) - rho * W)
    mu = rng.normal(size=N)
    y = np.zeros(N)
    rows = []
    for t in range(burn + T):
        x = rng.normal(size=N) + 0.5 * mu
        a = rng.normal() if time_effects else 0.0
        y = Si @ (tau * y + eta * W @ y + beta * x + theta * W @ x + mu + a
                  + rng.normal(0, 0.5, N))
        if t >= burn:
            rows.append(pd.DataFrame({"i": w.id_order, "t": t, "y": y, "x": x}))
    return pd.concat(rows, ignore_index=True), w


@pytest.mark.parametrize("fe", ["entity", "twoway"])
def test_recovers_simulated_parameters(fe):
    df, w = simulate(1, side=10, T=20, time_effects=fe == "twoway")
    r = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sdm", fe=fe,
                    dynamic="both", lee_yu=True)
    true = {"y(t-1)": 0.4, "W*y(t-1)": 0.15, "x": 1.0, "W*x": 0.5, "rho": 0.3}
    z = (r.params[list(true)] - pd.Series(true)) / r.std_errors[list(true)]
    assert np.all(np.abs(z) < 3.5), z


def test_lee_yu_removes_the_nickell_bias():
    """T = 8: the within estimate of tau is biased down by O(1/T); the correction
    removes most of it (12 panels, N = 49; measured: -0.045 and +0.004, each with a
    Monte Carlo SE of 0.007)."""
    est = {False: [], True: []}
    for seed in range(12):
        df, w = simulate(seed, side=7, T=8)
        for ly in (False, True):
            r = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sdm",
                            fe="entity", dynamic="both", lee_yu=ly)
            est[ly].append(r.params[["y(t-1)", "rho"]].to_numpy())
    bias = {ly: np.mean(v, axis=0) - [0.4, 0.3] for ly, v in est.items()}
    assert bias[False][0] < -0.025                     # Nickell: O(1/T)
    assert abs(bias[True][0]) < abs(bias[False][0]) / 3


def test_sandwich_equals_information_without_excess_kurtosis():
    """The sandwich adds only the excess-kurtosis term: it vanishes when the fourth
    moment is 3 sigma2^2, and the SEs of the information matrix are returned with
    cov='information'."""
    df, w = simulate(3)
    kw = dict(entity="i", time="t", w=w, model="sar", fe="entity", dynamic="time")
    ri = fit_spatial(df, "y", "x", **kw)
    rs = fit_spatial(df, "y", "x", cov="sandwich", **kw)
    assert ri.params.equals(rs.params)
    assert ri.cov_type == "information" and rs.cov_type == "sandwich"
    W = w.sparse.toarray()
    e = np.random.default_rng(0).normal(size=(10, 64))
    s2 = float(np.mean(e ** 4) / 3) ** 0.5
    assert np.abs(omega(e, s2, W, 0.3, 2)).max() < 1e-12
    assert "sandwich" in str(rs.summary()) and "Dynamic: time" in str(rs.summary())


def test_dynamic_bad_input():
    df, w = simulate(0, side=4, T=4)
    kw = dict(entity="i", time="t", w=w)
    with pytest.raises(ParameterError, match="dynamic must be one of"):
        fit_spatial(df, "y", "x", dynamic="lag", **kw)
    with pytest.raises(ParameterError, match="model='sar' or 'sdm'"):
        fit_spatial(df, "y", "x", model="sem", dynamic="time", **kw)
    with pytest.raises(ParameterError, match="fe='entity' or 'twoway'"):
        fit_spatial(df, "y", "x", fe="random", dynamic="time", **kw)
    with pytest.raises(ParameterError, match="cov='sandwich' is implemented for dynamic"):
        fit_spatial(df, "y", "x", cov="sandwich", **kw)
    with pytest.raises(ParameterError, match="cov"):
        fit_spatial(df, "y", "x", cov="hc1", dynamic="time", **kw)
    short = df[df["t"] < df["t"].min() + 2]
    with pytest.raises(DataError, match="at least 3 periods"):
        fit_spatial(short, "y", "x", dynamic="both", **kw)
    binary = pd.DataFrame(w.full()[0] > 0, index=w.id_order, columns=w.id_order) * 1.0
    with pytest.raises(ParameterError, match="row-standardized"):
        fit_spatial(df, "y", "x", entity="i", time="t", w=binary, dynamic="both",
                    lee_yu=True)
    before = df.copy()
    fit_spatial(df, "y", "x", dynamic="both", lee_yu=True, **kw)
    pd.testing.assert_frame_equal(df, before)


def test_long_run_effects_dense_and_fixed_point():
    """Short- and long-run effects against the dense matrices of their definition and
    the long-run ones against the steady state of the dynamic model (iterated to a fixed
    point); delta-method SEs against a numerical gradient of the dense formula."""
    df, w = simulate(2, side=6, T=15)
    r = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sdm", fe="entity",
                    dynamic="both", lee_yu=True)
    W = w.sparse.toarray()
    N = W.shape[0]

    def dense(p, long):
        tau, eta, b, th, rho = p
        M = ((1 - tau) * np.eye(N) - (rho + eta) * W) if long else np.eye(N) - rho * W
        S = np.linalg.solve(M, b * np.eye(N) + th * W)
        return np.array([np.trace(S) / N, S.sum() / N - np.trace(S) / N, S.sum() / N])

    p = r.params.to_numpy()
    tau, eta, b, th, rho = p
    Y = np.zeros((N, N))      # steady state of Y = S^-1 ((tau I + eta W) Y + b I + th W)
    Si = np.linalg.inv(np.eye(N) - rho * W)
    for _ in range(3000):
        Y = Si @ ((tau * np.eye(N) + eta * W) @ Y + b * np.eye(N) + th * W)
    for long in (False, True):
        e = r.effects(method="delta", horizon="long" if long else "short")
        est = e.table["estimate"].to_numpy()
        np.testing.assert_allclose(est, dense(p, long), rtol=1e-9)
        if long:
            np.testing.assert_allclose(est, [np.trace(Y) / N, (Y.sum() - np.trace(Y)) / N,
                                             Y.sum() / N], rtol=1e-9)
        h = 1e-6
        J = np.stack([(dense(p + h * u, long) - dense(p - h * u, long)) / (2 * h)
                      for u in np.eye(len(p))], axis=1)
        se = np.sqrt(np.diag(J @ r.cov.to_numpy() @ J.T))
        np.testing.assert_allclose(e.table["std_error"].to_numpy(), se, rtol=1e-5)
    with pytest.raises(ParameterError, match="horizon='long' needs a dynamic model"):
        fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sdm",
                    fe="entity").effects(horizon="long")


# impactsSDPDm(mod5), summary(): short-run then long-run; rows logp, logy; columns
# direct, indirect, total (estimate, std. error). Means and SDs of 200 draws.
MOD5_IMPACTS = {
    "short": ([[-0.261569, 0.178932, -0.082637], [0.101759, -0.015109, 0.086650]],
              [[0.022830, 0.046861, 0.052143], [0.029667, 0.042210, 0.037890]]),
    "long": ([[-1.92836, 0.91054, -1.01783], [0.80149, 0.48361, 1.28510]],
             [[0.20580, 0.58271, 0.66733], [0.22655, 1.54612, 1.59825]]),
}


def test_sdpdmod_mod5_impacts(cigar):
    """SDPDmod's impacts are means and SDs of 200 simulated draws (R's RNG, not
    reproducible here), from its covariance (whose kurtosis term depends on the basis,
    see above). At SDPDmod's estimates our effects are within 3 Monte Carlo SEs
    (printed SD / sqrt(200)) of its means; the short-run SEs (near-linear functions)
    within 15% of its SDs (an SD from 200 draws has a 5% relative SE)."""
    import dataclasses

    D = Dyn(cigar, "both", True, "twoway", 1)
    th = D.corrected(D.sdpd_rho(), nearpd=True)
    k = D.k
    b, rho, s2 = th[:k], th[k], th[k + 1]
    V = np.linalg.inv(D.info(b, rho, s2))
    e = (D.y - (D.Z @ b) @ np.linalg.inv(np.eye(46) - rho * D.W).T) @ D.F.T
    V = (V + V @ omega(e, s2, D.Wn, rho, k) @ V)[:-1, :-1]
    r = _fit(cigar, model="sdm", fe="twoway", dynamic="both", lee_yu=True)
    idx = r.params.index
    r = dataclasses.replace(r, params=pd.Series(th[:-1], index=idx),
                            cov=pd.DataFrame(V, index=idx, columns=idx))
    for horizon, (est, sd) in MOD5_IMPACTS.items():
        w = r.effects(method="delta", horizon=horizon).wide()
        ours = w[["direct", "indirect", "total"]].to_numpy()
        z = (ours - np.array(est)) / (np.array(sd) / np.sqrt(200))
        assert np.all(np.abs(z) < 3), (horizon, z)
        if horizon == "short":
            se = w[["direct_std_error", "indirect_std_error", "total_std_error"]].to_numpy()
            assert np.all(np.abs(se / np.array(sd) - 1) < 0.15), se


@pytest.mark.slow
def test_coverage_lee_yu():
    """95% intervals of tau, eta, rho after the correction (100 panels, N = 49, T = 10;
    measured coverage is in docs/spatial.md): each within [0.88, 0.99]."""
    true = np.array([0.4, 0.15, 0.3])
    hits = []
    for seed in range(100):
        df, w = simulate(100 + seed, side=7, T=10)
        r = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sdm", fe="entity",
                        dynamic="both", lee_yu=True, cov="sandwich")
        ci = r.conf_int().loc[["y(t-1)", "W*y(t-1)", "rho"]].to_numpy()
        hits.append((ci[:, 0] <= true) & (true <= ci[:, 1]))
    cover = np.mean(hits, axis=0)
    assert np.all((cover >= 0.88) & (cover <= 0.99)), cover


def test_dynamic_refuses_an_array_and_large_dense_work():
    df, w = simulate(0, side=4, T=4)
    kw = dict(entity="i", time="t", w=w)
    with pytest.raises(ParameterError, match="dynamic must be one of"):
        fit_spatial(df, "y", "x", dynamic=np.array(["time", "both"]), **kw)
    from dtistat.spatial.dynamic import check_dynamic

    with pytest.raises(ParameterError, match="N = 4000 is above 3000"):
        check_dynamic("both", "sar", "entity", 10, "information", True, 4000)
    check_dynamic("both", "sar", "entity", 10, "information", False, 4000)
