"""Spatial panel models by maximum likelihood: SAR, SEM, SDM, SAC and SDEM with
entity/time/two-way FE, and (SAR, SDM, SEM) random effects.

SAC is in :mod:`dtistat.spatial.sac`, random effects in :mod:`dtistat.spatial.random`;
SDEM is SEM with the ``W*x`` columns of SDM. This module prepares the panel and holds
the SAR/SDM and SEM likelihoods.

The fixed effects are removed by demeaning (Elhorst 2014, *Spatial Econometrics*, ch. 3)
-- except the time effects / intercept of SEM, SDEM and SAC under a W whose row sums
differ, where the filter turns them into ``alpha_t (I - lambda W) 1`` and they are
concentrated out exactly per lambda (:mod:`dtistat.spatial.dummies`) -- and the spatial
parameter is found by maximizing the concentrated log-likelihood on its
stable interval ``(1/omega_min, 1/omega_max)``; coefficients follow in closed form and
standard errors from the analytical information matrix (Lee 2004; Elhorst 2014).

``lee_yu=True`` gives the Lee & Yu (2010, *J. Econometrics* 154) transformation approach:
the orthonormal transformation that removes the individual effects leaves N(T - 1)
observations (the Jacobian enters T - 1 times) and, with time effects and a
row-standardized W, the one that removes the time effects leaves (N - 1) per period and
drops the unit eigenvalue (``- log(1 - rho)``). In closed form, with ``e`` the residual of
the demeaned data::

    logL = -n*/2 log(2 pi s2) - e'e / (2 s2) + T* [log|I - rho W| - c log(1 - rho)]

with ``(n*, T*, c)`` = (N(T-1), T-1, 0) for entity effects, ((N-1)T, T, 1) for time
effects and ((N-1)(T-1), T-1, 1) for both. ``lee_yu=False`` is the direct approach
(``n* = NT``, ``T* = T``, ``c = 0``), which is what PySAL ``spreg.Panel_FE_Lag`` and
``Panel_FE_Error`` compute for entity effects.

Data layout inside: time-major stacks (T blocks of N, entities in W's order).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize_scalar

from dtistat._periods import check_time_types
from dtistat._results import CoefResult, Summary
from dtistat._scale import check_magnitude, check_outcome_varies, column_scale
from dtistat._validate import (
    as_list,
    check_choice,
    check_columns,
    check_frame,
    check_keys,
    check_level,
    check_numeric,
)
from dtistat.errors import DataError, EstimationError, ParameterError
from dtistat.spatial.logdet import Jacobian
from dtistat.spatial.weights import SpatialWeights, as_weights

__all__ = ["PanelData", "SpatialPanelResult", "fit_spatial", "prepare_panel"]

_MODELS = ("sar", "sem", "sdm", "sac", "sdem")
_FIXED = ("entity", "time", "twoway", None)       # removed by demeaning
_RANDOM = ("random", "random-time")   # random individual effects (+ time FE)
_FE = (*_FIXED, *_RANDOM)
_DURBIN = ("sdm", "sdem")
_DENSE_MAX_N = {"sem-re": 2000, "sac": 5000}   # dense N x N work (time, memory) per fit


# --------------------------------------------------------------------------- data
@dataclass
class PanelData:
    """A balanced panel in time-major arrays (internal)."""

    y: np.ndarray          # T x N
    X: np.ndarray          # T x N x k
    names: list[str]
    w: SpatialWeights
    entities: pd.Index
    periods: pd.Index

    @property
    def T(self) -> int:
        return self.y.shape[0]

    @property
    def N(self) -> int:
        return self.y.shape[1]


def prepare_panel(data: pd.DataFrame, y: str, x: Any, *, entity: str, time: str,
                  w: Any) -> PanelData:
    """Check and reshape a long panel; W's ids must be exactly the entities."""
    data = check_frame(data)
    x = as_list(x, "x")
    if not x:
        raise ParameterError("x must name at least one regressor")
    if y in x:
        raise ParameterError(f"{y!r} is both the dependent variable and a regressor")
    check_columns(data, [entity, time, y] + x)
    check_time_types(data[time], time)
    check_keys(data, [entity, time])
    check_numeric(data, [y] + x)
    W = as_weights(w)
    # factorize once, then match the N distinct labels (not every row) against W's ids
    codes, uniq = pd.factorize(data[entity])
    tcodes, tuniq = pd.factorize(data[time])
    for key, c in ((entity, codes), (time, tcodes)):
        if (c < 0).any():
            raise DataError(f"key column {key!r} is missing at row "
                            f"{data.index[np.argmax(c < 0)]!r}")
    pos = W.ids.get_indexer(uniq)
    if (pos < 0).any():
        raise DataError(f"entity {uniq[np.argmax(pos < 0)]!r} of the data is not in W "
                        f"({int((pos < 0).sum())} in all)")
    seen = np.zeros(W.n, bool)
    seen[pos] = True
    if not seen.all():
        raise DataError(f"entity {W.ids[np.argmin(seen)]!r} of W has no rows in the data "
                        f"({int((~seen).sum())} in all); W must match the panel's entities")
    ei = pos[codes]
    order = np.argsort(np.asarray(tuniq), kind="stable")
    periods = pd.Index(np.asarray(tuniq)[order])
    rank = np.empty(len(order), np.intp)
    rank[order] = np.arange(len(order))
    ti = rank[tcodes]
    T, N = len(periods), W.n
    counts = np.bincount(ti * N + ei, minlength=T * N)
    if counts.max() > 1:
        c = int(np.argmax(counts > 1))
        raise DataError(f"duplicate rows for {entity} x {time}: {entity}={W.ids[c % N]!r}, "
                        f"{time}={periods[c // N]!r} appears more than once "
                        f"({int((counts[counts > 1] - 1).sum())} duplicate row(s) in all); "
                        "each combination must be unique")
    if len(data) != T * N:
        raise DataError(_unbalanced_message(counts.reshape(T, N) > 0, W.ids, periods,
                                            entity, time))
    cols = [y] + x
    vals = data[cols].to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(vals)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"column {cols[j]!r} is missing at {entity}={data[entity].iloc[i]!r}, "
                        f"{time}={data[time].iloc[i]!r}; the spatial panel must be "
                        "complete (missing='raise' is the only policy)")
    arr = np.empty((T, N, len(cols)))
    arr[ti, ei] = vals
    return PanelData(arr[..., 0], arr[..., 1:], x, W, W.ids, periods)


