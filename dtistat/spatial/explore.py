"""Exploratory spatial statistics: global Moran's I and Geary's C (by period), LISA, Gi*.

Formulas and inference follow Cliff & Ord (1981) and PySAL ``esda`` (Rey & Anselin
2007), whose conventions are kept so that numbers agree: Moran's I and Geary's C with
normal and randomization moments and permutation p-values; local Moran (Anselin 1995)
and Getis-Ord Gi* (Getis & Ord 1992; Ord & Getis 1995) with conditional permutation
(each unit's own value held fixed, its neighbours drawn from the other n - 1).

Permutation inference is batched: one permutation matrix (``n_perm`` x n) is drawn
once and shared by every period; the permuted statistics of all periods come from one
sparse (or dense) matrix product per block of permutations, never a loop per draw.

p-values (``alternative=``): ``"two-sided"`` (default; normal p doubled, permutation
p = 2 x the smaller tail, capped at 1), ``"greater"``, ``"less"``, or ``"directed"``
(esda's pseudo p-value: the tail on the observed side, ``(min(#>=, n_perm - #>=) + 1) /
(n_perm + 1)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit
from scipy import stats

from dtistat._periods import check_time_types
from dtistat._results import Result, Summary
from dtistat._scale import column_scale, is_constant
from dtistat._validate import (
    check_choice,
    check_columns,
    check_floats,
    check_frame,
    check_keys,
    check_positive_int,
    check_seed,
    check_unique_keys,
)
from dtistat.errors import DataError, ParameterError
from dtistat.spatial.weights import SpatialWeights, as_weights

__all__ = [
    "QUADRANTS",
    "LocalResult",
    "MoranResult",
    "geary",
    "getis_ord",
    "local_moran",
    "moran",
]

#: Local Moran quadrant codes (esda's ``q``): 1 HH, 2 LH, 3 LL, 4 HL.
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
_ALTERNATIVES = ("two-sided", "greater", "less", "directed")
_BLOCK = 1024  # permutations per matrix product (bounds memory at n x T x 1024 floats)


# ------------------------------------------------------------------------- helpers
def _w_moments(W) -> tuple[float, float, float]:
    """S0, S1, S2 of Cliff & Ord."""
    s0 = float(W.sum())
    ws = W + W.T
    s1 = 0.5 * float(ws.multiply(ws).sum())
    rs = np.asarray(W.sum(axis=1)).ravel()
    cs = np.asarray(W.sum(axis=0)).ravel()
    s2 = float(((rs + cs) ** 2).sum())
    return s0, s1, s2


def _normal_p(z: np.ndarray, alternative: str) -> np.ndarray:
    if alternative == "greater":
        return stats.norm.sf(z)
    if alternative == "less":
        return stats.norm.cdf(z)
    one = np.where(z > 0, stats.norm.sf(z), stats.norm.cdf(z))
    return one if alternative == "directed" else np.minimum(1.0, 2 * one)


def _perm_p(obs: np.ndarray, sims: np.ndarray, alternative: str) -> np.ndarray:
    """Permutation p-values; ``sims`` has the draws on the last axis."""
    P = sims.shape[-1]
    ge = (sims >= obs[..., None]).sum(-1)
    le = (sims <= obs[..., None]).sum(-1)
    if alternative == "greater":
        return (ge + 1.0) / (P + 1.0)
    if alternative == "less":
        return (le + 1.0) / (P + 1.0)
    folded = (np.minimum(ge, P - ge) + 1.0) / (P + 1.0)
    return folded if alternative == "directed" else np.minimum(1.0, 2 * folded)


def _permutations(rng: np.random.Generator, n: int, n_perm: int) -> np.ndarray:
    """``n_perm`` uniform random permutations of 0..n-1 (rows), reproducible from ``rng``."""
    return _fisher_yates(int(rng.integers(2 ** 62)), n_perm, n)


@njit(cache=True)
def _fisher_yates(seed, n_perm, n):  # pragma: no cover - compiled
    # numba's own generator, seeded from the caller's numpy Generator: same seed, same
    # permutations; several times faster than Generator.permuted row by row
    np.random.seed(seed)
    out = np.empty((n_perm, n), dtype=np.int32)
    for p in range(n_perm):
        for i in range(n):
            out[p, i] = i
        for i in range(n - 1, 0, -1):
            # floor(u (i + 1)) with a 53-bit uniform: bias below n / 2^53
            j = int(np.random.random() * (i + 1))
            tmp = out[p, i]
            out[p, i] = out[p, j]
            out[p, j] = tmp
    return out


@njit(cache=True)
def _quad_sparse(Y, rows, cols, vals, perms, lin):  # pragma: no cover - compiled
    """For each permutation p and column t: sum_k w_k y[p[r_k], t] y[p[c_k], t] and
    sum_i lin_i y[p[i], t]^2 -- one pass over the nonzeros, no temporaries."""
    P, n = perms.shape
    T = Y.shape[1]
    quad = np.zeros((T, P))
    sq = np.zeros((T, P))
    acc = np.empty(T)
    for p in range(P):
        acc[:] = 0.0
        for k in range(vals.shape[0]):
            a = perms[p, rows[k]]
            b = perms[p, cols[k]]
            w = vals[k]
            for t in range(T):
                acc[t] += w * Y[a, t] * Y[b, t]
        quad[:, p] = acc
        if lin.shape[0] > 0:
            acc[:] = 0.0
            for i in range(n):
                a = perms[p, i]
                for t in range(T):
                    acc[t] += lin[i] * Y[a, t] * Y[a, t]
            sq[:, p] = acc
    return quad, sq


def _quad_forms(W, Y: np.ndarray, perms: np.ndarray, lin: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """``y_p' W y_p`` (and ``sum_i lin_i y_p,i^2``) for every permutation p and column of Y."""
    n, T = Y.shape
    if W.nnz <= 0.05 * n * n:
        # y'Wy = sum_{i<j} (w_ij + w_ji) y_i y_j: half the pairs of a symmetric pattern
        coo = sp.triu(W + W.T, k=1).tocoo()
        quad, sq = _quad_sparse(np.ascontiguousarray(Y, dtype=float), coo.row.astype(np.int64),
                                coo.col.astype(np.int64), coo.data.astype(float), perms,
                                np.zeros(0) if lin is None else np.asarray(lin, dtype=float))
        return quad, (None if lin is None else sq)
    quad = np.empty((T, perms.shape[0]))
    sq = None if lin is None else np.empty((T, perms.shape[0]))
    Wd = W.toarray()
    for s in range(0, perms.shape[0], _BLOCK):
        p = perms[s:s + _BLOCK]
        X = Y[p.T].reshape(n, -1)               # n x (B*T): column b*T + t is y_t permuted by p_b
        WX = Wd @ X
        quad[:, s:s + _BLOCK] = (X * WX).sum(0).reshape(p.shape[0], T).T
        if lin is not None:
            sq[:, s:s + _BLOCK] = (lin @ (X * X)).reshape(p.shape[0], T).T
    return quad, sq


