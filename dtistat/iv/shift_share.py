"""Shift-share ("historical stock x national time series") instruments.

The classic instrument of the digital-economy literature (Huang, Yu and Zhang 2019,
"互联网发展与制造业生产率提升", 中国工业经济; Nunn and Qian 2014 for the construction)
interacts a city's historical endowment -- telephones or post offices per capita in
1984 -- which does not vary over time, with a national series that does -- the number
of internet users in the *previous* year:

    z_it = base_i x shifter_{t - lag}

so that the instrument varies across cities and years and survives city fixed effects.
The base is pre-determined (decades before the sample) and the shifter is national, so
neither responds to a city's current shocks; the exclusion restriction is that the
historical endowment affects today's outcome only through digital development.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat._validate import check_positive_int
from dtistat.errors import DataError, ParameterError

__all__ = ["shift_share"]


def _as_series(obj, key: str, value: str | None, what: str) -> pd.Series:
    if isinstance(obj, pd.Series):
        s = obj.copy()
    elif isinstance(obj, pd.DataFrame):
        if key not in obj.columns:
            raise DataError(f"{what} has no column {key!r}; available: {list(obj.columns)}")
        cols = [c for c in obj.columns if c != key]
        if value is None:
            if len(cols) != 1:
                raise ParameterError(f"{what} has several value columns {cols}; name the one "
                                     f"to use ({what}_col=)")
            value = cols[0]
        if value not in obj.columns:
            raise DataError(f"{what} has no column {value!r}; available: {list(obj.columns)}")
        s = obj.set_index(key)[value]
    else:
        raise DataError(f"{what} must be a DataFrame or a Series indexed by {key!r}, got "
                        f"{type(obj).__name__}")
    if not pd.api.types.is_numeric_dtype(s):
        raise DataError(f"{what} values must be numeric, got dtype {s.dtype}")
    if s.index.duplicated().any():
        raise DataError(f"{what}: {key}={s.index[s.index.duplicated()][0]!r} appears more than "
                        "once; give one value per key")
    bad = ~np.isfinite(s.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        raise DataError(f"{what} is missing or infinite at {key}={s.index[bad][0]!r}")
    return s


def shift_share(base: pd.DataFrame | pd.Series, shifter: pd.DataFrame | pd.Series, *,
                entity: str, time: str, base_col: str | None = None,
                shifter_col: str | None = None, lag: int = 1,
                name: str = "shift_share") -> pd.DataFrame:
    """Build ``base_i x shifter_{t - lag}`` for every entity and every period with a lag.

    Parameters
    ----------
    base : DataFrame or Series
        One row per entity: the historical stock (e.g. 1984 telephones per 100 people).
        A DataFrame holds the ``entity`` column and the value column (``base_col``); a
        Series is indexed by entity.
    shifter : DataFrame or Series
        One row per period: the national series (e.g. internet users). Periods must
        support ``t - lag`` (integers such as years, or pandas Periods).
    entity, time : str
        Names of the identifier columns (in the inputs and the output).
    base_col, shifter_col : str, optional
        Value columns when the frames hold several.
    lag : int
        Periods by which the shifter is lagged (0 = contemporaneous).
    name : str
        Name of the instrument column.

    Returns
    -------
    DataFrame
        Columns ``entity``, ``time``, ``name`` -- one row per entity and period ``t``
        whose lagged shifter ``t - lag`` is given (t = each shifter period + lag);
        merge it onto the panel with
        ``panel.merge(out, on=[entity, time])``.

    Examples
    --------
    >>> import pandas as pd
    >>> base = pd.DataFrame({"city": ["a", "b"], "phones1984": [2.0, 0.5]})
    >>> users = pd.DataFrame({"year": [2010, 2011, 2012], "users": [4.6, 5.1, 5.6]})
    >>> shift_share(base, users, entity="city", time="year", lag=1)
      city  year  shift_share
    0    a  2011         9.20
    1    a  2012        10.20
    2    a  2013        11.20
    3    b  2011         2.30
    4    b  2012         2.55
    5    b  2013         2.80
    """
    lag = check_positive_int(lag, "lag", minimum=0)
    b = _as_series(base, entity, base_col, "base")
    s = _as_series(shifter, time, shifter_col, "shifter").sort_index()
    try:
        times = s.index + lag
    except TypeError:
        raise ParameterError(f"shifter periods of type {type(s.index[0]).__name__} do not "
                             "support t + lag; use integer years or pandas Periods") from None
    lagged = s.to_numpy(dtype=float)
    n_e, n_t = len(b), len(times)
    out = pd.DataFrame({
        entity: np.repeat(b.index.to_numpy(), n_t),
        time: np.tile(np.asarray(times), n_e),
        name: np.repeat(b.to_numpy(dtype=float), n_t) * np.tile(lagged, n_e),
    })
    return out
