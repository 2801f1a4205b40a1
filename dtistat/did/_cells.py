"""Two-way FE regression on one-hot cell indicators without an n x k design.

The Sun-Abraham regressors (cohort x relative-period dummies) have at most one nonzero
per row: they are held as an integer cell code per row (-1: no cell). With ``M`` the
two-way within projection (:func:`dtistat.panel.absorb.absorb`, never a dummy matrix),
``(MD)'(MD) = D'(MD)`` and ``(MD)'v = D'v`` for ``v = Mv``, so every block of the normal
equations is a bincount of a few demeaned indicator columns by cell code; the clustered
scores are cluster sums of the same columns times the residual. The indicator columns are
built, demeaned and reduced a chunk at a time, so memory is O(n x chunk), not O(n x k).

The arithmetic is :func:`dtistat.panel.fit_panel`'s (``fe="twoway"``, ``cov="cluster"``):
iterative singleton dropping, the equilibrated Cholesky solve with one refinement step,
the cluster factor of :mod:`dtistat.inference.covariance` with K = k + 1 and A = N_e +
T - 1 - c.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtistat.errors import EstimationError
from dtistat.inference.covariance import _cluster_factor
from dtistat.panel.absorb import absorb, compact, drop_singletons, fcols, n_components

__all__ = ["CellFit", "fit_cells"]

# bytes of indicator columns demeaned at once (a chunk of n x c doubles)
_CHUNK_BYTES = 16 * 2**20


@dataclass
class CellFit:
    params: np.ndarray
    cov: np.ndarray
    nobs: int
    df_inference: float | None
    n_clusters: int


def _chunks(n: int, k: int):
    c = max(1, min(k, _CHUNK_BYTES // (8 * max(n, 1))))
    return [(j, min(j + c, k)) for j in range(0, k, c)]


def _indicators(cell: np.ndarray, j0: int, j1: int) -> np.ndarray:
    D = np.zeros((len(cell), j1 - j0), order="F")
    rows = np.flatnonzero((cell >= j0) & (cell < j1))
    D[rows, cell[rows] - j0] = 1.0
    return D


def _solve(G: np.ndarray, names_of) -> np.ndarray:
    """(X'X)^-1 from the equilibrated Cholesky factor; a singular design names columns."""
    norm = np.sqrt(np.diag(G))
    bad = np.flatnonzero(~(norm > 0))
    if bad.size == 0:
        Gs = G / np.outer(norm, norm)
        ev, vec = np.linalg.eigh(Gs)
        if ev[0] > 1e-12 * ev[-1]:
            ci = np.linalg.inv(np.linalg.cholesky(Gs))
            return (ci.T @ ci) / np.outer(norm, norm)
        bad = np.flatnonzero(np.abs(vec[:, 0]) > 1e-6)
    raise EstimationError(f"regressor(s) {', '.join(map(repr, names_of(bad)))} are collinear "
                          "with the unit and period fixed effects or with each other "
                          "(no separate variation); drop them")


def fit_cells(y: np.ndarray, C: np.ndarray, cell: np.ndarray, k: int, ecode: np.ndarray,
              tcode: np.ndarray, clusters: np.ndarray, *, small_sample: str,
              names_of) -> CellFit:
    """OLS of y on k cell indicators and the columns of C with two-way FE; CRVE.

    Coefficients are ordered cells first, then the columns of C. ``names_of(idx)``
    returns the names of coefficient positions (for error messages).
    """
    keep = drop_singletons([ecode, tcode])
    if not keep.all():
        y, C, cell = y[keep], C[keep], cell[keep]
        ecode, tcode, clusters = ecode[keep], tcode[keep], clusters[keep]
    n, q = len(y), C.shape[1]
    if n == 0:
        raise EstimationError("no rows left once singleton units and periods are dropped")
    ecode, n_ent, _ = compact(ecode)
    tcode, n_per, _ = compact(tcode)
    clusters, n_cl, _ = compact(clusters)
    balanced = n == n_ent * n_per
    ncomp = 1 if balanced else n_components(ecode, n_ent, tcode, n_per)
    dims = [(ecode, n_ent), (tcode, n_per)]

    def M(x):
        return absorb(x, dims, None, balanced, connected=ncomp == 1)

    Z = M(fcols(y, C))
    yt, Ct = Z[:, 0], Z[:, 1:]
    del Z
    code = np.where(cell >= 0, cell, k)  # rows of no cell: a discarded group k
    p = k + q
    G = np.zeros((p, p))
    for j0, j1 in _chunks(n, k):
        Dt = M(_indicators(cell, j0, j1))
        for j in range(j1 - j0):
            G[:k, j0 + j] = np.bincount(code, weights=Dt[:, j], minlength=k + 1)[:k]
        G[k:, j0:j1] = Ct.T @ Dt
    G[:k, k:] = G[k:, :k].T
    G[k:, k:] = Ct.T @ Ct
    G = (G + G.T) / 2
    Gi = _solve(G, names_of)

    def xte(v):  # X~'v for v = Mv
        return np.concatenate([np.bincount(code, weights=v, minlength=k + 1)[:k], Ct.T @ v])

    def resid(b):
        fitted = M(np.where(cell >= 0, b[:k][np.minimum(cell, k - 1)], 0.0)[:, None])[:, 0]
        return yt - fitted - Ct @ b[k:]

    b = Gi @ xte(yt)
    b = b + Gi @ xte(resid(b))  # one step of iterative refinement, as fit_panel
    e = resid(b)
    S = np.empty((n_cl, p))
    for j0, j1 in _chunks(n, k):
        Dt = M(_indicators(cell, j0, j1))
        for j in range(j1 - j0):
            S[:, j0 + j] = np.bincount(clusters, weights=Dt[:, j] * e, minlength=n_cl)
    for j in range(q):
        S[:, k + j] = np.bincount(clusters, weights=Ct[:, j] * e, minlength=n_cl)
    A = n_ent + n_per - 1 - ncomp
    if n - (p + 1) - A <= 0:
        raise EstimationError(f"no residual degrees of freedom: {n} rows for {p + 1 + A} "
                              "parameters (coefficients, intercept and absorbed effects)")
    nested = 0
    if small_sample == "reghdfe":
        first = np.zeros(n_ent, dtype=np.int64)
        first[ecode] = clusters
        nested = n_ent - 1 if np.all(first[ecode] == clusters) else 0
    f = _cluster_factor(small_sample, n, p, p + 1, A, min(nested, A), n_cl)
    V = f * (Gi @ (S.T @ S) @ Gi)
    normal = small_sample in ("none", "linearmodels", "ivreg2")
    return CellFit(b, (V + V.T) / 2, n, None if normal else float(n_cl - 1), n_cl)
