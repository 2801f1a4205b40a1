"""Compiled kernel: exact ranks of a group's cells under a tile of weight draws.

A group (one period × ``by`` cell) keeps its entities as rows in nominal order
(nominal rank ascending, ties by entity number). For each tile of draws the kernel
computes the scores (plain loops: the sum over leaves runs in one fixed order, so
every CPU and thread count gives the same bits), then the 'min' ranks,
``1 + #(rows scoring higher)``, in one of two exact ways:

* a window count (:func:`_window`): a row's rank is the rows more than ``H`` places
  above it plus those within ``H`` places that score higher — valid for a draw when no
  pair of rows more than ``H`` places apart is out of nominal order or tied, which a
  running minimum checks; branch-free loops vectorized across the tile's draws;
* a radix sort of the scores' bits (:func:`_sort_ranks`, O(n) per draw) for the draws
  that fail the check and for groups whose ranks move too far for a window.

``H`` adapts per group to what each costs (:func:`_rank_tiles`): it changes the time,
never the numbers. Kendall's discordant pairs (draw order: score descending, ties by
entity number) are counted in the window, or by a merge count after the sort.

Rank counts are kept per cell over a band of ranks ``[lo, lo + w)`` (:mod:`.bands`);
ranks outside go to an overflow list the caller folds in after widening the band; when
the list is full the tile is not counted, the ranks it needs are reported and the
caller widens the bands and runs it again. Every accumulator is an integer, so no
result depends on the order of evaluation.

The first call compiles the kernel (then it is cached). To keep that short, the
helpers are compiled into their one caller only (no Python or C entry point of their
own, no intermediate level that would optimize them once more), buffers are allocated
in Python, and the Kendall count is compiled only when it is asked for.
"""

from __future__ import annotations

import os

import numba as nb
import numpy as np

__all__ = ["COMPILING", "H0", "TILE", "needs_compiling", "rank_group", "rank_tiles"]

# Draws per tile: the scores of a tile (TILE x rows doubles) stay in cache while they
# are ranked and counted; the window loops run across the TILE draws.
TILE = 64
# Rows per block of the score loops: 20 leaves x 512 rows of a group's leaf values
# (80 KB) stay in the L2 cache across the draws of a tile.
_ROWS = 512
# Window half-width to start with, and the widest one tried. _RATIO: the cost of
# sorting a draw over that of comparing each row with one more row of the window
# (measured here: 340 rows, a window of 2 x 16 costs ~1.1 us a draw, the sort ~3.5 us;
# 5,000 rows, the sort ~57 us).
H0 = 8
HMAX = 32
_RATIO = 100


def _inner(f):
    """``f`` compiled only into its callers: no Python entry point, no C wrapper (each
    would be compiled, and re-optimized in every caller, for nothing)."""
    return nb.njit(nogil=True, no_cpython_wrapper=True, no_cfunc_wrapper=True)(f)


def _scores(A, W, alt, d0, m, S):
    """``S[j, p]`` = score of row p under draw ``d0 + j``, summed over the leaves in the
    order 0, 1, ..., L - 1 (plain loops: no FMA contraction, no BLAS); ``A`` is the
    group's (alternatives, L, rows) leaf values."""
    L = W.shape[1]
    n = A.shape[2]
    for b0 in range(0, n, _ROWS):
        nb_ = n - b0 if n - b0 < _ROWS else _ROWS
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


_scores_k = _inner(_scores)
_scores = nb.njit(cache=True, nogil=True)(_scores)


def _inversions(a, tmp):
    """Pairs i < j with ``a[i] > a[j]`` (strictly), by a bottom-up merge sort of ``a``
    (``a`` and ``tmp`` are overwritten)."""
    n = a.shape[0]
    inv = 0
    width = 1
    src, dst = a, tmp
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = lo + width if lo + width < n else n
            hi = lo + 2 * width if lo + 2 * width < n else n
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


_inversions_k = _inner(_inversions)
_inversions = nb.njit(cache=True, nogil=True)(_inversions)


