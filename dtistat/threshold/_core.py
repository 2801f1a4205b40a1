"""SSR(γ) over a grid of candidate thresholds by cumulative sums, and the sequential search.

Hansen (1999) estimates each threshold by least squares: for every candidate γ the
within-transformed regression of y on the controls, the regime variables and the regime
variables switched on below γ is fitted and its sum of squared residuals SSR(γ) kept.
Fitting one regression per grid point (and per bootstrap draw) is what makes Stata's
``xthreg`` slow. Here the whole path comes from one pass over the rows sorted by the
threshold variable q, for a whole batch of outcomes at once.

Write the within transform as ``~`` and the base design (controls, regime variables and
the indicator columns of thresholds already fixed) as ``B``. Adding the column block
``W(γ) = Z * 1(q <= γ)`` to ``B~`` lowers the SSR by (Frisch-Waugh-Lovell)

    SSR(γ) = SSR_B - a(γ)' C(γ)^-1 a(γ),
    a(γ) = W(γ)' e_B,                                   (e_B: residuals on B~)
    C(γ) = W(γ)'W(γ) - Σ_i s_i(γ) s_i(γ)' / T - W(γ)'B~ (B~'B~)^-1 B~'W(γ),
    s_i(γ) = Σ_t z_it 1(q_it <= γ),

because ``e_B`` and ``B~`` are already demeaned within entities (so ``W~`` may be replaced
by ``W`` in the cross-products) and ``W~'W~ = W'W - Σ_i s_i s_i'/T`` in a balanced panel.
Every term is a cumulative sum over the rows sorted by q, read off where the grid cuts
the sorted rows; the per-entity part adds ``s_i z' + z s_i' + z z'`` as a row enters.
Only ``a(γ)`` depends on the outcome, so a batch of bootstrap outcomes costs one cumulative
sum of ``z * e`` per draw. Written by hand: no package computes panel threshold paths
this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtistat.errors import EstimationError

#: Bytes of base-design terms (an N × K basis per set of fixed thresholds) kept for
#: reuse; the bootstrap of a later threshold visits one base per distinct earlier
#: estimate, so a count limit alone let the cache grow with N × the grid.
DESIGN_CACHE_BYTES = 128 * 2**20

__all__ = ["Panel", "base_design", "search", "ssr_path", "within"]


def within(a: np.ndarray, n: int, T: int, twoway: bool = False) -> np.ndarray:
    """Entity-demeaned copy of ``a`` (rows ordered entity-major, T rows per entity);
    ``twoway``: also period-demeaned, ``a_it - a_i. - a_.t + a_..`` (balanced panel)."""
    shp = a.shape
    r = a.reshape(n, T, -1)
    out = r - r.mean(axis=1, keepdims=True)
    if twoway:
        out = out - out.mean(axis=0, keepdims=True)
    return out.reshape(shp)


@dataclass
class Panel:
    """Arrays of a balanced panel in entity-major order, with what the search reuses.

    Attributes
    ----------
    y, X, Z, q : ndarray
        Outcome (N,), controls (N, kx), regime variables (N, p), threshold variable (N,).
    n, T : int
        Entities and periods (N = n T).
    yw, Xw, Zw : ndarray
        Their within transforms.
    order : ndarray
        Row order sorting ``q`` (stable).
    qs : ndarray
        ``q[order]``.
    """

    y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    q: np.ndarray
    n: int
    T: int
    delete_last: bool = False
    twoway: bool = False

    def __post_init__(self) -> None:
        if self.twoway and self.delete_last:
            raise ValueError("time effects and Hansen's deleted period do not combine")
        # Hansen (1999) deletes one period per entity after demeaning (the demeaned errors
        # of an entity sum to zero); deleted rows are kept as zero rows so that every
        # array stays entity-major with T rows per entity
        self.keep = np.ones(self.n * self.T)
        if self.delete_last:
            self.keep.reshape(self.n, self.T)[:, -1] = 0.0
        self.m = self.T - int(self.delete_last)
        self.yw = self.tr(self.y) * self.keep
        self.Xw = self.tr(self.X) * self.keep[:, None]
        self.Zw = self.tr(self.Z) * self.keep[:, None]
        self.order = np.argsort(self.q, kind="stable")
        self.qs = self.q[self.order]
        self.entity = np.repeat(np.arange(self.n), self.T)
        self._design_cache: dict = {}
        self._design_bytes = 0
        self._ww_cum = None

    def tr(self, a: np.ndarray) -> np.ndarray:
        """The fixed-effects transform: entity demeaning (and period demeaning if twoway)."""
        return within(a, self.n, self.T, self.twoway)

    def entity_adjust(self, a: np.ndarray) -> np.ndarray:
        """``a`` minus its entity sums over T (zero change unless a period is deleted)."""
        if not self.delete_last:
            return a
        r = a.reshape(self.n, self.T, -1)
        return (r - r.sum(axis=1, keepdims=True) / self.T).reshape(a.shape)

    @property
    def N(self) -> int:
        return self.n * self.T

    @property
    def sigma_df(self) -> int:
        """n (T - 1), the divisor of Hansen's (1999) σ² = S / (n (T - 1))."""
        return self.n * (self.T - 1)

    def cuts(self, gammas: np.ndarray) -> np.ndarray:
        """Number of rows with q <= γ for each γ."""
        return np.searchsorted(self.qs, gammas, side="right")

    def indicator_block(self, gamma: float) -> np.ndarray:
        """``Z * 1(q <= γ)`` (untransformed)."""
        return self.Z * (self.q <= gamma)[:, None]

    def ww_at(self, cuts: np.ndarray) -> np.ndarray:
        """W~(γ)'W~(γ) at each cut (it does not depend on the base design)."""
        if self._ww_cum is None:
            self._ww_cum = np.cumsum(_ww_increments(self), axis=0)
        return _prefix_at(self._ww_cum, cuts)

    def design_terms(self, fixed: tuple, cuts: np.ndarray):
        """Outcome-free pieces of SSR(γ) given the fixed thresholds (cached)."""
        key = (fixed, cuts.tobytes())
        hit = self._design_cache.get(key)
        if hit is None:
            hit = _design_terms(self, base_design(self, fixed), cuts)
            size = sum(a.nbytes for a in hit)
            cache = self._design_cache  # oldest first out, by bytes (a recompute is exact)
            while cache and self._design_bytes + size > DESIGN_CACHE_BYTES:
                old = cache.pop(next(iter(cache)))
                self._design_bytes -= sum(a.nbytes for a in old)
            if size <= DESIGN_CACHE_BYTES:
                cache[key] = hit
                self._design_bytes += size
        return hit


