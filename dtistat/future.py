"""Future-industry development index from start-up firm records (集聚度, 活跃度, 成长性, 多样性).

The report's PART 2 builds a future-industry index from start-up firm data: four
dimensions -- agglomeration (集聚度), activity (活跃度), growth (成长性) and diversity
(多样性) -- over six domains (information, biology, energy, manufacturing, materials,
space) for cities and provinces. :func:`future_industry_index` reduces firm records
(tens of millions of rows) to an entity × domain × quarter cube of counts and sums, turns
the cube into the dimension indicators, and combines them through the same
:class:`~dtistat.spec.IndexSpec` / :func:`~dtistat.index.compute.compute_index` path as
the DTI, so the result carries :class:`~dtistat.index.compute.IndexResult` objects with
rollups, growth and rankings.

Two engines compute the same cube: ``"pandas"`` (integer codes and ``np.bincount`` on
one machine) and ``"dask"`` (``dask.dataframe`` group-by sums, on a local or a
multi-machine ``dask.distributed`` cluster). Everything after the cube is shared code,
so both engines give the same numbers up to floating-point summation order.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._results import Result, Summary
from dtistat.errors import (
    ColumnError,
    DataError,
    ParameterError,
    PeriodError,
    SpecError,
)
from dtistat.index.compute import IndexResult, compute_index
from dtistat.spec import IndexSpec

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd

__all__ = [
    "DOMAIN_LABELS_ZH",
    "FUTURE_DOMAINS",
    "TYPICAL_CITIES",
    "FutureIndexResult",
    "future_industry_index",
    "future_spec",
]

#: The six future-industry domains of the report's PART 2, in this order.
FUTURE_DOMAINS: tuple[str, ...] = (
    "information", "biology", "energy", "manufacturing", "materials", "space",
)

#: Chinese domain names -> keys; pass as ``domain_map=`` when the registry uses them.
DOMAIN_LABELS_ZH: dict[str, str] = {
    "信息": "information", "生物": "biology", "能源": "energy",
    "制造": "manufacturing", "材料": "materials", "空间": "space",
    "未来信息": "information", "未来生物": "biology", "未来能源": "energy",
    "未来制造": "manufacturing", "未来材料": "materials", "未来空间": "space",
}

#: The report's typical cities (PART 2 "典型城市：北京/上海/深圳").
TYPICAL_CITIES: tuple[str, ...] = ("北京", "上海", "深圳")

ENGINES = ("pandas", "dask")
GROWTH_RULES = ("symmetric", "yoy")
DIVERSITY_MEASURES = ("entropy", "hhi")
ALL = "all"  # the domain label of the all-domain rows
_YOY_LAG = 4

_DIMENSION_LABELS = {
    "agglomeration": "集聚度", "activity": "活跃度", "growth": "成长性", "diversity": "多样性",
}


# =========================================================================== the spec
def future_spec(*, funding: bool = True, capital: bool = False,
                diversity: str = "entropy") -> IndexSpec:
    """The default spec of the future-industry index: four dimensions, equal weights.

    ::

        future (未来产业发展指数)
          agglomeration (集聚度)   share, lq
          activity (活跃度)        new_firms, [funding_events], [new_capital]
          growth (成长性)          new_firms_growth, [funding_growth]
          diversity (多样性)       entropy  (or one_minus_hhi)  <- column "diversity"

    Equal weights at every level: the report does not publish the weights of its
    future-industry index, and equal weighting is the neutral default of the OECD/JRC
    *Handbook on Constructing Composite Indicators* (2008). Pass expert scores or explicit
    weights with :meth:`IndexSpec.with_weights` / a spec of your own to change them.

    Parameters
    ----------
    funding : bool
        Include the funding leaves (needs ``funding=`` in :func:`future_industry_index`).
    capital : bool
        Include ``new_capital`` (registered capital of new firms) under activity.
    diversity : {"entropy", "hhi"}
        Name of the diversity leaf (``entropy`` or ``one_minus_hhi``); both read the
        column ``diversity`` of the dimension table.

    Examples
    --------
    >>> from dtistat.future import future_spec
    >>> future_spec(funding=False).columns
    ['share', 'lq', 'new_firms', 'new_firms_growth', 'diversity']
    """
    v.check_choice(diversity, DIVERSITY_MEASURES, "diversity")
    activity = [{"name": "new_firms", "label": "新设企业数"}]
    growth = [{"name": "new_firms_growth", "label": "新设企业同比增速"}]
    if funding:
        activity.append({"name": "funding_events", "label": "融资事件数"})
        growth.append({"name": "funding_growth", "label": "融资额同比增速"})
    if capital:
        activity.append({"name": "new_capital", "label": "新设企业注册资本"})
    leaf = "entropy" if diversity == "entropy" else "one_minus_hhi"
    return IndexSpec.from_dict({
        "name": "future", "label": "未来产业发展指数",
        "children": [
            {"name": "agglomeration", "label": "集聚度", "children": [
                {"name": "share", "label": "全国份额"},
                {"name": "lq", "label": "区位熵"}]},
            {"name": "activity", "label": "活跃度", "children": activity},
            {"name": "growth", "label": "成长性", "children": growth},
            {"name": "diversity", "label": "多样性", "children": [
                {"name": leaf, "label": "领域多样性", "column": "diversity"}]},
        ],
    })


def _without(spec: IndexSpec, columns: set[str]) -> IndexSpec:
    """The spec with the leaves reading ``columns`` removed (emptied nodes removed too)."""

    def prune(node):
        if node.is_leaf:
            return None if node.column in columns else node
        kids = tuple(k for k in (prune(c) for c in node.children) if k is not None)
        return dataclasses.replace(node, children=kids) if kids else None

    if not any(leaf.column in columns for leaf in spec.leaves):
        return spec
    root = prune(spec.root)
    if root is None:
        raise SpecError(
            f"the spec reads only {sorted(columns)}, which this index level cannot use; "
            f"add other leaves (see future_spec())"
        )
    sc = spec.expert_scores
    if sc is not None:
        keep = [c for c in sc.columns if c in {n.name for n in root.walk()}]
        sc = sc[keep] if keep else None
    return IndexSpec(root, sc)


# =========================================================================== inputs
def _where(part: int | None) -> str:
    return "" if part is None else f" of partition {part}"


def _first_row(index: pd.Index, mask: np.ndarray) -> Any:
    return index[int(np.flatnonzero(mask)[0])]


def _entity_codes(s: pd.Series, name: str, part: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and labels of the entity column; a missing or blank entity is an error."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64, copy=False)
        labels = np.asarray(s.cat.categories, dtype=object)
    else:
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        codes = codes.astype(np.int64, copy=False)
        labels = np.asarray(uniq, dtype=object)
    bad = codes < 0
    blank = np.array([isinstance(x, str) and not x.strip() for x in labels], dtype=bool)
    if blank.any():
        bad |= blank[np.where(bad, 0, codes)] & ~bad
    if bad.any():
        row = _first_row(s.index, bad)
        raise DataError(
            f"column {name!r} (the entity) is missing at row {row!r}{_where(part)} "
            f"({int(bad.sum())} firm(s) without an entity in all); every firm needs the "
            f"city (or province) it is registered in -- fill or drop those rows"
        )
    return codes, labels


def _domain_keys(labels: Sequence, domains: Sequence[str], domain_map: Mapping | None
                 ) -> np.ndarray:
    """Position of each raw domain label in ``domains`` (after ``domain_map``); -1 if unknown."""
    pos = {d: i for i, d in enumerate(domains)}
    dmap = dict(domain_map or {})
    out = np.full(len(labels), -1, dtype=np.int64)
    for i, lab in enumerate(labels):
        if not _isna(lab):
            key = dmap.get(lab, lab)
            if isinstance(key, str) and key in pos:
                out[i] = pos[key]
    return out


def _unknown_domains(labels: Sequence, keys: np.ndarray, counts: np.ndarray,
                     domains: Sequence[str], domain_map: Mapping | None, name: str,
                     first_row=None, part: int | None = None) -> None:
    """Raise listing every label that maps to no domain, with its count (and a row)."""
    unknown = [i for i in range(len(labels)) if keys[i] < 0 and counts[i] > 0]
    if not unknown:
        return
    dmap = dict(domain_map or {})
    parts = []
    for i in sorted(unknown, key=lambda i: -counts[i])[:20]:
        lab = labels[i]
        text = "missing (NaN)" if _isna(lab) else repr(lab)
        if not _isna(lab) and lab in dmap:
            text += f" (mapped to {dmap[lab]!r})"
        row = f", e.g. row {first_row(i)!r}{_where(part)}" if first_row is not None else ""
        parts.append(f"{text}: {int(counts[i]):,} firm(s){row}")
    more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
    raise DataError(
        f"column {name!r} has {len(unknown)} value(s) that are not future-industry "
        f"domains: {'; '.join(parts)}{more}. Valid domains are {list(domains)}; pass "
        f"domain_map= to map your labels to them (dtistat.future.DOMAIN_LABELS_ZH maps "
        f"信息/生物/能源/制造/材料/空间), or domains= for another domain set"
    )


def _isna(x: Any) -> bool:
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _domain_codes(s: pd.Series, domains: Sequence[str], domain_map: Mapping | None,
                  name: str, part: int | None = None) -> np.ndarray:
    if isinstance(s.dtype, pd.CategoricalDtype):
        raw = s.cat.codes.to_numpy().astype(np.int64, copy=False)
        labels = list(s.cat.categories)
    else:
        raw, uniq = pd.factorize(s, use_na_sentinel=True)
        raw = raw.astype(np.int64, copy=False)
        labels = list(uniq)
    if (raw < 0).any():  # missing domain: a label of its own so that it is listed
        labels = labels + [np.nan]
        raw = np.where(raw < 0, len(labels) - 1, raw)
    keys = _domain_keys(labels, domains, domain_map)
    if (keys < 0).any():
        counts = np.bincount(raw, minlength=len(labels))
        _unknown_domains(labels, keys, counts, domains, domain_map, name,
                         lambda i: s.index[int(np.flatnonzero(raw == i)[0])], part)
    return keys[raw]


def _as_of(as_of: Any) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp.now(tz="UTC").tz_localize(None)
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise ParameterError(f"as_of={as_of!r} is not a date; give e.g. '2023-03-31'") from None
    if ts is pd.NaT:
        raise ParameterError(f"as_of={as_of!r} is not a date; give e.g. '2023-03-31'")
    return ts.tz_convert(None) if ts.tzinfo is not None else ts


def _quarter_ordinals(s: pd.Series, name: str, as_of: pd.Timestamp,
                      part: int | None = None) -> np.ndarray:
    """Founding dates -> quarterly Period ordinals; unparsable and future dates are errors."""
    if isinstance(s.dtype, pd.PeriodDtype):
        per = pd.PeriodIndex(s)
        bad = np.asarray(per.isna())
        if bad.any():
            raise DataError(
                f"column {name!r} (founding date) is missing at row "
                f"{_first_row(s.index, bad)!r}{_where(part)} ({int(bad.sum())} in all); "
                f"every firm needs its founding date")
        start = per.asfreq("D", how="start").to_timestamp()
        future = np.asarray(start > as_of)
        if future.any():
            i = int(np.flatnonzero(future)[0])
            raise DataError(
                f"column {name!r} has founding period {str(per[i])!r} at row "
                f"{s.index[i]!r}{_where(part)}, after as_of={as_of.date()} "
                f"({int(future.sum())} such firm(s)); founding dates cannot lie in the future")
        return per.asfreq("Q").asi8.astype(np.int64)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ts = s
        if getattr(s.dtype, "tz", None) is not None:
            ts = s.dt.tz_convert(None)
        arr = ts.to_numpy()
        nat = np.isnat(arr)
        if nat.any():
            raise DataError(
                f"column {name!r} (founding date) is missing at row "
                f"{_first_row(s.index, nat)!r}{_where(part)} ({int(nat.sum())} in all); "
                f"every firm needs its founding date -- fill or drop those rows")
        _check_future(arr, s.index, name, as_of, part)
        return arr.astype("datetime64[M]").astype(np.int64) // 3
    # strings (or objects): parse each distinct value once -- registries repeat dates a lot
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if (codes < 0).any():
        bad = codes < 0
        raise DataError(
            f"column {name!r} (founding date) is missing at row "
            f"{_first_row(s.index, bad)!r}{_where(part)} ({int(bad.sum())} in all); every "
            f"firm needs its founding date -- fill or drop those rows")
    parsed = pd.to_datetime(pd.Series(np.asarray(uniq, dtype=object)), errors="coerce",
                            format="mixed")
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    p = parsed.to_numpy()
    badu = np.isnat(p)
    if badu.any():
        bad = badu[codes]
        i = int(np.flatnonzero(bad)[0])
        examples = [repr(x) for x in np.asarray(uniq, dtype=object)[badu][:5]]
        raise DataError(
            f"column {name!r} has an unparsable founding date {s.iloc[i]!r} at row "
            f"{s.index[i]!r}{_where(part)} ({int(bad.sum())} firm(s) with "
            f"{int(badu.sum())} distinct unparsable value(s), e.g. {', '.join(examples)}); "
            f"use dates such as '2021-03-15' or a datetime64 column")
    _check_future(p[codes], s.index, name, as_of, part)
    q = p.astype("datetime64[M]").astype(np.int64) // 3
    return q[codes]


def _check_future(arr: np.ndarray, index: pd.Index, name: str, as_of: pd.Timestamp,
                  part: int | None) -> None:
    limit = np.datetime64(as_of.to_datetime64(), "ns")
    future = arr > limit
    if future.any():
        i = int(np.flatnonzero(future)[0])
        raise DataError(
            f"column {name!r} has founding date {pd.Timestamp(arr[i]).date()} at row "
            f"{index[i]!r}{_where(part)}, after as_of={as_of.date()} "
            f"({int(future.sum())} such firm(s)); founding dates cannot lie in the future "
            f"-- fix them, or pass as_of= if the extract is dated later")


def _amounts(s: pd.Series, name: str, what: str, part: int | None = None
             ) -> tuple[np.ndarray, int]:
    """A non-negative amount column as float; NaN counts as 0 and is counted for a warning."""
    if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
        x = pd.to_numeric(s, errors="coerce")
        bad = (x.isna() & s.notna()).to_numpy()
        if bad.any():
            raise ColumnError(
                f"column {name!r} ({what}) must be numeric; row {_first_row(s.index, bad)!r}"
                f"{_where(part)} holds {s[bad].iloc[0]!r}")
        s = x
    a = s.to_numpy(dtype=float, na_value=np.nan)
    nan = np.isnan(a)
    neg = a < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise DataError(
            f"column {name!r} ({what}) is negative ({float(a[i])!r}) at row {s.index[i]!r}"
            f"{_where(part)} ({int(neg.sum())} negative value(s) in all); amounts must be "
            f">= 0 (0 = none)")
    if np.isinf(a).any():
        i = int(np.flatnonzero(np.isinf(a))[0])
        raise DataError(f"column {name!r} ({what}) is infinite at row {s.index[i]!r}"
                        f"{_where(part)}; amounts must be finite")
    n_nan = int(nan.sum())
    if n_nan:
        a = np.where(nan, 0.0, a)
    return a, n_nan


@dataclass(frozen=True)
class _Columns:
    entity: str
    domain: str
    date: str
    capital: str | None
    funding: str | None
    rounds: str | None

    @property
    def used(self) -> list[str]:
        return [c for c in (self.entity, self.domain, self.date, self.capital,
                            self.funding, self.rounds) if c is not None]


@dataclass(frozen=True)
class _Cube:
    """Entity × domain × quarter sums of the firm records (the only thing engines compute)."""

    entities: pd.Index
    domains: tuple[str, ...]
    q0: int                    # Period ordinal of the first quarter (axis 2 index 0)
    n: np.ndarray              # (E, K, T) new firms
    events: np.ndarray         # funding events of the firms founded in the quarter
    amount: np.ndarray         # funding amount of those firms
    capital: np.ndarray        # registered capital of those firms
    n_nan: dict[str, int]      # missing amounts counted as 0, per column

    @property
    def last(self) -> int:
        return self.q0 + self.n.shape[2] - 1


def _sorted_entities(labels: np.ndarray) -> np.ndarray:
    """Positions that sort entity labels (by value; by text when types are mixed)."""
    try:
        return np.argsort(pd.Index(labels, dtype=object).to_numpy(), kind="stable")
    except TypeError:
        return np.argsort(np.array([str(x) for x in labels], dtype=object), kind="stable")


def _cube_pandas(df: pd.DataFrame, cols: _Columns, domains: Sequence[str],
                 domain_map: Mapping | None, as_of: pd.Timestamp) -> _Cube:
    """The pandas engine: integer codes and ``np.bincount`` (no group-by over firms)."""
    e_codes, e_labels = _entity_codes(df[cols.entity], cols.entity)
    d_codes = _domain_codes(df[cols.domain], domains, domain_map, cols.domain)
    q = _quarter_ordinals(df[cols.date], cols.date, as_of)
    n_nan: dict[str, int] = {}
    weights: dict[str, np.ndarray | None] = {"events": None, "amount": None, "capital": None}
    if cols.funding is not None:
        amount, n_nan[cols.funding] = _amounts(df[cols.funding], cols.funding, "funding")
        weights["amount"] = amount
        if cols.rounds is not None:
            weights["events"], n_nan[cols.rounds] = _amounts(
                df[cols.rounds], cols.rounds, "funding rounds")
        else:
            weights["events"] = (amount > 0).astype(np.float64)
    if cols.capital is not None:
        weights["capital"], n_nan[cols.capital] = _amounts(
            df[cols.capital], cols.capital, "registered capital")
    q0, q1 = int(q.min()), int(q.max())
    E, K, T = len(e_labels), len(domains), q1 - q0 + 1
    cell = (e_codes * K + d_codes) * T + (q - q0)
    del q, d_codes
    size = E * K * T
    n = np.bincount(cell, minlength=size).reshape(E, K, T)
    sums = {k: (np.zeros((E, K, T)) if w is None else
                np.bincount(cell, weights=w, minlength=size).reshape(E, K, T))
            for k, w in weights.items()}
    # categorical entities may list categories without firms: keep observed ones only
    seen = n.reshape(E, -1).sum(axis=1) > 0
    keep = np.flatnonzero(seen)
    order = keep[_sorted_entities(e_labels[keep])]
    return _Cube(
        entities=pd.Index(list(e_labels[order]), name=cols.entity),
        domains=tuple(domains), q0=q0, n=n[order].astype(np.float64),
        events=sums["events"][order], amount=sums["amount"][order],
        capital=sums["capital"][order], n_nan=n_nan,
    )


# ------------------------------------------------------------------------- dask engine
_ENC = ("n", "events", "amount", "capital")


def _encode_partition(pdf: pd.DataFrame, cols: _Columns, as_of: pd.Timestamp,
                      partition_info: dict | None = None) -> pd.DataFrame:
    """One partition -> entity, raw domain label, quarter ordinal and the summable values.

    Row-level checks (entity, dates, amounts) run here, on the workers, and name the row
    within its partition; the domain check runs on the (small) grouped result.
    """
    part = None if partition_info is None else partition_info.get("number")
    e_codes, e_labels = _entity_codes(pdf[cols.entity], cols.entity, part)
    q = _quarter_ordinals(pdf[cols.date], cols.date, as_of, part)
    dom = pdf[cols.domain]
    out = {
        "entity": pd.array(e_labels[e_codes] if len(pdf) else np.array([], dtype=object),
                           dtype=object),
        "domain": pd.array(np.asarray(dom.astype(object) if isinstance(
            dom.dtype, pd.CategoricalDtype) else dom, dtype=object), dtype=object),
        "q": q.astype(np.int64),
        "n": np.ones(len(pdf), dtype=np.int64),
    }
    zeros = np.zeros(len(pdf))
    out["events"] = out["amount"] = out["capital"] = zeros
    for key in ("nan_funding", "nan_rounds", "nan_capital"):
        out[key] = np.zeros(len(pdf), dtype=np.int64)
    if cols.funding is not None:
        amount, _ = _amounts(pdf[cols.funding], cols.funding, "funding", part)
        out["amount"] = amount
        out["nan_funding"] = pdf[cols.funding].isna().to_numpy().astype(np.int64)
        if cols.rounds is not None:
            out["events"], _ = _amounts(pdf[cols.rounds], cols.rounds, "funding rounds", part)
            out["nan_rounds"] = pdf[cols.rounds].isna().to_numpy().astype(np.int64)
        else:
            out["events"] = (amount > 0).astype(np.float64)
    if cols.capital is not None:
        out["capital"], _ = _amounts(pdf[cols.capital], cols.capital, "registered capital",
                                     part)
        out["nan_capital"] = pdf[cols.capital].isna().to_numpy().astype(np.int64)
    return pd.DataFrame(out)


def _cube_dask(ddf: dd.DataFrame, cols: _Columns, domains: Sequence[str],
               domain_map: Mapping | None, as_of: pd.Timestamp) -> _Cube:
    """The dask engine: encode each partition, then one ``groupby(...).sum()``."""
    meta = _encode_partition(ddf._meta, cols, as_of)
    enc = ddf.map_partitions(_encode_partition, cols, as_of, meta=meta)
    g = (enc.groupby(["entity", "domain", "q"], dropna=False, observed=True).sum()
         .compute().reset_index())
    if len(g) == 0:
        raise DataError("the firm table has no rows")
    # domains: check on the grouped labels (lists every unknown label with its count)
    d_codes_raw, d_uniq = pd.factorize(g["domain"], use_na_sentinel=True)
    labels = list(d_uniq)
    if (d_codes_raw < 0).any():
        labels.append(np.nan)
        d_codes_raw = np.where(d_codes_raw < 0, len(labels) - 1, d_codes_raw)
    counts = np.bincount(d_codes_raw, weights=g["n"].to_numpy(), minlength=len(labels))
    keys = _domain_keys(labels, domains, domain_map)
    _unknown_domains(labels, keys, counts, domains, domain_map, cols.domain)
    d_codes = keys[d_codes_raw]
    e_codes, e_uniq = pd.factorize(g["entity"], use_na_sentinel=True)
    e_labels = np.asarray(e_uniq, dtype=object)
    order = _sorted_entities(e_labels)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    e_pos = rank[e_codes]
    q = g["q"].to_numpy(dtype=np.int64)
    q0, q1 = int(q.min()), int(q.max())
    E, K, T = len(e_labels), len(domains), q1 - q0 + 1
    idx = (e_pos, d_codes, q - q0)
    arrays = {}
    for k in _ENC:
        a = np.zeros((E, K, T))
        np.add.at(a, idx, g[k].to_numpy(dtype=np.float64))
        arrays[k] = a
    n_nan = {}
    for c, key in ((cols.funding, "nan_funding"), (cols.rounds, "nan_rounds"),
                   (cols.capital, "nan_capital")):
        if c is not None and not (key == "nan_rounds" and cols.funding is None):
            n_nan[c] = int(g[key].sum())
    return _Cube(
        entities=pd.Index(list(e_labels[order]), name=cols.entity), domains=tuple(domains),
        q0=q0, n=arrays["n"], events=arrays["events"], amount=arrays["amount"],
        capital=arrays["capital"], n_nan=n_nan,
    )


def _parquet_columns(path: Path) -> list[str]:
    try:
        import pyarrow.dataset as pads
    except ImportError:  # pragma: no cover - pyarrow ships with the distributed extra
        raise ParameterError(
            'reading Parquet needs pyarrow: pip install "dtistat[distributed]"') from None
    try:
        return list(pads.dataset(str(path), format="parquet").schema.names)
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise DataError(f"cannot read Parquet data at {str(path)!r}: {exc}") from None


def _is_dask(obj: Any) -> bool:
    mod = type(obj).__module__ or ""
    return mod.startswith("dask") and hasattr(obj, "map_partitions")


def _load(firms: Any, cols: _Columns, engine: str, npartitions: int | None):
    """Return a pandas or dask DataFrame holding (at least) the columns used."""
    if isinstance(firms, (str, os.PathLike)):
        path = Path(firms)
        if not path.exists():
            raise DataError(
                f"Parquet path {str(path)!r} does not exist; give a DataFrame, a Dask "
                f"DataFrame, a .parquet file or a folder of .parquet files")
        names = _parquet_columns(path)
        missing = [c for c in cols.used if c not in names]
        if missing:
            raise ColumnError(
                f"column {missing[0]!r} not found in the Parquet data at {str(path)!r}"
                + (f" (also missing: {missing[1:]})" if len(missing) > 1 else "")
                + f"; available columns: {', '.join(names[:20])}")
        if engine == "dask":
            import dask.dataframe as ddm

            return ddm.read_parquet(str(path), columns=cols.used)
        return pd.read_parquet(path, columns=cols.used, engine="pyarrow")
    if _is_dask(firms):
        missing = [c for c in cols.used if c not in firms.columns]
        if missing:
            raise ColumnError(
                f"column {missing[0]!r} not found in the Dask DataFrame; available "
                f"columns: {', '.join(map(str, list(firms.columns)[:20]))}")
        sub = firms[cols.used]
        return sub if engine == "dask" else sub.compute()
    if isinstance(firms, pd.DataFrame):
        v.check_frame(firms, "firms")
        v.check_columns(firms, cols.used, what="column")
        v.check_key_types(firms, [cols.entity])
        if engine == "dask":
            import dask.dataframe as ddm

            nparts = npartitions or max(1, min(64, len(firms) // 1_000_000))
            return ddm.from_pandas(firms[cols.used], npartitions=nparts)
        return firms
    raise DataError(
        f"firms must be a pandas DataFrame, a Parquet path or folder, or a Dask "
        f"DataFrame; got {type(firms).__name__}")


# =========================================================================== dimensions
def _growth(cur: np.ndarray, prev: np.ndarray, rule: str) -> np.ndarray:
    """Year-on-year growth with the zero-base rule of ``rule`` (see the docstring)."""
    if rule == "symmetric":
        mid = (cur + prev) / 2.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(mid > 0, (cur - prev) / np.where(mid > 0, mid, 1.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(prev > 0, cur / np.where(prev > 0, prev, 1.0) - 1.0, 0.0)
    return np.where((prev == 0) & (cur > 0), np.nan, g)


def _diversity(n: np.ndarray, measure: str) -> np.ndarray:
    """Diversity of new firms across domains (axis 1): entropy / ln K, or 1 - HHI."""
    tot = n.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(tot > 0, n / np.where(tot > 0, tot, 1.0), 0.0)
    if measure == "entropy":
        K = n.shape[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        # "+ 0.0" turns the -0.0 of a single-domain entity into 0.0
        h = (-plogp.sum(axis=1) / math.log(K) + 0.0) if K > 1 else np.zeros(p.shape[::2])
        return np.where(tot[:, 0] > 0, h, 0.0)
    return np.where(tot[:, 0] > 0, 1.0 - (p * p).sum(axis=1), 0.0)


def _dimensions(cube: _Cube, periods: pd.PeriodIndex, *, window: int | None, growth: str,
                diversity: str, entity: str, domain: str, time: str,
                has_funding: bool, has_capital: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dimension table (entity, domain incl. "all", quarter) and the empty-cell report."""
    E, K, T = cube.n.shape
    D = K + 1  # domains + "all"

    def with_all(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a, a.sum(axis=1, keepdims=True)], axis=1)

    n = with_all(cube.n)
    # active start-ups: firms founded within the last `window` quarters (cumulative if None)
    c = np.cumsum(n, axis=2)
    if window is None or window >= T:
        active = c
    else:
        active = c.copy()
        active[:, :, window:] -= c[:, :, :-window]
    nat = active.sum(axis=0, keepdims=True)                  # (1, D, T)
    ent = active[:, K:K + 1, :]                              # (E, 1, T) entity total
    grand = nat[:, K:K + 1, :]                               # (1, 1, T)
    pos = active > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pos, active / np.where(nat > 0, nat, 1.0), 0.0)
        lq = np.where(pos, (active / np.where(ent > 0, ent, 1.0))
                      / np.where(nat > 0, nat / np.where(grand > 0, grand, 1.0), 1.0), 0.0)
    cols: dict[str, np.ndarray] = {"active": active, "share": share, "lq": lq,
                                   "new_firms": n}
    t_idx = (periods.asi8 - cube.q0).astype(np.int64)
    prev_idx = t_idx - _YOY_LAG
    cols["new_firms_growth"] = _growth(n[:, :, t_idx], n[:, :, prev_idx], growth)
    if has_funding:
        events, amount = with_all(cube.events), with_all(cube.amount)
        cols["funding_events"] = events
        cols["funding_amount"] = amount
        cols["funding_growth"] = _growth(amount[:, :, t_idx], amount[:, :, prev_idx], growth)
    if has_capital:
        cols["new_capital"] = with_all(cube.capital)
    div = _diversity(cube.n, diversity)                       # (E, T)
    cols["diversity"] = np.repeat(div[:, None, :], D, axis=1)
    grown = {"new_firms_growth", "funding_growth"}
    P = len(periods)
    flat = {k: (a if k in grown else a[:, :, t_idx]).reshape(-1) for k, a in cols.items()}
    dom_labels = [*cube.domains, ALL]
    index = pd.MultiIndex.from_product(
        [cube.entities, pd.CategoricalIndex(dom_labels, categories=dom_labels, ordered=True),
         periods], names=[entity, domain, time])
    table = pd.DataFrame(flat, index=index)
    # ---- the empty-cell report
    rows = []
    nat_new = n[:, :, t_idx].sum(axis=0)                      # (D, P)
    for d, t in zip(*np.nonzero(nat_new[:K] == 0)):
        rows.append(("no new firm in the domain anywhere", None, dom_labels[d], periods[t]))
    nat_act = nat[0][:, t_idx]
    for d, t in zip(*np.nonzero(nat_act[:K] == 0)):
        rows.append(("no active start-up in the domain anywhere (share, lq = 0)", None,
                     dom_labels[d], periods[t]))
    ent_new = n[:, K, :][:, t_idx]                            # (E, P)
    for e, t in zip(*np.nonzero(ent_new == 0)):
        rows.append(("no new firm in any domain (diversity = 0)", cube.entities[e], ALL,
                     periods[t]))
    for k in sorted(grown & set(cols)):
        miss = np.isnan(cols[k])
        for e, d, t in zip(*np.nonzero(miss)):
            rows.append((f"{k}: zero base a year earlier (left out of the index)",
                         cube.entities[e], dom_labels[d], periods[t]))
    empty = pd.DataFrame(rows, columns=["what", entity, domain, time])
    assert table.shape[0] == E * D * P
    return table, empty


