"""Absorbing fixed effects without dummy matrices: group sums, one- and two-way demeaning.

Fixed effects are swept out by group means (``numpy.bincount``); two-way effects are
removed exactly -- in one sweep for a balanced panel, otherwise by solving the small
(periods x periods) normal equations of the time effects after the entity means are
removed -- and by alternating projections (:func:`dtistat._linalg.demean`) only when both
dimensions are large. Singletons are dropped iteratively as reghdfe does. Written by
hand: it is the toolkit's own speed (see benchmarks/bench_panel.py).
"""

from __future__ import annotations

import numpy as np

from dtistat import _linalg
from dtistat._linalg import demean1, fcols

__all__ = ["fcols", "take_rows", "group_sums", "gather", "demean1", "absorb", "n_components",
           "compact", "drop_singletons"]

# Two-way effects: the exact (periods x periods) solve is used while the dense entity x
# period count matrix stays below this many cells; beyond, alternating projections.
_DENSE_TWOWAY_CELLS = 20_000_000
_SMALL_DIM_MAX = 5_000

def take_rows(M: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.empty((len(rows), M.shape[1]), order="F")
    for j in range(M.shape[1]):
        out[:, j] = M[:, j][rows]
    return out


def group_sums(x: np.ndarray, codes: np.ndarray, g: int) -> np.ndarray:
    """Column sums by group, (g, p), one bincount per column."""
    out = np.empty((g, x.shape[1]), order="F")
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(codes, weights=x[:, j], minlength=g)
    return out


def gather(m: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``m[codes]`` for a (g, p) table, column by column (2-d fancy indexing is slow)."""
    out = np.empty((len(codes), m.shape[1]), order="F")
    for j in range(m.shape[1]):
        out[:, j] = m[:, j][codes]
    return out




def absorb(x: np.ndarray, dims: list[tuple[np.ndarray, int]], w: np.ndarray | None,
            balanced: bool, connected: bool = False) -> np.ndarray:
    """Residual of x (n, p) after projecting on the dummies of ``dims`` (never built)."""
    if len(dims) == 1:
        return demean1(x, dims[0][0], dims[0][1], w)
    (c1, g1), (c2, g2) = dims
    n = len(x)
    if balanced and w is None:
        # balanced two-way: x - mean_i - mean_t + mean is exact in one sweep
        out = np.empty(x.shape, order="F")
        for j in range(x.shape[1]):
            col = x[:, j]
            m1 = np.bincount(c1, weights=col, minlength=g1) / (n / g1)
            m2 = np.bincount(c2, weights=col, minlength=g2) / (n / g2)
            out[:, j] = col - m1[c1] - (m2 - col.mean())[c2]
        return out
    if g2 > g1:
        (c1, g1), (c2, g2) = (c2, g2), (c1, g1)
    if g2 <= _SMALL_DIM_MAX and g1 * g2 <= _DENSE_TWOWAY_CELLS:
        # exact: remove the large dimension's means, then solve the (g2 x g2) normal
        # equations of the small dimension's effects in the demeaned data (FWL).
        ww = np.ones(n) if w is None else w
        W1 = np.bincount(c1, weights=ww, minlength=g1)
        W1[W1 == 0] = 1.0
        W2 = np.bincount(c2, weights=ww, minlength=g2)
        C = np.bincount(c1.astype(np.int64) * g2 + c2, weights=ww,
                        minlength=g1 * g2).reshape(g1, g2)
        Cs = C / np.sqrt(W1)[:, None]
        A = np.diag(W2) - Cs.T @ Cs
        xt = demean1(x, c1, g1, w)
        b = group_sums(xt if w is None else xt * w[:, None], c2, g2)
        if connected:
            # null space of A is the constant vector, orthogonal to b: A + a 11' is
            # positive definite and has the same solution with 1'gamma = 0
            a = float(np.mean(np.diag(A)))
            gamma = np.linalg.solve(A + a, b)
        else:
            vals, vecs = np.linalg.eigh(A)
            keep = vals > vals.max() * 1e-11
            gamma = (vecs[:, keep] / vals[keep]) @ (vecs[:, keep].T @ b)
        # M_1 D_2 gamma = gamma[t] - (entity mean of gamma[t])
        gm = (C @ gamma) / W1[:, None]
        for j in range(x.shape[1]):
            xt[:, j] -= gamma[:, j][c2] - gm[:, j][c1]
        return xt
    return _linalg.demean(x, [c1, c2], weights=w)


def n_components(c1, g1, c2, g2) -> int:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(c1)
    adj = coo_matrix((np.ones(n), (c1, c2 + g1)), shape=(g1 + g2, g1 + g2))
    return int(connected_components(adj, directed=False)[0])


def compact(codes: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Renumber non-negative codes to 0..G-1 keeping their order (no hashing)."""
    cnt = np.bincount(codes)
    present = cnt > 0
    if present.all():
        return codes, len(cnt), np.flatnonzero(present)
    remap = np.cumsum(present) - 1
    return remap[codes], int(present.sum()), np.flatnonzero(present)


def drop_singletons(codes_list: list[np.ndarray]) -> np.ndarray:
    """Mask of rows kept after iteratively dropping singleton groups (as reghdfe)."""
    keep = np.ones(len(codes_list[0]), dtype=bool)
    while True:
        changed = False
        for c in codes_list:
            cnt = np.bincount(c[keep], minlength=int(c.max()) + 1)
            single = keep & (cnt[c] == 1)
            if single.any():
                keep &= ~single
                changed = True
        if not changed or len(codes_list) == 1:
            return keep
