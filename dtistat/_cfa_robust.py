"""Robust ML (lavaan's ``estimator="MLR"``) for CFA/SEM, one group or several.

Internal module behind ``fit_cfa(..., estimator="MLR")``. With ``l_i(theta)`` the normal
log-likelihood of case i (with the model's means, or the sample means when the model
has no mean structure; lavaan's MLR adds none by default):

* ``A0 = -(1/N) d^2 sum_i l_i / dtheta^2``, the observed information per case (lavaan's
  ``information="observed"``, ``observed.information="hessian"``): here the central
  finite difference of the analytic gradient, as lavaan does;
* ``B0 = (1/N) sum_i s_i s_i'`` with ``s_i = dl_i/dtheta`` the casewise scores (the
  first-order information);
* the sandwich ``V = A0^-1 B0 A0^-1 / N`` (lavaan's ``se="robust.huber.white"``);
* the Yuan-Bentler scaling factor, Mplus variant (lavaan's ``test="yuan.bentler.mplus"``,
  ``lav_test_yb_mplus_trace``): ``c = (tr(A1^-1 B1) - tr(A0^-1 B0)) / df`` with A1, B1
  the information and first-order information of the unrestricted model (means and
  covariances free) at the sample moments. At that point both have closed forms:
  ``tr(A1^-1 B1) = p + (b2p - p) / 2`` with ``b2p`` Mardia's multivariate kurtosis
  (mean squared Mahalanobis distance), which is ``p + p(p+1)/2`` under normality.

Everything is computed on the correlation-like scale of the fit (``u = theta / scale``,
data divided by the observed SDs); traces are invariant to that reparametrization and
the covariance is scaled back by the caller.
"""

from __future__ import annotations

import numpy as np

from dtistat.errors import EstimationError

__all__ = ["casewise_scores", "observed_information", "unrestricted_trace",
           "independence_trace", "robust_ml", "robust_ml_groups", "robust_fit", "mlr",
           "CovOnly"]