# =========================================================================== periods
def _q(ordinal: int) -> pd.Period:
    return pd.PeriodIndex.from_ordinals([int(ordinal)], freq="Q")[0]


def _periods(periods: Any, cube: _Cube, window: int | None) -> pd.PeriodIndex:
    first, last = cube.q0, cube.last
    cover = (_q(first), _q(last))
    earliest = first + _YOY_LAG
    if periods is None:
        full = first + (window - 1 if window is not None else 0)
        start = max(earliest, full)
        if start > last:
            start = earliest
        if start > last:
            raise PeriodError(
                f"the firm records cover {cover[0]}–{cover[1]}, less than the year needed "
                f"for year-on-year growth; give records from at least five quarters")
        if window is not None and start < full:
            v.warn(f"the records ({cover[0]}–{cover[1]}) are shorter than window={window} "
                   f"quarters; the active stock of early periods is truncated")
        return pd.period_range(_q(start), cover[1], freq="Q")
    vals = (v.as_list(periods, "periods") if not isinstance(periods, pd.PeriodIndex)
            else list(periods))
    if not vals:
        raise ParameterError("periods= is empty; give e.g. ('2021Q1', '2023Q1') or None")
    qs = [v.to_quarter(x, name="periods") for x in vals]
    a, b = min(qs), max(qs)
    if a.ordinal < earliest:
        raise PeriodError(
            f"periods start at {a}, but year-on-year growth needs the quarter a year "
            f"earlier and the firm records start in {cover[0]}; the earliest period is "
            f"{_q(earliest)}")
    if b.ordinal > last:
        raise PeriodError(
            f"periods end at {b}, after the last founding quarter in the records "
            f"({cover[1]}); quarters after the extract would be empty -- end at {cover[1]} "
            f"or earlier")
    if window is not None and a.ordinal - window + 1 < first:
        v.warn(f"the active stock (window={window} quarters) of periods before "
               f"{_q(first + window - 1)} reaches back before the "
               f"first record ({cover[0]}) and is truncated")
    return pd.period_range(a, b, freq="Q")


