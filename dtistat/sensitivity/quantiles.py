"""Exact quantiles over the draws: rank quantiles from counts, score quantiles by order statistics.

Quantiles are order statistics, as ``np.quantile(..., method='inverted_cdf')``, so a
median rank is a rank some draw gave. Score quantiles recompute each cell's scores
under every draw (the same fixed-order sums as the ranking kernel) in blocks of cells,
in parallel, and select the order statistics without sorting the draws.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numba as nb
import numpy as np

from dtistat.sensitivity.context import Context

__all__ = ["order_stat", "score_quantiles"]

# Cells per block of the score quantiles (a block's scores: cells x draws doubles).
_CELLS = 16


@functools.lru_cache(maxsize=64)
def order_stat(D: int, q: float) -> int:
    """1-based order statistic that ``np.quantile(..., method='inverted_cdf')`` returns."""
    return int(np.quantile(np.arange(1, D + 1), q, method="inverted_cdf"))


@nb.njit(cache=True, nogil=True)
def _order_stats_rows(S, kth, nbins, out, r0):
    """Exact order statistics of every row of ``S`` (rows, n): ``out[j, r0 + i]`` is the
    ``kth[j]``-th smallest (1-based, ``kth`` ascending) value of row i.

    A counting pass puts the values in ``nbins`` equal-width bins between the row's
    min and max; ``floor((x - min) * scale)`` is non-decreasing in x, so the k-th
    smallest value is the right one among the values of the bin where the running
    count reaches k. A second pass collects the values of those (at most ``len(kth)``)
    bins, which are sorted. Three passes over the row in all, whatever ``len(kth)``.
    """
    rows, n = S.shape
    K = kth.shape[0]
    counts = np.empty(nbins, dtype=np.int64)
    tbin = np.empty(K, dtype=np.int64)       # bin holding each order statistic
    below = np.empty(K, dtype=np.int64)      # values in lower bins
    slot = np.empty(K, dtype=np.int64)       # buffer of each order statistic's bin
    start = np.empty(K + 1, dtype=np.int64)
    fill = np.empty(K, dtype=np.int64)
    ub = np.empty(K, dtype=np.int64)         # distinct target bins
    buf = np.empty(n)
    for i in range(rows):
        x = S[i]
        lo = x[0]
        hi = x[0]
        for d in range(n):
            lo = min(lo, x[d])
            hi = max(hi, x[d])
        if not hi > lo:
            for j in range(K):
                out[j, r0 + i] = lo
            continue
        scale = nbins / (hi - lo)
        counts[:] = 0
        for d in range(n):
            counts[min(int((x[d] - lo) * scale), nbins - 1)] += 1
        j = 0
        run = 0
        for b in range(nbins):
            while j < K and run + counts[b] >= kth[j]:
                tbin[j] = b
                below[j] = run
                j += 1
            run += counts[b]
            if j == K:
                break
        nu = 0
        for j in range(K):
            if nu == 0 or ub[nu - 1] != tbin[j]:
                ub[nu] = tbin[j]
                nu += 1
            slot[j] = nu - 1
        start[0] = 0
        for u in range(nu):
            start[u + 1] = start[u] + counts[ub[u]]
            fill[u] = start[u]
        for d in range(n):
            b = min(int((x[d] - lo) * scale), nbins - 1)
            for u in range(nu):
                if b == ub[u]:
                    buf[fill[u]] = x[d]
                    fill[u] += 1
                    break
        for u in range(nu):
            buf[start[u]:start[u + 1]] = np.sort(buf[start[u]:start[u + 1]])
        for j in range(K):
            out[j, r0 + i] = buf[start[slot[j]] + kth[j] - below[j] - 1]


@nb.njit(cache=True, nogil=True)
def _cell_scores(A, WT, alt, mixed, c0, S):
    """``S[i, d]`` = score of cell ``c0 + i`` under draw d, summed over the leaves in
    the order 0, 1, ..., L - 1 (as the ranking kernel)."""
    L, D = WT.shape
    for i in range(S.shape[0]):
        c = c0 + i
        s = S[i]
        if mixed:
            for d in range(D):
                s[d] = WT[0, d] * A[alt[d], 0, c]
            for k in range(1, L):
                for d in range(D):
                    s[d] += WT[k, d] * A[alt[d], k, c]
        else:
            a = A[alt[0], 0, c]
            for d in range(D):
                s[d] = WT[0, d] * a
            for k in range(1, L):
                a = A[alt[0], k, c]
                for d in range(D):
                    s[d] += WT[k, d] * a


@nb.njit(cache=True, parallel=True)
def _quantiles(A, WT, alt, mixed, geometric, kth, out):
    """Order statistics ``kth`` of every cell's scores (exp of the log-scale sum for
    geometric draws), blocks of cells in parallel."""
    n = A.shape[2]
    D = WT.shape[1]
    nblocks = (n + _CELLS - 1) // _CELLS
    for b in nb.prange(nblocks):
        c0 = b * _CELLS
        c1 = min(n, c0 + _CELLS)
        S = np.empty((c1 - c0, D))
        _cell_scores(A, WT, alt, mixed, c0, S)
        for i in range(c1 - c0):
            for d in range(D):
                if geometric[alt[d]]:
                    S[i, d] = np.exp(S[i, d])
        _order_stats_rows(S, kth, 1024, out, c0)


def score_quantiles(ctx: Context, W: np.ndarray, alt: np.ndarray, q: Sequence[float],
                    n_jobs: int = 1) -> np.ndarray:
    """Exact per-cell score quantiles over the draws, (len(q), G, NE); cells missing
    from the data are NaN."""
    D = W.shape[0]
    cell = np.flatnonzero(ctx.valid.ravel())
    A = np.stack([t[:, cell] for t in ctx.TT])
    ks = np.array([order_stat(D, p) for p in q], dtype=np.int64)
    order = np.argsort(ks, kind="stable")
    res = np.empty((len(q), A.shape[2]))
    old = nb.get_num_threads()
    nb.set_num_threads(max(1, min(n_jobs, nb.config.NUMBA_NUM_THREADS)))
    try:
        alt = np.ascontiguousarray(alt, dtype=np.int64)
        _quantiles(A, np.ascontiguousarray(W.T), alt, bool((alt != alt[0]).any()),
                   np.array(ctx.geometric), ks[order], res)
    finally:
        nb.set_num_threads(old)
    out = np.full((len(q), ctx.G * ctx.NE), np.nan)
    out[np.ix_(order, cell)] = res
    return out.reshape(len(q), ctx.G, ctx.NE)
