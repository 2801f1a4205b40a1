"""Figures of a staggered DiD: event-study plot, placebo density and Bacon weights."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from dtistat._plotting import check_ax, check_result, pick_label, pyplot
from dtistat.errors import ParameterError

__all__ = ["bacon_plot", "event_study_plot", "placebo_plot"]

_MARKERS = "osD^v<>"


def _frame(obj) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        need = {"event_time", "estimate", "ci_low", "ci_high"}
        if not need <= set(obj.columns):
            raise ParameterError(f"an event-study frame needs the columns {sorted(need)}; "
                                 f"it has {list(obj.columns)}")
        return obj
    return check_result(obj, "event_study_plot", "a result with event_study() (CS, "
                        "TWFE event study, Sun-Abraham) or its frame",
                        ("event_study",)).event_study()


def event_study_plot(results, *, truth: Mapping | pd.Series | None = None, ax=None,
                     bands: bool = True, title: str | None = None):
    """Event-study ("parallel trends") plot of one or several estimators.

    Parameters
    ----------
    results : result or frame, or dict label -> result / frame
        Anything with ``event_study()`` (CS, TWFE event study, Sun-Abraham) or its
        frame (``event_time``, ``estimate``, ``ci_low``, ``ci_high``; optional
        ``band_low``/``band_high`` are drawn as a lighter uniform band).
    truth : mapping event time -> value, optional
        The true effects (simulations), drawn as a dashed line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> f = pd.DataFrame({"event_time": [-2, -1, 0, 1], "estimate": [0.0, 0, 1, 2],
    ...                   "ci_low": [-.5, 0, .5, 1.5], "ci_high": [.5, 0, 1.5, 2.5]})
    >>> fig = event_study_plot({"TWFE": f}, truth={0: 1.0, 1: 2.0})
    >>> len(fig.axes)
    1
    """
    check_ax(ax)
    if truth is not None and not isinstance(truth, (Mapping, pd.Series)):
        raise ParameterError(f"truth must be a mapping event time -> effect (dict or "
                             f"Series); got {type(truth).__name__}")
    plt = pyplot()
    if not isinstance(results, Mapping):
        results = {"": results}
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.2))
    else:
        fig = ax.figure
    k = len(results)
    width = 0.12 if k > 1 else 0.0
    for j, (label, res) in enumerate(results.items()):
        f = _frame(res).sort_values("event_time")
        x = f["event_time"].to_numpy(dtype=float) + (j - (k - 1) / 2) * width
        color = f"C{j}"
        if bands and "band_low" in f:
            ax.vlines(x, f["band_low"], f["band_high"], color=color, alpha=0.3, lw=4)
        ax.errorbar(x, f["estimate"], yerr=[f["estimate"] - f["ci_low"],
                                            f["ci_high"] - f["estimate"]],
                    fmt=_MARKERS[j % len(_MARKERS)], color=color, capsize=3, ms=5,
                    label=label or None)
    if truth is not None:
        tr = pd.Series(truth).sort_index()
        ax.plot(tr.index.to_numpy(dtype=float), tr.to_numpy(), "k--", lw=1.2,
                label=pick_label("真实效应", "truth"))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(pick_label("相对政策实施的时期", "event time (periods since treatment)"))
    ax.set_ylabel(pick_label("处理效应", "effect"))
    if title:
        ax.set_title(title)
    if any(results) or truth is not None:
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def placebo_plot(result, *, ax=None, title: str | None = None):
    """Density of the placebo estimates with the actual estimate marked.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(draws=np.random.default_rng(0).normal(size=500), estimate=2.5,
    ...                     p_value=0.002)
    >>> fig = placebo_plot(r)
    >>> len(fig.axes)
    1
    """
    check_result(result, "placebo_plot", "a placebo result (draws, estimate, p_value)",
                 ("draws", "estimate", "p_value"))
    check_ax(ax)
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.8))
    else:
        fig = ax.figure
    d = np.asarray(result.draws, dtype=float)
    ax.hist(d, bins=40, density=True, color="C0", alpha=0.35)
    if d.std() > 0:
        grid = np.linspace(min(d.min(), result.estimate), max(d.max(), result.estimate), 300)
        ax.plot(grid, stats.gaussian_kde(d)(grid), color="C0")
    ax.axvline(result.estimate, color="C3", lw=1.5,
               label=pick_label("实际估计值", "actual estimate")
               + f" (p = {result.p_value:.3g})")
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(pick_label("安慰剂估计值", "placebo estimate"))
    ax.set_ylabel(pick_label("密度", "density"))
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def bacon_plot(result, *, ax=None):
    """Goodman-Bacon scatter: each 2x2 estimate against its weight, by comparison type.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> tb = pd.DataFrame({"type": ["Treated vs Untreated", "Earlier vs Later Treated"],
    ...                    "estimate": [0.1, -0.02], "weight": [0.8, 0.2]})
    >>> fig = bacon_plot(SimpleNamespace(two_by_two=tb, twfe=0.076))
    >>> len(fig.axes)
    1
    """
    check_result(result, "bacon_plot", "a Bacon decomposition (bacon_decomposition)",
                 ("two_by_two", "twfe"))
    check_ax(ax)
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.8))
    else:
        fig = ax.figure
    tb = result.two_by_two
    for j, (typ, part) in enumerate(tb.groupby("type", sort=False)):
        ax.scatter(part["weight"], part["estimate"], marker=_MARKERS[j % len(_MARKERS)],
                   color=f"C{j}", label=typ)
    ax.axhline(result.twfe, color="k", lw=1, ls="--", label=f"TWFE = {result.twfe:.3f}")
    ax.set_xlabel(pick_label("权重", "weight"))
    ax.set_ylabel(pick_label("2×2 DiD 估计值", "2x2 DiD estimate"))
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
