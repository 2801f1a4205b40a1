"""Grids, trimming rules, the sequential threshold estimation and its bootstrap F tests.

The steps follow Hansen (1999, J. Econometrics 93:345-368), as Stata ``xthreg``
(Wang 2015, Stata Journal 15(1):121-134) lays them out: the first threshold γ1 over the
grid; the second γ2 given γ1 and the refinement γ1 given γ2 (``xthreg``'s Th-21 and Th-22
rows); the third γ3 given both. Each F statistic compares the model with k thresholds
with the one with k - 1, ``F_k = (S_{k-1} - S_k) / σ²_k`` with ``σ²_k = S_k / (n (T-1))``
(n T - n residual rows), and is referred to a fixed-regressor residual bootstrap:
entities' residual vectors of the null model are drawn with replacement, added to its
fitted values, and the whole sequential search is run on every draw. Draws are processed
as one matrix of outcomes; draws that share the thresholds found at earlier stages share
the outcome-free part of the next stage's SSR path.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from dtistat.errors import DataError, EstimationError
from dtistat.threshold._core import Panel, base_design, search

__all__ = ["HANSEN_QN", "Grid", "bootstrap_F", "lr_constant", "make_grid", "sequential"]

#: Quantiles of the distinct threshold values in Hansen's (1999) program.
HANSEN_QN = 400
#: Working-set budget (bytes) of one chunk of bootstrap draws: a draw holds about eight
#: vectors of the panel's length at once (outcome, residuals, transforms, cumulative sums).
BOOT_BYTES = 64 * 2**20


def lr_constant(level: float) -> float:
    """Hansen's (1999, 2000) critical value of LR(γ): ``-2 ln(1 - sqrt(level))``.

    >>> round(lr_constant(0.95), 4)
    7.3523
    """
    return float(-2.0 * math.log(1.0 - math.sqrt(level)))


@dataclass(frozen=True)
class Grid:
    """Candidate thresholds and the trimming rule used at each stage.

    ``kind`` is ``"quantile"`` (``points`` evenly spaced quantiles of the threshold
    variable over the trimmed range; the two regimes a new threshold splits off each keep
    at least its ``trim`` share of the observations, whatever the size of the regimes
    it leaves alone) or ``"hansen"`` (Hansen's 400 quantiles of the distinct values;
    a new threshold may not lie within ``400 trim`` grid positions of one already fixed).
    """

    values: np.ndarray
    kind: str
    trims: tuple

    def allowed(self, panel: Panel, fixed: tuple, stage: int) -> np.ndarray:
        """Mask of the grid points open to the threshold of ``stage`` (1-based)."""
        trim = self.trims[stage - 1]
        g = self.values
        ok = np.ones(len(g), dtype=bool)
        if self.kind == "hansen":
            qnt = round(HANSEN_QN * trim)
            for r in fixed:
                nn = int(np.searchsorted(g, r, side="left"))
                # Hansen's GAUSS rule in 0-based positions: i in [nn - qnt - 1, nn + qnt - 1)
                ok[max(nn - qnt - 1, 0):max(nn + qnt - 1, 0)] = False
            return ok
        need = max(1, math.ceil(trim * panel.N))
        edges = np.concatenate([[0], np.sort(panel.cuts(np.asarray(fixed, dtype=float))),
                                [panel.N]])
        # a regime left by earlier, smaller trims may be below this trim: it is not split,
        # so it does not forbid splitting another one (a bootstrap draw of xthreg's
        # trim(0.01 0.01 0.05) on Hansen's data otherwise had no third threshold)
        c = panel.cuts(g)
        j = np.searchsorted(edges, c, side="left")      # c lies in (edges[j-1], edges[j]]
        j = np.clip(j, 1, len(edges) - 1)
        ok &= (c - edges[j - 1] >= need) & (edges[j] - c >= need)
        return ok


def make_grid(q: np.ndarray, grid, trims: tuple, name: str) -> Grid:
    """The candidate thresholds (see :class:`Grid`)."""
    trim = trims[0]
    dd = np.unique(q)
    if grid == "hansen":
        m = round(HANSEN_QN * (1 - 2 * trim))
        idx = np.floor((trim + np.arange(m) / HANSEN_QN) * len(dd)).astype(int) - 1
        if len(dd) < 3 or idx.min() < 0 or m < 1:
            raise DataError(f"threshold variable {name!r} has {len(dd)} distinct value(s): "
                            f"too few to trim {trim:g} of them on each side")
        return Grid(dd[idx], "hansen", trims)
    probs = trim + (1 - 2 * trim) * np.arange(grid) / max(grid - 1, 1)
    values = np.unique(np.quantile(q, probs, method="inverted_cdf"))
    if len(dd) < 3 or len(values) < 2:
        raise DataError(f"threshold variable {name!r} has {len(dd)} distinct value(s) "
                        f"inside the trimmed range: too few for a threshold search")
    return Grid(values, "quantile", trims)


@dataclass
class Stage:
    """One search: the threshold found, SSRs, and the path for the LR curve."""

    gamma: float
    ssr: float
    ssr_base: float
    path: np.ndarray      # SSR over the grid (inf where not admissible)


def _stage(panel: Panel, Y: np.ndarray, fixed: tuple, grid: Grid, stage: int,
           n_thresholds: int) -> tuple:
    allowed = grid.allowed(panel, fixed, stage)
    if not allowed.any():
        raise EstimationError(
            f"n_thresholds={n_thresholds}: no grid point is left for threshold {stage} "
            f"after trimming {grid.trims[stage - 1]:g} around the thresholds "
            f"{', '.join(f'{g:.6g}' for g in fixed)} (ask for fewer thresholds, a smaller "
            "trim or a finer grid)")
    best, ssr, path, s0 = search(panel, Y, fixed, grid.values, allowed)
    return best, ssr, path, s0


def sequential(panel: Panel, grid: Grid, n_thresholds: int) -> dict:
    """Hansen's sequential estimation on the data: stages keyed Th-1, Th-21, Th-22, Th-3."""
    y = panel.yw[:, None]
    out: dict = {}
    b, s, path, s0 = _stage(panel, y, (), grid, 1, n_thresholds)
    g1 = float(grid.values[b[0]])
    out["Th-1"] = Stage(g1, float(s[0]), float(s0[0]), path[:, 0])
    if n_thresholds >= 2:
        b, s, path, s0 = _stage(panel, y, (g1,), grid, 2, n_thresholds)
        g2 = float(grid.values[b[0]])
        out["Th-22"] = Stage(g2, float(s[0]), float(s0[0]), path[:, 0])
        b, s, path, s0 = _stage(panel, y, (g2,), grid, 2, n_thresholds)
        g1r = float(grid.values[b[0]])
        out["Th-21"] = Stage(g1r, float(s[0]), float(s0[0]), path[:, 0])
    if n_thresholds == 3:
        fixed = tuple(sorted((out["Th-21"].gamma, out["Th-22"].gamma)))
        b, s, path, s0 = _stage(panel, y, fixed, grid, 3, n_thresholds)
        out["Th-3"] = Stage(float(grid.values[b[0]]), float(s[0]), float(s0[0]), path[:, 0])
    return out


