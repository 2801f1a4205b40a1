"""Dynamic spatial panels: the time lag ``tau y_{t-1}`` and/or the space-time lag
``eta W y_{t-1}`` added to SAR / SDM with entity or two-way fixed effects, by ML
(Yu, de Jong & Lee 2008, *J. Econometrics* 146; Lee & Yu 2010, *Econometric Theory* 26).

``y_t = tau y_{t-1} + eta W y_{t-1} + rho W y_t + X_t b + W X_t theta + mu + alpha_t + e_t``

The first period only supplies ``y_{t-1}``: the model is fitted on periods 2..T
(``N (T - 1)`` observations), the lags enter as regressors, and the fixed effects are
removed by demeaning over those T - 1 periods; the rest is the static SAR/SDM likelihood
of :mod:`dtistat.spatial.models` (the lags are predetermined, so the Jacobian is the
static one). With ``lee_yu=True`` and two-way effects the time effects are removed by
the orthonormal transformation of Lee & Yu (2010): N - 1 units and W's unit eigenvalue
dropped (``c = 1`` in :func:`dtistat.spatial.models._counts`), which needs a
row-standardized W.

``lee_yu=True`` then applies the analytical bias correction of Yu, de Jong & Lee (2008,
Theorem 3) / Lee & Yu (2010): ``theta_1 = theta + n I(theta)^-1 b(theta)`` with ``I`` the
information matrix of (coefficients, rho, sigma2), ``n`` the cross-section (N or N - 1)
and ``b`` the leading bias: with ``S = I - rho W``, ``G = W S^-1``,
``A = S^-1 (tau I + eta W)`` and ``K = (I - A)^-1 S^-1``::

    b_tau = tr(K)/n,   b_eta = tr(W K)/n,   b_rho = tr(G (tau I + eta W) K)/n + tr(G)/n,
    b_sigma2 = 1 / (2 sigma2)

(eigenvalues of ``A`` within 1/n of unity are split off as in Lee & Yu 2010, adding
``T / (2 (1 - rho)) m / n`` to the lag and rho entries for the ``m`` such roots). This
is R SDPDmod 0.0.6's ``SDPDm(dynamic=TRUE, LYtrans=TRUE)``; docs/spatial.md lists where
the two differ. Standard errors are at the corrected estimate: the inverse information
(``cov="information"``) or the QML sandwich ``I^-1 + I^-1 Omega I^-1`` of Lee (2004) /
Yu, de Jong & Lee (2008) with the residuals' excess kurtosis (``cov="sandwich"``, what
SDPDmod reports).

Written here: no maintained Python library fits dynamic spatial panels.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import helmert

from dtistat.errors import DataError, EstimationError, ParameterError

__all__ = ["DYNAMIC", "check_dynamic", "estimate_dynamic"]

DYNAMIC = ("time", "spacetime", "both")
_COV = ("information", "sandwich")


_DENSE_MAX_N = 3000    # the correction and the sandwich invert N x N matrices


def check_dynamic(dynamic, model: str, fe, T: int, cov: str, lee_yu: bool, N: int) -> None:
    """Refuse what the dynamic estimator does not cover, naming the parameter."""
    if not (isinstance(dynamic, str) and dynamic in DYNAMIC):
        raise ParameterError(f"dynamic must be one of {DYNAMIC} or None, not {dynamic!r}: "
                             "'time' adds y(t-1), 'spacetime' W*y(t-1), 'both' the two")
    if model not in ("sar", "sdm"):
        raise ParameterError(f"dynamic={dynamic!r} is implemented for model='sar' or "
                             f"'sdm', not {model!r}")
    if fe not in ("entity", "twoway"):
        raise ParameterError(f"dynamic={dynamic!r} needs fe='entity' or 'twoway', not "
                             f"{fe!r} (the bias correction is for individual effects)")
    if cov not in _COV:
        raise ParameterError(f"cov must be one of {_COV} for a dynamic model, not {cov!r}")
    if (lee_yu or cov == "sandwich") and N > _DENSE_MAX_N:
        raise ParameterError(f"lee_yu=True and cov='sandwich' invert dense N x N matrices: "
                             f"N = {N} is above {_DENSE_MAX_N}")
    if T < 3:
        raise DataError(f"dynamic={dynamic!r} needs at least 3 periods (the first is lost "
                        f"to the lag), the panel has {T}")


def _design(pdata, Xraw, dynamic: str, y_name: str):
    """(y on periods 2..T, [lags, X, W X] on periods 2..T, lag names)."""
    from dtistat.spatial.models import _lag

    ylag = pdata.y[:-1]
    lags, names = [], []
    if dynamic in ("time", "both"):
        lags.append(ylag)
        names.append(f"{y_name}(t-1)")
    if dynamic in ("spacetime", "both"):
        lags.append(_lag(pdata.w.sparse, ylag))
        names.append(f"W*{y_name}(t-1)")
    Z = np.concatenate([np.stack(lags, -1), Xraw[1:]], axis=-1)
    return pdata.y[1:], Z, names


def estimate_dynamic(pdata, Xraw, fe: str, lee_yu: bool, jac, dynamic: str, y_name: str,
                     cov: str):
    """ML (and the Lee-Yu correction): beta, rho, s2, loglik, covariance, lag names."""
    from dtistat.spatial.models import _demean, _fit_lag, _info_lag, _lag

    y, Z, lag_names = _design(pdata, Xraw, dynamic, y_name)
    t, N, kz = Z.shape
    c = int(lee_yu and fe == "twoway")
    n_star, T_star = (N - c) * t, t
    Zd = _demean(Z, fe).reshape(t * N, kz)
    yd = _demean(y, fe).ravel()
    wyd = _demean(_lag(pdata.w.sparse, y), fe).ravel()
    beta, rho, s2, ll, _ = _fit_lag(yd, wyd, Zd, jac, n_star, T_star, c)
    Wn = _small_w(pdata.w, c) if lee_yu or cov == "sandwich" else None
    if lee_yu:
        info = _info_lag(Zd, beta, rho, s2, jac, t, n_star, T_star, c)
        theta = np.r_[beta, rho, s2] + bias_correction(beta, rho, s2, info, Wn, t,
                                                       dynamic)
        beta, rho, s2 = theta[:kz], float(theta[kz]), float(theta[kz + 1])
        if not jac.bounds[0] < rho < jac.bounds[1]:
            raise EstimationError(f"the bias-corrected rho = {rho:.4f} is outside its "
                                  f"stable interval {jac.bounds}")
    info = _info_lag(Zd, beta, rho, s2, jac, t, n_star, T_star, c)
    try:
        V = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        raise EstimationError("the information matrix is singular") from None
    if cov == "sandwich":
        e = (yd - rho * wyd - Zd @ beta).reshape(t, N)
        if c:   # the residuals of the N - 1 transformed units
            e = e @ helmert(N).T
        V = V + V @ omega(e, s2, Wn, rho, kz) @ V
    return beta, rho, s2, ll, V, lag_names, t


def _small_w(w, c: int) -> np.ndarray:
    """Dense W, or ``F W F'`` on the N - 1 Helmert-transformed units when the time
    effects are transformed away (``c = 1``; ``F W = W* F`` for a row-standardized W)."""
    W = w.sparse.toarray()
    if not c:
        return W
    F = helmert(W.shape[0])
    return F @ W @ F.T


def bias_correction(beta, rho: float, s2: float, info: np.ndarray, W: np.ndarray,
                    t: int, dynamic: str) -> np.ndarray:
    """``n I^-1 b``: what Yu, de Jong & Lee (2008) add to (beta, rho, sigma2)."""
    n = W.shape[0]
    kz = len(beta)
    eye = np.eye(n)
    tau = beta[0] if dynamic in ("time", "both") else 0.0
    eta = beta[1 if dynamic == "both" else 0] if dynamic != "time" else 0.0
    Si = np.linalg.inv(eye - rho * W)
    G = W @ Si
    L = tau * eye + eta * W
    A = Si @ L
    d, R = np.linalg.eig(A)
    unit = d.real > 1 - 1 / n
    m = int(unit.sum())
    B = A - (R[:, unit] * d[unit]) @ np.linalg.inv(R)[unit] if m else A
    K = np.linalg.solve(eye - B.real, Si)
    b = np.zeros(kz + 2)
    j = 0
    if dynamic in ("time", "both"):
        b[j], j = np.trace(K) / n, j + 1
    if dynamic in ("spacetime", "both"):
        b[j] = np.trace(W @ K) / n
    b[kz] = np.trace(G @ L @ K) / n + np.trace(G) / n
    b[kz + 1] = 1 / (2 * s2)
    if m:
        lags = 2 if dynamic == "both" else 1
        b[:lags] += t / (2 * (1 - rho)) * m / n
        b[kz] += t / (2 * (1 - rho)) * m / n
    return n * np.linalg.solve(info, b)


def omega(e: np.ndarray, s2: float, W: np.ndarray, rho: float, k: int) -> np.ndarray:
    """The non-normal part of the score's variance (Lee 2004; Yu, de Jong & Lee 2008),
    ``(k + 2)`` square: nonzero in the (rho, sigma2) block only, scaled by the excess
    kurtosis of the structural residuals ``e`` (T x n, in the units of ``W``)."""
    t, n = e.shape
    G = W @ np.linalg.inv(np.eye(n) - rho * W)
    kappa = (float(np.mean(e ** 4)) - 3 * s2 ** 2) / s2 ** 2
    g = np.diag(G)
    out = np.zeros((k + 2, k + 2))
    out[k, k] = t * float(g @ g)
    out[k, k + 1] = out[k + 1, k] = t * float(np.trace(G)) / (2 * s2)
    out[k + 1, k + 1] = n * t / (4 * s2 ** 2)
    return kappa * out
