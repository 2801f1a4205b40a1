"""Matplotlib figures for dtistat results (optional import; matplotlib is loaded lazily).

Each function takes a result object and returns a ``matplotlib.figure.Figure``; nothing
is shown or saved, so the caller decides (``fig.savefig(...)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dtistat import _validate as v
from dtistat._periods import per_year, to_period
from dtistat._plotting import check_mapping, check_result
from dtistat.errors import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from dtistat.index.sensitivity import SensitivityResult, SobolResult

__all__ = ["rank_interval_plot", "sobol_plot"]


def _figure(figsize: tuple[float, float]):
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        raise ImportError("plots need matplotlib: pip install matplotlib") from None
    from dtistat._plotting import use_chinese

    use_chinese()  # the font family is fixed when the axes are made
    return Figure(figsize=figsize)


def rank_interval_plot(
    result: SensitivityResult,
    *,
    period: Any = None,
    by_level: Any = None,
    top: int | None = 30,
    labels: dict | None = None,
) -> Figure:
    """Rank intervals per entity (COINr's uncertainty plot): nominal, median and 5–95% ranks.

    Parameters
    ----------
    result : SensitivityResult
    period : quarter, optional
        Which period to show (default: the last).
    by_level : optional
        For a result computed with ``by``: the level (tuple for several ``by`` columns)
        to show; default the first.
    top : int or None
        Show the entities with the best nominal ranks only (None: all).
    labels : dict, optional
        Entity -> display label (e.g. Chinese city names).

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec
    >>> from dtistat.index.sensitivity import weight_sensitivity
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [
    ...     {"name": "a", "children": [{"name": "x1"}, {"name": "x2"}]},
    ...     {"name": "b", "children": [{"name": "x3"}]}]})
    >>> df = pd.DataFrame({"city": list("ABCDE"), "quarter": "2021Q1",
    ...     "x1": [5.0, 1, 3, 2, 4], "x2": [1.0, 5, 2, 4, 3], "x3": [2.0, 3, 5, 1, 4]})
    >>> res = weight_sensitivity(df, spec, method="multiplicative", delta=0.5,
    ...                          n_draws=100, seed=0)
    >>> fig = rank_interval_plot(res, top=3)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['C', 'E', 'B']
    """
    check_result(result, "rank_interval_plot", "a SensitivityResult (weight_sensitivity)",
                 ("ranks", "time", "entity", "by", "method", "n_draws"))
    labels = check_mapping(labels)
    s = result.ranks.reset_index()
    t = result.time
    per = s[t].max() if period is None else to_period(period, s[t].dt.freq, name="period")
    s = s[s[t] == per]
    if s.empty:
        raise ParameterError(f"period {per} is not in the result")
    if result.by:
        lv = s[list(result.by)].apply(tuple, axis=1)
        want = lv.iloc[0] if by_level is None else (
            by_level if isinstance(by_level, tuple) else (by_level,))
        s = s[lv == want]
        if s.empty:
            raise ParameterError(f"by_level {by_level!r} is not in the result")
    s = s.sort_values("nominal_rank")
    if top is not None:
        s = s.head(v.check_positive_int(top, "top"))
    names = [str(labels.get(e, e)) if labels else str(e) for e in s[result.entity]]
    y = np.arange(len(s))
    fig = _figure((7.0, max(2.5, 0.28 * len(s) + 1.6)))
    ax = fig.add_subplot()
    ax.hlines(y, s["rank_p05"], s["rank_p95"], color="0.55", lw=3, label="5–95% of draws")
    ax.plot(s["median_rank"], y, "o", color="tab:blue", ms=5, label="median rank")
    ax.plot(s["nominal_rank"], y, "x", color="tab:red", ms=6, label="nominal rank")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # ranks are whole numbers
    ax.set_xlabel("rank (1 = highest)")
    ax.set_title(f"Rank uncertainty ({result.method}, {result.n_draws} draws), {per}")
    # in a strip of its own below the axes, never over the intervals (the last rows sit
    # in the lower right, where a legend inside the axes would hide them)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3,
               fontsize="small", frameon=False)
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))
    return fig


def sobol_plot(result: SobolResult) -> Figure:
    """Bar chart of first-order (S1) and total (ST) Sobol indices with their intervals.

    Examples
    --------
    >>> import numpy as np
    >>> from dtistat.index.sensitivity import sobol_indices
    >>> r = sobol_indices(lambda X: X @ np.array([1.0, 2.0]), ["a", "b"],
    ...                   [[0, 1], [0, 1]], n_base=256, seed=1)
    >>> fig = sobol_plot(r)
    >>> len(fig.axes[0].patches)       # two bars per factor
    4
    """
    check_result(result, "sobol_plot", "a SobolResult (sobol_indices)",
                 ("indices", "output", "n_base"))
    d = result.indices
    x = np.arange(len(d))
    w = 0.38
    fig = _figure((max(4.0, 0.55 * len(d) + 2.0), 3.6))
    ax = fig.add_subplot()
    ax.bar(x - w / 2, d["S1"], w, yerr=d["S1_conf"], capsize=3, label="first order $S_i$")
    ax.bar(x + w / 2, d["ST"], w, yerr=d["ST_conf"], capsize=3, label="total $S_{Ti}$")
    ax.set_xticks(x, [str(i) for i in d.index], rotation=45 if len(d) > 6 else 0,
                  ha="right" if len(d) > 6 else "center")
    ax.set_ylabel("Sobol index")
    ax.set_title(f"Sensitivity of the {result.output} (N = {result.n_base})")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


# ============================================================================
# Figures for the index, its rollups and the estimators. Each returns a
# Figure (headless; nothing is shown); titles and axis labels are Chinese when a CJK
# font is installed (dtistat._plotting.use_chinese) and English otherwise.
# ============================================================================

_TIER_ORDER = ("一线", "新一线", "二线", "三线", "四线", "五线")
#: English names of the tiers when the metadata has no English column and no CJK font
#: is installed (Chinese tick labels would be boxes).
_TIER_EN = {"一线": "tier 1", "新一线": "new tier 1", "二线": "tier 2", "三线": "tier 3",
            "四线": "tier 4", "五线": "tier 5"}


def _fig9(figsize: tuple[float, float]):
    from matplotlib.figure import Figure

    _zh()  # the font family is fixed when the axes are made
    return Figure(figsize=figsize)


def _zh() -> bool:
    from dtistat import _plotting

    return bool(_plotting.use_chinese())


def _lab(zh: str, en: str) -> str:
    return zh if _zh() else en


def _meta_frame(result: Any, metadata: Any) -> Any:
    meta = metadata if metadata is not None else getattr(result, "metadata", None)
    if meta is None:
        raise ParameterError(
            "this figure needs entity metadata: pass metadata= (e.g. "
            "dtistat.datasets.load_demo().cities) or compute the index with metadata=")
    if result.entity in meta.columns:
        meta = meta.drop_duplicates(result.entity).set_index(result.entity)
    return meta


def _display_names(values: Any, *, labels: Any = None, meta: Any = None,
                   column: str | None = None) -> list[str]:
    """Chinese names as they are when a CJK font exists; else an English mapping."""
    vals = [str(x) for x in values]
    if _zh():
        return [str(labels.get(x, x)) if labels else x for x in vals]
    if labels:
        return [str(labels.get(x, x)) for x in vals]
    if meta is not None and column is not None:
        en_col = "name_en" if column in ("city", "name_zh") else f"{column}_en"
        if en_col in meta.columns:
            if column in meta.columns:
                m = dict(zip(meta[column].astype(str), meta[en_col].astype(str)))
            else:
                m = dict(zip(meta.index.astype(str), meta[en_col].astype(str)))
            return [m.get(x, x) for x in vals]
    return [_TIER_EN.get(x, x) for x in vals]


def _index_result(result: Any, func: str) -> Any:
    return check_result(result, func, "an IndexResult (compute_index)",
                        ("spec", "scores", "entity", "time", "normalization"))


def _entity_level(result: Any, what: str) -> Any:
    """The index by entity only: collapse ``by`` levels (base_share) or refuse."""
    _index_result(result, what)
    if not getattr(result, "by", ()):
        return result
    if result.normalization == "base_share":
        return result.collapse_by()
    raise ParameterError(
        f"{what} needs one score per entity; this index has by={list(result.by)} and "
        f"normalization={result.normalization!r}, so call it on an index without by=")


def _period_ticks(ax: Any, labels: list[str]) -> None:
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 6 else 0,
                  ha="right" if len(labels) > 6 else "center")


def index_trend_plot(
    result: Any,
    *,
    nodes: Sequence[str] | None = None,
    growth: str | None = None,
    labels: dict | None = None,
) -> Figure:
    """National index by layer over time (one line per node), or its growth rates.

    The national value is the sum over entities (and ``by`` levels) under
    ``base_share`` -- the share of the national base-period total -- and the mean under
    other normalizations.

    Parameters
    ----------
    result : IndexResult
    nodes : list of str, optional
        Nodes to draw; default the total and its children (the layers).
    growth : {"qoq", "yoy"}, optional
        Draw growth rates in percent instead of levels.
    labels : dict, optional
        Node -> display label (default: the spec's labels when a CJK font exists).

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec, compute_index
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [
    ...     {"name": "infra", "label": "基础设施", "children": [{"name": "x1"}]},
    ...     {"name": "app", "label": "应用", "children": [{"name": "x2"}]}]})
    >>> df = pd.DataFrame({"city": list("ABAB"), "quarter": ["2021Q1"] * 2 + ["2021Q2"] * 2,
    ...                    "x1": [1.0, 2, 2, 2], "x2": [1.0, 1, 1, 2]})
    >>> fig = index_trend_plot(compute_index(df, spec))
    >>> len(fig.axes[0].get_lines())      # total and two layers
    3
    """
    import pandas as pd

    _index_result(result, "index_trend_plot")
    labels = check_mapping(labels)
    spec = result.spec
    if nodes is None:
        nodes = [spec.root.name] + [c.name for c in spec.root.children if not c.is_leaf]
    nodes = v.as_list(nodes, "nodes")
    for n in nodes:
        if n not in result.scores.columns:
            raise ParameterError(f"node {n!r} is not in the index; nodes are {result.nodes}")
    t = result.scores.index.get_level_values(result.time)
    grp = result.scores[nodes].groupby(t, sort=True)
    nat = grp.sum() if result.normalization == "base_share" else grp.mean()
    if growth is not None:
        v.check_choice(growth, ("qoq", "yoy"), "growth")
        idx = pd.PeriodIndex(nat.index)
        lag = 1 if growth == "qoq" else per_year(idx.freq)
        prev = nat.reindex(idx - lag).to_numpy()
        nat = pd.DataFrame(100 * (nat.to_numpy() / prev - 1), index=nat.index,
                           columns=nat.columns).dropna(how="all")
        if nat.empty:
            raise ParameterError(f"growth={growth!r} needs more than {lag} period(s) of data")
    zh = _zh()
    fig = _fig9((7.0, 4.0))
    ax = fig.add_subplot()
    xl = [str(p) for p in nat.index]
    for n in nodes:
        node = spec.node(n)
        name = (labels or {}).get(n) or (node.label if zh and node.label else n)
        ax.plot(range(len(xl)), nat[n].to_numpy(), marker="o", ms=3, label=str(name))
    _period_ticks(ax, xl)
    if growth is None:
        ylab = _lab("指数（基期全国=1）", "index (national base period = 1)") \
            if result.normalization == "base_share" else _lab("指数均值", "mean index")
        ax.set_title(_lab("数字化转型指数趋势（分层）", "Index trend by layer"))
    else:
        ylab = _lab("同比增速 (%)" if growth == "yoy" else "环比增速 (%)",
                    "YoY growth (%)" if growth == "yoy" else "QoQ growth (%)")
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_title(_lab("分层增速", "Growth by layer"))
    ax.set_ylabel(ylab)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def growth_by_tier_plot(
    result: Any,
    *,
    metadata: Any = None,
    tier: str = "tier",
    kind: str = "yoy_mean",
    order: Sequence[str] | None = None,
    labels: dict | None = None,
) -> Figure:
    """Mean growth of the cities in each tier (bars, percent).

    Parameters
    ----------
    result : IndexResult
        City-level index (``by`` levels are summed first under ``base_share``).
    metadata : DataFrame, optional
        Entity -> ``tier`` (default: the result's metadata).
    tier : str
        Metadata column of the groups.
    kind : {"yoy_mean", "yoy", "qoq"}
        ``yoy_mean``: each city's mean of quarterly YoY rates (the report's growth);
        ``yoy`` / ``qoq``: the rate in the last period.
    order : list, optional
        Order of the bars (default: 一线 ... 五线 when those are the tiers).
    labels : dict, optional
        Tier -> display label.

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec, compute_index
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [{"name": "x"}]})
    >>> q = ["2021Q1", "2021Q2", "2021Q3", "2021Q4", "2022Q1"]
    >>> df = pd.DataFrame({"city": list("AAAAABBBBBCCCCC"), "quarter": q * 3,
    ...                    "x": [1.0, 1, 1, 1, 1.2, 2, 2, 2, 2, 2.2, 3, 3, 3, 3, 3]})
    >>> meta = pd.DataFrame({"city": list("ABC"), "tier": ["一线", "一线", "二线"]})
    >>> fig = growth_by_tier_plot(compute_index(df, spec), metadata=meta)
    >>> [round(float(p.get_height()), 1) for p in fig.axes[0].patches]  # (20%+10%)/2, 0%
    [15.0, 0.0]
    """
    v.check_choice(kind, ("yoy_mean", "yoy", "qoq"), "kind")
    labels = check_mapping(labels)
    res = _entity_level(result, "growth_by_tier_plot")
    meta = _meta_frame(res, metadata)
    if tier not in meta.columns:
        raise ParameterError(f"metadata has no column {tier!r}; columns are {list(meta.columns)}")
    if kind == "yoy_mean":
        g = res.growth("yoy_mean").set_index(res.entity)["yoy_mean"]
    else:
        gg = res.growth(kind)
        gg = gg[gg[res.time] == gg[res.time].max()]
        g = gg.set_index(res.entity)[kind]
    grp = meta[tier].reindex(g.index)
    if grp.isna().all():
        raise ParameterError(f"no {res.entity} of the index is in the metadata")
    means = (100 * g).groupby(grp.astype(str).to_numpy()).mean()
    if order is None:
        order = [t for t in _TIER_ORDER if t in means.index] or sorted(means.index)
        order += [t for t in means.index if t not in order]
    means = means.reindex([str(o) for o in order]).dropna()
    names = _display_names(means.index, labels=labels, meta=meta, column=tier)
    fig = _fig9((6.0, 3.6))
    ax = fig.add_subplot()
    ax.bar(range(len(means)), means.to_numpy(), color="tab:orange")
    ax.set_xticks(range(len(means)), names)
    ax.axhline(0, color="0.3", lw=0.8)
    what = {"yoy_mean": ("平均同比增速", "mean YoY growth"), "yoy": ("同比增速", "YoY growth"),
            "qoq": ("环比增速", "QoQ growth")}[kind]
    ax.set_ylabel(_lab(f"{what[0]} (%)", f"{what[1]} (%)"))
    ax.set_title(_lab(f"各线城市{what[0]}", f"City {what[1]} by tier"))
    fig.tight_layout()
    return fig


def cluster_share_plot(
    result: Any,
    *,
    metadata: Any = None,
    cluster: str = "cluster",
    period: Any = None,
    other: bool = True,
    labels: dict | None = None,
) -> Figure:
    """Share of the national index held by each city cluster (horizontal bars, percent).

    Cities outside every cluster (a blank or missing ``cluster``) form "other".

    Parameters
    ----------
    result : IndexResult
        Under ``base_share`` normalization (shares of totals need additive scores).
    metadata : DataFrame, optional
        Entity -> ``cluster`` (default: the result's metadata).
    period : quarter or int year, optional
        Default: the last quarter.
    other : bool
        Show the "other" bar.
    labels : dict, optional
        Cluster -> display label.

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec, compute_index
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [{"name": "x"}]})
    >>> df = pd.DataFrame({"city": list("ABC"), "quarter": "2021Q1", "x": [1.0, 2, 3]})
    >>> meta = pd.DataFrame({"city": list("ABC"), "cluster": ["east", "east", ""]})
    >>> fig = cluster_share_plot(compute_index(df, spec), metadata=meta)
    >>> len(fig.axes[0].patches)          # east and other
    2
    """
    import pandas as pd

    labels = check_mapping(labels)
    if _index_result(result, "cluster_share_plot").normalization != "base_share":
        raise ParameterError("cluster shares add up only under normalization='base_share'")
    res = _entity_level(result, "cluster_share_plot")
    meta = _meta_frame(res, metadata)
    if cluster not in meta.columns:
        raise ParameterError(
            f"metadata has no column {cluster!r}; columns are {list(meta.columns)}")
    oth = _lab("其他", "other")
    g = meta[cluster].reindex(res.entities).astype(object)
    g = g.where(g.notna() & (g.astype(str).str.strip() != ""), oth).astype(str)
    sh = res.rollup(pd.Series(g.to_numpy(), index=res.entities, name=cluster)).share(
        "nation", period=period if period is not None else res.periods[-1])
    s = sh.set_index(cluster)["share"].mul(100)
    rest = s.pop(oth) if oth in s.index else None
    s = s.sort_values(ascending=False)
    names = _display_names(s.index, labels=labels, meta=meta, column=cluster)
    colors = ["tab:blue"] * len(s)
    vals = list(s.to_numpy())
    if other and rest is not None:
        names.append(oth)
        vals.append(float(rest))
        colors.append("0.65")
    fig = _fig9((6.5, max(2.5, 0.32 * len(vals) + 1.2)))
    ax = fig.add_subplot()
    ax.barh(range(len(vals)), vals, color=colors)
    ax.set_yticks(range(len(vals)), names)
    ax.invert_yaxis()
    per = period if period is not None else res.periods[-1]
    ax.set_xlabel(_lab("占全国指数比重 (%)", "share of the national index (%)"))
    ax.set_title(_lab(f"城市群指数占比，{per}", f"Share of the national index by cluster, {per}"))
    fig.tight_layout()
    return fig


def rank_bump_plot(
    result: Any,
    *,
    periods: Sequence[Any] | None = None,
    top: int = 10,
    node: str | None = None,
    labels: dict | None = None,
    metadata: Any = None,
) -> Figure:
    """Ranking bump chart: the rank of the top entities of the last period over time.

    Parameters
    ----------
    result : IndexResult
        Entity-level index (``by`` levels summed first under ``base_share``).
    periods : list of quarters or int years, optional
        Default: every quarter.
    top : int
        Entities ranked 1..top in the last of ``periods`` (one line each).
    node : str, optional
        Node ranked (default the total).
    labels : dict, optional
        Entity -> display name; without it and without a CJK font, the English names of
        the metadata (``name_en``) are used when present.
    metadata : DataFrame, optional

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec, compute_index
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [{"name": "x"}]})
    >>> df = pd.DataFrame({"city": list("ABCABC"), "quarter": ["2021Q1"] * 3 + ["2021Q2"] * 3,
    ...                    "x": [1.0, 2, 3, 4, 2, 1]})
    >>> fig = rank_bump_plot(compute_index(df, spec), top=2)
    >>> len(fig.axes[0].get_lines())
    2
    """
    labels = check_mapping(labels)
    res = _entity_level(result, "rank_bump_plot")
    top = v.check_positive_int(top, "top")
    pers = list(res.periods) if periods is None else list(periods)
    if len(pers) < 1:
        raise ParameterError("periods is empty")
    ranks = {}
    labels_x = []
    for p in pers:
        r = res.rank(p, node=node)
        labels_x.append(str(r["period"].iloc[0]))
        ranks[labels_x[-1]] = r.set_index(res.entity)["rank"]
    last = ranks[labels_x[-1]]
    ents = list(last.sort_values(kind="stable").index[:top])
    meta = metadata if metadata is not None else getattr(res, "metadata", None)
    if meta is not None and res.entity not in meta.columns:
        meta = None
    names = _display_names(ents, labels=labels, meta=meta, column=res.entity)
    fig = _fig9((max(5.0, 0.9 * len(pers) + 3.0), max(3.0, 0.35 * len(ents) + 1.5)))
    ax = fig.add_subplot()
    xs = list(range(len(pers)))
    for e, nm in zip(ents, names):
        ys = [float(ranks[x].get(e, float("nan"))) for x in labels_x]
        (ln,) = ax.plot(xs, ys, marker="o", ms=4, lw=1.6)
        ax.annotate(nm, (xs[-1], ys[-1]), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize="small", color=ln.get_color())
    ax.invert_yaxis()
    _period_ticks(ax, labels_x)
    ax.set_xlim(-0.3, len(pers) - 1 + 0.9)
    ax.set_ylabel(_lab("排名", "rank"))
    ax.set_title(_lab(f"排名变化（{labels_x[-1]} 前{len(ents)}）",
                      f"Rank over time (top {len(ents)} in {labels_x[-1]})"))
    fig.tight_layout()
    return fig


def province_bar_plot(
    result: Any,
    *,
    metadata: Any = None,
    province: str = "province",
    period: Any = None,
    top: int = 10,
    node: str | None = None,
    labels: dict | None = None,
) -> Figure:
    """Bar chart of the top provinces (or any metadata grouping) in one period.

    Parameters
    ----------
    result : IndexResult
        City-level (rolled up to ``province`` with the metadata) or already by province.
    metadata : DataFrame, optional
    province : str
        Metadata column to roll up to.
    period : quarter or int year, optional
        Default: the last quarter.
    top : int
        Number of bars.
    node : str, optional
    labels : dict, optional
        Province -> display label.

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec, compute_index
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [{"name": "x"}]})
    >>> df = pd.DataFrame({"city": list("ABC"), "quarter": "2021Q1", "x": [1.0, 2, 3]})
    >>> meta = pd.DataFrame({"city": list("ABC"), "province": ["P", "P", "Q"]})
    >>> fig = province_bar_plot(compute_index(df, spec), metadata=meta)
    >>> len(fig.axes[0].patches)
    2
    """
    top = v.check_positive_int(top, "top")
    labels = check_mapping(labels)
    res = _entity_level(result, "province_bar_plot")
    meta_for_names = None
    if res.entity != province:
        meta = _meta_frame(res, metadata)
        meta_for_names = meta
        res = res.rollup(province, metadata=meta.reset_index())
    else:
        meta = metadata
        if meta is not None and province in meta.columns:
            meta_for_names = meta
    r = res.rank(period, node=node).head(top)
    names = _display_names(r[res.entity], labels=labels, meta=meta_for_names, column=province)
    fig = _fig9((max(5.0, 0.55 * len(r) + 2.0), 3.8))
    ax = fig.add_subplot()
    ax.bar(range(len(r)), r["score"].to_numpy())
    ax.set_xticks(range(len(r)), names, rotation=45 if len(r) > 5 else 0,
                  ha="right" if len(r) > 5 else "center")
    per = r["period"].iloc[0]
    ax.set_ylabel(_lab("指数", "index"))
    ax.set_title(_lab(f"{per} 省份指数前{len(r)}", f"Top {len(r)} provinces, {per}"))
    fig.tight_layout()
    return fig


def indirect_effect_plot(
    source: Any,
    *,
    estimate: Any = None,
    ci: Any = None,
    terms: Sequence[str] | None = None,
    level: float = 0.95,
    bins: int = 40,
) -> Figure:
    """Bootstrap distribution of indirect effects with the interval and the estimate.

    Parameters
    ----------
    source : MediationResult, DataFrame of draws, or array (n_draws,) / (n_draws, k)
        A result of :func:`dtistat.mediation.fit_mediation` (its ``boot_draws`` and
        ``indirect`` table give draws, estimates and intervals), or the draws.
    estimate : float or sequence, optional
        Point estimate(s) for arrays (a solid line); default none.
    ci : (low, high) or sequence of pairs, optional
        Interval(s) for arrays; default the percentile interval at ``level``.
    terms : list of str, optional
        For a result or a DataFrame: which columns (default every ``indirect[...]``
        term, or every column of a DataFrame).
    level : float
        Level of the default percentile interval.
    bins : int
        Histogram bins.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).normal(0.2, 0.05, size=2000)
    >>> fig = indirect_effect_plot(draws, estimate=0.2)
    >>> len(fig.axes[0].get_lines())     # CI low, CI high, estimate, zero
    4
    """
    level = v.check_level(level)
    bins = v.check_positive_int(bins, "bins")
    if hasattr(source, "boot_draws") and hasattr(source, "indirect"):
        draws, ests, cis, titles = _mediation_draws(source, terms)
        level = float(getattr(source, "level", level))
    else:
        draws, titles = _draw_columns(source, terms)
        ests, cis = _marks(draws, estimate, ci, level)
    k = len(draws)
    ncol = min(k, 3)
    nrow = -(-k // ncol)
    fig = _fig9((4.2 * ncol, 3.2 * nrow))
    for j in range(k):
        _indirect_panel(fig.add_subplot(nrow, ncol, j + 1), draws[j], cis[j], ests[j],
                        titles[j], f"{100 * level:g}%", bins, legend=j == 0)
    fig.suptitle(_lab("间接效应的 Bootstrap 分布", "Bootstrap distribution of the indirect "
                      "effect"), fontsize="medium")
    fig.tight_layout()
    return fig


def _mediation_draws(source: Any, terms: Sequence[str] | None) -> tuple:
    """Draws, estimates, intervals and titles of a mediation result's indirect terms."""
    bd = source.boot_draws
    if bd is None or not len(bd):
        raise ParameterError("the mediation result has no bootstrap draws; fit it with "
                             "n_boot > 0")
    ind = source.indirect.set_index("term")
    terms = v.as_list(terms, "terms") or [t for t in ind.index if str(t).startswith(
        "indirect[")]
    miss = [t for t in terms if t not in bd.columns or t not in ind.index]
    if miss:
        raise ParameterError(f"terms {miss} are not indirect effects of the result; "
                             f"they are {list(ind.index)}")
    draws = [bd[t].to_numpy(dtype=float) for t in terms]
    ests = [float(ind.loc[t, "estimate"]) for t in terms]
    cis = [(float(ind.loc[t, "ci_low"]), float(ind.loc[t, "ci_high"])) for t in terms]
    titles = [str(ind.loc[t, "path"]) if "path" in ind.columns else t for t in terms]
    return draws, ests, cis, titles


