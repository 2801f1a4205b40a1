"""Time keys of a panel: integer positions on the calendar (gaps respected) and labels.

One reader for every estimator that lags, leads or differences within an entity: a
missing period is a gap, so the lag of 2021Q3 when 2021Q2 is absent is missing.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dtistat._periods import check_uniform_types
from dtistat._validate import to_quarters
from dtistat.errors import PeriodError

__all__ = ["parse_time"]


def parse_time(s: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer positions on the time axis (calendar gaps respected) and the row labels.

    Quarters (``"2021Q1"``, dates, quarterly Periods) map to quarter ordinals; integers
    and all-digit strings (years) are their own positions, so a missing year is a gap;
    Periods of any other frequency use their own calendar; other numbers and ordered
    Categoricals are ordered with consecutive distinct values adjacent.

    Parameters
    ----------
    s : pandas.Series
        The time column.
    name : str
        Its name, for error messages.

    Returns
    -------
    positions : numpy.ndarray of int64
    labels : numpy.ndarray
        The value of each row as the user gave it (quarters as ``"2021Q1"`` strings).

    Raises
    ------
    PeriodError
        Missing, boolean, unordered-categorical or unparsable time values.

    Examples
    --------
    >>> import pandas as pd
    >>> pos, lab = parse_time(pd.Series(["2021Q1", "2021Q2", "2021Q4"]), "quarter")
    >>> (pos - pos[0]).tolist(), lab.tolist()
    ([0, 1, 3], ['2021Q1', '2021Q2', '2021Q4'])
    """
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
    return _parse_objects(s, name)


def _parse_objects(s: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Strings / objects: numbers, quarters ("2021Q1"), all-digit years, else refused.

    A column mixing kinds (2021 and "2022") or years and quarters ("2021", "2021Q2")
    is refused by name: read one way it would give false duplicates or a wrong order.
    """
    check_uniform_types(s, name)
    vals = s.astype(object)
    if vals.map(lambda u: isinstance(u, (int, float, np.integer, np.floating))
                and not isinstance(u, bool)).all():
        return parse_time(pd.Series(vals.to_numpy(dtype=float), index=s.index), name)
    as_str = vals.map(lambda u: u if isinstance(u, str) else None)
    if as_str.notna().all():
        stripped = as_str.str.strip()
        digits = stripped.str.fullmatch(r"-?\d+")
        if digits.all():
            return stripped.astype(np.int64).to_numpy(), s.to_numpy()
        if digits.any():
            raise PeriodError(
                f"time column {name!r} mixes years ({stripped[digits].iloc[0]!r}) and other "
                f"periods ({stripped[~digits].iloc[0]!r}); give all periods as years or all "
                "as quarters ('2021Q1')"
            )
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
