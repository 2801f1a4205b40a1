"""Greedy nearest-neighbour matching without replacement on a scalar score (numba kernel).

Treated observations are served one at a time in a given order; each takes its ``k``
nearest controls not yet used (ties: lowest control index), within an optional caliper.
A loop over treated x controls costs O(n_t n_c). Here the controls are sorted once and
grouped by equal score; two disjoint-set forests ("nearest available group to the
left / right") skip exhausted groups, so each pick walks outward from the treated
score's position in amortized near-constant time: O((n_t k + n_c) log n_c) overall.

The picks are exactly those of the reference loop (kept in ``tests/test_did_psm.py``):
``argsort(|p_c - p_t|, kind="stable")[:k]`` over the unused controls. Distances are
computed as that loop does, so scores whose distances round to the same float are
ties there and here (every equidistant group on either side is compared by index).
Written by hand: no library does exact greedy 1-D matching with these tie rules.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["greedy_match"]


@njit(cache=True)
def _find(parent, j):
    """Root of j with path halving (the nearest available group in one direction)."""
    while parent[j] != j:
        parent[j] = parent[parent[j]]
        j = parent[j]
    return j


@njit(cache=True)
def _kernel(p_t, order, vals, starts, members, k, cal):
    m = len(vals)
    # forests over groups 0..m-1 with sentinels: right[m] = m, left uses index shift +1
    right = np.arange(m + 1)
    left_raw = np.arange(m + 1)  # left_raw[j + 1] represents group j; left_raw[0] = none
    ptr = starts[:-1].copy()
    nxt_idx = np.empty(m, np.int64)
    for g in range(m):
        nxt_idx[g] = members[ptr[g]]
    out = np.full((len(p_t), k), -1, np.int64)
    for i in order:
        pt = p_t[i]
        pos = np.searchsorted(vals, pt)  # first group with score >= pt
        for j in range(k):
            dr, ir, gr = _right(pt, vals, nxt_idx, right, pos, m, cal)
            dl, il, gl = _left(pt, vals, nxt_idx, left_raw, pos - 1, cal)
            if gr < 0 and gl < 0:
                break
            if gl < 0 or (gr >= 0 and (dr < dl or (dr == dl and ir < il))):
                g, idx = gr, ir
            else:
                g, idx = gl, il
            out[i, j] = idx
            ptr[g] += 1
            if ptr[g] < starts[g + 1]:
                nxt_idx[g] = members[ptr[g]]
            else:  # group exhausted: skip it from now on
                right[g] = g + 1
                left_raw[g + 1] = g
    return out


@njit(cache=True)
def _right(pt, vals, nxt_idx, right, start, m, cal):
    g = _find(right, start)
    if g >= m:
        return np.inf, -1, -1
    d = abs(pt - vals[g])
    if d > cal:
        return np.inf, -1, -1
    best_i, best_g = nxt_idx[g], g
    h = _find(right, g + 1)
    while h < m and abs(pt - vals[h]) == d:  # distances that round to the same float
        if nxt_idx[h] < best_i:
            best_i, best_g = nxt_idx[h], h
        h = _find(right, h + 1)
    return d, best_i, best_g


@njit(cache=True)
def _left(pt, vals, nxt_idx, left_raw, start, cal):
    g = _find(left_raw, start + 1) - 1
    if g < 0:
        return np.inf, -1, -1
    d = abs(pt - vals[g])
    if d > cal:
        return np.inf, -1, -1
    best_i, best_g = nxt_idx[g], g
    h = _find(left_raw, g) - 1
    while h >= 0 and abs(pt - vals[h]) == d:
        if nxt_idx[h] < best_i:
            best_i, best_g = nxt_idx[h], h
        h = _find(left_raw, h) - 1
    return d, best_i, best_g


def greedy_match(p_t: np.ndarray, p_c: np.ndarray, k: int, caliper: float | None,
                 order: np.ndarray) -> np.ndarray:
    """(n_t, k) control indices picked greedily without replacement, -1 where none.

    ``order`` is the order in which treated observations choose.

    Examples
    --------
    >>> greedy_match(np.array([0.5, 0.52]), np.array([0.1, 0.5, 0.6]), 1, None,
    ...              np.array([1, 0])).tolist()  # 0.52 takes 0.5 first; 0.5 gets 0.6
    [[2], [1]]
    """
    p_c = np.asarray(p_c, dtype=np.float64)
    srt = np.argsort(p_c, kind="stable")  # by score, then index
    vals, starts = np.unique(p_c[srt], return_index=True)
    starts = np.append(starts, len(p_c)).astype(np.int64)
    cal = np.inf if caliper is None else float(caliper)
    return _kernel(np.asarray(p_t, dtype=np.float64), np.asarray(order, dtype=np.int64),
                   vals, starts, srt.astype(np.int64), int(k), cal)
