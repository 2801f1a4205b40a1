"""Analytics of a computed index: rollups, annual means, growth, ranks, shares.

Functions here take an ``IndexResult`` and return tidy DataFrames (or, for rollups, a
new ``IndexResult``); they are exposed as its methods.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._periods import per_year, to_period
from dtistat.errors import DataError, ParameterError, PeriodError

if TYPE_CHECKING:
    from dtistat.index.compute import IndexResult

__all__ = ["collapse_by", "rollup", "annual", "growth", "rank", "rank_change", "share",
           "cumulative_top"]

GROWTH_KINDS = ("qoq", "yoy", "yoy_mean")


# ---------------------------------------------------------------------- helpers
def _group_map(res: IndexResult, groups: Any, metadata: pd.DataFrame | None) -> pd.Series:
    """Entity -> group label, from "nation", a metadata column, a dict or a Series."""
    ents = res.entities
    if isinstance(groups, str) and groups == "nation":
        return pd.Series("nation", index=ents, name="nation")
    if isinstance(groups, str):
        meta = metadata if metadata is not None else res.metadata
        if meta is None:
            raise ParameterError(
                f"groups={groups!r} names a metadata column but no metadata was given; "
                f"pass metadata= (e.g. dtistat.datasets.load_cities()) or a mapping"
            )
        if res.entity in meta.columns:
            m = meta.set_index(res.entity)
        else:
            m = meta
        if groups not in m.columns:
            raise ParameterError(
                f"metadata has no column {groups!r}; its columns are {list(m.columns)}"
            )
        if not m.index.is_unique:
            d = m.index[m.index.duplicated()][0]
            raise DataError(f"metadata lists {res.entity} {d!r} more than once")
        mapping = m[groups]
        name = groups
    elif isinstance(groups, pd.Series):
        mapping, name = groups, (groups.name or "group")
    elif isinstance(groups, dict):
        mapping, name = pd.Series(groups), "group"
    else:
        raise ParameterError(
            "groups must be 'nation', a metadata column name, a dict or a Series "
            f"mapping {res.entity} to a group; got {type(groups).__name__}"
        )
    out = mapping.reindex(ents)
    miss = out.isna()
    if miss.any():
        lost = list(ents[miss.to_numpy()][:5])
        raise DataError(
            f"{int(miss.sum())} {res.entity}(s) have no group in {name!r}, e.g. {lost}; "
            f"map every {res.entity} (use a label such as 'other' for the rest)"
        )
    out.name = str(name)
    return out


def _period_values(res: IndexResult, period: Any, node: str | None) -> tuple[pd.Series, str]:
    """The node's scores in one quarter, or the mean over a year's quarters (int year)."""
    s = res.node(node)
    per = res.periods
    if period is None:
        period = per[-1]
    if isinstance(period, str) and period.strip().isdigit():
        period = int(period)  # "2022" (e.g. from the command line) is the year 2022
    if isinstance(period, (int, np.integer)) and not isinstance(period, bool):
        years = sorted(set(per.year))
        if period not in years:
            raise PeriodError(f"year {period} is not in the data; years are {years}")
        t = s.index.get_level_values(res.time)
        sub = s[np.asarray(t.year == period)]
        keys = [res.entity, *res.by]
        return sub.groupby(level=keys, sort=False).mean(), str(period)
    q = to_period(period, per.freq, name="period")
    if q not in per:
        raise PeriodError(
            f"period {str(q)!r} is not in the data; periods run from {per[0]} to {per[-1]}"
        )
    sub = s.xs(q, level=res.time)
    return sub, str(q)


def _ranks(values: pd.Series, group_levels: list) -> pd.Series:
    if group_levels:
        return values.groupby(level=group_levels, sort=False).rank(
            ascending=False, method="min").astype(int)
    return values.rank(ascending=False, method="min").astype(int)


def _attach_groups(res, frame: pd.DataFrame, within, metadata) -> tuple[pd.DataFrame, list]:
    """Add the ``within`` group as an index level; return the frame and group levels."""
    levels = list(res.by)
    if within is None:
        return frame, levels
    g = _group_map(res, within, metadata)
    ent = frame.index.get_level_values(res.entity)
    frame = frame.copy()
    frame[g.name] = g.reindex(ent).to_numpy()
    frame = frame.set_index(g.name, append=True)
    return frame, [g.name, *levels]


# ---------------------------------------------------------------------- rollup
def rollup(res: IndexResult, groups: Any, *, metadata=None, how: str | None = None):
    """Sum (base_share) or mean of entity scores within groups; returns an IndexResult."""
    how = how or ("sum" if res.normalization == "base_share" else "mean")
    v.check_choice(how, ("sum", "mean"), "how")
    g = _group_map(res, groups, metadata)
    name = g.name
    if name in (res.time, *res.by):
        raise ParameterError(f"the group name {name!r} clashes with a key column")

    def agg(frame: pd.DataFrame) -> pd.DataFrame:
        ent = frame.index.get_level_values(res.entity)
        idx = [pd.Index(g.reindex(ent).to_numpy(), name=name)]
        idx += [frame.index.get_level_values(k) for k in (*res.by, res.time)]
        out = frame.groupby(idx, sort=True)
        return out.sum() if how == "sum" else out.mean()

    return dataclasses.replace(
        res,
        scores=agg(res.scores),
        normalized=agg(res.normalized),
        entity=name,
        metadata=None,
    )


def collapse_by(res: IndexResult):
    """Sum scores over the ``by`` levels; returns an IndexResult without ``by``."""
    if not res.by:
        raise ParameterError("collapse_by needs an index computed with by=...")
    if res.normalization != "base_share":
        raise ParameterError(
            "collapse_by sums shares and is defined for normalization='base_share' only"
        )
    levels = [res.entity, res.time]
    return dataclasses.replace(
        res,
        scores=res.scores.groupby(level=levels, sort=True).sum(),
        normalized=res.normalized.groupby(level=levels, sort=True).sum(),
        by=(),
    )


# ---------------------------------------------------------------------- annual
def annual(res: IndexResult, year: int | None = None) -> pd.DataFrame:
    t = res.scores.index.get_level_values(res.time)
    keys = [res.scores.index.get_level_values(k) for k in (res.entity, *res.by)]
    yr = pd.Index(t.year, name="year")
    out = res.scores.groupby([*keys, yr], sort=True).mean()
    count = "n_quarters" if per_year(res.periods.freq) == 4 else "n_periods"
    n = res.scores.iloc[:, 0].groupby([*keys, yr], sort=True).size().rename(count)
    out = out.join(n)
    if year is not None:
        years = sorted(set(yr))
        if year not in years:
            raise PeriodError(f"year {year!r} is not in the data; years are {years}")
        out = out.xs(year, level="year", drop_level=False)
    return out.reset_index()


# ---------------------------------------------------------------------- growth
def growth(res: IndexResult, kind: str = "yoy", *, node=None, start=None, end=None
           ) -> pd.DataFrame:
    v.check_choice(kind, GROWTH_KINDS, "kind")
    s = res.node(node)
    name = s.name
    per = res.periods
    year = per_year(per.freq)
    if kind == "qoq" and year == 1:
        raise ParameterError("kind='qoq' needs quarterly data; the time column holds years "
                             "(use kind='yoy')")
    lag = 1 if kind == "qoq" else year
    idx = s.index
    t = idx.get_level_values(res.time)
    prev_t = t - lag  # exact period arithmetic: a gap in the data gives no previous value
    arrays = [idx.get_level_values(k) for k in (res.entity, *res.by)] + [prev_t]
    prev_idx = pd.MultiIndex.from_arrays(arrays, names=idx.names)
    prev = s.reindex(prev_idx).to_numpy()
    cur = s.to_numpy()
    zero = prev == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(zero, np.nan, cur / prev - 1.0)
    if zero.any():
        v.warn(
            f"{int(zero.sum())} growth rate(s) of {name!r} are undefined because the "
            f"earlier value is zero; they are NaN in the result"
        )
    col = f"{kind if kind != 'yoy_mean' else 'yoy'}"
    out = pd.DataFrame({name: cur, col: g}, index=idx)
    if kind != "yoy_mean":
        return out.reset_index()
    start_q = to_period(start, per.freq, "start") if start is not None else per[0] + lag
    end_q = to_period(end, per.freq, "end") if end is not None else per[-1]
    for label, q in (("start", start_q), ("end", end_q)):
        if q not in per:
            raise PeriodError(
                f"{label}={str(q)!r} is not in the data; periods run from {per[0]} to {per[-1]}"
            )
    if start_q - lag < per[0]:
        raise PeriodError(
            f"start={str(start_q)!r} has no {'quarter' if lag == 4 else 'period'} a year "
            f"earlier in the data (first period {per[0]}); the earliest start is "
            f"{per[0] + lag}"
        )
    if end_q < start_q:
        raise PeriodError(f"end {end_q} is before start {start_q}")
    window = (t >= start_q) & (t <= end_q)
    w = out[np.asarray(window)]
    keys = [res.entity, *res.by]
    mean = w[col].groupby(level=keys, sort=True).mean()
    n_q = w[col].groupby(level=keys, sort=True).count()
    frame = pd.DataFrame({"yoy_mean": mean, "n_quarters" if lag == 4 else "n_periods": n_q})
    frame.attrs["window"] = (str(start_q), str(end_q))
    return frame.reset_index()


# ---------------------------------------------------------------------- ranks
def rank(res: IndexResult, period=None, *, within=None, node=None, metadata=None
         ) -> pd.DataFrame:
    vals, label = _period_values(res, period, node)
    frame = vals.rename("score").to_frame()
    frame, levels = _attach_groups(res, frame, within, metadata)
    frame["rank"] = _ranks(frame["score"], levels)
    frame["period"] = label
    out = frame.reset_index()
    sort = [*levels, "rank", res.entity]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)


def rank_change(res: IndexResult, start, end, *, within=None, node=None, metadata=None
                ) -> pd.DataFrame:
    a = rank(res, start, within=within, node=node, metadata=metadata)
    b = rank(res, end, within=within, node=node, metadata=metadata)
    keys = [c for c in a.columns if c not in ("score", "rank", "period")]
    m = a.drop(columns="period").merge(b.drop(columns="period"), on=keys,
                                       suffixes=("_start", "_end"), how="outer")
    if m[["rank_start", "rank_end"]].isna().any().any():
        raise DataError(
            "some entities are ranked in one period but absent in the other; a rank "
            "change needs both"
        )
    m["rank_start"] = m["rank_start"].astype(int)
    m["rank_end"] = m["rank_end"].astype(int)
    m["change"] = m["rank_start"] - m["rank_end"]  # +1 = moved up one place
    m.attrs["periods"] = (a["period"].iloc[0], b["period"].iloc[0])
    levels = [k for k in keys if k != res.entity]
    return m.sort_values([*levels, "rank_end", res.entity], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------- shares
def share(res: IndexResult, within, *, node=None, period=None, metadata=None
          ) -> pd.DataFrame:
    s = res.node(node)
    name = s.name
    if period is not None:
        s, _ = _period_values(res, period, node)
        s = s.rename(name)
    frame = s.to_frame()
    if isinstance(within, str) and within == "by":
        if not res.by:
            raise ParameterError("within='by' needs an index computed with by=...")
        levels = [lvl for lvl in frame.index.names if lvl not in res.by]
    else:
        frame, levels = _attach_groups(res, frame, within, metadata)
        levels = [lvl for lvl in frame.index.names if lvl != res.entity]
    tot = frame[name].groupby(level=levels, sort=False).transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["share"] = np.where(tot.to_numpy() == 0, np.nan, frame[name] / tot)
    if (tot == 0).any():
        v.warn("some groups have a zero total; their shares are NaN")
    return frame.reset_index()


def cumulative_top(res: IndexResult, within, *, n: int = 3, start=None, end=None,
                   node=None, metadata=None) -> pd.DataFrame:
    if not res.by:
        raise ParameterError("cumulative_top ranks by-levels (industries): compute with by=...")
    v.check_positive_int(n, "n")
    s = res.node(node)
    per = res.periods
    a = to_period(start, per.freq, "start") if start is not None else per[0]
    b = to_period(end, per.freq, "end") if end is not None else per[-1]
    for label, q in (("start", a), ("end", b)):
        if q not in per:
            raise PeriodError(f"{label}={str(q)!r} is not in the data ({per[0]}–{per[-1]})")
    t = s.index.get_level_values(res.time)
    s = s[np.asarray((t >= a) & (t <= b))]
    frame, levels = _attach_groups(res, s.rename("score").to_frame(), within, metadata)
    gname = levels[0]
    tot = frame["score"].groupby(level=[gname, *res.by], sort=True).sum().rename("cumulative")
    tot = tot.reset_index()
    tot["rank"] = tot.groupby(gname)["cumulative"].rank(ascending=False, method="first").astype(int)
    top = tot[tot["rank"] <= n].sort_values([gname, "rank"])
    by_label = top[list(res.by)].astype(str).agg("/".join, axis=1)
    wide = pd.DataFrame({gname: top[gname].to_numpy(), "rank": top["rank"].to_numpy(),
                         "level": by_label.to_numpy()})
    out = wide.pivot(index=gname, columns="rank", values="level")
    out.columns = [f"no.{c}" for c in out.columns]
    return out.reset_index()