# =========================================================================== result
@dataclass(frozen=True, eq=False, repr=False)
class FutureIndexResult(Result):
    """The future-industry index: dimension table, all-domain and per-domain IndexResults.

    Attributes
    ----------
    index : IndexResult
        Entity × quarter, all domains together, the four dimensions (``lq`` left out:
        it is 1 by definition). ``index.rollup("province", metadata=cities)``,
        ``index.growth("yoy")``, ``index.rank("2023Q1")`` work as for the DTI.
    domains : IndexResult
        Entity × domain × quarter (``by=(domain,)``), agglomeration, activity and
        growth (diversity left out: it describes the entity's whole domain mix).
    dimensions : DataFrame
        (entity, domain, quarter) -> the raw dimension indicators: ``active``,
        ``share``, ``lq``, ``new_firms``, ``new_firms_growth``, [``funding_events``,
        ``funding_amount``, ``funding_growth``], [``new_capital``], ``diversity``; the
        domain level ``"all"`` holds the all-domain rows.
    empty : DataFrame
        Cells whose value comes from a zero rule (what, entity, domain, quarter).
    options : dict
        The choices made (window, growth rule, diversity measure, engine, as_of, ...).
    national_year_earlier : Series
        National new firms a year before each period, per domain (for ``national_table``).

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat.future import future_industry_index
    >>> firms = pd.DataFrame({
    ...     "city": list("ABABABABAB") * 2,
    ...     "domain": ["information", "biology"] * 5 + ["biology", "information"] * 5,
    ...     "founded": pd.date_range("2020-01-01", periods=20, freq="36D")})
    >>> res = future_industry_index(firms, domains=["information", "biology"],
    ...                             window=None, normalization="rank",
    ...                             as_of="2023-01-01")
    >>> res.national_table()[["domain", "quarter", "new_firms", "top"]].head(2)
            domain quarter  new_firms top
    0  information  2021Q1        1.0   B
    1  information  2021Q2        2.0   B
    >>> res.profiles(["B"])[["name", "domain", "rank"]]
      name       domain  rank
    0    B  information     1
    1    B      biology     2
    2    B          all     1
    >>> res.comovement().shape
    (2, 2)
    """

    index: IndexResult
    domains: IndexResult
    dimensions: pd.DataFrame
    empty: pd.DataFrame
    spec: IndexSpec
    entity: str
    domain: str
    time: str
    options: Mapping[str, Any] = field(default_factory=dict)
    metadata: pd.DataFrame | None = field(default=None, repr=False)
    national_year_earlier: pd.Series | None = field(default=None, repr=False)

    @property
    def periods(self) -> pd.PeriodIndex:
        return self.index.periods

    @property
    def entities(self) -> pd.Index:
        return self.index.entities

    def to_frame(self) -> pd.DataFrame:
        """Dimension table with the index score of each row (domain and all-domain)."""
        root = self.spec.root.name
        dom = self.domains.scores[root]
        tot = self.index.scores[root]
        score = pd.Series(np.nan, index=self.dimensions.index, name="score")
        key = self.dimensions.index.get_level_values(self.domain)
        is_all = np.asarray(key == ALL)
        score.iloc[np.flatnonzero(~is_all)] = dom.reindex(
            self.dimensions.index[~is_all]).to_numpy()
        ent_t = self.dimensions.index[is_all].droplevel(self.domain)
        score.iloc[np.flatnonzero(is_all)] = tot.reindex(ent_t).to_numpy()
        return self.dimensions.assign(score=score).reset_index()

    def national_table(self) -> pd.DataFrame:
        """National figures per domain and quarter, with the leading entity.

        Columns: domain, quarter, n_entities, active, new_firms, [funding_events,
        funding_amount], new_firms_growth (national, same growth rule), mean_score,
        top (the entity with the highest score) and top_score.
        """
        dims = self.dimensions
        sums = [c for c in ("active", "new_firms", "funding_events", "funding_amount")
                if c in dims.columns]
        nat = dims[sums].groupby(level=[self.domain, self.time], observed=True).sum()
        frame = self.to_frame()
        g = frame.groupby([self.domain, self.time], observed=True, sort=True)["score"]
        best = frame.loc[g.idxmax().to_numpy(), [self.domain, self.time, self.entity, "score"]]
        best = best.set_index([self.domain, self.time]).rename(
            columns={self.entity: "top", "score": "top_score"})
        out = nat.join(g.size().rename("n_entities")).join(g.mean().rename("mean_score"))
        out = out.join(best)
        # national new-firm growth of the national series, by the same rule
        prev = self.national_year_earlier.reindex(out.index)
        out["new_firms_growth"] = _growth(out["new_firms"].to_numpy(), prev.to_numpy(),
                                          self.options["growth"])
        cols = ["n_entities", *sums, "new_firms_growth", "mean_score", "top", "top_score"]
        return out[cols].reset_index()

    def profiles(self, cities: Sequence[Any] | Any = TYPICAL_CITIES, *, period: Any = None,
                 metadata: pd.DataFrame | None = None) -> pd.DataFrame:
        """Domain profiles of typical cities (the report's 北京, 上海, 深圳).

        For each city and domain (and ``"all"``): the index score, its rank among all
        entities in that domain and quarter, and the raw dimension indicators.

        Parameters
        ----------
        cities : entity labels or names
            Entity labels, or names found in a string column of ``metadata`` (e.g.
            ``name_short`` of :func:`dtistat.datasets.load_cities`: "北京").
        period : quarter, optional
            Default: the last period.
        metadata : DataFrame, optional
            Entity metadata with the entity column; default the one given to
            :func:`future_industry_index`.
        """
        ids = self._resolve(v.as_list(cities, "cities"), metadata)
        per = self.periods
        q = per[-1] if period is None else v.to_quarter(period, name="period")
        if q not in per:
            raise PeriodError(f"period {str(q)!r} is not in the index; periods run from "
                              f"{per[0]} to {per[-1]}")
        frame = self.to_frame()
        frame = frame[frame[self.time] == q].copy()
        frame["rank"] = (frame.groupby(self.domain, observed=True)["score"]
                         .rank(ascending=False, method="min").astype(int))
        frame["n_ranked"] = frame.groupby(self.domain, observed=True)["score"].transform("size")
        names = {i: lab for lab, i in ids}
        sub = frame[frame[self.entity].isin(list(names))].copy()
        sub.insert(0, "name", sub[self.entity].map(names))
        order = {i: k for k, (_, i) in enumerate(ids)}
        sub["_o"] = sub[self.entity].map(order)
        sub = sub.sort_values(["_o", self.domain], kind="stable").drop(columns="_o")
        lead = ["name", self.entity, self.domain, self.time, "score", "rank", "n_ranked"]
        rest = [c for c in sub.columns if c not in lead]
        return sub[lead + rest].reset_index(drop=True)

    def _resolve(self, cities: list, metadata: pd.DataFrame | None) -> list[tuple[Any, Any]]:
        ents = set(self.entities)
        if metadata is not None:
            v.check_frame(metadata, "metadata")
        meta = metadata if metadata is not None else self.metadata
        out = []
        for c in cities:
            if c in ents:
                out.append((c, c))
                continue
            hit = None
            if meta is not None and self.entity in meta.columns:
                for col in meta.columns:
                    if col == self.entity or not (pd.api.types.is_string_dtype(meta[col])
                                                  or meta[col].dtype == object):
                        continue
                    m = meta[meta[col] == c]
                    if len(m):
                        hit = m[self.entity].iloc[0]
                        break
            if hit is None or hit not in ents:
                why = ("" if meta is not None else
                       "; pass metadata= (e.g. dtistat.datasets.load_cities()) to look "
                       "names up")
                raise ParameterError(
                    f"city {c!r} is neither an entity of the index nor a name in the "
                    f"metadata{why}; entities are e.g. {list(self.entities[:5])}")
            out.append((c, hit))
        return out

    def comovement(self, *, period: Any = None, node: str | None = None,
                   method: str = "pearson") -> pd.DataFrame:
        """Domain co-movement: correlation of domain indices across entities.

        The report's PART 3 finding ("信息领域和制造、空间和生物等领域相互融合趋势明显")
        reads off this matrix: the correlation, across cities, of the domain index
        scores.

        Parameters
        ----------
        period : quarter, int year or None
            One quarter, the mean over a year's quarters, or (None) the mean over all
            periods of each entity's domain score.
        node : str, optional
            A node or leaf of the domain index (default its total), e.g.
            ``"agglomeration"`` or ``"lq"``.
        method : {"pearson", "spearman", "kendall"}

        Returns
        -------
        DataFrame
            Domain × domain correlation matrix.
        """
        v.check_choice(method, ("pearson", "spearman", "kendall"), "method")
        s = self.domains.node(node)
        t = s.index.get_level_values(self.time)
        label = "all periods"
        if period is not None:
            if isinstance(period, (int, np.integer)) and not isinstance(period, bool):
                keep = np.asarray(t.year == period)
                if not keep.any():
                    raise PeriodError(f"year {period} is not in the index; years are "
                                      f"{sorted(set(self.periods.year))}")
                label = str(period)
            else:
                q = v.to_quarter(period, name="period")
                if q not in self.periods:
                    raise PeriodError(f"period {str(q)!r} is not in the index; periods run "
                                      f"from {self.periods[0]} to {self.periods[-1]}")
                keep = np.asarray(t == q)
                label = str(q)
            s = s[keep]
        wide = s.groupby(level=[self.entity, self.domain], observed=True).mean().unstack(
            self.domain)
        wide.columns = [str(c) for c in wide.columns]
        const = [c for c in wide.columns if wide[c].nunique() < 2]
        if const:
            raise DataError(
                f"domain(s) {const} have the same score for every {self.entity} in "
                f"{label}; their correlation with other domains is undefined")
        out = wide.corr(method=method)
        out.index.name = self.domain
        out.attrs["period"] = label
        return out

    def _headline(self) -> list[str]:
        per = self.periods
        return [f"{len(self.entities)} {self.entity}",
                f"{len(self.options.get('domains', ()))} domains",
                f"{len(per)} quarters ({per[0]}-{per[-1]})"]

    def summary(self) -> Summary:
        """The options, the top 5 in the last quarter and the national table."""
        per = self.periods
        o = self.options
        top = self.index.rank(per[-1]).head(5).reset_index(drop=True)
        top.index = top.index + 1
        header = [("Units", f"{len(self.entities)} {self.entity}"),
                  ("Domains", ", ".join(map(str, o.get("domains", ())))),
                  ("Quarters", f"{len(per)} ({per[0]}-{per[-1]})"),
                  ("Options", f"window={o.get('window')}, growth={o.get('growth')}, "
                              f"diversity={o.get('diversity')}, "
                              f"normalization={self.index.normalization}, "
                              f"engine={o.get('engine')}")]
        return Summary("Future-industry index",
                       {f"Top 5 by {self.spec.root.name!r} in {per[-1]}": top,
                        "National figures by domain and quarter":
                            self.national_table().set_index([self.domain, self.time])},
                       header=header,
                       notes=[f"{len(self.empty)} cell(s) set by a zero rule (see .empty)"])

    def __str__(self) -> str:
        per = self.periods
        o = self.options
        last = self.index.rank(per[-1]).head(5)
        lines = [
            (f"FutureIndexResult: {len(self.entities)} {self.entity} × "
             f"{len(o.get('domains', ()))} domains × {len(per)} quarters "
             f"({per[0]}–{per[-1]}), engine={o.get('engine')}"),
            (f"window={o.get('window')} quarters, growth={o.get('growth')}, "
             f"diversity={o.get('diversity')}, normalization={self.index.normalization}"),
            f"{len(self.empty)} cell(s) set by a zero rule (see .empty)",
            "",
            f"Top 5 by '{self.spec.root.name}' in {per[-1]}:",
            last.to_string(index=False),
        ]
        return "\n".join(lines)


