"""Time keys of an index: quarters or years as pandas Periods, and back in the user's type.

One reader for every function that takes ``time=`` of an index (``compute_index``,
``weight_sensitivity``, their analytics and tables): quarters (``"2021Q1"``, quarterly
Periods, dates) become quarterly Periods; integer years (``2021``, ``"2021"``, annual
Periods) become annual Periods, so annual data are first-class and never read as
nanosecond timestamps. A column that mixes types (``2021`` and ``"2022"``) or
frequencies (``"2021"`` and ``"2021Q2"``) is refused by name. Results give the keys back
in the type the user gave (:func:`period_out`).
"""

from __future__ import annotations

import numbers
import re
from typing import Any

import numpy as np
import pandas as pd

from dtistat._validate import to_quarter, to_quarters
from dtistat.errors import PeriodError

__all__ = ["parse_periods", "period_out", "to_period", "default_base", "check_uniform_types",
           "check_time_types", "per_year"]

_YEAR = re.compile(r"\d{1,4}")
REPORT_BASE = pd.Period("2021Q1", freq="Q")  # the report's base quarter


def _kind_of(u: Any) -> str:
    if isinstance(u, (bool, np.bool_)):
        return "bool"
    if isinstance(u, numbers.Real):
        return "number"
    if isinstance(u, str):
        return "str"
    if isinstance(u, pd.Period):
        return "Period"
    if isinstance(u, (pd.Timestamp, np.datetime64)) or hasattr(u, "year"):
        return "date"
    return type(u).__name__


def check_uniform_types(s: pd.Series, name: str) -> str:
    """The one kind of value in an object column (``number``, ``str``, ``Period``, ...).

    A column mixing kinds (ints and strings: ``2021`` and ``"2022"``) is a
    :class:`PeriodError` that names the kinds with an example of each.
    """
    seen: dict[str, Any] = {}
    for u in pd.unique(s.to_numpy(dtype=object)):
        seen.setdefault(_kind_of(u), u)
    if len(seen) > 1:
        shown = ", ".join(f"{type(_plain(u)).__name__} (e.g. {_plain(u)!r})"
                          for u in seen.values())
        raise PeriodError(
            f"time column {name!r} mixes types: {shown}; give every period the same type, "
            f"e.g. all integer years (2021) or all strings ('2021' or '2021Q1')"
        )
    kind = next(iter(seen))
    if kind == "bool":
        raise PeriodError(f"time column {name!r} is boolean; use years, quarters or dates")
    return kind


def check_time_types(s: pd.Series, name: str) -> None:
    """Refuse a time column of Python objects that mixes kinds (``2021`` and ``"2022"``).

    For estimators that use time only as labels (fixed effects, clusters, grouping):
    mixed kinds would make ``2016`` and ``"2016"`` two periods, or fail to sort.
    """
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        uniq = pd.Series(pd.unique(s.dropna().to_numpy(dtype=object)), dtype=object)
        if len(uniq) and check_uniform_types(uniq, name) == "str":
            _no_year_quarter_mix(uniq.astype(str).str.strip(), name)


def _no_year_quarter_mix(stripped: pd.Series, name: str) -> None:
    is_year = stripped.str.fullmatch(_YEAR.pattern)
    if is_year.any() and not is_year.all():
        y, q = stripped[is_year].iloc[0], stripped[~is_year].iloc[0]
        raise PeriodError(
            f"time column {name!r} mixes years ({y!r}) and other periods ({q!r}); give "
            f"all periods as years ('2021') or all as quarters ('2021Q1')"
        )


def _plain(u: Any) -> Any:
    return u.item() if isinstance(u, np.generic) else u


def _years(values: np.ndarray, name: str) -> pd.PeriodIndex:
    """Integer years -> annual Periods (a number that is not a whole year is refused)."""
    v = np.asarray(values, dtype=float)
    bad = ~np.isfinite(v) | (v != np.round(v)) | (v < 1) | (v > 9999)
    if bad.any():
        raise PeriodError(
            f"{name}: {_plain(np.asarray(values)[bad][0])!r} is not a year; numbers in a "
            f"time column are read as years (1 to 9999); give quarters as '2021Q1'"
        )
    return pd.PeriodIndex.from_ordinals(v.astype(np.int64) - 1970, freq="Y")


def _strings(s: pd.Series, name: str) -> pd.PeriodIndex:
    codes, uniq = pd.factorize(s)  # parse each distinct label once
    stripped = pd.Series(uniq, dtype=object).astype(str).str.strip()
    if stripped.str.fullmatch(_YEAR.pattern).all():
        years = _years(stripped.astype(np.int64).to_numpy(), f"time column {name!r}")
    else:
        _no_year_quarter_mix(stripped, name)
        years = to_quarters(stripped, name=name)
    return pd.PeriodIndex.from_ordinals(years.asi8[codes], freq=years.freq)


