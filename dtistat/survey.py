"""Survey analysis: raking weights, design-based crosstabs and tests, proportions, ordered models.

PART 4 of the report weights an online panel to population margins and compares
groups (industry, city tier, employer size, age). This module gives the four steps:

* :func:`rake` — iterative proportional fitting of respondent weights to marginal
  totals, with optional trimming, a convergence report and the Kish design effect.
* :func:`crosstab` — weighted counts and row/column percentages with the Rao–Scott
  corrected χ² (first and second order, as R ``survey::svychisq``), the unweighted
  Pearson χ² with Cramér's V, and a linear-by-linear trend test for ordered
  categories; multi-select questions (one 0/1 column per option, or a delimited
  string) are tabulated option by option.
* :func:`proportions` — weighted shares by group with Wilson, logit or Korn–Graubard
  intervals on the Kish effective sample size.
* :func:`fit_ordered` — weighted ordered logit/probit (the ``OrderedModel`` likelihood
  of statsmodels) with robust (sandwich) standard errors, odds ratios and average
  marginal effects on the probability of every answer category.

Design assumed for the design-based variances: a single-stage with-replacement sample
with unequal weights (every respondent its own primary sampling unit), or, with
``cluster=``, a single-stage cluster sample (clusters as PSUs, no strata, no finite
population correction). This is ``svydesign(id = ~1, weights = ~w)`` (or
``id = ~cluster``) in R's survey package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from dtistat._results import CoefResult, Result, Summary
from dtistat._validate import (
    as_list,
    check_choice,
    check_columns,
    check_frame,
    check_level,
    check_numeric,
    check_positive_int,
    warn,
)
from dtistat.errors import (
    ConvergenceError,
    DataError,
    EstimationError,
    ParameterError,
    SpecError,
)
from dtistat.formula import build_design

__all__ = [
    "CrosstabResult",
    "OrderedResult",
    "RakeReport",
    "crosstab",
    "effective_n",
    "fit_ordered",
    "kish_deff",
    "proportions",
    "rake",
]

TESTS = ("rao-scott", "rao-scott-1", "pearson")
CI_METHODS = ("wilson", "logit", "korn-graubard")
LINKS = ("logit", "probit")
COV_TYPES = ("robust", "nonrobust")


# ============================================================================ helpers

def kish_deff(weights: Any) -> float:
    """Kish design effect due to unequal weighting, ``n * sum(w^2) / sum(w)^2``.

    Equals ``1 + CV^2`` of the weights (Kish 1965, *Survey Sampling*, §11.7; Kish
    1992, J. Official Statistics 8(2):183-200, eq. 2).

    Examples
    --------
    >>> kish_deff([1.0, 1.0, 2.0, 4.0])
    1.375
    """
    w = np.asarray(weights, dtype=float)
    return float(w.size * np.sum(w**2) / np.sum(w) ** 2)


def effective_n(weights: Any) -> float:
    """Kish effective sample size ``sum(w)^2 / sum(w^2)`` (= n / :func:`kish_deff`).

    Examples
    --------
    >>> effective_n([1.0, 1.0, 2.0, 4.0])
    2.909090909090909
    """
    w = np.asarray(weights, dtype=float)
    return float(np.sum(w) ** 2 / np.sum(w**2))


def _weights(data: pd.DataFrame, weight: str | None) -> np.ndarray:
    """Weights as a float array; None -> ones. Zero, negative or missing weights fail."""
    if weight is None:
        return np.ones(len(data))
    check_columns(data, [weight], what="weight column")
    check_numeric(data, [weight])
    w = data[weight].to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"weight column {weight!r} has a missing or infinite value at row "
            f"{data.index[i]!r} ({int(bad.sum())} in all); every respondent needs a weight"
        )
    bad = w <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"weight column {weight!r} has a zero or negative weight ({w[i]!r}) at row "
            f"{data.index[i]!r} ({int(bad.sum())} such row(s)); weights must be positive — "
            f"drop respondents who should not count instead of giving them weight 0"
        )
    return w


def _present(data: pd.DataFrame, cols: list) -> np.ndarray:
    """Boolean mask of rows with no missing value in ``cols``."""
    if not cols:
        return np.ones(len(data), dtype=bool)
    return data[cols].notna().all(axis=1).to_numpy()


def _categories(s: pd.Series) -> tuple[np.ndarray, list, bool]:
    """Codes 0..k-1, category labels, and whether the variable is ordered.

    Ordered: an ordered pandas Categorical (categories in their order), a numeric or
    boolean column (sorted values). Unused categories of a Categorical are dropped.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        used = [c for c in s.cat.categories if c in set(s.dropna().unique())]
        cats = pd.Categorical(s, categories=used, ordered=s.cat.ordered)
        return np.asarray(cats.codes, dtype=np.int64), list(used), bool(s.cat.ordered)
    if pd.api.types.is_bool_dtype(s) or (
        pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s)
    ):
        codes, uniq = pd.factorize(s, sort=True)
        return codes.astype(np.int64), list(uniq), True
    codes, uniq = pd.factorize(s, sort=True)
    return codes.astype(np.int64), list(uniq), False


def _scores(labels: list) -> np.ndarray:
    """Scores of ordered categories: the values if numeric, else 1..k (Agresti 2013 §3.4.2)."""
    try:
        v = np.asarray(labels, dtype=float)
        if np.all(np.isfinite(v)):
            return v
    except (TypeError, ValueError):
        pass
    return np.arange(1.0, len(labels) + 1.0)


def _psu(data: pd.DataFrame, cluster: str | None, n: int) -> tuple[np.ndarray, int]:
    """PSU codes (each row its own PSU when no cluster) and the number of PSUs."""
    if cluster is None:
        return np.arange(n), n
    codes, uniq = pd.factorize(data[cluster], sort=True)
    return codes.astype(np.int64), len(uniq)


def _psu_sums(values: np.ndarray, psu: np.ndarray, m: int) -> np.ndarray:
    """Sum the rows of ``values`` (n x k) within PSUs -> (m x k)."""
    out = np.zeros((m, values.shape[1]))
    np.add.at(out, psu, values)
    return out


def _fmt_table(df: pd.DataFrame, digits: int = 4) -> str:
    return df.to_string(float_format=lambda v: f"{v:.{digits}f}")


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
            tgt = pd.Series(list(target.values()), index=list(target.keys()), dtype=float)
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
    if isinstance(trim, (int, float)) and not isinstance(trim, bool):
        lo, hi = 0.0, float(trim)
    elif isinstance(trim, (tuple, list)) and len(trim) == 2:
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
    weight: str | None = None,
    max_iter: int = 100,
    tol: float = 1e-8,
    trim: float | tuple[float | None, float | None] | None = None,
    total: float | None = None,
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
    weight : column of base (design) weights to start from; default equal weights.
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
    check_frame(data)
    max_iter = check_positive_int(max_iter, "max_iter")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ParameterError(f"tol must be a number in (0, 1), e.g. 1e-8; got {tol!r}")
    base = _weights(data, weight)
    parsed = _parse_margins(data, margins)
    n = len(data)

    sums = np.array([m["target"].sum() for m in parsed])
    if np.all(np.abs(sums - 1.0) < 1e-6):
        if total is None:
            total = float(base.sum())
        elif not (isinstance(total, (int, float)) and total > 0):
            raise ParameterError(f"total must be a positive number, got {total!r}")
        for m in parsed:
            m["target"] = m["target"] / m["target"].sum() * float(total)
    else:
        if np.max(np.abs(sums - sums[0])) > 1e-6 * abs(sums[0]):
            listing = ", ".join(f"{m['key']!r}: {s:.10g}" for m, s in zip(parsed, sums))
            raise DataError(
                f"margin totals disagree ({listing}); every margin must describe the "
                f"same population (or give shares that sum to 1 in every margin)"
            )
        if total is not None:
            raise ParameterError("total= is only used when the margins are shares summing "
                                 "to 1; these margins are totals")
        total = float(sums[0])
    bounds = _trim_bounds(trim, float(total) / n)

    w = base * (float(total) / base.sum())
    rel = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        for m in parsed:
            cur = np.bincount(m["codes"], weights=w, minlength=len(m["target"]))
            ratio = np.divide(m["target"], cur, out=np.ones_like(cur), where=cur > 0)
            w = w * ratio[m["codes"]]
        if bounds is not None:
            w = np.clip(w, bounds[0], bounds[1])
        rel = _margin_error(parsed, w)[1]
        if rel <= tol:
            break

    report = _rake_report(parsed, w, it, tol, bounds)
    out = pd.Series(w, index=data.index, name="weight")
    out.attrs["rake"] = report
    if not report.converged:
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
        raise err
    return out


