"""Spatial weight matrices: from coordinates, from economic distance, and to/from libpysal.

All matrices are ``scipy.sparse`` CSR inside a :class:`SpatialWeights` that keeps the
entity labels, the transformation and the islands (units without neighbours).
Distances between longitude/latitude points are great-circle distances in km
(haversine on a sphere of radius 6371.0088 km, the IUGG mean Earth radius); neighbour
searches run on a k-d tree (``scipy.spatial.cKDTree``) of points on the unit sphere,
where the chord length orders pairs exactly as the great-circle distance does.

Written here rather than taken from libpysal because the estimators need the sparse
matrix, eigenvalues and row sums directly; :meth:`SpatialWeights.to_libpysal` and
:func:`from_libpysal` convert both ways (libpysal is the optional extra ``spatial``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from dtistat._results import Result, Summary
from dtistat._validate import check_choice, check_floats, check_positive_int, check_real
from dtistat.errors import DataError, ParameterError

__all__ = [
    "EARTH_RADIUS_KM",
    "SpatialWeights",
    "as_weights",
    "distance_weights",
    "economic_weights",
    "from_libpysal",
    "great_circle",
    "knn_weights",
    "nested_weights",
]

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, eq=False, repr=False)
class SpatialWeights(Result):
    """A spatial weight matrix with its entity labels.

    Attributes
    ----------
    sparse : scipy.sparse.csr_matrix
        The n x n matrix, zero diagonal.
    ids : pandas.Index
        Entity labels in row order.
    transform : str
        ``"row"`` (rows sum to one) or ``"none"``.
    kind : str
        How the matrix was built (for the summary).
    symmetric_base : bool
        True if the matrix is ``D^-1 C`` (or ``C``) for a symmetric ``C``: its
        eigenvalues are then real and computed with a symmetric solver.
    base_row_sums : ndarray or None
        The row sums ``D`` of ``C`` when the matrix was row-standardized from a
        symmetric ``C`` (``D^1/2 W D^-1/2`` is then symmetric).
    """

    sparse: sp.csr_matrix
    ids: pd.Index
    transform: str = "none"
    kind: str = ""
    symmetric_base: bool = False
    base_row_sums: np.ndarray | None = None

    def symmetrizer(self) -> np.ndarray | None:
        """``d`` with ``diag(d)^1/2 W diag(d)^-1/2`` symmetric, or None if unknown."""
        if not self.symmetric_base:
            return None
        return np.ones(self.n) if self.base_row_sums is None else self.base_row_sums

    @property
    def n(self) -> int:
        """Number of entities."""
        return self.sparse.shape[0]

    @property
    def cardinalities(self) -> pd.Series:
        """Number of neighbours of each entity."""
        return pd.Series(np.diff(self.sparse.indptr), index=self.ids, name="neighbours")

    @property
    def islands(self) -> list:
        """Entities without any neighbour."""
        return list(self.ids[np.diff(self.sparse.indptr) == 0])

    def dense(self) -> np.ndarray:
        """The matrix as a dense array."""
        return self.sparse.toarray()

    def row_standardize(self) -> SpatialWeights:
        """Rows divided by their sums; islands are refused (their row sum is zero)."""
        isl = self.islands
        if isl:
            raise DataError(
                f"cannot row-standardize: {len(isl)} island(s) without neighbours, e.g. "
                f"entity {isl[0]!r}; raise the cutoff/band, use knn_weights, or pass "
                f"transform='none'")
        rs = np.asarray(self.sparse.sum(axis=1)).ravel()
        m = sp.csr_matrix(sp.diags(1.0 / rs) @ self.sparse)
        base = None
        if self.symmetric_base:
            base = rs if self.transform == "none" else None
        return SpatialWeights(m, self.ids, "row", self.kind, base is not None, base)

    def reorder(self, ids: Any) -> SpatialWeights:
        """The same matrix with rows/columns in the order of ``ids`` (all entities)."""
        ids = pd.Index(ids)
        pos = self.ids.get_indexer(ids)
        if (pos < 0).any():
            raise DataError(f"entity {ids[pos < 0][0]!r} is not in the weight matrix "
                            f"(its ids run {list(self.ids[:3])}...)")
        if len(ids) != self.n:
            missing = self.ids.difference(ids)
            raise DataError(f"the data lack {len(missing)} entity(ies) of the weight matrix, "
                            f"e.g. {missing[0]!r}; subset the matrix with .subset()")
        m = self.sparse[pos][:, pos].tocsr()
        base = None if self.base_row_sums is None else self.base_row_sums[pos]
        return SpatialWeights(m, ids, self.transform, self.kind, self.symmetric_base, base)

    def subset(self, ids: Any) -> SpatialWeights:
        """The matrix restricted to ``ids`` (in that order); rows are not re-standardized."""
        ids = pd.Index(ids)
        pos = self.ids.get_indexer(ids)
        if (pos < 0).any():
            raise DataError(f"entity {ids[pos < 0][0]!r} is not in the weight matrix")
        m = self.sparse[pos][:, pos].tocsr()
        sym = self.symmetric_base and self.base_row_sums is None
        return SpatialWeights(m, ids, "none", self.kind + " (subset)", sym)

    def to_libpysal(self):
        """Convert to ``libpysal.weights.W`` (ids as neighbour keys)."""
        from libpysal.weights import WSP

        w = WSP(self.sparse, id_order=list(self.ids)).to_W(silence_warnings=True)
        w.transform = "r" if self.transform == "row" else "o"
        # libpysal re-derives the row-standardized matrix from the original one; ours
        # already is, so the two transforms coincide
        return w

    def to_frame(self) -> pd.DataFrame:
        """One row per entity: neighbours, row sum."""
        return pd.DataFrame({"neighbours": self.cardinalities.to_numpy(),
                             "row_sum": np.asarray(self.sparse.sum(axis=1)).ravel()},
                            index=self.ids)

    def summary(self) -> Summary:
        c = self.cardinalities
        tab = pd.DataFrame({"value": [self.n, int(self.sparse.nnz), float(c.mean()),
                                      int(c.min()), int(c.max()), len(self.islands)]},
                           index=["entities", "nonzero", "mean neighbours", "min neighbours",
                                  "max neighbours", "islands"])
        notes = [f"islands: {', '.join(map(str, self.islands[:10]))}"] if self.islands else []
        return Summary(f"Spatial weights ({self.kind or 'user'}, transform={self.transform})",
                       tab, notes=notes)

    def _headline(self) -> list[str]:
        return [f"n={self.n}", f"nnz={self.sparse.nnz}", f"transform={self.transform}",
                f"islands={len(self.islands)}"]


# ----------------------------------------------------------------------- coordinates
def _coords(coords: Any, ids: Any) -> tuple[np.ndarray, pd.Index]:
    if isinstance(coords, pd.DataFrame):
        cols = [c for c in ("longitude", "latitude") if c in coords.columns]
        if len(cols) != 2:
            if coords.shape[1] != 2:
                raise DataError("coords must have columns 'longitude' and 'latitude' "
                                f"(or exactly two columns); got {list(coords.columns)}")
            cols = list(coords.columns)
        xy = check_floats(coords[cols], f"coordinates {cols}")
        ids = pd.Index(coords.index if ids is None else ids)
    else:
        xy = check_floats(coords, "coords")
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise DataError(f"coords must be an n x 2 array of (longitude, latitude); "
                            f"got shape {xy.shape}")
        ids = pd.RangeIndex(xy.shape[0]) if ids is None else pd.Index(ids)
    if len(ids) != xy.shape[0]:
        raise DataError(f"ids has {len(ids)} labels for {xy.shape[0]} coordinate rows")
    if ids.has_duplicates:
        raise DataError(f"entity {ids[ids.duplicated()][0]!r} appears twice in ids")
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise DataError(f"coordinates missing (NaN) for entity {ids[bad][0]!r} "
                        f"({int(bad.sum())} in all); every entity needs a location")
    return xy, ids


def _unit_sphere(lonlat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _km_to_chord(km: float) -> float:
    return 2 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2)


def great_circle(lonlat: Any, other: Any = None) -> np.ndarray:
    """Great-circle (haversine) distances in km between longitude/latitude points.

    Parameters
    ----------
    lonlat : array-like, n x 2
        Longitude, latitude in decimal degrees.
    other : array-like, m x 2, optional
        Second set of points (default: ``lonlat``).

    Returns
    -------
    ndarray, n x m

    Examples
    --------
    >>> round(float(great_circle([[116.407394, 39.904211]], [[121.473701, 31.230416]])[0, 0]), 1)
    1067.3
    """
    a = np.radians(np.asarray(lonlat, dtype=float).reshape(-1, 2))
    b = a if other is None else np.radians(np.asarray(other, dtype=float).reshape(-1, 2))
    dlat = b[None, :, 1] - a[:, None, 1]
    dlon = b[None, :, 0] - a[:, None, 0]
    h = (np.sin(dlat / 2) ** 2
         + np.cos(a[:, None, 1]) * np.cos(b[None, :, 1]) * np.sin(dlon / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _pairs_within(xy: np.ndarray, metric: str, cutoff: float | None):
    """(i, j, d) of all pairs i != j within ``cutoff`` (all pairs if None)."""
    n = xy.shape[0]
    if cutoff is None:
        d = great_circle(xy) if metric == "great_circle" else np.hypot(
            xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        i, j = np.nonzero(~np.eye(n, dtype=bool))
        return i, j, d[i, j]
    if metric == "great_circle":
        tree = cKDTree(_unit_sphere(xy))
        m = tree.sparse_distance_matrix(tree, _km_to_chord(cutoff), output_type="coo_matrix")
        keep = m.row != m.col
        i, j = m.row[keep], m.col[keep]
        # recompute by haversine: identical ordering, better digits than the chord
        d = _haversine_pairs(xy, i, j)
        keep = d <= cutoff
        return i[keep], j[keep], d[keep]
    tree = cKDTree(xy)
    m = tree.sparse_distance_matrix(tree, cutoff, output_type="coo_matrix")
    keep = m.row != m.col
    return m.row[keep], m.col[keep], m.data[keep]


def _haversine_pairs(xy: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    a, b = np.radians(xy[i]), np.radians(xy[j])
    h = (np.sin((b[:, 1] - a[:, 1]) / 2) ** 2
         + np.cos(a[:, 1]) * np.cos(b[:, 1]) * np.sin((b[:, 0] - a[:, 0]) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _finish(i, j, v, ids, kind, transform, symmetric) -> SpatialWeights:
    n = len(ids)
    m = sp.csr_matrix((np.asarray(v, dtype=float), (i, j)), shape=(n, n))
    m.sum_duplicates()
    m.sort_indices()
    w = SpatialWeights(m, ids, "none", kind, symmetric)
    check_choice(transform, ("row", "none", None), "transform")
    return w.row_standardize() if transform == "row" else w


def distance_weights(coords: Any, *, ids: Any = None, method: str = "inverse",
                     power: float = 1.0, cutoff: float | None = None,
                     metric: str = "great_circle", transform: str | None = "row"
                     ) -> SpatialWeights:
    """Distance-based weights: inverse distance ``1/d^power`` or a binary distance band.

    Parameters
    ----------
    coords : DataFrame with ``longitude``/``latitude`` columns, or n x 2 array
        Locations; a DataFrame's index gives the entity labels.
    ids : sequence, optional
        Entity labels (default: the DataFrame index, else 0..n-1).
    method : {"inverse", "band"}
        ``"inverse"``: ``w_ij = d_ij^-power`` (``power=2`` for the gravity form),
        zero beyond ``cutoff``; ``"band"``: ``w_ij = 1`` if ``d_ij <= cutoff``.
    power : float
        Exponent of the inverse distance.
    cutoff : float, optional
        Distance threshold (km for great-circle, coordinate units for euclidean);
        required for ``method="band"``.
    metric : {"great_circle", "euclidean"}
    transform : {"row", "none"}
        Row standardization (islands are refused) or the raw matrix.

    Returns
    -------
    SpatialWeights

    Examples
    --------
    >>> xy = [[116.4, 39.9], [117.2, 39.1], [121.5, 31.2]]
    >>> w = distance_weights(xy, ids=["BJ", "TJ", "SH"], method="band", cutoff=200,
    ...                      transform="none")
    >>> w.dense().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    >>> w.islands
    ['SH']
    """
    check_choice(method, ("inverse", "band"), "method")
    check_choice(metric, ("great_circle", "euclidean"), "metric")
    xy, ids = _coords(coords, ids)
    if cutoff is not None and check_real(cutoff, "cutoff") <= 0:
        raise ParameterError(f"cutoff must be a positive distance, got {cutoff!r}")
    if method == "band" and cutoff is None:
        raise ParameterError("method='band' needs cutoff= (the band's distance)")
    if check_real(power, "power") <= 0:
        raise ParameterError(f"power must be positive, got {power!r}")
    i, j, d = _pairs_within(xy, metric, cutoff)
    if (d <= 0).any():
        k = int(np.flatnonzero(d <= 0)[0])
        raise DataError(f"entities {ids[i[k]]!r} and {ids[j[k]]!r} share a location; "
                        "inverse distance is undefined")
    v = np.ones_like(d) if method == "band" else d ** (-power)
    kind = (f"distance band {cutoff:g}" if method == "band"
            else f"inverse distance^{power:g}" + (f", cutoff {cutoff:g}" if cutoff else ""))
    if transform is None:
        transform = "none"
    return _finish(i, j, v, ids, kind, transform, True)


def knn_weights(coords: Any, k: int, *, ids: Any = None, metric: str = "great_circle",
                transform: str | None = "row") -> SpatialWeights:
    """k-nearest-neighbour weights (binary, then row-standardized by default).

    Examples
    --------
    >>> w = knn_weights([[0, 0], [1, 0], [3, 0]], k=1, metric="euclidean")
    >>> w.dense().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    check_choice(metric, ("great_circle", "euclidean"), "metric")
    xy, ids = _coords(coords, ids)
    n = xy.shape[0]
    k = check_positive_int(k, "k")
    if k >= n:
        raise ParameterError(f"k={k} must be below the number of entities ({n})")
    pts = _unit_sphere(xy) if metric == "great_circle" else xy
    _, idx = cKDTree(pts).query(pts, k=k + 1)
    rows = np.repeat(np.arange(n), k)
    # drop self (normally the first hit; exact duplicates may reorder it)
    cols = np.empty((n, k), dtype=np.int64)
    for r in range(n):
        hit = idx[r][idx[r] != r]
        cols[r] = hit[:k]
    return _finish(rows, cols.ravel(), np.ones(n * k), ids, f"kNN k={k}",
                   "none" if transform is None else transform, False)