def _unbalanced_message(present: np.ndarray, ids: pd.Index, periods: pd.Index,
                        entity: str, time: str) -> str:
    """Name a missing entity x period cell and the two balanced subsets (T x N mask)."""
    t, i = np.argwhere(~present)[0]
    bad_e = ids[~present.all(axis=0)]
    full_t = periods[present.all(axis=1)]
    T, N = present.shape
    msg = (f"unbalanced panel: {entity}={ids[i]!r} has no row for {time}={periods[t]!r} "
           f"({int((~present).sum())} of the {N} x {T} {entity} x {time} cells are missing, "
           f"for {len(bad_e)} value(s) of {entity}); spatial panel ML is implemented for "
           f"balanced panels only (every {entity} in every {time}, W matching the {entity} "
           "values)")
    subsets = []
    if len(bad_e) < N:
        shown = ", ".join(repr(e) for e in bad_e[:5]) + (", ..." if len(bad_e) > 5 else "")
        subsets.append(f"drop the {entity} value(s) with missing periods ({shown}): "
                       f"{N - len(bad_e)} x {T}, with W = w.subset(<the kept {entity} "
                       "values>) (row-standardize it again if it was)")
    if len(full_t):
        subsets.append(f"keep the {len(full_t)} {time} value(s) every {entity} has "
                       f"({', '.join(repr(x) for x in full_t[:5])}"
                       f"{', ...' if len(full_t) > 5 else ''}): {N} x {len(full_t)}")
    if subsets:
        msg += "; a balanced subset: " + ", or ".join(subsets)
    return msg


_JACOBIANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _jacobian(w: SpatialWeights, method: str) -> Jacobian:
    """One Jacobian (its eigenvalues) per weight object and engine: a model-selection run
    fits three models on the same W."""
    per_w = _JACOBIANS.setdefault(w, {})
    if method not in per_w:
        per_w[method] = Jacobian(w, method)
    return per_w[method]


def _demean(a: np.ndarray, fe: str | None) -> np.ndarray:
    """Remove entity (over t), time (over i) or both means; axis 0 = time, 1 = entity."""
    if fe is None:
        return a - a.mean(axis=(0, 1), keepdims=True)
    out = a
    if fe in ("entity", "twoway"):
        out = out - a.mean(axis=0, keepdims=True)
    if fe in ("time", "twoway"):
        out = out - a.mean(axis=1, keepdims=True)
    if fe == "twoway":
        out = out + a.mean(axis=(0, 1), keepdims=True)
    return out


def _lag(W, a: np.ndarray) -> np.ndarray:
    """W applied within each period: a is T x N (x k)."""
    T, N = a.shape[:2]
    flat = a.reshape(T, N, -1).transpose(1, 0, 2).reshape(N, -1)
    return (W @ flat).reshape(N, T, -1).transpose(1, 0, 2).reshape(a.shape)


