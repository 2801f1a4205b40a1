"""TOPSIS closeness scores (vector or min-max normalization) and the obstacle degree.

TOPSIS (Hwang & Yoon 1981, *Multiple Attribute Decision Making*): normalize each
indicator, weight it, and score each row by its relative closeness
``C_i = D_i^- / (D_i^+ + D_i^-)`` to the ideal (best value of every weighted column)
versus the anti-ideal. The normalization is named:

* ``"vector"`` -- ``r_ij = x_ij / sqrt(sum_i x_ij^2)`` with the ideal at the max of a
  benefit and the min of a cost indicator (R package ``topsis``; pymcdm's
  ``vector_normalization`` gives the same distances);
* ``"minmax"`` -- ``(x - min) / (max - min)`` (cost: ``(max - x) / (max - min)``), the
  ideal the column max (pymcdm ``TOPSIS()`` default).

Weights: a Series/mapping by indicator, or the name of a scheme of
:mod:`dtistat.index.weights` (``"entropy"``, ``"critic"``, ``"cv"``, ``"equal"``)
computed on the same rows (the "entropy-weight TOPSIS" of the literature).

Obstacle degree (障碍度): with min-max standardized ``x_ij`` and weights ``w_j``,
``O_ij = w_j (1 - x_ij) / sum_j w_j (1 - x_ij)``; ``normalize=False`` returns the
unnormalized ``w_j (1 - x_ij)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._results import Result, Summary
from dtistat._scale import column_scale
from dtistat.errors import DataError, ParameterError
from dtistat.index import weights as wmod

__all__ = ["ObstacleResult", "TopsisResult", "obstacle_degree", "topsis"]

_SCHEMES = {"entropy": wmod.entropy, "critic": wmod.critic, "cv": wmod.cv}


def _inputs(data, columns, entity, time, weights):
    """An IndexResult becomes its normalized leaves (keys entity, time); ``weights="index"``
    then means the index's own effective weights."""
    from dtistat.index.compute import IndexResult

    if not isinstance(data, IndexResult):
        if isinstance(weights, str) and weights == "index":
            raise ParameterError('weights="index" needs an IndexResult as data')
        if columns is None:
            raise ParameterError("columns= must name the indicators")
        return data, columns, [k for k in (entity, time) if k is not None], weights
    frame = data.normalized.reset_index()
    cols = list(data.normalized.columns) if columns is None else v.as_list(columns, "columns")
    if isinstance(weights, str) and weights == "index":
        weights = data.weights.reindex(cols)
    return frame, cols, [data.entity, *data.by, data.time], weights


def _matrix(data, columns, keys):
    frame = v.check_frame(data)
    cols = v.check_columns(frame, v.as_list(columns, "columns"))
    if len(cols) < 2:
        raise ParameterError(f"columns must name at least two indicators; got {cols}")
    v.check_columns(frame, keys)
    v.check_numeric(frame, cols)
    v.check_no_nan(frame, cols, keys=keys or None)
    return frame, cols, frame[cols].to_numpy(dtype=float)


def _direction(direction, cols) -> np.ndarray:
    if direction is None:
        return np.ones(len(cols))
    d = (np.array([direction.get(c, 1) for c in cols], dtype=float)
         if isinstance(direction, dict) else np.asarray(direction, dtype=float).ravel())
    if d.shape != (len(cols),) or not np.all(np.isin(d, (1, -1))):
        raise ParameterError("direction must give +1 (benefit) or -1 (cost) for every column")
    return d


def _weights(weights, frame, cols, direction) -> pd.Series:
    if weights is None or (isinstance(weights, str) and weights == "equal"):
        return pd.Series(1.0 / len(cols), index=cols, name="weight")
    if isinstance(weights, str):
        v.check_choice(weights, [*_SCHEMES, "equal"], "weights")
        fn = _SCHEMES[weights]
        if weights == "entropy":
            return fn(frame, cols, direction=dict(zip(cols, direction, strict=True)))
        return fn(frame, cols)
    w = pd.Series(weights, dtype=float) if isinstance(weights, dict) else weights
    if isinstance(w, pd.Series):
        miss = [c for c in cols if c not in w.index]
        if miss:
            raise ParameterError(f"weights has no entry for column {miss[0]!r}")
        w = w.reindex(cols).astype(float)
    else:
        arr = np.asarray(weights, dtype=float).ravel()
        if arr.size != len(cols):
            raise ParameterError(f"weights needs {len(cols)} values; got {arr.size}")
        w = pd.Series(arr, index=cols)
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ParameterError("weights must be finite, non-negative and not all zero")
    return (w / w.sum()).rename("weight")


def _minmax(X, d, cols):
    lo, hi = X.min(axis=0), X.max(axis=0)
    const = np.flatnonzero(hi == lo)
    if const.size:
        raise DataError(f"column {cols[const[0]]!r} is constant; min-max normalization is "
                        "undefined")
    z = (X - lo) / (hi - lo)
    return np.where(d > 0, z, 1 - z)


