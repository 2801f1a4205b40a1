"""Weighting schemes for composite indices: expert, equal, entropy, CRITIC, CV, PCA.

Each function returns a pandas Series labelled by indicator, non-negative, summing to 1.
Objective schemes (entropy, CRITIC, CV, PCA) read a data frame whose columns are the
indicators and whose rows are all units × periods pooled (the panel or "global" form
usual in the Chinese literature); ``direction`` flips "less is better" indicators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dtistat._scale import column_scale, is_constant
from dtistat._validate import (
    check_columns,
    check_frame,
    check_names,
    check_no_nan,
    check_numeric,
    check_real,
)
from dtistat.errors import DataError, SpecError

__all__ = ["expert_weights", "equal", "entropy", "critic", "cv", "pca"]


def _finish(values: np.ndarray, names: Sequence[str], scheme: str) -> pd.Series:
    values = np.asarray(values, dtype=float)
    tot = values.sum()
    if not np.isfinite(tot) or tot <= 0:
        raise DataError(f"{scheme} weights are undefined: the raw weights sum to {tot!r}")
    return pd.Series(values / tot, index=list(names), name="weight")


def _matrix(data: pd.DataFrame, columns: Sequence[str] | None, min_rows: int = 2):
    check_frame(data)
    cols = list(data.columns) if columns is None else check_columns(
        data, check_names(columns, "columns", strings=False))
    if not cols:
        raise SpecError("columns is empty; give at least one indicator column")
    check_numeric(data, cols)
    check_no_nan(data, cols)
    if data.shape[0] < min_rows:
        raise DataError(f"need at least {min_rows} rows to compute data-driven weights")
    # Every objective scheme is invariant to a column's units: divide each column by a
    # power of two near its largest value (exact) so that sums neither overflow nor
    # underflow (values near 1e308 or 1e-300).
    X = data[cols].to_numpy(dtype=float)
    return X / column_scale(X), cols


def _directions(direction, cols) -> np.ndarray:
    if direction is None:
        return np.ones(len(cols))
    if isinstance(direction, Mapping):
        d = np.array([direction.get(c, 1) for c in cols], dtype=float)
    else:
        d = np.asarray(direction, dtype=float)
        if d.shape != (len(cols),):
            raise SpecError(f"direction must have one entry per column ({len(cols)})")
    if not np.all(np.isin(d, (1, -1))):
        raise SpecError("direction entries must be +1 or -1")
    return d


def _minmax(X: np.ndarray, d: np.ndarray, cols) -> np.ndarray:
    lo, hi = X.min(axis=0), X.max(axis=0)
    rng = hi - lo
    flat = is_constant(rng, np.maximum(np.abs(lo), np.abs(hi)))
    if flat.any():
        c = cols[int(np.flatnonzero(flat)[0])]
        raise DataError(f"column {c!r} is constant (its range is rounding noise relative "
                        f"to its values); it carries no information to weight by")
    z = (X - lo) / rng
    return np.where(d > 0, z, 1.0 - z)


def expert_weights(scores: pd.DataFrame) -> pd.Series:
    """Weights from expert scores: ``w_j = sum_i a_ij / sum_j' sum_i a_ij'``.

    The report's 赋权 formula: each expert i scores each indicator j from 1 (very
    unimportant) to 5 (very important), blind; the weight is the total (equivalently,
    mean) score normalized to sum to one over the indicators scored together.

    Parameters
    ----------
    scores : DataFrame
        Experts in rows, indicators (siblings) in columns; integers 1–5.

    Examples
    --------
    >>> s = pd.DataFrame({"cloud": [5, 4], "ai": [3, 4]}, index=["e1", "e2"])
    >>> expert_weights(s).to_dict()
    {'cloud': 0.5625, 'ai': 0.4375}
    """
    from dtistat.spec import _check_scores

    sc = _check_scores(scores)
    if sc.isna().any().any():
        col = sc.columns[sc.isna().any().to_numpy()][0]
        raise SpecError(f"expert scores for {col!r} have missing values")
    return _finish(sc.to_numpy().sum(axis=0), sc.columns, "expert")


def equal(columns: Sequence[str]) -> pd.Series:
    """Equal weights ``1/m`` over ``columns``.

    Examples
    --------
    >>> equal(["a", "b", "c", "d"]).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    cols = check_names(columns, "columns")
    if not cols:
        raise SpecError("equal weights need at least one column")
    dup = [c for i, c in enumerate(cols) if c in cols[:i]]
    if dup:
        raise SpecError(f"columns names {dup[0]!r} more than once; give each indicator once")
    return _finish(np.ones(len(cols)), cols, "equal")


