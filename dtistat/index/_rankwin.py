"""Compiled kernel of the weight-sensitivity engine: exact ranks by bounded windows.

The scores of one group (a period × ``by`` cell) for a tile of draws are laid out
row-major: row ``p`` of a tile ``T`` (rows, draws) holds one entity, and rows are in
nominal order (descending nominal score ``s0``). Over the tile every row has an
interval ``[min_p, max_p]`` holding its draws and its nominal score. If the intervals
of rows ``p`` and ``q`` do not overlap, their order is the same in every draw of the
tile; so the rank of ``p`` in a draw is ``1 + lo_p + #{q in [lo_p, hi_p] : T_q > T_p}``
(positions counted from the group's first row), where ``[lo_p, hi_p]`` is the
smallest run of positions holding every row whose interval meets ``p``'s — rows above
``lo_p`` are above ``p`` in every draw, rows below ``hi_p`` below it. That is the
'min' rank of a full sort, at the cost of the window width instead of a sort and a
scatter per draw. Inner loops run over the draws of a tile (contiguous, so they
vectorize); every accumulator is an integer, so no result depends on the order of
evaluation or the number of threads.

Comparisons run on the scores rounded to float32, twice the lanes per instruction.
Rounding is monotone, so ``f(x) > f(y)`` implies ``x > y``: a float32 count never
exceeds the float64 one, and the two differ only where two rounded scores are equal.
The 'min' ranks of a draw sum to ``n(n + 1)/2`` exactly when there is no tie, so a
draw whose float32 ranks sum to less is ranked again from the float64 scores (the
ties it has, real or made by rounding, then get their exact 'min' ranks). Windows
from the float32 intervals are valid for the float64 scores too, by the same
monotonicity. A task whose tiles keep needing that second pass (rows tied in every
draw) ranks its later tiles in float64 from the start. When the score ranges of a
tile overlap so much that the windows would cost more than sorting (large groups under
heavy weight noise), the tile is ranked by sorting each draw.

Two steps are written as LLVM IR (numba intrinsics), because the loop vectorizer does
not find them: the float32 counts of a window go to byte lanes (four 16-lane compares
joined into one 64-bit mask, one byte subtraction), and a row's rank counts over a
tile are added value by value (a 64-byte compare and a popcount per value). Both lower
to plain vector IR, so they compile for any CPU LLVM targets.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

__all__ = ["draw_stats", "effective", "hist_summary", "order_stats", "rank_group",
           "rank_tiles", "renormalize"]

# Window comparisons that cost as much as one sort step (row x log2(rows)) of a draw:
# about 0.1 ns against 6 ns on a 2-core AVX-512 VM (340 entities whose score ranges all
# overlap: windows 171 ms, sorting 330 ms for 2,048 draws over 9 quarters).
_SORT_COST = 64.0
# Draws of a tile ranked again in float64 above which a task stops using float32.
_F64_AFTER = 8
# Rows above which the int32 per-row products (rank squared) could overflow.
MAX_ROWS = 46340
_I32_MAX = 2147483647


@nb.njit(cache=True, nogil=True)
def _key32(x):
    """Order key of a float32's bits ``x`` (int32): increasing with the float, with
    -0.0 and 0.0 on the same key. Integer min/max vectorize; float ones do not."""
    s = x >> 31
    return (x ^ (s & np.int32(0x7FFFFFFF))) - s


@nb.njit(cache=True, nogil=True)
def _key64(x):
    """:func:`_key32` for a float64's bits (int64)."""
    s = x >> 63
    return (x ^ (s & np.int64(0x7FFFFFFFFFFFFFFF))) - s


@nb.njit(cache=True, nogil=True)
def _bounds32(trow, frow, k0):
    """``frow = float32(trow)``; the least and greatest key of ``frow`` and ``k0``."""
    for d in range(trow.shape[0]):
        frow[d] = np.float32(trow[d])
    fb = frow.view(np.int32)
    a = k0
    b = k0
    for d in range(fb.shape[0]):
        k = _key32(fb[d])
        a = min(a, k)
        b = max(b, k)
    return a, b


