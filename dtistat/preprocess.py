"""Winsorizing and trimming at percentiles, as Stata's ``winsor2`` (Lian Yujun, SSC).

``winsorize(df, cols, limits=(0.01, 0.99), by=None)`` equals ``winsor2 cols, cuts(1 99)
[by(g)] replace``: values below the lower cut point are set to it, values above the
upper one to it; ``trim`` equals ``winsor2 ..., trim`` (values outside the cut points
become missing). Missing values stay missing and do not count in the percentiles.

Percentile definition (Stata ``_pctile``, ``[D] pctile``, Methods and formulas, also
used by ``summarize, detail`` and ``egen pctile()``): with the n non-missing values
sorted, ``x_(1) <= ... <= x_(n)``, and P = n p / 100 for the p-th percentile,

* if P is not an integer, the percentile is ``x_(floor(P) + 1)``;
* if P is an integer, it is ``(x_(P) + x_(P + 1)) / 2``.

This is numpy's ``percentile(..., method="averaged_inverted_cdf")`` (Hyndman and Fan
1996, definition 2). It is computed here from P = n p / 100 with p in percent (as Stata
does), because numpy forms n q with q = p / 100 as a fraction and, for cut points such
as 7 / 93, that product misses the integer by one ulp (n = 300: 21.000000000000004) and
numpy takes ``x_(22)`` where Stata averages ``x_(21)`` and ``x_(22)``.
Written by hand because no package offers winsor2's by-group cut points with this rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dtistat._validate import as_list, check_columns, check_frame, check_numeric
from dtistat.errors import DataError, ParameterError

__all__ = ["cut_points", "stata_pctile", "trim", "winsorize"]


def _check_limits(limits: object) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in limits)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ParameterError(f"limits must be a pair (lower, upper) of fractions such as "
                             f"(0.01, 0.99); got {limits!r}") from None
    if not 0.0 < lo <= 0.5:
        raise ParameterError(f"limits: the lower cut {lo!r} must be in (0, 0.5] "
                             "(a fraction: 0.01 is the 1st percentile)")
    if not 0.5 <= hi < 1.0:
        raise ParameterError(f"limits: the upper cut {hi!r} must be in [0.5, 1) "
                             "(a fraction: 0.99 is the 99th percentile)")
    return lo, hi


def _percent(q: float) -> float:
    # winsor2 takes cuts in percent; 100 * 0.07 = 7.000000000000001 must read as 7
    return float(round(100.0 * q, 10))


def stata_pctile(x: Sequence[float] | np.ndarray, p: float) -> float:
    """The p-th percentile (p in percent) of the non-missing values, Stata ``_pctile``.

    Examples
    --------
    >>> stata_pctile([1, 2, 3, 4], 50)   # P = 2 is an integer: (x_(2) + x_(3)) / 2
    2.5
    >>> stata_pctile([1, 2, 3, 4, 5], 50)  # P = 2.5: x_(3)
    3.0
    """
    v = np.asarray(x, dtype=float)
    v = np.sort(v[~np.isnan(v)])
    if v.size == 0:
        return float("nan")
    return float(_pctile_sorted(v, np.array([0]), np.array([v.size]), float(p))[0])


def _pctile_sorted(v: np.ndarray, start: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """Percentile p of each group; group g is ``v[start[g]:start[g] + n[g]]``, sorted."""
    P = n * p / 100.0
    i = np.floor(P).astype(np.int64)
    exact = (P == i) & (i >= 1) & (i < n)
    # x_(i+1) (0-based index i) when P is not an integer; clip for P < 1 and P = n
    j = np.clip(i, 0, n - 1)
    out = v[start + j].astype(float)
    if exact.any():
        out[exact] = 0.5 * (v[start[exact] + i[exact] - 1] + v[start[exact] + i[exact]])
    return out


def _group_codes(df: pd.DataFrame, by: list) -> tuple[np.ndarray, int]:
    if not by:
        return np.zeros(len(df), dtype=np.int64), 1
    check_columns(df, by, what="by column")
    for b in by:
        if df[b].isna().any():
            i = int(np.flatnonzero(df[b].isna().to_numpy())[0])
            raise DataError(f"by column {b!r} is missing at row {df.index[i]!r}; fill or "
                            "drop those rows (a group cannot be formed from a missing key)")
    codes = df.groupby(by, sort=True, observed=True).ngroup().to_numpy(dtype=np.int64)
    return codes, int(codes.max()) + 1


def cut_points(df: pd.DataFrame, cols: str | Sequence[str], limits=(0.01, 0.99), *,
               by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Lower and upper cut points of each column (per group of ``by``).

    Returns a frame indexed by the groups (a single row ``"all"`` without ``by``) with
    columns ``(col, "lower")`` and ``(col, "upper")``.

    Examples
    --------
    >>> import pandas as pd
    >>> cp = cut_points(pd.DataFrame({"x": range(1, 101)}), "x", (0.05, 0.95))
    >>> cp.loc["all", ("x", "lower")], cp.loc["all", ("x", "upper")]
    (np.float64(5.5), np.float64(95.5))
    """
    df = check_frame(df)
    cols = check_columns(df, as_list(cols, "cols"), what="column")
    lo, hi = _check_limits(limits)
    by = as_list(by, "by")
    codes, g = _group_codes(df, by)
    out = {}
    for c in cols:
        low, high = _cuts(df, c, codes, g, lo, hi)
        out[(c, "lower")], out[(c, "upper")] = low, high
    index = (pd.Index(["all"]) if not by else
             pd.MultiIndex.from_frame(df[by].drop_duplicates().sort_values(by))
             if len(by) > 1 else pd.Index(sorted(df[by[0]].unique()), name=by[0]))
    return pd.DataFrame(out, index=index)


