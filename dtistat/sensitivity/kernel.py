"""Compiled kernel: exact ranks of a group's cells under a tile of weight draws.

A group (one period × ``by`` cell) keeps its entities as rows in nominal order
(nominal rank ascending, ties by entity number). For each tile of draws the kernel
computes the scores (a matrix product written as plain loops: the sum over leaves
runs in one fixed order, so every CPU and thread count gives the same bits), then
ranks each draw by insertion sort from the nominal order: a draw rarely moves an
entity far, so that costs O(n + inversions), and every inversion between two
different nominal ranks is a discordant pair of Kendall's tau. When the inversions
pass ``n log2 n`` the draw is sorted instead (a merge sort, O(n log n)). The sort key
is (score descending, entity number): equal scores share the lower ('min') rank.

Rank counts are kept per cell over a band of ranks ``[lo, lo + w)``; a tile whose
ranks leave a cell's band is not counted, the ranks it needs are reported and the
caller widens the bands and runs the tile again (see :mod:`.bands`). Every
accumulator is an integer, so no result depends on the order of evaluation.
"""

from __future__ import annotations

import os

import numba as nb
import numpy as np

__all__ = ["COMPILING", "TILE", "needs_compiling", "rank_group"]

# Draws per tile: the scores of a tile (TILE x rows doubles) stay in cache while they
# are ranked and counted; a wider tile costs more when a band must grow (the tile runs
# again), a narrower one more loop set-up per draw.
TILE = 64
# Rows per block of the score loops: 20 leaves x 512 rows of a group's leaf values
# (80 KB) stay in the L2 cache across the draws of a tile.
_ROWS = 512


@nb.njit(cache=True, nogil=True)
def _scores(A, W, alt, d0, m, S):
    """``S[j, p]`` = score of row p under draw ``d0 + j``, summed over the leaves in the
    order 0, 1, ..., L - 1 (plain loops: no FMA contraction, no BLAS); ``A`` is the
    group's (alternatives, L, rows) leaf values."""
    L = W.shape[1]
    n = A.shape[2]
    for b0 in range(0, n, _ROWS):
        nb_ = min(n - b0, _ROWS)
        for j in range(m):
            a = alt[d0 + j]
            s = S[j, b0:b0 + nb_]
            Ak = A[a, 0, b0:b0 + nb_]
            w = W[d0 + j, 0]
            for p in range(nb_):
                s[p] = w * Ak[p]
            for k in range(1, L):
                w = W[d0 + j, k]
                Ak = A[a, k, b0:b0 + nb_]
                for p in range(nb_):
                    s[p] += w * Ak[p]


@nb.njit(cache=True, nogil=True)
def _inversions(a, tmp):
    """Pairs i < j with ``a[i] > a[j]`` (strictly), by a bottom-up merge sort of ``a``
    (``a`` and ``tmp`` are overwritten)."""
    n = a.shape[0]
    inv = 0
    width = 1
    src, dst = a, tmp
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if src[j] < src[i]:
                    dst[k] = src[j]
                    inv += mid - i
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
        src, dst = dst, src
        width *= 2
    return inv


@nb.njit(cache=True, nogil=True)
def _sort_draw(x, ent, R0, order, vals, seq, tmp, tmpv, do_kendall):
    """Order of the rows by (score descending, entity number) by a bottom-up merge
    sort of (score, row) pairs, and the discordant pairs with the nominal ranks
    (inversions of ``R0`` in that order). A hand-written merge: NumPy's sorts compile
    for seconds in numba."""
    n = x.shape[0]
    so, sv, do, dv = order, vals, tmp, tmpv
    for q in range(n):
        so[q] = q
        sv[q] = x[q]
    width = 1
    swaps = 0
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if sv[j] > sv[i] or (sv[j] == sv[i] and ent[so[j]] < ent[so[i]]):
                    do[k] = so[j]
                    dv[k] = sv[j]
                    j += 1
                else:
                    do[k] = so[i]
                    dv[k] = sv[i]
                    i += 1
                k += 1
            while i < mid:
                do[k] = so[i]
                dv[k] = sv[i]
                i += 1
                k += 1
            while j < hi:
                do[k] = so[j]
                dv[k] = sv[j]
                j += 1
                k += 1
        so, do = do, so
        sv, dv = dv, sv
        width *= 2
        swaps += 1
    if swaps % 2:
        for q in range(n):
            order[q] = so[q]
            vals[q] = sv[q]
    if not do_kendall:
        return 0
    for q in range(n):
        seq[q] = R0[order[q]]
    return _inversions(seq, tmp)


@nb.njit(cache=True, nogil=True)
def _rank_draw(x, ent, R0, rk, order, vals, seq, tmp, tmpv, do_kendall, sort_first):
    """'min' ranks (descending) of the scores ``x`` of rows in nominal order into ``rk``;
    returns the pairs ranked in the opposite order by the draw and the nominal ranking,
    and whether it sorted. ``sort_first``: sort without trying the insertion first
    (the previous draw of the group was far from the nominal order)."""
    n = x.shape[0]
    limit = n
    k = n
    while k > 1:                                  # limit = n * (1 + floor(log2 n))
        limit += n
        k >>= 1
    moves = 0
    disc = 0
    vals[0] = x[0]
    order[0] = 0
    sorted_ = not sort_first
    for i in range(1, n if sorted_ else 1):
        v = x[i]
        if vals[i - 1] > v:                       # in nominal order: the usual case
            vals[i] = v
            order[i] = i
            continue
        e = ent[i]
        r = R0[i]
        j = i
        while j > 0:
            u = vals[j - 1]
            if u > v:
                break
            q = order[j - 1]
            if u == v and ent[q] < e:
                break
            vals[j] = u
            order[j] = q
            disc += R0[q] < r
            j -= 1
        vals[j] = v
        order[j] = i
        moves += i - j
        if moves > limit:                         # far from the nominal order: sort
            sorted_ = False
            break
    if not sorted_:
        disc = _sort_draw(x, ent, R0, order, vals, seq, tmp, tmpv, do_kendall)
    cur = 1
    rk[order[0]] = 1
    for q in range(1, n):
        if vals[q] != vals[q - 1]:
            cur = q + 1
        rk[order[q]] = cur
    return disc, not sorted_