@_inner
def _window(S, m, H, R0, ent, T, R, pm, acc, bad, disc, kend):
    """Ranks ``R`` (rows, TILE) of the tile's draws by counting, for each row, the rows
    within ``H`` places that score higher; ``bad[j]``: draw j has a pair of rows more
    than ``H`` places apart out of nominal order or tied (its ranks are then wrong).
    ``disc``: the discordant pairs within the window (when ``kend`` is not None).
    ``T``: the transposed tile."""
    n = S.shape[1]
    for p in range(n):
        for j in range(TILE):
            T[p, j] = S[j if j < m else m - 1, p]
    for j in range(TILE):
        pm[j] = np.inf
        bad[j] = 0
        disc[j] = 0
    for i in range(n):
        lo = i - H if i > H else 0
        hi = i + H + 1 if i + H + 1 < n else n
        ti = T[i]
        for j in range(TILE):
            acc[j] = lo + 1
        q = lo
        while q + 4 <= hi:                        # four rows per pass over acc
            t1, t2, t3, t4 = T[q], T[q + 1], T[q + 2], T[q + 3]
            for j in range(TILE):
                x = ti[j]
                acc[j] += (t1[j] > x) + (t2[j] > x) + (t3[j] > x) + (t4[j] > x)
            q += 4
        for q in range(q, hi):
            tq = T[q]
            for j in range(TILE):
                acc[j] += tq[j] > ti[j]
        ri = R[i]
        for j in range(TILE):
            ri[j] = acc[j]
        if i > H:
            tq = T[i - H - 1]
            for j in range(TILE):
                pm[j] = tq[j] if tq[j] < pm[j] else pm[j]
                bad[j] |= pm[j] <= ti[j]
        if kend is not None:
            for q in range(lo, i):
                if R0[q] < R0[i]:
                    tq = T[q]
                    if ent[i] < ent[q]:
                        for j in range(TILE):
                            disc[j] += ti[j] >= tq[j]
                    else:
                        for j in range(TILE):
                            disc[j] += ti[j] > tq[j]


def _sort_ranks(xu, ent, R, jr, key, a, a2, order, hist):
    """'min' ranks of the scores whose bits are ``xu`` into column ``jr`` of ``R``, and
    the rows in draw order (score descending, ties by entity) into ``order``:
    order-preserving integer keys of the doubles (``-0.0`` as ``+0.0``, so equal scores
    have equal keys); a stable LSD radix sort (8-bit digits) of their top 32
    significant bits packed with the row, then an insertion pass orders the rare runs
    sharing those bits (scores within ~1e-6 of each other: the exponent takes at most
    11 of the 32 bits) by the full key and entity number."""
    n = xu.shape[0]
    top = np.uint64(1) << np.uint64(63)
    kmin = ~np.uint64(0)
    kmax = np.uint64(0)
    for q in range(n):
        b = xu[q]
        if b == top:                              # -0.0
            b = np.uint64(0)
        k = b if b & top else ~(b | top)          # descending scores: ascending keys
        key[q] = k
        kmin = k if k < kmin else kmin
        kmax = k if k > kmax else kmax
    bits = 0
    while bits < 64 and ((kmax - kmin) >> np.uint64(bits)) != 0:
        bits += 1
    sh = np.uint64(bits - 32 if bits > 32 else 0)
    nd = ((bits if bits < 32 else 32) + 7) // 8
    for d in range(nd):
        for c in range(256):
            hist[d, c] = 0
    lo32 = np.uint64(0xFFFFFFFF)
    for q in range(n):
        v = (((key[q] - kmin) >> sh) << np.uint64(32)) | np.uint64(q)
        a[q] = v
        for d in range(nd):
            hist[d, (v >> np.uint64(32 + 8 * d)) & np.uint64(255)] += 1
    src, dst = a, a2
    for d in range(nd):
        h = hist[d]
        s = np.uint64(32 + 8 * d)
        tot = 0
        for c in range(256):
            t = h[c]
            h[c] = tot
            tot += t
        for q in range(n):
            v = src[q]
            c = (v >> s) & np.uint64(255)
            dst[h[c]] = v
            h[c] += 1
        src, dst = dst, src
    for i in range(1, n):                   # equal top bits: by the key, then the entity
        j = i
        v = src[j]
        kv, ev = key[v & lo32], ent[v & lo32]
        while j > 0 and (src[j - 1] >> np.uint64(32)) == (v >> np.uint64(32)):
            u = src[j - 1] & lo32
            if key[u] < kv or (key[u] == kv and ent[u] < ev):
                break
            src[j] = src[j - 1]
            j -= 1
        src[j] = v
    cur = 1
    prev = key[src[0] & lo32]
    for i in range(n):
        q = src[i] & lo32
        if key[q] != prev:
            cur = i + 1
            prev = key[q]
        R[q, jr] = cur
        order[i] = q


