"""One gate for input validation: every public function checks its input here.

The helpers raise :mod:`dtistat.errors` subclasses with messages that name the column,
row or parameter at fault. None of them modifies its input.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtistat.errors import (
    ColumnError,
    DataError,
    DtiStatWarning,
    ParameterError,
    PeriodError,
)

__all__ = [
    "check_frame",
    "check_columns",
    "check_key_types",
    "check_keys",
    "check_writable",
    "check_floats",
    "check_numeric",
    "check_no_nan",
    "check_unique_keys",
    "check_choice",
    "check_positive_int",
    "check_level",
    "check_seed",
    "check_real",
    "check_names",
    "as_list",
    "to_quarter",
    "to_quarters",
    "warn",
]


def warn(message: str, stacklevel: int = 3) -> None:
    """Emit a :class:`DtiStatWarning`."""
    warnings.warn(message, DtiStatWarning, stacklevel=stacklevel)


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value, so messages print ``0``, not ``np.int64(0)``."""
    return value.item() if isinstance(value, np.generic) else value


def as_list(value: Any, name: str = "columns") -> list:
    """Return ``value`` as a list: ``None`` -> [], a string -> [string].

    A nested list (an entry that is itself a list, set, dict or array) is refused with
    its position: names are used as keys, where a list raised a raw TypeError.
    """
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    out = list(value)
    for i, x in enumerate(out):
        if isinstance(x, (list, set, dict, np.ndarray)):
            raise ParameterError(f"{name}[{i}] is the {type(x).__name__} {repr(x)[:60]}; "
                                 f"{name} must be a name or a flat list of names")
    return out


def check_frame(data: Any, name: str = "data", *, multilevel: bool = False) -> pd.DataFrame:
    """Require a non-empty pandas DataFrame with unique column names.

    Multi-level column labels are refused unless ``multilevel`` (a frame only displayed).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{name} must be a pandas DataFrame, got {type(data).__name__}"
        )
    if data.shape[0] == 0:
        raise DataError(f"{name} has no rows")
    cols = data.columns
    if isinstance(cols, pd.MultiIndex) and not multilevel:
        raise DataError(
            f"{name} has multi-level columns (e.g. {cols[0]!r}); dtistat names columns by "
            f"single labels: flatten them first, e.g. data.columns = "
            f"['_'.join(map(str, c)) for c in data.columns]"
        )
    if cols.has_duplicates:
        dup = list(dict.fromkeys(cols[cols.duplicated()]))
        raise DataError(
            f"{name} has duplicate column name(s) {dup[:5]}; every column needs its own "
            f"name (rename or drop the copies)"
        )
    return data


def _kind(value: Any) -> str:
    if isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_)):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def check_keys(data: pd.DataFrame, keys: Iterable) -> None:
    """Require key columns without missing values, each holding one kind of value."""
    for k in as_list(keys, "keys"):
        na = data[k].isna().to_numpy()
        if na.any():
            i = int(np.flatnonzero(na)[0])
            raise DataError(f"key column {k!r} is missing at row {data.index[i]!r} "
                            f"({int(na.sum())} missing in all); every row needs its key")
    check_key_types(data, keys)


def check_floats(values: Any, name: str) -> np.ndarray:
    """``values`` (list, array, Series, frame) as floats; non-numbers are a DataError.

    Missing values (None, pd.NA) become NaN for the caller's own NaN check.
    """
    try:
        if isinstance(values, (pd.Series, pd.DataFrame)):
            return values.to_numpy(dtype=float, na_value=np.nan)
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numbers: {exc}") from None


def check_writable(path: Any, name: str = "path") -> Path:
    """``path`` as a Path to a file whose folder exists (the file itself may not)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"{name} must be a file path, got {type(path).__name__}")
    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{name} {str(p)!r} is a folder; give a file name inside it")
    if not p.parent.is_dir():
        raise ParameterError(f"cannot write {str(p)!r}: the folder {str(p.parent)!r} does "
                             f"not exist (create it first)")
    return p


