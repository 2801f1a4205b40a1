"""Raking (iterative proportional fitting) of respondent weights to marginal totals."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dtistat._results import Result, Summary
from dtistat._scale import column_scale
from dtistat._validate import (
    check_columns,
    check_frame,
    check_positive_int,
)
from dtistat.errors import (
    ConvergenceError,
    DataError,
    ParameterError,
)
from dtistat.survey._common import _weights, deprecated_weight, effective_n, kish_deff

__all__ = ["RakeReport", "rake"]

# ============================================================================== rake

@dataclass(frozen=True, eq=False, repr=False)
class RakeReport(Result):
    """Convergence report of :func:`rake`, found in ``weights.attrs["rake"]``.

    Attributes
    ----------
    converged : True when every margin is reproduced to ``tol`` (relative error).
    iterations : number of full raking sweeps (one pass over all margins) run.
    max_abs_error, max_rel_error : largest ``|achieved - target|`` and that divided by
        the target, over all margin cells, at the returned weights.
    tol : the relative tolerance asked for.
    n : number of respondents; total : sum of the weights (the population total).
    design_effect : Kish design effect of the weights, ``n sum(w^2) / sum(w)^2``.
    effective_n : Kish effective sample size ``n / design_effect``.
    weight_min, weight_max : smallest and largest weight.
    trim_bounds : (lower, upper) absolute weight bounds applied, or None.
    n_trimmed : respondents whose weight sits at a trimming bound.
    margins : DataFrame (variable, category, target, achieved, n, abs_error,
        rel_error), one row per margin cell.
    """

    converged: bool
    iterations: int
    max_abs_error: float
    max_rel_error: float
    tol: float
    n: int
    total: float
    design_effect: float
    effective_n: float
    weight_min: float
    weight_max: float
    trim_bounds: tuple[float, float] | None
    n_trimmed: int
    margins: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The margin table: target against achieved total for every category."""
        return self.margins.copy()

    def _headline(self) -> list[str]:
        return ["converged" if self.converged else "NOT converged",
                f"sweeps={self.iterations}", f"n={self.n}", f"deff={self.design_effect:.3f}"]

    def summary(self) -> Summary:
        """Convergence, the design effect and the margin table."""
        header = [("Status", ("converged" if self.converged else "NOT converged")
                   + f" after {self.iterations} sweep(s)"),
                  ("Max relative margin error", f"{self.max_rel_error:.3g} (tol {self.tol:.3g})"),
                  ("Respondents", self.n), ("Weighted total", self.total),
                  ("Kish design effect", self.design_effect), ("Effective n", self.effective_n),
                  ("Weights", f"min {self.weight_min:.4g}, max {self.weight_max:.4g}")]
        notes = ([f"Trimmed to [{self.trim_bounds[0]:.4g}, {self.trim_bounds[1]:.4g}]; "
                  f"{self.n_trimmed} weight(s) at a bound"] if self.trim_bounds else [])
        return Summary("Raking (iterative proportional fitting)", self.margins, header=header,
                       notes=notes)

    def __str__(self) -> str:
        status = "converged" if self.converged else "NOT converged"
        lines = [
            (f"Raking: {status} after {self.iterations} sweep(s) "
             f"(max relative margin error {self.max_rel_error:.3g}, tol {self.tol:.3g})"),
            f"Respondents: {self.n}; weighted total: {self.total:.6g}",
            f"Kish design effect: {self.design_effect:.4f}; effective n: {self.effective_n:.1f}",
            (f"Weights: min {self.weight_min:.4g}, max {self.weight_max:.4g}"
             + (f"; trimmed to [{self.trim_bounds[0]:.4g}, {self.trim_bounds[1]:.4g}], "
               f"{self.n_trimmed} at a bound" if self.trim_bounds else "")),
            self.margins.to_string(index=False, float_format=lambda v: f"{v:.6g}"),
        ]
        return "\n".join(lines)


