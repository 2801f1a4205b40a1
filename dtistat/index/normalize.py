"""Normalization of raw indicators: base share (the report's), min–max, z-score, rank, frontier.

Each function maps an (n × L) array of raw values to normalized values, given integer
group codes that say which rows are normalized together (per industry, per period, …).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dtistat._scale import column_scale, is_constant
from dtistat._validate import warn
from dtistat.errors import DataError, SpecError

__all__ = ["NORMALIZATIONS", "normalize"]

NORMALIZATIONS = ("base_share", "minmax", "zscore", "rank", "distance_to_frontier")


def _describe(keys: pd.DataFrame, i: int) -> str:
    """Row ``i`` as its keys, e.g. ``city='A', quarter='2021Q1'`` (for messages)."""
    return ", ".join(f"{k}={keys[k].iloc[i]!r}" for k in keys.columns)


def base_share(
    X: np.ndarray, by_codes: np.ndarray, is_base: np.ndarray, columns: Sequence[str],
    keys: pd.DataFrame, by_labels: Sequence,
) -> np.ndarray:
    """``t_cjt = x_cjt / sum_c x_cj,base``: the national base-period share (the report's).

    Computed within each ``by`` group (e.g. per industry): the denominator is the sum
    over entities of indicator j in the base period in that group.
    """
    neg = X < 0
    if neg.any():
        i, j = np.argwhere(neg)[0]
        raise DataError(
            f"column {columns[j]!r} has a negative value ({X[i, j]!r}) at "
            f"{_describe(keys, i)}; base_share normalization divides by a national total "
            f"and needs non-negative amounts"
        )
    n_by = int(by_codes.max()) + 1 if len(by_codes) else 0
    denom = np.zeros((n_by, X.shape[1]))
    # A share is free of the column's unit: divide by a power of two (exact) so that
    # the base totals of values near 1e308 do not overflow (shares of 0 otherwise).
    X = X / column_scale(X)
    Xb = X[is_base]
    gaps = np.isnan(Xb)
    if gaps.any():
        # missing="skip": the base total is the sum over the entities present in the base
        # period (a NaN would otherwise wipe out the indicator for every entity)
        cols = [columns[j] for j in np.flatnonzero(gaps.any(axis=0))]
        warn(f"{int(gaps.sum())} missing base-period value(s) in {', '.join(map(repr, cols))}"
             ": the base totals sum the entities present", stacklevel=5)
        Xb = np.where(gaps, 0.0, Xb)
    np.add.at(denom, by_codes[is_base], Xb)
    has_base = np.bincount(by_codes[is_base], minlength=n_by) > 0
    if not has_base.all():
        g = int(np.flatnonzero(~has_base)[0])
        raise DataError(
            f"group {by_labels[g]!r} has no rows in the base period; base_share needs "
            f"the base-period total of every indicator"
        )
    zero = denom == 0
    if zero.any():
        g, j = np.argwhere(zero)[0]
        grp = "" if len(by_labels) == 1 and by_labels[0] is None else f" in group {by_labels[g]!r}"
        raise DataError(
            f"indicator {columns[j]!r} has a national total of zero in the base period"
            f"{grp}; its base share is undefined — drop it or choose another base period"
        )
    return X / denom[by_codes]


def _refuse_first(flagged: np.ndarray, columns: Sequence, keys: pd.DataFrame,
                  message: str) -> None:
    """Raise DataError at the first flagged cell (row i, column j): ``message`` with
    ``{column}`` (the column's repr) and ``{at}`` (row i's keys) filled in."""
    if flagged.any():
        i, j = np.argwhere(flagged)[0]
        raise DataError(message.format(column=repr(columns[j]), at=_describe(keys, i)))


def _scoped(X: pd.DataFrame, scope_codes: np.ndarray):
    """``X`` grouped by the rows normalized together."""
    return X.groupby(scope_codes, sort=False)


def normalize(
    X: np.ndarray,
    *,
    method: str,
    columns: Sequence[str],
    directions: np.ndarray,
    by_codes: np.ndarray,
    by_labels: Sequence,
    time_codes: np.ndarray,
    is_base: np.ndarray | None,
    keys: pd.DataFrame,
    scope: str = "period",
) -> np.ndarray:
    """Normalize the leaf matrix ``X``.

    Parameters
    ----------
    method : str
        ``base_share`` (default in :func:`compute_index`), ``minmax``, ``zscore``,
        ``rank`` or ``distance_to_frontier``.
    directions : array of +1/-1
        Per column. ``minmax`` uses ``(max - x)/(max - min)`` for -1, ``zscore`` and
        ``rank`` flip the sign, ``distance_to_frontier`` uses ``min / x`` (the frontier
        of a "less is better" indicator is its minimum). ``base_share`` refuses -1: a
        share of a national total has no "less is better" reading; transform the
        column (e.g. its reciprocal) before building the index.
    scope : {"period", "global"}
        For the non-share methods: normalize within each period (and ``by`` group), or
        over all periods pooled (within ``by``).
    """
    if method not in NORMALIZATIONS:
        raise SpecError(f"normalization={method!r}; choose one of {', '.join(NORMALIZATIONS)}")
    if method == "base_share":
        _refuse_less_is_better(directions, columns)
        assert is_base is not None
        return base_share(X, by_codes, is_base, columns, keys, by_labels)
    scope_codes = _scope_codes(by_codes, time_codes, scope)
    if method == "distance_to_frontier":
        return _frontier(X, directions, scope_codes, columns, keys)
    # min-max and z-scores are free of the column's unit: a power-of-two rescaling
    # (exact) keeps max - min and the sums of squares finite for values near 1e308 and
    # non-zero near 1e-300; constancy is then judged relative to the values' size.
    Xs = X * (directions / column_scale(X))  # "less is better" flipped: max is best
    g = _scoped(pd.DataFrame(Xs), scope_codes)
    if method == "minmax":
        return _minmax(Xs, g, columns, keys)
    if method == "zscore":
        return _zscore(Xs, g, scope_codes, columns, keys)
    return g.rank(method="average").to_numpy()


def _refuse_less_is_better(directions: np.ndarray, columns: Sequence[str]) -> None:
    """base_share has no "less is better" form: refuse a direction of -1."""
    if np.any(directions < 0):
        j = int(np.flatnonzero(directions < 0)[0])
        raise SpecError(
            f"leaf reading {columns[j]!r} has direction -1, which base_share cannot "
            f"express (a share of a national total has no 'less is better' form); "
            f"use normalization='minmax', 'zscore', 'rank' or 'distance_to_frontier', "
            f"or transform the column before building the index"
        )


def _scope_codes(by_codes: np.ndarray, time_codes: np.ndarray, scope: str) -> np.ndarray:
    """Codes of the rows normalized together: ``by`` group x period, or ``by`` only."""
    if scope not in ("period", "global"):
        raise SpecError(f"scope={scope!r}; choose 'period' or 'global'")
    if scope == "global":
        return by_codes
    n_t = int(time_codes.max()) + 1
    return by_codes.astype(np.int64) * n_t + time_codes


def _minmax(Xs: np.ndarray, g, columns: Sequence[str], keys: pd.DataFrame) -> np.ndarray:
    """``(x - min) / (max - min)`` per scope group; a constant column is refused."""
    lo, hi = g.transform("min").to_numpy(), g.transform("max").to_numpy()
    rng = hi - lo
    flat = is_constant(rng, np.maximum(np.abs(lo), np.abs(hi))) & ~np.isnan(rng)
    _refuse_first(flat, columns, keys, "column {column} is constant within the "
                  "normalization group of {at}; min-max scaling divides by max - min")
    return (Xs - lo) / rng


def _zscore(Xs: np.ndarray, g, scope_codes: np.ndarray, columns: Sequence[str],
            keys: pd.DataFrame) -> np.ndarray:
    """``(x - mean) / sd`` per scope group (``ddof=1``); no variation is refused."""
    mu = g.transform("mean").to_numpy()
    sd = g.transform("std").to_numpy()  # ddof=1, as COINr's n_zscore
    top = pd.DataFrame(np.abs(Xs)).groupby(scope_codes, sort=False).transform("max")
    _refuse_first(is_constant(sd, top.to_numpy()), columns, keys,
                  "column {column} has no variation within the normalization group of "
                  "{at}; z-scores divide by the standard deviation")
    return (Xs - mu) / sd


def _frontier(X: np.ndarray, directions: np.ndarray, scope_codes: np.ndarray,
              columns: Sequence[str], keys: pd.DataFrame) -> np.ndarray:
    """Distance to the frontier: ``x / max`` for "more is better", ``min / x`` for
    "less is better", per scope group."""
    pos = directions > 0
    more, less = np.asarray(columns)[pos], np.asarray(columns)[~pos]
    _refuse_first(X[:, pos] < 0, more, keys, "column {column} has a negative value at "
                  "{at}; distance_to_frontier needs non-negative values")
    _refuse_first(X[:, ~pos] <= 0, less, keys, "column {column} has a non-positive value "
                  "at {at}; a 'less is better' distance to frontier needs x > 0")
    raw = pd.DataFrame(X).groupby(scope_codes, sort=False)
    hi, lo = raw.transform("max").to_numpy(), raw.transform("min").to_numpy()
    _refuse_first(hi[:, pos] == 0, more, keys, "column {column} is zero for every unit in "
                  "the normalization group of {at}; the frontier is zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pos, X / np.where(hi == 0, 1.0, hi), lo / np.where(X == 0, 1.0, X))
