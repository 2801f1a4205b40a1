"""Evaluate weight draws: exact ranks of every cell under every draw, summed as needed.

Cells are laid out group by group in nominal order; the compiled kernel
(:mod:`.kernel`) ranks each group's tiles of draws and keeps per cell the rank counts
over a band (:mod:`.bands`) and per draw integer sums (rank shifts, Spearman's and
Kendall's sums). Draws are processed in chunks (for the progress callback and to bound
the per-draw sums); pieces of each group's draws run on ``n_jobs`` threads, taken as
threads free up, never two of one group at once (the kernel releases the GIL; numba's
``parallel=True`` would double the compile time of the first call); tiles are fixed
runs of draws from draw 0 and every sum is an integer, so the numbers are the same
whatever the chunk size, the number of threads and the order the pieces run in.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from dtistat import _validate as v
from dtistat.errors import ParameterError
from dtistat.sensitivity import memory
from dtistat.sensitivity.bands import ROW_BYTES, Bands
from dtistat.sensitivity.context import Context
from dtistat.sensitivity.kernel import H0, TILE, rank_tiles

__all__ = ["Evaluation", "Layout", "chunk_draws", "evaluate", "layout"]

# Draws per chunk are rounded to this (so chunks are whole tiles).
BLOCK = 256
# Bytes of per-draw sums per chunk when the caller does not choose a chunk size.
_CHUNK_BYTES = 32_000_000
# Projected growth of the bands measured on the first tile of draws, for the up-front
# estimate: the spread of a cell's rank over all draws against over the first 64.
_GROWTH = 2.0
# Overflow list of each group: this many (row, rank) pairs per row of the group.
_OVF = 2
# Pieces each group's tiles of a chunk are cut into when several threads share them.
_PIECES = 4


@dataclass(frozen=True)
class Layout:
    """Cells in nominal order within each group: the row order of the engine."""

    gstart: np.ndarray      # (G + 1,) first row of each group
    ent: np.ndarray         # (n,) entity number of each row
    cell: np.ndarray        # (n,) flat cell g * NE + entity of each row
    R0: np.ndarray          # (n,) nominal rank
    A: np.ndarray           # leaves (log if geometric): group by group, (alternatives, L, n_g)

    @property
    def size(self) -> np.ndarray:
        """Group size of every row (the largest rank it can take)."""
        n_g = np.diff(self.gstart)
        return np.repeat(n_g, n_g)


@dataclass
class Evaluation:
    """What :func:`evaluate` accumulates over the draws."""

    bands: list[Bands] | None     # rank counts of each group's rows (layout order)
    layout: Layout
    rank_shift: np.ndarray        # (D,) mean |rank - nominal| over all cells
    spearman: np.ndarray          # (D,) mean over groups
    kendall: np.ndarray | None    # (D,)
    dominance: np.ndarray | None  # (G, k, k) draws with a above b
    ranks: np.ndarray | None      # (D, G, NE) when kept


def layout(ctx: Context) -> Layout:
    """Rows of the engine: valid cells by group, in nominal rank order (ties by entity)."""
    G, NE = ctx.G, ctx.NE
    cells = []
    for g in range(G):
        e = np.flatnonzero(ctx.valid[g])
        e = e[np.lexsort((e, ctx.nominal_ranks[g, e]))]
        cells.append(g * NE + e)
    starts = np.concatenate([[0], np.cumsum([len(c) for c in cells])])
    cell = np.concatenate(cells).astype(np.intp)
    return Layout(
        gstart=starts.astype(np.int64), ent=(cell % NE).astype(np.int64), cell=cell,
        R0=ctx.nominal_ranks.ravel()[cell].astype(np.int64),
        A=np.concatenate([np.stack([t[:, c] for t in ctx.TT]).ravel() for c in cells]),
    )


def chunk_draws(ctx: Context, chunk_size: int | None) -> int:
    """Draws per chunk: ``chunk_size`` rounded up to whole blocks."""
    if chunk_size is None:
        c = max(1, _CHUNK_BYTES // (40 * ctx.G))
    else:
        c = v.check_positive_int(chunk_size, "chunk_size")
    return int(math.ceil(c / BLOCK) * BLOCK)


def _fixed_bytes(ctx: Context, D: int, chunk: int, threads: int, keep_ranks: bool) -> int:
    """Bytes the engine allocates besides the rank counts."""
    n = int(ctx.valid.sum())
    n_max = int(ctx.valid.sum(axis=1).max())
    per_thread = TILE * n_max * 20 + n_max * 40 + 2**17        # tile, ranks, sort
    out = (len(ctx.TT) * len(ctx.leaf_names) * 8 + 40) * n      # leaves of each row
    out += 16 * _OVF * n                                        # overflow lists
    out += 40 * ctx.G * min(chunk, D) + 24 * D                  # per-draw sums
    if keep_ranks:
        out += 4 * D * ctx.G * ctx.NE
    return out + threads * per_thread + 100 * n                 # + the rank table


def _advice(ctx: Context, per_cell: float) -> str:
    per_group = per_cell * ctx.valid.sum() / ctx.G
    return (f"analyse fewer periods (or by-groups) at a time — each needs about "
            f"{memory.gib(per_group)} (periods=[...]) — or pass a larger max_memory")


def evaluate(
    ctx: Context, W: np.ndarray, alt: np.ndarray, *, chunk: int, histogram: bool = True,
    kendall: bool = False, compare: np.ndarray | None = None, keep_ranks: bool = False,
    progress: Callable[[int, int], None] | None = None, n_jobs: int = 1,
    max_memory: int | None = None,
) -> Evaluation:
    """Rank every draw; accumulate rank counts and per-draw statistics.

    ``W`` (draws, leaves) are effective weights, ``alt`` the alternative of each draw;
    ``compare`` entity numbers for the dominance counts; ``keep_ranks`` keeps every
    rank (for a few draws only). ``max_memory`` bounds what is allocated (bytes).
    """
    budget = memory.check_max_memory(max_memory)
    D = W.shape[0]
    threads = max(1, min(n_jobs, ctx.G))
    fixed = _fixed_bytes(ctx, D, chunk, threads, keep_ranks)
    memory.check(fixed, budget, f"{ctx.valid.sum():,} cells under {D:,} draws",
                 _advice(ctx, 100))
    lay = layout(ctx)
    G, NE = ctx.G, ctx.NE
    n_rows = len(lay.cell)
    k = 0 if compare is None else len(compare)
    crows = np.full((G, k), -1, dtype=np.int64)
    if k:
        pos = np.full(G * NE, -1, dtype=np.int64)
        pos[lay.cell] = np.arange(n_rows) - np.repeat(lay.gstart[:-1], np.diff(lay.gstart))
        crows = np.ascontiguousarray(pos.reshape(G, NE)[:, compare])
    bands = [Bands.empty(lay.R0[r0:r1], D, histogram)
             for r0, r1 in zip(lay.gstart[:-1], lay.gstart[1:])]
    state = _State(lay, bands, budget - fixed, D, kendall, keep_ranks,
                   np.zeros((G, k, k), dtype=np.int64), crows,
                   np.zeros((D, G, NE) if keep_ranks else (1, 1, 1), dtype=np.int32),
                   _advice(ctx, 0))
    shift, rho = np.empty(D), np.empty(D)
    tau = np.empty(D) if kendall else None
    n_g = np.diff(lay.gstart)
    mean0 = np.add.reduceat(lay.R0, lay.gstart[:-1]) / n_g
    ss0 = np.add.reduceat((lay.R0 - np.repeat(mean0, n_g)) ** 2, lay.gstart[:-1])
    W = np.ascontiguousarray(W, dtype=np.float64)
    alt = np.ascontiguousarray(alt, dtype=np.int64)
    n_tiles = -(-D // TILE)
    per_chunk = max(1, chunk // TILE)
    with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
        for c0 in range(0, n_tiles, per_chunk):
            c1 = min(n_tiles, c0 + per_chunk)
            d0, d1 = c0 * TILE, min(D, c1 * TILE)
            ST = state.run(W, alt, c0, c1, pool, threads)
            _draw_stats(ST, n_g, mean0, ss0, n_rows, shift[d0:d1], rho[d0:d1],
                        tau[d0:d1] if kendall else np.empty(0), kendall)
            if progress is not None:
                progress(d1, D)
    return Evaluation(
        bands=state.bands if histogram else None, layout=lay, rank_shift=shift,
        spearman=rho, kendall=tau, dominance=state.dom if k else None,
        ranks=state.ranks if keep_ranks else None)


class _State:
    """Rank counts, dominance counts and kept ranks carried from chunk to chunk."""

    def __init__(self, lay, bands, budget, D, kendall, keep_ranks, dom, crows, ranks,
                 advice):
        # budget: bytes left for the rank counts
        self.lay, self.bands, self.budget, self.D = lay, bands, budget, D
        self.kendall, self.keep_ranks = kendall, keep_ranks
        self.dom, self.crows, self.ranks, self.advice = dom, crows, ranks, advice
        self.counting = len(bands[0].lo) > 0
        self.first = True
        G = len(lay.gstart) - 1
        self.hstate = np.zeros((G, 2), dtype=np.int64)
        self.hstate[:, 0] = H0
        n_g = np.diff(lay.gstart)
        self.ovf = [np.zeros((_OVF * k if self.counting else 0, 2), dtype=np.int64)
                    for k in n_g]

    def run(self, W: np.ndarray, alt: np.ndarray, c0: int, c1: int, pool,
            threads: int) -> np.ndarray:
        """Tiles c0 .. c1 - 1 of every group, widening the bands until all fit;
        returns the per-draw integer sums (G, 5, draws). With several threads each
        group's tiles are cut into pieces that the threads take as they free up (no
        two at once of the same group: they share its counts)."""
        lay = self.lay
        G = len(lay.gstart) - 1
        ST = np.zeros((G, 5, min(self.D, c1 * TILE) - c0 * TILE), dtype=np.int64)
        order = np.argsort(-np.diff(lay.gstart), kind="stable")   # largest first
        step = c1 - c0 if threads == 1 else max(1, -(-(c1 - c0) // _PIECES))
        queue = deque((int(g), t, min(c1, t + step)) for t in range(c0, c1, step)
                      for g in order)
        busy: set[int] = set()
        cond = threading.Condition()
        errors: list[BaseException] = []
        n = len(lay.R0) if self.counting else 0
        need_lo = np.empty(n, dtype=np.int64)
        need_hi = np.empty(n, dtype=np.int64)
        L, na = W.shape[1], len(lay.A) // (W.shape[1] * len(lay.R0))

        def rank(g: int, ta: int, tb: int) -> int:
            r0, r1 = lay.gstart[g], lay.gstart[g + 1]
            b = self.bands[g]
            h0, h1 = (r0, r1) if self.counting else (0, 0)
            return rank_tiles(
                lay.A[na * L * r0:na * L * r1].reshape(na, L, r1 - r0), W, alt, g, ta, tb,
                lay.R0[r0:r1], lay.ent[r0:r1], b.lo, b.w, b.off, b.counts,
                need_lo[h0:h1], need_hi[h0:h1], self.ovf[g], self.hstate[g], ST[g],
                c0 * TILE, self.crows[g], self.dom[g], self.ranks, self.counting,
                self.kendall, self.keep_ranks)

        def take() -> tuple[int, int, int] | None:
            with cond:
                while not errors and (queue or busy):
                    for i, item in enumerate(queue):
                        if item[0] not in busy:
                            del queue[i]
                            busy.add(item[0])
                            return item
                    cond.wait()
                return None

        def worker() -> None:
            while (item := take()) is not None:
                g, ta, tb = item
                try:
                    stop = rank(g, ta, tb)
                    with cond:
                        if stop < tb or self.hstate[g, 1]:
                            self._widen(g, stop < tb, need_lo, need_hi)
                        if stop < tb:
                            queue.appendleft((g, stop, tb))
                except BaseException as exc:  # re-raised by the caller's thread
                    with cond:
                        errors.append(exc)
                finally:
                    with cond:
                        busy.discard(g)
                        cond.notify_all()

        if threads == 1:
            worker()
        else:
            for f in [pool.submit(worker) for _ in range(threads)]:
                f.result()
        if errors:
            raise errors[0]
        return ST

    def _widen(self, g: int, stopped: bool, need_lo: np.ndarray,
               need_hi: np.ndarray) -> None:
        """Widen the bands of group ``g`` to the ranks its overflow list and, when it
        ``stopped``, its last tile need, and fold the list into the counts (only this
        group's old and new counts coexist)."""
        lay = self.lay
        r0, r1 = lay.gstart[g], lay.gstart[g + 1]
        b = self.bands[g]
        if stopped:
            nl, nh = need_lo[r0:r1].copy(), need_hi[r0:r1].copy()
        else:
            nl, nh = b.lo.copy(), b.lo + b.w - 1
        used = self.ovf[g][:self.hstate[g, 1]]
        np.minimum.at(nl, used[:, 0], used[:, 1])
        np.maximum.at(nh, used[:, 0], used[:, 1])
        lo, w = b.widened(np.arange(r1 - r0), nl, nh, lay.size[r0:r1])
        nbytes = b.counts.itemsize * float(w.sum()) + ROW_BYTES * len(w)
        if self.first:
            # the first tile shows how far ranks move: project the bands of all groups
            # over all draws from this group's
            self.first = False
            what = (f"the rank counts of {len(lay.R0):,} cells (ranks move over about "
                    f"{w.mean():,.0f} places per cell in the first {TILE} draws)")
            _check_bands(_GROWTH * nbytes * len(lay.R0) / len(w), self.budget, what,
                         self.advice)
        total = sum(x.nbytes for x in self.bands)
        _check_bands(total + nbytes, self.budget,
                     f"the rank counts of {len(lay.R0):,} cells", self.advice)
        b = b.regrid(lo, w)
        np.add.at(b.counts, b.off[used[:, 0]] + used[:, 1] - b.lo[used[:, 0]], 1)
        self.hstate[g, 1] = 0
        self.bands[g] = b


def _check_bands(need: float, left: int, what: str, advice: str) -> None:
    if need > left:
        raise ParameterError(
            f"weight_sensitivity would need about {memory.gib(need)} more for {what}, "
            f"beyond max_memory ({memory.gib(max(left, 0))} left after the scores and "
            f"sums); {advice}")


def _draw_stats(ST, n_g, mean0, ss0, n_tot, shift, rho, tau, do_kendall):
    """Per draw, from the integer sums of every group (ST: groups, 5, draws): the mean
    absolute rank shift over all cells, and Spearman's and Kendall's correlations with
    the nominal ranks averaged over the groups with at least two entities (summed
    group by group in order: the same operations on every platform)."""
    shift[:] = ST[:, 0].sum(axis=0) / n_tot
    rs = np.zeros(ST.shape[2])
    ts = np.zeros(ST.shape[2])
    k = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for g in range(ST.shape[0]):
            ng = n_g[g]
            if ng < 2:
                continue
            sr = ST[g, 1].astype(np.float64)
            ssr = ST[g, 2] - sr * sr / ng
            cov = ST[g, 3] - mean0[g] * sr
            rs += cov / np.sqrt(ssr * ss0[g])
            if do_kendall:
                ts += 1.0 - 4.0 * ST[g, 4] / (ng * (ng - 1.0))
            k += 1
        rho[:] = rs / k
        if do_kendall:
            tau[:] = ts / k