_sort_ranks_k = _inner(_sort_ranks)


@nb.njit(cache=True, nogil=True)
def _radix(x, ent, R0, R, jr, key, a, a2, seq, tmp, hist, do_kendall):
    """:func:`_sort_ranks` of the scores ``x``; returns the discordant pairs with the
    nominal ranks ``R0`` (0 unless ``do_kendall``)."""
    _sort_ranks_k(x.view(np.uint64), ent, R, jr, key, a, a2, tmp, hist)
    if not do_kendall:
        return 0
    for i in range(x.shape[0]):
        seq[i] = R0[tmp[i]]
    return _inversions(seq, tmp)


@_inner
def _tile_sums(R, m, R0, st, j0, sums):
    """Per draw of the tile: sum |rank - nominal|, sum rank, sum rank^2, sum rank x
    nominal rank (columns ``j0 ..`` of ``st``)."""
    sums[:] = 0
    for p in range(R.shape[0]):
        r0 = R0[p]
        rp = R[p]
        for j in range(TILE):
            r = np.int64(rp[j])
            sums[0, j] += abs(r - r0)
            sums[1, j] += r
            sums[2, j] += r * r
            sums[3, j] += r * r0
    for k in range(4):
        for j in range(m):
            st[k, j0 + j] = sums[k, j]


@_inner
def _accept(R, m, lo, w, off, counts, need_lo, need_hi, ovf, state):
    """Count the tile's ranks: in their cells' bands, or in the overflow list ``ovf``
    ((row, rank) pairs; ``state[1]`` entries used) and return True; when the list
    cannot take them, count nothing, write the ranks each row needs (its band and the
    tile's ranks) to ``need_lo`` / ``need_hi`` and return False."""
    n = R.shape[0]
    out = 0
    for p in range(n):
        a, b = lo[p], lo[p] + w[p]
        for j in range(m):
            out += R[p, j] < a or R[p, j] >= b
    if out > ovf.shape[0] - state[1]:
        for p in range(n):
            mn, mx = R[p, 0], R[p, 0]
            for j in range(1, m):
                mn = R[p, j] if R[p, j] < mn else mn
                mx = R[p, j] if R[p, j] > mx else mx
            need_lo[p] = lo[p] if w[p] > 0 and lo[p] < mn else mn
            need_hi[p] = lo[p] + w[p] - 1 if w[p] > 0 and lo[p] + w[p] - 1 > mx else mx
        return False
    k = state[1]
    for p in range(n):
        a, b, o = lo[p], lo[p] + w[p], off[p] - lo[p]
        for j in range(m):
            r = R[p, j]
            if r >= a and r < b:
                counts[o + r] += 1
            else:
                ovf[k, 0] = p
                ovf[k, 1] = r
                k += 1
    state[1] = k
    return True


@nb.njit(cache=True, nogil=True)
def _rank_tiles(A, W, alt, g, t0, t1, R0, ent, lo, w, off, counts, need_lo, need_hi, ovf,
                state, st, dfirst, crow, dom, ranks, do_hist, kend, do_ranks,
                S, Su, T, R, pm, work, order, keys, hist):
    """:func:`rank_tiles` with its buffers: ``S`` (TILE, rows) the tile's scores and
    ``Su`` their bits, ``T`` / ``R`` (rows, TILE) the transposed tile and its ranks,
    ``pm`` (TILE,), ``work`` (7, TILE) int64, ``order`` (rows,) int64, ``keys`` (3,
    rows) uint64, ``hist`` (4, 256) int64. ``kend`` is None (no Kendall count: numba
    prunes its code, which is then not compiled) or a (rows,) int64 buffer."""
    D = W.shape[0]
    n = A.shape[2]
    acc, bad, disc, sums = work[0], work[1], work[2], work[3:]
    k = crow.shape[0]
    for t in range(t0, t1):
        d0 = t * TILE
        m = TILE if D - d0 > TILE else D - d0
        j0 = d0 - dfirst
        _scores_k(A, W, alt, d0, m, S)
        H = state[0]
        if H > 0:
            _window(S, m, H, R0, ent, T, R, pm, acc, bad, disc, kend)
        n_bad = 0
        for j in range(m):
            if H == 0 or bad[j]:
                n_bad += 1
                _sort_ranks_k(Su[j], ent, R, j, keys[0], keys[1], keys[2], order, hist)
                disc[j] = 0
                if kend is not None:
                    for i in range(n):
                        kend[i] = R0[order[i]]
                    disc[j] = _inversions_k(kend, order)
        if H > 0 and n_bad:                       # adapt the window to what it costs
            if 2 * H <= HMAX and 2 * H <= n and n_bad * _RATIO > 2 * H * m:
                state[0] = 2 * H                  # doubling it saves more sorts than it costs
            elif (2 * H + 1) * m + n_bad * _RATIO > _RATIO * m:
                state[0] = 0                      # sorting every draw is cheaper
        for j in range(m):
            st[4, j0 + j] = disc[j]
        _tile_sums(R, m, R0, st, j0, sums)
        if do_hist and not _accept(R, m, lo, w, off, counts, need_lo, need_hi, ovf, state):
            return t
        for a in range(k):                       # after acceptance: counted once
            for c in range(k):
                if a != c and crow[a] >= 0 and crow[c] >= 0:
                    for j in range(m):
                        dom[a, c] += S[j, crow[a]] > S[j, crow[c]]
        if do_ranks:
            for p in range(n):
                for j in range(m):
                    ranks[d0 + j, g, ent[p]] = R[p, j]
    return t1