def _margin_error(parsed: list[dict], w: np.ndarray) -> tuple[float, float]:
    ab, rel = 0.0, 0.0
    for m in parsed:
        cur = np.bincount(m["codes"], weights=w, minlength=len(m["target"]))
        d = np.abs(cur - m["target"])
        ab = max(ab, float(d.max()))
        pos = m["target"] > 0
        if pos.any():
            rel = max(rel, float((d[pos] / m["target"][pos]).max()))
    return ab, rel


def _rake_report(parsed, w, iterations, tol, bounds) -> RakeReport:
    rows = []
    for m in parsed:
        cur = np.bincount(m["codes"], weights=w, minlength=len(m["target"]))
        for lab, t, a, c in zip(m["labels"], m["target"], cur, m["count"]):
            rows.append({
                "variable": m["key"] if not isinstance(m["key"], tuple) else " x ".join(m["key"]),
                "category": lab, "target": t, "achieved": a, "n": int(c),
                "abs_error": abs(a - t), "rel_error": abs(a - t) / t if t > 0 else 0.0,
            })
    ab, rel = _margin_error(parsed, w)
    n_trim = 0
    if bounds is not None:
        n_trim = int(np.sum(np.isclose(w, bounds[0], rtol=1e-12, atol=0)
                            | np.isclose(w, bounds[1], rtol=1e-12, atol=0)))
    return RakeReport(
        converged=bool(rel <= tol), iterations=int(iterations), max_abs_error=ab,
        max_rel_error=rel, tol=float(tol), n=int(w.size), total=float(w.sum()),
        design_effect=kish_deff(w), effective_n=effective_n(w),
        weight_min=float(w.min()), weight_max=float(w.max()),
        trim_bounds=None if bounds is None else (float(bounds[0]), float(bounds[1])),
        n_trimmed=n_trim, margins=pd.DataFrame(rows),
    )


# ========================================================================== crosstab

@dataclass(frozen=True, eq=False, repr=False)
class CrosstabResult(Result):
    """Result of :func:`crosstab`.

    Attributes
    ----------
    row, col : the variables (``col`` is the question name for multi-select).
    multi : True for a multi-select question (``options`` are its options; each is a
        yes/no variable and percentages do not sum to 100).
    weighted : whether weights were used; n : respondents used; n_dropped : rows
        dropped for missing values; n_psu : primary sampling units (= n without
        ``cluster``).
    counts : weighted counts (row categories x column categories, or x options: the
        weighted number choosing each option).
    n_table : unweighted counts, same shape.
    row_pct : percent of each row category in each column (multi: percent of the row
        group choosing each option).
    col_pct : percent of each column (option) falling in each row category.
    tests : DataFrame (option, test, statistic, df1, df2, p_value), one row per test:
        ``rao-scott`` (second-order, F; svychisq's default), ``rao-scott-chisq``
        (second-order, Satterthwaite χ²), ``rao-scott-1`` (first-order χ²), ``pearson``
        (unweighted, as ``scipy.stats.chi2_contingency(correction=False)``),
        ``cramers-v`` (statistic only), ``linear-by-linear`` (Agresti's M²,
        unweighted, when both variables are ordered) and ``trend-design``
        (design-based Wald test of the slope, weighted data).
    test : the headline test chosen with ``test=``.
    """

    row: str
    col: str
    multi: bool
    options: tuple
    weighted: bool
    n: int
    n_dropped: int
    n_psu: int
    counts: pd.DataFrame
    n_table: pd.DataFrame
    row_pct: pd.DataFrame
    col_pct: pd.DataFrame
    tests: pd.DataFrame
    test: str

    def _headline_test(self, option: Any = None) -> pd.Series:
        t = self.tests[self.tests["test"] == self.test]
        if self.multi:
            t = t[t["option"] == (option if option is not None else self.options[0])]
        return t.iloc[0]

    @property
    def statistic(self) -> float:
        """Headline statistic (first option for multi-select)."""
        return float(self._headline_test()["statistic"])

    @property
    def p_value(self) -> float:
        """Headline p-value (first option for multi-select)."""
        return float(self._headline_test()["p_value"])

    @property
    def cramers_v(self) -> float:
        """Cramér's V of the unweighted table (first option for multi-select)."""
        t = self.tests[self.tests["test"] == "cramers-v"]
        return float(t["statistic"].iloc[0])

    def test_table(self) -> pd.DataFrame:
        """Tidy table of tests: option, test, statistic, df1, df2, p_value."""
        return self.tests.copy()

    def _headline(self) -> list[str]:
        return [f"{self.row} x {self.col}", f"n={self.n}",
                f"{self.test}={self.statistic:.4g}", f"p={self.p_value:.4g}"]

    def summary(self) -> Summary:
        """Counts, row percentages and the tests."""
        kind = "multi-select " if self.multi else ""
        tests = self.tests if self.multi else self.tests.drop(columns="option")
        notes = []
        if self.n_dropped:
            notes.append(f"Dropped: {self.n_dropped} row(s) with missing values")
        if self.multi:
            notes.append("Multi-select: row percentages choosing each option need not sum "
                         "to 100")
        header = [("Observations", self.n), ("Weighted", self.weighted)]
        if self.n_psu != self.n:
            header.append(("Clusters", self.n_psu))
        return Summary(f"Crosstab of {self.row} x {kind}{self.col}",
                       {"Weighted counts" if self.weighted else "Counts": self.counts,
                        "Row %": self.row_pct, "Tests": tests.set_index("test")},
                       header=header, notes=notes)

    def to_frame(self) -> pd.DataFrame:
        """Long table: row category, column/option, weighted count, n, row_pct, col_pct."""
        def long(df, name):
            s = df.stack()
            s.index.names = [self.row, "option" if self.multi else self.col]
            return s.rename(name)
        return pd.concat([long(self.counts, "weighted"), long(self.n_table, "n"),
                          long(self.row_pct, "row_pct"), long(self.col_pct, "col_pct")],
                         axis=1).reset_index()

    def __str__(self) -> str:
        kind = "multi-select " if self.multi else ""
        tests = self.tests if self.multi else self.tests.drop(columns="option")
        head = [
            f"Crosstab of {self.row} x {kind}{self.col} "
            f"({'weighted' if self.weighted else 'unweighted'}; n = {self.n}"
            + (f", {self.n_dropped} row(s) with missing values dropped" if self.n_dropped else "")
            + (f", {self.n_psu} clusters" if self.n_psu != self.n else "") + ")",
            "Weighted counts:" if self.weighted else "Counts:",
            _fmt_table(self.counts, 2),
            "Row %:" if not self.multi else "Row % choosing each option (need not sum to 100):",
            _fmt_table(self.row_pct, 1),
            "Tests:",
            tests.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep=""),
        ]
        return "\n".join(head)


