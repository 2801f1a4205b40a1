"""SAC (spatial lag + spatial error) panel model by maximum likelihood.

``y = rho W y + X b + u, u = lambda W u + e`` (Kelejian & Prucha 1998; LeSage & Pace 2009,
sec. 2.2; Elhorst 2014, ch. 2) with the same W in both processes. With the fixed effects
demeaned away, the log-likelihood concentrated in ``b`` and ``sigma2`` is a function of
``(rho, lambda)``; every residual sum of squares comes from the (k+2)-square
cross-products of ``[X, y, Wy]`` and their spatial lags, so each evaluation is O(k^3)
plus two eigenvalue log-determinants. The maximum is found by a nested bounded search
(lambda inside rho). The information matrix is the Gaussian one: with ``A = I - rho W``,
``B = I - lambda W``, ``P_rho = B W A^-1 B^-1`` and ``P_lambda = W B^-1``::

    I(b, b)     = (BX)'(BX) / s2            I(b, rho)   = (BX)'(B W A^-1 X b) / s2
    I(rho, rho) = T*[tr(P_rho P_rho) + tr(P_rho'P_rho)] + |B W A^-1 X b|^2 / s2
    I(rho, lam) = T*[tr(P_rho P_lam) + tr(P_rho'P_lam)]    I(lam, lam) likewise
    I(rho, s2)  = T* tr(P_rho) / s2      I(lam, s2) = T* tr(P_lam) / s2     I(s2, s2) = n*/(2 s4)

(the general formula ``mu_i' Sigma^-1 mu_j + tr(Sigma^-1 Sigma_i Sigma^-1 Sigma_j)/2`` for
``y ~ N(A^-1 X b, s2 (BA)^-1 (BA)^-T)``). With the Lee-Yu transformation of time effects
the matrices are projected off the unit vector, which is the same as working with
``F'WF`` in the (N - 1)-dimensional space.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from dtistat.errors import EstimationError

__all__ = ["fit_sac"]


def _center(M: np.ndarray) -> np.ndarray:
    M = M - M.mean(0, keepdims=True)
    return M - M.mean(1, keepdims=True)


def fit_sac(cross, k, jac, n_star, T_star, c):
    """SAC from the cross-products ``cross(lambda)`` of the filtered ``[X, y, Wy]`` (a
    :class:`~dtistat.spatial.dummies.Cross`, k regressors): returns beta, rho, lambda,
    sigma2, loglik."""
    ZZ = cross(0.0)
    dz = np.sqrt(np.diag(ZZ[:k, :k]))  # equilibrated: the rank must not depend on units
    dz[dz == 0] = 1.0
    if np.linalg.matrix_rank(ZZ[:k, :k] / np.outer(dz, dz)) < k:
        raise EstimationError("the demeaned regressors are collinear")
    lo, hi = jac.bounds
    eps = 1e-6 * (hi - lo)

    def jterm(r):
        return T_star * (jac.logdet(r) - (c * np.log(1 - r) if c else 0.0))

    def ss(rho, lam):
        M = cross(lam)
        g = np.array([1.0, -rho])
        xy = M[:k, k:] @ g
        b = np.linalg.solve(M[:k, :k], xy)
        return float(g @ M[k:, k:] @ g - xy @ b), b

    # relative to the SSR at rho = lambda = 0: the searched values are free of y's units
    ss0 = max(ss(0.0, 0.0)[0], np.finfo(float).tiny)

    def inner(rho):
        res = minimize_scalar(lambda lam: n_star / 2 * np.log(ss(rho, lam)[0] / ss0)
                              - jterm(lam),
                              bounds=(lo + eps, hi - eps), method="bounded",
                              options={"xatol": 1e-11, "maxiter": 500})
        return float(res.x), -float(res.fun) + jterm(rho)

    res = minimize_scalar(lambda r: -inner(r)[1], bounds=(lo + eps, hi - eps),
                          method="bounded", options={"xatol": 1e-10, "maxiter": 500})
    rho = float(res.x)
    lam = inner(rho)[0]
    for name, v in (("rho", rho), ("lambda", lam)):
        if v - lo < 1e-4 * (hi - lo) or hi - v < 1e-4 * (hi - lo):
            raise EstimationError(
                f"{name} = {v:.6f} is at the bound of its stable interval ({lo:.4f}, "
                f"{hi:.4f}): the SAC model is not identified here (rho and lambda share W "
                "and are told apart only through X b; fit SAR, SEM or SDM instead)")
    s, beta = ss(rho, lam)
    s2 = s / n_star
    ll = -n_star / 2 * (np.log(2 * np.pi * s2) + 1) + jterm(rho) + jterm(lam)
    return beta, rho, lam, s2, float(ll)


def info_sac(Xd, beta, rho, lam, s2, W, T, n_star, T_star, c, mean=None, proj=None,
             out=None):
    """The information matrix of (b, rho, lambda, sigma2) (module docstring); dense.

    ``mean``: the fitted mean of ``A y`` with the fitted dummies (T x N, default
    ``Xd b``); ``proj``: the projection off the filtered dummies ``B D``, applied to
    ``B X`` and ``B W A^-1 mean`` (the direct approach with time effects or an
    intercept: the dummies partialled out); ``out``: a dict that receives ``mm = m'm``."""
    N = W.shape[0]
    Wd = W.toarray() if hasattr(W, "toarray") else np.asarray(W)
    I = np.eye(N)
    Ainv = np.linalg.inv(I - rho * Wd)
    B = I - lam * Wd
    Binv = np.linalg.inv(B)
    WA = Wd @ Ainv
    Prho = B @ WA @ Binv
    Plam = Wd @ Binv
    if c:
        Prho, Plam = _center(Prho), _center(Plam)
    k = Xd.shape[1]
    X3 = Xd.reshape(T, N, k)
    BX = np.einsum("ij,tjk->tik", B, X3)
    m = np.einsum("ij,tj->ti", B @ WA, X3 @ beta if mean is None else mean)
    if c:
        BX = BX - BX.mean(1, keepdims=True)
        m = m - m.mean(1, keepdims=True)
    if proj is not None:
        BX, m = proj(BX), proj(m)
    BX = BX.reshape(-1, k)
    m = m.ravel()

    def tr2(P, Q):
        return float((P * Q.T).sum() + (P * Q).sum())

    info = np.zeros((k + 3, k + 3))
    info[:k, :k] = BX.T @ BX / s2
    info[:k, k] = info[k, :k] = BX.T @ m / s2
    if out is not None:
        out["mm"] = float(m @ m)
    info[k, k] = T_star * tr2(Prho, Prho) + float(m @ m) / s2
    info[k, k + 1] = info[k + 1, k] = T_star * tr2(Prho, Plam)
    info[k + 1, k + 1] = T_star * tr2(Plam, Plam)
    info[k, k + 2] = info[k + 2, k] = T_star * np.trace(Prho) / s2
    info[k + 1, k + 2] = info[k + 2, k + 1] = T_star * np.trace(Plam) / s2
    info[k + 2, k + 2] = n_star / (2 * s2 ** 2)
    return info
