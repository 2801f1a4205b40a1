"""Check a staggered-adoption panel and lay it out as unit x period arrays.

Every difference-in-differences estimator of :mod:`dtistat.did` starts here, so bad input
fails the same way whatever the estimator: an unbalanced panel, a treatment time that
varies within a unit or lies outside the panel, units treated from the first period on,
time-varying covariates where an estimator needs them fixed.

Treatment is absorbing (staggered adoption): ``treat_time`` is the first treated period
of a unit, constant over its rows, and ``0`` or missing for never-treated units. A
treatment that switches off is not supported; :func:`first_treated` turns a 0/1
treatment dummy into ``treat_time`` and refuses dummies that switch off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtistat._validate import (
    as_list,
    check_columns,
    check_frame,
    check_no_nan,
    check_numeric,
    check_unique_keys,
)
from dtistat.errors import DataError

__all__ = ["StaggeredPanel", "first_treated", "prepare_panel"]


@dataclass(frozen=True, eq=False)
class StaggeredPanel:
    """A balanced panel as arrays: ``Y[i, s]`` is unit i's outcome in period ``times[s]``.

    Attributes
    ----------
    units : ndarray (n,)
        Entity ids in sorted order.
    times : ndarray (T,)
        Sorted periods (numbers).
    Y : ndarray (n, T)
    G : ndarray (n,)
        First treated period of each unit, 0 for never treated.
    X : ndarray (n, p)
        Time-invariant covariates (p may be 0).
    covariates : list of str
    cluster : ndarray (n,) of int or None
        Cluster codes of the units.
    W : ndarray (n,) or None
        Sampling weights of the units (None: equal weights).
    observed : ndarray (n, T) of bool or None
        Which unit-periods are observed (None: a balanced panel).
    """

    units: np.ndarray
    times: np.ndarray
    Y: np.ndarray
    G: np.ndarray
    X: np.ndarray
    covariates: list
    cluster: np.ndarray | None
    y: str
    entity: str
    time: str
    treat_time: str
    W: np.ndarray | None = None
    observed: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.Y.shape[0]

    @property
    def groups(self) -> np.ndarray:
        """Treated cohorts (first treated periods), ascending."""
        return np.unique(self.G[self.G != 0])

    def long(self) -> pd.DataFrame:
        """The panel back in long form (entity, time, y, treat_time, covariates)."""
        n, T = self.Y.shape
        out = pd.DataFrame({self.entity: np.repeat(self.units, T),
                            self.time: np.tile(self.times, n),
                            self.y: self.Y.ravel(),
                            self.treat_time: np.repeat(self.G, T)})
        for j, c in enumerate(self.covariates):
            out[c] = np.repeat(self.X[:, j], T)
        if self.observed is not None:
            out = out[self.observed.ravel()].reset_index(drop=True)
        return out


def _v(x) -> str:
    """repr of a key without numpy's type wrapper (``1``, not ``np.int64(1)``)."""
    return repr(x.item() if isinstance(x, np.generic) else x)


def _unit_constant(frame: pd.DataFrame, col: str, entity: str, why: str) -> None:
    nun = frame.groupby(entity, sort=False)[col].nunique(dropna=False)
    if (nun > 1).any():
        unit = nun.index[np.argmax(nun.to_numpy() > 1)]
        vals = sorted(frame.loc[frame[entity] == unit, col].dropna().unique().tolist())[:4]
        raise DataError(f"column {col!r} varies within {entity}={_v(unit)} (values {vals}); "
                        f"{why}")


