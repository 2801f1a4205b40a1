"""Exact quantiles over the draws: rank quantiles from counts, score quantiles by order statistics.

Quantiles are order statistics, as ``np.quantile(..., method='inverted_cdf')``, so a
median rank is a rank some draw gave. Score quantiles recompute each cell's scores
under every draw (the same fixed-order sums as the ranking kernel) in blocks of cells,
on threads, and select the order statistics without sorting the draws.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

from dtistat.sensitivity.context import Context
from dtistat.sensitivity.kernel import _inversions

__all__ = ["order_stat", "score_quantiles"]

# Cells per block of the score quantiles (a block's scores: cells x draws doubles).
_CELLS = 16


@functools.lru_cache(maxsize=64)
def order_stat(D: int, q: float) -> int:
    """1-based order statistic that ``np.quantile(..., method='inverted_cdf')`` returns."""
    return int(np.quantile(np.arange(1, D + 1), q, method="inverted_cdf"))


@nb.njit(cache=True, nogil=True)
def _sort(a, tmp):
    """Sort ``a`` ascending in place with the kernel's bottom-up merge sort (NumPy's
    sorts compile for seconds in numba)."""
    _inversions(a, tmp)
    n = a.shape[0]
    passes = 0
    width = 1
    while width < n:
        width *= 2
        passes += 1
    if passes % 2:  # the last pass wrote into tmp
        for i in range(n):
            a[i] = tmp[i]


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
    tmp = np.empty(n)
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
        for b in range(nbins):
            counts[b] = 0
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
            _sort(buf[start[u]:start[u + 1]], tmp)
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


@nb.njit(cache=True, nogil=True)
def _quantile_block(A, WT, alt, mixed, geometric, kth, c0, c1, out):
    """Order statistics ``kth`` of the scores of cells ``c0 .. c1 - 1`` (exp of the
    log-scale sum for geometric draws), into columns ``c0 ..`` of ``out``."""
    D = WT.shape[1]
    for b0 in range(c0, c1, _CELLS):
        b1 = min(c1, b0 + _CELLS)
        S = np.empty((b1 - b0, D))
        _cell_scores(A, WT, alt, mixed, b0, S)
        for i in range(b1 - b0):
            for d in range(D):
                if geometric[alt[d]]:
                    S[i, d] = np.exp(S[i, d])
        _order_stats_rows(S, kth, 1024, out, b0)


def score_quantiles(ctx: Context, W: np.ndarray, alt: np.ndarray, q: Sequence[float],
                    n_jobs: int = 1) -> np.ndarray:
    """Exact per-cell score quantiles over the draws, (len(q), G, NE), blocks of cells
    on ``n_jobs`` threads; cells missing from the data are NaN."""
    D = W.shape[0]
    cell = np.flatnonzero(ctx.valid.ravel())
    A = np.stack([t[:, cell] for t in ctx.TT])
    ks = np.array([order_stat(D, p) for p in q], dtype=np.int64)
    order = np.argsort(ks, kind="stable")
    res = np.empty((len(q), len(cell)))
    alt = np.ascontiguousarray(alt, dtype=np.int64)
    args = (A, np.ascontiguousarray(W.T), alt, bool((alt != alt[0]).any()),
            np.array(ctx.geometric), ks[order])
    step = max(_CELLS, -(-len(cell) // (4 * n_jobs)))
    starts = range(0, len(cell), step)

    def block(c0: int) -> None:
        _quantile_block(*args, c0, min(len(cell), c0 + step), res)

    if n_jobs > 1 and len(starts) > 1:
        with ThreadPoolExecutor(n_jobs) as pool:
            list(pool.map(block, starts))
    else:
        for c0 in starts:
            block(c0)
    out = np.full((len(q), ctx.G * ctx.NE), np.nan)
    out[np.ix_(order, cell)] = res
    return out.reshape(len(q), ctx.G, ctx.NE)