def _counts(fe: str | None, lee_yu: bool, N: int, T: int) -> tuple[int, int, int]:
    """(n*, T*, c) of the module docstring."""
    if not lee_yu:
        return N * T, T, 0
    return {"entity": (N * (T - 1), T - 1, 0), "time": ((N - 1) * T, T, 1),
            "twoway": ((N - 1) * (T - 1), T - 1, 1)}[fe]


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False, repr=False)
class SpatialPanelResult(CoefResult):
    """A fitted SAR / SEM / SDM / SAC / SDEM panel model.

    ``params`` holds the regressors (with ``const`` under random effects), the ``W*x``
    terms (SDM, SDEM) and ``rho`` (SAR, SDM, SAC) and/or ``lambda`` (SEM, SDEM, SAC);
    ``cov`` their information-matrix covariance. ``sigma2`` and its variance are in
    ``cov_full`` (last row/column); under random effects ``cov_full`` also holds
    ``psi = sigma2_mu / sigma2`` and ``sigma2_mu`` is the individual-effect variance.
    """

    params: pd.Series
    cov: pd.DataFrame
    model: str
    fe: str | None
    lee_yu: bool
    sigma2: float
    loglik: float
    nobs: int
    n_entities: int
    n_periods: int
    cov_full: pd.DataFrame
    x_names: tuple
    durbin_names: tuple
    level: float = 0.95
    df_inference: float | None = None
    sigma2_mu: float | None = None
    _jacobian: Any = field(default=None, repr=False)
    # fixed effects: the sigma2-free part C of the information of (terms) with sigma2
    # partialled out, S(s2) = G / s2 + C (spatial_hausman's common-sigma2 form)
    _info_sigma2_free: Any = field(default=None, repr=False)
    dynamic: str | None = None
    cov_type: str = "information"

    @property
    def rho(self) -> float:
        """The spatial parameter: rho (SAR, SDM, SAC) or lambda (SEM, SDEM)."""
        p = self.params
        return float(p["rho"] if "rho" in p.index else p["lambda"])

    def effects(self, *, method: str = "simulation", n_sim: int = 1000, seed: Any = None,
                level: float | None = None, horizon: str = "short"):
        """LeSage-Pace direct, indirect and total effects (SAR and SDM; short- or long-run
        for dynamic models); see :func:`dtistat.spatial.effects.spatial_effects`."""
        from dtistat.spatial.effects import spatial_effects

        return spatial_effects(self, method=method, n_sim=n_sim, seed=seed, level=level,
                               horizon=horizon)

    def summary(self) -> Summary:
        fe = {"entity": "entity", "time": "time", "twoway": "entity + time", None: "none",
              "random": "none (random individual effects)",
              "random-time": "time (random individual effects)"}
        header = [("Model", self.model.upper()), ("Fixed effects", fe[self.fe]),
                  *([("Dynamic", self.dynamic)] if self.dynamic else []),
                  ("Lee-Yu transformation", self.lee_yu), ("Entities", self.n_entities),
                  ("Periods", self.n_periods), ("Observations", self.nobs),
                  ("sigma2", self.sigma2), ("Log-likelihood", self.loglik)]
        if self.sigma2_mu is not None:
            header.append(("sigma2_mu (random effects)", self.sigma2_mu))
        notes = ["Standard errors from the analytical information matrix."
                 if self.cov_type == "information" else "Standard errors: QML sandwich "
                 "(Lee 2004; Yu, de Jong & Lee 2008)."]
        if self.dynamic:
            notes.append(f"Dynamic: the first period is lost to the lag ({self.n_periods} "
                         "periods used)" + ("; Lee-Yu bias-corrected estimates." if
                                            self.lee_yu else "."))
        r = self.rho_lambda_correlation
        if r is not None and abs(r) > 0.95:
            notes.append(f"rho and lambda are weakly identified (their estimates correlate "
                         f"{r:.3f}): they share W and are told apart only through X b.")
        return Summary(f"Spatial panel {self.model.upper()} (ML)", self.coef_table(),
                       header=header, notes=notes)

    @property
    def rho_lambda_correlation(self) -> float | None:
        """Correlation of the rho and lambda estimates (SAC), else None."""
        if not {"rho", "lambda"} <= set(self.params.index):
            return None
        c = self.cov.loc[["rho", "lambda"], ["rho", "lambda"]].to_numpy()
        return float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))

    def _headline(self) -> list[str]:
        sp = [f"{n}={self.params[n]:.4f}" for n in ("rho", "lambda") if n in self.params]
        return [self.model.upper(), f"fe={self.fe}", *sp, f"logL={self.loglik:.3f}"]


# --------------------------------------------------------------------------- fitting
def _maximize(f, bounds: tuple[float, float], name: str) -> float:
    lo, hi = bounds
    eps = 1e-6 * (hi - lo)
    res = minimize_scalar(lambda r: -f(r), bounds=(lo + eps, hi - eps), method="bounded",
                          options={"xatol": 1e-10, "maxiter": 500})
    r = float(res.x)
    if r - lo < 1e-4 * (hi - lo) or hi - r < 1e-4 * (hi - lo):
        raise EstimationError(f"{name} = {r:.6f} is at the bound of its stable interval "
                              f"({lo:.4f}, {hi:.4f}); the model is not identified here "
                              "(check W and the fixed effects)")
    return r