def prepare_panel(data: pd.DataFrame, *, y: str, treat_time: str, entity: str, time: str,
                  covariates=None, cluster: str | None = None,
                  fixed_covariates: bool = True, weights: str | None = None,
                  anticipation: float = 0, allow_unbalanced: bool = False) -> StaggeredPanel:
    """Validate a staggered-adoption panel and return it as arrays.

    Parameters
    ----------
    data : DataFrame
        Long panel, one row per entity x period (never modified).
    y, treat_time, entity, time : str
        Outcome, first treated period (0 or NaN = never treated), unit and period
        columns; periods are numbers (years), possibly with gaps.
    covariates : str or list of str, optional
        Pre-treatment covariates; with ``fixed_covariates`` they must be constant
        within each unit.
    cluster : str, optional
        A cluster column constant within units (e.g. the province of a city).
    weights : str, optional
        Sampling weights, non-negative and constant within units.
    anticipation : float
        Periods of anticipation: units first treated by ``first period + anticipation``
        have no unaffected base period and are refused.
    allow_unbalanced : bool
        Keep an unbalanced panel (``Y`` is NaN and ``observed`` False where a unit
        lacks a period) instead of refusing it.

    Returns
    -------
    StaggeredPanel

    Examples
    --------
    >>> df = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "t": [1, 2] * 3,
    ...                    "y": [0.0, 1.0, 0.5, 0.7, 0.1, 0.2], "g": [2, 2, 0, 0, 0, 0]})
    >>> p = prepare_panel(df, y="y", treat_time="g", entity="id", time="t")
    >>> p.Y.shape, p.G.tolist()
    ((3, 2), [2.0, 0.0, 0.0])
    """
    data = check_frame(data)
    covariates = as_list(covariates, "covariates")
    wcol = [weights] if weights else []
    cols = [y, treat_time, entity, time, *covariates, *wcol] + ([cluster] if cluster else [])
    check_columns(data, cols)
    check_numeric(data, [y, time, treat_time, *covariates, *wcol])
    check_no_nan(data, [y, time, *covariates, *wcol], keys=[entity, time])
    if data[entity].isna().any():
        raise DataError(f"column {entity!r} (entity) has missing ids, e.g. row "
                        f"{data.index[data[entity].isna().to_numpy()][0]!r}")
    check_unique_keys(data, [entity, time])
    frame = data[list(dict.fromkeys(cols))].copy()
    frame[treat_time] = frame[treat_time].fillna(0)
    _unit_constant(frame, treat_time, entity,
                   f"{treat_time!r} must be the unit's first treated period on every row "
                   "(staggered adoption; build it with dtistat.did.first_treated from a 0/1 "
                   "dummy; treatments that switch off are not supported)")
    if fixed_covariates:
        for c in covariates:
            _unit_constant(frame, c, entity,
                           "this estimator needs covariates fixed within units (use their "
                           "pre-treatment value, e.g. the first period's)")
    if cluster:
        _unit_constant(frame, cluster, entity, "clusters must contain whole units")
    if weights:
        _check_weights(frame, weights, entity)
    frame = frame.sort_values([entity, time], kind="mergesort")
    units = frame[entity].drop_duplicates().to_numpy()
    times = np.sort(frame[time].unique())
    n, T = len(units), len(times)
    if T < 2:
        raise DataError(f"column {time!r} has {T} period; difference-in-differences needs "
                        "at least two")
    Y, observed = _outcome_grid(frame, y, entity, time, units, times, allow_unbalanced)
    first = frame.groupby(entity, sort=False).head(1)
    G = first[treat_time].to_numpy(dtype=float)
    _check_timing(G, times, units, entity, treat_time, anticipation)
    W = first[weights].to_numpy(dtype=float) if weights else None
    X = first[covariates].to_numpy(dtype=float) if covariates else np.empty((n, 0))
    cl = None
    if cluster:
        cl = pd.factorize(first[cluster])[0].astype(np.intp)
    return StaggeredPanel(units, times, Y, G, X, covariates, cl, y, entity, time, treat_time,
                          W, observed)


def _outcome_grid(frame, y, entity, time, units, times, allow_unbalanced):
    """Y as units x periods (frame sorted by entity, time) and the mask of observed
    cells (None when balanced); an unbalanced panel is refused unless allowed."""
    n, T = len(units), len(times)
    if len(frame) == n * T:
        return frame[y].to_numpy(dtype=float).reshape(n, T), None
    if not allow_unbalanced:
        counts = frame.groupby(entity, sort=False).size()
        short = counts.index[np.argmax(counts.to_numpy() < T)]
        have = frame.loc[frame[entity] == short, time].tolist()
        raise DataError(f"the panel is unbalanced: {entity}={_v(short)} has "
                        f"{int(counts[short])} of {T} periods (has {have[:6]}); "
                        "keep units observed in every period, or (Callaway-Sant'Anna) "
                        "pass allow_unbalanced=True to treat it as repeated cross "
                        "sections as R did's allow_unbalanced_panel=TRUE")
    i = pd.Index(units).get_indexer(frame[entity])
    j = np.searchsorted(times, frame[time].to_numpy(dtype=float))
    Y = np.full((n, T), np.nan)
    Y[i, j] = frame[y].to_numpy(dtype=float)
    observed = np.zeros((n, T), bool)
    observed[i, j] = True
    return Y, observed


