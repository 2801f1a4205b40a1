"""Figures of the disparity results: Dagum shares, density surface/overlay, Markov heat map,
club transition paths.

Each function takes a result of :mod:`dtistat.index.disparity` and returns a
``matplotlib.figure.Figure`` (not attached to pyplot); labels are Chinese when a CJK font
is installed, else English (:func:`dtistat._plotting.pick_label`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dtistat import _validate as v
from dtistat._plotting import check_result, pick_label, use_chinese
from dtistat.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dtistat.index.disparity import ClubsResult, DagumResult, DensityResult, MarkovResult

__all__ = ["club_paths_plot", "dagum_share_plot", "density_overlay_plot",
           "density_surface_plot", "markov_heatmap"]


def _figure(size):
    from matplotlib.figure import Figure

    use_chinese()
    return Figure(figsize=size)


def dagum_share_plot(result: DagumResult) -> Figure:
    """Stacked bars of the within, net-between and transvariation shares per period,
    with the overall Gini as a line on a second axis.

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat.index.disparity import dagum_gini
    >>> df = pd.DataFrame({"y": [1.0, 5, 3, 4, 2, 8], "g": list("aaabbb")})
    >>> fig = dagum_share_plot(dagum_gini(df, value="y", group="g"))
    >>> len(fig.axes[0].patches)
    3
    """
    ov = check_result(result, "dagum_share_plot", "a DagumResult (dagum_gini)",
                      ("overall", "group")).overall
    fig = _figure((7.0, 4.1))
    ax = fig.add_subplot()
    x = np.arange(len(ov))
    bottom = np.zeros(len(ov))
    parts = [("share_w", "组内", "within"), ("share_nb", "组间净值", "net between"),
             ("share_t", "超变密度", "transvariation")]
    for col, zh, en in parts:
        vals = 100 * ov[col].to_numpy()
        ax.bar(x, vals, bottom=bottom, label=pick_label(zh, en))
        bottom += vals
    ax.set_xticks(x, [str(t) for t in ov.index], rotation=45, ha="right")
    ax.set_ylabel(pick_label("贡献率 (%)", "share of G (%)"))
    ax2 = ax.twinx()
    ax2.plot(x, ov["G"].to_numpy(), color="k", marker="o", label=pick_label("总体基尼系数", "Gini"))
    ax2.set_ylabel(pick_label("总体基尼系数", "overall Gini"))
    ax.set_title(pick_label(f"Dagum基尼系数分解（按{result.group}）",
                            f"Dagum Gini decomposition by {result.group}"))
    # bars fill the axes from 0 to 100%: the legend goes below, not over the bars
    handles = [h for a in (ax, ax2) for h in a.get_legend_handles_labels()[0]]
    fig.legend(handles, [h.get_label() for h in handles], loc="lower center", ncol=4,
               fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    return fig


def density_surface_plot(result: DensityResult, *, kind: str = "surface") -> Figure:
    """The 3-D density over periods papers print: a surface or ridge lines.

    Parameters
    ----------
    kind : {"surface", "ridge"}
        A 3-D surface (value x period x density) or stacked 2-D ridge lines.

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat.index.disparity import kernel_density
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"t": np.repeat([1, 2, 3], 50), "y": rng.normal(size=150)})
    >>> fig = density_surface_plot(kernel_density(df, value="y", time="t"), kind="ridge")
    >>> len(fig.axes[0].lines)
    3
    """
    v.check_choice(kind, ("surface", "ridge"), "kind")
    d = check_result(result, "density_surface_plot", "a DensityResult (kernel_density)",
                     ("density", "value")).density
    if d.shape[1] < 2 and kind == "surface":
        raise ParameterError("a density surface needs at least two periods")
    grid, per = d.index.to_numpy(), [str(c) for c in d.columns]
    fig = _figure((7.0, 5.0))
    if kind == "surface":
        ax = fig.add_subplot(projection="3d")
        X, Y = np.meshgrid(grid, np.arange(len(per)))
        ax.plot_surface(X, Y, d.to_numpy().T, cmap="viridis", linewidth=0, antialiased=True)
        ax.set_yticks(np.arange(len(per)), per, fontsize=7)
        ax.set_xlabel(result.value)
        ax.set_zlabel(pick_label("核密度", "density"))
    else:
        ax = fig.add_subplot()
        step = 0.6 * float(d.to_numpy().max())
        for j, c in enumerate(d.columns):
            y = d[c].to_numpy() + j * step
            ax.fill_between(grid, j * step, y, alpha=0.35)
            ax.plot(grid, y, lw=1)
        ax.set_yticks(np.arange(len(per)) * step, per, fontsize=7)
        ax.set_xlabel(result.value)
    ax.set_title(pick_label("核密度演进", "Kernel density over periods")
                 + f" ({result.kernel}, {result.rule})")
    fig.tight_layout()
    return fig


def density_overlay_plot(result: DensityResult, periods=None) -> Figure:
    """Densities of selected periods (default: first, middle, last) on one 2-D axis.

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat.index.disparity import kernel_density
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"t": np.repeat([1, 2, 3, 4], 50), "y": rng.normal(size=200)})
    >>> [line.get_label() for line in
    ...  density_overlay_plot(kernel_density(df, value="y", time="t")).axes[0].lines]
    ['1', '3', '4']
    """
    d = check_result(result, "density_overlay_plot", "a DensityResult (kernel_density)",
                     ("density", "value")).density
    cols = list(d.columns)
    if periods is None:
        periods = sorted({cols[0], cols[len(cols) // 2], cols[-1]}, key=cols.index)
    miss = [p for p in periods if p not in cols]
    if miss:
        raise ParameterError(f"period {miss[0]!r} is not in the result; periods are {cols}")
    fig = _figure((6.0, 3.6))
    ax = fig.add_subplot()
    for p in periods:
        ax.plot(d.index, d[p], label=str(p))
    ax.set_xlabel(result.value)
    ax.set_ylabel(pick_label("核密度", "density"))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def markov_heatmap(result: MarkovResult) -> Figure:
    """Transition probabilities as an annotated heat map (rows: class at t).

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat.index.disparity import markov
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"e": np.tile(np.arange(20), 4), "t": np.repeat(np.arange(4), 20),
    ...                    "y": rng.normal(size=80)})
    >>> len(markov_heatmap(markov(df, value="y", entity="e", time="t", k=2)).axes[0].texts)
    4
    """
    P = check_result(result, "markov_heatmap", "a MarkovResult (markov)",
                     ("probabilities",)).probabilities.to_numpy()
    fig = _figure((4.6, 4.0))
    ax = fig.add_subplot()
    im = ax.imshow(P, cmap="Blues", vmin=0, vmax=1)
    k = P.shape[0]
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{P[i, j]:.3f}", ha="center", va="center", fontsize=8,
                    color="white" if P[i, j] > 0.6 else "black")
    ax.set_xticks(range(k), [str(c + 1) for c in range(k)])
    ax.set_yticks(range(k), [str(c + 1) for c in range(k)])
    ax.set_xlabel(pick_label("t+1 期类型", "class at t+1"))
    ax.set_ylabel(pick_label("t 期类型", "class at t"))
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def club_paths_plot(result: ClubsResult) -> Figure:
    """Mean relative transition path of each convergence club over time (1 = panel mean).

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat.index.disparity import convergence_clubs
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(1, 31)
    >>> x = np.repeat([9.0, 8.0], 10)[:, None] + rng.normal(0, 0.5, (20, 1)) / t
    >>> df = pd.DataFrame({"e": np.repeat(range(20), 30), "t": np.tile(t, 20),
    ...                    "x": (x + rng.normal(0, 0.002, (20, 30))).ravel()})
    >>> fig = club_paths_plot(convergence_clubs(df, value="x", entity="e", time="t"))
    >>> len(fig.axes[0].lines)
    3
    """
    paths = check_result(result, "club_paths_plot", "a ClubsResult (convergence_clubs)",
                         ("transition_paths", "clubs")).transition_paths()
    fig = _figure((7.0, 4.2))
    ax = fig.add_subplot()
    x = np.arange(paths.shape[0])
    n = result.clubs["n_units"]
    for club in paths.columns:
        ax.plot(x, paths[club].to_numpy(), lw=1.6,
                label=f"{club} (n={int(n[club])})")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    step = max(1, len(x) // 8)
    ax.set_xticks(x[::step], [str(p) for p in paths.index[::step]])
    ax.set_ylabel(pick_label("相对转移路径（全样本均值 = 1）",
                             "relative transition path (panel mean = 1)"))
    ax.set_title(pick_label("俱乐部平均相对转移路径", "Mean transition path of each club"))
    ax.legend(fontsize=7, ncol=2 if paths.shape[1] > 6 else 1, frameon=False)
    fig.tight_layout()
    return fig