def _multi_indicators(data: pd.DataFrame, col: Any, multi: Any) -> tuple[pd.DataFrame, str]:
    """0/1 indicator frame (rows = respondents, NaN = not answered) and question name."""
    if isinstance(col, (list, tuple)):
        if multi not in (None, True):
            raise ParameterError(
                "with a list of 0/1 option columns leave multi=None (or True); "
                "multi='<delimiter>' is for one column of delimited answers"
            )
        cols = check_columns(data, list(col), what="option column")
        ind = pd.DataFrame(index=data.index)
        for c in cols:
            s = data[c]
            v = pd.to_numeric(s.astype("float64") if pd.api.types.is_bool_dtype(s) else s,
                              errors="coerce")
            bad = (v.notna() & ~v.isin([0, 1])) | (s.notna() & v.isna())
            if bad.any():
                i = bad.to_numpy().nonzero()[0][0]
                raise DataError(
                    f"option column {c!r} must hold 0/1 (or True/False); row "
                    f"{data.index[i]!r} holds {s.iloc[i]!r}"
                )
            ind[c] = v.astype(float)
        return ind, " | ".join(map(str, cols))
    check_columns(data, [col], what="multi-select column")
    if not isinstance(multi, str) or not multi:
        raise ParameterError(
            f"multi={multi!r}: give the delimiter of the answers in column {col!r}, "
            f"e.g. multi=';', or pass a list of 0/1 option columns as col"
        )
    s = data[col]
    present = s.notna()
    tokens = s[present].astype(str).str.split(multi, regex=False)
    tokens = tokens.map(lambda t: sorted({x.strip() for x in t if x.strip()}))
    options = sorted({o for t in tokens for o in t})
    if not options:
        raise DataError(f"multi-select column {col!r} has no option in any answer "
                        f"(delimiter {multi!r})")
    ind = pd.DataFrame(np.nan, index=data.index, columns=options)
    for o in options:
        ind.loc[present, o] = tokens.map(lambda t, o=o: float(o in t))
    return ind, str(col)


def _rao_scott(r: np.ndarray, c: np.ndarray, R: int, C: int, w: np.ndarray,
               psu: np.ndarray, m: int) -> dict:
    """Pearson X² on the weighted table rescaled to n, with Rao–Scott corrections.

    Follows Rao & Scott (1984, Ann. Stat. 12(1):46-60) in the log-linear form of
    Lumley (2010, *Complex Surveys*, §6.3; R ``survey::svychisq``): with p the
    weighted cell proportions, V their linearization covariance, D = diag(p) and C a
    basis of interaction contrasts (orthogonal to row and column main effects),
    Delta = (C' D^-1 C / n)^-1 (C' D^-1 V D^-1 C). First order: X² / mean eigenvalue
    ~ chi²((R-1)(C-1)). Second order: F = X² / tr(Delta) ~ F(d, d nu), with
    d = tr(Delta)² / tr(Delta²) and nu = (number of PSUs) - 1.
    """
    n = w.size
    K = R * C
    cell = r * C + c
    W = w.sum()
    p = np.bincount(cell, weights=w, minlength=K) / W
    pr = p.reshape(R, C).sum(1)
    pc = p.reshape(R, C).sum(0)
    expct = np.outer(pr, pc).ravel()
    ok = expct > 0
    x2 = float(n * np.sum((p[ok] - expct[ok]) ** 2 / expct[ok]))

    # linearization of p = sum(w y)/sum(w): z_i = w_i (y_i - p) / W, summed within PSU;
    # V = m/(m-1) sum_psu z z'
    if m == n:
        # one respondent per PSU: sum_i z_i z_i' = diag(a) - a p' - p a' + (sum v) p p',
        # v_i = (w_i / W)^2, a_k = sum of v over cell k (no n x K matrix needed)
        v = (w / W) ** 2
        a = np.bincount(cell, weights=v, minlength=K)
        S = np.diag(a) - np.outer(a, p) - np.outer(p, a) + v.sum() * np.outer(p, p)
    else:
        Z = np.zeros((m, K))
        np.add.at(Z, (psu, cell), w / W)
        Z -= np.bincount(psu, weights=w, minlength=m)[:, None] / W * p[None, :]
        S = Z.T @ Z
    V = m / (m - 1) * S

    # main effects (intercept, rows, columns) on the R x C cells; the interaction
    # contrasts span their orthogonal complement
    X1 = np.column_stack([np.ones(K), np.kron(np.eye(R), np.ones((C, 1)))[:, 1:],
                          np.kron(np.ones((R, 1)), np.eye(C))[:, 1:]])
    q, _ = np.linalg.qr(X1, mode="complete")
    Cm = q[:, X1.shape[1]:]
    idm = np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), 0.0)
    denom = Cm.T @ (idm[:, None] * Cm) / n
    numr = Cm.T @ (idm[:, None] * V * idm[None, :]) @ Cm
    try:
        delta = np.linalg.solve(denom, numr)
    except np.linalg.LinAlgError:
        raise EstimationError(
            "the Rao–Scott design-effect matrix is singular (a whole row or column of the "
            "table is empty); merge sparse categories"
        ) from None
    k = (R - 1) * (C - 1)
    tr = float(np.trace(delta))
    tr2 = float(np.trace(delta @ delta))
    d0 = tr**2 / tr2
    nu = m - 1
    f2 = x2 / tr
    return {
        "x2": x2, "k": k, "nu": nu,
        "first": (x2 / (tr / k), float(k), np.nan, float(stats.chi2.sf(x2 / (tr / k), k))),
        "second_f": (f2, d0, d0 * nu, float(stats.f.sf(f2, d0, d0 * nu))),
        "second_chisq": (x2 * d0 / tr, d0, np.nan, float(stats.chi2.sf(x2 * d0 / tr, d0))),
    }


def _trend_design(x: np.ndarray, y: np.ndarray, w: np.ndarray, psu: np.ndarray,
                  m: int) -> tuple[float, float]:
    """Design-based Wald test of the slope of y on x (weighted LS, linearization).

    Variance as ``svyglm``: bread (X'WX)^-1, meat m/(m-1) times the sum over PSUs of
    the outer products of summed w x e. Returns (Wald statistic, p-value of F(1, m-1)).
    """
    X = np.column_stack([np.ones_like(x), x])
    A = X.T @ (w[:, None] * X)
    beta = np.linalg.solve(A, X.T @ (w * y))
    e = y - X @ beta
    U = _psu_sums(X * (w * e)[:, None], psu, m)
    Ainv = np.linalg.inv(A)
    V = Ainv @ (m / (m - 1) * U.T @ U) @ Ainv
    wald = float(beta[1] ** 2 / V[1, 1])
    return wald, float(stats.f.sf(wald, 1, m - 1))


def _tests_for(r, c, R, C, w, psu, m, weighted, row_scores, col_scores, option) -> list[dict]:
    cell = r * C + c
    ntab = np.bincount(cell, minlength=R * C).reshape(R, C).astype(float)
    n = r.size
    rows: list[dict] = []
    rs = _rao_scott(r, c, R, C, w, psu, m)
    rows.append({"test": "rao-scott", "statistic": rs["second_f"][0],
                 "df1": rs["second_f"][1], "df2": rs["second_f"][2],
                 "p_value": rs["second_f"][3]})
    rows.append({"test": "rao-scott-chisq", "statistic": rs["second_chisq"][0],
                 "df1": rs["second_chisq"][1], "df2": np.nan,
                 "p_value": rs["second_chisq"][3]})
    rows.append({"test": "rao-scott-1", "statistic": rs["first"][0], "df1": rs["first"][1],
                 "df2": np.nan, "p_value": rs["first"][3]})
    chi2, pval, dof, _ = stats.chi2_contingency(ntab, correction=False)
    rows.append({"test": "pearson", "statistic": float(chi2), "df1": float(dof),
                 "df2": np.nan, "p_value": float(pval)})
    rows.append({"test": "cramers-v",
                 "statistic": math.sqrt(chi2 / (n * (min(R, C) - 1))),
                 "df1": np.nan, "df2": np.nan, "p_value": np.nan})
    if row_scores is not None and col_scores is not None:
        x, y = row_scores[r], col_scores[c]
        rr = float(np.corrcoef(x, y)[0, 1])
        m2 = (n - 1) * rr**2
        rows.append({"test": "linear-by-linear", "statistic": m2, "df1": 1.0,
                     "df2": np.nan, "p_value": float(stats.chi2.sf(m2, 1))})
        if weighted or m != n:
            wald, p = _trend_design(x, y, w, psu, m)
            rows.append({"test": "trend-design", "statistic": wald, "df1": 1.0,
                         "df2": float(m - 1), "p_value": p})
    for d in rows:
        d["option"] = option
    return rows