@nb.njit(cache=True, nogil=True)
def _bounds64(trow, k0):
    """The least and greatest key of ``trow`` (float64) and ``k0``."""
    tb = trow.view(np.int64)
    a = k0
    b = k0
    for d in range(tb.shape[0]):
        k = _key64(tb[d])
        a = min(a, k)
        b = max(b, k)
    return a, b


@nb.njit(cache=True, nogil=True)
def _windows(mn, mx, lo, hi, pref, suf):
    """Smallest run ``[lo_p, hi_p]`` of positions holding every row whose interval meets p's.

    ``lo_p`` is the first q with ``min_q <= max_p``: the running minimum ``pref`` of the
    mins is non-increasing, so the q with ``pref[q] <= max_p`` are the positions from
    ``lo_p`` on, and ``p - lo_p`` counts them among ``p - 1, p - 2, ...``; likewise
    ``hi_p - p`` counts the q after p with ``suf[q] >= min_p`` (``suf`` the running
    maximum of the maxes from the bottom). The counts run over offsets ``k = 1, 2, ...``
    for a block of rows at once (a vectorized loop per offset) until no row of the
    block gains: the per-row indicators are non-increasing in ``k``.
    """
    n = mn.shape[0]
    pref[0] = mn[0]
    for q in range(1, n):
        pref[q] = min(pref[q - 1], mn[q])
    suf[n - 1] = mx[n - 1]
    for q in range(n - 2, -1, -1):
        suf[q] = max(suf[q + 1], mx[q])
    B = 32
    for p0 in range(0, n, B):
        p1 = min(n, p0 + B)
        for p in range(p0, p1):
            lo[p] = p
            hi[p] = p
        k = 1
        while k <= p1 - 1:
            s = max(p0, k)
            L = lo[s:p1]
            X = mx[s:p1]
            P = pref[s - k:p1 - k]
            hit = 0
            for i in range(p1 - s):
                c = P[i] <= X[i]
                L[i] -= c
                hit += c
            if hit == 0:
                break
            k += 1
        k = 1
        while k <= n - 1 - p0:
            e = min(p1, n - k)
            H = hi[p0:e]
            M = mn[p0:e]
            S = suf[p0 + k:e + k]
            hit = 0
            for i in range(e - p0):
                c = S[i] >= M[i]
                H[i] += c
                hit += c
            if hit == 0:
                break
            k += 1


@nb.njit(cache=True, nogil=True)
def _count_above(T, p, a, b, cnt):
    """cnt[d] = #{q in [a, b) : T[q, d] > T[p, d]} (p itself never counts)."""
    sp = T[p]
    m = T.shape[1]
    for d in range(m):
        cnt[d] = 0
    q = a
    # four rows per pass: one load and store of the counters per four comparisons
    while q + 4 <= b:
        s1 = T[q]
        s2 = T[q + 1]
        s3 = T[q + 2]
        s4 = T[q + 3]
        for d in range(m):
            x = sp[d]
            cnt[d] += (np.int32(s1[d] > x) + np.int32(s2[d] > x) + np.int32(s3[d] > x)
                       + np.int32(s4[d] > x))
        q += 4
    while q < b:
        s1 = T[q]
        for d in range(m):
            cnt[d] += s1[d] > sp[d]
        q += 1


