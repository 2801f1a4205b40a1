"""The panel estimators on arrays: within, random (Swamy-Arora), between, first difference, pooled.

Each function takes the estimation sample as arrays and returns a :class:`Fit`: the
coefficients, the design and residuals the covariance is computed from (by
:func:`dtistat.inference.sandwich`, in :mod:`dtistat.panel.fit`), and the model's own
statistics. Labels are attached when the result is built.

Random effects are Swamy-Arora as in linearmodels' ``RandomEffects``: sigma2_e from the
within regression (N - N_e - rank degrees of freedom), sigma2_u = SSR_b / (N_e - rank_b)
- sigma2_e / T_h from the unweighted between regression with T_h the harmonic mean of
the T_i, and theta_i = 1 - sqrt(sigma2_e / (T_i sigma2_u + sigma2_e)) per entity, so
unbalanced panels are handled (``random_method="swar"``).

``random_method="swar-plm"`` (alias ``"baltagi-chang"``) is R plm's unbalanced
Swamy-Arora (``plm(model="random", random.method="swar")``, ``ercomp`` with
``dfcor = c(3, 3)``), the quadratic-unbiased version of Baltagi and Chang (1994; Baltagi
2013, section 9.2.1): sigma2_e as above; the between regression is run on the
observation-level entity means (each entity's mean repeated T_i times, i.e. weighted by
T_i) and sigma2_u = (q_b - (N_e - k - 1) sigma2_e) / (N - tr[(Z_b'Z_b)^-1 Z_s'Z]) with
q_b = sum_i T_i u_b,i^2, Z_b the observation-level means of the regressors (with the
intercept) and Z_s their entity sums. The two coincide on balanced panels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from dtistat import _linalg
from dtistat._scale import column_scale
from dtistat.errors import EstimationError, SpecError
from dtistat.panel.absorb import absorb, fcols, gather, group_sums, n_components
from dtistat.panel.results import f_test

__all__ = ["Sample", "Fit", "fit_between", "fit_pooled", "fit_within", "fit_random", "ols"]

_NORMAL_EQ_MIN_ROWS = 100_000


@dataclass
class Sample:
    """The estimation sample: outcome, regressors, codes and weights (arrays)."""

    y: np.ndarray
    X: np.ndarray
    names: list
    intercept: bool
    ecode: np.ndarray
    n_ent: int
    tcode: np.ndarray
    n_per: int
    w: np.ndarray | None = None
    levels: tuple | None = None  # first differences: (y, X, entity) in levels, for R2
    entity_labels: Any = None


@dataclass
class Fit:
    """A fitted panel model before labels: what the covariance and the result need."""

    params: np.ndarray
    names: list
    X: np.ndarray          # the design regressed on (transformed, weighted)
    resid: np.ndarray
    bread: np.ndarray      # (X'X)^-1
    n_params: int          # K of the small-sample conventions
    n_absorbed: int        # A
    nobs: int
    df_resid: int
    r2: tuple
    extra: dict[str, Any] = field(default_factory=dict)


def ols(y: np.ndarray, X: np.ndarray, names: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares; the error names collinear regressors (shared core).

    Below ``_NORMAL_EQ_MIN_ROWS`` rows this is :func:`dtistat._linalg.ols` (QR). Above,
    the QR of a tall matrix dominates the run time, so the column-equilibrated normal
    equations are solved by Cholesky with one step of iterative refinement (as accurate
    as QR unless the scaled design is nearly collinear); a design whose scaled
    cross-product has a reciprocal condition number below 1e-12 goes to the QR path,
    which names the collinear columns.
    """
    n, k = X.shape
    if n >= _NORMAL_EQ_MIN_ROWS and k > 0:
        G = X.T @ X
        norm = np.sqrt(np.diag(G))
        if np.all(norm > 0):
            Gs = G / np.outer(norm, norm)  # equilibrated: unit diagonal
            ev = np.linalg.eigvalsh(Gs)
            if ev[0] > 1e-12 * ev[-1]:
                ci = np.linalg.inv(np.linalg.cholesky(Gs))
                Gi = (ci.T @ ci) / np.outer(norm, norm)  # (X'X)^-1
                b = Gi @ (X.T @ y)
                e = y - X @ b
                b = b + Gi @ (X.T @ e)  # one step of iterative refinement
                return b, y - X @ b, Gi
    fit = _linalg.ols(y, X, names=names)
    return fit.params, fit.resid, fit.xtx_inv


