"""Panel keys: time positions with calendar gaps, entity codes, duplicate checks, lags."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dtistat._validate import to_quarters
from dtistat.errors import PeriodError

__all__ = ["parse_time", "Shifter"]

def parse_time(s: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer positions on the time axis (gaps respected) and the labels of the rows."""
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise PeriodError(f"time column {name!r} is missing at row {s.index[i]!r}")
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        if not dt.ordered:
            raise PeriodError(
                f"time column {name!r} is an unordered Categorical; make it ordered "
                "(pd.Categorical(..., ordered=True)) or use numbers, quarters or dates"
            )
        return s.cat.codes.to_numpy().astype(np.int64), s.to_numpy()
    if isinstance(dt, pd.PeriodDtype):  # any frequency: its own calendar positions
        pi = pd.PeriodIndex(s)
        return np.asarray(pi.asi8, dtype=np.int64), np.asarray(pi.astype(str))
    if pd.api.types.is_datetime64_any_dtype(dt):
        q = to_quarters(s, name=name)
        return np.asarray(q.asi8, dtype=np.int64), np.asarray(q.astype(str))
    if pd.api.types.is_bool_dtype(dt):
        raise PeriodError(f"time column {name!r} is boolean; use numbers, quarters or dates")
    if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt):
        v = s.to_numpy(dtype=float)
        if not np.all(np.isfinite(v)):
            raise PeriodError(f"time column {name!r} has non-finite values")
        if np.all(v == np.round(v)):
            # integer periods (years): a missing year is a gap
            return v.astype(np.int64), s.to_numpy()
        # other numbers: ordered, consecutive distinct values are adjacent
        return pd.factorize(v, sort=True)[0].astype(np.int64), s.to_numpy()
    # strings / objects: quarters ("2021Q1"), all-digit years, else not orderable
    vals = s.astype(object)
    if vals.map(lambda u: isinstance(u, (int, float, np.integer, np.floating))
                and not isinstance(u, bool)).all():
        return parse_time(pd.Series(vals.to_numpy(dtype=float), index=s.index), name)
    as_str = vals.map(lambda u: u if isinstance(u, str) else None)
    if as_str.notna().all():
        stripped = as_str.str.strip()
        if stripped.str.fullmatch(r"-?\d+").all():
            return stripped.astype(np.int64).to_numpy(), s.to_numpy()
        try:
            q = to_quarters(stripped, name=name)
        except PeriodError:
            bad = next((u for u in pd.unique(stripped) if not re.fullmatch(
                r"\d{4}\s*-?\s*[Qq][1-4]", u)), stripped.iloc[0])
            raise PeriodError(
                f"time column {name!r} is not orderable: {bad!r} is neither a quarter "
                "('2021Q1') nor an integer period; convert it to numbers, dates, "
                "pandas Periods or an ordered Categorical"
            ) from None
        return np.asarray(q.asi8, dtype=np.int64), np.asarray(q.astype(str))
    try:
        q = to_quarters(vals, name=name)
        return np.asarray(q.asi8, dtype=np.int64), np.asarray(q.astype(str))
    except (PeriodError, TypeError, ValueError):
        types = sorted({type(u).__name__ for u in vals})
        raise PeriodError(
            f"time column {name!r} is not orderable (values of type {', '.join(types)}); "
            "use numbers, quarters ('2021Q1'), dates, Periods or an ordered Categorical"
        ) from None


class Shifter:
    """Look up the row of (entity, time - k): lags that respect gaps."""

    def __init__(self, ecode: np.ndarray, tpos: np.ndarray):
        self.tmin = int(tpos.min())
        self.span = int(tpos.max()) - self.tmin + 1
        t0 = tpos - self.tmin
        self.key = ecode.astype(np.int64) * self.span + t0
        self.order = np.argsort(self.key, kind="stable")
        self.sorted = self.key[self.order]
        self.ecode, self.t0 = ecode, t0

    def rows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row index of the k-th lag and a mask of rows that have it."""
        tt = self.t0 - k
        ok = (tt >= 0) & (tt < self.span)
        target = self.ecode.astype(np.int64) * self.span + np.clip(tt, 0, self.span - 1)
        pos = np.searchsorted(self.sorted, target)
        pos = np.minimum(pos, len(self.sorted) - 1)
        found = ok & (self.sorted[pos] == target)
        return self.order[pos], found
