"""Sandwich covariances of linear estimators and their small-sample presets.

One function, :func:`sandwich`, computes every covariance a dtistat estimator reports
from the (transformed) design ``X``, the residuals and ``(X'X)^-1``; the corrections are
arguments, never copy-pasted variants. Written by hand because no package offers
one-way/two-way cluster and Driscoll-Kraay sandwiches over absorbed fixed effects with
Stata's, reghdfe's and linearmodels' conventions side by side.

Notation: N rows, k columns of ``X``, K = ``n_params`` (k, or k + 1 for a within model,
whose fixed effects contain the intercept Stata reports as ``_cons``), A = ``n_absorbed``
(fixed-effect parameters swept out beyond that intercept), A_n = ``n_absorbed_nested``
(those among A nested within the cluster variable), G = clusters (T = periods for
Driscoll-Kraay).

=================  ===========  =================  ==========================  ==========
preset             unadjusted   robust (HC)        cluster / Driscoll-Kraay    reference
                   s^2 divisor  factor             factor                      distribution
=================  ===========  =================  ==========================  ==========
``"none"``         N - K - A    1 (HC0)            1 (CR0)                     normal
``"linearmodels"`` N - K - A    N/(N-k)            N/(N-k)                     normal
``"stata"``        N - K - A    N/(N-K)            G/(G-1) (N-1)/(N-K)         t
``"areg"``         N - K - A    N/(N-K-A)          G/(G-1) (N-1)/(N-K-A)       t
``"reghdfe"``      N - K - A    N/(N-K-A)          G/(G-1) (N-1)/(N-K-A+A_n)   t
``"ivreg2"``       N            1 (HC0)            1 (CR0)                     normal
=================  ===========  =================  ==========================  ==========

* ``"none"`` applies no factor at all: R ``sandwich::vcovHC(type="HC0")`` and
  ``vcovCL(type="HC0", cadjust=FALSE)``, pyfixest ``ssc(k_adj=False, G_adj=False)``.
  The unadjusted variance always divides by the residual degrees of freedom N - K - A
  (R ``lm``, Stata, linearmodels with the effects counted): no preset changes it.
* ``"ivreg2"``: the large-sample convention of Stata's ``ivreg2`` (no ``small``) and of
  linearmodels' IV estimators (``debiased=False``): as ``"none"``, but the unadjusted
  variance is the ML one, e'e/N -- the only preset that does not divide by N - K - A.
* ``"linearmodels"``: linearmodels' panel default (``debiased=True``,
  ``group_debias=False``, effects not counted).
* ``"stata"``: ``xtreg, fe vce(cluster id)`` / ``regress, vce(cluster)``.
* ``"areg"``: ``areg, absorb(id) vce(cluster id)`` -- every absorbed effect counted.
* ``"reghdfe"``: as areg, but effects nested within the cluster variable are not counted
  (``reghdfe``, ``ivreghdfe``); with entity effects clustered by entity it equals
  ``"stata"``.

t degrees of freedom: N - K - A (unadjusted, robust), G - 1 (cluster; the smaller G for
two-way), T - 1 (Driscoll-Kraay). Two-way clustering (Cameron, Gelbach and Miller 2011)
applies each one-way component's factor with its own G (the intersection's with its own).
Driscoll-Kraay (1998) uses Bartlett weights ``1 - j/(lags+1)`` on the cross-sectional
sums of the scores of the periods present; the default ``lags`` is linearmodels'
floor(4 (T/100)^(2/9)).

Explicit heteroskedasticity-consistent types ``"HC0"``-``"HC3"`` (MacKinnon and White
1985) ignore the preset; HC2/HC3 need the leverages of an untransformed design and are
refused when fixed effects were absorbed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from dtistat._scale import column_scale
from dtistat.errors import EstimationError, ParameterError

__all__ = [
    "COV_TYPES",
    "SMALL_SAMPLE",
    "CovEstimate",
    "check_cov",
    "check_small_sample",
    "critical_value",
    "dk_default_lags",
    "sandwich",
]

COV_TYPES = ("unadjusted", "robust", "cluster", "twoway-cluster", "driscoll-kraay",
             "HC0", "HC1", "HC2", "HC3")
SMALL_SAMPLE = ("none", "linearmodels", "stata", "areg", "reghdfe", "ivreg2")

_COV_ALIASES = {
    "unadjusted": "unadjusted", "nonrobust": "unadjusted", "iid": "unadjusted",
    "homoskedastic": "unadjusted", "classic": "unadjusted",
    "robust": "robust", "heteroskedastic": "robust", "hc": "robust",
    "cluster": "cluster", "clustered": "cluster",
    "twoway-cluster": "twoway-cluster", "twoway_cluster": "twoway-cluster",
    "driscoll-kraay": "driscoll-kraay", "driscoll_kraay": "driscoll-kraay", "dk": "driscoll-kraay",
    "kernel": "driscoll-kraay",
    "hc0": "HC0", "hc1": "HC1", "hc2": "HC2", "hc3": "HC3",
}


def check_cov(cov: object, param: str = "cov") -> str:
    """Canonical covariance name; accepts the usual aliases (``"nonrobust"``, ``"HC1"``...).

    Examples
    --------
    >>> check_cov("nonrobust"), check_cov("DK"), check_cov("hc3")
    ('unadjusted', 'driscoll-kraay', 'HC3')
    """
    if isinstance(cov, str) and cov.lower() in _COV_ALIASES:
        return _COV_ALIASES[cov.lower()]
    raise ParameterError(
        f"{param}={cov!r} is not a covariance type; choose one of "
        f"{', '.join(map(repr, COV_TYPES))}"
    )


def check_small_sample(small_sample: object, param: str = "small_sample") -> str:
    """Validate a small-sample preset name (see the module's table)."""
    if isinstance(small_sample, str) and small_sample in SMALL_SAMPLE:
        return small_sample
    raise ParameterError(
        f"{param}={small_sample!r} is not a small-sample preset; choose one of "
        f"{', '.join(map(repr, SMALL_SAMPLE))} (see dtistat.inference.covariance)"
    )


def dk_default_lags(n_periods: int) -> int:
    """linearmodels' default Driscoll-Kraay bandwidth, floor(4 (T/100)^(2/9))."""
    return math.floor(4 * (n_periods / 100) ** (2 / 9))


def critical_value(level: float, df: float | None) -> float:
    """Two-sided critical value at ``level`` from t(df), or the normal when df is None."""
    dist = stats.norm if df is None else stats.t(df)
    return float(dist.ppf(0.5 + level / 2))


@dataclass(frozen=True, eq=False)
class CovEstimate:
    """A covariance matrix with what inference on it needs.

    Attributes
    ----------
    cov : ndarray (k, k)
    kind, small_sample : str
        The canonical covariance type and preset it was computed with.
    df_inference : float or None
        Degrees of freedom of Student's t, or None for the normal distribution.
    n_clusters : tuple of int or None
        Clusters per dimension (periods for Driscoll-Kraay).
    lags : int or None
        Driscoll-Kraay bandwidth.
    """

    cov: np.ndarray
    kind: str
    small_sample: str
    df_inference: float | None
    n_clusters: tuple | None = None
    lags: int | None = None


def _group_sums(x: np.ndarray, codes: np.ndarray, g: int) -> np.ndarray:
    out = np.empty((g, x.shape[1]))
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(codes, weights=x[:, j], minlength=g)
    return out


def _compact(codes: np.ndarray) -> tuple[np.ndarray, int]:
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu" or (len(codes) and codes.min() < 0):
        raise ParameterError("cluster and time codes must be non-negative integers")
    if len(codes) and codes.max() < len(codes):
        # already 0..G-1 with every code present (the usual case): no sort needed
        cnt = np.bincount(codes)
        if cnt.all():
            return codes.astype(np.intp, copy=False), cnt.size
    u, inv = np.unique(codes, return_inverse=True)
    return inv.astype(np.intp), len(u)


def _dof(value: float, what: str) -> float:
    if value <= 0:
        raise EstimationError(f"no degrees of freedom left for the {what} covariance "
                              f"({value:g}); the model has as many parameters as rows")
    return value


def _hc_factor(preset: str, n: int, k: int, K: int, A: int) -> float:
    if preset in ("none", "ivreg2"):
        return 1.0
    if preset == "linearmodels":
        return n / _dof(n - k, "robust")
    kk = K if preset == "stata" else K + A
    return n / _dof(n - kk, "robust")


def _cluster_factor(preset: str, n: int, k: int, K: int, A: int, A_nested: int,
                    g: int) -> float:
    if preset in ("none", "ivreg2"):
        return 1.0
    if preset == "linearmodels":
        return n / _dof(n - k, "clustered")
    if g < 2:
        raise EstimationError(f"{g} cluster: clustered standard errors need at least 2")
    kk = {"stata": K, "areg": K + A, "reghdfe": K + A - A_nested}[preset]
    return g / (g - 1) * (n - 1) / _dof(n - kk, "clustered")


def _hc(X, e, bread, kind, n, k, A):
    scores = X * e[:, None]
    if kind in ("HC0", "HC1"):
        meat = scores.T @ scores
        return meat * (1.0 if kind == "HC0" else n / _dof(n - k, "HC1"))
    if A:
        raise ParameterError(f"cov={kind!r} needs the leverages of the untransformed design; "
                             "it is not available with absorbed fixed effects (use HC1 or "
                             "cluster)")
    h = np.einsum("ij,jk,ik->i", X, bread, X)
    if np.any(h >= 1 - 1e-12):
        i = int(np.argmax(h))
        raise EstimationError(f"row {i} has leverage 1; {kind} is undefined (drop it)")
    w = 1 / (1 - h) if kind == "HC2" else 1 / (1 - h) ** 2
    return (scores * w[:, None]).T @ scores


def sandwich(
    X: np.ndarray,
    resid: np.ndarray,
    bread: np.ndarray | None = None,
    *,
    cov: str = "unadjusted",
    small_sample: str = "stata",
    n_params: int | None = None,
    n_absorbed: int = 0,
    n_absorbed_nested: int = 0,
    clusters: Sequence[np.ndarray] = (),
    time_codes: np.ndarray | None = None,
    lags: int | None = None,
    names: Sequence[str] | None = None,
) -> CovEstimate:
    """Covariance of a linear estimator, ``bread @ meat @ bread`` with the preset's factor.

    Parameters
    ----------
    X : ndarray (N, k)
        The design the coefficients were estimated on (demeaned, quasi-demeaned,
        weighted by sqrt(w) -- whatever the estimator regressed on). For 2SLS pass the
        fitted regressors.
    resid : ndarray (N,)
        Residuals on the same scale as ``X``.
    bread : ndarray (k, k), optional
        ``(X'X)^-1``; computed when omitted.
    cov : str
        ``"unadjusted"``, ``"robust"``, ``"cluster"``, ``"twoway-cluster"``,
        ``"driscoll-kraay"`` or an explicit ``"HC0"``-``"HC3"`` (aliases accepted).
    small_sample : str
        A preset of the module's table.
    n_params, n_absorbed, n_absorbed_nested : int
        K (default k), A and A_n of the module's notation.
    clusters : sequence of integer arrays
        One (cluster) or two (twoway-cluster) arrays of non-negative group codes.
    time_codes : integer array
        Period codes in time order (Driscoll-Kraay).
    lags : int, optional
        Driscoll-Kraay bandwidth (default :func:`dk_default_lags`).
    names : sequence of str, optional
        Column names of ``X``, used in error messages.

    Returns
    -------
    CovEstimate

    Raises
    ------
    EstimationError
        A cluster-robust or Driscoll-Kraay variance that is zero up to rounding relative
        to the unadjusted one (e.g. two clusters with fixed effects that make every
        cluster's score sum zero), or a negative two-way clustered variance: neither is
        an estimate, and neither is reported.

    Examples
    --------
    HC0 is the plain White sandwich (R ``sandwich::vcovHC(type="HC0")``):

    >>> import numpy as np
    >>> X = np.column_stack([np.ones(4), [1.0, 2.0, 3.0, 5.0]])
    >>> e = np.array([0.5, -1.0, 0.25, 0.25])
    >>> est = sandwich(X, e, cov="robust", small_sample="none")
    >>> B = np.linalg.inv(X.T @ X); S = (X * e[:, None]).T @ (X * e[:, None])
    >>> bool(np.allclose(est.cov, B @ S @ B)), est.df_inference is None
    (True, True)
    """
    kind = check_cov(cov)
    preset = check_small_sample(small_sample)
    X = np.asarray(X, dtype=float)
    e = np.asarray(resid, dtype=float)
    n, k = X.shape
    K = k if n_params is None else int(n_params)
    A = int(n_absorbed)
    # Units: with X = Xs D (D the powers of two of column_scale) and e = a es, the
    # sandwich bread M(X, e) bread equals L M(Xs, es) L' with L = a bread D, exactly
    # (powers of two), while the meat's fourth powers x² e² no longer overflow near
    # 1e100 nor underflow near 1e-100.
    if bread is None:
        bread = np.linalg.inv(X.T @ X)
    bread = np.asarray(bread, dtype=float)
    d = column_scale(X) if n else np.ones(k)
    a = float(column_scale(e)[0]) if n else 1.0
    X, e = X / d, e / a
    L = bread * d[None, :] * a
    normal = preset in ("none", "linearmodels", "ivreg2")
    df_resid = n - K - A
    if kind == "unadjusted":
        s2 = float(e @ e) / (n if preset == "ivreg2" else _dof(df_resid, "unadjusted"))
        return _finite(CovEstimate(bread * a * a * s2, kind, preset,
                                   None if normal else float(df_resid)))
    if kind in ("HC0", "HC1", "HC2", "HC3"):
        meat = _hc(X, e, bread * d[:, None] * d[None, :], kind, n, k, A)
        return _finite(CovEstimate(L @ meat @ L.T, kind, preset,
                                   None if normal else float(_dof(n - k - A, kind))))
    scores = X * e[:, None]
    if kind == "robust":
        f = _hc_factor(preset, n, k, K, A)
        return _finite(CovEstimate(f * (L @ (scores.T @ scores) @ L.T), kind, preset,
                                   None if normal else float(_dof(df_resid, "robust"))))
    if kind == "driscoll-kraay":
        if time_codes is None:
            raise ParameterError("cov='driscoll-kraay' needs the time codes of the rows")
        tc, T = _compact(time_codes)
        lags = dk_default_lags(T) if lags is None else int(lags)
        if not 0 <= lags < T:
            raise ParameterError(f"lags={lags} must be between 0 and the number of periods "
                                 f"less one ({T - 1})")
        s = _group_sums(scores, tc, T)
        meat = s.T @ s
        for j in range(1, lags + 1):
            op = s[j:].T @ s[:-j]
            meat += (1.0 - j / (lags + 1.0)) * (op + op.T)
        f = _cluster_factor(preset, n, k, K, A, 0, T)
        est = CovEstimate(f * (L @ meat @ L.T), kind, preset,
                          None if normal else float(T - 1), (T,), lags)
    else:
        est = _cluster(scores, L, kind, preset, n, k, K, A, int(n_absorbed_nested),
                       clusters)
    return _not_degenerate(_finite(est), bread * a * a * float(e @ e) / max(n, 1), names)


# A clustered variance below this fraction of the unadjusted one is rounding error: the
# score sums of the clusters (periods) are exactly zero, as with two entities clustered
# by entity under two-way fixed effects (its ratio is ~1e-31; a genuine one is > 1e-12)
_DEGENERATE = 1e-20


def _not_degenerate(est: CovEstimate, unadjusted: np.ndarray,
                    names: Sequence[str] | None) -> CovEstimate:
    """Refuse a clustered / Driscoll-Kraay variance that is zero up to rounding."""
    v, u = np.diag(est.cov), np.diag(unadjusted)
    bad = np.flatnonzero((u > 0) & (v <= _DEGENERATE * u))
    if bad.size == 0:
        return est
    j = int(bad[0])
    name = repr(str(names[j])) if names is not None and j < len(names) else f"column {j}"
    unit = "periods" if est.kind == "driscoll-kraay" else "clusters"
    g = "x".join(map(str, est.n_clusters or ()))
    if v[j] < -_DEGENERATE * u[j]:
        # V1 + V2 - V12 of Cameron, Gelbach and Miller (2011) need not be positive
        # semi-definite: a negative variance was a NaN standard error before
        raise EstimationError(
            f"the {est.kind} variance of {name} is negative ({v[j]:.3g}; unadjusted "
            f"{u[j]:.3g}): the two-way clustered variance V1 + V2 - V12 is not positive "
            f"semi-definite with {g} clusters. Use more clusters or one-way clustering "
            "(cov='cluster') by the dimension with fewer clusters")
    raise EstimationError(
        f"the {est.kind} variance of {name} is zero up to rounding ({v[j]:.3g} against an "
        f"unadjusted {u[j]:.3g}): the score sums of the {g} {unit} cancel exactly, "
        f"typically because there are too few {unit} for the fixed effects (e.g. two "
        "entities clustered by entity with time effects). Use more clusters, another "
        "cov= (e.g. 'robust'), or fewer fixed effects"
    )


def _finite(est: CovEstimate) -> CovEstimate:
    """Refuse a covariance that floating point cannot hold (coefficients near 1e154+)."""
    if not np.all(np.isfinite(est.cov)):
        raise EstimationError(
            "the coefficient covariance is beyond the range of floating point (a "
            "variance above ~1e308): the outcome is on a scale some 1e150 times that of "
            "a regressor; rescale the variables (e.g. to thousands or millions of their "
            "unit)"
        )
    return est


def _cluster(scores, L, kind, preset, n, k, K, A, A_nested, clusters) -> CovEstimate:
    """Cluster sandwich ``L meat L'`` (``L`` the bread, carrying the units)."""
    clusters = list(clusters)
    want = 1 if kind == "cluster" else 2
    if len(clusters) != want:
        raise ParameterError(f"cov={kind!r} needs {want} cluster variable(s), got "
                             f"{len(clusters)}")

    def one(codes):
        c, g = _compact(codes)
        s = _group_sums(scores, c, g)
        return _cluster_factor(preset, n, k, K, A, A_nested, g) * (s.T @ s), g

    if want == 1:
        meat, g = one(clusters[0])
        gs = (g,)
    else:
        c1, g1 = _compact(clusters[0])
        c2, g2 = _compact(clusters[1])
        m1, _ = one(c1)
        m2, _ = one(c2)
        m12, _ = one(c1.astype(np.int64) * g2 + c2)
        meat = m1 + m2 - m12
        gs = (g1, g2)
    df = None if preset in ("none", "linearmodels", "ivreg2") else float(min(gs) - 1)
    return CovEstimate(L @ meat @ L.T, kind, preset, df, gs)