def entropy(
    data: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    direction: Mapping[str, int] | Sequence[int] | None = None,
    shift: float = 0.0,
) -> pd.Series:
    """Entropy weights, panel/global form.

    ``z_ij = (x_ij - min_j) / (max_j - min_j)`` over all units and periods (reversed for
    direction -1), plus ``shift``; ``p_ij = z_ij / sum_i z_ij``;
    ``e_j = -(1 / ln N) sum_i p_ij ln p_ij`` with ``0 · ln 0 = 0``;
    ``w_j = (1 - e_j) / sum_j (1 - e_j)``. Source: Shannon entropy weighting as in
    Zeleny (1982) and its panel use in Chinese composite-index studies (e.g. 杨丽 & 孙之淳
    2015, 统计与决策); ``shift`` = 1e-4 reproduces the common "add 0.0001" variant that
    keeps zeros away from the logarithm.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, 1, 1, 9]})
    >>> entropy(df).round(4).to_dict()
    {'a': 0.2129, 'b': 0.7871}
    """
    shift = check_real(shift, "shift", minimum=0.0)
    X, cols = _matrix(data, columns)
    z = _minmax(X, _directions(direction, cols), cols) + shift
    p = z / z.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    e = -plogp.sum(axis=0) / np.log(X.shape[0])
    return _finish(1.0 - e, cols, "entropy")


def critic(
    data: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    direction: Mapping[str, int] | Sequence[int] | None = None,
) -> pd.Series:
    """CRITIC weights (Diakoulaki, Mavrotas & Papayannakis 1995).

    On min–max normalized data, ``C_j = sigma_j · sum_k (1 - r_jk)`` with ``sigma_j``
    the standard deviation and ``r_jk`` the Pearson correlation; ``w_j = C_j / sum C``.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [4.0, 1, 3, 2], "c": [1.0, 2, 3, 5]})
    >>> critic(df).round(4).to_dict()
    {'a': 0.254, 'b': 0.4979, 'c': 0.2481}
    """
    X, cols = _matrix(data, columns, min_rows=3)
    z = _minmax(X, _directions(direction, cols), cols)
    sd = z.std(axis=0, ddof=1)
    r = np.corrcoef(z, rowvar=False)
    return _finish(sd * (1.0 - r).sum(axis=0), cols, "CRITIC")


def cv(data: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.Series:
    """Coefficient-of-variation weights: ``w_j = (s_j / mean_j) / sum_k (s_k / mean_k)``.

    ``s_j`` is the sample standard deviation (ddof=1). Requires positive means.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2, 3], "b": [10.0, 10, 13]})
    >>> cv(df).round(4).to_dict()
    {'a': 0.7605, 'b': 0.2395}
    """
    X, cols = _matrix(data, columns)
    m = X.mean(axis=0)
    if np.any(m <= 0):
        c = cols[int(np.flatnonzero(m <= 0)[0])]
        raise DataError(
            f"column {c!r} has mean {m[cols.index(c)]!r}; coefficient-of-variation weights "
            f"need positive means"
        )
    return _finish(X.std(axis=0, ddof=1) / m, cols, "CV")


def pca(data: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.Series:
    """First-principal-component weights: squared loadings of PC1, normalized.

    PCA on the correlation matrix (standardized indicators); the unit eigenvector of
    the largest eigenvalue, squared, sums to one and gives each indicator's share of
    the first component (Nicoletti, Scarpetta & Boylaud 2000; OECD/JRC 2008 Handbook
    on Constructing Composite Indicators, §6.1).

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 4, 5, 9], "c": [3.0, 1, 2, 1]})
    >>> round(float(pca(df).sum()), 12)
    1.0
    """
    X, cols = _matrix(data, columns, min_rows=3)
    sd = X.std(axis=0, ddof=1)
    flat = is_constant(sd, np.abs(X).max(axis=0))
    if flat.any():
        c = cols[int(np.flatnonzero(flat)[0])]
        raise DataError(f"column {c!r} is constant (its SD is rounding noise relative to "
                        f"its values); PCA weights need variation")
    R = np.corrcoef(X, rowvar=False)
    vals, vecs = np.linalg.eigh(R)
    v = vecs[:, -1]
    return _finish(v * v, cols, "PCA")