# ------------------------------------------------------------------------- global
@dataclass(frozen=True, eq=False, repr=False)
class MoranResult(Result):
    """Global Moran's I or Geary's C, one row per period (``table``).

    ``table`` columns: ``statistic``, ``expected``, ``var_norm``, ``var_rand``,
    ``z_norm``, ``z_rand``, ``p_norm``, ``p_rand`` and, with permutations, ``p_sim``,
    ``mean_sim``, ``sd_sim``, ``z_sim``. ``alternative`` says which p-values they are.
    """

    table: pd.DataFrame
    statistic_name: str
    alternative: str
    permutations: int
    n: int

    @property
    def I(self) -> float:  # noqa: E743 - the statistic's name in the literature
        """The statistic of the first (or only) period."""
        return float(self.table["statistic"].iloc[0])

    def __getattr__(self, name: str) -> Any:
        # single-period convenience: res.p_norm, res.z_rand ... (first row)
        if name in ("table",) or name.startswith("_"):
            raise AttributeError(name)
        t = object.__getattribute__(self, "table")
        if name in t.columns:
            return float(t[name].iloc[0])
        raise AttributeError(name)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        return Summary(f"{self.statistic_name} (n = {self.n})", self.table,
                       header=[("alternative", self.alternative),
                               ("permutations", self.permutations)])

    def _headline(self) -> list[str]:
        t = self.table
        return [self.statistic_name, f"periods={len(t)}",
                f"first={t['statistic'].iloc[0]:.4f}"]