def _warn_empty(ntab: pd.DataFrame, what: str) -> None:
    zero = [(i, j) for i in ntab.index for j in ntab.columns if ntab.loc[i, j] == 0]
    if zero:
        cells = ", ".join(f"({a!r}, {b!r})" for a, b in zero[:10])
        warn(
            f"{what}: {len(zero)} empty cell(s) {cells}{' ...' if len(zero) > 10 else ''}; "
            f"χ² tests are unreliable with empty cells — consider merging categories",
            stacklevel=4,
        )


def crosstab(
    data: pd.DataFrame,
    row: str,
    col: str | list[str],
    *,
    weight: str | None = None,
    multi: str | bool | None = None,
    test: str = "rao-scott",
    cluster: str | None = None,
) -> CrosstabResult:
    """Weighted crosstab with design-based (Rao–Scott) and unweighted χ² tests.

    Parameters
    ----------
    data : DataFrame of respondents (not modified).
    row : grouping variable (industry, city tier, employer size, ...).
    col : the answer variable; for a multi-select question either a list of 0/1
        option columns, or one column of delimited answers with ``multi=<delimiter>``.
    weight : column of positive weights (e.g. from :func:`rake`); default unweighted.
    multi : delimiter of a multi-select answer column (e.g. ``";"``); ``None`` (or
        ``True``) for a list of 0/1 columns or a single-choice question.
    test : headline test, one of ``"rao-scott"`` (second-order Rao–Scott F, the
        default of R ``svychisq``), ``"rao-scott-1"`` (first-order, svychisq
        ``statistic="Chisq"``) or ``"pearson"`` (unweighted). All are computed and
        listed in ``tests``.
    cluster : optional column of primary sampling units for a single-stage cluster
        design (the design-based variance then sums within clusters, nu = clusters - 1).

    Returns
    -------
    CrosstabResult

    Notes
    -----
    Rows with a missing row, column or cluster value are dropped (counted in
    ``n_dropped``); for 0/1 option columns a respondent missing any option is dropped.
    The Rao–Scott test follows Rao & Scott (1984, Ann. Stat. 12:46-60) as implemented
    in R ``survey::svychisq`` (Lumley 2010, *Complex Surveys*, §6.3): Pearson's X² of
    the weighted table rescaled to the sample size, divided by the trace of the
    generalized design-effect matrix, referred to F(d, d·nu) with Satterthwaite
    d = tr(Δ)²/tr(Δ²). The linear-by-linear test (Agresti 2013, *Categorical Data
    Analysis*, 3rd ed., §3.4.1) is M² = (n - 1) r², r the correlation of row and
    column scores over respondents; scores are the values of numeric columns and 1..k
    for ordered categoricals; it is run when both variables are ordered (numeric,
    boolean, ordered Categorical, or a multi-select option against an ordered row).
    Categories with no respondent (unused Categorical levels) are left out; empty
    cells inside the table are warned about by name. The design-based trend test
    (``trend-design``, weighted or clustered data) is the Wald test of the slope in the
    weighted least-squares regression of column scores on row scores with the
    linearization (sandwich) variance of ``svyglm``, referred to F(1, nu).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"size": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3],
    ...                   "trained": ["no", "no", "yes", "no", "yes", "yes",
    ...                               "yes", "yes", "yes", "no"]})
    >>> res = crosstab(d, "size", "trained")
    >>> res.row_pct.round(1).loc[3].tolist()
    [25.0, 75.0]
    >>> sorted(res.tests["test"])[:3]
    ['cramers-v', 'linear-by-linear', 'pearson']
    """
    check_frame(data)
    check_choice(test, TESTS, "test")
    check_columns(data, [row], what="row column")
    if cluster is not None:
        check_columns(data, [cluster], what="cluster column")
    is_multi = isinstance(col, (list, tuple)) or isinstance(multi, str)
    w_all = _weights(data, weight)
    extra = [cluster] if cluster is not None else []

    if not is_multi:
        if multi is True:
            raise ParameterError("multi=True needs col to be a list of 0/1 option columns")
        check_columns(data, [col], what="column")
        keep = _present(data, [row, col] + extra)
    else:
        ind_all, qname = _multi_indicators(data, col, multi)
        keep = _present(data, [row] + extra) & ind_all.notna().all(axis=1).to_numpy()
    d = data.loc[keep]
    n = int(keep.sum())
    if n < 2:
        raise DataError(f"crosstab of {row!r} x {col!r} has {n} complete row(s); need >= 2")
    w = w_all[keep]
    r, rlab, rord = _categories(d[row])
    R = len(rlab)
    psu, m = _psu(d, cluster, n)
    if m < 2:
        raise DataError(f"cluster column {cluster!r} has one cluster; need >= 2")
    row_scores = _scores(rlab) if (rord or R == 2) else None
    rindex = pd.Index(rlab, name=row)

    if not is_multi:
        c, clab, cord = _categories(d[col])
        C = len(clab)
        if R < 2 or C < 2:
            raise DataError(
                f"crosstab needs at least two categories in each variable; {row!r} has "
                f"{R} and {col!r} has {C} among the complete rows"
            )
        col_scores = _scores(clab) if (cord or C == 2) else None
        cindex = pd.Index(clab, name=col)
        cnt = np.bincount(r * C + c, weights=w, minlength=R * C).reshape(R, C)
        ncnt = np.bincount(r * C + c, minlength=R * C).reshape(R, C)
        counts = pd.DataFrame(cnt, index=rindex, columns=cindex)
        n_table = pd.DataFrame(ncnt, index=rindex, columns=cindex)
        _warn_empty(n_table, f"crosstab {row!r} x {col!r}")
        tests = _tests_for(r, c, R, C, w, psu, m, weight is not None, row_scores,
                           col_scores, None)
        row_pct = counts.div(counts.sum(axis=1), axis=0) * 100
        col_pct = counts.div(counts.sum(axis=0), axis=1) * 100
        options: tuple = ()
        qname = str(col)
    else:
        if R < 2:
            raise DataError(f"row variable {row!r} has one category among complete rows")
        ind = ind_all.loc[keep]
        options = tuple(ind.columns)
        yes = ind.to_numpy(dtype=float)
        base = np.bincount(r, weights=w, minlength=R)
        cnt = np.column_stack([np.bincount(r, weights=w * yes[:, j], minlength=R)
                               for j in range(yes.shape[1])])
        ncnt = np.column_stack([np.bincount(r, weights=yes[:, j], minlength=R)
                                for j in range(yes.shape[1])]).astype(np.int64)
        oindex = pd.Index(options, name="option")
        counts = pd.DataFrame(cnt, index=rindex, columns=oindex)
        n_table = pd.DataFrame(ncnt, index=rindex, columns=oindex)
        row_pct = counts.div(base, axis=0) * 100
        col_pct = counts.div(counts.sum(axis=0).where(lambda s: s > 0), axis=1) * 100
        tests = []
        nbase = np.bincount(r, minlength=R)
        for j, o in enumerate(options):
            cj = yes[:, j].astype(np.int64)
            if cj.min() == cj.max():
                warn(f"option {o!r} of {qname!r} is chosen by "
                     f"{'everyone' if cj[0] else 'no one'}; it has no test", stacklevel=3)
                continue
            tab = pd.DataFrame(np.column_stack([nbase - ncnt[:, j], ncnt[:, j]]),
                               index=rindex, columns=pd.Index(["no", "yes"], name=str(o)))
            _warn_empty(tab, f"crosstab {row!r} x option {o!r}")
            tests += _tests_for(r, cj, R, 2, w, psu, m, weight is not None, row_scores,
                                np.array([0.0, 1.0]), o)
    tdf = pd.DataFrame(tests, columns=["option", "test", "statistic", "df1", "df2", "p_value"])
    return CrosstabResult(
        row=str(row), col=qname, multi=is_multi, options=options,
        weighted=weight is not None, n=n, n_dropped=len(data) - n, n_psu=m,
        counts=counts, n_table=n_table, row_pct=row_pct, col_pct=col_pct,
        tests=tdf, test=test,
    )