def _corr2(a: np.ndarray, b: np.ndarray) -> float:
    # a correlation is free of units: rescale (exactly, by powers of two) so that the
    # fourth powers below neither overflow (y near 1e100) nor underflow (near 1e-100)
    a, b = a / column_scale(a)[0], b / column_scale(b)[0]
    am, bm = a - a.mean(), b - b.mean()
    saa, sbb = float(am @ am), float(bm @ bm)
    if saa <= 1e-30 * max(float(a @ a), 1e-300):
        return float("nan")
    if sbb <= 1e-30 * max(float(b @ b), 1e-300):
        return 0.0
    return float(am @ bm) ** 2 / (saa * sbb)


def r2_corr(b, y, X, ecode, n_ent) -> tuple[float, float, float]:
    """Stata / linearmodels ``corr_squared_*``: (within, between, overall)."""
    Xb = X @ b
    ov = _corr2(y, Xb)
    cnt = np.bincount(ecode, minlength=n_ent)
    ym = np.bincount(ecode, weights=y, minlength=n_ent) / cnt
    xbm = np.bincount(ecode, weights=Xb, minlength=n_ent) / cnt
    bw = _corr2(ym, xbm)
    wi = _corr2(y - ym[ecode], Xb - xbm[ecode])
    return wi, bw, ov


def _ssr_with_intercept(y, X, w=None) -> float:
    """Residual sum of squares of the (weighted) regression of y on [1, X].

    Large samples use centred moments (it only feeds the F test of the effects);
    small ones least squares.
    """
    n = len(y)
    if n < _NORMAL_EQ_MIN_ROWS:
        Xp = fcols(np.ones(n), X)
        if w is not None:
            sw = np.sqrt(w)
            Xp, y = Xp * sw[:, None], y * sw
        b = np.linalg.lstsq(Xp, y, rcond=None)[0]
        e = y - Xp @ b
        return float(e @ e)
    ww = np.ones(n) if w is None else w
    W = ww.sum()
    my, mx = (ww @ y) / W, (ww @ X) / W
    Xw = X * ww[:, None] if w is not None else X
    Cxx = X.T @ Xw - W * np.outer(mx, mx)
    Cxy = Xw.T @ y - W * mx * my
    Cyy = float((ww * y) @ y - W * my * my)
    beta = np.linalg.lstsq(Cxx, Cxy, rcond=None)[0]
    return float(Cyy - Cxy @ beta)


def _fit(Xt, yt, names, K, A, nobs, df_resid, r2_of) -> Fit:
    b, e, bread = ols(yt, Xt, names)
    return Fit(b, list(names), Xt, e, bread, K, A, nobs, df_resid, r2_of(b))


def fit_between(s: Sample) -> Fit:
    """OLS on the (weighted) entity means; weighted means are weighted by their sums."""
    cnt = np.bincount(s.ecode, weights=s.w, minlength=s.n_ent).astype(float)
    yw = s.y if s.w is None else s.y * s.w
    ym = np.bincount(s.ecode, weights=yw, minlength=s.n_ent) / cnt
    Xm = group_sums(s.X if s.w is None else s.X * s.w[:, None], s.ecode, s.n_ent) / cnt[:, None]
    Xd = np.column_stack([np.ones(s.n_ent), Xm]) if s.intercept else Xm
    names = (["const"] if s.intercept else []) + s.names
    if s.w is not None:
        sb = np.sqrt(cnt / cnt.mean())
        Xd, ym = Xd * sb[:, None], ym * sb
    n = len(s.y)
    Xfull = np.column_stack([np.ones(n), s.X]) if s.intercept else s.X
    return _fit(Xd, ym, names, Xd.shape[1], 0, s.n_ent, s.n_ent - Xd.shape[1],
                lambda b: r2_corr(b, s.y, Xfull, s.ecode, s.n_ent))


def fit_pooled(s: Sample, *, differenced: bool = False) -> Fit:
    """Pooled (weighted) OLS; with ``differenced`` the sample holds first differences."""
    n = len(s.y)
    Xd = fcols(np.ones(n), s.X) if s.intercept else s.X
    names = (["const"] if s.intercept else []) + s.names
    if Xd.shape[1] == 0:
        raise SpecError("the model has no regressors")
    sw = None if s.w is None else np.sqrt(s.w)
    Xt, yt = (Xd, s.y) if sw is None else (Xd * sw[:, None], s.y * sw)
    if not differenced:
        def r2_of(b):
            return r2_corr(b, s.y, Xd, s.ecode, s.n_ent)
    else:  # R2 in levels, on the rows whose levels are complete (as linearmodels)
        ly, lX, le = s.levels
        le, lne = _linalg.factorize(le)

        def r2_of(b):  # an intercept of the differences is a trend in levels: left out
            return r2_corr(b[1:] if s.intercept else b, ly, lX, le, lne)
    return _fit(Xt, yt, names, Xd.shape[1], 0, n, n - Xd.shape[1], r2_of)