def _draw_columns(source: Any, terms: Sequence[str] | None) -> tuple[list, list[str]]:
    """The columns of draws given as a DataFrame (``terms``) or a 1-D/2-D array, and
    their titles."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        terms = v.as_list(terms, "terms") or list(source.columns)
        miss = [t for t in terms if t not in source.columns]
        if miss:
            raise ParameterError(f"terms {miss} are not columns of the draws; they are "
                                 f"{list(source.columns)}")
        arr = _floats(source[terms], "source")
        titles = [str(t) for t in terms]
    else:
        arr = _floats(source, "source")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[0] < 2:
            raise ParameterError("draws must be a 1-D or 2-D array with at least 2 draws")
        titles = ["indirect effect"] if arr.shape[1] == 1 else [
            f"indirect effect {j + 1}" for j in range(arr.shape[1])]
    return [arr[:, j] for j in range(arr.shape[1])], titles


def _marks(draws: list, estimate: Any, ci: Any, level: float) -> tuple[list, list]:
    """Estimates (None where not given) and intervals (default the percentile interval
    at ``level``) of draws given as arrays, one per column."""
    k = len(draws)
    ests = list(np.atleast_1d(_floats(estimate, "estimate"))) if estimate is not None \
        else [None] * k
    if ci is None:
        a = (1 - level) / 2
        cis = [tuple(np.nanquantile(d, [a, 1 - a])) for d in draws]
    else:
        c = _floats(ci, "ci")
        if c.size % 2:
            raise ParameterError(f"ci must be (low, high) pairs, one per column ({k}); "
                                 f"got {c.size} number(s)")
        cis = [tuple(p) for p in c.reshape(-1, 2)]
    if len(ests) != k or len(cis) != k:
        raise ParameterError(f"estimate and ci must have one entry per column ({k})")
    return ests, cis


def _indirect_panel(ax: Any, draws: np.ndarray, ci: tuple, est: float | None, title: str,
                    pct: str, bins: int, *, legend: bool) -> None:
    """One term's histogram of finite draws with its interval, estimate and zero."""
    ax.hist(draws[np.isfinite(draws)], bins=bins, color="0.75", edgecolor="white")
    lo, hi = ci
    ax.axvline(lo, color="tab:blue", ls="--", lw=1.2, label=f"{pct} CI")
    ax.axvline(hi, color="tab:blue", ls="--", lw=1.2)
    if est is not None:
        ax.axvline(est, color="tab:red", lw=1.5, label=_lab("估计值", "estimate"))
    ax.axvline(0, color="0.2", ls=":", lw=1)
    ax.set_title(title.replace(" -> ", " → "), fontsize="medium")
    ax.set_xlabel(_lab("间接效应", "indirect effect"))
    if legend:
        ax.set_ylabel(_lab("Bootstrap 抽样次数", "bootstrap draws"))
        ax.legend(fontsize="small")