# ======================================================================= proportions

def _ci(p: np.ndarray, neff: np.ndarray, method: str, level: float
        ) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a proportion p with (effective) sample size neff."""
    z = stats.norm.ppf(0.5 + level / 2)
    alpha = 1 - level
    if method == "wilson":
        # Wilson (1927), JASA 22:209-212
        den = 1 + z**2 / neff
        centre = (p + z**2 / (2 * neff)) / den
        half = z / den * np.sqrt(p * (1 - p) / neff + z**2 / (4 * neff**2))
        return centre - half, centre + half
    if method == "logit":
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = special.logit(p) - z / np.sqrt(neff * p * (1 - p))
            hi = special.logit(p) + z / np.sqrt(neff * p * (1 - p))
            lo, hi = special.expit(lo), special.expit(hi)
        degenerate = (p <= 0) | (p >= 1)
        return np.where(degenerate, np.nan, lo), np.where(degenerate, np.nan, hi)
    # Korn & Graubard (1998): Clopper–Pearson on the effective sample size
    x = neff * p
    with np.errstate(invalid="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(alpha / 2, x, neff - x + 1), 0.0)
        hi = np.where(x < neff, stats.beta.ppf(1 - alpha / 2, x + 1, neff - x), 1.0)
    return lo, hi


def proportions(
    data: pd.DataFrame,
    var: str | list[str],
    *,
    by: str | list[str] | None = None,
    weight: str | None = None,
    multi: str | bool | None = None,
    ci: str = "wilson",
    level: float = 0.95,
) -> pd.DataFrame:
    """Weighted shares with confidence intervals, overall or by group.

    Every category of ``var`` (or every option of a multi-select question) is a yes/no
    indicator; its share is ``p = sum(w yes) / sum(w)`` within the group. Intervals use
    the Kish effective sample size of the group, ``n_eff = (sum w)^2 / sum(w^2)``
    (Kish 1965, *Survey Sampling*, §11.7), in place of n: the usual binomial variance
    ``p (1 - p) / n_eff`` (``std_error``) allows for the variance inflation from
    unequal weights but not for clustering or correlation of weights with the answer.
    Unweighted, ``n_eff = n`` and the intervals are the textbook ones. Using n_eff in
    Wilson and Clopper–Pearson intervals for survey data follows Korn & Graubard
    (1998, Survey Methodology 24(2):193-201) and Dean & Pagano (2015, J. Survey
    Statistics and Methodology 3(4):484-503).

    * ``"wilson"``: Wilson score interval (Wilson 1927, JASA 22:209-212).
    * ``"logit"``: ``expit(logit(p) -/+ z / sqrt(n_eff p (1 - p)))`` (Stata's
      ``proportion``); undefined (NaN, with a warning) when p is 0 or 1.
    * ``"korn-graubard"``: Clopper–Pearson beta quantiles at ``x* = n_eff p``,
      ``n* = n_eff`` (Korn & Graubard 1998; R ``svyciprop(method = "beta")``). Their
      degrees-of-freedom factor ``(t_{n-1} / t_df)^2`` is 1 for this single-stage
      design.

    Parameters
    ----------
    data : DataFrame of respondents (not modified).
    var : the question: one column; or a list of 0/1 option columns; or one column of
        delimited answers with ``multi=<delimiter>``.
    by : grouping column(s), optional.
    weight : column of positive weights; default unweighted.
    multi : delimiter of a multi-select answer column, e.g. ``";"``.
    ci : ``"wilson"`` (default), ``"logit"`` or ``"korn-graubard"``.
    level : confidence level.

    Returns
    -------
    DataFrame with the ``by`` columns, ``category`` (the answer or option), ``n``
    (respondents in the group), ``n_yes`` (unweighted), ``weighted`` (weighted count
    of yes), ``proportion``, ``std_error``, ``n_eff``, ``ci_low``, ``ci_high``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"tier": ["1", "1", "2", "2", "2"],
    ...                   "tools": ["chat;docs", "docs", "chat", "", "docs;meet"]})
    >>> t = proportions(d, "tools", by="tier", multi=";")
    >>> t.loc[t["tier"] == "2", ["category", "proportion"]].round(3).values.tolist()
    [['chat', 0.333], ['docs', 0.333], ['meet', 0.333]]
    """
    check_frame(data)
    check_choice(ci, CI_METHODS, "ci")
    level = check_level(level)
    by_cols = check_columns(data, as_list(by), what="by column")
    w_all = _weights(data, weight)
    is_multi = isinstance(var, (list, tuple)) or isinstance(multi, str)
    if is_multi:
        ind_all, _ = _multi_indicators(data, var, multi)
        keep = _present(data, by_cols) & ind_all.notna().all(axis=1).to_numpy()
        ind = ind_all.loc[keep]
    else:
        if multi is True:
            raise ParameterError("multi=True needs var to be a list of 0/1 option columns")
        check_columns(data, [var], what="column")
        keep = _present(data, by_cols + [var])
        codes, labels, _ = _categories(data.loc[keep, var])
        ind = pd.DataFrame(np.eye(len(labels))[codes], index=data.index[keep],
                           columns=pd.Index(labels))
    if keep.sum() == 0:
        raise DataError(f"no complete rows for {var!r}" + (f" by {by_cols}" if by_cols else ""))
    w = w_all[keep]
    d = data.loc[keep]
    if by_cols:
        # groupby orders groups as a reader expects (Categorical levels in their order)
        grp = d.groupby(by_cols, sort=True, observed=True)
        gcodes = grp.ngroup().to_numpy()
        groups = list(grp.size().index)
    else:
        gcodes, groups = np.zeros(len(d), dtype=np.int64), [()]
    G = len(groups)
    Y = ind.to_numpy(dtype=float)
    sw = np.bincount(gcodes, weights=w, minlength=G)
    sw2 = np.bincount(gcodes, weights=w**2, minlength=G)
    ng = np.bincount(gcodes, minlength=G)
    neff_g = sw**2 / sw2
    J = Y.shape[1]
    yes_w = np.column_stack([np.bincount(gcodes, weights=w * Y[:, j], minlength=G)
                             for j in range(J)])
    yes_n = np.column_stack([np.bincount(gcodes, weights=Y[:, j], minlength=G)
                             for j in range(J)])
    p = yes_w / sw[:, None]
    lo, hi = _ci(p, neff_g[:, None], ci, level)
    se = np.sqrt(p * (1 - p) / neff_g[:, None])
    rows = []
    for g in range(G):  # groups in sorted (category) order, answers in their order
        key = groups[g] if isinstance(groups[g], tuple) else (groups[g],)
        for j, cat in enumerate(ind.columns):
            rec = dict(zip(by_cols, key))
            rec.update(category=cat, n=int(ng[g]), n_yes=round(yes_n[g, j]),
                       weighted=float(yes_w[g, j]), proportion=float(p[g, j]),
                       std_error=float(se[g, j]), n_eff=float(neff_g[g]),
                       ci_low=float(lo[g, j]), ci_high=float(hi[g, j]))
            rows.append(rec)
    out = pd.DataFrame(rows)
    for c in by_cols:
        if isinstance(d[c].dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical(out[c], dtype=d[c].dtype)
    if ci == "logit" and out["ci_low"].isna().any():
        bad = out[out["ci_low"].isna()].iloc[0]
        warn(
            f"logit interval undefined where the share is 0 or 1 (e.g. category "
            f"{bad['category']!r}"
            + (f" in group {tuple(bad[c] for c in by_cols)!r}" if by_cols else "")
            + f"; {int(out['ci_low'].isna().sum())} row(s)); its bounds are NaN — use "
            f"ci='wilson' or 'korn-graubard' there",
            stacklevel=3,
        )
    out.attrs["ci"] = ci
    out.attrs["level"] = level
    return out


# ======================================================================= fit_ordered

@dataclass(frozen=True, eq=False, repr=False)
class OrderedResult(CoefResult):
    """Result of :func:`fit_ordered`.

    The model is ``P(y <= j | x) = F(cut_j - x'beta)`` with F logistic (``link="logit"``)
    or standard normal (``"probit"``), the parametrization of statsmodels
    ``OrderedModel``: a positive coefficient shifts answers towards higher categories.

    Attributes
    ----------
    formula, link, cov_type : as fitted.
    categories : answer categories in order.
    nobs : respondents used; n_dropped : rows dropped for missing values.
    weighted : whether weights were used.
    params : statsmodels-parametrized estimates (coefficients, first cutpoint, log
        increments of the later cutpoints), with ``cov`` their covariance.
    coefficients : DataFrame (term, estimate, std_error, statistic, p_value, ci_low,
        ci_high; plus odds_ratio, or_ci_low, or_ci_high for the logit link) for the
        coefficients and the cutpoints ``cut[a|b]`` (delta-method SEs).
    marginal_effects : DataFrame (term, outcome, kind, estimate, std_error, statistic,
        p_value, ci_low, ci_high): the average marginal effect of each regressor on the
        probability of each answer category; ``kind`` is ``derivative`` for continuous
        regressors and ``discrete`` (change from the reference level) for 0/1 dummies
        and treatment-coded factors. Effects on the category probabilities sum to 0.
    loglike, loglike_null, pseudo_r2 : (weighted) log-likelihoods and McFadden's R².
    converged, iterations : optimizer status.
    """

    formula: str
    link: str
    cov_type: str
    categories: tuple
    nobs: int
    n_dropped: int
    weighted: bool
    params: pd.Series
    cov: pd.DataFrame
    coefficients: pd.DataFrame
    marginal_effects: pd.DataFrame
    loglike: float
    loglike_null: float
    converged: bool
    iterations: int
    level: float = 0.95

    @property
    def pseudo_r2(self) -> float:
        """McFadden's pseudo R², 1 - loglike / loglike_null."""
        return 1.0 - self.loglike / self.loglike_null

    @property
    def odds_ratios(self) -> pd.DataFrame:
        """Odds ratios of the coefficients (logit link only)."""
        if self.link != "logit":
            raise ParameterError("odds ratios need link='logit'; this model uses probit")
        t = self.coefficients
        t = t[~t["term"].str.startswith("cut[")]
        cols = ["term", "odds_ratio", "or_ci_low", "or_ci_high", "p_value"]
        return t[cols].reset_index(drop=True)

    @property
    def df_inference(self) -> None:
        """Maximum likelihood: inference on the normal distribution."""
        return None

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """Coefficients and cutpoints: term, estimate, std_error, statistic, p_value,
        ci_low, ci_high (+ odds ratios for the logit link)."""
        if level is not None and not np.isclose(self._level(level), self.level):
            raise ParameterError(f"this result has {self.level:g} intervals; refit with "
                                 f"fit_ordered(..., level={level!r})")
        return self.coefficients.copy()

    def _headline(self) -> list[str]:
        return [f"ordered {self.link}", f"N={self.nobs}", f"categories={len(self.categories)}",
                f"pseudo R2={self.pseudo_r2:.4f}"]

    def summary(self) -> Summary:
        """Coefficients (with odds ratios) and the average marginal effects."""
        ame = (self.marginal_effects.pivot(index="term", columns="outcome", values="estimate")
               .reindex(columns=list(self.categories)))
        header = [("Formula", self.formula), ("Observations", self.nobs),
                  ("Weighted", self.weighted), ("Standard errors", self.cov_type),
                  ("Categories", " < ".join(map(str, self.categories))),
                  ("Log-likelihood", self.loglike), ("McFadden pseudo R2", self.pseudo_r2)]
        notes = []
        if self.n_dropped:
            notes.append(f"Dropped: {self.n_dropped} row(s) with missing values")
        if not self.converged:
            notes.append("WARNING: the optimizer did not converge")
        return Summary(f"Ordered {self.link}", {
            "Coefficients": self.coefficients.set_index("term"),
            "Average marginal effects on P(answer)": ame}, header=header, notes=notes)

    def to_frame(self) -> pd.DataFrame:
        """Coefficients and marginal effects stacked, with a ``table`` column."""
        a = self.coefficients.assign(table="coefficient")
        b = self.marginal_effects.assign(table="marginal_effect")
        out = pd.concat([a, b], ignore_index=True)
        return out[["table"] + [c for c in out.columns if c != "table"]]

    def __str__(self) -> str:
        lines = [
            f"Ordered {self.link}: {self.formula}",
            f"Observations: {self.nobs}"
            + (f" ({self.n_dropped} rows with missing values dropped)" if self.n_dropped else "")
            + f"; {'weighted' if self.weighted else 'unweighted'}; SE: {self.cov_type}",
            f"Categories: {' < '.join(map(str, self.categories))}",
            f"Log-likelihood: {self.loglike:.4f}; McFadden pseudo R²: {self.pseudo_r2:.4f}",
            self.coefficients.to_string(index=False, float_format=lambda v: f"{v:.4f}"),
            "Average marginal effects on P(answer):",
            self.marginal_effects.pivot(index="term", columns="outcome", values="estimate")
            .reindex(columns=list(self.categories))
            .to_string(float_format=lambda v: f"{v:.4f}"),
        ]
        if not self.converged:
            lines.insert(1, "WARNING: the optimizer did not converge")
        return "\n".join(lines)


class _OrderedLik:
    """Weighted ordered-response likelihood in statsmodels' OrderedModel parametrization."""

    def __init__(self, y: np.ndarray, X: np.ndarray, K: int, link: str, w: np.ndarray):
        self.y, self.X, self.K, self.w = y, X, K, w
        self.k = X.shape[1]
        if link == "logit":
            self.cdf = special.expit
            self.pdf = lambda z: special.expit(z) * special.expit(-z)
        else:
            self.cdf = special.ndtr
            self.pdf = lambda z: np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)

    def cuts(self, a: np.ndarray) -> np.ndarray:
        """Thresholds from (first, log increments), padded with -inf, +inf."""
        th = np.concatenate([[a[0]], a[0] + np.cumsum(np.exp(a[1:]))])
        return np.concatenate([[-np.inf], th, [np.inf]])

    def cut_jac(self, a: np.ndarray) -> np.ndarray:
        """d(thresholds)/d(a), (K-1) x (K-1)."""
        J = np.zeros((self.K - 1, self.K - 1))
        J[:, 0] = 1.0
        e = np.exp(a[1:])
        for j in range(1, self.K - 1):
            J[j, 1:j + 1] = e[:j]
        return J

    def probs(self, params: np.ndarray, X: np.ndarray | None = None) -> np.ndarray:
        X = self.X if X is None else X
        cut = self.cuts(params[self.k:])
        xb = X @ params[:self.k]
        F = self.cdf(cut[None, :] - xb[:, None])
        return np.diff(F, axis=1)

    def _parts(self, params):
        cut = self.cuts(params[self.k:])
        xb = self.X @ params[:self.k]
        up = cut[self.y + 1] - xb
        lo = cut[self.y] - xb
        # in the upper tail use 1 - F(z) = F(-z) (both links are symmetric) so that the
        # difference of two numbers close to 1 does not cancel to 0
        hi_tail = lo > 0
        P = np.where(hi_tail, self.cdf(-lo) - self.cdf(-up), self.cdf(up) - self.cdf(lo))
        P = np.maximum(P, 1e-300)
        fu = np.where(np.isfinite(up), self.pdf(np.where(np.isfinite(up), up, 0.0)), 0.0)
        fl = np.where(np.isfinite(lo), self.pdf(np.where(np.isfinite(lo), lo, 0.0)), 0.0)
        return P, fu, fl

    def loglikeobs(self, params):
        P, _, _ = self._parts(params)
        return np.log(P)

    def score_obs(self, params):
        P, fu, fl = self._parts(params)
        n = self.y.size
        sb = -self.X * ((fu - fl) / P)[:, None]
        sth = np.zeros((n, self.K - 1))
        rows = np.arange(n)
        up_j = self.y  # threshold index that is the upper bound (if < K-1)
        m = up_j < self.K - 1
        sth[rows[m], up_j[m]] += fu[m] / P[m]
        lo_j = self.y - 1
        m = lo_j >= 0
        sth[rows[m], lo_j[m]] -= fl[m] / P[m]
        return np.column_stack([sb, sth @ self.cut_jac(params[self.k:])])

    def nll(self, params):
        return -float(self.w @ self.loglikeobs(params))

    def ngrad(self, params):
        return -(self.w @ self.score_obs(params))

    def hessian(self, params):
        """Hessian of the weighted log-likelihood by central differences of the score."""
        p = params.size
        H = np.zeros((p, p))
        for i in range(p):
            h = 1e-5 * max(1.0, abs(params[i]))
            e = np.zeros(p)
            e[i] = h
            H[:, i] = (self.ngrad(params - e) - self.ngrad(params + e)) / (2 * h)
        return (H + H.T) / 2