def economic_weights(values: Any, *, ids: Any = None, transform: str | None = "row"
                     ) -> SpatialWeights:
    """Economic-distance weights ``w_ij = 1 / |ybar_i - ybar_j|``.

    ``values`` are the entities' period means of an economic variable (GDP per
    capita, the index); a Series' index gives the labels. Equal means are refused.

    Examples
    --------
    >>> economic_weights([1.0, 2.0, 4.0], transform="none").dense().round(3).tolist()
    [[0.0, 1.0, 0.333], [1.0, 0.0, 0.5], [0.333, 0.5, 0.0]]
    """
    if isinstance(values, pd.Series):
        ids = values.index if ids is None else ids
    y = check_floats(values, "values").ravel()
    ids = pd.RangeIndex(len(y)) if ids is None else pd.Index(ids)
    if not np.isfinite(y).all():
        raise DataError(f"economic values missing for entity {ids[~np.isfinite(y)][0]!r}")
    d = np.abs(y[:, None] - y[None, :])
    i, j = np.nonzero(~np.eye(len(y), dtype=bool))
    if (d[i, j] == 0).any():
        k = int(np.flatnonzero(d[i, j] == 0)[0])
        raise DataError(f"entities {ids[i[k]]!r} and {ids[j[k]]!r} have equal economic "
                        "values; 1/|y_i - y_j| is undefined")
    return _finish(i, j, 1.0 / d[i, j], ids, "economic distance",
                   "none" if transform is None else transform, True)