# =========================================================================== main
def _check_options(*, entity, domain, date, capital, funding, rounds, domains, domain_map,
                   spec, engine, growth, diversity, window, npartitions, as_of):
    """Validate the options of :func:`future_industry_index`; the spec to use."""
    v.check_choice(engine, ENGINES, "engine")
    v.check_choice(growth, GROWTH_RULES, "growth")
    v.check_choice(diversity, DIVERSITY_MEASURES, "diversity")
    if window is not None:
        window = v.check_positive_int(window, "window")
    if npartitions is not None:
        npartitions = v.check_positive_int(npartitions, "npartitions")
    domains = tuple(domains)
    if not domains or len(set(domains)) != len(domains) or ALL in domains:
        raise ParameterError(
            f"domains must be distinct labels, at least one, not {ALL!r}; got {list(domains)}")
    if domain_map is not None and not isinstance(domain_map, Mapping):
        raise ParameterError(f"domain_map must be a mapping label -> domain, got "
                             f"{type(domain_map).__name__}")
    names = [entity, domain, date] + [c for c in (capital, funding, rounds) if c is not None]
    if len(set(names)) != len(names):
        raise ParameterError(f"entity, domain, date, capital, funding and rounds must be "
                             f"distinct columns, got {names}")
    if rounds is not None and funding is None:
        raise ParameterError("rounds= counts funding events and needs funding= (the amount)")
    cols = _Columns(entity, domain, date, capital, funding, rounds)
    as_of_ts = _as_of(as_of)
    if isinstance(spec, Mapping):
        spec = IndexSpec.from_dict(spec)
    if spec is None:
        spec = future_spec(funding=funding is not None, capital=capital is not None,
                           diversity=diversity)
    elif not isinstance(spec, IndexSpec):
        raise ParameterError(f"spec must be an IndexSpec or a mapping, got "
                             f"{type(spec).__name__}")
    if engine == "dask":
        try:
            import dask.dataframe  # noqa: F401
        except ImportError:  # pragma: no cover - exercised only without dask
            raise ParameterError(
                'engine="dask" needs dask: pip install "dtistat[distributed]" '
                '(dask[distributed] and pyarrow)') from None
    return cols, spec, domains, window, npartitions, as_of_ts