def _fit_lik(lik: _OrderedLik, start: np.ndarray, maxiter: int = 1000
             ) -> tuple[np.ndarray, bool, int]:
    res = optimize.minimize(lik.nll, start, jac=lik.ngrad, method="BFGS",
                            options={"gtol": 1e-9, "maxiter": maxiter})
    x = res.x
    it = int(res.nit)
    # Newton polish: BFGS stops on a gradient tolerance; a few Newton steps make the
    # estimate accurate to the last digits (so weights of 1 reproduce OrderedModel)
    scale = max(1.0, float(lik.w.sum()))
    for _ in range(20):
        g = -lik.ngrad(x)
        if np.max(np.abs(g)) < 1e-10 * scale:
            break
        H = lik.hessian(x)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        f0 = lik.nll(x)
        while t > 1e-4 and lik.nll(x - t * step) > f0 + 1e-12 * abs(f0):
            t /= 2
        x = x - t * step
        it += 1
    g = lik.ngrad(x)
    converged = bool(np.all(np.isfinite(x)) and np.max(np.abs(g)) < 1e-6 * scale)
    return x, converged, it


def _ordered_design(data: pd.DataFrame, formula: str, yname: str, extra: list, link: str):
    """statsmodels' ``OrderedModel`` on the design of :func:`dtistat.formula.build_design`.

    As ``OrderedModel.from_formula``: categorical terms coded against their first level
    as if there were an intercept, the intercept left out, patsy's column order and
    names; rows with a missing answer, regressor or cluster are dropped (and counted).
    Returns the model, the design and the positions of its rows in ``data``.
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    keep = _present(data, [yname] + extra)
    d = data if keep.all() else data.loc[keep]
    design = build_design(d, "~" + formula.split("~", 1)[1], missing="drop",
                          intercept_allowed=False, ordering="patsy",
                          level_names="formulaic")
    if yname in design.variables:
        raise SpecError(f"formula {formula!r}: the answer {yname!r} is also a regressor")
    pos = np.flatnonzero(keep)[design.rows]
    endog = data[yname].iloc[pos]
    exog = pd.DataFrame(design.X, columns=design.names, index=endog.index)
    return OrderedModel(endog, exog, distr=link), design, pos


def _term_groups(terms: dict, names: list[str], X: np.ndarray) -> list[tuple[list[int], str]]:
    """Columns grouped for marginal effects.

    ('discrete', dummies of one factor) or ('derivative', [col]).
    """
    binary = [bool(np.all(np.isin(X[:, j], (0.0, 1.0)))) for j in range(X.shape[1])]
    groups: list[tuple[list[int], str]] = []
    seen: set[int] = set()
    if all(c in names for cols in terms.values() for c in cols):
        for tcols in terms.values():
            cols = [names.index(c) for c in tcols]
            if cols and all(binary[j] for j in cols) and np.all(X[:, cols].sum(1) <= 1):
                groups.append((cols, "discrete"))
                seen.update(cols)
    for j in range(X.shape[1]):
        if j in seen:
            continue
        groups.append(([j], "discrete" if binary[j] else "derivative"))
    return groups


def _ame(lik: _OrderedLik, params: np.ndarray, groups, w: np.ndarray) -> np.ndarray:
    """Weighted average marginal effects, one row per regressor column x category."""
    k = lik.k
    beta = params[:k]
    W = w.sum()
    out = np.zeros((k, lik.K))
    for cols, kind in groups:
        if kind == "derivative":
            j = cols[0]
            cut = lik.cuts(params[k:])
            z = cut[None, :] - (lik.X @ beta)[:, None]
            fz = np.zeros_like(z)
            fin = np.isfinite(z)
            fz[fin] = lik.pdf(z[fin])
            dP = -beta[j] * np.diff(fz, axis=1)  # d/dx [F(c_k - xb) - F(c_{k-1} - xb)]
            out[j] = w @ dP / W
        else:
            X0 = lik.X.copy()
            X0[:, cols] = 0.0
            P0 = lik.probs(params, X0)
            for j in cols:
                X1 = X0.copy()
                X1[:, j] = 1.0
                out[j] = w @ (lik.probs(params, X1) - P0) / W
    return out


def fit_ordered(
    data: pd.DataFrame,
    formula: str,
    *,
    weight: str | None = None,
    link: str = "logit",
    cov_type: str = "robust",
    cluster: str | None = None,
    level: float = 0.95,
) -> OrderedResult:
    """Ordered logit/probit for Likert answers, with weights and robust standard errors.

    The design matrix, category handling and parametrization are those of statsmodels
    ``OrderedModel.from_formula`` (no intercept; thresholds ``cut_1 < ... < cut_{K-1}``).
    ``OrderedModel`` takes no weights, so the weighted log-likelihood
    ``sum_i w_i log P(y_i | x_i)`` is maximized here (BFGS with an analytic score, then
    Newton steps); with unit weights the estimates equal ``OrderedModel``'s, and with
    integer frequency weights they equal a fit on the expanded data.

    Marginal effects are per column of the design matrix: the derivative for a
    continuous column (for a transformed term such as ``I(age**2)`` this is the effect
    of that column alone), the discrete change from the reference level for 0/1 columns
    and treatment-coded factors. Their SEs are by the delta method (numerical
    Jacobian) with the chosen covariance.

    Parameters
    ----------
    data : DataFrame (not modified).
    formula : formula in :mod:`dtistat.formula`'s grammar, e.g.
        ``"attitude ~ age + C(tier)"``. The left-hand side must be an ordered pandas
        Categorical (categories low to high) or numeric.
    weight : column of positive weights (sampling weights, e.g. from :func:`rake`).
    link : ``"logit"`` (default) or ``"probit"``.
    cov_type : ``"robust"`` (default): sandwich ``H^-1 B H^-1`` with
        ``B = m/(m-1) sum_c s_c s_c'``, s_c the weighted scores summed within PSUs
        (respondents, or ``cluster``) — the linearization variance of Binder (1983,
        Int. Stat. Rev. 51:279-292) used by Stata's ``vce(robust)`` and R ``svyolr``;
        ``"nonrobust"``: inverse (weighted) information ``-H^-1``, right for unweighted
        or frequency-weighted data only.
    cluster : optional PSU column for cluster-robust SEs.
    level : confidence level of the intervals.

    Returns
    -------
    OrderedResult with coefficients, odds ratios (logit), cutpoints and average
    marginal effects per answer category.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"age": rng.normal(40, 10, 300)})
    >>> latent = 0.05 * d["age"] + rng.logistic(size=300)
    >>> d["worry"] = pd.Categorical(pd.cut(latent, [-np.inf, 1.5, 2.5, np.inf],
    ...                             labels=["low", "mid", "high"]), ordered=True)
    >>> res = fit_ordered(d, "worry ~ age")
    >>> bool(res.coefficients.loc[0, "odds_ratio"] > 1)
    True
    """
    check_frame(data)
    check_choice(link, LINKS, "link")
    check_choice(cov_type, COV_TYPES, "cov_type")
    level = check_level(level)
    if not isinstance(formula, str) or "~" not in formula:
        raise ParameterError(f"formula must look like 'y ~ x1 + x2', got {formula!r}")
    yname = formula.split("~")[0].strip()
    check_columns(data, [yname], what="dependent (Likert) column")
    ys = data[yname]
    if isinstance(ys.dtype, pd.CategoricalDtype):
        if not ys.cat.ordered:
            raise DataError(
                f"Likert column {yname!r} is an unordered Categorical "
                f"(categories {list(ys.cat.categories)}); make the order explicit: "
                f"pd.Categorical(data[{yname!r}], categories=[low, ..., high], ordered=True)"
            )
    elif not (pd.api.types.is_numeric_dtype(ys) and not pd.api.types.is_bool_dtype(ys)):
        raise DataError(
            f"Likert column {yname!r} has dtype {ys.dtype} with no order; convert it to "
            f"an ordered Categorical (categories low to high) or numeric codes"
        )
    w_all = _weights(data, weight)
    extra = [cluster] if cluster is not None else []
    if cluster is not None:
        check_columns(data, [cluster], what="cluster column")
    model, design, pos = _ordered_design(data, formula, yname, extra, link)
    w = w_all[pos]
    y = np.asarray(model.endog, dtype=np.int64)
    X = np.asarray(model.exog, dtype=float)
    labels = tuple(model.labels)
    K = len(labels)
    if K < 2:
        raise DataError(
            f"Likert column {yname!r} has {K} category {list(labels)}; an ordered model "
            f"needs at least 2"
        )
    counts = np.bincount(y, minlength=K)
    if (counts == 0).any():
        raise DataError(
            f"Likert category {labels[int(np.flatnonzero(counts == 0)[0])]!r} of "
            f"{yname!r} has no respondent; drop or merge it"
        )
    names = list(model.exog_names[:X.shape[1]])
    lik = _OrderedLik(y, X, K, link, w)
    params, converged, iters = _fit_lik(lik, np.asarray(model.start_params, dtype=float))
    if not converged:
        warn(f"fit_ordered({formula!r}): the optimizer did not converge "
             f"(largest score {np.max(np.abs(lik.ngrad(params))):.3g})", stacklevel=2)

    H = lik.hessian(params)  # Hessian of the weighted log-likelihood
    try:
        Hinv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        raise EstimationError(
            f"the information matrix of {formula!r} is singular: a regressor has no "
            f"variation or perfectly predicts the answer"
        ) from None
    if cov_type == "nonrobust":
        cov = -Hinv
    else:
        psu, m = _psu(data.iloc[pos], cluster, y.size)
        if m < 2:
            raise DataError("robust SEs need at least two clusters")
        S = _psu_sums(lik.score_obs(params) * w[:, None], psu, m)
        cov = Hinv @ (m / (m - 1) * S.T @ S) @ Hinv
    k = X.shape[1]
    pnames = names + [f"{labels[j]}/{labels[j + 1]}" for j in range(K - 1)]
    z = stats.norm.ppf(0.5 + level / 2)

    # coefficients and cutpoints (delta method on the increments)
    J = np.zeros((k + K - 1, k + K - 1))
    J[:k, :k] = np.eye(k)
    J[k:, k:] = lik.cut_jac(params[k:])
    est = np.concatenate([params[:k], lik.cuts(params[k:])[1:-1]])
    se = np.sqrt(np.diag(J @ cov @ J.T))
    terms = names + [f"cut[{labels[j]}|{labels[j + 1]}]" for j in range(K - 1)]
    coef = pd.DataFrame({"term": terms, "estimate": est, "std_error": se,
                         "statistic": est / se, "p_value": 2 * stats.norm.sf(np.abs(est / se)),
                         "ci_low": est - z * se, "ci_high": est + z * se})
    if link == "logit":
        isb = np.arange(len(terms)) < k
        coef["odds_ratio"] = np.where(isb, np.exp(coef["estimate"]), np.nan)
        coef["or_ci_low"] = np.where(isb, np.exp(coef["ci_low"]), np.nan)
        coef["or_ci_high"] = np.where(isb, np.exp(coef["ci_high"]), np.nan)

    # average marginal effects with delta-method SEs (numerical Jacobian)
    groups = _term_groups(design.terms, names, X)
    ame = _ame(lik, params, groups, w).ravel()
    G = np.zeros((ame.size, params.size))
    for i in range(params.size):
        h = 1e-6 * max(1.0, abs(params[i]))
        e = np.zeros(params.size)
        e[i] = h
        G[:, i] = (_ame(lik, params + e, groups, w).ravel()
                   - _ame(lik, params - e, groups, w).ravel()) / (2 * h)
    ase = np.sqrt(np.maximum(np.diag(G @ cov @ G.T), 0.0))
    kinds = {j: kind for cols, kind in groups for j in cols}
    me = pd.DataFrame({
        "term": np.repeat(names, K), "outcome": list(labels) * k,
        "kind": np.repeat([kinds[j] for j in range(k)], K),
        "estimate": ame, "std_error": ase,
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        me["statistic"] = me["estimate"] / me["std_error"]
    me["p_value"] = 2 * stats.norm.sf(np.abs(me["statistic"]))
    me["ci_low"] = me["estimate"] - z * me["std_error"]
    me["ci_high"] = me["estimate"] + z * me["std_error"]

    share = np.bincount(y, weights=w, minlength=K) / w.sum()
    ll0 = float(w @ np.log(share[y]))
    return OrderedResult(
        formula=formula, link=link, cov_type=cov_type, categories=labels,
        nobs=int(y.size), n_dropped=len(data) - int(y.size), weighted=weight is not None,
        params=pd.Series(params, index=pnames, name="params"),
        cov=pd.DataFrame(cov, index=pnames, columns=pnames),
        coefficients=coef, marginal_effects=me,
        loglike=-lik.nll(params), loglike_null=ll0, converged=converged,
        iterations=iters, level=level,
    )