def fit_within(s: Sample, fe: str, *, drop_absorbed: bool) -> Fit:
    """Fixed effects swept out (entity, time or two-way); the effects' F test."""
    n, p = s.X.shape
    dims = {"entity": [(s.ecode, s.n_ent)], "time": [(s.tcode, s.n_per)],
            "twoway": [(s.ecode, s.n_ent), (s.tcode, s.n_per)]}[fe]
    balanced = n == s.n_ent * s.n_per
    ncomp = 1 if (balanced or fe != "twoway") else n_components(s.ecode, s.n_ent,
                                                                  s.tcode, s.n_per)
    Zd = absorb(fcols(s.y, s.X), dims, s.w, balanced, connected=ncomp == 1)
    yd, Xd = Zd[:, 0], Zd[:, 1:]
    X, names = s.X, list(s.names)
    absorbed = _absorbed(X, Xd, names)
    if absorbed:
        if not drop_absorbed:
            raise EstimationError(
                f"regressor(s) {', '.join(map(repr, absorbed))} absorbed by the {fe} "
                "fixed effects (no variation left once they are removed); drop them "
                "from the formula or pass drop_absorbed=True"
            )
        kept = [j for j in range(p) if names[j] not in absorbed]
        Xd, X = np.asfortranarray(Xd[:, kept]), np.asfortranarray(X[:, kept])
        names = [names[j] for j in kept]
    if not names:
        raise EstimationError("no regressor is left once the fixed effects are removed")
    if fe == "twoway":
        A = s.n_ent + s.n_per - 1 - ncomp
    else:
        A = (s.n_ent if fe == "entity" else s.n_per) - 1
    K = Xd.shape[1] + 1
    sw = None if s.w is None else np.sqrt(s.w)
    Xt, yt = (Xd, yd) if sw is None else (Xd * sw[:, None], yd * sw)
    dfr = n - K - A
    if dfr <= 0:
        raise EstimationError(f"no residual degrees of freedom: {n} rows for {K + A} "
                              "parameters (coefficients, intercept and absorbed effects)")
    fit = _fit(Xt, yt, names, K, A, n, dfr, lambda b: r2_corr(b, s.y, X, s.ecode, s.n_ent))
    ssr = float(fit.resid @ fit.resid)
    ssr_p = _ssr_with_intercept(s.y, X, s.w)
    if A > 0 and ssr > 0:
        F = ((ssr_p - ssr) / A) / (ssr / dfr)
        fit.extra["f_effects"] = f_test(F, A, dfr, stats.f.sf(F, A, dfr),
                                        f"all {fe} effects are zero")
    fit.extra["sigma2_e"] = ssr / dfr
    fit.extra["absorbed"] = absorbed
    return fit


def _absorbed(X: np.ndarray, Xd: np.ndarray, names: list) -> list:
    """Regressors with (almost) nothing left after removing the effects."""
    scale = np.sqrt((X * X).sum(axis=0))
    scale[scale == 0] = 1.0
    left = np.sqrt((Xd * Xd).sum(axis=0)) / scale
    return [names[j] for j in range(X.shape[1]) if left[j] < 1e-9]


def fit_random(s: Sample, random_method: str = "swar") -> Fit:
    """Swamy-Arora random effects (``"swar"``: linearmodels; ``"swar-plm"``: R plm).

    With weights (``"swar"`` only): weighted entity means, WLS within regression,
    unweighted regression of the weighted means (as linearmodels).
    """
    n = len(s.y)
    ecode, n_ent, w = s.ecode, s.n_ent, s.w
    sw = None if w is None else np.sqrt(w)
    cnt = np.bincount(ecode, minlength=n_ent).astype(float)
    wcnt = cnt if w is None else np.bincount(ecode, weights=w, minlength=n_ent)
    Xc = fcols(np.ones(n), s.X) if s.intercept else s.X
    names = (["const"] if s.intercept else []) + s.names
    Z = fcols(s.y, Xc)
    Zm = group_sums(Z if w is None else Z * w[:, None], ecode, n_ent) / wcnt[:, None]
    s2e, s2u = _re_variances(s, Z, Zm, Xc, sw)
    if random_method in ("swar-plm", "baltagi-chang"):
        if w is not None:
            raise SpecError(f"random_method={random_method!r} (plm's unbalanced Swamy-Arora) "
                            "is not defined with weights; use random_method='swar'")
        s2u = _re_sigma2_u_plm(s, Zm, Xc, s2e)
    theta = 1.0 - np.sqrt(s2e / (cnt * s2u + s2e))
    Xq = Xc - gather(theta[:, None] * Zm[:, 1:], ecode)
    yq = s.y - (theta * Zm[:, 0])[ecode]
    if sw is not None:
        Xq, yq = Xq * sw[:, None], yq * sw
    fit = _fit(Xq, yq, names, Xc.shape[1], 0, n, n - Xc.shape[1],
               lambda b: r2_corr(b, s.y, Xc, ecode, n_ent))
    fit.extra.update(theta=theta, sigma2_u=s2u, sigma2_e=s2e, random_method=random_method)
    return fit