def _warn_empty(empty: pd.DataFrame) -> None:
    """Say which cells a zero rule filled where it changes what the index means."""
    if not len(empty):
        return
    counts = empty["what"].value_counts()
    loud = [w for w in counts.index if "anywhere" in w or "any domain" in w
            or "zero base" in w]
    if loud:
        v.warn("; ".join(f"{int(counts[w])} cell(s): {w}" for w in loud)
               + " -- see .empty", stacklevel=4)


def _indices(dims, empty, spec, *, entity, domain, growth, normalization, aggregation,
             scope, base_period, metadata):
    """The per-domain and the all-domain IndexResults from the dimension table."""
    growth_cols = {"new_firms_growth", "funding_growth"} & set(spec.columns)
    if normalization == "base_share" and growth_cols:
        raise ParameterError(
            f"normalization='base_share' divides by national totals and needs non-negative "
            f"amounts, but the spec reads growth rates {sorted(growth_cols)}, which can be "
            f"negative; use normalization='minmax' (default), 'zscore' or 'rank', or a spec "
            f"without growth leaves")
    missing = "skip" if growth == "yoy" else "error"
    kw = {"entity": entity, "time": "quarter", "normalization": normalization,
          "aggregation": aggregation, "scope": scope, "base_period": base_period,
          "missing": missing, "metadata": metadata}
    is_all = np.asarray(dims.index.get_level_values(domain) == ALL)
    by_dom = dims[~is_all].reset_index()
    by_dom[domain] = by_dom[domain].astype(str)
    tot = dims[is_all].reset_index(level=domain, drop=True).reset_index()
    try:
        res_dom = compute_index(by_dom, _without(spec, {"diversity"}), by=domain, **kw)
        res_all = compute_index(tot, _without(spec, {"lq"}), **kw)
    except DataError as exc:
        text = str(exc)
        if len(empty) and ("constant" in text or "variation" in text or "zero" in text):
            raise type(exc)(f"{exc} (the firm records leave {len(empty)} cell(s) empty; "
                            f"see the warning above, and restrict periods= or choose "
                            f"normalization='rank')") from exc
        raise
    return res_dom, res_all