def _cuts(df: pd.DataFrame, col: str, codes: np.ndarray, g: int, lo: float,
          hi: float) -> tuple[np.ndarray, np.ndarray]:
    check_numeric(df, [col])
    v = df[col].to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(v).any():
        i = int(np.flatnonzero(np.isinf(v))[0])
        raise DataError(f"column {col!r} holds an infinite value at row {df.index[i]!r}; "
                        "percentiles need finite values (set it missing)")
    ok = ~np.isnan(v)
    order = np.lexsort((v[ok], codes[ok]))
    vs = v[ok][order]
    n = np.bincount(codes[ok], minlength=g)
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    low = np.full(g, np.nan)
    high = np.full(g, np.nan)
    has = n > 0
    low[has] = _pctile_sorted(vs, start[has], n[has], _percent(lo))
    high[has] = _pctile_sorted(vs, start[has], n[has], _percent(hi))
    return low, high


def _apply(df, cols, limits, by, suffix, how):
    df = check_frame(df)
    cols = check_columns(df, as_list(cols, "cols"), what="column")
    if suffix is not None and (not isinstance(suffix, str) or not suffix):
        raise ParameterError(f"suffix must be a non-empty string or None (replace the "
                             f"columns), got {suffix!r}")
    lo, hi = _check_limits(limits)
    codes, g = _group_codes(df, as_list(by, "by"))
    out = df.copy()
    for c in cols:
        low, high = _cuts(df, c, codes, g, lo, hi)
        v = df[c].to_numpy(dtype=float, na_value=np.nan)
        lv, hv = low[codes], high[codes]
        if how == "winsor":
            new = np.where(v < lv, lv, np.where(v > hv, hv, v))
        else:
            new = np.where((v < lv) | (v > hv), np.nan, v)
        name = c if suffix is None else f"{c}{suffix}"
        if suffix is not None and name in df.columns:
            raise ParameterError(f"suffix {suffix!r}: column {name!r} already exists; "
                                 "choose another suffix or suffix=None to replace")
        out[name] = pd.Series(new, index=df.index)
    return out


def winsorize(df: pd.DataFrame, cols: str | Sequence[str], limits=(0.01, 0.99), *,
              by: str | Sequence[str] | None = None,
              suffix: str | None = None) -> pd.DataFrame:
    """Winsorize columns at percentiles: Stata ``winsor2 cols, cuts(1 99) [by()]``.

    Parameters
    ----------
    df : pandas.DataFrame
        Never modified; a new frame is returned.
    cols : str or list of str
        Numeric columns to winsorize.
    limits : (float, float)
        Lower and upper cut as fractions: lower in (0, 0.5], upper in [0.5, 1).
        ``(0.01, 0.99)`` is winsor2's ``cuts(1 99)``.
    by : str or list of str, optional
        Cut points computed within each group (winsor2's ``by()``).
    suffix : str, optional
        ``None`` replaces the columns (winsor2's ``replace``); a string adds
        ``col + suffix`` beside them (winsor2's default is ``"_w"``).

    Returns
    -------
    pandas.DataFrame
        A copy with the winsorized columns as float; missing values stay missing.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2, 3, 4, 100, None]})
    >>> winsorize(df, "x", (0.2, 0.8), suffix="_w")["x_w"].tolist()
    [1.5, 2.0, 3.0, 4.0, 52.0, nan]
    """
    return _apply(df, cols, limits, by, suffix, "winsor")


def trim(df: pd.DataFrame, cols: str | Sequence[str], limits=(0.01, 0.99), *,
         by: str | Sequence[str] | None = None, suffix: str | None = None) -> pd.DataFrame:
    """Set values outside the cut points to missing: ``winsor2 cols, cuts(1 99) trim``.

    Arguments as :func:`winsorize` (winsor2's default suffix for trimming is ``"_tr"``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2, 3, 4, 100]})
    >>> trim(df, "x", (0.2, 0.8))["x"].tolist()
    [nan, 2.0, 3.0, 4.0, nan]
    """
    return _apply(df, cols, limits, by, suffix, "trim")