def _make_gt_bytes(rows):
    @intrinsic
    def gt_bytes(typingctx, F, cnt8, q, p, k):
        """``cnt8[k:k + 64] += #{i < rows : F[q + i, k:k + 64] > F[p, k:k + 64]}`` for a
        C-contiguous float32 ``F`` and uint8 ``cnt8``: four 16-lane compares joined
        into one 64-bit mask, then one byte subtraction of the mask — a quarter fewer
        instructions than widening each compare to 32-bit lanes."""
        if not (isinstance(F, types.Array) and F.dtype == types.float32 and F.ndim == 2
                and F.layout == "C" and isinstance(cnt8, types.Array)
                and cnt8.dtype == types.uint8 and cnt8.layout == "C"):
            return None
        sig = types.void(F, cnt8, q, p, k)

        def codegen(context, builder, signature, args):
            fa, ca, q, p, k = args
            fary = context.make_array(signature.args[0])(context, builder, fa)
            cary = context.make_array(signature.args[1])(context, builder, ca)
            i64 = ir.IntType(64)
            i32 = ir.IntType(32)
            stride = builder.extract_value(fary.strides, 0)
            f16 = ir.VectorType(ir.FloatType(), 16)
            b64 = ir.VectorType(ir.IntType(8), 64)
            base = builder.ptrtoint(fary.data, i64)

            def seg(r, j):
                col = builder.add(k, ir.Constant(i64, 16 * j))
                off = builder.add(builder.mul(r, stride),
                                  builder.mul(col, ir.Constant(i64, 4)))
                ptr = builder.inttoptr(builder.add(base, off), f16.as_pointer())
                return builder.load(ptr, align=4)

            sp = [seg(p, j) for j in range(4)]
            cptr = builder.bitcast(builder.gep(cary.data, [k]), b64.as_pointer())
            c = builder.load(cptr, align=1)
            cat32 = ir.Constant(ir.VectorType(i32, 32), list(range(32)))
            cat64 = ir.Constant(ir.VectorType(i32, 64), list(range(64)))
            for i in range(rows):
                r = builder.add(q, ir.Constant(i64, i))
                ms = [builder.fcmp_ordered(">", seg(r, j), sp[j]) for j in range(4)]
                m = builder.shuffle_vector(builder.shuffle_vector(ms[0], ms[1], cat32),
                                           builder.shuffle_vector(ms[2], ms[3], cat32),
                                           cat64)
                c = builder.sub(c, builder.sext(m, b64))      # true is -1: subtract
            builder.store(c, cptr, align=1)
            return context.get_dummy_value()

        return sig, codegen

    return gt_bytes


_gt_bytes4 = _make_gt_bytes(4)
_gt_bytes1 = _make_gt_bytes(1)


@nb.njit(cache=True, nogil=True)
def _count_bytes(F, p, a, b, c8):
    """:func:`_count_above` into byte counters (float32 rows, tiles of 64k draws,
    windows under 256 rows)."""
    tw = F.shape[1]
    for d in range(tw):
        c8[d] = 0
    for k in range(0, tw, 64):
        q = a
        while q + 4 <= b:
            _gt_bytes4(F, c8, q, p, k)
            q += 4
        while q < b:
            _gt_bytes1(F, c8, q, p, k)
            q += 1


def _count_row(X, p, a, b, cnt, c8):
    """Counts of rows in [a, b) above row p, into ``cnt`` (int32); returns whether
    ``c8`` holds them too (as bytes)."""


@overload(_count_row, jit_options={"cache": True, "nogil": True})
def _count_row_impl(X, p, a, b, cnt, c8):
    if X.dtype == types.float32:
        def impl(X, p, a, b, cnt, c8):
            tw = X.shape[1]
            if tw % 64 == 0 and b - a < 256:
                _count_bytes(X, p, a, b, c8)
                for d in range(tw):
                    cnt[d] = c8[d]
                return True
            _count_above(X, p, a, b, cnt)
            return False
    else:
        def impl(X, p, a, b, cnt, c8):
            _count_above(X, p, a, b, cnt)
            return False
    return impl