def _fit_lag(yd, wyd, Xd, jac, n_star, T_star, c):
    """SAR/SDM on demeaned arrays (flattened): returns beta, rho, sigma2, loglik."""
    XtX = Xd.T @ Xd
    try:
        XtXi = np.linalg.inv(XtX)
    except np.linalg.LinAlgError:
        raise EstimationError("the demeaned regressors are collinear (a regressor "
                              "constant within the fixed effects?)") from None
    b0 = XtXi @ (Xd.T @ yd)
    b1 = XtXi @ (Xd.T @ wyd)
    e0, e1 = yd - Xd @ b0, wyd - Xd @ b1
    q00, q01, q11 = e0 @ e0, e0 @ e1, e1 @ e1

    def conc(r):  # log(ss / q00): free of y's units (an additive constant), so the
        ss = q00 - 2 * r * q01 + r * r * q11  # search sees the same O(1) values
        return (-n_star / 2 * np.log(ss / max(q00, np.finfo(float).tiny))
                + T_star * (jac.logdet(r) - (c * np.log(1 - r) if c else 0.0)))

    rho = _maximize(conc, jac.bounds, "rho")
    if jac.omega is not None:
        rho = _polish(rho, q00, q01, q11, jac, n_star, T_star, c)
    beta = b0 - rho * b1
    e = e0 - rho * e1
    s2 = float(e @ e) / n_star
    ll = (-n_star / 2 * (np.log(2 * np.pi * s2) + 1)
          + T_star * (jac.logdet(rho) - (c * np.log(1 - rho) if c else 0.0)))
    return beta, rho, s2, float(ll), XtX


def _polish(rho, q00, q01, q11, jac, n_star, T_star, c):
    """Refine rho as the root of the concentrated score (exact with eigenvalues): the
    bounded search stops at ~sqrt(eps) |rho|."""
    om = jac.omega

    def score(r):
        ss = q00 - 2 * r * q01 + r * r * q11
        return (-n_star * (r * q11 - q01) / ss - T_star * float(np.real(np.sum(om / (1 - r * om))))
                + (c * T_star / (1 - r) if c else 0.0))

    return root_near(score, rho, jac.bounds)


def root_near(score, x: float, bounds: tuple[float, float], rel: float = 1e-6) -> float:
    """The root of ``score`` within ``rel * (hi - lo)`` of ``x`` (a bounded search's
    optimum), by brentq to machine precision; ``x`` itself when the score does not change
    sign there (an optimum at the bound, or a search that already hit the root)."""
    lo, hi = bounds
    d = rel * (hi - lo)
    a, b = max(x - d, lo + d / 10), min(x + d, hi - d / 10)
    fa, fb = score(a), score(b)
    if np.isfinite(fa) and np.isfinite(fb) and fa * fb < 0:
        return float(brentq(score, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps))
    return x


def _fit_error(cross, k, jac, n_star, T_star, c):
    """SEM on the cross-products ``cross(lambda)`` of the filtered ``[X, y]`` (a
    :class:`~dtistat.spatial.dummies.Cross`): returns beta, lambda, sigma2, loglik,
    X(l)'X(l)."""

    def parts(lam):
        M = cross(lam)
        xx, xy, yy = M[:k, :k], M[:k, k], M[k, k]
        b = np.linalg.solve(xx, xy)
        return b, yy - xy @ b, xx

    def conc(lam):  # relative to the SSR at lambda = 0: free of y's units
        ss = parts(lam)[1]
        return (-n_star / 2 * np.log(ss / ss_ref)
                + T_star * (jac.logdet(lam) - (c * np.log(1 - lam) if c else 0.0)))

    try:
        np.linalg.cholesky(cross(0.0)[:k, :k])
    except np.linalg.LinAlgError:
        raise EstimationError("the demeaned regressors are collinear") from None
    ss_ref = max(float(parts(0.0)[1]), np.finfo(float).tiny)
    lam = _maximize(conc, jac.bounds, "lambda")
    if jac.omega is not None:   # refine: root of the concentrated score (envelope theorem)
        om = jac.omega

        def score(x):
            b, ss, _ = parts(x)
            g = np.r_[-b, 1.0]
            dss = g @ cross.deriv(x) @ g
            return (-n_star / 2 * dss / ss - T_star * float(np.real(np.sum(om / (1 - x * om))))
                    + (c * T_star / (1 - x) if c else 0.0))

        lam = root_near(score, lam, jac.bounds)
    b, ss, xx = parts(lam)
    s2 = float(ss) / n_star
    ll = (-n_star / 2 * (np.log(2 * np.pi * s2) + 1)
          + T_star * (jac.logdet(lam) - (c * np.log(1 - lam) if c else 0.0)))
    return b, lam, s2, float(ll), xx


def _wtilde(jac: Jacobian, rho: float, c: int) -> np.ndarray:
    """``W (I - rho W)^-1``, projected off the unit vector when time effects are
    transformed away (Lee-Yu, c = 1)."""
    A = np.asarray(jac.inverse_times_w(rho))
    if c:
        A = A - A.mean(0, keepdims=True)
        A = A - A.mean(1, keepdims=True)
    return A


def _traces_and_apply(jac, rho, c):
    """tr(A), tr(AA), tr(A'A) and a function V -> A V for ``A = W (I - rho W)^-1``."""
    A = _wtilde(jac, rho, c)
    return np.trace(A), float((A * A.T).sum()), float((A * A).sum()), lambda V: A @ V


