"""Goodman-Bacon decomposition of the two-way fixed-effects DiD estimate into 2x2 comparisons.

Goodman-Bacon (2021, J. Econometrics 225(2), Theorem 1): in a balanced panel with
staggered adoption and no covariates, the TWFE coefficient of the treatment dummy is a
weighted average of every 2x2 DiD between timing groups -- each cohort against the
never treated ("Treated vs Untreated"), an earlier cohort against a later one before the
later is treated ("Earlier vs Later Treated"), and a later cohort against an earlier,
already treated one ("Later vs Earlier Treated", the "forbidden" comparison). Weights
follow his equations (10a)-(10c) from group sizes and treated shares of the panel,
normalized to sum to one, as R ``bacondecomp::bacon``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.did._data import prepare_panel
from dtistat.did.results import BaconResult

__all__ = ["bacon_decomposition"]

TYPES = ("Earlier vs Later Treated", "Later vs Earlier Treated", "Treated vs Untreated")


def _did(m_t: np.ndarray, m_c: np.ndarray, pre: np.ndarray, post: np.ndarray) -> float:
    return float((m_t[post].mean() - m_t[pre].mean()) - (m_c[post].mean() - m_c[pre].mean()))


def _two_by_twos(means: dict, share: dict, dbar: dict, times: np.ndarray):
    rows = []
    cohorts = sorted(g for g in means if g != 0)
    if 0 in means:
        for k in cohorts:
            w = (share[k] + share[0]) ** 2 * _nn(share[k], share[0]) * dbar[k] * (1 - dbar[k])
            rows.append((k, 0, TYPES[2], _did(means[k], means[0], times < k, times >= k), w))
    for i, k in enumerate(cohorts):
        for l_ in cohorts[i + 1:]:
            nkl = _nn(share[k], share[l_])
            dk, dl = dbar[k], dbar[l_]
            # earlier k treated, later l as control: periods before l's treatment
            w = (((share[k] + share[l_]) * (1 - dl)) ** 2 * nkl
                 * (dk - dl) / (1 - dl) * (1 - dk) / (1 - dl))
            win = times < l_
            rows.append((k, l_, TYPES[0], _did(means[k][win], means[l_][win],
                                               times[win] < k, times[win] >= k), w))
            # later l treated, already-treated k as control: periods from k's treatment on
            w = ((share[k] + share[l_]) * dk) ** 2 * nkl * (dl / dk) * (dk - dl) / dk
            win = times >= k
            rows.append((l_, k, TYPES[1], _did(means[l_][win], means[k][win],
                                               times[win] < l_, times[win] >= l_), w))
    return rows


def _nn(a: float, b: float) -> float:
    s = a / (a + b)
    return s * (1 - s)


def bacon_decomposition(data: pd.DataFrame, *, y: str, treat_time: str, entity: str,
                        time: str) -> BaconResult:
    """Decompose the TWFE DiD estimate into 2x2 comparisons and their weights.

    Parameters
    ----------
    data : DataFrame
        Balanced panel (never modified).
    y, treat_time, entity, time : str
        As :func:`dtistat.did.fit_did`; ``treat_time`` 0 or missing = never treated.

    Returns
    -------
    BaconResult
        ``two_by_two`` (treated, control, type, estimate, weight; control 0 = never
        treated), ``by_type`` and ``twfe`` (the weighted sum, equal to the TWFE
        coefficient).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat([3, 5, 0], 4)
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(12), 6), "t": np.tile(np.arange(1, 7), 12),
    ...                    "g": np.repeat(g, 6)})
    >>> df["y"] = rng.normal(size=72) + ((df.g > 0) & (df.t >= df.g)) * (df.t - df.g + 1.0)
    >>> b = bacon_decomposition(df, y="y", treat_time="g", entity="id", time="t")
    >>> round(float(b.two_by_two["weight"].sum()), 12)
    1.0
    """
    panel = prepare_panel(data, y=y, treat_time=treat_time, entity=entity, time=time)
    times, G, Y = panel.times, panel.G, panel.Y
    labels = np.unique(G)
    means = {g: Y[G == g].mean(0) for g in labels}
    share = {g: float(np.mean(G == g)) for g in labels}
    dbar = {g: float(np.mean(times >= g)) if g else 0.0 for g in labels}
    rows = _two_by_twos(means, share, dbar, times)
    tb = pd.DataFrame(rows, columns=["treated", "control", "type", "estimate", "weight"])
    tb["weight"] /= tb["weight"].sum()
    by = tb.assign(we=tb["estimate"] * tb["weight"]).groupby("type", sort=False).agg(
        weight=("weight", "sum"), we=("we", "sum"))
    by["estimate"] = by["we"] / by["weight"]
    by = by[["weight", "estimate"]].reindex([t for t in TYPES if t in by.index])
    by.index.name = None
    twfe = float((tb["estimate"] * tb["weight"]).sum())
    return BaconResult(twfe=twfe, two_by_two=tb, by_type=by)