@intrinsic
def _count_eq64(typingctx, arr, start, v):
    """``#{d in [start, start + 64) : arr[d] == v}`` for a contiguous uint8 array: one
    64-byte compare into a bit mask and a popcount (``vpcmpeqb`` + ``popcnt`` on
    AVX-512; LLVM lowers the same IR for any other CPU)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.uint8
            and arr.layout == "C"):
        return None
    sig = types.int64(arr, start, v)

    def codegen(context, builder, signature, args):
        a, s, val = args
        ary = context.make_array(signature.args[0])(context, builder, a)
        i32 = ir.IntType(32)
        vec = ir.VectorType(ir.IntType(8), 64)
        one = builder.insert_element(ir.Constant(vec, None),
                                     builder.trunc(val, ir.IntType(8)), ir.Constant(i32, 0))
        splat = builder.shuffle_vector(one, ir.Constant(vec, None),
                                       ir.Constant(ir.VectorType(i32, 64), [0] * 64))
        ptr = builder.bitcast(builder.gep(ary.data, [s]), vec.as_pointer())
        bits = builder.bitcast(builder.icmp_unsigned("==", builder.load(ptr, align=1),
                                                     splat), ir.IntType(64))
        ctpop = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(ctpop, [bits])

    return sig, codegen


# Values of a row's counts over a tile above which single increments beat one
# compare-and-popcount pass per value (about 3 ns a value against 0.7 ns an increment).
_POP_VALUES = 32


@nb.njit(cache=True, nogil=True)
def _add_counts(hp, off, cnt, m, c8, packed):
    """``hp[off + cnt[d]] += 1`` for d < m. A full tile (a multiple of 64 draws) whose
    counts take few values is counted value by value — draws equal to v by one byte
    compare and a popcount per 64 draws — instead of one increment per draw. ``packed``:
    ``c8`` already holds the counts as bytes."""
    tw = cnt.shape[0]
    a = cnt[0]
    b = cnt[0]
    for d in range(tw):
        a = min(a, cnt[d])
        b = max(b, cnt[d])
    if m < tw or tw % 64 != 0 or b > 255 or b - a >= _POP_VALUES:
        for d in range(m):
            hp[off + cnt[d]] += 1
        return
    if not packed:
        for d in range(tw):
            c8[d] = np.uint8(cnt[d])
    left = tw
    for v in range(a, b + 1):
        k = 0
        for s in range(0, tw, 64):
            k += _count_eq64(c8, s, v)
        hp[off + v] += k
        left -= k
        if left == 0:
            break


@nb.njit(cache=True, nogil=True)
def _inversions(a, tmp):
    """Pairs i < j with a[i] > a[j], by a bottom-up merge sort (sorts ``a``)."""
    n = a.shape[0]
    src = a
    dst = tmp
    inv = 0
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if src[i] <= src[j]:
                    dst[k] = src[i]
                    i += 1
                else:
                    dst[k] = src[j]
                    j += 1
                    inv += mid - i
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
def _ranks_by_sort(T, m, R0, by_ent, RK, inv, do_kendall, vals, seq, tmp):
    """Ranks of every draw of the tile by sorting (for tiles whose windows are wide):
    draw order is scores descending, ties by entity number; 'min' ranks; with
    ``do_kendall`` the discordant pairs by merge-sort inversion counting."""
    n = T.shape[0]
    for d in range(m):
        for i in range(n):
            vals[i] = -T[by_ent[i], d]
        order = np.argsort(vals, kind="mergesort")   # stable: ties stay in entity order
        r = 0
        for i in range(n):
            k = order[i]
            if i == 0 or vals[k] != vals[order[i - 1]]:
                r = i + 1
            RK[by_ent[k], d] = r
            seq[i] = R0[by_ent[k]]
        if do_kendall:
            inv[d] = _inversions(seq, tmp)


@nb.njit(cache=True, nogil=True)
def _emit(rp, m, p, R0, ent, g, t, hist, absdev, sum_r, sum_r2, cross, ranks, dmap,
          do_hist, do_ranks):
    """Add row p's ranks ``rp[:m]`` in tile t to the per-draw sums, the rank counts and
    (``do_ranks``) the rank array."""
    r0 = R0[p]
    for d in range(m):
        r = np.int64(rp[d])
        sum_r[d] += r
        sum_r2[d] += r * r
        cross[d] += r * r0
        absdev[d] += abs(r - r0)
    if do_ranks:
        for d in range(m):
            ranks[dmap[t, d], g, ent[p]] = rp[d]
    if do_hist:
        hp = hist[p]
        for d in range(m):
            hp[rp[d] - 1] += 1


@nb.njit(cache=True, nogil=True)
def _scratch(n, tw, ent, s0):
    """Scratch arrays of one task (allocated once, reused for every tile)."""
    k032 = np.empty(n, dtype=np.int32)
    k064 = np.empty(n, dtype=np.int64)
    b32 = s0.astype(np.float32).view(np.int32)
    b64 = s0.view(np.int64)
    for p in range(n):
        k032[p] = _key32(b32[p])
        k064[p] = _key64(b64[p])
    return (np.empty(tw, dtype=np.int32), np.empty((n, tw), dtype=np.int32),
            np.empty((n, tw), dtype=np.float32), np.empty((4, tw), dtype=np.int32),
            np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32),
            np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32), k032,
            np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), k064,
            np.argsort(ent, kind="mergesort"), np.empty(n), np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64), np.empty(tw, dtype=np.uint8))


@nb.njit(cache=True, nogil=True)
def _flush(acc, st):
    """Add the int32 partial sums to the tile's int64 sums and clear them."""
    for j in range(4):
        a = acc[j]
        s = st[j]
        for d in range(a.shape[0]):
            s[d] += a[d]
            a[d] = 0


