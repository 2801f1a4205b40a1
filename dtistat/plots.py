"""Matplotlib figures for dtistat results (optional import; matplotlib is loaded lazily).

Each function takes a result object and returns a ``matplotlib.figure.Figure``; nothing
is shown or saved, so the caller decides (``fig.savefig(...)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dtistat import _validate as v
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
    s = result.ranks.reset_index()
    t = result.time
    per = s[t].max() if period is None else v.to_quarter(period, name="period")
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
    fig = _figure((7.0, max(2.5, 0.28 * len(s) + 1.2)))
    ax = fig.add_subplot()
    ax.hlines(y, s["rank_p05"], s["rank_p95"], color="0.55", lw=3, label="5–95% of draws")
    ax.plot(s["median_rank"], y, "o", color="tab:blue", ms=5, label="median rank")
    ax.plot(s["nominal_rank"], y, "x", color="tab:red", ms=6, label="nominal rank")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("rank (1 = highest)")
    ax.set_title(f"Rank uncertainty ({result.method}, {result.n_draws} draws), {per}")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
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
