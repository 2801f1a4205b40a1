"""Input gate of the disparity measures: an ``IndexResult`` or a long frame -> one tidy panel.

Every public function of :mod:`dtistat.index.disparity` accepts either a computed index
(its scores, entity/time keys and ``metadata`` for groups such as region, tier or
cluster) or a plain long DataFrame with ``value=``, ``entity=``, ``time=``, ``group=``
and ``weights=`` column names. This module turns both into a :class:`Panel` and checks
the values once, naming the column, group or period at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._periods import check_time_types
from dtistat.errors import DataError, ParameterError, PeriodError

__all__ = ["Panel", "as_panel", "check_values", "codes", "wide"]

ALL_PERIODS = "all"


@dataclass(frozen=True)
class Panel:
    """A checked long panel: columns ``entity, time, value[, group][, weight]``.

    ``periods`` are the sorted distinct time keys (in the type the user gave);
    ``entities`` are in order of first appearance.
    """

    frame: pd.DataFrame
    value: str
    entity: str
    time: str | None
    group: str | None
    weights: str | None

    @property
    def periods(self) -> list:
        return list(pd.unique(self.frame["_time"].sort_values()))

    @property
    def entities(self) -> list:
        return list(pd.unique(self.frame["_entity"]))

    def by_period(self):
        """Yield ``(period, sub-frame)`` in time order."""
        yield from self.frame.groupby("_time", sort=True)


def _from_index(res: Any, node: str | None, group: Any, weights: Any) -> tuple[pd.DataFrame, dict]:
    from dtistat.index.analytics import _group_map

    if res.by:
        raise ParameterError(
            f"the index has by-levels {list(res.by)}; disparity measures need one value per "
            f"{res.entity} and period: pass res.collapse_by() (or res.rollup(...))"
        )
    s = res.node(node)
    name = s.name if s.name is not None else (node or res.nodes[0])
    df = s.reset_index()
    df.columns = [res.entity, res.time, str(name)]
    names = {"value": str(name), "entity": res.entity, "time": res.time,
             "group": None, "weights": None}
    if group is not None:
        g = _group_map(res, group, None)
        df[g.name] = g.reindex(df[res.entity]).to_numpy()
        names["group"] = g.name
    if weights is not None:
        w = _group_map(res, weights, None)
        df[w.name] = pd.to_numeric(w.reindex(df[res.entity]), errors="coerce").to_numpy()
        names["weights"] = w.name
    return df, names


def as_panel(data: Any, *, value: str | None = None, entity: str | None = None,
             time: str | None = None, group: Any = None, weights: Any = None,
             need_group: bool = False, need_time: bool = False) -> Panel:
    """Validate ``data`` and return a :class:`Panel`.

    ``data`` is an ``IndexResult`` (``value`` names a node, default the total; ``group``
    and ``weights`` name metadata columns, or pass a Series/dict mapping entities) or a
    DataFrame in long form (one row per entity and period; ``time=None`` means one
    cross-section).
    """
    from dtistat.index.compute import IndexResult

    if isinstance(data, IndexResult):
        df, names = _from_index(data, value, group, weights)
    else:
        df = v.check_frame(data)
        if value is None:
            raise ParameterError("value= must name the column holding the measured variable")
        cols = [c for c in (value, entity, time) if c is not None]
        for extra in (group, weights):
            if extra is not None and not isinstance(extra, str):
                raise ParameterError(f"with a DataFrame, group= and weights= are column names; "
                                     f"got {type(extra).__name__}")
            if extra is not None:
                cols.append(extra)
        v.check_columns(df, cols)
        names = {"value": value, "entity": entity, "time": time, "group": group,
                 "weights": weights}
    if need_group and names["group"] is None:
        raise ParameterError("group= is required: a column (or metadata column) of group labels")
    if need_time and names["time"] is None:
        raise ParameterError("time= is required: the column of periods")
    if need_time and names["entity"] is None:
        raise ParameterError("entity= is required: the column identifying the units "
                             "followed over time")
    return _build(df, names)


def _build(df: pd.DataFrame, n: dict) -> Panel:
    val = n["value"]
    v.check_numeric(df, [val])
    keys = [k for k in (n["entity"], n["time"]) if k is not None]
    v.check_key_types(df, [k for k in (n["entity"], n["group"]) if k is not None])
    v.check_no_nan(df, [val], keys=keys or None)
    out = pd.DataFrame({"_value": df[val].to_numpy(dtype=float)}, index=range(len(df)))
    out["_entity"] = df[n["entity"]].to_numpy() if n["entity"] else np.arange(len(df))
    out["_time"] = df[n["time"]].to_numpy() if n["time"] else ALL_PERIODS
    if n["time"] is not None and pd.isna(out["_time"]).any():
        raise PeriodError(f"column {n['time']!r} has a missing period")
    if n["time"] is not None:
        check_time_types(df[n["time"]], n["time"])
    if n["entity"] is not None:
        if pd.isna(out["_entity"]).any():
            raise DataError(f"column {n['entity']!r} has a missing entity id")
        v.check_unique_keys(out.rename(columns={"_entity": n["entity"],
                                                "_time": n["time"] or "_time"}),
                            [n["entity"], n["time"] or "_time"])
    if n["group"] is not None:
        g = df[n["group"]].to_numpy()
        if pd.isna(g).any():
            i = int(np.flatnonzero(pd.isna(g))[0])
            raise DataError(f"group column {n['group']!r} is missing for row {i} "
                            f"({n['entity']}={out['_entity'].iloc[i]!r})")
        out["_group"] = g
    if n["weights"] is not None:
        w = df[n["weights"]]
        v.check_numeric(df, [n["weights"]])
        v.check_no_nan(df, [n["weights"]], keys=keys or None)
        w = w.to_numpy(dtype=float)
        if (w <= 0).any():
            i = int(np.flatnonzero(w <= 0)[0])
            raise DataError(f"weights column {n['weights']!r} must be positive; row {i} "
                            f"({n['entity']}={out['_entity'].iloc[i]!r}) holds {w[i]!r}")
        out["_weight"] = w
    return Panel(out, val, n["entity"] or "unit", n["time"], n["group"], n["weights"])


def codes(p: Panel) -> tuple[np.ndarray, list, np.ndarray | None, list | None]:
    """Period codes (sorted periods), the periods, group codes and sorted group labels."""
    tc, per = pd.factorize(p.frame["_time"], sort=True)
    if p.group is None:
        return tc, list(per), None, None
    gc, labels = pd.factorize(p.frame["_group"], sort=True)
    return tc, list(per), gc, list(labels)


def check_values(p: Panel, measure: str, *, zeros: bool = True, negatives: bool = False,
                 min_units: int = 2, min_group: int = 1) -> None:
    """Domain checks per period: signs, an all-zero period, too few units per group.

    ``zeros`` says whether the measure accepts zero values (it then needs a positive
    mean); ``negatives`` whether it accepts negative ones.
    """
    f = p.frame
    y = f["_value"].to_numpy()
    if not negatives:
        bad = (y < 0) if zeros else (y <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            need = "non-negative" if zeros else "strictly positive"
            raise DataError(
                f"{measure} needs {need} values of {p.value!r}; {p.entity}="
                f"{f['_entity'].iloc[i]!r}, period {f['_time'].iloc[i]!r} holds {y[i]!r}"
                + (" (zeros are accepted)" if zeros else " (zeros are not accepted)"))
    tc, per, gc, labels = codes(p)
    n_t = np.bincount(tc, minlength=len(per))
    if (n_t < min_units).any():
        j = int(np.flatnonzero(n_t < min_units)[0])
        raise PeriodError(f"{measure}: period {per[j]!r} has {int(n_t[j])} unit(s); "
                          f"need at least {min_units}")
    if not negatives:
        pos = np.bincount(tc, weights=(y > 0).astype(float), minlength=len(per))
        if (pos == 0).any():
            j = int(np.flatnonzero(pos == 0)[0])
            raise DataError(f"{measure}: every value of {p.value!r} is zero in period "
                            f"{per[j]!r}; the measure is undefined (zero mean)")
    if gc is not None and min_group > 1:
        k = len(labels)
        cnt = np.bincount(tc * k + gc, minlength=len(per) * k).reshape(len(per), k)
        small = (cnt > 0) & (cnt < min_group)
        if small.any():
            t, g = np.argwhere(small)[0]
            raise DataError(f"{measure}: group {labels[g]!r} of {p.group!r} has "
                            f"{int(cnt[t, g])} unit(s) in period {per[t]!r}; need at "
                            f"least {min_group}")


def wide(p: Panel, *, balanced: bool = True) -> pd.DataFrame:
    """Entity (rows, first-appearance order) x period (columns, sorted) values."""
    w = p.frame.pivot(index="_entity", columns="_time", values="_value")
    w = w.reindex(index=p.entities, columns=p.periods)
    if balanced and w.isna().any().any():
        r, c = np.argwhere(w.isna().to_numpy())[0]
        raise DataError(f"the panel is unbalanced: {p.entity}={w.index[r]!r} has no value in "
                        f"period {w.columns[c]!r}; this measure needs every {p.entity} in "
                        "every period")
    w.index.name, w.columns.name = p.entity, p.time
    return w