def nested_weights(geo: SpatialWeights, values: Any, *, phi: float | None = None,
                   transform: str | None = "row") -> SpatialWeights:
    """The nested economic-geographic matrix.

    With ``phi=None``: ``W = W_d diag(ybar_j / ybar)`` -- geographic weights scaled by
    the neighbour's share of the mean (Lin, Long & Wu 2005, 经济研究). With a number
    ``phi`` in [0, 1]: ``W = phi W_d + (1 - phi) W_e`` with ``W_e`` the economic-distance
    matrix (both row-standardized first), the convex-combination variant.

    Examples
    --------
    >>> g = distance_weights([[0, 0], [1, 0], [2, 0]], metric="euclidean", transform="none")
    >>> nested_weights(g, [1.0, 2.0, 3.0], transform="none").dense().round(3).tolist()
    [[0.0, 1.0, 0.75], [0.5, 0.0, 1.5], [0.25, 1.0, 0.0]]
    """
    if isinstance(values, pd.Series):
        values = values.reindex(geo.ids)
        if values.isna().any():
            raise DataError(f"economic value missing for entity "
                            f"{values.index[values.isna()][0]!r}")
    y = check_floats(values, "values").ravel()
    if len(y) != geo.n or not np.isfinite(y).all():
        raise DataError(f"values must give one finite number per entity ({geo.n})")
    if phi is None:
        if (y <= 0).any():
            raise DataError("the nested matrix scales by ybar_j / ybar: values must be > 0")
        m = sp.csr_matrix(geo.sparse @ sp.diags(y / y.mean()))
        w = SpatialWeights(m, geo.ids, "none", "nested economic-geographic", False)
    else:
        if not 0 <= phi <= 1:
            raise ParameterError(f"phi must be in [0, 1], got {phi!r}")
        e = economic_weights(y, ids=geo.ids, transform="row")
        g = geo if geo.transform == "row" else geo.row_standardize()
        m = sp.csr_matrix(phi * g.sparse + (1 - phi) * e.sparse)
        w = SpatialWeights(m, geo.ids, "none", f"nested phi={phi:g}", False)
    check_choice(transform, ("row", "none", None), "transform")
    return w.row_standardize() if transform == "row" else w