def casewise_scores(ram, u: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """``dl_i/du`` for every case (rows of ``Z``): an (n, q) array.

    ``l_i = -1/2 [log|Sigma| + r_i' W r_i] + const`` with ``r_i = z_i - mu`` and
    ``W = Sigma^-1``, so ``dl_i/du_k = -1/2 tr(W dSigma_k) + 1/2 r_i' W dSigma_k W r_i
    + dmu_k' W r_i``.
    """
    W, mu, D, Dm = ram.jacobians(u)
    Y = (Z - mu) @ W
    first = -0.5 * np.einsum("ij,kji->k", W, D)
    quad = 0.5 * np.einsum("ni,kij,nj->nk", Y, D, Y, optimize=True)
    return first + quad + Y @ Dm.T


def observed_information(ram, u: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Observed information per case: half the Hessian of F (= -2/N loglik + const).

    Central differences of the analytic gradient of F in every coordinate (u is of
    order 1 on the correlation scale), symmetrized.
    """
    q = len(u)
    H = np.empty((q, q))
    for k in range(q):
        e = np.zeros(q)
        e[k] = h
        H[:, k] = (ram.grad_info(u + e)[0] - ram.grad_info(u - e)[0]) / (2 * h)
    return 0.25 * (H + H.T)


def _inverse(A0: np.ndarray) -> np.ndarray:
    """Inverse of the observed information; refuse a singular or indefinite one."""
    ev = np.linalg.eigvalsh(0.5 * (A0 + A0.T))
    if not ev[0] > 1e-12 * max(ev[-1], 1e-300):
        raise EstimationError(
            "MLR: the observed information matrix is not positive definite at the "
            f"estimates (smallest eigenvalue {ev[0]:.3g}), so no sandwich standard "
            "errors or scaled test; check the solution for Heywood cases or an "
            "unidentified parameter, or use estimator='ML'")
    return np.linalg.inv(A0)


class CovOnly:
    """A covariance-only model (``_cfa._RAM``) seen as a mean-structure one.

    Without a mean structure the means are the sample means (lavaan's casewise scores
    use them), so the mean Jacobian is zero and the data are centered by the caller.
    """

    def __init__(self, ram):
        self.ram = ram

    def jacobians(self, u):
        Sig = self.ram.implied(u)[0]
        D = self.ram.derivatives(u)
        return np.linalg.inv(Sig), np.zeros(len(Sig)), D, np.zeros(D.shape[:2])

    def grad_info(self, u):
        return self.ram.grad_info(u)


def unrestricted_trace(Z: np.ndarray, means: bool = True) -> float:
    """``tr(A1^-1 B1)`` of the unrestricted model at the sample moments.

    The mean block gives ``mean(r_i' W r_i) = p``; the covariance block, with ``d_i``
    the squared Mahalanobis distance of case i, ``1/2 mean(tr((W r_i r_i' - I)^2))
    = 1/2 (mean(d_i^2) - 2 p + p)`` (the blocks of A1 do not interact at the sample
    moments).
    """
    n, p = Z.shape
    r = Z - Z.mean(axis=0)
    S = r.T @ r / n
    d = np.einsum("ni,ni->n", r @ np.linalg.inv(S), r)
    return float(p * means + 0.5 * (np.mean(d ** 2) - p))


def independence_trace(Z: np.ndarray, means: bool = True) -> float:
    """``tr(A0^-1 B0)`` of the independence (baseline) model: means and variances free.

    Per variable ``1 + (kurtosis - 1) / 2`` (``m4 / m2^2``); the observed information
    equals the expected one at this model's estimates.
    """
    r = Z - Z.mean(axis=0)
    m2 = np.mean(r ** 2, axis=0)
    kurt = np.mean(r ** 4, axis=0) / m2 ** 2
    return float(np.sum(1.0 * means + 0.5 * (kurt - 1.0)))


def robust_ml(ram, u: np.ndarray, Z: np.ndarray, df: int, base_df: int,
              means: bool = True) -> dict:
    """Sandwich covariance of ``u`` and the Yuan-Bentler (Mplus) scaling factors.

    ``ram`` has ``jacobians`` and ``grad_info`` (a ``_cfa_groups._GroupRAM``, or
    :class:`CovOnly` with ``means=False``). Returns ``vcov`` (of u), ``scaling``
    (model; NaN when df is 0 or the trace is not positive), ``baseline_scaling``, and
    lavaan's "scaling correction factor for the MLR correction" of the H0 and H1
    log-likelihoods (``tr/npar``, ``tr/ndat``).
    """
    n, p = Z.shape
    if not means:
        Z = Z - Z.mean(axis=0)
    A0 = observed_information(ram, u)
    s = casewise_scores(ram, u, Z)
    B0 = s.T @ s / n
    A0_inv = _inverse(A0)
    V = A0_inv @ B0 @ A0_inv / n
    tr_h0 = float(np.sum(A0_inv * B0.T))
    tr_h1 = unrestricted_trace(Z, means)
    c = (tr_h1 - tr_h0) / df if df > 0 else np.nan
    c_b = (tr_h1 - independence_trace(Z, means)) / base_df if base_df > 0 else np.nan
    return {"vcov": 0.5 * (V + V.T), "scaling": c if c > 0 else np.nan,
            "baseline_scaling": c_b if c_b > 0 else np.nan,
            "loglik_scaling": tr_h0 / len(u),
            "unrestricted_loglik_scaling": tr_h1 / (p * means + p * (p + 1) // 2)}


def robust_ml_groups(multi, u: np.ndarray, Zs: list, df: int, base_df: int) -> dict:
    """:func:`robust_ml` for several groups (``multi`` a ``_cfa_groups._MultiRAM``).

    As lavaan's ``lav_test_yb_mplus_trace``: ``A0`` is the information of the whole
    fit (per case of all groups), ``B0 = (1/N) sum_g sum_i s_i s_i'``, the unrestricted
    and baseline traces are sums over the groups.
    """
    N, q = sum(len(Z) for Z in Zs), len(u)
    A0 = observed_information(multi, u)
    B0 = np.zeros((q, q))
    for ram, Z in zip(multi.rams, Zs, strict=True):
        s = np.zeros((len(Z), q))
        s[:, ram.ks] = casewise_scores(ram, u, Z)
        B0 += s.T @ s / N
    A0_inv = _inverse(A0)
    V = A0_inv @ B0 @ A0_inv / N
    tr_h0 = float(np.sum(A0_inv * B0.T))
    tr_h1 = sum(unrestricted_trace(Z) for Z in Zs)
    tr_b = sum(independence_trace(Z) for Z in Zs)
    c = (tr_h1 - tr_h0) / df if df > 0 else np.nan
    c_b = (tr_h1 - tr_b) / base_df if base_df > 0 else np.nan
    p = Zs[0].shape[1]
    return {"vcov": 0.5 * (V + V.T), "scaling": c if c > 0 else np.nan,
            "baseline_scaling": c_b if c_b > 0 else np.nan,
            "loglik_scaling": tr_h0 / q,
            "unrestricted_loglik_scaling": tr_h1 / (len(Zs) * (p + p * (p + 1) // 2))}


def mlr(ram, u: np.ndarray, Z, fit: dict, means: bool) -> np.ndarray:
    """Add the scaled and robust measures to ``fit``; return the sandwich vcov of u.

    ``Z`` is the data (one array), or a list of the groups' arrays with ``ram`` the
    multi-group ``_MultiRAM``.
    """
    if isinstance(Z, list):
        rob = robust_ml_groups(ram, u, Z, int(fit["df"]), int(fit["baseline_df"]))
        n, g = sum(len(z) for z in Z), len(Z)
    else:
        rob = robust_ml(ram, u, Z, int(fit["df"]), int(fit["baseline_df"]), means)
        n, g = len(Z), 1
    V = rob.pop("vcov")
    fit.update(robust_fit(fit["chi2"], int(fit["df"]), fit["baseline_chi2"],
                          int(fit["baseline_df"]), n, rob.pop("scaling"),
                          rob.pop("baseline_scaling"), g))
    fit.update(rob)
    return V


def robust_fit(chi2: float, df: int, base_chi2: float, base_df: int, n: int, c: float,
               c_b: float, g: int = 1) -> dict:
    """lavaan's scaled and robust fit measures from the two scaling factors.

    Scaled: CFI and TLI of the scaled statistics ``chi2 / c`` and ``base_chi2 / c_b``;
    RMSEA, its interval and p-values from chi2 on ``c df`` degrees of freedom (lavaan's
    default, not Mplus' scaled chi2 on df: same point, other interval). Robust
    (Brosseau-Liard & Savalei 2014; Brosseau-Liard, Savalei & Li 2012, as lavaan's
    ``lav_fit_cfi``/``lav_fit_rmsea``): noncentralities ``chi2 - c df`` and
    ``base_chi2 - c_b base_df``; robust RMSEA ``sqrt(max(chi2 - c df, 0) / (N df))``
    with the interval of the scaled statistic times ``sqrt(c)``. With ``g`` groups the
    RMSEA carries lavaan's factor ``sqrt(g)``.
    """
    from scipy import stats

    from dtistat.factors import _ncx2_lambda

    nan = float("nan")
    xs, bs = chi2 / c, base_chi2 / c_b
    out = {"chi2_scaled": xs, "scaling_factor": c,
           "p_value_scaled": float(stats.chi2.sf(xs, df)) if df > 0 else nan,
           "baseline_chi2_scaled": bs, "baseline_scaling_factor": c_b,
           "cfi_scaled": _cfi(xs, df, bs, base_df, 1.0, 1.0),
           "tli_scaled": _tli(xs, df, bs, base_df, 1.0, 1.0),
           "cfi_robust": _cfi(chi2, df, base_chi2, base_df, c, c_b),
           "tli_robust": _tli(chi2, df, base_chi2, base_df, c, c_b)}
    # lavaan's defaults: the scaled RMSEA refers the unscaled chi2 to tr(U Gamma) = c df
    # degrees of freedom; the robust one the scaled chi2 to df, times c.
    for kind, x, dfk, mult in (("scaled", chi2, c * df, 1.0), ("robust", xs, df, c)):
        if df > 0 and np.isfinite(x) and np.isfinite(mult * dfk):
            point = max(x - dfk, 0.0) * mult / (n * dfk)
            lo = _ncx2_lambda(x, dfk, 0.95) * mult / (n * dfk)
            hi = _ncx2_lambda(x, dfk, 0.05) * mult / (n * dfk)
            vals = [float(np.sqrt(v * g)) for v in (point, lo, hi)]
            # H0: RMSEA <= 0.05 and H0: RMSEA >= 0.08 (lavaan's close / not-close fit)
            vals += [float(stats.ncx2.sf(x, dfk, n * dfk * 0.05 ** 2 / mult / g)),
                     float(stats.ncx2.cdf(x, dfk, n * dfk * 0.08 ** 2 / mult / g))]
        else:
            vals = [nan] * 5
        for name, v in zip(("rmsea", "rmsea_ci_low", "rmsea_ci_high", "rmsea_pvalue",
                            "rmsea_notclose_pvalue"), vals, strict=True):
            out[f"{name}_{kind}"] = v
    return out


def _cfi(x2, df, b2, bdf, c, cb) -> float:
    t1 = max(x2 - c * df, 0.0)
    t2 = max(x2 - c * df, b2 - cb * bdf, 0.0)
    if not np.all(np.isfinite([t1, t2])):
        return float("nan")
    return 1.0 if t2 == 0 else 1.0 - t1 / t2


def _tli(x2, df, b2, bdf, c, cb) -> float:
    t1, t2 = (x2 - c * df) * bdf, (b2 - cb * bdf) * df
    if not np.all(np.isfinite([t1, t2])):
        return float("nan")
    return 1.0 - t1 / t2 if df > 0 and t2 != 0 else 1.0