def future_industry_index(
    firms: pd.DataFrame | str | os.PathLike | dd.DataFrame,
    *,
    entity: str = "city",
    domain: str = "domain",
    date: str = "founded",
    capital: str | None = None,
    funding: str | None = None,
    rounds: str | None = None,
    periods: Any = None,
    spec: IndexSpec | Mapping | None = None,
    engine: str = "pandas",
    window: int | None = 20,
    growth: str = "symmetric",
    diversity: str = "entropy",
    domains: Sequence[str] = FUTURE_DOMAINS,
    domain_map: Mapping[Any, str] | None = None,
    as_of: Any = None,
    normalization: str = "minmax",
    aggregation: str = "arithmetic",
    scope: str = "period",
    base_period: Any = "2021Q1",
    metadata: pd.DataFrame | None = None,
    npartitions: int | None = None,
) -> FutureIndexResult:
    """Future-industry development index from start-up firm records.

    Each firm record (one row per firm) has an entity (city or province), a domain and
    a founding date, optionally its registered capital and funding. The records are
    reduced to counts and sums per entity e × domain d × founding quarter s, from which
    the four dimensions of the report's PART 2 are computed per entity × domain × quarter t
    (and for all domains together), then combined with ``spec`` by
    :func:`~dtistat.index.compute.compute_index`.

    Parameters
    ----------
    firms : DataFrame, str or path, or dask DataFrame
        Firm records, a Parquet file or folder (read with pyarrow, only the columns
        used), or a Dask DataFrame. Never modified.
    entity, domain, date : str
        Columns: the entity (e.g. ``"city_id"``), the domain label and the founding date
        (datetime, a date string, or a pandas Period).
    capital : str, optional
        Registered capital (>= 0); adds ``new_capital`` to the table (and to the
        default spec's activity).
    funding : str, optional
        Cumulative funding raised by the firm (>= 0). Without it the funding leaves are
        left out of the default spec.
    rounds : str, optional
        Number of funding rounds of the firm; funding events count rounds if given,
        otherwise firms with ``funding > 0``.
    periods : quarters, optional
        The index covers every quarter from the earliest to the latest given (e.g.
        ``("2021Q1", "2023Q1")``). Default: every quarter of the records whose active
        stock (``window``) and year-earlier base lie inside the records.
    spec : IndexSpec or mapping, optional
        Default :func:`future_spec` (four dimensions, equal weights). Leaves read
        columns of the dimension table. The all-domain index leaves out the leaf reading
        ``lq``; the domain indices leave out the one reading ``diversity``.
    engine : {"pandas", "dask"}
        ``"pandas"``: integer codes and ``np.bincount`` in memory. ``"dask"``:
        ``dask.dataframe`` group-by sums; runs on the active ``dask.distributed``
        client if there is one (``Client("tcp://scheduler:8786")``), else on dask's
        default scheduler. Both give the same numbers.
    window : int or None
        Age limit of an *active start-up*, in quarters (default 20 = five years, the
        OECD–Eurostat *Manual on Business Demography Statistics* (2007) notion of a
        young enterprise). None counts every firm founded up to the quarter.
    growth : {"symmetric", "yoy"}
        Zero-base rule of the growth dimension, see Notes.
    diversity : {"entropy", "hhi"}
        Shannon entropy normalized by ln K, or 1 − HHI.
    domains : sequence of str
        The valid domain keys (default the report's six); K = ``len(domains)``.
    domain_map : mapping, optional
        Raw label -> domain key, e.g. :data:`DOMAIN_LABELS_ZH` for 信息/生物/....
    as_of : date, optional
        Date of the extract; founding dates after it are errors. Default: today (UTC).
    normalization, aggregation, scope, base_period
        Passed to :func:`~dtistat.index.compute.compute_index`. Default min–max within
        each quarter (and domain), as in the OECD/JRC Handbook (2008): growth rates can
        be negative, so ``base_share`` (which needs non-negative amounts) fits only a
        spec without growth leaves.
    metadata : DataFrame, optional
        Entity metadata (e.g. :func:`dtistat.datasets.load_cities`) for rollups and for
        looking up typical cities by name.
    npartitions : int, optional
        Partitions when a pandas DataFrame is handed to the dask engine.

    Returns
    -------
    FutureIndexResult
        ``.index`` (all domains) and ``.domains`` (per domain) are IndexResults; the raw
        indicators are in ``.dimensions``; ``.profiles()``, ``.comovement()``,
        ``.national_table()``.

    Notes
    -----
    With ``n_eds`` the firms of entity e in domain d founded in quarter s, and
    ``A_edt = sum_{s=t-W+1..t} n_eds`` the *active start-ups* (W = ``window``):

    Agglomeration (集聚度)
        ``share_edt = A_edt / sum_e A_edt`` -- the entity's share of the nation's active
        start-ups in the domain; and the location quotient
        ``lq_edt = (A_edt / sum_d A_edt) / (sum_e A_edt / sum_e sum_d A_edt)`` (Isard,
        *Methods of Regional Analysis*, 1960; the standard specialisation measure of
        regional science): above 1 when the domain weighs more in the entity than in
        the nation. Both are 0 when ``A_edt = 0`` (which covers every 0/0 case). For
        the all-domain rows ``share = A_e.t / A_..t`` and ``lq`` = 1.
    Activity (活跃度)
        ``new_firms_edt = n_edt``; ``funding_events_edt`` = funding rounds (or funded
        firms) of the firms founded in t; ``funding_amount_edt`` their funding;
        ``new_capital_edt`` their registered capital. Registry extracts record each
        firm's cumulative funding, not dated deals, so funding is attributed to the
        founding quarter (cohort accounting); recent cohorts have had less time to raise
        money.
    Growth (成长性)
        Year-on-year growth of new firms and of funding amount, ``x_t`` against
        ``x_{t-4}``. ``growth="symmetric"`` (default) is the Davis–Haltiwanger–Schuh
        rate ``(x_t - x_{t-4}) / ((x_t + x_{t-4}) / 2)`` (Davis, Haltiwanger & Schuh,
        *Job Creation and Destruction*, 1996), in [-2, 2]; it stays defined from a zero
        base (+2 for entry) and is 0 when both are zero -- small cells with sporadic
        start-ups do not produce infinite rates. ``growth="yoy"`` is
        ``x_t / x_{t-4} - 1``; 0 when both are zero, and from a zero base with
        ``x_t > 0`` undefined: the cell is listed in ``.empty`` and the leaf is left out
        of that row (``compute_index(missing="skip")`` renormalizes the weights; the
        ``growth`` node itself is NaN where all its leaves are undefined, the total is
        not).
    Diversity (多样性)
        Shannon entropy of the entity's new firms across the K domains, normalized to
        [0, 1]: ``H_et = -sum_d p_edt ln p_edt / ln K``, ``p_edt = n_edt / sum_d n_edt``
        (Shannon 1948; the entropy diversity measure of the Chinese future-industry
        index literature), or with ``diversity="hhi"`` the Gini–Simpson
        ``1 - sum_d p_edt^2`` (at most 1 - 1/K). 0 when the entity has no new firm in
        the quarter (reported in ``.empty``). Domain rows repeat the entity's value.

    Bad input raises :class:`~dtistat.errors.DtiStatError` subclasses naming the
    column, row (and partition for dask) and value: unknown domains (all listed with
    counts), missing entities, missing, unparsable or future founding dates, negative
    or non-numeric amounts, a Parquet path that does not exist. Missing funding or
    capital counts as zero, with a warning. Cells set by a zero rule are listed in
    ``.empty`` (with a warning when a whole domain or entity is empty in a quarter).

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat.future import future_industry_index
    >>> firms = pd.DataFrame({
    ...     "city": ["A", "A", "B", "B", "A", "B", "B", "A", "A", "B"],
    ...     "domain": ["信息", "生物", "信息", "信息", "信息", "生物", "信息", "生物",
    ...                "信息", "生物"],
    ...     "founded": ["2020-01-05", "2020-02-01", "2020-03-03", "2020-04-10",
    ...                 "2020-05-01", "2020-06-30", "2021-01-15", "2021-02-01",
    ...                 "2021-04-02", "2021-05-20"]})
    >>> res = future_industry_index(firms, domains=["information", "biology"],
    ...                             domain_map={"信息": "information", "生物": "biology"},
    ...                             window=None, normalization="rank", as_of="2023-01-01")
    >>> res.dimensions.loc[("A", "all"), "new_firms"].tolist()
    [1.0, 1.0]
    >>> res.index.scores["future"].round(3).tolist()   # A, B in 2021Q1, 2021Q2
    [1.375, 1.625, 1.625, 1.375]
    >>> res.domains.scores.loc[("A", "information"), "agglomeration"].tolist()
    [1.0, 1.5]
    """
    cols, spec, domains, window, npartitions, as_of_ts = _check_options(
        entity=entity, domain=domain, date=date, capital=capital, funding=funding,
        rounds=rounds, domains=domains, domain_map=domain_map, spec=spec, engine=engine,
        growth=growth, diversity=diversity, window=window, npartitions=npartitions,
        as_of=as_of)
    data = _load(firms, cols, engine, npartitions)
    if engine == "dask":
        cube = _cube_dask(data, cols, domains, domain_map, as_of_ts)
    else:
        cube = _cube_pandas(data, cols, domains, domain_map, as_of_ts)
    for c, k in cube.n_nan.items():
        if k:
            v.warn(f"column {c!r} is missing for {k:,} firm(s); counted as 0 (none)")

    per = _periods(periods, cube, window)
    dims, empty = _dimensions(
        cube, per, window=window, growth=growth, diversity=diversity, entity=entity,
        domain=domain, time="quarter", has_funding=funding is not None,
        has_capital=capital is not None)
    _warn_empty(empty)
    res_dom, res_all = _indices(dims, empty, spec, entity=entity, domain=domain,
                                growth=growth, normalization=normalization,
                                aggregation=aggregation, scope=scope,
                                base_period=base_period, metadata=metadata)
    nat_prev = _national_prev(cube, per, domain)
    options = {"engine": engine, "window": window, "growth": growth,
               "diversity": diversity, "as_of": str(as_of_ts.date()),
               "domains": domains, "n_firms": int(cube.n.sum()),
               "records": (str(_q(cube.q0)),
                           str(_q(cube.last)))}
    return FutureIndexResult(
        index=res_all, domains=res_dom, dimensions=dims, empty=empty, spec=spec,
        entity=entity, domain=domain, time="quarter", options=options, metadata=metadata,
        national_year_earlier=nat_prev)


def _national_prev(cube: _Cube, per: pd.PeriodIndex, domain: str) -> pd.Series:
    """National new firms a year before each period, per domain and all (for national_table)."""
    n = cube.n.sum(axis=0)                                    # (K, T)
    n = np.concatenate([n, n.sum(axis=0, keepdims=True)], axis=0)
    t = (per.asi8 - cube.q0 - _YOY_LAG).astype(np.int64)
    labels = [*cube.domains, ALL]
    idx = pd.MultiIndex.from_product(
        [pd.CategoricalIndex(labels, categories=labels, ordered=True), per],
        names=[domain, "quarter"])
    return pd.Series(n[:, t].reshape(-1), index=idx)