def _check_weights(frame: pd.DataFrame, weights: str, entity: str) -> None:
    """Sampling weights: non-negative, not all zero, constant within units (R ``did``)."""
    w = frame[weights].to_numpy(dtype=float)
    if (w < 0).any():
        i = int(np.argmax(w < 0))
        raise DataError(f"weights column {weights!r} is negative ({w[i]:g}) at row "
                        f"{frame.index[i]!r}; sampling weights must be >= 0")
    if not (w > 0).any():
        raise DataError(f"weights column {weights!r} is zero on every row; give the units "
                        "positive sampling weights")
    _unit_constant(frame, weights, entity,
                   "sampling weights must be constant within units (e.g. the base-year "
                   "population weight)")


def _check_timing(G, times, units, entity, treat_time, anticipation=0) -> None:
    treated = G != 0
    if not treated.any():
        raise DataError(f"column {treat_time!r} has no treated unit (all 0 or missing)")
    outside = treated & ~np.isin(G, times)
    if outside.any():
        i = int(np.argmax(outside))
        raise DataError(f"{treat_time}={G[i]:g} of {entity}={_v(units[i])} is not a period of "
                        f"the panel ({times[0]:g}..{times[-1]:g}); code units first treated "
                        "after the panel ends as never treated (0)")
    first = treated & (G <= times[0] + anticipation)
    if first.any():
        i = int(np.argmax(first))
        ant = (f" or anticipate treatment in it (anticipation={anticipation:g}: first treated "
               f"by {times[0] + anticipation:g})" if anticipation else "")
        raise DataError(f"{entity}={_v(units[i])} and {int(first.sum()) - 1} other unit(s) are "
                        f"treated from the first period ({times[0]:g}) on{ant}: no "
                        "pre-treatment period identifies their effect; drop them")


def first_treated(data: pd.DataFrame, *, treat: str, entity: str, time: str) -> pd.Series:
    """First period in which a 0/1 treatment dummy is 1, per row (0 = never treated).

    Raises a ``DataError`` naming the unit when the dummy switches off again: the
    estimators of :mod:`dtistat.did` assume absorbing (staggered) treatment.

    Examples
    --------
    >>> df = pd.DataFrame({"id": [1, 1, 1, 2, 2, 2], "t": [1, 2, 3] * 2,
    ...                    "d": [0, 1, 1, 0, 0, 0]})
    >>> first_treated(df, treat="d", entity="id", time="t").tolist()
    [2, 2, 2, 0, 0, 0]
    """
    data = check_frame(data)
    check_columns(data, [treat, entity, time])
    check_numeric(data, [treat])
    check_no_nan(data, [treat], keys=[entity, time])
    d = data[treat].to_numpy(dtype=float)
    if not np.isin(d, (0.0, 1.0)).all():
        raise DataError(f"column {treat!r} must be a 0/1 dummy; found "
                        f"{d[~np.isin(d, (0, 1))][0]!r}")
    frame = data[[entity, time]].assign(_d=d).sort_values([entity, time], kind="mergesort")
    switch_off = frame.groupby(entity, sort=False)["_d"].diff() < 0
    if switch_off.any():
        row = frame.index[switch_off.to_numpy()][0]
        raise DataError(f"{treat!r} switches off for {entity}={_v(data.loc[row, entity])} at "
                        f"{time}={_v(data.loc[row, time])}; only absorbing (staggered) "
                        "treatment is supported")
    on = frame[frame["_d"] == 1].groupby(entity, sort=False)[time].min()
    out = data[entity].map(on).fillna(0).rename("treat_time")
    return out.astype(data[time].dtype) if pd.api.types.is_integer_dtype(data[time]) else out
