"""Rank counts per cell over a band of ranks that widens only when a draw leaves it.

Each cell (an entity in a period × ``by`` group) counts its ranks over ``[lo, lo + w)``.
The counts are exact, so the rank quantiles, the mean rank and P(top k) read from
them are exact; their memory is the sum of the band widths — about cells × the spread
of a cell's rank over the draws — instead of cells × entities for full rank counts.
Bands start empty: the first tile of draws shows how far ranks move, and a band
widens (with a margin, so it rarely widens again) when a later tile leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Bands", "summarize"]

# Margin added on the side where a band overflowed, as a share of its new width: a
# wider margin means fewer re-runs of a tile, a narrower one less memory.
_MARGIN = 0.25
# Bytes per cell besides its counts: lo, w and off (int64 each).
ROW_BYTES = 24
# Counts moved or summarized per step.
_COPY_BLOCK = 1 << 18


@dataclass
class Bands:
    """Bands and counts of every row (cells in the engine's row order)."""

    lo: np.ndarray        # (rows,) int64: first rank of the band
    w: np.ndarray         # (rows,) int64: width (0: nothing counted yet)
    off: np.ndarray       # (rows,) int64: where the band starts in ``counts``
    counts: np.ndarray    # uint16 when there are fewer than 65,536 draws, else int32

    @classmethod
    def empty(cls, R0: np.ndarray, draws: int, counting: bool = True) -> Bands:
        """Empty bands at the nominal ranks (or none at all when not counting); counts
        of ``draws`` draws fit 16 bits below 65,536 draws (half the memory)."""
        n = len(R0) if counting else 0
        z = np.zeros(n, dtype=np.int64)
        dtype = np.uint16 if draws < 2**16 else np.int32
        return cls(R0[:n].astype(np.int64), z, z.copy(), np.zeros(0, dtype=dtype))

    def widened(self, rows: np.ndarray, need_lo: np.ndarray, need_hi: np.ndarray,
                size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New (lo, w) of every row: rows ``rows`` cover ``need_lo .. need_hi`` plus a
        margin where they grew, within ranks ``1 .. size`` (the row's group size)."""
        lo, w = self.lo.copy(), self.w.copy()
        nl, nh = need_lo[rows], need_hi[rows]
        olo, ohi = lo[rows], lo[rows] + w[rows] - 1
        empty = w[rows] == 0
        grow_lo = empty | (nl < olo)
        grow_hi = empty | (nh > ohi)
        pad = np.ceil(_MARGIN * (nh - nl + 1)).astype(np.int64)
        new_lo = np.where(grow_lo, np.maximum(1, nl - pad), olo)
        new_hi = np.where(grow_hi, np.minimum(size[rows], nh + pad), ohi)
        lo[rows] = new_lo
        w[rows] = new_hi - new_lo + 1
        return lo, w

    def regrid(self, lo: np.ndarray, w: np.ndarray) -> Bands:
        """The same counts on the bands (lo, w), which contain the current ones."""
        off = np.zeros(len(w), dtype=np.int64)
        np.cumsum(w[:-1], out=off[1:])
        counts = np.zeros(int(w.sum()), dtype=self.counts.dtype)
        # count i of row p (off_old <= i < off_old + w_old) moves by off - off_old +
        # lo_old - lo; by blocks of rows, so the index arrays stay small beside the counts
        shift = off - self.off + self.lo - lo
        ends = self.off + self.w
        p0, n = 0, len(w)
        while p0 < n:
            p1 = max(p0 + 1, int(np.searchsorted(ends, self.off[p0] + _COPY_BLOCK,
                                                 side="right")))
            a, b = self.off[p0], ends[p1 - 1]
            counts[np.arange(a, b) + np.repeat(shift[p0:p1], self.w[p0:p1])] = self.counts[a:b]
            p0 = p1
        return Bands(lo, w, off, counts)

    @property
    def nbytes(self) -> int:
        return self.counts.nbytes + ROW_BYTES * len(self.lo)


def summarize(lo: np.ndarray, w: np.ndarray, off: np.ndarray, counts: np.ndarray,
              kth: np.ndarray, top_k: int,
              total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: mean rank, the ``kth`` (ascending, 1-based) order statistics of its
    ranks (0 when it has fewer counts) and the number of draws with rank <= ``top_k``
    — integer running sums over the rows' counts, a block of rows at a time."""
    n = len(lo)
    mean = np.zeros(n)
    q = np.zeros((len(kth), n), dtype=np.int64)
    top = np.zeros(n, dtype=np.int64)
    ends = off + w
    p0 = 0
    while p0 < n:
        p1 = max(p0 + 1, int(np.searchsorted(ends, off[p0] + _COPY_BLOCK, side="right")))
        a, b = off[p0], ends[p1 - 1]
        rows = np.arange(p0, p1)
        c = counts[a:b].astype(np.int64)
        rank = np.repeat(lo[rows] - off[rows] + a, w[rows]) + np.arange(b - a)
        cum = np.concatenate([[0], np.cumsum(c)])          # counts before each position
        csum = np.concatenate([[0], np.cumsum(c * rank)])
        o, e = off[rows] - a, ends[rows] - a
        tot = cum[e] - cum[o]
        mean[rows] = np.where(tot > 0, (csum[e] - csum[o]) / total, 0.0)
        top[rows] = cum[o + np.clip(top_k - lo[rows] + 1, 0, w[rows])] - cum[o]
        for j, k in enumerate(kth):
            i = np.searchsorted(cum, cum[o] + k) - 1          # first position reaching k
            q[j, rows] = np.where(tot >= k, lo[rows] + i - o, 0)
        p0 = p1
    return mean, q, top