@dataclass(frozen=True, eq=False, repr=False)
class TopsisResult(Result):
    """TOPSIS scores: ``table`` (keys, ``d_plus``, ``d_minus``, ``score``, ``rank``)."""

    table: pd.DataFrame
    weights: pd.Series
    normalization: str
    _kind = "TOPSIS"

    def _headline(self) -> list[str]:
        return [f"normalization={self.normalization}", f"rows={len(self.table)}",
                f"indicators={self.weights.size}"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        return Summary(f"TOPSIS ({self.normalization} normalization)",
                       {"Scores": self.table, "Weights": self.weights.to_frame()})


def topsis(data: Any, columns: Any = None, *, weights: Any = "entropy",
           normalization: str = "vector", direction: Any = None, entity: str | None = None,
           time: str | None = None) -> TopsisResult:
    """TOPSIS relative closeness of each row (all rows pooled: units x periods).

    Parameters
    ----------
    data : DataFrame or IndexResult
        A frame of indicators, or a computed index (its normalized leaves, keyed by
        entity and period).
    columns : list of str
        The indicators (default with an index: every leaf).
    weights : str, Series, mapping or sequence
        A scheme of :mod:`dtistat.index.weights`, ``"index"`` (the index's own effective
        weights) or explicit weights (rescaled to sum 1).
    normalization : {"vector", "minmax"}
    direction : mapping or sequence of +1/-1, optional
        -1 marks cost ("less is better") indicators.
    entity, time : str, optional
        Key columns carried into the table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2, 5], "b": [3000.0, 3750, 4500]})
    >>> topsis(df, ["a", "b"], weights=[0.5, 0.5], normalization="minmax",
    ...        direction=[-1, 1]).table["score"].round(3).tolist()
    [0.5, 0.617, 0.5]
    """
    v.check_choice(normalization, ("vector", "minmax"), "normalization")
    data, columns, keys, weights = _inputs(data, columns, entity, time, weights)
    frame, cols, X = _matrix(data, columns, keys)
    d = _direction(direction, cols)
    w = _weights(weights, frame, cols, d)
    if normalization == "vector":
        Xs = X / column_scale(X)  # x / ||x|| is unit-free: no overflow of x² near 1e300
        norm = np.sqrt((Xs**2).sum(axis=0))
        if (norm == 0).any():
            raise DataError(f"column {cols[int(np.flatnonzero(norm == 0)[0])]!r} is all zero")
        V = Xs / norm * w.to_numpy()
        best = np.where(d > 0, V.max(axis=0), V.min(axis=0))
        worst = np.where(d > 0, V.min(axis=0), V.max(axis=0))
    else:
        V = _minmax(X, d, cols) * w.to_numpy()
        best, worst = V.max(axis=0), V.min(axis=0)
    dp = np.sqrt(((V - best) ** 2).sum(axis=1))
    dm = np.sqrt(((V - worst) ** 2).sum(axis=1))
    if not (dp + dm > 0).any():
        raise DataError("topsis: the rows do not differ in any weighted column, so every "
                        "row is both the ideal and the anti-ideal and the closeness "
                        "d_minus / (d_plus + d_minus) is 0/0; need a column with positive "
                        "weight whose values vary")
    out = frame[keys].copy()
    out["d_plus"], out["d_minus"] = dp, dm
    out["score"] = dm / (dp + dm)
    out["rank"] = out["score"].rank(ascending=False, method="min").astype(int)
    return TopsisResult(table=out, weights=w, normalization=normalization)


@dataclass(frozen=True, eq=False, repr=False)
class ObstacleResult(Result):
    """Obstacle degrees: ``table`` (keys + one column per indicator) and ``top`` factors."""

    table: pd.DataFrame
    weights: pd.Series
    normalized: bool
    _kind = "ObstacleDegree"

    @property
    def mean(self) -> pd.Series:
        """Mean obstacle degree of each indicator over rows, largest first."""
        return self.table[list(self.weights.index)].mean().sort_values(ascending=False)

    def _headline(self) -> list[str]:
        m = self.mean
        return [f"rows={len(self.table)}", f"top={m.index[0]} ({m.iloc[0]:.3f})"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        return Summary("Obstacle degree" + ("" if self.normalized else " (unnormalized)"),
                       {"Mean obstacle degree": self.mean.rename("obstacle").to_frame(),
                        "Weights": self.weights.to_frame()})


def obstacle_degree(data: Any, columns: Any = None, *, weights: Any = "entropy",
                    direction: Any = None, normalize: bool = True, entity: str | None = None,
                    time: str | None = None) -> ObstacleResult:
    """Obstacle degree of each indicator for each row (min-max standardized indicators).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [0.0, 1.0, 0.5], "b": [1.0, 0.0, 0.5]})
    >>> obstacle_degree(df, ["a", "b"], weights=[0.5, 0.5]).table.round(2).values.tolist()
    [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    """
    data, columns, keys, weights = _inputs(data, columns, entity, time, weights)
    frame, cols, X = _matrix(data, columns, keys)
    d = _direction(direction, cols)
    w = _weights(weights, frame, cols, d)
    dev = w.to_numpy() * (1 - _minmax(X, d, cols))
    if normalize:
        tot = dev.sum(axis=1, keepdims=True)
        if (tot == 0).any():
            i = int(np.flatnonzero(tot.ravel() == 0)[0])
            raise DataError(f"row {i} is at the best value of every indicator: its obstacle "
                            "degree is undefined (use normalize=False)")
        dev = dev / tot
    out = frame[keys].copy()
    for j, c in enumerate(cols):
        out[c] = dev[:, j]
    return ObstacleResult(table=out, weights=w, normalized=bool(normalize))
