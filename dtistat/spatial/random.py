"""Spatial panels with random individual effects by maximum likelihood, and the spatial
Hausman test of fixed against random effects.

SAR / SDM with random effects (Elhorst 2003, *Int. Regional Sci. Review* 26; Elhorst
2014, *Spatial Econometrics*, sec. 3.3; R ``splm::spml(model="random", lag=TRUE)``)::

    y_t = rho W y_t + a + X_t b + mu + e_t,   mu ~ N(0, s2_mu I_N),  e_t ~ N(0, s2 I_N)

With ``phi = s2 / (s2 + T s2_mu)`` the GLS transformation ``z* = z - (1 - sqrt(phi)) zbar_i``
commutes with W, so::

    logL = -NT/2 log(2 pi s2) + N/2 log(phi) + T log|I - rho W| - e*'e* / (2 s2)

and, for given ``phi``, the model is the pooled SAR on transformed data: ``rho`` comes
from the same concentrated likelihood as the fixed-effects fit and ``phi`` from an outer
bounded search on (0, 1]. The intercept is estimated (column ``const``).

SEM with random effects is the Baltagi, Song & Koh (2003, *J. Econometrics* 117) /
Elhorst (2003) model, R ``spml(model="random", spatial.error="b")``:
``y = a + X b + mu + u, u_t = lambda W u_t + e_t``. With ``B = I - lambda W`` and
``psi = s2_mu / s2``::

    logL = -NT/2 log(2 pi s2) - 1/2 log|I + T psi B'B| + T log|B|
           - [T ebar' V^-1 ebar + sum_t (B et~)'(B et~)] / (2 s2),   V = T psi I + (B'B)^-1

(``ebar`` entity means of the residuals, ``et~`` deviations from them). For each lambda
one symmetric eigendecomposition of ``B'B`` (O(N^3)) makes every ``psi`` cheap; the fit is
meant for N up to about a thousand.

Fixed time effects with random individual effects (``fe="random-time"``): T period
intercepts in place of the constant, partialled out of the information matrix, or, with
``lee_yu=True``, the same model on the Lee-Yu transformed panel ``F'y_t`` (N - 1 units,
``W* = F'WF``; see ``_estimate_random_leeyu`` in :mod:`dtistat.spatial.models`).

Standard errors: the Gaussian information matrix ``mu_i' Omega^-1 mu_j +
tr(Omega^-1 Omega_i Omega^-1 Omega_j)/2``, written out for both models; the variance
parameter reported beside ``sigma2`` in ``cov_full`` is ``psi = s2_mu / s2`` for both.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from dtistat.errors import EstimationError

__all__ = ["drop_nuisance", "fit_error_random", "fit_lag_random", "spatial_hausman"]

_PHI_LO = 1e-9
_PAIRS = (("entity", "random"), ("twoway", "random-time"))   # (fixed, random) fe= pairs


def _gls(a: np.ndarray, phi: float) -> np.ndarray:
    """``a - (1 - sqrt(phi)) abar_i`` for a T x N (x k) stack."""
    return a - (1.0 - np.sqrt(phi)) * a.mean(axis=0, keepdims=True)


def drop_nuisance(info: np.ndarray, n: int) -> np.ndarray:
    """Information of the parameters after the first ``n`` (nuisance: the period
    intercepts), partialled out: the Schur complement, whose inverse is the lower-right
    block of ``info^-1``."""
    a, b, c = info[:n, :n], info[:n, n:], info[n:, n:]
    return c - b.T @ np.linalg.solve(a, b)


def _polish_phi(score, phi: float) -> float:
    """Refine phi as the root of its profile score (the bounded search stops at ~1e-8)."""
    from dtistat.spatial.models import root_near

    if phi >= 1.0 - 1e-6:
        return phi
    return root_near(score, phi, (0.0, 1.0), rel=1e-6 * max(phi, 1e-3))


def fit_lag_random(y, wy, X, jac, fit_lag, info_lag, lee_yu=False):
    """SAR/SDM with random effects. ``y, wy``: T x N; ``X``: T x N x k with a constant.

    ``lee_yu``: the data are demeaned by period and stand for the Lee-Yu transformed
    panel of N - 1 units (``F'y_t``, ``F'F = I``, ``F'1 = 0``; needs a row-standardized W):
    N - 1 in the counts and the unit eigenvalue dropped from the Jacobian (c = 1).

    Returns beta, rho, s2, loglik, psi and the information matrix of
    (beta, rho, psi, sigma2).
    """
    T, N, k = X.shape
    c = int(bool(lee_yu))
    Nn = N - c                                                    # units after transform
    NT = N * T

    def at(phi):
        Xs = _gls(X, phi).reshape(NT, k)
        b, rho, s2, ll, _ = fit_lag(_gls(y, phi).ravel(), _gls(wy, phi).ravel(), Xs, jac,
                                    Nn * T, T, c)
        return b, rho, s2, ll + Nn / 2 * np.log(phi), Xs

    def score(phi):   # d logL / d phi at the profile optimum: e*'e* = within + phi between
        b, rho = at(phi)[:2]
        e = y - rho * wy - X @ b
        ebar = e.mean(axis=0)
        wss, bss = float(((e - ebar) ** 2).sum()), T * float((ebar ** 2).sum())
        return -Nn * T / 2 * bss / (wss + phi * bss) + Nn / (2 * phi)

    res = minimize_scalar(lambda p: -at(p)[3], bounds=(_PHI_LO, 1.0), method="bounded",
                          options={"xatol": 1e-11, "maxiter": 500})
    phi = _polish_phi(score, float(res.x))
    if phi < 1e-6:
        raise EstimationError("the random-effects variance diverges (phi -> 0): the "
                              "individual effects are not random-looking; use fe='entity'")
    beta, rho, s2, ll, Xs = at(phi)
    info = info_lag(Xs, beta, rho, s2, jac, T, Nn * T, T, c)      # beta, rho, sigma2
    t1 = float(np.real(np.sum(jac.omega / (1 - rho * jac.omega)))) if jac.omega is not None \
        else float(np.trace(np.asarray(jac.inverse_times_w(rho))))
    t1 -= c / (1 - rho)                       # tr W*(I - rho W*)^-1 without the unit root
    # add phi (Elhorst 2014, sec. 3.3), then change variables phi -> psi = s2_mu / s2
    full = np.zeros((k + 3, k + 3))
    idx = list(range(k + 1)) + [k + 2]
    full[np.ix_(idx, idx)] = info
    full[k + 1, k] = full[k, k + 1] = -t1 / phi
    full[k + 1, k + 1] = Nn / (2 * phi ** 2)
    full[k + 1, k + 2] = full[k + 2, k + 1] = -Nn / (2 * phi * s2)
    psi = (1.0 / phi - 1.0) / T
    J = np.eye(k + 3)
    J[k + 1, k + 1] = -T * phi ** 2                                # d phi / d psi
    return beta, rho, s2, ll, psi, J.T @ full @ J


class _ErrorRE:
    """Pieces of the SEM random-effects likelihood that do not depend on lambda."""

    def __init__(self, y, X, W):
        T, N, k = X.shape
        self.T, self.N, self.k = T, N, k
        Z = np.concatenate([X, y[..., None]], axis=-1)            # T x N x (k+1)
        self.Zbar = Z.mean(axis=0)                                # N x (k+1)
        self.W = W.toarray() if hasattr(W, "toarray") else np.asarray(W)
        m = Z.shape[-1]
        Zt = Z - self.Zbar[None]
        WZt = np.einsum("ij,tjm->tim", self.W, Zt).reshape(-1, m)
        Zt = Zt.reshape(-1, m)
        self.c00, self.c01, self.c11 = Zt.T @ Zt, Zt.T @ WZt, WZt.T @ WZt

    def eig(self, lam):
        B = np.eye(self.N) - lam * self.W
        d, U = np.linalg.eigh(B.T @ B)
        within = self.c00 - lam * (self.c01 + self.c01.T) + lam * lam * self.c11
        return d, U, within, U.T @ self.Zbar

    def conc(self, lam, phi, parts):
        """Concentrated logL at (lambda, phi), phi = 1 / (1 + T psi); and beta, ss."""
        d, U, within, Zu = parts
        T, N, k = self.T, self.N, self.k
        tpsi = (1.0 / phi - 1.0)                                 # T psi
        wts = d / (1 + tpsi * d)
        M = within + T * (Zu * wts[:, None]).T @ Zu
        b = np.linalg.solve(M[:k, :k], M[:k, k])
        ss = float(M[k, k] - M[:k, k] @ b)
        NT = N * T
        ll = (-NT / 2 * (np.log(2 * np.pi * ss / NT) + 1) - 0.5 * np.log1p(tpsi * d).sum()
              + T / 2 * np.log(d).sum())
        return ll, b, ss


    def _beta_g(self, phi, parts):
        d, U, within, Zu = parts
        tpsi = 1.0 / phi - 1.0
        M = within + self.T * (Zu * (d / (1 + tpsi * d))[:, None]).T @ Zu
        g = np.r_[-np.linalg.solve(M[:self.k, :self.k], M[:self.k, self.k]), 1.0]
        return tpsi, g, float(g @ M @ g)

    def phi_score(self, phi, parts):
        """d logL / d phi at the concentrated (beta, sigma2) (envelope theorem)."""
        d, U, _, Zu = parts
        tpsi, g, ss = self._beta_g(phi, parts)
        q = (Zu @ g) ** 2
        dss = self.T * float(np.sum(q * d * d / ((1 + tpsi * d) ** 2 * phi ** 2)))
        return (-self.N * self.T / 2 * dss / ss
                + float(np.sum(d / (1 + tpsi * d))) / (2 * phi ** 2))

    def lam_score(self, lam, phi, parts):
        """d logL / d lambda at fixed phi and the concentrated (beta, sigma2):
        d(B'B)/d lambda = -G, G = W'B + B'W, H = U'GU."""
        d, U, _, Zu = parts
        tpsi, g, ss = self._beta_g(phi, parts)
        B = np.eye(self.N) - lam * self.W
        G = self.W.T @ B
        H = U.T @ (G + G.T) @ U
        h = np.diag(H)
        v = (Zu @ g) / (1 + tpsi * d)
        dss = (g @ (2 * lam * self.c11 - self.c01 - self.c01.T) @ g
               - self.T * float(v @ H @ v))
        return (-self.N * self.T / 2 * dss / ss + 0.5 * tpsi * float(np.sum(h / (1 + tpsi * d)))
                - self.T / 2 * float(np.sum(h / d)))


def fit_error_random(y, X, W, bounds):
    """SEM with random effects (Baltagi-Song-Koh). ``X`` includes a constant.

    Returns beta, lambda, s2, loglik, psi and the information matrix of
    (beta, lambda, psi, sigma2).
    """
    m = _ErrorRE(y, X, W)
    lo, hi = bounds
    eps = 1e-6 * (hi - lo)

    def inner(lam, polish=False):
        parts = m.eig(lam)
        r = minimize_scalar(lambda p: -m.conc(lam, p, parts)[0], bounds=(_PHI_LO, 1.0),
                            method="bounded", options={"xatol": 1e-11, "maxiter": 500})
        phi = float(r.x)
        if polish:
            phi = _polish_phi(lambda p: m.phi_score(p, parts), phi)
        return phi, -float(r.fun), parts

    res = minimize_scalar(lambda lam: -inner(lam)[1], bounds=(lo + eps, hi - eps),
                          method="bounded", options={"xatol": 1e-10, "maxiter": 500})
    lam = float(res.x)

    def profile_score(x):   # envelope theorem: d/d lambda at the profile phi
        phi_x, _, parts = inner(x, polish=True)
        return m.lam_score(x, phi_x, parts)

    from dtistat.spatial.models import root_near

    lam = root_near(profile_score, lam, (lo, hi))
    if lam - lo < 1e-4 * (hi - lo) or hi - lam < 1e-4 * (hi - lo):
        raise EstimationError(f"lambda = {lam:.6f} is at the bound of its stable interval "
                              f"({lo:.4f}, {hi:.4f})")
    phi = inner(lam, polish=True)[0]
    if phi < 1e-6:
        raise EstimationError("the random-effects variance diverges (psi -> infinity); "
                              "use fe='entity'")
    ll, beta, ss = m.conc(lam, phi, m.eig(lam))
    T, N = m.T, m.N
    s2 = ss / (N * T)
    psi = (1.0 / phi - 1.0) / T
    return beta, lam, s2, ll, psi, _info_error_random(m, beta, lam, psi, s2, X)


def _info_error_random(m, beta, lam, psi, s2, X):
    T, N, k = X.shape
    W = m.W
    B = np.eye(N) - lam * W
    d, U = np.linalg.eigh(B.T @ B)
    Vi = (U * (d / (1 + T * psi * d))) @ U.T                     # V^-1
    Sig = (U / d) @ U.T                                          # (B'B)^-1
    G = W.T @ B + B.T @ W
    Sl = Sig @ G @ Sig                                           # d Sigma / d lambda
    Xbar = X.mean(axis=0)
    Xt = X - Xbar[None]
    BXt = np.einsum("ij,tjk->tik", B, Xt).reshape(-1, k)
    info = np.zeros((k + 3, k + 3))
    info[:k, :k] = (T * Xbar.T @ Vi @ Xbar + BXt.T @ BXt) / s2
    # (between block, within block) of Omega^-1 dOmega/d theta for lambda, psi, sigma2
    blocks = [(Vi @ Sl, G @ Sig), (T * Vi, np.zeros((N, N))),
              (np.eye(N) / s2, np.eye(N) / s2)]
    for i in range(3):
        for j in range(i + 1):
            a = float((blocks[i][0] * blocks[j][0].T).sum())
            c = float((blocks[i][1] * blocks[j][1].T).sum())
            info[k + i, k + j] = info[k + j, k + i] = 0.5 * (a + (T - 1) * c)
    return info


def spatial_hausman(fixed, random, *, spatial: bool = False, method: str = "sigmamore"):
    """Hausman test of a fixed-effects spatial fit against the random-effects one.

    ``H = d' (V_fe - V_re)^-1 d`` with ``d = b_fe - b_re`` over the common slope
    coefficients (``spatial=True`` adds rho / lambda); chi-squared with as many degrees of
    freedom under H0 (random effects consistent and efficient). This is the test of R
    ``splm::sphtest`` on ML fits and of Stata ``xsmle, hausman`` (Mutl & Pfaffermayr 2011,
    *Econometrics J.* 14, use the same contrast; ``sphtest`` compares the slopes
    with each fit's own covariance, ``method="separate"`` here). When ``V_fe - V_re`` is
    not positive definite (a finite-sample accident, more frequent with ``spatial=True``
    and small N), the statistic uses its positive eigenvalues only and ``df`` is their
    number (with a warning), as :func:`dtistat.hausman`'s default ``method="pinv"``.

    ``method="sigmamore"`` (default) evaluates both covariances at one disturbance
    variance, the efficient (random-effects) ``sigma2``, as Stata's ``hausman,
    sigmamore``: the fixed-effects information of (b, rho / lambda) with sigma2
    partialled out is ``G / s2 + C`` (C the trace terms, free of s2) and is re-evaluated
    at the random-effects ``s2``. With large T the contrast's variance is a small
    difference (0.13% of V_fe at T = 20) and the two fits' own sigma2, equal on average
    but not panel by panel, added noise to it that made the test over-reject (8-11% at
    5% with N = 49-100, T = 20; about 6% with ``"sigmamore"``: docs/spatial.md).
    ``method="separate"`` uses each fit's own covariance (R ``splm::sphtest``).

    Parameters
    ----------
    fixed, random : SpatialPanelResult
        ``fit_spatial(..., fe="entity", lee_yu=True)`` and ``fit_spatial(...,
        fe="random")`` of the same model on the same data, or, when the panel has time
        effects, ``fe="twoway", lee_yu=True`` and ``fe="random-time"`` (both with period
        effects, so time effects that move with x do not make it reject), both with
        ``lee_yu=True``. The Lee-Yu fixed-effects fit is required: its ``sigma2`` is
        consistent for fixed T, the direct approach's is T/(T - 1) too small and makes
        the contrast's variance indefinite; likewise the random-effects fit with time
        effects, whose direct approach's ``sigma2`` is about (T - 1)/NT too small.
    spatial : bool
        Include the spatial parameter in the contrast.
    method : {"sigmamore", "separate"}
        One disturbance variance (the random-effects one) in both covariances, or each
        fit's own.

    Returns
    -------
    HausmanResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from libpysal.weights import lat2W
    >>> from dtistat import fit_spatial, spatial_hausman
    >>> w = lat2W(5, 5); w.transform = "r"; W = w.sparse.toarray()
    >>> rng = np.random.default_rng(0); N, T = 25, 6
    >>> X = rng.normal(size=(T, N)); mu = rng.normal(size=N)
    >>> Y = np.stack([np.linalg.solve(np.eye(N) - 0.4 * W, X[t] + mu + rng.normal(0, .5, N))
    ...               for t in range(T)])
    >>> df = pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(range(T), N),
    ...                    "y": Y.ravel(), "x": X.ravel()})
    >>> kw = dict(entity="i", time="t", w=w, model="sar")
    >>> h = spatial_hausman(fit_spatial(df, "y", "x", fe="entity", lee_yu=True, **kw),
    ...                     fit_spatial(df, "y", "x", fe="random", **kw))
    >>> h.df, bool(h.p_value > 0.05)
    ((1,), True)
    """
    import pandas as pd
    from scipy import stats

    from dtistat._validate import check_choice

    check_choice(method, ("sigmamore", "separate"), "method")

    from dtistat._validate import warn
    from dtistat.errors import ParameterError
    from dtistat.panel.hausman import _eig_stat
    from dtistat.panel.results import HausmanResult

    pair = (getattr(fixed, "fe", None), getattr(random, "fe", None))
    if pair not in _PAIRS:
        raise ParameterError(f"spatial_hausman needs fixed= a fit with fe='entity' and "
                             f"random= a fit with fe='random', or fe='twoway' and "
                             f"fe='random-time' (got fe={pair[0]!r} and fe={pair[1]!r})")
    if not fixed.lee_yu:
        raise ParameterError("spatial_hausman needs the fixed-effects fit with lee_yu=True: "
                             "the direct approach's sigma2 = e'e/NT is biased by (T-1)/T, "
                             "which makes V_fe - V_re indefinite (a negative statistic)")
    if pair[1] == "random-time" and not random.lee_yu:
        raise ParameterError("spatial_hausman needs the fe='random-time' fit with "
                             "lee_yu=True as well: with the period intercepts as free "
                             "parameters its sigma2 is (T - 1)/NT too small against the "
                             "Lee-Yu fixed-effects fit, which inflates V_fe - V_re (mean "
                             "statistic 0.9 for chi2(2) in simulations)")
    if fixed.model != random.model or fixed.nobs != random.nobs:
        raise ParameterError(f"spatial_hausman: the two fits must be the same model on the "
                             f"same data (got {fixed.model!r} and {random.model!r}, "
                             f"{fixed.nobs} and {random.nobs} observations)")
    sp = [n for n in ("rho", "lambda") if n in fixed.params.index]
    terms = list(fixed.x_names) + list(fixed.durbin_names) + (sp if spatial else [])
    d = fixed.params[terms] - random.params[terms]
    V_fe = _fixed_cov(fixed, random.sigma2) if method == "sigmamore" else fixed.cov
    Vd = (V_fe.loc[terms, terms] - random.cov.loc[terms, terms]).to_numpy()
    # V_fe - V_re on its positive eigenvalues (dtistat.hausman's "pinv"): the
    # Moore-Penrose inverse of an indefinite matrix gave negative statistics (with
    # spatial=True, 3% of simulated 49 x 20 panels; benchmarks/hausman_size.py)
    stat, df = _eig_stat(d.to_numpy(), Vd, positive_only=True)
    if df == 0:
        raise EstimationError("V_fe - V_re has no positive eigenvalue: the spatial "
                              "Hausman test is undefined for these fits")
    if df < len(terms):
        warn("V_fe - V_re is not positive definite; the test uses it on its positive "
             f"eigenvalues, with {df} degree(s) of freedom instead of {len(terms)}")
    what = ("fixed vs random effects" if pair[0] == "entity" else
            "two-way FE vs random effects + time FE") + \
        (", sigma2 of RE in both" if method == "sigmamore" else "")
    return HausmanResult(
        test=f"Spatial Hausman ({fixed.model.upper()}: {what})",
        statistic=stat, p_value=float(stats.chi2.sf(stat, df)), df=(df,),
        distribution="chi2", null="random effects are consistent (uncorrelated with X)",
        terms=tuple(terms), difference=pd.Series(d, name="fe - re"),
        fe_cov_type="information matrix" + (" at the RE sigma2" if method == "sigmamore"
                                             else ""),
        re_cov_type="information matrix")


def _fixed_cov(fixed, s2):
    """The fixed-effects covariance of (b, rho / lambda) re-evaluated at disturbance
    variance ``s2``: its information with sigma2 partialled out is ``G / s2_fe + C``."""
    import pandas as pd

    from dtistat.errors import ParameterError

    C = fixed._info_sigma2_free
    if C is None:
        raise ParameterError("method='sigmamore' needs the fixed-effects fit from "
                             "fit_spatial (its information parts); use method='separate'")
    S = np.linalg.inv(fixed.cov.to_numpy())
    V = np.linalg.inv((S - C) * (fixed.sigma2 / s2) + C)
    return pd.DataFrame(V, index=fixed.cov.index, columns=fixed.cov.columns)