def _info_lag(Xd, beta, rho, s2, jac, T, n_star, T_star, c, mean=None, proj=None,
              out=None):
    """Information of (beta, rho, sigma2). ``mean``: the fitted mean of ``(I - rho W) y``
    including the fitted dummies (T x N; default ``Xd beta``), ``proj``: the projection
    off the dummies applied to its spatial derivative (the direct approach with time
    effects or an intercept: the dummies partialled out exactly). ``out``: a dict that
    receives ``mm``, the squared norm of that derivative (the ``1/s2`` part of the rho
    entry)."""
    t1, t2, t3, apply = _traces_and_apply(jac, rho, c)
    N = jac.n
    xb = (Xd @ beta).reshape(T, N) if mean is None else mean
    axb = apply(xb.T).T                            # A applied within each period
    if proj is not None:
        axb = proj(axb)
    k = Xd.shape[1]
    info = np.zeros((k + 2, k + 2))
    info[:k, :k] = Xd.T @ Xd / s2
    info[:k, k] = info[k, :k] = Xd.T @ axb.ravel() / s2
    mm = float((axb * axb).sum())
    if out is not None:
        out["mm"] = mm
    info[k, k] = T_star * (t2 + t3) + mm / s2
    info[k, k + 1] = info[k + 1, k] = T_star * t1 / s2
    info[k + 1, k + 1] = n_star / (2 * s2 ** 2)
    return info


def _sigma2_free(info: np.ndarray, k: int, mm: float, s2: float) -> np.ndarray:
    """C of ``S(s2) = G / s2 + C``: the information of (beta, spatial) with sigma2 (last)
    partialled out is the ``1/s2`` cross-products G plus C, the spatial block's traces
    (less their sigma2 part, which is free of s2); ``mm / s2`` is the first spatial
    parameter's ``1/s2`` term (SAR / SDM / SAC; 0 for SEM)."""
    C = np.zeros((info.shape[0] - 1,) * 2)
    C[k:, k:] = info[k:-1, k:-1] - np.outer(info[k:-1, -1], info[k:-1, -1]) / info[-1, -1]
    C[k, k] -= mm / s2
    return C


def _info_error(xx, lam, s2, jac, n_star, T_star, c):
    t1, t2, t3, _ = _traces_and_apply(jac, lam, c)
    k = xx.shape[0]
    info = np.zeros((k + 2, k + 2))
    info[:k, :k] = xx / s2
    info[k, k] = T_star * (t2 + t3)
    info[k, k + 1] = info[k + 1, k] = T_star * t1 / s2
    info[k + 1, k + 1] = n_star / (2 * s2 ** 2)
    return info