def check_key_types(data: pd.DataFrame, keys: Iterable) -> None:
    """Require each key column (entity, time, group) to hold one kind of value.

    A column mixing e.g. numbers and strings (``1`` and ``"B"``) cannot be sorted, and
    ``2021`` and ``"2021"`` would be two different keys; say so instead.
    """
    for k in as_list(keys, "keys"):
        s = data[k]
        values = s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else s
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in (
                "mixed", "mixed-integer"):
            continue
        present = pd.Series(values).dropna().reset_index(drop=True)
        kinds = present.map(_kind)
        if kinds.nunique() > 1:
            first = kinds.drop_duplicates()
            examples = " and ".join(f"{present[i]!r} ({first[i]})" for i in first.index[:2])
            raise DataError(
                f"key column {k!r} mixes value types: {examples}; give it one type, e.g. "
                f"data[{k!r}].astype(str)"
            )


def check_columns(data: pd.DataFrame, columns: Iterable, *, what: str = "column") -> list:
    """Require every name in ``columns`` to be a column of ``data``."""
    cols = check_names(as_list(columns, what + "s"), what + "s", strings=False)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        avail = ", ".join(map(str, list(data.columns)[:20]))
        more = " ..." if data.shape[1] > 20 else ""
        raise ColumnError(
            f"{what} {missing[0]!r} not found in the data"
            + (f" (also missing: {missing[1:]})" if len(missing) > 1 else "")
            + f"; available columns: {avail}{more}"
        )
    return cols


def check_numeric(data: pd.DataFrame, columns: Iterable) -> None:
    """Require numeric (not boolean-as-object, not string) dtypes in ``columns``."""
    for c in as_list(columns, "columns"):
        s = data[c]
        if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s)):
            bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
            example = (f"; e.g. row {plain(bad.index[0])!r} holds {plain(bad.iloc[0])!r}"
                       if len(bad) else "")
            raise ColumnError(
                f"column {c!r} must be numeric, got dtype {s.dtype}{example}"
            )


def check_no_nan(
    data: pd.DataFrame, columns: Iterable, *, keys: Sequence | None = None,
    hint: str | None = None,
) -> None:
    """Require no NaN/inf in ``columns``; name the first offending row by its keys.

    ``hint`` names the caller's missing-value option (e.g. ``"missing='drop'"``); the
    message suggests it only when the function has one.
    """
    for c in as_list(columns, "columns"):
        v = data[c].to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where = (
                ", ".join(f"{k}={plain(data[k].iloc[i])!r}" for k in keys)
                if keys
                else f"row {plain(data.index[i])!r}"
            )
            kind = "NaN" if np.isnan(v[i]) else "an infinite value"
            raise DataError(
                f"column {c!r} has {kind} at {where} ({int(bad.sum())} non-finite "
                f"value(s) in all); fill or drop them"
                + (f", or pass {hint}" if hint else "")
            )


def check_unique_keys(data: pd.DataFrame, keys: Sequence) -> None:
    """Require each combination of ``keys`` to appear at most once."""
    keys = as_list(keys, "keys")
    dup = data.duplicated(subset=keys, keep=False)
    if dup.any():
        first = data.loc[dup, keys].iloc[0]
        n = int(data.duplicated(subset=keys).sum())
        where = ", ".join(f"{k}={plain(first[k])!r}" for k in keys)
        raise DataError(
            f"duplicate rows for {' x '.join(map(str, keys))}: {where} appears more "
            f"than once ({n} duplicate row(s) in all); each combination must be unique"
        )


def check_choice(value: Any, options: Iterable, name: str) -> Any:
    """Require ``value`` to be one of ``options``."""
    options = list(options)
    try:
        ok = value in options
    except (TypeError, ValueError):  # an array or Series compared element-wise
        ok = False
    if not ok:
        raise ParameterError(
            f"{name}={value!r} is not valid; choose one of {', '.join(map(repr, options))}"
        )
    return value


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Require an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_n_jobs(value: Any, name: str = "n_jobs") -> int:
    """Threads to use: None or -1 for every available core, else a positive integer."""
    if value is None or (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                         and value == -1):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not on Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(
            f"{name} must be a positive integer, or None / -1 for every core, got {value!r}"
        )
    return int(value)


