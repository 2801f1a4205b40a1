"""Many Phillips-Sul log t regressions at once: the kernel behind club clustering.

Club clustering (:mod:`dtistat.index.disparity.clubs`) runs a log t regression for every
prefix of the sorted units (core group), for the core plus each remaining unit (sieve) and
for every club plus each divergent unit (merging). All these groups are nested or differ
by one unit, so their cross-sectional variations ``H_t = var_i(x_it) / mean_i(x_it)^2``
come from per-period running sums of deviations ``d_it = x_it - c_t`` (shifted by a value
``c_t`` inside the group, so that the variance of a tight club keeps its digits), and the
regressions of all groups share one design: one product gives every slope, one pass over
the lags every long-run variance (FQSB, as R ``ConvergenceClubs``). It is also the kernel of
:func:`dtistat.index.disparity.logt.log_t_test` (one row).
Hand-written: no library batches this regression.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["cross_variation", "group_H", "log_t_rows", "trimmed_start"]


def trimmed_start(n_periods: int, time_trim: float, rounding: str = "half_even") -> int:
    """Periods left out of the regression, ``[rT]``: rounded half to even (R) or half up
    (Stata ``logtreg``)."""
    x = n_periods * time_trim
    return int(np.floor(x + 0.5)) if rounding == "half_up" else round(x)


def cross_variation(X: np.ndarray) -> np.ndarray:
    """``H_t`` of the units in the rows of ``X`` (the direct formula)."""
    m = X.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero mean: NaN, fails the test
        return ((X / m - 1.0) ** 2).mean(axis=0)


def group_H(sum_d: np.ndarray, sum_d2: np.ndarray, k: np.ndarray | int,
            shift: np.ndarray) -> np.ndarray:
    """``H_t`` of groups from their sums of ``d = x - shift`` and ``d^2`` (groups in rows)."""
    k = np.asarray(k, dtype=float).reshape(-1, 1) if np.ndim(k) else float(k)
    mean_d = sum_d / k
    var = np.maximum(sum_d2 / k - mean_d**2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return var / (shift + mean_d) ** 2


def _fqsb(e: np.ndarray) -> np.ndarray:
    """Long-run variance of each row of residuals: Phillips & Sul's GAUSS code as ported to R
    ``ConvergenceClubs::ps_andrews_hac`` (QS kernel, Andrews' AR(1) plug-in bandwidth,
    autocovariances of lags 1..n-2 over the first n-1 residuals, all scaled by 1/(n-1))."""
    n = e.shape[1]
    rho = np.einsum("ij,ij->i", e[:, :-1], e[:, 1:]) / np.einsum("ij,ij->i", e[:, :-1],
                                                                  e[:, :-1])
    bw = 1.3221 * (4 * rho**2 / (1 - rho) ** 4 * n) ** 0.2
    z = 1.2 * np.pi * np.arange(1, n - 1)[None, :] / bw[:, None]
    kern = 3.0 / z**2 * (np.sin(z) / z - np.cos(z))
    m = n - 1
    acc = np.zeros(e.shape[0])
    for j in range(1, m):  # lags 1..n-2 over the first n-1 residuals (the GAUSS original)
        acc += kern[:, j - 1] * np.einsum("ij,ij->i", e[:, : m - j], e[:, j:m])
    return (np.einsum("ij,ij->i", e, e) + 2 * acc) / m


def _qs_kernel(x: np.ndarray) -> np.ndarray:
    """Quadratic Spectral weights as R ``sandwich::kweights`` (its series near 0)."""
    def qs(v):
        y = 6 * np.pi * v / 5
        return 3 * (1 / y) ** 2 * (np.sin(y) / y - np.cos(y))
    small = np.abs(x) < 1e-3
    with np.errstate(divide="ignore", invalid="ignore"):
        w = qs(x)
    return np.where(small, np.exp(1e6 * np.log(qs(1e-3)) * x**2), w)


def _aqsb_var(Xd: np.ndarray, XtX_inv: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Var of the slope by R ``sandwich::vcovHAC`` defaults, row by row: QS kernel,
    Andrews' AR(1) bandwidth from the slope's score (intercept weight 0), weights cut
    after the last one above 1e-7, factor n/(n-2); no bandwidth -> White's (as the port).
    """
    G, n = e.shape
    U = e[:, :, None] * Xd[None, :, :]  # scores, G x n x 2
    v = U[:, :, 1] - U[:, :, 1].mean(axis=1, keepdims=True)
    a, b = v[:, :-1], v[:, 1:]  # AR(1) with intercept by OLS, as stats::ar.ols
    am, bm = a.mean(axis=1, keepdims=True), b.mean(axis=1, keepdims=True)
    rho = ((a - am) * (b - bm)).sum(axis=1) / ((a - am) ** 2).sum(axis=1)
    sig2 = (((b - bm) - rho[:, None] * (a - am)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bw = 1.3221 * (n * 4 * rho**2 / (1 - rho) ** 4) ** 0.2
        w = _qs_kernel(np.arange(n)[None, :] / bw[:, None])
    ok = (bw > 0) & np.isfinite(bw) & (sig2 > 0)
    big = np.abs(w) > 1e-7
    last = np.where(big.any(axis=1), n - 1 - np.argmax(big[:, ::-1], axis=1), 0)
    w = np.where(np.arange(n)[None, :] <= last[:, None], w, 0.0)
    w[~ok] = 0.0
    w[:, 0] = np.where(ok & big.any(axis=1), w[:, 0], 1.0)
    S = 0.5 * w[:, :1, None] * np.einsum("gti,gtj->gij", U, U)
    for lag in range(1, n):
        if np.any(w[:, lag]):
            S += w[:, lag, None, None] * np.einsum("gti,gtj->gij", U[:, : n - lag],
                                                   U[:, lag:])
    S = S + np.transpose(S, (0, 2, 1))
    a1 = XtX_inv[1]
    return n / (n - 2) * np.einsum("i,gij,j->g", a1, S, a1)


def log_t_rows(H: np.ndarray, time_trim: float, rounding: str = "half_even",
               hac: str = "fqsb") -> dict[str, np.ndarray]:
    """Log t regression of every row of ``H`` (groups x periods).

    ``hac="fqsb"`` is Phillips & Sul's fixed-bandwidth long-run variance (R
    ``HACmethod="FQSB"``), ``"aqsb"`` R's ``sandwich::vcovHAC`` (``"AQSB"``). Returns
    arrays ``beta``, ``std_error``, ``t_value``, ``p_value``, ``intercept``; a group whose
    ``H`` is zero or undefined in a period gets NaN, which fails every test.
    """
    H = np.atleast_2d(H)
    T = H.shape[1]
    t = np.arange(trimmed_start(T, time_trim, rounding) + 1, T + 1)
    lt = np.log(t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = np.log(H[:, :1] / H[:, t - 1]) - 2 * np.log(lt)
        Xd = np.column_stack([np.ones(t.size), lt])
        XtX_inv = np.linalg.inv(Xd.T @ Xd)
        coef = y @ Xd @ XtX_inv
        e = y - coef @ Xd.T
        if hac == "aqsb":
            se = np.sqrt(_aqsb_var(Xd, XtX_inv, e))
        else:
            se = np.sqrt(XtX_inv[1, 1] * _fqsb(e))
        tv = coef[:, 1] / se
    return {"beta": coef[:, 1], "std_error": se, "t_value": tv,
            "p_value": stats.norm.cdf(tv), "intercept": coef[:, 0]}