def fit_spatial(data: pd.DataFrame, y: str, x: Any, *, entity: str, time: str, w: Any,
                model: str = "sdm", fe: str | None = "twoway", lee_yu: bool = False,
                durbin: Any = None, logdet: str = "auto", level: float = 0.95,
                missing: str = "raise", dynamic: str | None = None,
                cov: str = "information") -> SpatialPanelResult:
    """Fit a spatial lag (SAR), error (SEM), Durbin (SDM), SAC or SDEM panel model by ML.

    Parameters
    ----------
    data : DataFrame
        Long balanced panel, one row per entity x period.
    y, x : str, list of str
        Dependent variable and regressors (no constant: the fixed effects absorb it; with
        ``fe="random"`` or ``None`` the intercept is handled for you).
    entity, time : str
        Panel keys; W's ids must be exactly the entities.
    w : SpatialWeights, libpysal W or square array
    model : {"sar", "sem", "sdm", "sac", "sdem"}
        ``y = rho W y + X b + e`` (SAR); ``y = X b + u, u = lambda W u + e`` (SEM);
        SAR plus ``W X theta`` (SDM); SAR with a spatial-error ``u`` (SAC, same W in both);
        SEM plus ``W X theta`` (SDEM). ``durbin=`` picks the lagged regressors of SDM and
        SDEM (default all).
    fe : {"entity", "time", "twoway", None, "random", "random-time"}
        Fixed effects removed by demeaning, or ``"random"``: random individual effects
        (SAR, SDM, SEM only; :mod:`dtistat.spatial.random`) with an intercept ``const``;
        ``"random-time"``: random individual effects and fixed time effects (one
        intercept per period, not reported), the random-effects counterpart of
        ``"twoway"``.
    lee_yu : bool
        Lee & Yu (2010) transformation approach (see the module docstring); needs a
        row-standardized W when time effects are included. With ``fe="random-time"``:
        the random-effects model of the transformed panel (N - 1 units; the form
        :func:`~dtistat.spatial.random.spatial_hausman` needs).
    logdet : {"auto", "eig", "lu"}
        Eigenvalues (default up to N = 3000) or sparse LU.
    level : float
        Confidence level of the intervals.
    missing : {"raise"}
        Spatial ML needs a complete balanced panel; anything else is refused.
    dynamic : {None, "time", "spacetime", "both"}
        Add the time lag ``y(t-1)`` ("time"), the space-time lag ``W*y(t-1)``
        ("spacetime") or both as regressors (SAR and SDM, ``fe="entity"`` or
        ``"twoway"``; the first period is lost). ``lee_yu=True`` then means the Yu, de
        Jong & Lee (2008) / Lee & Yu (2010) bias correction (:mod:`dtistat.spatial.dynamic`).
    cov : {"information", "sandwich"}
        Standard errors from the inverse information matrix, or (dynamic models only) the
        QML sandwich with the residuals' excess kurtosis (R SDPDmod's choice).

    Returns
    -------
    SpatialPanelResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from libpysal.weights import lat2W
    >>> w = lat2W(4, 4); w.transform = "r"
    >>> rng = np.random.default_rng(0)
    >>> N, T = 16, 6
    >>> W = w.sparse.toarray()
    >>> X = rng.normal(size=(T, N))
    >>> Y = np.stack([np.linalg.solve(np.eye(N) - 0.4 * W, X[t] + rng.normal(0, .5, N))
    ...               for t in range(T)])
    >>> df = pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(range(T), N),
    ...                    "y": Y.ravel(), "x": X.ravel()})
    >>> r = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sar", fe="entity")
    >>> round(r.rho, 3), round(float(r.params["x"]), 3)
    (0.448, 1.103)
    >>> rd = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sar",
    ...                  fe="entity", dynamic="time", lee_yu=True)
    >>> list(rd.params.index), rd.nobs
    (['y(t-1)', 'x', 'rho'], 80)
    """
    check_choice(model, _MODELS, "model")
    check_choice(fe, _FE, "fe")
    check_choice(logdet, ("auto", "eig", "lu"), "logdet")
    check_choice(missing, ("raise",), "missing")
    check_choice(cov, ("information", "sandwich"), "cov")
    if cov != "information" and dynamic is None:
        raise ParameterError("cov='sandwich' is implemented for dynamic models only "
                             "(dynamic='time', 'spacetime' or 'both')")
    level = check_level(level)
    pdata = prepare_panel(data, y, x, entity=entity, time=time, w=w)
    if dynamic is not None:
        from dtistat.spatial.dynamic import check_dynamic

        check_dynamic(dynamic, model, fe, pdata.T, cov, lee_yu, pdata.N)
    check_magnitude(np.column_stack([pdata.y.reshape(-1, 1),
                                     pdata.X.reshape(-1, pdata.X.shape[-1])]),
                    [y, *pdata.names], "fit_spatial", limit=1e75,
                    forms="the information of sigma² (1 / sigma⁴)")
    check_outcome_varies(pdata.y, y, "fit_spatial")
    _check_spec(pdata, model, fe, lee_yu)
    Xraw, names, dnames = _durbin_design(pdata, model, durbin)
    jac = _jacobian(pdata.w, logdet)
    if dynamic is not None:
        return _fit_dynamic(pdata, Xraw, names, dnames, model, fe, lee_yu, jac, dynamic, y,
                            cov, level)
    if fe in _RANDOM:
        est = (_estimate_random_leeyu(pdata, Xraw, model, jac) if lee_yu else
               _estimate_random(pdata, Xraw, model, jac, time_effects=fe == "random-time"))
        names = ["const"] + names if fe == "random" else names
    else:
        est = _estimate_fixed(pdata, Xraw, model, fe, lee_yu, jac)
    beta, sp_vals, s2, ll, info, extra, sigma2_mu, info_c = est
    try:
        V = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        raise EstimationError("the information matrix is singular") from None
    terms = names + dnames + list(sp_vals)
    params = pd.Series(np.r_[beta, list(sp_vals.values())], index=terms, name="estimate")
    full = terms + extra + ["sigma2"]
    cov_full = pd.DataFrame(V, index=full, columns=full)
    T, N = pdata.T, pdata.N
    return SpatialPanelResult(
        params=params, cov=cov_full.iloc[:len(terms), :len(terms)].copy(), model=model,
        fe=fe, lee_yu=bool(lee_yu), sigma2=s2, loglik=ll, nobs=N * T, n_entities=N,
        n_periods=T, cov_full=cov_full, x_names=tuple(n for n in names if n != "const"),
        durbin_names=tuple(dnames), level=level, sigma2_mu=sigma2_mu, _jacobian=jac,
        _info_sigma2_free=info_c)


def _fit_dynamic(pdata, Xraw, names, dnames, model, fe, lee_yu, jac, dynamic, y, cov,
                 level):
    """The hook to :mod:`dtistat.spatial.dynamic`: its estimates as a result."""
    from dtistat.spatial.dynamic import estimate_dynamic

    beta, rho, s2, ll, V, lag_names, t = estimate_dynamic(pdata, Xraw, fe, lee_yu, jac,
                                                          dynamic, y, cov)
    terms = lag_names + names + dnames + ["rho"]
    params = pd.Series(np.r_[beta, rho], index=terms, name="estimate")
    full = terms + ["sigma2"]
    cov_full = pd.DataFrame(V, index=full, columns=full)
    return SpatialPanelResult(
        params=params, cov=cov_full.iloc[:-1, :-1].copy(), model=model, fe=fe,
        lee_yu=bool(lee_yu), sigma2=s2, loglik=ll, nobs=pdata.N * t,
        n_entities=pdata.N, n_periods=t, cov_full=cov_full, x_names=tuple(names),
        durbin_names=tuple(dnames), level=level, _jacobian=jac, dynamic=dynamic,
        cov_type=cov)