def _prepare(y: Any, w: Any, data, entity, time):
    """Return (Y n x T, W, period labels, entity labels)."""
    if data is None:
        Y = check_floats(y, "y (n, or n x T, or a column name with data=)")
        if Y.ndim not in (1, 2):
            raise DataError(f"y must be n values (or n x T), or a column name with data=; "
                            f"got shape {Y.shape}")
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        W = as_weights(w)
        if Y.shape[0] != W.n:
            raise DataError(f"y has {Y.shape[0]} values but W has {W.n} entities")
        if not np.isfinite(Y).all():
            i = int(np.flatnonzero(~np.isfinite(Y).all(1))[0])
            raise DataError(f"y has NaN for entity {W.ids[i]!r}")
        return Y, W, pd.RangeIndex(Y.shape[1]) if Y.shape[1] > 1 else pd.Index([None]), W.ids
    data = check_frame(data)
    keys = [entity] + ([time] if time is not None else [])
    check_columns(data, keys + [y])
    if time is not None:
        check_time_types(data[time], time)
    check_keys(data, keys)
    check_unique_keys(data, keys)
    W = as_weights(w)
    wide = (data.pivot(index=entity, columns=time, values=y) if time is not None
            else data.set_index(entity)[[y]])
    missing = W.ids.difference(wide.index)
    if len(missing):
        raise DataError(f"entity {missing[0]!r} of W has no rows in the data")
    extra = wide.index.difference(W.ids)
    if len(extra):
        raise DataError(f"entity {extra[0]!r} of the data is not in W")
    wide = wide.reindex(W.ids)
    Y = wide.to_numpy(dtype=float)
    if not np.isfinite(Y).all():
        r, c = np.argwhere(~np.isfinite(Y))[0]
        raise DataError(f"column {y!r} is missing for entity {wide.index[r]!r} in period "
                        f"{wide.columns[c]!r}; the statistics need a balanced panel")
    periods = wide.columns if time is not None else pd.Index([None])
    return Y, W, periods, W.ids


def _global(kind: str, y, w, data, entity, time, permutations, alternative, seed):
    check_choice(alternative, _ALTERNATIVES, "alternative")
    if permutations:
        check_positive_int(permutations, "permutations")
    Y, Wt, periods, _ = _prepare(y, w, data, entity, time)
    Y = Y / column_scale(Y)  # I and C are free of units: no under/overflow of z², z⁴
    W = Wt.sparse
    n = Y.shape[0]
    if n < 4:
        raise DataError(f"need at least 4 entities, got {n}")
    Z = Y - Y.mean(0)
    ss = (Z * Z).sum(0)
    flat = is_constant(np.sqrt(ss / n), np.abs(Y).max(0))  # relative: 1 + 1e-17 noise too
    if flat.any():
        bad = periods[np.flatnonzero(flat)[0]]
        where = "" if bad is None else f" in period {bad!r}"
        raise DataError(f"{kind}: y is constant{where} (equal up to rounding): spatial "
                        "autocorrelation is undefined")
    s0, s1, s2 = _w_moments(W)
    if is_constant(abs(s0), float(abs(W).sum())):
        raise DataError(f"{kind}: the weights of W sum to zero (S0 = 0: no neighbour links); "
                        "the statistic divides by S0, so W needs at least one pair of "
                        "neighbours with positive weight")
    n2 = n * n
    k = ((Z ** 4).sum(0) / n) / (ss / n) ** 2
    if kind == "moran":
        stat = n / s0 * (Z * (W @ Z)).sum(0) / ss
        e = -1.0 / (n - 1)
        v_norm = (n2 * s1 - n * s2 + 3 * s0 ** 2) / ((n2 - 1) * s0 ** 2) - e ** 2
        A = n * ((n2 - 3 * n + 3) * s1 - n * s2 + 3 * s0 ** 2)
        B = k * ((n2 - n) * s1 - 2 * n * s2 + 6 * s0 ** 2)
        v_rand = (A - B) / ((n - 1) * (n - 2) * (n - 3) * s0 ** 2) - e ** 2
    else:
        rc = np.asarray(W.sum(axis=1)).ravel() + np.asarray(W.sum(axis=0)).ravel()
        num = (Y ** 2 * rc[:, None]).sum(0) - 2 * (Y * (W @ Y)).sum(0)
        stat = (n - 1) * num / (2 * s0 * ss)
        e = 1.0
        v_norm = ((2 * s1 + s2) * (n - 1) - 4 * s0 ** 2) / (2 * (n + 1) * s0 ** 2)
        A = (n - 1) * s1 * (n2 - 3 * n + 3 - (n - 1) * k)
        B = 0.25 * ((n - 1) * s2 * (n2 + 3 * n - 6 - (n2 - n + 2) * k))
        C = s0 ** 2 * (n2 - 3 - (n - 1) ** 2 * k)
        v_rand = (A - B + C) / (n * (n - 2) * (n - 3) * s0 ** 2)
    v_norm = np.broadcast_to(v_norm, stat.shape)
    z_norm = (stat - e) / np.sqrt(v_norm)
    z_rand = (stat - e) / np.sqrt(v_rand)
    tab = pd.DataFrame({"statistic": stat, "expected": e, "var_norm": v_norm,
                        "var_rand": v_rand, "z_norm": z_norm, "z_rand": z_rand,
                        "p_norm": _normal_p(z_norm, alternative),
                        "p_rand": _normal_p(z_rand, alternative)},
                       index=periods)
    if permutations:
        perms = _permutations(check_seed(seed), n, permutations)
        sims = _simulate_global(kind, W, Y, Z, ss, s0, perms)
        _add_sims(tab, stat, sims, alternative)
    tab.index.name = time
    name = "Moran's I" if kind == "moran" else "Geary's C"
    return MoranResult(tab, name, alternative, int(permutations or 0), n)