# ----------------------------------------------------------------------- interop
def from_libpysal(w: Any) -> SpatialWeights:
    """A :class:`SpatialWeights` from a ``libpysal.weights.W`` (its current transform).

    Examples
    --------
    >>> from libpysal.weights import lat2W
    >>> from_libpysal(lat2W(2, 2)).sparse.nnz
    8
    """
    m = sp.csr_matrix(w.sparse, dtype=float)
    m.sort_indices()
    transform = "row" if getattr(w, "transform", "O").upper() == "R" else "none"
    out = SpatialWeights(m, pd.Index(w.id_order), transform, "libpysal", False)
    return _detect_symmetric(out)


def _detect_symmetric(w: SpatialWeights) -> SpatialWeights:
    """Mark ``W = D^-1 C`` with ``C`` symmetric (checked for ``d`` = row counts or 1)."""
    m = w.sparse
    for d in (np.ones(w.n), np.diff(m.indptr).astype(float)):
        if (d == 0).any():
            continue
        c = sp.diags(d) @ m
        if m.nnz == 0 or abs(c - c.T).max() <= 1e-12 * abs(c).max():
            base = None if np.all(d == 1) else d
            return SpatialWeights(m, w.ids, w.transform, w.kind, True, base)
    return w


def as_weights(w: Any, ids: Any = None) -> SpatialWeights:
    """Accept a SpatialWeights, a libpysal W, a sparse matrix or a square array.

    Checks squareness, finiteness, a zero diagonal and non-negative entries.
    """
    if isinstance(w, SpatialWeights):
        out = w
    elif hasattr(w, "sparse") and hasattr(w, "id_order"):
        out = from_libpysal(w)
    else:
        if isinstance(w, pd.DataFrame):
            ids = w.index if ids is None else ids
        if not sp.issparse(w):
            w = check_floats(w, "W")
            if w.ndim != 2:
                raise DataError(f"W must be a square matrix; got shape {w.shape}")
        m = sp.csr_matrix(w, dtype=float)
        if m.shape[0] != m.shape[1]:
            raise DataError(f"W must be square; got shape {m.shape}")
        ids = pd.RangeIndex(m.shape[0]) if ids is None else pd.Index(ids)
        rs = np.asarray(m.sum(axis=1)).ravel()
        transform = "row" if np.allclose(rs[rs != 0], 1.0) and (rs != 0).all() else "none"
        out = _detect_symmetric(SpatialWeights(m, ids, transform, "user", False))
    m = out.sparse
    if m.shape[0] != m.shape[1]:
        raise DataError(f"W must be square; got shape {m.shape}")
    if not np.isfinite(m.data).all():
        k = int(np.flatnonzero(~np.isfinite(m.data))[0])
        row = out.ids[np.searchsorted(m.indptr, k, "right") - 1]
        raise DataError(f"W has NaN or infinite entries, e.g. in the row of entity {row!r}")
    if (m.diagonal() != 0).any():
        raise DataError(f"W must have a zero diagonal; entity "
                        f"{out.ids[np.flatnonzero(m.diagonal() != 0)[0]]!r} is its own neighbour")
    if (m.data < 0).any():
        raise DataError("W has negative weights")
    return out