def _check_spec(pdata: PanelData, model: str, fe: str | None, lee_yu: bool) -> None:
    Wt = pdata.w
    if Wt.islands:
        raise DataError(f"W has island(s) without neighbours, e.g. entity {Wt.islands[0]!r}")
    if lee_yu and fe in (None, "random"):
        raise ParameterError("lee_yu=True needs time or fixed effects (fe='entity', "
                             "'time', 'twoway' or 'random-time')")
    rs = np.asarray(Wt.sparse.sum(axis=1)).ravel()
    if lee_yu and fe in ("time", "twoway", "random-time") and not np.allclose(rs, 1.0):
        raise ParameterError("the Lee-Yu transformation of time effects needs a "
                             "row-standardized W (transform='row')")
    if pdata.T < 2 and fe in ("entity", "twoway", *_RANDOM):
        raise DataError(f"fe={fe!r} needs at least 2 periods")
    if fe in _RANDOM and model == "sem" and pdata.N > _DENSE_MAX_N["sem-re"]:
        raise ParameterError(f"fe={fe!r} with model='sem' takes one dense N x N "
                             f"eigendecomposition per lambda: N = {pdata.N} is above "
                             f"{_DENSE_MAX_N['sem-re']}; use model='sar'/'sdm' or fixed effects")
    if model == "sac" and pdata.N > _DENSE_MAX_N["sac"]:
        raise ParameterError(f"model='sac' computes its information matrix with dense N x N "
                             f"inverses: N = {pdata.N} is above {_DENSE_MAX_N['sac']}")
    if fe in _RANDOM and model not in ("sar", "sdm", "sem"):
        raise ParameterError(f"fe={fe!r} is implemented for model='sar', 'sdm' and "
                             f"'sem', not {model!r}; use fixed effects for SAC and SDEM")


def _durbin_design(pdata: PanelData, model: str, durbin: Any):
    """Regressors with the W*x terms of SDM/SDEM appended: (T x N x k, names, W-names)."""
    names = list(pdata.names)
    if model not in _DURBIN:
        if durbin is not None:
            raise ParameterError(f"durbin= applies to model='sdm' or 'sdem', not {model!r}")
        return pdata.X, names, []
    dsel = names if durbin is None else as_list(durbin, "durbin")
    bad = [d for d in dsel if d not in names]
    if bad:
        raise ParameterError(f"durbin term {bad[0]!r} is not among x: {names}")
    idx = [names.index(d) for d in dsel]
    Xraw = np.concatenate([pdata.X, _lag(pdata.w.sparse, pdata.X[..., idx])], axis=-1)
    return Xraw, names, [f"W*{d}" for d in dsel]


def _estimate_fixed(pdata, Xraw, model, fe, lee_yu, jac):
    """Demeaned-data ML: beta, {name: value}, s2, loglik, information, [], None.

    The direct approach with time effects or an intercept (``lee_yu=False``, ``fe`` not
    "entity") concentrates the dummies out exactly: by demeaning for SAR / SDM (and for
    the error models when W's row sums are equal), else by projecting the filtered data
    off ``(I - lambda W) 1`` (:mod:`dtistat.spatial.dummies`); the information matrix has
    the dummies partialled out."""
    T, N, k = Xraw.shape
    Ws = pdata.w.sparse
    n_star, T_star, c = _counts(fe, lee_yu, N, T)
    wy = _lag(Ws, pdata.y)
    exact = not lee_yu and fe != "entity"
    if model in ("sar", "sdm"):
        Xd = _demean(Xraw, fe).reshape(T * N, k)
        yd, wyd = _demean(pdata.y, fe).ravel(), _demean(wy, fe).ravel()
        beta, rho, s2, ll, _ = _fit_lag(yd, wyd, Xd, jac, n_star, T_star, c)
        mean = proj = None
        if exact:   # LSDV: (I - rho W) y_E - e = X_E beta + the fitted dummies
            e = (yd - rho * wyd - Xd @ beta).reshape(T, N)
            mean = _entity_part(pdata.y - rho * wy, fe) - e
            proj = lambda a: _demean(a, None if fe is None else "time")  # noqa: E731
        parts: dict = {}
        info = _info_lag(Xd, beta, rho, s2, jac, T, n_star, T_star, c, mean, proj, parts)
        C = _sigma2_free(info, Xd.shape[1], parts["mm"], s2)
        return beta, {"rho": rho}, s2, ll, info, [], None, C
    return _estimate_error(pdata, Xraw, model, fe, jac, (n_star, T_star, c), exact, wy)


def _entity_part(a: np.ndarray, fe: str | None) -> np.ndarray:
    """The data with the entity effects removed (demeaned over time) when ``fe`` has
    them; the time effects / intercept are left in."""
    return _demean(a, "entity") if fe in ("entity", "twoway") else a