def _simulate_global(kind, W, Y, Z, ss, s0, perms) -> np.ndarray:
    n = Y.shape[0]
    if kind == "moran":
        return n / s0 * _quad_forms(W, Z, perms)[0] / ss[:, None]
    # Geary: sum_ij w_ij (y_i - y_j)^2 = sum_i (r_i + c_i) y_i^2 - 2 y'Wy; the first
    # term changes under permutation too (unless all r_i + c_i are equal)
    rc = np.asarray(W.sum(axis=1)).ravel() + np.asarray(W.sum(axis=0)).ravel()
    quad, sq = _quad_forms(W, Y, perms, rc)
    return (n - 1) * (sq - 2 * quad) / (2 * s0 * ss[:, None])


def _add_sims(tab: pd.DataFrame, stat: np.ndarray, sims: np.ndarray, alternative: str):
    tab["p_sim"] = _perm_p(stat, sims, alternative)
    tab["mean_sim"] = sims.mean(1)
    tab["sd_sim"] = sims.std(1)
    tab["z_sim"] = (stat - tab["mean_sim"].to_numpy()) / tab["sd_sim"].to_numpy()


def moran(y: Any, w: Any, *, data: pd.DataFrame | None = None, entity: str | None = None,
          time: str | None = None, permutations: int = 999,
          alternative: str = "two-sided", seed: Any = None) -> MoranResult:
    """Global Moran's I, by period for a panel.

    Parameters
    ----------
    y : array-like (n,) or (n, T), or a column name when ``data`` is given
    w : SpatialWeights, libpysal W, or square array
        Used as given (row-standardize it first for the usual statistic).
    data, entity, time : optional
        Long panel: one row per entity x period; W's ids must equal the entities.
    permutations : int
        Random permutations (0 for none); all periods share the same draws.
    alternative : {"two-sided", "greater", "less", "directed"}
    seed : int or Generator

    Returns
    -------
    MoranResult
        ``table`` with one row per period (``statistic`` is I).

    Examples
    --------
    >>> from libpysal.weights import lat2W
    >>> w = lat2W(3, 3); w.transform = "r"
    >>> r = moran([1, 2, 3, 2, 3, 4, 3, 4, 5], w, permutations=0)
    >>> round(r.I, 6), round(r.expected, 6)
    (0.555556, -0.125)
    """
    return _global("moran", y, w, data, entity, time, permutations, alternative, seed)


def geary(y: Any, w: Any, *, data: pd.DataFrame | None = None, entity: str | None = None,
          time: str | None = None, permutations: int = 999,
          alternative: str = "two-sided", seed: Any = None) -> MoranResult:
    """Global Geary's C (expected value 1; below 1 = positive autocorrelation).

    Same arguments as :func:`moran`.

    Examples
    --------
    >>> from libpysal.weights import lat2W
    >>> w = lat2W(3, 3); w.transform = "r"
    >>> round(geary([1, 2, 3, 2, 3, 4, 3, 4, 5], w, permutations=0).I, 6)
    0.333333
    """
    return _global("geary", y, w, data, entity, time, permutations, alternative, seed)


# ------------------------------------------------------------------------- local
@njit(cache=True)
def _crand_lag(z, indptr, data, ids):  # pragma: no cover - compiled
    """r[i, p] = sum_k w_ik z_without_i[ids[p, k]] for the first card_i ids of draw p."""
    n = z.shape[0]
    P = ids.shape[0]
    out = np.empty((n, P))
    for i in range(n):
        a, b = indptr[i], indptr[i + 1]
        for p in range(P):
            s = 0.0
            for k in range(b - a):
                j = ids[p, k]
                if j >= i:
                    j += 1
                s += data[a + k] * z[j]
            out[i, p] = s
    return out