def null_fit(panel: Panel, fixed: tuple) -> tuple:
    """Fitted values and residuals (within scale) of the model with thresholds ``fixed``."""
    B = base_design(panel, fixed)
    coef, *_ = np.linalg.lstsq(B, panel.yw, rcond=None)
    fit = B @ coef
    return fit, panel.yw - fit


def _boot_chain(panel: Panel, Y: np.ndarray, grid: Grid, k: int) -> np.ndarray:
    """F statistics of test k on the bootstrap outcomes ``Y`` (N, nb)."""
    nb = Y.shape[1]
    best, s1, _, s0 = search(panel, Y, (), grid.values, grid.allowed(panel, (), 1))
    prev, cur = s0, s1
    fixed = [(float(grid.values[i]),) for i in best]
    for stage in range(2, k + 1):
        nxt = np.empty(nb)
        new_fixed = list(fixed)
        groups: dict = {}
        for j, f in enumerate(fixed):
            groups.setdefault(tuple(sorted(f)), []).append(j)
        for f, cols in groups.items():
            allowed = grid.allowed(panel, f, stage)
            if not allowed.any():
                raise EstimationError(f"bootstrap: no grid point is left for threshold "
                                      f"{stage} given {f}; use a smaller trim")
            b, s, _, _ = search(panel, Y[:, cols], f, grid.values, allowed)
            nxt[cols] = s
            for c, i in zip(cols, b):
                new_fixed[c] = f + (float(grid.values[i]),)
        prev, cur, fixed = cur, nxt, new_fixed
    return (prev - cur) / (cur / panel.sigma_df)


def bootstrap_F(panel: Panel, grid: Grid, k: int, fixed: tuple, n_boot: int,
                rng: np.random.Generator, n_jobs: int = 1) -> np.ndarray:
    """Bootstrap distribution of F_k under the model with the thresholds ``fixed``.

    Draws go in chunks of at most ``BOOT_BYTES`` of working memory (and at least
    ``n_jobs`` chunks, one per thread); each chunk's resampled entities are drawn from
    ``rng`` in chunk order before the threads start, which is the stream of one
    ``(n_boot × n)`` draw, so the result depends neither on ``n_jobs`` nor on the
    chunking.
    """
    if n_boot <= 0:
        return np.empty(0)
    fit, resid = null_fit(panel, fixed)
    R = resid.reshape(panel.n, panel.T)
    per = max(1, BOOT_BYTES // (8 * 8 * panel.N))
    n_chunks = max(min(n_jobs, n_boot), -(-n_boot // per))
    sizes = [len(c) for c in np.array_split(np.arange(n_boot), n_chunks)]

    def run(idx: np.ndarray) -> np.ndarray:
        E = R[idx].reshape(len(idx), -1).T          # N, nb
        if panel.twoway:  # resampled entities no longer sum to zero within a period:
            E = panel.tr(E)  # the period effects are estimated again on every draw
        return _boot_chain(panel, fit[:, None] + E, grid, k)

    out = []
    with ThreadPoolExecutor(max(1, n_jobs)) as ex:
        for w in range(0, len(sizes), max(1, n_jobs)):  # a wave of one chunk per thread
            draws = [rng.integers(0, panel.n, size=(nb, panel.n))
                     for nb in sizes[w:w + max(1, n_jobs)]]
            out.extend(ex.map(run, draws) if len(draws) > 1 else [run(draws[0])])
    return np.concatenate(out) if out else np.empty(0)


def boot_summary(F: float, draws: np.ndarray) -> tuple:
    """p-value (share of draws above F) and 10/5/1% critical values (Hansen's order stats)."""
    if draws.size == 0:
        return (np.nan,) * 4
    s = np.sort(draws)
    B = len(s)
    crit = [float(s[min(B - 1, math.ceil(a * B) - 1)]) for a in (0.90, 0.95, 0.99)]
    return (float(np.mean(draws > F)), *crit)