def base_design(panel: Panel, fixed: tuple) -> np.ndarray:
    """Within-transformed base design: controls, regime variables, fixed indicator blocks."""
    cols = [panel.Xw, panel.Zw]
    for g in sorted(fixed):
        cols.append(panel.tr(panel.indicator_block(g)) * panel.keep[:, None])
    return np.concatenate(cols, axis=1)


def _prefix_at(cum: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Cumulative sums (rows) evaluated at the cut counts (0 -> zeros)."""
    out = np.zeros((len(cuts),) + cum.shape[1:])
    pos = cuts > 0
    out[pos] = cum[cuts[pos] - 1]
    return out


def _orthonormal(B: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of B by Cholesky QR, twice (CholeskyQR2).

    Only Gram matrices and K x K factors: LAPACK's Householder QR of a tall matrix is
    100x slower under a busy multithreaded BLAS, and two Cholesky passes on equilibrated
    columns give an orthonormal basis to machine precision for any design that is not
    near-singular (condition number below about 1e7).
    """
    scale = np.sqrt(np.einsum("ij,ij->j", B, B))
    scale[scale == 0] = 1.0
    Q = B / scale
    for _ in range(2):
        try:
            R = np.linalg.cholesky(Q.T @ Q).T
        except np.linalg.LinAlgError:
            raise EstimationError("the base design is singular (collinear regressors)") from None
        Q = Q @ np.linalg.inv(R)
    return Q


def _entity_prefix(Zs: np.ndarray, ent: np.ndarray, n: int) -> np.ndarray:
    """For each row (in the given order), the sum of ``Zs`` over earlier rows of its entity."""
    by_ent = np.argsort(ent, kind="stable")
    zc = np.cumsum(Zs[by_ent], axis=0)
    starts = np.searchsorted(ent[by_ent], np.arange(n))
    before = np.where(starts[:, None] > 0, zc[np.maximum(starts - 1, 0)], 0.0)
    incl = np.empty_like(Zs)
    incl[by_ent] = zc - before[ent[by_ent]]
    return incl - Zs


def _ww_increments(panel: Panel) -> np.ndarray:
    """Change of W~'W~ (kept rows) as each row, in q order, enters the lower regime."""
    o = panel.order
    Zs = panel.Z[o]
    ks = panel.keep[o][:, None]
    ent = panel.entity[o]
    # per-entity sums of z (all rows: s_i) and of kept z (u_i) over the rows already
    # entered (the totals at a cut do not depend on the order of tied rows)
    s_prev = _entity_prefix(Zs, ent, panel.n)
    u_prev = _entity_prefix(Zs * ks, ent, panel.n)
    zz = Zs[:, :, None] * Zs[:, None, :]
    # W~'W~ over kept rows = sum k zz' - (1/T) sum_i (s u' + u s') + (m/T^2) sum_i s s'
    d_su = s_prev[:, :, None] * (ks * Zs)[:, None, :] + Zs[:, :, None] * u_prev[:, None, :] \
        + ks[:, :, None] * zz
    d_ss = s_prev[:, :, None] * Zs[:, None, :]
    d_ss = d_ss + np.swapaxes(d_ss, 1, 2) + zz
    out = ks[:, :, None] * zz - (d_su + np.swapaxes(d_su, 1, 2)) / panel.T \
        + panel.m / panel.T ** 2 * d_ss
    if panel.twoway:  # M = I - P_entity - P_period + P_mean (balanced): subtract the
        # period sums' and add the grand sum's outer-product increments
        per = np.arange(panel.N)[o] % panel.T
        out -= _outer_increment(_entity_prefix(Zs, per, panel.T), Zs) / panel.n
        grand = np.cumsum(Zs, axis=0) - Zs
        out += _outer_increment(grand, Zs) / panel.N
    return out


def _outer_increment(prev: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Change of ``s s'`` when ``z`` is added to a running sum ``s`` that was ``prev``."""
    d = prev[:, :, None] * z[:, None, :]
    return d + np.swapaxes(d, 1, 2) + z[:, :, None] * z[:, None, :]


def _design_terms(panel: Panel, B: np.ndarray, cuts: np.ndarray):
    """Orthonormal basis Q of the base, C(γ)^-1 at every cut, and which cuts are estimable.

    With Q orthonormal, ``W~'B~ (B~'B~)^-1 B~'W~ = (W~'Q)(Q'W~)``: no inverse of B~'B~.
    """
    Q = _orthonormal(B)
    Qs = panel.entity_adjust(Q)[panel.order]
    Zs = panel.Z[panel.order]
    WW = panel.ww_at(cuts)
    WQ = _prefix_at(np.cumsum(Zs[:, :, None] * Qs[:, None, :], axis=0), cuts)
    C = WW - WQ @ np.swapaxes(WQ, 1, 2)
    C = 0.5 * (C + np.swapaxes(C, 1, 2))
    # a candidate whose added block is (numerically) not of full rank beyond the base
    # cannot be estimated: an empty regime, a regime with fewer rows than regime
    # variables, or a γ equal to a fixed threshold
    scale = np.einsum("gii->g", WW)
    ok = np.linalg.eigvalsh(C)[:, 0] > 1e-9 * np.maximum(scale, 1e-300)
    Cinv = np.full_like(C, np.nan)
    if ok.any():
        Cinv[ok] = np.linalg.inv(C[ok])
    return Q, Cinv, ok


def ssr_path(panel: Panel, Y: np.ndarray, fixed: tuple, cuts: np.ndarray) -> tuple:
    """SSR at every cut for a batch of within-transformed outcomes.

    Parameters
    ----------
    panel : Panel
    Y : ndarray (N, nb)
        Within-transformed outcomes (columns: the data, or bootstrap draws).
    fixed : tuple of float
        Thresholds already in the model.
    cuts : ndarray (G,)
        ``panel.cuts(grid)``.

    Returns
    -------
    ssr : ndarray (G, nb)
        ``inf`` where the candidate is not estimable.
    ssr_base : ndarray (nb,)
        SSR of the base model (the fixed thresholds only).
    """
    Q, Cinv, ok = panel.design_terms(tuple(sorted(fixed)), cuts)
    E = Y - Q @ (Q.T @ Y)
    s0 = np.einsum("ij,ij->j", E, E)
    Zs = panel.Z[panel.order]
    Es = panel.entity_adjust(E)[panel.order]
    a = np.stack([_prefix_at(np.cumsum(Zs[:, [j]] * Es, axis=0), cuts)
                  for j in range(Zs.shape[1])], axis=1)          # G, p, nb
    a = a[ok]
    gain = np.einsum("gpb,gpb->gb", a, Cinv[ok] @ a)
    ssr = np.full((len(cuts), Y.shape[1]), np.inf)
    ssr[ok] = s0[None, :] - gain
    return ssr, s0


def search(panel: Panel, Y: np.ndarray, fixed: tuple, grid: np.ndarray,
           allowed: np.ndarray) -> tuple:
    """Best new threshold given ``fixed``, for each column of ``Y``.

    Returns (index into grid, SSR at the best point, SSR path (G, nb), base SSR).
    ``allowed`` masks grid points the trimming rules leave open.
    """
    ssr, s0 = ssr_path(panel, Y, fixed, panel.cuts(grid))
    ssr = np.where(allowed[:, None], ssr, np.inf)
    if not np.isfinite(ssr).any(axis=0).all():
        raise EstimationError("no admissible threshold is left on the grid after trimming "
                              "(fewer thresholds, a smaller trim or a finer grid)")
    best = np.argmin(ssr, axis=0)
    return best, ssr[best, np.arange(ssr.shape[1])], ssr, s0