def _conditional_ids(rng: np.random.Generator, n: int, n_perm: int, card: int) -> np.ndarray:
    # each row: `card` distinct draws from 0..n-2 (the other units), as esda's crand
    return rng.permuted(np.broadcast_to(np.arange(n - 1), (n_perm, n - 1)), axis=1)[:, :card]


@dataclass(frozen=True, eq=False, repr=False)
class LocalResult(Result):
    """Local statistics, one row per entity (``table``)."""

    table: pd.DataFrame
    statistic_name: str
    alternative: str
    permutations: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        t = self.table
        counts = (t["cluster"].value_counts().rename("units").to_frame()
                  if "cluster" in t else pd.DataFrame())
        return Summary(self.statistic_name, {"clusters": counts, "units": t},
                       header=[("alternative", self.alternative),
                               ("permutations", self.permutations)])

    def _headline(self) -> list[str]:
        return [self.statistic_name, f"n={len(self.table)}"]


def _local_ids(Wt: SpatialWeights, permutations, seed, _ids):
    W = Wt.sparse.tocsr()
    W.sort_indices()
    card = int(np.diff(W.indptr).max())
    ids = (_ids if _ids is not None else
           _conditional_ids(check_seed(seed), W.shape[0], permutations, card))
    if ids.shape[1] < card or ids.max() > W.shape[0] - 2:
        raise ParameterError("internal permutation ids do not cover the largest neighbour set")
    return W, np.ascontiguousarray(ids, dtype=np.int64)


def _check_varies(y: np.ndarray, func: str) -> None:
    """Refuse a y constant up to rounding: its z-scores are 0/0 (NaN) otherwise."""
    if is_constant(y.std(), np.abs(y).max()):
        raise DataError(f"{func}: y is constant (its {y.size} values are equal up to "
                        "rounding): the local statistics and their z-scores are undefined")


def _check_gi_sums(y: np.ndarray, star: bool, ids: pd.Index) -> None:
    """Refuse a zero denominator of G: Gi* divides by sum(y), Gi by the sum over j != i
    (its mean and variance follow from the same sum)."""
    den = y.sum() - (0.0 if star else y)
    zero = is_constant(np.abs(np.atleast_1d(den)), np.abs(y).sum())
    if zero.any():
        what = ("the sum of y" if star else
                f"the sum of y over the entities other than {ids[np.flatnonzero(zero)[0]]!r}")
        raise DataError(f"getis_ord: {what} is zero (up to rounding); G divides by it, so "
                        "it is undefined: G is meant for non-negative y (counts, amounts) "
                        "with a positive sum")


def local_moran(y: Any, w: Any, *, permutations: int = 999, alternative: str = "directed",
                level: float = 0.05, seed: Any = None, _ids: np.ndarray | None = None
                ) -> LocalResult:
    """Local Moran's I (LISA) with conditional-permutation p-values and quadrants.

    ``I_i = (n - 1) z_i (W z)_i / sum z^2`` with ``z`` standardized. ``cluster`` is the
    quadrant (HH, LH, LL, HL) where ``p_sim <= level``, else ``"ns"``. The default
    ``alternative="directed"`` is esda's pseudo p-value.

    Returns
    -------
    LocalResult
        ``table``: ``Is``, ``z``, ``lag``, ``quadrant``, ``p_sim``, ``cluster``.

    Examples
    --------
    >>> from libpysal.weights import lat2W
    >>> w = lat2W(3, 3); w.transform = "r"
    >>> r = local_moran([1, 2, 3, 2, 3, 4, 3, 4, 5], w, permutations=99, seed=1)
    >>> r.table["quadrant"].tolist()
    ['LL', 'LL', 'LL', 'LL', 'LL', 'HH', 'LL', 'HH', 'HH']
    """
    check_choice(alternative, _ALTERNATIVES, "alternative")
    Wt = as_weights(w)
    y = check_floats(y, "y").ravel()
    if y.shape[0] != Wt.n:
        raise DataError(f"y has {y.shape[0]} values but W has {Wt.n} entities")
    if not np.isfinite(y).all():
        raise DataError(f"y has NaN for entity {Wt.ids[~np.isfinite(y)][0]!r}")
    n = y.shape[0]
    y = y / column_scale(y)[0]  # z is free of units: no under/overflow of the SD
    _check_varies(y, "local_moran")
    z = (y - y.mean()) / y.std()
    W = Wt.sparse
    lag = W @ z
    scale = (n - 1) / (z * z).sum()
    Is = scale * z * lag
    q = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3))
    tab = pd.DataFrame({"Is": Is, "z": z, "lag": lag,
                        "quadrant": [QUADRANTS[int(v)] for v in q]}, index=Wt.ids)
    if permutations:
        check_positive_int(permutations, "permutations")
        Wc, ids = _local_ids(Wt, permutations, seed, _ids)
        sims = z[:, None] * _crand_lag(z, Wc.indptr, Wc.data, ids) * scale
        tab["p_sim"] = _perm_p(Is, sims, alternative)
        tab["cluster"] = np.where(tab["p_sim"] <= level, tab["quadrant"], "ns")
    return LocalResult(tab, "Local Moran's I", alternative, int(permutations or 0))