@nb.njit(cache=True, nogil=True)
def _exact_draw(T, F, d, lo, hi, R0, ent, g, t, hist, st, ranks, dmap, do_hist, do_ranks):
    """Rank draw ``d`` of the tile again from the float64 scores ``T`` (within the same
    windows), replacing the float32 ranks where they differ, and its sums."""
    n = T.shape[0]
    s_abs = 0
    s_r = 0
    s_r2 = 0
    s_x = 0
    for p in range(n):
        x = T[p, d]
        y = F[p, d]
        c64 = 0
        c32 = 0
        for q in range(lo[p], hi[p] + 1):
            c64 += T[q, d] > x
            c32 += F[q, d] > y
        r = np.int64(lo[p] + 1 + c64)
        if c32 != c64:
            if do_hist:
                hist[p, lo[p] + c32] -= 1
                hist[p, lo[p] + c64] += 1
            if do_ranks:
                ranks[dmap[t, d], g, ent[p]] = r
        r0 = R0[p]
        s_abs += abs(r - r0)
        s_r += r
        s_r2 += r * r
        s_x += r * r0
    st[0, d] = s_abs
    st[1, d] = s_r
    st[2, d] = s_r2
    st[3, d] = s_x


@nb.njit(cache=True, nogil=True)
def _window_ranks(X, T, m, lo, hi, R0, ent, g, t, hist, st, ranks, dmap, do_hist,
                  do_kendall, do_ranks, cnt, acc, squares, c8):
    """The window path of :func:`_rank_tile`: comparisons on ``X`` (the float32 or the
    float64 scores), Kendall's pairs on ``T`` (float64); sums added to ``st``."""
    # fused: ranks are base + cnt, added to the sums and rank counts as they come
    n = X.shape[0]
    tw = X.shape[1]
    inv = st[4]
    acc[:, :] = 0
    a_abs, a_r, a_r2, a_x = acc[0], acc[1], acc[2], acc[3]
    # per-draw sums in int32 (n * n per row at most), added to the int64 ones in time
    every = _I32_MAX // max(1, n * n)
    left = every
    for p in range(n):
        a = lo[p]
        packed = _count_row(X, p, a, hi[p] + 1, cnt, c8)
        base = np.int32(a + 1)
        r0 = np.int32(R0[p])
        if squares:
            for d in range(tw):
                r = base + cnt[d]
                a_r[d] += r
                a_r2[d] += r * r
                a_x[d] += r * r0
                a_abs[d] += abs(r - r0)
        else:
            for d in range(tw):
                r = base + cnt[d]
                a_r[d] += r
                a_x[d] += r * r0
                a_abs[d] += abs(r - r0)
        left -= 1
        if left == 0:
            _flush(acc, st)
            left = every
        if do_ranks:
            for d in range(m):
                ranks[dmap[t, d], g, ent[p]] = base + cnt[d]
        if do_hist:
            _add_counts(hist[p], base - 1, cnt, m, c8, packed)
        if do_kendall:
            # pairs (p, q > p) with nominal ranks R0_p < R0_q are discordant when q
            # comes first in the draw: scores above, or equal with the lower entity
            # number (the draw order breaks ties by entity, as a stable sort would)
            sp = T[p]
            for q in range(p + 1, hi[p] + 1):
                if R0[q] > r0:
                    sq = T[q]
                    if ent[q] < ent[p]:
                        for d in range(m):
                            inv[d] += sq[d] >= sp[d]
                    else:
                        for d in range(m):
                            inv[d] += sq[d] > sp[d]
    _flush(acc, st)