def _estimate_error(pdata, Xraw, model, fe, jac, counts, exact, wy):
    """SEM / SDEM / SAC with fixed effects (see :func:`_estimate_fixed`)."""
    from dtistat.spatial.dummies import (
        Cross,
        DummyCross,
        dummy_coef,
        project_dummies,
        row_sums_vary,
    )
    from dtistat.spatial.sac import fit_sac, info_sac

    T, N, k = Xraw.shape
    Ws = pdata.w.sparse
    cols = [Xraw, pdata.y[..., None]] + ([wy[..., None]] if model == "sac" else [])
    Z = np.concatenate(cols, axis=-1)
    WZ = _lag(Ws, Z)
    fe_t = None if fe is None else "time"
    r = np.asarray(Ws.sum(axis=1)).ravel()
    if exact and row_sums_vary(Ws):
        cross = DummyCross(_entity_part(Z, fe), _entity_part(WZ, fe), r, fe_t)
    else:
        m = Z.shape[-1]
        cross = Cross(_demean(Z, fe).reshape(-1, m), _demean(WZ, fe).reshape(-1, m))
    if model != "sac":
        beta, lam, s2, ll, xx = _fit_error(cross, k, jac, *counts)
        info = _info_error(xx, lam, s2, jac, *counts)
        C = _sigma2_free(info, len(beta), 0.0, s2)
        return beta, {"lambda": lam}, s2, ll, info, [], None, C
    beta, rho, lam, s2, ll = fit_sac(cross, k, jac, *counts)
    X3, mean, proj = _demean(Xraw, fe), None, None
    if exact:   # fitted dummies: B (A y_E - X_E b) regressed on (I - lambda W) 1
        X3 = _entity_part(Xraw, fe)
        b1 = 1.0 - lam * r
        u = _entity_part(pdata.y - rho * wy, fe) - X3 @ beta
        a = dummy_coef(u - lam * _lag(Ws, u), b1, fe_t)
        mean = X3 @ beta + (a if fe is None else a[:, None])
        proj = lambda v: project_dummies(v, b1, fe_t)  # noqa: E731
    parts: dict = {}
    info = info_sac(X3.reshape(T * N, k), beta, rho, lam, s2, Ws, T, *counts, mean, proj,
                    parts)
    C = _sigma2_free(info, k, parts["mm"], s2)
    return beta, {"rho": rho, "lambda": lam}, s2, ll, info, [], None, C


def _estimate_random(pdata, Xraw, model, jac, time_effects=False):
    """Random individual effects (dtistat.spatial.random), with an intercept or, with
    ``time_effects``, one intercept per period (T dummy columns, partialled out of the
    information matrix and not reported)."""
    from dtistat.spatial.random import drop_nuisance, fit_error_random, fit_lag_random

    T, N, _ = Xraw.shape
    lead = np.broadcast_to(np.eye(T)[:, None, :], (T, N, T)) if time_effects \
        else np.ones((T, N, 1))
    X = np.concatenate([lead, Xraw], axis=-1)
    X2 = X.reshape(T * N, -1)
    # rank of equilibrated columns: matrix_rank's cut-off is relative to the largest
    # singular value, so a regressor in 1e13 units beside the constant looked collinear
    if np.linalg.matrix_rank(X2 / column_scale(X2)) < X.shape[-1]:
        what = ("the time effects (a regressor constant within each period?)"
                if time_effects else "the constant (a constant regressor?)")
        raise EstimationError(f"the regressors and {what} are collinear")
    if model in ("sar", "sdm"):
        wy = _lag(pdata.w.sparse, pdata.y)
        beta, rho, s2, ll, psi, info = fit_lag_random(pdata.y, wy, X, jac, _fit_lag,
                                                      _info_lag)
        sp_vals = {"rho": rho}
    else:
        beta, lam, s2, ll, psi, info = fit_error_random(pdata.y, X, pdata.w.sparse,
                                                        jac.bounds)
        sp_vals = {"lambda": lam}
    if time_effects:
        beta, info = beta[T:], drop_nuisance(info, T)
    return beta, sp_vals, s2, ll, info, ["psi"], psi * s2, None


def _estimate_random_leeyu(pdata, Xraw, model, jac):
    """``fe="random-time", lee_yu=True``: the random-effects model of the Lee-Yu
    transformed panel ``F'y_t`` (N - 1 units, ``F'F = I``, ``F'1 = 0``). With a
    row-standardized W, ``F'W = W*F'`` with ``W* = F'WF``, so the transformed panel is the
    same model without time effects, on W* (W's eigenvalues without the unit one)."""
    from scipy.linalg import helmert

    from dtistat.spatial.random import fit_error_random, fit_lag_random

    T, N, k = Xraw.shape
    Xd = _demean(Xraw, "time")
    X2 = Xd.reshape(T * N, k)
    if np.linalg.matrix_rank(X2 / column_scale(X2)) < k:
        raise EstimationError("the regressors and the time effects are collinear (a "
                              "regressor constant within each period?)")
    if model in ("sar", "sdm"):
        wy = _demean(_lag(pdata.w.sparse, pdata.y), "time")
        beta, sp, s2, ll, psi, info = fit_lag_random(_demean(pdata.y, "time"), wy, Xd, jac,
                                                     _fit_lag, _info_lag, lee_yu=True)
        return beta, {"rho": sp}, s2, ll, info, ["psi"], psi * s2, None
    F = helmert(N)                                                # (N - 1) x N
    Ws = F @ (pdata.w.sparse @ F.T)
    beta, sp, s2, ll, psi, info = fit_error_random(
        pdata.y @ F.T, np.einsum("mn,tnk->tmk", F, Xraw), Ws, jac.bounds)
    return beta, {"lambda": sp}, s2, ll, info, ["psi"], psi * s2, None
