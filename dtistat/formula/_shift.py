"""Row look-ups for lags and leads within an entity on a calendar with gaps.

``Shifter.rows(k)`` gives, for every row, the row of the same entity k periods earlier
(k < 0: later) and whether that period exists; a lag across a missing period is missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.errors import DataError
from dtistat.formula._time import parse_time

__all__ = ["Shifter", "panel_keys", "panel_shifter"]


_DENSE_MAX = 50_000_000  # entity x period cells up to which a direct look-up table is used


def panel_keys(data: pd.DataFrame, entity: str | None, time: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """Entity codes and calendar positions of every row (``entity=None``: one series)."""
    if entity is None:
        ecode = np.zeros(len(data), dtype=np.int64)
    else:
        ent = data[entity]
        if ent.isna().any():
            i = int(np.flatnonzero(ent.isna().to_numpy())[0])
            raise DataError(f"entity column {entity!r} is missing at row {data.index[i]!r}")
        try:
            ecode = pd.factorize(ent, sort=True)[0].astype(np.int64)
        except TypeError:  # mixed id types (e.g. ints and strings): no order needed
            ecode = pd.factorize(ent.astype(str), sort=True)[0].astype(np.int64)
    tpos, _ = parse_time(data[time], time)
    return ecode, tpos


def panel_shifter(data: pd.DataFrame, entity: str | None, time: str) -> Shifter:
    """The :class:`Shifter` of a panel; duplicate (entity, time) rows refused by name."""
    sh = Shifter(*panel_keys(data, entity, time))
    dup = sh.duplicated()
    if dup.any():
        n_dup = int(dup.sum() - len(np.unique(sh.key[dup])))
        i = int(np.flatnonzero(dup)[0])
        cols = [time] if entity is None else [entity, time]
        ex = data.loc[dup, cols].drop_duplicates().head(3)
        shown = "; ".join(", ".join(f"{c}={_plain(v)!r}" for c, v in zip(cols, r, strict=True))
                          for r in ex.itertuples(index=False))
        what = f"{entity} x {time}" if entity is not None else time
        raise DataError(
            f"duplicate {what} rows: {shown} appear more than once ({n_dup} duplicate "
            f"row(s) in all, first at row {data.index[i]!r}); each entity must have at "
            "most one row per period for lags, leads and differences (aggregate or fix "
            "the time column)"
        )
    return sh


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


class Shifter:
    """Look up the row of (entity, time - k): lags (k > 0) and leads (k < 0) with gaps.

    Rows are found through a dense (entity x period) table when it has at most
    50 million cells (one gather per lag), else by binary search on the sorted keys.

    Examples
    --------
    >>> import numpy as np
    >>> s = Shifter(np.array([0, 0, 0, 1, 1]), np.array([1, 2, 4, 1, 2]))
    >>> rows, found = s.rows(1)
    >>> found.tolist(), rows[found].tolist()
    ([False, True, False, False, True], [0, 3])
    """

    def __init__(self, ecode: np.ndarray, tpos: np.ndarray):
        self.tmin = int(tpos.min())
        self.span = int(tpos.max()) - self.tmin + 1
        self.t0 = tpos - self.tmin
        self.ecode = ecode.astype(np.int64)
        self.key = self.ecode * self.span + self.t0
        cells = (int(self.ecode.max()) + 1) * self.span
        self.table = None
        if cells <= _DENSE_MAX:
            self.table = np.full(cells, -1, dtype=np.int64)
            self.table[self.key] = np.arange(len(self.key))
        else:
            self.order = np.argsort(self.key, kind="stable")
            self.sorted = self.key[self.order]
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def duplicated(self) -> np.ndarray:
        """Rows whose (entity, period) occurs more than once."""
        if self.table is not None:
            return self.table[self.key] != np.arange(len(self.key))  # a later row won
        same = np.r_[False, self.sorted[1:] == self.sorted[:-1]]
        dup = np.zeros(len(self.key), dtype=bool)
        dup[self.order[same]] = True
        dup[self.order[np.r_[same[1:], False]]] = True
        return dup

    def rows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row index of the k-th lag (lead if k < 0) and a mask of rows that have it."""
        if k not in self._cache:
            tt = self.t0 - k
            ok = (tt >= 0) & (tt < self.span)
            target = self.ecode * self.span + np.clip(tt, 0, self.span - 1)
            if self.table is not None:
                r = self.table[target]
                found = ok & (r >= 0)
                self._cache[k] = (np.where(found, r, 0), found)
            else:
                pos = np.minimum(np.searchsorted(self.sorted, target), len(self.sorted) - 1)
                found = ok & (self.sorted[pos] == target)
                self._cache[k] = (self.order[pos], found)
        return self._cache[k]