@nb.njit(cache=True, nogil=True)
def _rank_tile(T, m, R0, ent, g, t, hist, st, ranks, dmap, do_hist, do_kendall,
               do_ranks, mode, work):
    """Rank the rows of one tile ``T`` (rows, draws; the first ``m`` draws are real).

    Returns the number of draws ranked again in float64 (see the module notes).
    """
    (cnt, RK, F, acc, lo, hi, mn32, mx32, pref32, suf32, k032, mn64, mx64, pref64, suf64,
     k064, by_ent, vals, seq, tmp, c8) = work
    n = T.shape[0]
    st[:, :] = 0
    absdev, sum_r, sum_r2, cross, inv = st[0], st[1], st[2], st[3], st[4]
    use_sort = mode == 2
    f32 = mode == 0 or mode == 1
    if not use_sort:
        # bounds and windows over every column: padding only widens a window
        if f32:
            for p in range(n):
                mn32[p], mx32[p] = _bounds32(T[p], F[p], k032[p])
            _windows(mn32, mx32, lo, hi, pref32, suf32)
        else:
            for p in range(n):
                mn64[p], mx64[p] = _bounds64(T[p], k064[p])
            _windows(mn64, mx64, lo, hi, pref64, suf64)
        if mode == 0:
            # a sort costs about _SORT_COST window comparisons per row and log2(rows)
            width = 0
            for p in range(n):
                width += hi[p] - lo[p] + 1
            use_sort = width > _SORT_COST * n * max(1.0, np.log2(n))
    if use_sort:
        _ranks_by_sort(T, m, R0, by_ent, RK, inv, do_kendall, vals, seq, tmp)
        for p in range(n):
            _emit(RK[p], m, p, R0, ent, g, t, hist, absdev, sum_r, sum_r2, cross, ranks,
                  dmap, do_hist, do_ranks)
        return 0
    if f32:
        _window_ranks(F, T, m, lo, hi, R0, ent, g, t, hist, st, ranks, dmap, do_hist,
                      do_kendall, do_ranks, cnt, acc, False, c8)
    else:
        _window_ranks(T, T, m, lo, hi, R0, ent, g, t, hist, st, ranks, dmap, do_hist,
                      do_kendall, do_ranks, cnt, acc, True, c8)
    st[:, m:] = 0                       # padding draws: summed above, not reported
    redo = 0
    if f32:
        # 'min' ranks sum to n(n + 1)/2 only without ties: rank the others in float64
        # (and the squares of a permutation of 1..n sum to n(n + 1)(2n + 1)/6)
        full = n * (n + 1) // 2
        full2 = full * (2 * n + 1) // 3
        for d in range(m):
            if sum_r[d] != full:
                _exact_draw(T, F, d, lo, hi, R0, ent, g, t, hist, st, ranks, dmap,
                            do_hist, do_ranks)
                redo += 1
            else:
                sum_r2[d] = full2
    return redo