@nb.njit(cache=True, nogil=True)
def _tile_sums(rk, m, R0, st, j0):
    """Per draw of the tile: sum |rank - nominal|, sum rank, sum rank^2, sum rank x
    nominal rank (columns ``j0 ..`` of ``st``)."""
    n = rk.shape[1]
    for j in range(m):
        a = 0
        s1 = 0
        s2 = 0
        sx = 0
        for p in range(n):
            r = np.int64(rk[j, p])
            a += abs(r - R0[p])
            s1 += r
            s2 += r * r
            sx += r * R0[p]
        st[0, j0 + j] = a
        st[1, j0 + j] = s1
        st[2, j0 + j] = s2
        st[3, j0 + j] = sx


@nb.njit(cache=True, nogil=True)
def _accept(rk, m, r0, lo, w, off, counts, need_lo, need_hi, mn, mx):
    """Count the tile's ranks if they all lie in their cells' bands and return True;
    else write the ranks each row needs (its band and the tile's ranks) to
    ``need_lo`` / ``need_hi`` and return False."""
    n = rk.shape[1]
    for p in range(n):
        mn[p] = rk[0, p]
        mx[p] = rk[0, p]
    for j in range(1, m):
        for p in range(n):
            mn[p] = min(mn[p], rk[j, p])
            mx[p] = max(mx[p], rk[j, p])
    ok = True
    for p in range(n):
        if mn[p] < lo[r0 + p] or mx[p] >= lo[r0 + p] + w[r0 + p]:
            ok = False
    if not ok:
        for p in range(n):
            c = r0 + p
            need_lo[c] = min(mn[p], lo[c]) if w[c] > 0 else mn[p]
            need_hi[c] = max(mx[p], lo[c] + w[c] - 1) if w[c] > 0 else mx[p]
        return False
    for j in range(m):
        for p in range(n):
            counts[off[r0 + p] + rk[j, p] - lo[r0 + p]] += 1
    return True


@nb.njit(cache=True, nogil=True)
def rank_group(A, W, alt, g, r0, t0, t1, R0, ent, lo, w, off, counts, need_lo, need_hi,
               st, dfirst, crow, dom, ranks, do_hist, do_kendall, do_ranks):
    """Rank tiles ``t0 .. t1 - 1`` of group ``g``; returns the tile it stopped at
    (``t1`` when done, earlier when a tile left the rank bands).

    A : (alternatives, leaves, rows) the group's leaf values (C order)
    W, alt : (draws, leaves) effective weights and the alternative of each draw
    R0, ent : nominal rank and entity number of the group's rows
    lo, w, off, counts : the rank bands of every row of every group (``r0``: the
        group's first row) and their counts (see :mod:`.bands`); need_lo / need_hi
        receive the ranks a tile needs when it leaves them
    st : (5, draws of the chunk from ``dfirst``) per-draw integer sums of the group
    crow, dom : rows of the compared entities (-1: absent) and the draws where one
        scores above another
    ranks : (draws, G, entities) every rank, when ``do_ranks``
    """
    D = W.shape[0]
    n = A.shape[2]
    S = np.empty((TILE, n))
    rk = np.empty((TILE, n), dtype=np.int32)
    order = np.empty(n, dtype=np.int64)
    vals = np.empty(n)
    seq = np.empty(n, dtype=np.int64)
    tmp = np.empty(n, dtype=np.int64)
    tmpv = np.empty(n)
    k = crow.shape[0]
    far = False
    for t in range(t0, t1):
        d0 = t * TILE
        m = min(TILE, D - d0)
        _scores(A, W, alt, d0, m, S)
        j0 = d0 - dfirst
        for j in range(m):
            st[4, j0 + j], sorted_ = _rank_draw(S[j], ent, R0, rk[j], order, vals, seq,
                                                tmp, tmpv, do_kendall, far)
            far = sorted_ and (j & 7) != 7        # try the insertion again now and then
        _tile_sums(rk, m, R0, st, j0)
        if do_hist and not _accept(rk, m, r0, lo, w, off, counts, need_lo, need_hi, seq,
                                   tmp):
            return t
        for a in range(k):                       # after acceptance: counted once
            for b in range(k):
                if a != b and crow[a] >= 0 and crow[b] >= 0:
                    for j in range(m):
                        dom[a, b] += S[j, crow[a]] > S[j, crow[b]]
        if do_ranks:
            for j in range(m):
                for p in range(n):
                    ranks[d0 + j, g, ent[p]] = rk[j, p]
    return t1


COMPILING = ("      compiling the ranking kernel for this machine (first run only, cached "
             "afterwards) ...")


def needs_compiling() -> bool:
    """Whether the first ranking in this process compiles the kernel: not yet compiled
    here and no machine code in numba's cache (for a progress line on the first run)."""
    if rank_group.signatures:
        return False
    try:
        return not os.path.exists(rank_group._cache._cache_file._index_path)
    except AttributeError:  # pragma: no cover - numba's cache layout changed
        return False