def getis_ord(y: Any, w: Any, *, star: bool = True, transform: str = "row",
              permutations: int = 999, alternative: str = "directed", seed: Any = None,
              _ids: np.ndarray | None = None) -> LocalResult:
    """Getis-Ord local G (``star=False``) or Gi* (``star=True``, the unit counts itself).

    The neighbour structure of ``w`` (its nonzero pattern) is used with weight 1,
    plus a self weight of 1 for Gi*, then row-standardized (``transform="row"``) or
    kept binary (``"binary"``) -- esda's ``G_Local`` convention. ``z`` is the
    normal-approximation z-score (positive = hot spot) and ``p_norm`` its two-sided p.

    Examples
    --------
    >>> from libpysal.weights import lat2W
    >>> r = getis_ord([1, 2, 3, 2, 3, 4, 3, 4, 5], lat2W(3, 3), permutations=0)
    >>> r.table["z"].round(3).tolist()[:2]
    [-1.155, -0.65]
    """
    check_choice(transform, ("row", "binary"), "transform")
    check_choice(alternative, _ALTERNATIVES, "alternative")
    if not star and permutations:
        raise ParameterError("permutations are implemented for Gi* (star=True) only; "
                             "pass permutations=0 for Gi")
    Wt = as_weights(w)
    y = check_floats(y, "y").ravel()
    if y.shape[0] != Wt.n or not np.isfinite(y).all():
        raise DataError(f"y must have one finite value per entity ({Wt.n})")
    y = y / column_scale(y)[0]  # G and its z are free of units: no overflow of y²
    _check_varies(y, "getis_ord")
    _check_gi_sums(y, star, Wt.ids)
    n = Wt.n
    B = (Wt.sparse != 0).astype(float)
    if star:
        B = B + sp.identity(n, format="csr")
    B = sp.csr_matrix(B)
    if transform == "row":
        rs = np.asarray(B.sum(axis=1)).ravel()
        if (rs == 0).any():
            raise DataError(f"entity {Wt.ids[rs == 0][0]!r} has no neighbours")
        B = sp.csr_matrix(sp.diags(1 / rs) @ B)
    remove = not star
    N = n - remove
    G = (B @ y) / (y.sum() - y * remove)
    mean = (y.sum() - y * remove) / N
    var = ((y ** 2).sum() - y ** 2 * remove) / N - mean ** 2
    card = np.asarray(B.sum(axis=1)).ravel()
    EG = card / N
    VG = card * (N - card) / (N - 1) / N ** 2 * var / mean ** 2
    z = (G - EG) / np.sqrt(VG)
    tab = pd.DataFrame({"G": G, "expected": EG, "var": VG, "z": z,
                        "p_norm": 2 * stats.norm.sf(np.abs(z))}, index=Wt.ids)
    if permutations:
        check_positive_int(permutations, "permutations")
        self_w = B.diagonal().copy()
        Bo = B.tolil()
        Bo.setdiag(0)
        Bo = sp.csr_matrix(Bo)
        Bo.eliminate_zeros()
        Bw = SpatialWeights(Bo, Wt.ids, "none", "", False)
        Wc, ids = _local_ids(Bw, permutations, seed, _ids)
        sims = (_crand_lag(y, Wc.indptr, Wc.data, ids) + (self_w * y)[:, None]) / y.sum()
        tab["p_sim"] = _perm_p(G, sims, alternative)
    tab["spot"] = np.where(z > 0, "hot", "cold")
    name = "Getis-Ord Gi*" if star else "Getis-Ord Gi"
    return LocalResult(tab, name, alternative, int(permutations or 0))