def _floats(x: Any, param: str) -> np.ndarray:
    """``x`` as a float array, or a ParameterError naming ``param``."""
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        what = ("a MediationResult or bootstrap draws (an array or DataFrame of numbers)"
                if param == "source" else "numbers")
        raise ParameterError(f"{param} must be {what}; got {type(x).__name__}") from None


def scree_plot(result: Any, *, max_factors: int | None = None, kaiser: bool = True) -> Figure:
    """Scree plot with parallel analysis: observed eigenvalues against random-data ones.

    Parameters
    ----------
    result : EFAResult or ParallelAnalysisResult
        From :func:`dtistat.fit_efa` (its ``parallel`` analysis is drawn when it was
        run, i.e. ``n_factors="parallel"``) or :func:`dtistat.parallel_analysis`.
    max_factors : int, optional
        Number of components shown (default all, at most 20).
    kaiser : bool
        Draw the eigenvalue-one line (Kaiser's rule).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dtistat import fit_efa
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(300, 1))
    >>> df = pd.DataFrame(f @ np.ones((1, 5)) + rng.normal(size=(300, 5)),
    ...                   columns=list("abcde"))
    >>> fig = scree_plot(fit_efa(df, n_factors="parallel", n_iter=100, seed=1))
    >>> len(fig.axes[0].get_lines())     # observed, parallel 95th pct, random mean, Kaiser
    4
    """
    pa = result if hasattr(result, "random_quantile") and hasattr(result, "table") else \
        getattr(result, "parallel", None)
    if pa is not None:
        obs = np.asarray(pa.observed, dtype=float)
        q = np.asarray(pa.random_quantile, dtype=float)
        mean = np.asarray(pa.random_mean, dtype=float)
        n_keep = int(pa.n_factors)
        qlab = f"{100 * pa.quantile:g}"
        comp = getattr(pa, "kind", "pca") == "pca"
    elif hasattr(result, "eigenvalues"):
        obs = np.asarray(result.eigenvalues, dtype=float)
        q = mean = None
        n_keep = int(getattr(result, "n_factors", 0))
        qlab = ""
        comp = True
    else:
        raise ParameterError(
            f"scree_plot() needs an EFAResult or ParallelAnalysisResult, got "
            f"{type(result).__name__}")
    m = len(obs) if max_factors is None else v.check_positive_int(max_factors, "max_factors")
    m = min(m, len(obs), 20 if max_factors is None else len(obs))
    x = np.arange(1, m + 1)
    fig = _fig9((6.0, 3.6))
    ax = fig.add_subplot()
    ax.plot(x, obs[:m], marker="o", color="tab:blue", label=_lab("样本特征值", "observed"))
    if q is not None:
        ax.plot(x, q[:m], ls="--", color="tab:red",
                label=_lab(f"平行分析（随机数据 {qlab} 分位）",
                           f"parallel analysis ({qlab}th pct of random data)"))
        ax.plot(x, mean[:m], ls=":", color="tab:red",
                label=_lab("随机数据均值", "random data mean"))
    if kaiser:
        ax.axhline(1.0, color="0.5", lw=0.8, label=_lab("特征值 = 1", "eigenvalue = 1"))
    ax.set_xticks(x)
    # parallel_analysis(kind="pca") counts components, kind="fa"/"smc" factors
    what_zh, what_en = ("成分", "component") if comp else ("因子", "factor")
    ax.set_xlabel(_lab(f"{what_zh}序号", what_en))
    ax.set_ylabel(_lab("特征值", "eigenvalue"))
    ax.set_title(_lab(f"碎石图：保留 {n_keep} 个{what_zh}",
                      f"Scree plot: {n_keep} {what_en}(s) retained"))
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def coef_plot(results: Any, *, keep: Any = None, labels: dict | None = None) -> Figure:
    """Coefficients with their confidence intervals, one marker series per model.

    Parameters
    ----------
    results : result or list of results
        Anything :func:`dtistat.tables.regression_table` accepts (uses each
        ``summary()``'s estimate, ci_low, ci_high).
    keep : str or list of str, optional
        Terms (names or regular expressions); default all but the intercept.
    labels : dict, optional
        Term -> display label.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> from dtistat.panel import fit_panel
    >>> g = sm.datasets.grunfeld.load_pandas().data
    >>> res = fit_panel(g, "invest ~ value + capital", entity="firm", time="year",
    ...                 cov="robust")
    >>> fig = coef_plot(res)
    >>> len(fig.axes[0].containers)        # one error-bar series per model
    1
    """
    from dtistat.tables import INTERCEPTS, _as_columns, _keep_terms

    objs = list(results) if isinstance(results, (list, tuple)) else [results]
    cols = [c for o in objs for c in _as_columns(o)]
    terms: list = []
    for c in cols:
        terms += [t for t in c.coefs["term"] if t not in terms]
    labels = check_mapping(labels)
    terms = _keep_terms(terms, keep) if keep is not None else [
        t for t in terms if t not in INTERCEPTS]
    if not terms:
        raise ParameterError("no coefficient to plot")
    fig = _fig9((6.0, max(2.5, 0.45 * len(terms) * max(1, len(cols)) ** 0.5 + 1.2)))
    ax = fig.add_subplot()
    off = np.linspace(-0.15, 0.15, len(cols)) if len(cols) > 1 else np.zeros(1)
    for j, c in enumerate(cols):
        f = c.coefs.set_index("term").reindex(terms)
        est = f["estimate"].to_numpy(dtype=float)
        lo = f["ci_low"].to_numpy(dtype=float) if "ci_low" in f else est
        hi = f["ci_high"].to_numpy(dtype=float) if "ci_high" in f else est
        y = np.arange(len(terms)) + off[j]
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", capsize=3,
                    label=f"({j + 1}) {c.name}")
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_yticks(range(len(terms)), [str((labels or {}).get(t, t)) for t in terms])
    ax.invert_yaxis()
    ax.set_xlabel(_lab("系数与置信区间", "estimate and confidence interval"))
    if len(cols) > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


__all__ += [
    "index_trend_plot", "growth_by_tier_plot", "cluster_share_plot", "rank_bump_plot",
    "province_bar_plot", "indirect_effect_plot", "scree_plot", "coef_plot",
]
