"""Theil T, Theil L and generalized entropy GE(alpha) with the between/within decomposition.

With weight shares ``f_i = w_i / W`` (``w_i = 1``: unit-weighted, as PySAL
``inequality.theil``; a population column: population-weighted) and mean ``mu``
(Shorrocks 1980, Econometrica 48:613-625):

* ``GE(alpha) = 1 / (alpha (alpha - 1)) sum_i f_i [(y_i / mu)^alpha - 1]``;
* Theil T ``= GE(1) = sum_i f_i (y_i / mu) ln(y_i / mu)`` (``0 ln 0 = 0``: zeros accepted);
* Theil L (mean log deviation) ``= GE(0) = -sum_i f_i ln(y_i / mu)`` (positives only);
* within ``= sum_g v_g^(1 - alpha) s_g^alpha GE_g(alpha)`` with group weight share ``v_g``
  and value share ``s_g``; between ``= GE(alpha)`` of the group means weighted by ``v_g``;
  total = between + within exactly.

Zeros are accepted for ``alpha > 0`` (T and GE(2) included); ``alpha <= 0`` (L) needs
strictly positive values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat._results import Result, Summary
from dtistat.errors import ParameterError
from dtistat.index.disparity._data import as_panel, check_values

__all__ = ["TheilResult", "generalized_entropy", "theil"]


def generalized_entropy(y: np.ndarray, w: np.ndarray | None = None, alpha: float = 1.0) -> float:
    """GE(alpha) of one distribution (alpha=1: Theil T, alpha=0: Theil L).

    Examples
    --------
    >>> bool(np.isclose(generalized_entropy(np.array([0.0, 0, 0, 10, 10, 10])), np.log(2)))
    True
    """
    y = np.asarray(y, dtype=float)
    f = np.full(y.shape, 1.0 / y.size) if w is None else np.asarray(w, float) / np.sum(w)
    r = y / (f * y).sum()
    if alpha == 1:
        pos = r > 0
        return float((f[pos] * r[pos] * np.log(r[pos])).sum())
    if alpha == 0:
        return float(-(f * np.log(r)).sum())
    return float((f * (r**alpha - 1)).sum() / (alpha * (alpha - 1)))


@dataclass(frozen=True, eq=False, repr=False)
class TheilResult(Result):
    """Theil / GE(alpha) decomposition per period.

    Attributes
    ----------
    decomposition : DataFrame
        Period -> ``total, between, within, between_share, within_share``.
    by_group : DataFrame or None
        Period -> one column per group: the group's own GE(alpha).
    contributions : DataFrame or None
        Period -> one column per group: its term ``v_g^(1-alpha) s_g^alpha GE_g``
        of the within component.
    """

    decomposition: pd.DataFrame
    by_group: pd.DataFrame | None
    contributions: pd.DataFrame | None
    value: str
    group: str | None
    alpha: float
    weighting: str

    @property
    def measure(self) -> str:
        return {1.0: "Theil T", 0.0: "Theil L"}.get(float(self.alpha), f"GE({self.alpha:g})")

    @property
    def _kind(self) -> str:  # type: ignore[override]
        return self.measure.replace(" ", "")

    def _headline(self) -> list[str]:
        last = self.decomposition.iloc[-1]
        out = [self.value, f"{len(self.decomposition)} period(s)", f"total={last['total']:.4f}"]
        if self.group is not None:
            out += [f"between={last['between']:.4f}", f"within={last['within']:.4f}"]
        return out

    def to_frame(self) -> pd.DataFrame:
        return self.decomposition.copy()

    def summary(self) -> Summary:
        tabs = {"Decomposition": self.decomposition}
        if self.by_group is not None:
            tabs["Within each group"] = self.by_group
            tabs["Contribution to within"] = self.contributions
        return Summary(f"{self.measure} of {self.value}" + (f" by {self.group}" if self.group
                                                             else ""), tabs,
                       header=[("Weighting", self.weighting), ("alpha", self.alpha)],
                       notes=["total = between + within (Shorrocks 1980)."])


def _period(y, w, codes, k, alpha):
    total = generalized_entropy(y, w, alpha)
    if codes is None:
        return total, np.nan, np.nan, None, None
    Wg = np.bincount(codes, weights=w, minlength=k)
    vg = Wg / Wg.sum()
    mg = np.bincount(codes, weights=w * y, minlength=k) / Wg
    sg = vg * mg / (vg * mg).sum()
    # a group whose values are all zero has s_g = 0 and no defined GE_g; for alpha > 0 its
    # weight s_g^alpha is zero, so it contributes nothing to the within term
    ge_g = np.array([generalized_entropy(y[codes == j], w[codes == j], alpha) if mg[j] > 0
                     else 0.0 for j in range(k)])
    contrib = vg ** (1 - alpha) * sg**alpha * ge_g
    between = generalized_entropy(mg, vg, alpha)
    return total, between, float(contrib.sum()), ge_g, contrib


def theil(data: Any, *, value: str | None = None, entity: str | None = None,
          time: str | None = None, group: Any = None, weights: Any = None,
          measure: str | float = "T") -> TheilResult:
    """Theil T / L or GE(alpha) per period, decomposed between and within groups.

    Parameters
    ----------
    data : IndexResult or DataFrame
    value, entity, time, group, weights : str
        As in :func:`dagum_gini`; ``group`` is optional (no decomposition without it).
    measure : {"T", "L"} or float
        ``"T"`` (GE(1)), ``"L"`` (GE(0), mean log deviation) or the GE parameter alpha.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [0.0, 0, 0, 10, 10, 10], "g": list("aaabbb")})
    >>> r = theil(df, value="y", group="g")
    >>> bool(np.isclose(r.decomposition["between"].iloc[0], np.log(2)))
    True
    """
    if isinstance(measure, str):
        if measure not in ("T", "L"):
            raise ParameterError(f"measure={measure!r} is not valid; use 'T', 'L' or a number")
        alpha = 1.0 if measure == "T" else 0.0
    elif (isinstance(measure, int | float) and not isinstance(measure, bool)
          and np.isfinite(measure)):
        alpha = float(measure)
    else:
        raise ParameterError(f"measure must be 'T', 'L' or a finite number; got {measure!r}")
    p = as_panel(data, value=value, entity=entity, time=time, group=group, weights=weights)
    name = {1.0: "Theil T", 0.0: "Theil L"}.get(alpha, f"GE({alpha:g})")
    check_values(p, name, zeros=alpha > 0)
    labels = (sorted(pd.unique(p.frame["_group"]), key=lambda x: (str(type(x)), x))
              if p.group is not None else None)
    rows, bg, ct = [], [], []
    for t, sub in p.by_period():
        y = sub["_value"].to_numpy()
        w = sub["_weight"].to_numpy() if p.weights else np.ones_like(y)
        codes = (pd.Categorical(sub["_group"], categories=labels).codes.astype(np.int64)
                 if labels is not None else None)
        total, between, within, ge_g, contrib = _period(y, w, codes, len(labels or ()), alpha)
        rows.append((t, total, between, within))
        if labels is not None:
            present = np.bincount(codes, minlength=len(labels)) > 0
            bg.append(np.where(present, ge_g, np.nan))
            ct.append(contrib)
    idx = pd.Index([r[0] for r in rows], name=p.time or "period")
    dec = pd.DataFrame([r[1:] for r in rows], index=idx, columns=["total", "between", "within"])
    if labels is not None:
        dec["between_share"] = dec["between"] / dec["total"]
        dec["within_share"] = dec["within"] / dec["total"]
    else:
        dec = dec[["total"]]
    return TheilResult(
        decomposition=dec,
        by_group=pd.DataFrame(bg, index=idx, columns=labels) if labels is not None else None,
        contributions=pd.DataFrame(ct, index=idx, columns=labels) if labels is not None else None,
        value=p.value, group=p.group, alpha=alpha,
        weighting="population" if p.weights else "unit")