@nb.njit(cache=True, nogil=True)
def rank_group(S, ncol, s0, R0, ent, g, hist, stats, ranks, dmap, do_hist, do_kendall,
               do_ranks, mode):
    """Rank one group's rows in every draw of a block of tiles of given scores.

    The engine calls :func:`rank_tiles`, which scores each tile itself; this entry
    takes the scores as they are, so the tests can feed crafted ties and padding.

    Parameters
    ----------
    S : (tiles, rows, draws) float64
        Scores of the group's rows (nominal order) for each tile of draws.
    ncol : int
        Valid draws in the last tile (the rest of it is padding and is ignored).
    s0, R0, ent : (rows,)
        Nominal score (the order key, on the scale of ``S``), nominal rank and entity
        number of each row.
    g : int
        Group number (for ``ranks``).
    hist : (rows, entities) int32
        Counts of (row, rank - 1), added to.
    stats : (tiles, 5, draws) int64
        Per draw: sum |r - r0|, sum r, sum r^2, sum r * r0 and discordant pairs (set).
    ranks : (all draws, groups, entities) int32
        ``ranks[dmap[t, d], g, ent]`` receives the rank when ``do_ranks``.
    mode : int
        0 chooses per tile: float32 windows, or a sort of every draw when the windows
        are so wide (heavily overlapping score ranges) that comparing within them would
        cost more than sorting, and float64 windows for the rest of the call once a tile
        has needed many draws ranked again; 1 forces float32 windows, 2 sorting, 3
        float64 windows (for tests).

    Returns
    -------
    int
        The draws whose float32 ranks were checked and ranked again in float64.
    """
    nt, n, tw = S.shape
    work = _scratch(n, tw, ent, s0)
    cur = mode
    total = 0
    for t in range(nt):
        m = ncol if t == nt - 1 else tw
        redo = _rank_tile(S[t], m, R0, ent, g, t, hist, stats[t], ranks, dmap, do_hist,
                          do_kendall, do_ranks, cur, work)
        total += redo
        if cur == 0 and redo > _F64_AFTER:
            cur = 3
    return total


@nb.njit(cache=True, nogil=True)
def rank_tiles(A, Wt, altp, t0, t1, last_tile, ncol, mixed, s0, R0, ent, g, hist, stats,
               ranks, dmap, crow, dom, do_hist, do_kendall, do_ranks, mode):
    """Score and rank tiles ``t0..t1`` of one group: per tile one BLAS GEMM
    ``A[alt] @ Wt[t]`` into a buffer that stays in cache, then :func:`_rank_tile`.

    ``A`` (alternatives, rows, leaves); ``Wt`` (tiles, leaves, draws); ``altp`` the
    alternative of every (padded) draw, mixed within a tile only when ``mixed``;
    ``stats[t - t0]``, ``dmap[t]`` and ``mode`` as in :func:`rank_group`; ``crow`` the
    rows of the ``compare`` entities (-1 when missing from the group), whose pairwise
    counts of "scores above" are added to ``dom`` (k, k).
    """
    n = A.shape[1]
    tw = Wt.shape[2]
    work = _scratch(n, tw, ent, s0)
    T = np.empty((n, tw))
    tmp = np.empty((n, tw))
    k = crow.shape[0]
    cur = mode
    for t in range(t0, t1):
        a0 = altp[t * tw]
        if not mixed:
            np.dot(A[a0], Wt[t], T)
        else:
            for a in range(A.shape[0]):
                use = False
                for d in range(tw):
                    if altp[t * tw + d] == a:
                        use = True
                        break
                if not use:
                    continue
                np.dot(A[a], Wt[t], tmp)
                for p in range(n):
                    for d in range(tw):
                        if altp[t * tw + d] == a:
                            T[p, d] = tmp[p, d]
        m = ncol if t == last_tile else tw
        redo = _rank_tile(T, m, R0, ent, g, t, hist, stats[t - t0], ranks, dmap, do_hist,
                          do_kendall, do_ranks, cur, work)
        if cur == 0 and redo > _F64_AFTER:
            cur = 3
        for i in range(k):
            if crow[i] < 0:
                continue
            for j in range(k):
                if j == i or crow[j] < 0:
                    continue
                ri = T[crow[i]]
                rj = T[crow[j]]
                c = 0
                for d in range(m):
                    c += ri[d] > rj[d]
                dom[i, j] += c