def rank_tiles(A, W, alt, g, t0, t1, R0, ent, lo, w, off, counts, need_lo, need_hi, ovf,
               state, st, dfirst, crow, dom, ranks, do_hist, do_kendall, do_ranks):
    """Rank tiles ``t0 .. t1 - 1`` of group ``g``; returns the tile it stopped at
    (``t1`` when done, earlier when a tile's ranks fit neither the bands nor the
    overflow list).

    A : (alternatives, leaves, rows) the group's leaf values (C order)
    W, alt : (draws, leaves) effective weights and the alternative of each draw
    R0, ent : nominal rank and entity number of the group's rows
    lo, w, off, counts : the rank bands of the group's rows and their counts (see
        :mod:`.bands`); need_lo / need_hi receive the ranks a tile needs when it
        stops; ovf (capacity, 2) the (row, rank) pairs outside the bands
    state : [window half-width (0: sort every draw), overflow entries used] of the
        group, carried over
    st : (5, draws of the chunk from ``dfirst``) per-draw integer sums of the group
    crow, dom : rows of the compared entities (-1: absent) and the draws where one
        scores above another
    ranks : (draws, G, entities) every rank, when ``do_ranks``
    """
    n = A.shape[2]
    S = np.empty((TILE, n))
    kend = np.empty(n, dtype=np.int64) if do_kendall else None
    return _rank_tiles(A, W, alt, g, t0, t1, R0, ent, lo, w, off, counts, need_lo, need_hi,
                       ovf, state, st, dfirst, crow, dom, ranks, do_hist, kend, do_ranks,
                       S, S.view(np.uint64), np.empty((n, TILE)),
                       np.empty((n, TILE), dtype=np.int32), np.empty(TILE),
                       np.empty((7, TILE), dtype=np.int64), np.empty(n, dtype=np.int64),
                       np.empty((3, n), dtype=np.uint64), np.empty((4, 256), dtype=np.int64))


def rank_group(A, W, alt, g, r0, t0, t1, R0, ent, lo, w, off, counts, need_lo, need_hi,
               st, dfirst, crow, dom, ranks, do_hist, do_kendall, do_ranks):
    """:func:`rank_tiles` with a fresh window and no overflow list: a tile that leaves
    the bands of rows ``r0 ..`` stops the ranking (returns its number), uncounted."""
    n = A.shape[2]
    state = np.array([H0, 0], dtype=np.int64)
    return rank_tiles(A, W, alt, g, t0, t1, R0, ent, lo[r0:r0 + n], w[r0:r0 + n],
                      off[r0:r0 + n], counts, need_lo[r0:r0 + n], need_hi[r0:r0 + n],
                      np.zeros((0, 2), dtype=np.int64), state, st, dfirst, crow, dom,
                      ranks, do_hist, do_kendall, do_ranks)


COMPILING = ("      compiling the ranking kernel for this machine (first run only, cached "
             "afterwards) ...")


def needs_compiling() -> bool:
    """Whether the first ranking in this process compiles the kernel: not yet compiled
    here and no machine code in numba's cache (for a progress line on the first run)."""
    if _rank_tiles.signatures:
        return False
    try:
        return not os.path.exists(_rank_tiles._cache._cache_file._index_path)
    except AttributeError:  # pragma: no cover - numba's cache layout changed
        return False
