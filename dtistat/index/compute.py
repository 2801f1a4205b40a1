"""compute_index(): the composite index as a pure function of (data, spec) -> IndexResult."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._periods import default_base, parse_periods, period_out, to_period
from dtistat._results import Result, Summary
from dtistat.errors import DataError, ParameterError, PeriodError, SpecError
from dtistat.index import analytics as an
from dtistat.index.aggregate import AGGREGATIONS, aggregate
from dtistat.index.normalize import NORMALIZATIONS, normalize
from dtistat.spec import IndexSpec

__all__ = ["compute_index", "IndexResult", "prepare_panel", "PreparedPanel"]

MISSING = ("error", "skip", "zero")


@dataclass(frozen=True)
class PreparedPanel:
    """Validated, sorted panel: keys frame, leaf matrix and integer codes (internal)."""

    keys: pd.DataFrame           # entity, *by, time (Period) — sorted, RangeIndex
    X: np.ndarray                # (n, L) raw leaf values in spec.leaves order
    by_codes: np.ndarray
    by_labels: list
    time_codes: np.ndarray
    periods: pd.PeriodIndex      # sorted unique periods
    time_kind: str = "period"    # how the user gave the time keys (for the outputs)


def prepare_panel(
    data: pd.DataFrame,
    spec: IndexSpec,
    *,
    entity: str,
    time: str,
    by: Sequence[str],
    missing: str,
) -> PreparedPanel:
    """Check and sort the wide panel; never modifies ``data``."""
    v.check_frame(data)
    if not isinstance(spec, IndexSpec):
        raise ParameterError(f"spec must be an IndexSpec, got {type(spec).__name__}")
    v.check_choice(missing, MISSING, "missing")
    key_cols = [entity, *by, time]
    if len(set(key_cols)) != len(key_cols):
        raise ParameterError(f"entity, by and time must be distinct columns, got {key_cols}")
    v.check_columns(data, key_cols, what="key column")
    cols = spec.columns
    v.check_columns(data, cols, what="indicator column (a leaf of the spec)")
    clash = [c for c in cols if c in key_cols]
    if clash:
        raise ParameterError(f"column {clash[0]!r} is both a key and an indicator")
    named = [n.name for n in spec.nodes if n.name in key_cols]
    if named:  # results index by the keys and name columns by the nodes
        raise SpecError(f"node {named[0]!r} has the name of a key column ({key_cols}); "
                        "rename the node")
    v.check_key_types(data, [entity, *by])  # the time column: parse_periods says it
    for k in key_cols:
        if data[k].isna().any():
            i = int(np.flatnonzero(data[k].isna().to_numpy())[0])
            raise DataError(f"key column {k!r} is missing at row {data.index[i]!r}")
    keys = data[[entity, *by]].reset_index(drop=True).copy()
    keys[time], time_kind = parse_periods(data[time], time)
    v.check_unique_keys(keys, key_cols)
    v.check_numeric(data, cols)
    X = data[cols].to_numpy(dtype=float, na_value=np.nan)
    order = np.lexsort([keys[k].to_numpy() if k != time else keys[k].array.asi8
                        for k in reversed(key_cols)])
    keys = keys.iloc[order].reset_index(drop=True)
    X = X[order]
    if np.isinf(X).any():
        i, j = np.argwhere(np.isinf(X))[0]
        raise DataError(f"column {cols[j]!r} is infinite at "
                        + ", ".join(f"{k}={keys[k].iloc[i]!r}" for k in key_cols))
    nan = np.isnan(X)
    if nan.any():
        if missing == "error":
            i, j = np.argwhere(nan)[0]
            raise DataError(
                f"column {cols[j]!r} is NaN at "
                + ", ".join(f"{k}={keys[k].iloc[i]!r}" for k in key_cols)
                + f" ({int(nan.sum())} NaN value(s) in all); fill them, or pass "
                "missing='skip' (renormalize weights over present indicators) or "
                "missing='zero'"
            )
        if missing == "zero":
            X = np.where(nan, 0.0, X)
    if by:
        by_frame = keys[list(by)]
        by_codes, uniq = pd.MultiIndex.from_frame(by_frame).factorize() if len(by) > 1 \
            else pd.factorize(by_frame.iloc[:, 0])
        by_labels = list(uniq)
    else:
        by_codes, by_labels = np.zeros(len(keys), dtype=np.intp), [None]
    periods = pd.PeriodIndex.from_ordinals(np.unique(keys[time].array.asi8),
                                           freq=keys[time].array.freq)
    time_codes = np.searchsorted(periods.asi8, keys[time].array.asi8)
    return PreparedPanel(keys, X, np.asarray(by_codes, dtype=np.intp), by_labels,
                         time_codes, periods, time_kind)


def time_out(values: Any, kind: str) -> Any:
    """Periods (quarters or years) back in the type the user gave (``to_frame``, tables)."""
    return period_out(values, kind)


@dataclass(frozen=True, eq=False, repr=False)
class IndexResult(Result):
    """A computed index: scores of every node, normalized leaves, weights, analytics.

    Attributes
    ----------
    scores : DataFrame
        Index (entity, *by, time) -> one column per internal node, the total first.
    normalized : DataFrame
        Same index -> one column per leaf, the normalized values.
    weights : Series
        Each leaf's effective weight in the total (sums to 1).
    local_weights : Series
        Each node's weight among its siblings.
    """

    scores: pd.DataFrame
    normalized: pd.DataFrame
    weights: pd.Series
    local_weights: pd.Series
    spec: IndexSpec
    entity: str
    time: str
    by: tuple[str, ...] = ()
    base_period: pd.Period | None = None
    normalization: str = "base_share"
    aggregation: str = "arithmetic"
    metadata: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    time_kind: str = "period"

    # ----------------------------------------------------------------- basics
    @property
    def nodes(self) -> list[str]:
        return list(self.scores.columns)

    @property
    def periods(self) -> pd.PeriodIndex:
        return pd.PeriodIndex(
            self.scores.index.get_level_values(self.time).unique().sort_values()
        )

    @property
    def entities(self) -> pd.Index:
        return self.scores.index.get_level_values(self.entity).unique()

    def national_totals(self) -> pd.DataFrame:
        """National totals per period and node (the sum over entities), tidy.

        The time column comes back in the type the data had (strings such as
        ``"2021Q1"``, Periods or dates).
        """
        lvl = [*self.by, self.time]
        s = self.scores.groupby(level=lvl, sort=True).sum().reset_index()
        s[self.time] = time_out(s[self.time], self.time_kind)
        return s

    def to_frame(self) -> pd.DataFrame:
        """Scores and normalized leaves side by side, keys as columns.

        The time column is in the type the data had, so the frame merges with it;
        ``scores`` and ``normalized`` keep quarterly Periods for period arithmetic.
        """
        out = pd.concat([self.scores, self.normalized], axis=1).reset_index()
        out[self.time] = time_out(out[self.time], self.time_kind)
        return out

    def _headline(self) -> list[str]:
        per = self.periods
        return [f"{len(self.entities)} {self.entity}"
                + (f" x {' x '.join(self.by)}" if self.by else ""),
                f"{len(per)} periods ({per[0]}-{per[-1]})",
                f"{self.weights.size} indicators", f"normalization={self.normalization}"]

    def summary(self) -> Summary:
        """Effective weights and the top 10 of the total in the last period."""
        per = self.periods
        header = [("Units", f"{len(self.entities)} {self.entity}"
                   + (f" x {' x '.join(self.by)}" if self.by else "")),
                  ("Periods", f"{len(per)} ({per[0]}-{per[-1]})"),
                  ("Normalization", self.normalization
                   + (f" (base {self.base_period})" if self.base_period is not None else "")),
                  ("Aggregation", self.aggregation)]
        top = self.rank(per[-1]).head(10).reset_index(drop=True)
        top.index = top.index + 1
        return Summary(f"Index {self.nodes[0]!r}",
                       {"Effective weights": self.weights.to_frame("weight"),
                        f"Top 10 by {self.nodes[0]!r} in {per[-1]}": top},
                       header=header)

    def __str__(self) -> str:
        per = self.periods
        lines = [
            f"IndexResult: {len(self.entities)} {self.entity} × "
            + (f"{' × '.join(self.by)} × " if self.by else "")
            + f"{len(per)} periods ({per[0]}–{per[-1]}), {self.weights.size} indicators",
            f"normalization={self.normalization}"
            + (f" (base {self.base_period})" if self.base_period is not None else "")
            + f", aggregation={self.aggregation}",
            "",
            "Effective weights:",
            self.weights.round(4).to_string(),
            "",
            f"Top 10 by '{self.nodes[0]}' in {per[-1]}:",
            self.rank(per[-1]).head(10).to_string(index=False),
        ]
        return "\n".join(lines)

    # ----------------------------------------------------------------- analytics
    def node(self, node: str | None = None) -> pd.Series:
        name = self.nodes[0] if node is None else node
        if not isinstance(name, str):
            raise ParameterError(f"node must be a node name (a string), got {name!r}")
        if name not in self.scores.columns:
            if name in self.normalized.columns:
                return self.normalized[name]
            raise ParameterError(
                f"node={name!r} is not in the index; nodes are {self.nodes} and leaves "
                f"{list(self.normalized.columns)}"
            )
        return self.scores[name]

    def collapse_by(self) -> IndexResult:
        """Sum over the ``by`` levels (e.g. all industries of a city); base_share only.

        With ``pool_by=True`` this equals the index of the industry-summed indicators.
        """
        return an.collapse_by(self)

    def rollup(self, groups: Any, *, metadata: pd.DataFrame | None = None,
               how: str | None = None) -> IndexResult:
        """Aggregate entities into groups (province, cluster, tier, or ``"nation"``).

        Under ``base_share`` the scores are shares of the national base total, so the
        group's score is the sum over its entities (``how="sum"``, the default);
        for other normalizations the default is the mean. Returns an ``IndexResult``
        whose entity is the group, so growth, ranks and further rollups apply.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"city": ["A", "B", "C"], "quarter": "2021Q1",
        ...                    "x": [1.0, 2.0, 5.0]})
        >>> r = compute_index(df, {"name": "total", "children": [{"name": "x"}]})
        >>> meta = pd.DataFrame({"city": ["A", "B", "C"], "province": ["P", "P", "Q"]})
        >>> r.rollup("province", metadata=meta).scores["total"].round(3).tolist()
        [0.375, 0.625]
        """
        return an.rollup(self, groups, metadata=metadata, how=how)

    def annual(self, year: int | None = None) -> pd.DataFrame:
        """Mean of each year's quarters per entity (× by); ``n_quarters`` tells how many
        (``n_periods``, always 1, for annual data)."""
        return an.annual(self, year)

    def growth(self, kind: str = "yoy", *, node: str | None = None, start: Any = None,
               end: Any = None) -> pd.DataFrame:
        """Growth rates: ``qoq``, ``yoy``, or ``yoy_mean`` (mean of quarterly YoY rates
        between ``start`` and ``end``, the report's "同比增速为2022Q1-2023Q1季度均值")."""
        return an.growth(self, kind, node=node, start=start, end=end)

    def rank(self, period: Any = None, *, within: Any = None, node: str | None = None,
             metadata: pd.DataFrame | None = None) -> pd.DataFrame:
        """Rank entities (1 = highest) in a quarter, or a year's mean for an int year."""
        return an.rank(self, period, within=within, node=node, metadata=metadata)

    def rank_change(self, start: Any, end: Any, *, within: Any = None,
                    node: str | None = None, metadata: pd.DataFrame | None = None
                    ) -> pd.DataFrame:
        """Rank at ``start`` and ``end`` and the change; +1 means moved up one place."""
        return an.rank_change(self, start, end, within=within, node=node, metadata=metadata)

    def share(self, within: Any, *, node: str | None = None, period: Any = None,
              metadata: pd.DataFrame | None = None) -> pd.DataFrame:
        """Each entity's share of its group's total, or with ``within="by"`` each by-level's
        share of the entity's total (an industry's share of a province's digital index)."""
        return an.share(self, within, node=node, period=period, metadata=metadata)

    def cumulative_top(self, within: Any, *, n: int = 3, start: Any = None, end: Any = None,
                       node: str | None = None, metadata: pd.DataFrame | None = None
                       ) -> pd.DataFrame:
        """Top-n by-levels (industries) per group by the cumulative index over periods."""
        return an.cumulative_top(self, within, n=n, start=start, end=end, node=node,
                                 metadata=metadata)


def compute_index(
    data: pd.DataFrame,
    spec: IndexSpec | Mapping,
    *,
    entity: str = "city",
    time: str = "quarter",
    by: str | Sequence[str] | None = None,
    base_period: Any = None,
    normalization: str = "base_share",
    aggregation: str = "arithmetic",
    scope: str = "period",
    missing: str = "error",
    pool_by: bool = False,
    metadata: pd.DataFrame | None = None,
) -> IndexResult:
    """Compute a composite index from a wide panel.

    Parameters
    ----------
    data : DataFrame
        One row per entity × [by] × time, one column per leaf of ``spec``.
    spec : IndexSpec or mapping
        The indicator tree and weights (a mapping is passed to ``IndexSpec.from_dict``).
    entity, time : str
        Key columns. Quarters may be "2021Q1", quarterly Periods or dates; annual data
        give integer years (2021), year strings ("2021") or annual Periods. Results give
        the time keys back in the type the data had.
    by : str or list of str, optional
        Further key columns (e.g. ``"industry"``); normalization is done within them.
    base_period : quarter or year, optional
        Base of ``base_share``: ``t_cjt = x_cjt / sum_c x_cj,base``. A quarter for
        quarterly data, a year (``2021`` or ``"2021"``) for annual data. Default: the
        report's 2021Q1, or the year 2021 for annual data.
    normalization : {"base_share", "minmax", "zscore", "rank", "distance_to_frontier"}
    aggregation : {"arithmetic", "geometric"}
    scope : {"period", "global"}
        Normalization scope for the non-share methods.
    missing : {"error", "skip", "zero"}
        NaN policy: raise (naming entity, time and column), skip (renormalize weights
        over present siblings), or treat as zero.
    pool_by : bool
        Normalize over all ``by`` groups together instead of within each. Under
        ``base_share`` the denominator is then the national base total over all
        industries, so industry indices are comparable in size and add up (with
        :meth:`IndexResult.collapse_by`) to the city index of the summed indicators.
    metadata : DataFrame, optional
        Entity metadata (e.g. :func:`dtistat.datasets.load_cities`) used by rollups,
        ranks and shares ``within`` a metadata column.

    Returns
    -------
    IndexResult

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec, compute_index
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [
    ...     {"name": "infrastructure", "children": [{"name": "cloud"}]},
    ...     {"name": "application", "children": [{"name": "pay"}]}]})
    >>> df = pd.DataFrame({"city": ["A", "B", "A", "B"],
    ...                    "quarter": ["2021Q1", "2021Q1", "2021Q2", "2021Q2"],
    ...                    "cloud": [1.0, 3.0, 2.0, 3.0], "pay": [2.0, 2.0, 2.0, 4.0]})
    >>> r = compute_index(df, spec)
    >>> r.scores["total"].round(4).tolist()
    [0.375, 0.5, 0.625, 0.875]
    """
    if isinstance(spec, Mapping):
        spec = IndexSpec.from_dict(spec)
    arrays = index_arrays(data, spec, entity=entity, time=time, by=by,
                          base_period=base_period, normalization=normalization,
                          aggregation=aggregation, scope=scope, missing=missing,
                          pool_by=pool_by)
    return arrays.result(metadata=metadata)


@dataclass(frozen=True)
class IndexArrays:
    """The numbers of :func:`compute_index` before they are put in frames (internal:
    the weight-sensitivity engine needs the arrays, not the frames)."""

    P: PreparedPanel
    T: np.ndarray                        # (n, L) normalized leaves, spec.leaves order
    node_scores: dict                    # internal node -> (n,) scores
    local: dict                          # node -> local weight
    spec: IndexSpec
    entity: str
    time: str
    by: tuple
    base_period: Any
    normalization: str
    aggregation: str

    def result(self, metadata: pd.DataFrame | None = None) -> IndexResult:
        """The :class:`IndexResult` of these arrays."""
        spec, P = self.spec, self.P
        idx = pd.MultiIndex.from_frame(P.keys)
        order = [n.name for n in spec.root.walk() if not n.is_leaf]
        scores = pd.DataFrame({n: self.node_scores[n] for n in order}, index=idx)
        normalized = pd.DataFrame(self.T, index=idx,
                                  columns=[leaf.name for leaf in spec.leaves])
        return IndexResult(
            scores=scores,
            normalized=normalized,
            weights=spec.leaf_weights(self.local),
            local_weights=pd.Series(self.local, name="local_weight"),
            spec=spec,
            entity=self.entity,
            time=self.time,
            by=self.by,
            base_period=self.base_period,
            normalization=self.normalization,
            aggregation=self.aggregation,
            metadata=metadata,
            time_kind=P.time_kind,
        )


def index_arrays(
    data: pd.DataFrame,
    spec: IndexSpec,
    *,
    entity: str = "city",
    time: str = "quarter",
    by: str | Sequence[str] | None = None,
    base_period: Any = None,
    normalization: str = "base_share",
    aggregation: str = "arithmetic",
    scope: str = "period",
    missing: str = "error",
    pool_by: bool = False,
) -> IndexArrays:
    """Everything :func:`compute_index` checks and computes, as arrays (internal)."""
    by_cols = tuple(v.as_list(by, "by"))
    v.check_choice(normalization, NORMALIZATIONS, "normalization")
    v.check_choice(aggregation, AGGREGATIONS, "aggregation")
    P = prepare_panel(data, spec, entity=entity, time=time, by=by_cols, missing=missing)
    base = None
    is_base = None
    if normalization == "base_share":
        freq = P.periods.freq
        base = default_base(freq) if base_period is None else to_period(
            base_period, freq, name="base_period")
        is_base = P.time_codes == np.searchsorted(P.periods.asi8, base.ordinal)
        if base not in P.periods:
            raise PeriodError(
                f"base_period {str(base)!r} is not in the data; periods run from "
                f"{P.periods[0]} to {P.periods[-1]}"
            )
    directions = np.array([leaf.direction for leaf in spec.leaves], dtype=float)
    T = normalize(
        P.X, method=normalization, columns=spec.columns, directions=directions,
        by_codes=np.zeros_like(P.by_codes) if pool_by else P.by_codes,
        by_labels=[None] if pool_by else P.by_labels, time_codes=P.time_codes,
        is_base=is_base, keys=P.keys, scope=scope,
    )
    local = spec.local_weights()
    node_scores = aggregate(T, spec, method=aggregation, local=local, keys=P.keys)
    root_nan = np.isnan(node_scores[spec.root.name])
    if root_nan.any():
        i = int(np.flatnonzero(root_nan)[0])
        raise DataError(
            "every indicator is missing at "
            + ", ".join(f"{k}={P.keys[k].iloc[i]!r}" for k in P.keys.columns)
            + "; the total index is undefined there — drop that row"
        )
    return IndexArrays(P=P, T=T, node_scores=node_scores, local=local, spec=spec,
                       entity=entity, time=time, by=by_cols, base_period=base,
                       normalization=normalization, aggregation=aggregation)