@nb.njit(cache=True, nogil=True)
def hist_summary(hist, kth, top_k, total):
    """Per row of rank counts (parts, rows, ranks), summed over parts: mean rank, the
    ``kth`` (ascending, 1-based) order statistics as ranks, and the number of draws with
    rank <= ``top_k``. A row's scan stops once its counts reach ``total`` (the draws)."""
    P, n, R = hist.shape
    mean = np.zeros(n)
    q = np.zeros((kth.shape[0], n), dtype=np.int64)
    top = np.zeros(n, dtype=np.int64)
    for i in range(n):
        tot = 0
        s = 0
        j = 0
        for r in range(R):
            c = 0
            for k in range(P):
                c += hist[k, i, r]
            if c == 0:
                continue
            s += c * (r + 1)
            tot += c
            if r < top_k:
                top[i] = tot
            while j < kth.shape[0] and tot >= kth[j]:
                q[j, i] = r + 1
                j += 1
            if tot == total:
                break
        if tot > 0:
            mean[i] = s / tot
    return mean, q, top


@nb.njit(cache=True, nogil=True, error_model="numpy")
def draw_stats(ST, ndraw, n_g, mean0, ss0, n_tot, shift, rho, tau, do_kendall):
    """Per draw, from the integer sums of every group (ST: groups, tiles, 5, draws): the
    mean absolute rank shift over all cells, and Spearman's and Kendall's correlations
    with the nominal ranks averaged over the groups with at least two entities."""
    G, _, _, tw = ST.shape
    for i in range(ndraw):
        t = i // tw
        d = i - t * tw
        sabs = 0
        rs = 0.0
        ts = 0.0
        k = 0
        for g in range(G):
            st = ST[g, t]
            sabs += st[0, d]
            ng = n_g[g]
            if ng < 2:
                continue
            sr = float(st[1, d])
            ssr = st[2, d] - sr * sr / ng
            cov = st[3, d] - mean0[g] * sr
            rs += cov / np.sqrt(ssr * ss0[g])
            if do_kendall:
                ts += 1.0 - 4.0 * st[4, d] / (ng * (ng - 1.0))
            k += 1
        shift[i] = sabs / n_tot
        rho[i] = rs / k
        if do_kendall:
            tau[i] = ts / k


@nb.njit(cache=True, nogil=True)
def order_stats(S, kth, nbins):
    """Exact order statistics of every row of ``S`` (rows, n): ``out[j, i]`` is the
    ``kth[j]``-th smallest (1-based, ``kth`` ascending) value of row i.

    A counting pass puts the values in ``nbins`` equal-width bins between the row's
    min and max; ``floor((x - min) * scale)`` is non-decreasing in x, so the k-th
    smallest value is the right one among the values of the bin where the running
    count reaches k. A second pass collects the values of those (at most ``len(kth)``)
    bins, which are sorted. Three passes over the row in all, whatever ``len(kth)``.
    """
    rows, n = S.shape
    K = kth.shape[0]
    out = np.empty((K, rows))
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
                out[j, i] = lo
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
            out[j, i] = buf[start[slot[j]] + kth[j] - below[j] - 1]
    return out


@nb.njit(cache=True, nogil=True)
def renormalize(Lw, parent_pos, n_groups, out):
    """Local weights scaled so that every sibling group of each draw (row of ``Lw``) sums
    to one, into ``out`` (may be ``Lw``); ``parent_pos[j]`` is the group of node j. A
    group summing to zero or less (a removed node's children) keeps its weights."""
    D, M = Lw.shape
    den = np.empty(n_groups)
    for d in range(D):
        den[:] = 0.0
        for j in range(M):
            den[parent_pos[j]] += Lw[d, j]
        for g in range(n_groups):
            if den[g] <= 0.0:
                den[g] = 1.0
        for j in range(M):
            out[d, j] = Lw[d, j] / den[parent_pos[j]]
    return out


@nb.njit(cache=True, nogil=True)
def effective(Lw, paths):
    """Effective weight of every leaf in every draw: the product of the local weights
    on its path (``paths[i]``: node positions from the top; ``M`` pads with 1)."""
    D, M = Lw.shape
    L, depth = paths.shape
    W = np.empty((D, L))
    for d in range(D):
        for i in range(L):
            w = Lw[d, paths[i, 0]] if paths[i, 0] < M else 1.0
            for k in range(1, depth):
                j = paths[i, k]
                if j < M:
                    w *= Lw[d, j]
            W[d, i] = w
    return W