def parse_periods(s: pd.Series, name: str) -> tuple[pd.PeriodIndex, str]:
    """A time column -> (quarterly or annual ``PeriodIndex``, the kind the user gave).

    The kind (``"int"``, ``"float"``, ``"str"``, ``"period"``, ``"datetime"``) lets
    :func:`period_out` give the keys back in the user's type.

    Examples
    --------
    >>> idx, kind = parse_periods(pd.Series([2021, 2022]), "year")
    >>> idx.freqstr, kind, period_out(idx, kind).tolist()
    ('Y-DEC', 'int', [2021, 2022])
    >>> parse_periods(pd.Series(["2021Q1", "2021Q2"]), "quarter")[0].freqstr
    'Q-DEC'
    """
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise PeriodError(f"time column {name!r} is missing at row {_plain(s.index[i])!r}")
    dt = s.dtype
    if isinstance(dt, pd.PeriodDtype):
        return _period_dtype(pd.PeriodIndex(s), name), "period"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return to_quarters(s, name=name), "datetime"
    if pd.api.types.is_bool_dtype(dt):
        raise PeriodError(f"time column {name!r} is boolean; use years, quarters or dates")
    if pd.api.types.is_integer_dtype(dt):
        return _years(s.to_numpy(), f"time column {name!r}"), "int"
    if pd.api.types.is_float_dtype(dt):
        return _years(s.to_numpy(), f"time column {name!r}"), "float"
    if pd.api.types.is_numeric_dtype(dt):
        raise PeriodError(f"time column {name!r} has dtype {dt}; use years or quarters")
    kind = check_uniform_types(s, name)
    if kind == "number":
        ints = all(isinstance(u, numbers.Integral) for u in pd.unique(s.to_numpy(object)))
        return _years(s.to_numpy(dtype=float), f"time column {name!r}"), \
            "int" if ints else "float"
    if kind == "str":
        return _strings(s, name), "str"
    if kind == "Period":
        return _period_dtype(pd.PeriodIndex(list(s)), name), "period"
    return to_quarters(s, name=name), "datetime"


def _period_dtype(idx: pd.PeriodIndex, name: str) -> pd.PeriodIndex:
    code = idx.freqstr.split("-")[0]
    if code in ("Q", "QE"):
        return idx.asfreq("Q")
    if code in ("Y", "A", "YE"):
        return idx.asfreq("Y")
    raise PeriodError(
        f"time column {name!r} holds Periods of frequency {idx.freqstr}; an index takes "
        f"quarters or years (aggregate to one of them first)"
    )


def per_year(freq: Any) -> int:
    """Periods in a year: 4 for quarters, 1 for years."""
    return 4 if pd.Period("2021Q1", freq="Q").asfreq(freq).freqstr.startswith("Q") else 1


def _is_annual(freq: Any) -> bool:
    return per_year(freq) == 1


def to_period(value: Any, freq: Any, name: str = "period") -> pd.Period:
    """One period at the data's frequency: a quarter for quarterly data, a year for annual.

    A year given for quarterly data, or a quarter for annual data, is a
    :class:`PeriodError` that says which the data hold.

    Examples
    --------
    >>> to_period("2021", "Y"), to_period(2021, "Y"), to_period("2021Q3", "Q")
    (Period('2021', 'Y-DEC'), Period('2021', 'Y-DEC'), Period('2021Q3', 'Q-DEC'))
    """
    if not _is_annual(freq):
        year = (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))) \
            or (isinstance(value, str) and _YEAR.fullmatch(value.strip()) is not None)
        if year:
            raise PeriodError(
                f"{name}={_plain(value)!r} is a year, but the time column holds quarters; "
                f"give a quarter such as '2021Q1'"
            )
        return to_quarter(value, name=name)
    if isinstance(value, (bool, np.bool_)):
        raise PeriodError(f"{name}={value!r} is not a year; give a year such as 2021")
    if isinstance(value, numbers.Real):
        return _years(np.array([value]), name)[0]
    if isinstance(value, str) and _YEAR.fullmatch(value.strip()):
        return _years(np.array([int(value.strip())]), name)[0]
    if isinstance(value, pd.Period) and _is_annual(value.freq):
        return value.asfreq("Y")
    raise PeriodError(
        f"{name}={_plain(value)!r} is not a year, but the time column holds years; give "
        f"a year such as 2021"
    )


def default_base(freq: Any) -> pd.Period:
    """The report's base (2021Q1) at the data's frequency: 2021Q1, or the year 2021."""
    return REPORT_BASE.asfreq(freq)


def period_out(values: Any, kind: str) -> Any:
    """Periods back in the type the user gave (``to_frame``, tables)."""
    idx = values if isinstance(values, pd.PeriodIndex) else pd.PeriodIndex(values)
    if kind == "int":
        return np.asarray(idx.year, dtype=np.int64)
    if kind == "float":
        return np.asarray(idx.year, dtype=float)
    if kind == "str":
        return np.asarray(idx.astype(str), dtype=object)
    if kind == "datetime":
        return idx.to_timestamp()
    return idx