def _re_sigma2_u_plm(s: Sample, Zm, Xc, s2e: float) -> float:
    """plm's unbalanced Swamy-Arora sigma2_u (Baltagi and Chang 1994; module docstring)."""
    cnt = np.bincount(s.ecode, minlength=s.n_ent).astype(float)
    Xm = Zm[:, 1:]  # means of the regressors, with the intercept if the model has one
    sq = np.sqrt(cnt)
    # the observation-level between regression is OLS on the means weighted by T_i
    bb, rank_b = _lstsq(Xm * sq[:, None], Zm[:, 0] * sq)
    ub = Zm[:, 0] - Xm @ bb
    q_b = float((cnt * ub * ub).sum())
    XtX = (Xm * cnt[:, None]).T @ Xm           # Z_b'Z_b
    XsX = (Xm * (cnt * cnt)[:, None]).T @ Xm   # Z_s'Z = sum_i T_i^2 zbar_i zbar_i'
    tr = float(np.trace(np.linalg.lstsq(XtX, XsX, rcond=None)[0]))
    denom = len(s.y) - tr
    if s.n_ent - rank_b <= 0 or denom <= 0:
        raise EstimationError("plm's Swamy-Arora needs more entities than regressors "
                              f"({s.n_ent} entities, {rank_b} between regressors)")
    return max(0.0, (q_b - (s.n_ent - rank_b) * s2e) / denom)


def _lstsq(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Least squares and rank with the columns equilibrated first.

    ``lstsq``'s rank cut-off is relative to the largest singular value, so an
    intercept column of ones beside a regressor measured in 1e-13 units would count
    the regressor as rank deficient (and drop it): the rank must not depend on units.
    """
    cs = column_scale(A) if A.size else np.ones(A.shape[1])
    sol, _, rank, _ = np.linalg.lstsq(A / cs, b, rcond=None)
    return sol / cs, int(rank)


def _re_variances(s: Sample, Z, Zm, Xc, sw) -> tuple[float, float]:
    """Swamy-Arora sigma2_e (within regression) and sigma2_u (between regression)."""
    n, n_ent, ecode, w = len(s.y), s.n_ent, s.ecode, s.w
    Zd = Z - gather(Zm, ecode)
    if sw is not None:
        Zd *= sw[:, None]
    yd, Xd = Zd[:, 0], Zd[:, 1:]
    Xcw = Xc if sw is None else Xc * sw[:, None]
    xn = np.sqrt((Xcw * Xcw).sum(axis=0))
    xn[xn == 0] = 1.0
    _, _, rank_w, _ = np.linalg.lstsq(Xd / xn, yd, rcond=None)
    if s.intercept:
        ww = np.ones(n) if w is None else w
        gm = (ww @ Z) / ww.sum()
        root = np.ones(n) if sw is None else sw
        Xw, yw = Xd + np.outer(root, gm[1:]), yd + root * gm[0]
    else:
        Xw, yw = Xd, yd
    bw_ = _lstsq(Xw, yw)[0]
    ew = yw - Xw @ bw_
    ym, Xm = Zm[:, 0], Zm[:, 1:]
    bb, rank_b = _lstsq(Xm, ym)
    ub = ym - Xm @ bb
    df_w = n - n_ent - rank_w
    df_b = n_ent - rank_b
    if df_w <= 0 or df_b <= 0:
        raise EstimationError(
            f"random effects need residual degrees of freedom in the within ({df_w}) and "
            f"between ({df_b}) regressions; add entities or periods"
        )
    s2e = float(ew @ ew) / df_w
    cnt = np.bincount(ecode, minlength=n_ent).astype(float)
    t_h = n_ent / (1.0 / cnt).sum()
    s2u = max(0.0, float(ub @ ub) / df_b - s2e / t_h)
    return s2e, s2u