def _parse_margins(data: pd.DataFrame, margins: Any) -> list[dict]:
    """Match each margin to the data: codes per respondent and a target per category."""
    if not isinstance(margins, Mapping) or not margins:
        raise ParameterError(
            "margins must be a non-empty dict {column: {category: total}}, e.g. "
            "{'gender': {'F': 510, 'M': 490}}; a tuple of columns as key gives a joint "
            "margin with tuple categories"
        )
    out = []
    for key, target in margins.items():
        cols = list(key) if isinstance(key, tuple) else [key]
        check_columns(data, cols, what="margin column")
        if isinstance(target, pd.Series):
            tgt = target
        elif isinstance(target, Mapping):
            tgt = pd.Series(list(target.values()), index=list(target.keys()), dtype=object)
        else:
            raise ParameterError(
                f"margin {key!r} must be a dict or pandas Series {{category: total}}, got "
                f"{type(target).__name__}"
            )
        values = pd.to_numeric(tgt, errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            i = int(np.flatnonzero(~np.isfinite(values) | (values < 0))[0])
            raise DataError(
                f"margin {key!r}: the target of category {tgt.index[i]!r} is "
                f"{tgt.iloc[i]!r}; targets must be non-negative numbers"
            )
        if tgt.index.has_duplicates:
            raise DataError(f"margin {key!r} lists category "
                            f"{tgt.index[tgt.index.duplicated()][0]!r} twice")
        for c in cols:
            miss = data[c].isna().to_numpy()
            if miss.any():
                i = int(np.flatnonzero(miss)[0])
                raise DataError(
                    f"raking column {c!r} is missing at row {data.index[i]!r} "
                    f"({int(miss.sum())} row(s)); impute it or give missing its own category"
                )
        if len(cols) == 1:
            idx = pd.Index(tgt.index)
            keys = pd.Index(data[cols[0]])
        else:
            idx = pd.MultiIndex.from_tuples([tuple(k) for k in tgt.index])
            keys = pd.MultiIndex.from_frame(data[cols])
        codes = np.asarray(idx.get_indexer(keys), dtype=np.int64)
        if (codes < 0).any():
            unknown = pd.unique(np.asarray(keys[codes < 0], dtype=object))
            raise DataError(
                f"margin {key!r}: category {unknown[0]!r} occurs in the data "
                f"({int((codes < 0).sum())} row(s) outside the margin, categories "
                f"{list(unknown)[:10]}) but has no target; the margin lists "
                f"{list(idx)[:20]}"
            )
        counts = np.bincount(codes, minlength=len(idx))
        empty = (counts == 0) & (values > 0)
        if empty.any():
            raise DataError(
                f"margin {key!r}: category {idx[int(np.flatnonzero(empty)[0])]!r} has a "
                f"target of {values[empty][0]:g} but no respondent in the data "
                f"(empty: {list(idx[empty])}); merge it with a neighbouring category"
            )
        zero = (counts > 0) & (values == 0)
        if zero.any():
            raise DataError(
                f"margin {key!r}: category {idx[int(np.flatnonzero(zero)[0])]!r} has "
                f"{int(counts[zero][0])} respondent(s) but a target of 0, which would give "
                f"them weight 0; drop those respondents before raking"
            )
        out.append({"key": key, "labels": idx, "codes": codes, "target": values,
                    "count": counts})
    return out


def _trim_bounds(trim: Any, mean_w: float) -> tuple[float, float] | None:
    if trim is None:
        return None
    def real(u: Any) -> bool:
        return u is None or (isinstance(u, numbers.Real) and not isinstance(u, bool))

    if real(trim):
        lo, hi = 0.0, float(trim)
    elif isinstance(trim, (tuple, list)) and len(trim) == 2 and all(map(real, trim)):
        lo = 0.0 if trim[0] is None else float(trim[0])
        hi = np.inf if trim[1] is None else float(trim[1])
    else:
        raise ParameterError(
            f"trim must be an upper bound (e.g. 5) or a pair (lower, upper) of multiples "
            f"of the mean weight, e.g. (0.2, 5); got {trim!r}"
        )
    if not (0.0 <= lo < 1.0 < hi):
        raise ParameterError(
            f"trim bounds are multiples of the mean weight and need 0 <= lower < 1 < "
            f"upper; got lower={lo!r}, upper={hi!r}"
        )
    return lo * mean_w, hi * mean_w


def rake(
    data: pd.DataFrame,
    margins: Mapping,
    *,
    weights: str | None = None,
    max_iter: int = 100,
    tol: float = 1e-8,
    trim: float | tuple[float | None, float | None] | None = None,
    total: float | None = None,
    weight: str | None = None,
) -> pd.Series:
    """Rake respondent weights to population margins (iterative proportional fitting).

    Each sweep multiplies the weights so that, margin by margin, the weighted count of
    every category equals its target (Deming & Stephan 1940, Ann. Math. Stat.
    11(4):427-444). With ``trim``, weights are clipped to bounds after every sweep and
    raking continues until margins and bounds hold together. Sweeps stop when the
    largest relative margin error ``|achieved - target| / target`` is <= ``tol``.

    Parameters
    ----------
    data : DataFrame of respondents (not modified).
    margins : dict ``{column: {category: total}}`` (dict or Series values). A tuple of
        columns as key gives a joint margin whose categories are tuples. Targets may
        be population totals (all margins must then have the same sum, within 1e-6
        relative) or shares summing to 1 in every margin (scaled to ``total``).
    weights : column of base (design) weights to start from; default equal weights.
    weight : deprecated spelling of ``weights``.
    max_iter : maximum number of sweeps.
    tol : relative tolerance on every margin cell.
    trim : upper bound, or (lower, upper) bounds, on the weights as multiples of the
        mean weight (``total / n``), e.g. ``5`` or ``(0.2, 5)``.
    total : population total used when the margins are shares; default the sum of the
        base weights (n when unweighted).

    Returns
    -------
    pandas Series named ``"weight"``, aligned to ``data.index``. Its
    ``attrs["rake"]`` holds a :class:`RakeReport` (iterations, margin errors, Kish
    design effect, effective n, trimming).

    Raises
    ------
    DataError
        A data category has no target, a target category has no respondent, targets
        are negative, margin totals disagree, raking columns are missing, or base
        weights are zero/negative.
    ConvergenceError
        The margins are not reached within ``max_iter`` sweeps. The exception carries
        the last weights as ``.weights`` and the report as ``.report`` for inspection;
        they are never returned silently.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"sex": ["F", "F", "M", "M", "M"],
    ...                   "age": ["young", "old", "young", "old", "old"]})
    >>> w = rake(d, {"sex": {"F": 50, "M": 50}, "age": {"young": 40, "old": 60}})
    >>> w.groupby(d["sex"]).sum().round(6).tolist()
    [50.0, 50.0]
    >>> w.attrs["rake"].converged
    True
    """
    weights = deprecated_weight(weights, weight, "rake")
    check_frame(data)
    max_iter = check_positive_int(max_iter, "max_iter")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ParameterError(f"tol must be a number in (0, 1), e.g. 1e-8; got {tol!r}")
    base = _weights(data, weights)
    parsed = _parse_margins(data, margins)
    total = _population_total(parsed, base, total)
    # Raking is equivariant in the targets' unit: rake on targets divided by a power of
    # two near the total (exact) and multiply back, so that totals near 1e308 do not
    # overflow and totals near 1e-300 do not underflow.
    unit = float(column_scale(np.array([total]))[0])
    for m in parsed:
        m["target"] = m["target"] / unit
    total_u = float(total) / unit
    bounds = _trim_bounds(trim, total_u / len(data))
    base = base / column_scale(base)
    w, it = _ipf(parsed, base * (total_u / base.sum()), bounds, max_iter, tol)
    report = _rake_report(parsed, w, it, tol, bounds, unit)
    out = pd.Series(w * unit, index=data.index, name="weight")
    out.attrs["rake"] = report
    if not report.converged:
        raise _not_converged(out, report, it, tol, bounds)
    return out


def _population_total(parsed: list[dict], base: np.ndarray, total: Any) -> float:
    """The population total; margins given as shares are scaled to it in place.

    Shares (every margin summing to 1) are scaled to ``total`` (default the sum of the
    base weights); totals must agree across margins and leave ``total`` unset.
    """
    with np.errstate(over="ignore"):
        sums = np.array([m["target"].sum() for m in parsed])
    if not np.all(np.isfinite(sums)):
        raise DataError(
            f"the targets of margin {parsed[int(np.argmin(np.isfinite(sums)))]['key']!r} "
            f"sum to more than the largest floating-point number (about 1.8e308); give "
            f"them in a larger unit (e.g. thousands) or as shares summing to 1"
        )
    if np.all(np.abs(sums - 1.0) < 1e-6):
        if total is None:
            total = float(base.sum())
        elif not (isinstance(total, (int, float)) and not isinstance(total, bool)
                  and 0 < total < np.inf):
            raise ParameterError(f"total must be a positive finite number, got {total!r}")
        for m in parsed:
            m["target"] = m["target"] / m["target"].sum() * float(total)
        return total
    if np.max(np.abs(sums - sums[0])) > 1e-6 * abs(sums[0]):
        listing = ", ".join(f"{m['key']!r}: {s:.10g}" for m, s in zip(parsed, sums))
        raise DataError(
            f"margin totals disagree ({listing}); every margin must describe the "
            f"same population (or give shares that sum to 1 in every margin)"
        )
    if total is not None:
        raise ParameterError("total= is only used when the margins are shares summing "
                             "to 1; these margins are totals")
    return float(sums[0])


def _achieved(m: dict, w: np.ndarray) -> np.ndarray:
    """Weighted count of every category of margin ``m``."""
    return np.bincount(m["codes"], weights=w, minlength=len(m["target"]))


def _ipf(parsed: list[dict], w: np.ndarray, bounds, max_iter: int, tol: float
         ) -> tuple[np.ndarray, int]:
    """Raking sweeps (clipped to ``bounds`` after each) until the largest relative
    margin error is <= ``tol`` or ``max_iter`` sweeps; returns the weights and sweeps."""
    it = 0
    for it in range(1, max_iter + 1):
        for m in parsed:
            cur = _achieved(m, w)
            ratio = np.divide(m["target"], cur, out=np.ones_like(cur), where=cur > 0)
            w = w * ratio[m["codes"]]
        if bounds is not None:
            w = np.clip(w, bounds[0], bounds[1])
        if _margin_error(parsed, w)[1] <= tol:
            break
    return w, it


def _not_converged(out: pd.Series, report: RakeReport, it: int, tol: float,
                   bounds) -> ConvergenceError:
    """The error for margins not reached, carrying the last weights and the report."""
    err = ConvergenceError(
        f"raking did not converge in {it} sweep(s): the largest relative margin "
        f"error is {report.max_rel_error:.3g} (tol {tol:g}, absolute "
        f"{report.max_abs_error:.4g})"
        + ("; the trimming bounds may be incompatible with the margins — widen trim"
           if bounds is not None else "; raise max_iter or merge sparse categories")
        + ". The last weights and the report are attached to this error as "
        ".weights and .report"
    )
    err.weights = out  # type: ignore[attr-defined]
    err.report = report  # type: ignore[attr-defined]
    return err


def _margin_error(parsed: list[dict], w: np.ndarray) -> tuple[float, float]:
    """Largest absolute and relative margin error; NaN weights give inf, not 0."""
    ab, rel = 0.0, 0.0
    for m in parsed:
        d = np.abs(_achieved(m, w) - m["target"])
        d = np.where(np.isnan(d), np.inf, d)
        ab = max(ab, float(d.max()))
        pos = m["target"] > 0
        if pos.any():
            rel = max(rel, float((d[pos] / m["target"][pos]).max()))
    return ab, rel


def _rake_report(parsed, w, iterations, tol, bounds, unit: float = 1.0) -> RakeReport:
    """The report of weights ``w * unit`` computed from ``w`` and targets in ``unit``."""
    rows = []
    for m in parsed:
        cur = _achieved(m, w)
        for lab, t, a, c in zip(m["labels"], m["target"], cur, m["count"]):
            rows.append({
                "variable": m["key"] if not isinstance(m["key"], tuple) else " x ".join(m["key"]),
                "category": lab, "target": t * unit, "achieved": a * unit, "n": int(c),
                "abs_error": abs(a - t) * unit,
                "rel_error": abs(a - t) / t if t > 0 else 0.0,
            })
    ab, rel = _margin_error(parsed, w)
    n_trim = 0
    if bounds is not None:
        n_trim = int(np.sum(np.isclose(w, bounds[0], rtol=1e-12, atol=0)
                            | np.isclose(w, bounds[1], rtol=1e-12, atol=0)))
    return RakeReport(
        converged=bool(rel <= tol), iterations=int(iterations), max_abs_error=ab * unit,
        max_rel_error=rel, tol=float(tol), n=int(w.size), total=float(w.sum()) * unit,
        design_effect=kish_deff(w), effective_n=effective_n(w),
        weight_min=float(w.min()) * unit, weight_max=float(w.max()) * unit,
        trim_bounds=None if bounds is None else (float(bounds[0]) * unit,
                                                 float(bounds[1]) * unit),
        n_trimmed=n_trim, margins=pd.DataFrame(rows),
    )
