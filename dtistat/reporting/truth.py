"""Estimates beside the simulated truth: say when one is far from it, and whether that is noise.

A demo table that prints 7.68 beside "truth 0.5" with no word reads like a bug. For each
row whose estimate is visibly off (more than a quarter of the truth away), the sentence
gives the distance in standard errors and whether the interval covers the truth, and
names the reason when the caller knows it (e.g. a regressor that barely moves once the
fixed effects are removed).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["truth_notes", "within_sd"]


def within_sd(data: pd.DataFrame, column: str, entity: str, time: str | None = None) -> float:
    """Standard deviation of ``column`` left once entity (and time) means are removed.

    Examples
    --------
    >>> d = pd.DataFrame({"i": [1, 1, 2, 2], "t": [1, 2, 1, 2], "x": [5.0, 5.0, 9.0, 9.0]})
    >>> within_sd(d, "x", "i", "t")
    0.0
    """
    x = data[column].astype(float)
    r = x - x.groupby(data[entity]).transform("mean")
    if time is not None:  # alternating projections: exact for unbalanced panels too
        for _ in range(50):
            step = r.groupby(data[time]).transform("mean")
            r = r - step
            r = r - r.groupby(data[entity]).transform("mean")
            if float(np.abs(step).max()) < 1e-12:
                break
    return float(r.std(ddof=0))


def truth_notes(table: pd.DataFrame, *, term: str = "term",
                reasons: Mapping[str, str] | None = None, rel: float = 0.25) -> list[str]:
    """One sentence per row whose ``estimate`` is more than ``rel``·|truth| from ``truth``.

    Examples
    --------
    >>> t = pd.DataFrame({"term": ["a", "b"], "estimate": [7.68, 1.01], "truth": [0.5, 1.0],
    ...                   "std_error": [4.5, 0.5], "ci_low": [-1.2, 0.0], "ci_high": [16.5, 2.0]})
    >>> print(truth_notes(t, reasons={"a": "a barely varies"})[0][:55])
    a: 7.68 (SE 4.5) against a truth of 0.5 is 1.6 standard
    """
    out = []
    reasons = reasons or {}
    for _, r in table.iterrows():
        est, tru, se = r.get("estimate"), r.get("truth"), r.get("std_error")
        if pd.isna(est) or pd.isna(tru) or abs(est - tru) <= rel * abs(tru):
            continue
        z = abs(est - tru) / se if se and not pd.isna(se) else float("nan")
        covered = ("ci_low" in r and "ci_high" in r and not pd.isna(r["ci_low"])
                   and r["ci_low"] <= tru <= r["ci_high"])
        if covered:
            verdict = ("within sampling error: the 95% interval "
                       f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}] contains the truth")
        elif "ci_low" in r and not pd.isna(r["ci_low"]):
            verdict = (f"and the 95% interval [{r['ci_low']:.3g}, {r['ci_high']:.3g}] "
                       "misses the truth")
        else:
            verdict = ("outside a 95% interval" if z > 1.96 else
                       "inside a 95% interval")
        sent = (f"{r[term]}: {est:.3g} (SE {se:.2g}) against a truth of {tru:.3g} is "
                f"{z:.1f} standard errors away, {verdict}")
        why = reasons.get(str(r[term]))
        out.append(sent + (f". {why}" if why else "") + ".")
    return out
