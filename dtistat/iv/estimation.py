"""Linear IV estimators -- 2SLS, LIML and two-step efficient GMM -- with absorbed fixed effects.

All three are computed on the design of :mod:`dtistat.iv.design` (fixed effects already
swept out), with X = [X1, Y2] (included exogenous and endogenous regressors) and
Z = [X1, Z2] (included exogenous and excluded instruments):

* 2SLS: b = (X'P_Z X)^-1 X'P_Z y;
* LIML (k-class, Anderson and Rubin 1949): b = (X'(I - k M_Z) X)^-1 X'(I - k M_Z) y with
  k the smallest eigenvalue of (W'M_Z W)^-1 W'M_X1 W, W = [y, Y2] (as linearmodels'
  ``IVLIML``); Fuller's (1977) modification uses k = kappa_LIML - alpha / (N - L), L the
  number of instruments (included and excluded, the intercept and the absorbed fixed
  effects counted: what ``IVLIML(..., fuller=alpha)`` and ``ivreg2, fuller(alpha)`` give
  when every instrument is a column);
* GMM (Hansen 1982, two steps): the weight matrix is the inverse of the moment
  covariance of the 2SLS residuals, computed with the same covariance type
  (homoskedastic, robust, cluster, two-way cluster, Driscoll-Kraay) and no small-sample
  factor (linearmodels' ``IVGMM`` with ``weight_type`` matching, ``center=False``).

Standard errors always come from :func:`dtistat.inference.sandwich`: the covariance of a
linear IV estimator b = (A'X)^-1 A'y is ``(A'X)^-1 [sum scores] (X'A)^-1`` with the
"effective regressors" A = P_Z X (2SLS), the 2SLS fitted regressors for LIML with bread
(X'(I - k M_Z)X)^-1 (linearmodels' convention) and A = Z W Z'X for GMM, and the
structural residuals y - X b.
"""

from __future__ import annotations

import numpy as np

from dtistat.errors import EstimationError
from dtistat.inference import sandwich

__all__ = ["ESTIMATORS", "gmm_fit", "kclass_fit", "projection", "tall_mul"]

ESTIMATORS = ("2sls", "liml", "gmm")


def _solve(A: np.ndarray, B: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.linalg.solve(A, B)
    except np.linalg.LinAlgError:
        raise EstimationError(f"the {what} is singular (collinear variables)") from None


def tall_mul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for a tall A (N x k) and a small B; as (B'A')' when B is a matrix.

    The transposed product is an order of magnitude faster with OpenBLAS for N x k
    times k x m with small k and m (measured: 0.06 s against 0.6 s at N = 1e6).
    """
    if B.ndim == 1:
        return A @ B
    return (B.T @ A.T).T


def projection(Z: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (Z'Z)^-1 Z'X and fitted values Z (Z'Z)^-1 Z'X."""
    coef = _solve(Z.T @ Z, Z.T @ X, "instrument cross-product matrix")
    return coef, tall_mul(Z, coef)


def liml_kappa(y: np.ndarray, Y2: np.ndarray, X1: np.ndarray, Z: np.ndarray) -> float:
    """Smallest eigenvalue of (W'M_Z W)^-1 (W'M_X1 W), W = [y, Y2]."""
    W = np.column_stack([y, Y2])
    WZ = W - projection(Z, W)[1]
    WX = W - projection(X1, W)[1] if X1.shape[1] else W
    A = WZ.T @ W
    B = WX.T @ W
    vals = np.linalg.eigvals(_solve(A, B, "LIML residual cross-product"))
    return float(np.min(np.real(vals)))


def kclass_fit(y, X1, Y2, Z2, *, estimator: str = "2sls", fuller: float = 0.0,
               fuller_dof: float | None = None):
    """k-class estimate; returns (b, resid, effective regressors, bread, kappa).

    ``estimator="liml"`` with ``fuller=alpha`` subtracts ``alpha / fuller_dof`` (N - L)
    from LIML's kappa.
    """
    X = np.column_stack([X1, Y2])
    Z = np.column_stack([X1, Z2])
    _, Xhat = projection(Z, X)
    if estimator == "liml":
        kappa = liml_kappa(y, Y2, X1, Z)
        if fuller:
            kappa -= fuller / fuller_dof
        Xk = X - kappa * (X - Xhat)
    else:
        kappa = 1.0
        Xk = Xhat
    XkX = Xk.T @ X
    b = _solve(XkX, Xk.T @ y, "second-stage cross-product matrix")
    e = y - X @ b
    bread = np.linalg.inv((XkX + XkX.T) / 2)
    return b, e, Xhat, bread, kappa


def moment_cov(Z: np.ndarray, e: np.ndarray, *, cov: str, clusters, time_codes, lags):
    """Covariance of the moments sum_i z_i e_i without small-sample factors (the meat)."""
    if cov == "unadjusted":
        return float(e @ e) / len(e) * (Z.T @ Z)
    est = sandwich(Z, e, np.eye(Z.shape[1]), cov=cov, small_sample="ivreg2",
                   clusters=clusters, time_codes=time_codes, lags=lags)
    return est.cov


def gmm_fit(y, X1, Y2, Z2, *, cov: str, clusters, time_codes, lags):
    """Two-step efficient GMM; returns (b, resid, effective regressors, bread, weight)."""
    _b1, e1, *_ = kclass_fit(y, X1, Y2, Z2)
    X = np.column_stack([X1, Y2])
    Z = np.column_stack([X1, Z2])
    S = moment_cov(Z, e1, cov=cov, clusters=clusters, time_codes=time_codes, lags=lags)
    # the scale of the weight does not change b; dividing by s^2 makes A = P_Z X under
    # homoskedasticity, so the unadjusted sandwich (s^2 (A'X)^-1) stays correct
    S = S / (float(e1 @ e1) / len(e1))
    Xg = tall_mul(Z, _solve(S, Z.T @ X, "GMM weight matrix"))
    XgX = Xg.T @ X
    b = _solve(XgX, Xg.T @ y, "GMM cross-product matrix")
    e = y - X @ b
    bread = np.linalg.inv((XgX + XgX.T) / 2)
    return b, e, Xg, bread, S