def check_level(value: Any, name: str = "level") -> float:
    """Require a confidence level strictly between 0 and 1 (a number, not a bool/string)."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise ParameterError(f"{name} must be a number in (0, 1), got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number in (0, 1), got {value!r}") from None
    if not 0.0 < v < 1.0:
        raise ParameterError(f"{name} must be in (0, 1), e.g. 0.95, got {value!r}")
    return v


def check_seed(seed: Any) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from None, an int, or a Generator.

    A Generator passed in is used as is (its state advances), so the caller controls
    reproducibility; an int always gives the same stream.
    """
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(seed, bool):
            raise ParameterError(f"seed must be None, an int or a numpy Generator, got {seed!r}")
        if isinstance(seed, numbers.Integral) and seed < 0:
            raise ParameterError(f"seed must be a non-negative int, got {seed!r}")
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise ParameterError(
        f"seed must be None, a non-negative int or a numpy.random.Generator, got "
        f"{type(seed).__name__}"
    )


def to_quarter(value: Any, name: str = "period") -> pd.Period:
    """Parse one quarter: "2021Q1", "2021-Q1", a pandas Period, or a date.

    A number is refused: pandas would read 2021 as a nanosecond timestamp (1970Q1).
    """
    if isinstance(value, (numbers.Number, np.bool_)):
        raise PeriodError(
            f"{name}={plain(value)!r} is a number, not a quarter; use '2021Q1', a pandas "
            f"Period or a date (integer years are periods of annual data only)"
        )
    try:
        if isinstance(value, pd.Period):
            return value.asfreq("Q")
        if isinstance(value, str):
            s = value.strip().upper().replace("-Q", "Q").replace(" ", "")
            return pd.Period(s, freq="Q")
        return pd.Period(pd.Timestamp(value), freq="Q")
    except (ValueError, TypeError):
        raise PeriodError(
            f"{name}={value!r} is not a quarter; use '2021Q1', a pandas Period or a date"
        ) from None


def to_quarters(values: pd.Series | Sequence, name: str = "time") -> pd.PeriodIndex:
    """Parse a column of quarters into a quarterly ``PeriodIndex`` (vectorized)."""
    s = pd.Series(values)
    if isinstance(s.dtype, pd.PeriodDtype):
        return pd.PeriodIndex(s).asfreq("Q")
    if pd.api.types.is_datetime64_any_dtype(s):
        return pd.PeriodIndex(s, freq="Q")
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if (codes < 0).any():
        raise PeriodError(f"column {name!r} has a missing quarter")
    ordinals = np.array([to_quarter(u, name=name).ordinal for u in uniq], dtype=np.int64)
    return pd.PeriodIndex.from_ordinals(ordinals[codes], freq="Q")


def check_real(value: Any, name: str, *, minimum: float | None = None,
               maximum: float | None = None) -> float:
    """Require a finite real number (not a bool, not a string) within the bounds."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not np.isfinite(value)):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    v = float(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        lo = "-inf" if minimum is None else f"{minimum:g}"
        hi = "inf" if maximum is None else f"{maximum:g}"
        raise ParameterError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return v


def check_names(value: Any, name: str, *, strings: bool = True) -> list:
    """A flat list of names; a bare string is refused (it would be read as its characters).

    Each name must be a string (``strings=False``: any scalar label, as pandas column
    labels may be numbers); a nested list, ``None`` or NaN is refused with its position.

    Examples
    --------
    >>> check_names(("a", "b"), "columns")
    ['a', 'b']
    >>> check_names([["a", "b"]], "columns")
    Traceback (most recent call last):
    ...
    dtistat.errors.ParameterError: columns[0] is the list ['a', 'b']; columns must be a flat ...
    """
    if isinstance(value, (str, bytes)):
        raise ParameterError(
            f"{name} must be a list of names, got the string {value!r}; write "
            f"[{value!r}] for one name"
        )
    if value is None or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ParameterError(f"{name} must be a list of names, got {value!r}")
    out = list(value)
    for i, x in enumerate(out):
        bad = None
        if isinstance(x, (str, np.str_)):
            continue
        if x is None:
            bad = "None"
        elif isinstance(x, (list, set, dict, np.ndarray)) or (
                strings and (isinstance(x, (bytes, bool, np.bool_)) or not np.isscalar(x))):
            bad = f"the {type(x).__name__} {x!r}"
        elif strings:
            bad = f"the {type(x).__name__} {x!r}, not a string"
        elif isinstance(x, float) and x != x:
            bad = "NaN"
        if bad is not None:
            raise ParameterError(f"{name}[{i}] is {bad[:80]}; {name} must be a flat list of "
                                 "names such as ['x1', 'x2']")
    return out
