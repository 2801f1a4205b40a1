"""Panel regression: within (one- and two-way FE), random, between, first-difference and pooled.

``fit_panel`` estimates ``y ~ x1 + x2`` on an entity x time panel and returns a frozen
:class:`PanelResult`; ``hausman`` compares a within and a random-effects fit.

Estimation never builds dummy matrices: fixed effects are swept out by group means
(``numpy.bincount``); two-way effects are removed exactly -- in one sweep for a balanced
panel, otherwise by solving the small (periods x periods) normal equations of the
time effects after the entity means are removed -- and by alternating projections
(:func:`dtistat._linalg.demean`) only when both dimensions are large.

Covariance conventions (``small_sample``)
-----------------------------------------
Notation: N observations, k reported coefficients, K = k for pooled / random / between /
first-difference models and K = k + 1 for within models (the intercept that the fixed
effects contain, which Stata's ``xtreg, fe`` reports as ``_cons``), A = number of
absorbed effect parameters beyond that intercept (entity: N_e - 1; time: T - 1;
two-way: N_e + T - 1 - c with c connected components, i.e. the rank of the effects less
one), G = number of clusters (for Driscoll-Kraay: the number of periods).

Factors applied to the sandwich (Kc = K for "stata", K + A for "areg"):

* unadjusted: s^2 = e'e / (N - K - A) under every convention (the effects always use
  degrees of freedom in the residual variance);
* robust (HC): N / (N - Kc); "none": N / (N - k);
* cluster and Driscoll-Kraay: G/(G-1) (N-1)/(N-Kc); "none": N / (N - k).

"stata" is ``xtreg, fe vce(cluster id)`` (the absorbed entity effects are not counted,
the intercept is; note that with ``fe="twoway"`` xtreg's ``i.year`` dummies would be
counted, here the absorbed time effects are not); "areg" is ``areg, absorb(id)
vce(cluster id)`` (all absorbed effects counted); "none"
applies no cluster-count correction, only the degrees of freedom of the reported
coefficients -- it is linearmodels' default (``debiased=True``, ``group_debias=False``,
effects not counted). Two-way clustering (Cameron, Gelbach and Miller 2011) applies the
factor of each one-way component with its own G. Inference uses Student's t with
N - K - A degrees of freedom (unadjusted, robust), G - 1 (cluster; the smaller G for
two-way) or T - 1 (Driscoll-Kraay) under "stata"/"areg", and the normal distribution
under "none".

Equivalent linearmodels (7.1) settings, checked in ``tests/test_panel.py``:

* "stata": regressors with a constant (``1 + x`` also for ``PanelOLS``),
  ``debiased=True``, ``group_debias=True`` for clusters, ``auto_df=False``,
  ``count_effects=False``;
* "areg": the same with ``count_effects=True``;
* "none": no constant in ``PanelOLS`` (constants elsewhere), ``debiased=True``,
  ``group_debias=False``, ``auto_df=False``, ``count_effects=False``.

Driscoll-Kraay uses Bartlett (Newey-West) weights ``1 - j/(lags+1)``, j = 1..lags, on
the cross-sectional sums of the scores of the periods in the sample (positions, not
calendar gaps). Under "none" it equals linearmodels' ``cov_type="kernel",
kernel="bartlett", bandwidth=lags``; under "stata"/"areg" it is that times
T/(T-1) (N-1)/N (linearmodels' kernel estimator has no cluster-count factor), and
"areg" reproduces pyfixest's ``vcov={"DK": lags}`` (Grunfeld two-way, lags 3:
0.023811, 0.060647). The default ``lags`` is linearmodels' floor(4 (T/100)^(2/9)).

Random effects are Swamy-Arora as in linearmodels' ``RandomEffects``: sigma2_e from the
within regression (N - N_e - rank degrees of freedom), sigma2_u = SSR_b / (N_e - rank_b)
- sigma2_e / T_h from the unweighted between regression with T_h the harmonic mean of
the T_i, and theta_i = 1 - sqrt(sigma2_e / (T_i sigma2_u + sigma2_e)) per entity, so
unbalanced panels are handled.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat import _linalg
from dtistat._validate import (
    as_list,
    check_choice,
    check_columns,
    check_frame,
    check_level,
    check_no_nan,
    check_numeric,
    check_positive_int,
    to_quarters,
    warn,
)
from dtistat.errors import (
    DataError,
    EstimationError,
    ParameterError,
    PeriodError,
    SpecError,
)

__all__ = ["FTest", "HausmanResult", "PanelResult", "fit_panel", "hausman"]

MODELS = ("within", "random", "between", "fd", "pooled")
EFFECTS = ("entity", "time", "twoway")
COV_TYPES = ("unadjusted", "robust", "cluster", "twoway-cluster", "driscoll-kraay")
SMALL_SAMPLE = ("stata", "areg", "none")

# Two-way effects: the exact (periods x periods) solve is used while the dense entity x
# period count matrix stays below this many cells; beyond, alternating projections.
_DENSE_TWOWAY_CELLS = 20_000_000
_SMALL_DIM_MAX = 5_000


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class FTest:
    """An F test: ``statistic`` ~ F(``df_num``, ``df_denom``) under the null."""

    statistic: float
    df_num: int
    df_denom: int
    p_value: float
    null: str = ""

    def __str__(self) -> str:
        return (
            f"F({self.df_num}, {self.df_denom}) = {self.statistic:.4f}, "
            f"p = {self.p_value:.4g}" + (f"  [H0: {self.null}]" if self.null else "")
        )


def _tidy(params, se, stat, p, ci) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "term": list(params.index),
            "estimate": params.to_numpy(),
            "std_error": se.to_numpy(),
            "stat": stat.to_numpy(),
            "p_value": p.to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
        }
    )


@dataclass(frozen=True, eq=False)
class PanelResult:
    """Result of :func:`fit_panel` (frozen; pandas outputs labelled by term).

    Attributes
    ----------
    params, std_errors, tstats, pvalues : pandas.Series
        Coefficients, standard errors, t (or z) statistics and two-sided p-values.
    conf_int : pandas.DataFrame
        Lower and upper bounds at ``level``.
    cov : pandas.DataFrame
        Covariance of the coefficients.
    r2_within, r2_between, r2_overall : float
        Squared correlations of y and the fitted x'b in the entity-demeaned data, the
        entity means and the raw data (the R-squared of Stata's ``xtreg``; the within
        one equals 1 - SSR/TSS of a within fit).
    f_effects : FTest or None
        Poolability: F test that the fixed effects are all zero (within models).
    theta : pandas.Series or None
        Random effects: quasi-demeaning weight of each entity (all equal if balanced).
    sigma2_u, sigma2_e : float or None
        Variance of the entity effect (random) and of the idiosyncratic error.
    n_singletons, n_dropped_missing, n_dropped_lags : int
        Rows dropped as singletons of a fixed effect (iteratively, as reghdfe), for
        missing values (``dropna=True``) and for lags/differences without a period.
    resid : numpy.ndarray
        Residuals of the regression actually run (within-demeaned, quasi-demeaned,
        differenced or entity means; scaled by sqrt(weights) under WLS).
    """

    params: pd.Series
    std_errors: pd.Series
    tstats: pd.Series
    pvalues: pd.Series
    conf_int: pd.DataFrame
    cov: pd.DataFrame
    model: str
    fe: str | None
    cov_type: str
    small_sample: str
    cluster: tuple | None
    lags: int | None
    dependent: str
    formula: str
    nobs: int
    n_entities: int
    n_periods: int
    df_resid: int
    df_inference: float | None
    r2_within: float
    r2_between: float
    r2_overall: float
    f_effects: FTest | None
    theta: pd.Series | None
    sigma2_u: float | None
    sigma2_e: float | None
    n_clusters: tuple | None
    n_singletons: int = 0
    n_dropped_missing: int = 0
    n_dropped_lags: int = 0
    absorbed: tuple = ()
    level: float = 0.95
    resid: np.ndarray | None = field(default=None, repr=False)

    @property
    def distribution(self) -> str:
        """``"t(df)"`` or ``"normal"``: the reference distribution of ``tstats``."""
        if self.df_inference is None:
            return "normal"
        return f"t({self.df_inference:g})"

    def summary(self) -> pd.DataFrame:
        """Tidy coefficient table: term, estimate, std_error, stat, p_value, ci_low, ci_high."""
        return _tidy(self.params, self.std_errors, self.tstats, self.pvalues, self.conf_int)

    def fit_stats(self) -> pd.Series:
        """Model-level rows for a regression table (observations, effects, R2, ...)."""
        f = self.f_effects
        return pd.Series({
            "model": self.model,
            "fixed_effects": self.fe or "",
            "nobs": self.nobs,
            "n_entities": self.n_entities,
            "n_periods": self.n_periods,
            "r2_within": self.r2_within,
            "r2_between": self.r2_between,
            "r2_overall": self.r2_overall,
            "cov_type": self.cov_type,
            "cluster": ", ".join(map(str, self.cluster)) if self.cluster else "",
            "small_sample": self.small_sample,
            "f_effects": f.statistic if f is not None else np.nan,
            "f_effects_p": f.p_value if f is not None else np.nan,
            "theta": float(self.theta.median()) if self.theta is not None else np.nan,
        }, dtype=object)

    def __str__(self) -> str:
        title = {
            "within": f"Within (fixed effects: {self.fe})",
            "random": "Random effects (Swamy-Arora)",
            "between": "Between",
            "fd": "First difference",
            "pooled": "Pooled OLS",
        }[self.model]
        cov = self.cov_type + (f" by {', '.join(map(str, self.cluster))}" if self.cluster else "")
        if self.cov_type == "driscoll-kraay":
            cov += f" (Bartlett, lags={self.lags})"
        lines = [
            f"{title}: {self.formula}",
            f"Observations {self.nobs}, entities {self.n_entities}, periods {self.n_periods}",
            (f"Covariance: {cov}; small-sample convention {self.small_sample!r}; "
             f"inference {self.distribution}"),
            (f"R2 within {self.r2_within:.4f}, between {self.r2_between:.4f}, "
             f"overall {self.r2_overall:.4f}"),
        ]
        if self.theta is not None:
            th = self.theta.to_numpy()
            tx = f"{th[0]:.6f}" if np.ptp(th) == 0 else (
                f"min {th.min():.4f}, median {np.median(th):.4f}, max {th.max():.4f}")
            lines.append(f"theta {tx}; sigma2_u {self.sigma2_u:.6g}, sigma2_e {self.sigma2_e:.6g}")
        if self.f_effects is not None:
            lines.append(f"Effects (poolability) {self.f_effects}")
        dropped = []
        if self.n_singletons:
            dropped.append(f"{self.n_singletons} singleton(s)")
        if self.n_dropped_missing:
            dropped.append(f"{self.n_dropped_missing} row(s) with missing values")
        if self.n_dropped_lags:
            dropped.append(f"{self.n_dropped_lags} row(s) without the lagged period")
        if dropped:
            lines.append("Dropped: " + ", ".join(dropped))
        if self.absorbed:
            lines.append("Absorbed by the effects (dropped): " + ", ".join(self.absorbed))
        tab = self.summary().set_index("term")
        lines.append(tab.to_string(float_format=lambda v: f"{v:.6g}"))
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class HausmanResult:
    """Hausman (1978) test of fixed versus random effects.

    ``statistic`` = d' (V_fe - V_re)^+ d with d = b_fe - b_re over the common
    coefficients ``terms``; chi-squared with ``df`` degrees of freedom under H0 (the
    random-effects estimator is consistent).
    """

    statistic: float
    df: int
    p_value: float
    terms: tuple
    difference: pd.Series
    fe_cov_type: str
    re_cov_type: str

    def summary(self) -> pd.DataFrame:
        """One-row tidy table: test, statistic, df, p_value."""
        return pd.DataFrame(
            {
                "test": ["Hausman (FE vs RE)"],
                "statistic": [self.statistic],
                "df": [self.df],
                "p_value": [self.p_value],
            }
        )

    def __str__(self) -> str:
        return (
            f"Hausman test, fixed vs random effects on {', '.join(self.terms)}: "
            f"chi2({self.df}) = {self.statistic:.4f}, p = {self.p_value:.4f}"
        )


# --------------------------------------------------------------------------- formulas
@dataclass(frozen=True)
class _Term:
    kind: str  # "col" | "L" | "D" | "C"
    name: str  # display name
    arg: Any  # column name, or inner _Term for L / D
    k: int = 1

    def columns(self) -> list:
        if self.kind in ("col", "C"):
            return [self.arg]
        return self.arg.columns()

    def has_shift(self) -> bool:
        return self.kind in ("L", "D") or (
            isinstance(self.arg, _Term) and self.arg.has_shift()
        )


_CALL = re.compile(r"^([A-Za-z]+)\((.*)\)$", re.DOTALL)


def _split_top(s: str) -> list[tuple[str, str]]:
    """Split at top-level + and -; returns (sign, piece)."""
    out, depth, cur, sign = [], 0, "", "+"
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch in "+-" and depth == 0:
            if cur.strip():
                out.append((sign, cur.strip()))
            elif ch == "-" and sign == "-":
                raise SpecError(f"cannot parse {s!r}: two '-' in a row")
            sign, cur = ch, ""
            continue
        cur += ch
    if depth != 0:
        raise SpecError(f"unbalanced parentheses in {s!r}")
    if cur.strip():
        out.append((sign, cur.strip()))
    return out


def _parse_term(s: str, formula: str) -> _Term:
    s = s.strip()
    if s.startswith("`") and s.endswith("`") and len(s) > 1:
        return _Term("col", s[1:-1], s[1:-1])
    m = _CALL.match(s)
    if not m:
        if not s or any(c in s for c in "(),*:/^~"):
            raise SpecError(
                f"cannot parse term {s!r} in formula {formula!r}; use column names, "
                "L(x, k), D(x) or C(x) joined by '+'"
            )
        return _Term("col", s, s)
    fn, inner = m.group(1), m.group(2)
    parts = [p.strip() for p in inner.split(",")] if "(" not in inner else None
    if parts is None:  # nested call: split at the last top-level comma
        depth, cut = 0, -1
        for i, ch in enumerate(inner):
            depth += ch == "("
            depth -= ch == ")"
            if ch == "," and depth == 0:
                cut = i
        parts = [inner.strip()] if cut < 0 else [inner[:cut].strip(), inner[cut + 1:].strip()]
    if fn in ("L", "D"):
        if len(parts) not in (1, 2):
            raise SpecError(f"{fn}() takes a variable and an optional integer: {s!r}")
        k = 1
        if len(parts) == 2:
            try:
                k = int(parts[1])
            except ValueError:
                raise SpecError(f"the lag order in {s!r} must be an integer") from None
            if k < 0 or (fn == "D" and k < 1):
                raise SpecError(f"the order in {s!r} must be a positive integer")
        inner_t = _parse_term(parts[0], formula)
        if inner_t.kind == "C":
            raise SpecError(f"{s!r}: lags or differences of C() are not supported")
        name = f"{fn}({inner_t.name}" + (f", {k})" if len(parts) == 2 else ")")
        return _Term(fn, name, inner_t, k)
    if fn == "C":
        if len(parts) != 1:
            raise SpecError(f"C() takes one column name: {s!r}")
        return _Term("C", f"C({parts[0]})", parts[0])
    raise SpecError(
        f"unknown function {fn!r} in term {s!r}; supported: L(x, k), D(x, k), C(x)"
    )


def _parse_formula(formula: str) -> tuple[_Term, list[_Term], bool]:
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise SpecError(f"formula must look like 'y ~ x1 + x2', got {formula!r}")
    lhs, rhs = formula.split("~")
    if not lhs.strip():
        raise SpecError(f"formula {formula!r} has no dependent variable")
    dep = _parse_term(lhs, formula)
    if dep.kind == "C":
        raise SpecError("the dependent variable cannot be C(...)")
    intercept = True
    terms: list[_Term] = []
    for sign, piece in _split_top(rhs):
        if piece in ("0", "1"):
            if piece == "0" or sign == "-":
                intercept = False
            continue
        if sign == "-":
            raise SpecError(f"'- {piece}' is not supported; only '- 1' removes the intercept")
        t = _parse_term(piece, formula)
        if t.name not in [u.name for u in terms]:
            terms.append(t)
    if not terms and not intercept:
        raise SpecError(f"formula {formula!r} has no regressors")
    return dep, terms, intercept


# --------------------------------------------------------------------------- panel index
def _parse_time(s: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer positions on the time axis (gaps respected) and the labels of the rows."""
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise PeriodError(f"time column {name!r} is missing at row {s.index[i]!r}")
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        if not dt.ordered:
            raise PeriodError(
                f"time column {name!r} is an unordered Categorical; make it ordered "
                "(pd.Categorical(..., ordered=True)) or use numbers, quarters or dates"
            )
        return s.cat.codes.to_numpy().astype(np.int64), s.to_numpy()
    if isinstance(dt, pd.PeriodDtype):  # any frequency: its own calendar positions
        pi = pd.PeriodIndex(s)
        return np.asarray(pi.asi8, dtype=np.int64), np.asarray(pi.astype(str))
    if pd.api.types.is_datetime64_any_dtype(dt):
        q = to_quarters(s, name=name)
        return np.asarray(q.asi8, dtype=np.int64), np.asarray(q.astype(str))
    if pd.api.types.is_bool_dtype(dt):
        raise PeriodError(f"time column {name!r} is boolean; use numbers, quarters or dates")
    if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt):
        v = s.to_numpy(dtype=float)
        if not np.all(np.isfinite(v)):
            raise PeriodError(f"time column {name!r} has non-finite values")
        if np.all(v == np.round(v)):
            # integer periods (years): a missing year is a gap
            return v.astype(np.int64), s.to_numpy()
        # other numbers: ordered, consecutive distinct values are adjacent
        return pd.factorize(v, sort=True)[0].astype(np.int64), s.to_numpy()
    # strings / objects: quarters ("2021Q1"), all-digit years, else not orderable
    vals = s.astype(object)
    if vals.map(lambda u: isinstance(u, (int, float, np.integer, np.floating))
                and not isinstance(u, bool)).all():
        return _parse_time(pd.Series(vals.to_numpy(dtype=float), index=s.index), name)
    as_str = vals.map(lambda u: u if isinstance(u, str) else None)
    if as_str.notna().all():
        stripped = as_str.str.strip()
        if stripped.str.fullmatch(r"-?\d+").all():
            return stripped.astype(np.int64).to_numpy(), s.to_numpy()
        try:
            q = to_quarters(stripped, name=name)
        except PeriodError:
            bad = next((u for u in pd.unique(stripped) if not re.fullmatch(
                r"\d{4}\s*-?\s*[Qq][1-4]", u)), stripped.iloc[0])
            raise PeriodError(
                f"time column {name!r} is not orderable: {bad!r} is neither a quarter "
                "('2021Q1') nor an integer period; convert it to numbers, dates, "
                "pandas Periods or an ordered Categorical"
            ) from None
        return np.asarray(q.asi8, dtype=np.int64), np.asarray(q.astype(str))
    try:
        q = to_quarters(vals, name=name)
        return np.asarray(q.asi8, dtype=np.int64), np.asarray(q.astype(str))
    except (PeriodError, TypeError, ValueError):
        types = sorted({type(u).__name__ for u in vals})
        raise PeriodError(
            f"time column {name!r} is not orderable (values of type {', '.join(types)}); "
            "use numbers, quarters ('2021Q1'), dates, Periods or an ordered Categorical"
        ) from None


class _Shifter:
    """Look up the row of (entity, time - k): lags that respect gaps."""

    def __init__(self, ecode: np.ndarray, tpos: np.ndarray):
        self.tmin = int(tpos.min())
        self.span = int(tpos.max()) - self.tmin + 1
        t0 = tpos - self.tmin
        self.key = ecode.astype(np.int64) * self.span + t0
        self.order = np.argsort(self.key, kind="stable")
        self.sorted = self.key[self.order]
        self.ecode, self.t0 = ecode, t0

    def rows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row index of the k-th lag and a mask of rows that have it."""
        tt = self.t0 - k
        ok = (tt >= 0) & (tt < self.span)
        target = self.ecode.astype(np.int64) * self.span + np.clip(tt, 0, self.span - 1)
        pos = np.searchsorted(self.sorted, target)
        pos = np.minimum(pos, len(self.sorted) - 1)
        found = ok & (self.sorted[pos] == target)
        return self.order[pos], found


def _eval_term(term: _Term, data: pd.DataFrame, shifter: _Shifter | None):
    """Values of a numeric term and a mask of rows missing by construction (lags)."""
    if term.kind == "col":
        v = data[term.arg].to_numpy(dtype=float, na_value=np.nan)
        return v, np.zeros(len(v), dtype=bool)
    v, miss = _eval_term(term.arg, data, shifter)
    if term.kind == "L" and term.k == 0:
        return v, miss
    rows, found = shifter.rows(term.k)
    lagged = np.where(found, v[rows], np.nan)
    lmiss = ~found | miss[rows]
    if term.kind == "L":
        return lagged, lmiss
    return v - lagged, lmiss | miss  # D(x, k) = x - L(x, k)


def _dummies(data: pd.DataFrame, col: str, name: str) -> tuple[np.ndarray, list[str]]:
    s = data[col]
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise DataError(f"column {col!r} used in {name} is missing at row {s.index[i]!r}")
    codes, levels = pd.factorize(s, sort=True)
    if len(levels) < 2:
        raise EstimationError(f"{name} has a single level ({levels[0]!r}): no variation")
    m = np.zeros((len(s), len(levels) - 1))
    rows = np.flatnonzero(codes > 0)
    m[rows, codes[rows] - 1] = 1.0
    return m, [f"{name}[{lv}]" for lv in levels[1:]]


# --------------------------------------------------------------------------- demeaning
def _fcols(*blocks) -> np.ndarray:
    """Stack 1-d/2-d blocks as the columns of a Fortran-ordered (n, p) array.

    Column-major layout keeps every per-column ``bincount`` and gather contiguous
    (2-3x faster than on the strided columns of a C-ordered array).
    """
    n = len(blocks[0])
    p = sum(1 if b.ndim == 1 else b.shape[1] for b in blocks)
    out = np.empty((n, p), order="F")
    j = 0
    for b in blocks:
        if b.ndim == 1:
            out[:, j] = b
            j += 1
        else:
            out[:, j:j + b.shape[1]] = b
            j += b.shape[1]
    return out


def _take_rows(M: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = np.empty((len(rows), M.shape[1]), order="F")
    for j in range(M.shape[1]):
        out[:, j] = M[:, j][rows]
    return out


def _group_sums(x: np.ndarray, codes: np.ndarray, g: int) -> np.ndarray:
    """Column sums by group, (g, p), one bincount per column."""
    out = np.empty((g, x.shape[1]), order="F")
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(codes, weights=x[:, j], minlength=g)
    return out


def _gather(m: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``m[codes]`` for a (g, p) table, column by column (2-d fancy indexing is slow)."""
    out = np.empty((len(codes), m.shape[1]), order="F")
    for j in range(m.shape[1]):
        out[:, j] = m[:, j][codes]
    return out


def _demean1(x, codes, g, w=None):
    ws = np.bincount(codes, weights=w, minlength=g)
    ws[ws == 0] = 1.0
    out = np.empty(x.shape, order="F")
    for j in range(x.shape[1]):
        col = x[:, j]
        s = np.bincount(codes, weights=col if w is None else col * w, minlength=g)
        out[:, j] = col - (s / ws)[codes]
    return out


def _absorb(x: np.ndarray, dims: list[tuple[np.ndarray, int]], w: np.ndarray | None,
            balanced: bool, connected: bool = False) -> np.ndarray:
    """Residual of x (n, p) after projecting on the dummies of ``dims`` (never built)."""
    if len(dims) == 1:
        return _demean1(x, dims[0][0], dims[0][1], w)
    (c1, g1), (c2, g2) = dims
    n = len(x)
    if balanced and w is None:
        # balanced two-way: x - mean_i - mean_t + mean is exact in one sweep
        out = np.empty(x.shape, order="F")
        for j in range(x.shape[1]):
            col = x[:, j]
            m1 = np.bincount(c1, weights=col, minlength=g1) / (n / g1)
            m2 = np.bincount(c2, weights=col, minlength=g2) / (n / g2)
            out[:, j] = col - m1[c1] - (m2 - col.mean())[c2]
        return out
    if g2 > g1:
        (c1, g1), (c2, g2) = (c2, g2), (c1, g1)
    if g2 <= _SMALL_DIM_MAX and g1 * g2 <= _DENSE_TWOWAY_CELLS:
        # exact: remove the large dimension's means, then solve the (g2 x g2) normal
        # equations of the small dimension's effects in the demeaned data (FWL).
        ww = np.ones(n) if w is None else w
        W1 = np.bincount(c1, weights=ww, minlength=g1)
        W1[W1 == 0] = 1.0
        W2 = np.bincount(c2, weights=ww, minlength=g2)
        C = np.bincount(c1.astype(np.int64) * g2 + c2, weights=ww,
                        minlength=g1 * g2).reshape(g1, g2)
        Cs = C / np.sqrt(W1)[:, None]
        A = np.diag(W2) - Cs.T @ Cs
        xt = _demean1(x, c1, g1, w)
        b = _group_sums(xt if w is None else xt * w[:, None], c2, g2)
        if connected:
            # null space of A is the constant vector, orthogonal to b: A + a 11' is
            # positive definite and has the same solution with 1'gamma = 0
            a = float(np.mean(np.diag(A)))
            gamma = np.linalg.solve(A + a, b)
        else:
            vals, vecs = np.linalg.eigh(A)
            keep = vals > vals.max() * 1e-11
            gamma = (vecs[:, keep] / vals[keep]) @ (vecs[:, keep].T @ b)
        # M_1 D_2 gamma = gamma[t] - (entity mean of gamma[t])
        gm = (C @ gamma) / W1[:, None]
        for j in range(x.shape[1]):
            xt[:, j] -= gamma[:, j][c2] - gm[:, j][c1]
        return xt
    return _linalg.demean(x, [c1, c2], weights=w)


def _n_components(c1, g1, c2, g2) -> int:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(c1)
    adj = coo_matrix((np.ones(n), (c1, c2 + g1)), shape=(g1 + g2, g1 + g2))
    return int(connected_components(adj, directed=False)[0])


def _compact(codes: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Renumber non-negative codes to 0..G-1 keeping their order (no hashing)."""
    cnt = np.bincount(codes)
    present = cnt > 0
    if present.all():
        return codes, len(cnt), np.flatnonzero(present)
    remap = np.cumsum(present) - 1
    return remap[codes], int(present.sum()), np.flatnonzero(present)


def _drop_singletons(codes_list: list[np.ndarray]) -> np.ndarray:
    """Mask of rows kept after iteratively dropping singleton groups (as reghdfe)."""
    keep = np.ones(len(codes_list[0]), dtype=bool)
    while True:
        changed = False
        for c in codes_list:
            cnt = np.bincount(c[keep], minlength=int(c.max()) + 1)
            single = keep & (cnt[c] == 1)
            if single.any():
                keep &= ~single
                changed = True
        if not changed or len(codes_list) == 1:
            return keep


# --------------------------------------------------------------------------- covariance
def _scores_by_group(scores: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Sums of the scores by group; ``codes`` are compact (0..G-1, each present)."""
    g = int(codes.max()) + 1
    return _group_sums(scores, codes, g), g


def _covariance(X, e, xtx_inv, *, kind, conv, K, A, clusters, time_codes, lags, k):
    """(cov, n_clusters, df_inference) for the transformed design X and residuals e."""
    n = X.shape[0]
    kk = K + (A if conv == "areg" else 0)
    if kind == "unadjusted":
        dof = n - K - A
        if dof <= 0:
            raise EstimationError(f"no residual degrees of freedom ({n} rows, {K + A} parameters)")
        return xtx_inv * float(e @ e) / dof, None, (None if conv == "none" else dof)
    scores = X * e[:, None]
    if kind == "robust":
        meat = scores.T @ scores
        f = n / (n - k) if conv == "none" else n / (n - kk)
        return f * xtx_inv @ meat @ xtx_inv, None, (None if conv == "none" else n - K - A)
    if kind == "driscoll-kraay":
        s, T = _scores_by_group(scores, time_codes)  # rows in time order
        meat = s.T @ s
        for j in range(1, lags + 1):
            op = s[j:].T @ s[:-j]
            meat += (1.0 - j / (lags + 1.0)) * (op + op.T)
        f = n / (n - k) if conv == "none" else T / (T - 1) * (n - 1) / (n - kk)
        return f * xtx_inv @ meat @ xtx_inv, (T,), (None if conv == "none" else T - 1)
    # cluster: one or two ways
    def one(codes):
        s, g = _scores_by_group(scores, codes)
        f = 1.0 if conv == "none" else g / (g - 1) * (n - 1) / (n - kk)
        return f * (s.T @ s), g

    if len(clusters) == 1:
        meat, g = one(clusters[0])
        gs = (g,)
    else:
        m1, g1 = one(clusters[0])
        m2, g2 = one(clusters[1])
        inter = clusters[0].astype(np.int64) * (int(clusters[1].max()) + 1) + clusters[1]
        m12, _ = one(pd.factorize(inter)[0])
        meat = m1 + m2 - m12
        gs = (g1, g2)
    if conv == "none":
        meat = meat * (n / (n - k))
    return xtx_inv @ meat @ xtx_inv, gs, (None if conv == "none" else min(gs) - 1)


def _corr2(a: np.ndarray, b: np.ndarray) -> float:
    am, bm = a - a.mean(), b - b.mean()
    saa, sbb = float(am @ am), float(bm @ bm)
    if saa <= 1e-30 * max(float(a @ a), 1e-300):
        return float("nan")
    if sbb <= 1e-30 * max(float(b @ b), 1e-300):
        return 0.0
    return float(am @ bm) ** 2 / (saa * sbb)


_NORMAL_EQ_MIN_ROWS = 100_000


def _ols(y, X, names):
    """Least squares; the error names collinear regressors (shared core).

    Below ``_NORMAL_EQ_MIN_ROWS`` rows this is :func:`dtistat._linalg.ols` (QR). Above,
    the QR of a tall matrix dominates the run time, so the column-equilibrated normal
    equations are solved by Cholesky with one step of iterative refinement (as accurate
    as QR unless the scaled design is nearly collinear); a design whose scaled
    cross-product has a reciprocal condition number below 1e-12 goes to the QR path,
    which names the collinear columns.
    """
    n, k = X.shape
    if n >= _NORMAL_EQ_MIN_ROWS and k > 0:
        G = X.T @ X
        norm = np.sqrt(np.diag(G))
        if np.all(norm > 0):
            Gs = G / np.outer(norm, norm)  # equilibrated: unit diagonal
            ev = np.linalg.eigvalsh(Gs)
            if ev[0] > 1e-12 * ev[-1]:
                ci = np.linalg.inv(np.linalg.cholesky(Gs))
                Gi = (ci.T @ ci) / np.outer(norm, norm)  # (X'X)^-1
                b = Gi @ (X.T @ y)
                e = y - X @ b
                b = b + Gi @ (X.T @ e)  # one step of iterative refinement
                return b, y - X @ b, Gi
    fit = _linalg.ols(y, X, names=names)
    return fit.params, fit.resid, fit.xtx_inv


def _ssr_with_intercept(y, X, w=None) -> float:
    """Residual sum of squares of the (weighted) regression of y on [1, X].

    Large samples use centred moments (it only feeds the F test of the effects);
    small ones least squares.
    """
    n = len(y)
    if n < _NORMAL_EQ_MIN_ROWS:
        Xp = _fcols(np.ones(n), X)
        if w is not None:
            sw = np.sqrt(w)
            Xp, y = Xp * sw[:, None], y * sw
        b = np.linalg.lstsq(Xp, y, rcond=None)[0]
        e = y - Xp @ b
        return float(e @ e)
    ww = np.ones(n) if w is None else w
    W = ww.sum()
    my, mx = (ww @ y) / W, (ww @ X) / W
    Xw = X * ww[:, None] if w is not None else X
    Cxx = X.T @ Xw - W * np.outer(mx, mx)
    Cxy = Xw.T @ y - W * mx * my
    Cyy = float((ww * y) @ y - W * my * my)
    beta = np.linalg.lstsq(Cxx, Cxy, rcond=None)[0]
    return float(Cyy - Cxy @ beta)


# --------------------------------------------------------------------------- main
def fit_panel(
    data: pd.DataFrame,
    formula: str,
    *,
    entity: str,
    time: str,
    model: str = "within",
    fe: str = "entity",
    cov: str = "cluster",
    cluster: str | list | None = None,
    small_sample: str = "stata",
    lags: int | None = None,
    weights: str | None = None,
    dropna: bool = False,
    drop_absorbed: bool = False,
    level: float = 0.95,
) -> PanelResult:
    """Fit a linear panel model: within (FE), random, between, first-difference or pooled.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per entity x period (never modified).
    formula : str
        ``"y ~ x1 + x2"``; terms joined by ``+``; ``- 1`` or ``+ 0`` drops the
        intercept; ``L(x, k)`` is the k-th lag and ``D(x, k)`` the k-th difference of x
        within its entity in time order (a lag across a missing period is missing, and
        the row is dropped); ``C(x)`` adds dummies of x's levels but the first.
        Within models absorb the intercept; first-difference models have none.
    entity, time : str
        Columns identifying the panel. Entity ids may be strings. Time may be quarters
        ("2021Q1", pandas Periods, dates -> :func:`dtistat._validate.to_quarters`),
        integers (years; a missing year is a gap), pandas Periods of any frequency
        (their own calendar), other numbers or an ordered Categorical (consecutive
        values are adjacent).
    model : {"within", "random", "between", "fd", "pooled"}
    fe : {"entity", "time", "twoway"}
        The fixed effects of ``model="within"``.
    cov : {"unadjusted", "robust", "cluster", "twoway-cluster", "driscoll-kraay"}
        Covariance estimator; see the module docstring for the exact formulas.
    cluster : str or list of two str, optional
        Cluster column(s). Default: the entity (``cluster``), entity and time
        (``twoway-cluster``).
    small_sample : {"stata", "areg", "none"}
        Small-sample convention (module docstring): "stata" = ``xtreg, fe``, "areg"
        counts the absorbed effects, "none" = linearmodels' default.
    lags : int, optional
        Driscoll-Kraay bandwidth (Bartlett weights 1 - j/(lags+1)); default
        floor(4 (T/100)^(2/9)).
    weights : str, optional
        Column of observation weights (WLS), all models, as linearmodels: the
        between model regresses weighted entity means with the entities' weight sums,
        first differences use 1 / (1/w_t + 1/w_{t-1}), random effects use weighted
        entity means (theta from the counts) with the weights scaled to mean one.
    dropna : bool
        If False (default), a missing value in a column the formula uses raises a
        ``DataError`` naming the column and row; if True, such rows are dropped
        listwise and counted in ``n_dropped_missing``.
    drop_absorbed : bool
        Within models: drop regressors absorbed by the fixed effects (listed in
        ``absorbed``) instead of raising an ``EstimationError`` that names them.
    level : float
        Confidence level of ``conf_int``.

    Returns
    -------
    PanelResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dtistat.panel import fit_panel
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"city": np.repeat(["a", "b", "c", "d"], 6),
    ...                    "quarter": np.tile([f"2021Q{q}" for q in range(1, 5)]
    ...                                       + ["2022Q1", "2022Q2"], 4)})
    >>> df["dti"] = rng.normal(size=24)
    >>> df["fut"] = 2.0 * df["dti"] + np.repeat(rng.normal(size=4), 6) + 0.1 * rng.normal(size=24)
    >>> res = fit_panel(df, "fut ~ dti + L(dti, 1)", entity="city", time="quarter",
    ...                 cov="robust")
    >>> round(float(res.params["dti"]), 1), res.nobs
    (2.0, 20)
    """
    data = check_frame(data)
    check_choice(model, MODELS, "model")
    check_choice(fe, EFFECTS, "fe")
    check_choice(cov, COV_TYPES, "cov")
    check_choice(small_sample, SMALL_SAMPLE, "small_sample")
    if lags is not None:
        lags = check_positive_int(lags, "lags", minimum=0)
    level = check_level(level)
    if not isinstance(dropna, bool) or not isinstance(drop_absorbed, bool):
        raise ParameterError("dropna and drop_absorbed must be True or False")
    dep, terms, intercept = _parse_formula(formula)
    if model in ("within", "fd"):
        intercept = False  # absorbed by the effects / differenced away

    # clusters
    if cov == "cluster":
        cl_cols = as_list(cluster) or [entity]
        if len(cl_cols) != 1:
            raise ParameterError("cov='cluster' takes one cluster column; use "
                                 "cov='twoway-cluster' for two")
    elif cov == "twoway-cluster":
        cl_cols = as_list(cluster) or [entity, time]
        if len(cl_cols) != 2:
            raise ParameterError(f"cov='twoway-cluster' needs two cluster columns, got {cl_cols}")
    else:
        if cluster is not None:
            raise ParameterError(
                f"cluster= is used with cov='cluster' or 'twoway-cluster', not {cov!r}"
            )
        cl_cols = []
    if model == "between" and cov in ("twoway-cluster", "driscoll-kraay"):
        raise ParameterError(
            f"cov={cov!r} is not defined for the between model (one row per entity)"
        )

    base_cols = []
    for t in [dep] + terms:
        for c in t.columns():
            if c not in base_cols:
                base_cols.append(c)
    check_columns(data, [entity, time], what="panel column")
    check_columns(data, base_cols, what="formula variable")
    if weights is not None:
        check_columns(data, [weights], what="weights column")
    check_columns(data, cl_cols, what="cluster column")
    num_cols = [c for t in [dep] + terms if t.kind != "C" for c in t.columns()]
    num_cols = list(dict.fromkeys(num_cols + ([weights] if weights else [])))
    check_numeric(data, num_cols)
    if not dropna:
        check_no_nan(data, num_cols, keys=[entity, time])

    # panel index
    ent = data[entity]
    if ent.isna().any():
        i = int(np.flatnonzero(ent.isna().to_numpy())[0])
        raise DataError(f"entity column {entity!r} is missing at row {data.index[i]!r}")
    try:
        ecode_all, elabels = pd.factorize(ent, sort=True)
    except TypeError:  # mixed id types (e.g. ints and strings): no order needed
        ecode_all, elabels = pd.factorize(ent.astype(str), sort=True)
    tpos_all, _ = _parse_time(data[time], time)
    tcode_all, tuniq = pd.factorize(tpos_all, sort=True)
    cells = len(elabels) * len(tuniq)
    key = ecode_all.astype(np.int64) * len(tuniq) + tcode_all
    if cells <= 50_000_000:
        cnt = np.bincount(key, minlength=cells)
        dup = cnt[key] > 1
        n_dup = int((cnt[cnt > 1] - 1).sum()) if dup.any() else 0
    else:
        ks = pd.Series(key)
        dup = ks.duplicated(keep=False).to_numpy()
        n_dup = int(ks.duplicated().sum()) if dup.any() else 0
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        ex = data.loc[dup, [entity, time]].drop_duplicates().head(3)
        shown = "; ".join(f"{entity}={r[0]!r}, {time}={r[1]!r}" for r in ex.itertuples(index=False))
        raise DataError(
            f"duplicate {entity} x {time} rows: {shown} appear more than once "
            f"({n_dup} duplicate row(s) in all, first at row {data.index[i]!r}); each "
            "entity must have at most one row per period (aggregate or fix the time column)"
        )

    shifter = _Shifter(ecode_all, tpos_all) if (model == "fd" or any(
        t.has_shift() for t in [dep] + terms)) else None

    # evaluate the terms on all rows
    yv, ymiss = _eval_term(dep, data, shifter)
    cols, names, smiss = [], [], [ymiss]
    for t in terms:
        if t.kind == "C":
            m, nm = _dummies(data, t.arg, t.name)
            cols.append(m)
            names += nm
        else:
            v, ms = _eval_term(t, data, shifter)
            cols.append(v[:, None])
            names.append(t.name)
            smiss.append(ms)
    n_all = len(data)
    Xr = _fcols(*cols) if cols else np.empty((n_all, 0))
    wv = data[weights].to_numpy(dtype=float, na_value=np.nan) if weights else None
    struct = np.logical_or.reduce(smiss)
    finite = np.isfinite(yv) & np.isfinite(Xr).all(axis=1)
    if wv is not None:
        finite &= np.isfinite(wv)
        if np.any(wv[np.isfinite(wv)] <= 0):
            i = int(np.flatnonzero(np.isfinite(wv) & (wv <= 0))[0])
            raise DataError(f"weights column {weights!r} must be positive; row {data.index[i]!r} "
                            f"holds {wv[i]!r}")
    levels = None
    if model == "fd":
        lev = finite & ~struct
        levels = (yv[lev], Xr[lev], ecode_all[lev])
        prow, pfound = shifter.rows(1)
        # the previous period must exist and have its own lags; its missing values
        # count as missing data
        pfinite = np.where(pfound, finite[prow], True)
        struct = struct | ~pfound | struct[prow]
        finite &= pfinite
    n_dropped_lags = int(struct.sum())
    keep = finite & ~struct
    n_dropped_missing = int((~finite & ~struct).sum())
    if n_dropped_missing and not dropna:  # pragma: no cover - inputs were checked finite
        raise EstimationError("internal: missing values after building the terms")
    cl_all = []
    for c in cl_cols:
        s = data[c]
        bad = s.isna().to_numpy() & keep
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"cluster column {c!r} is missing at row {data.index[i]!r}")
        cl_all.append(ecode_all if c == entity else tcode_all if c == time
                      else pd.factorize(s)[0])

    if model == "fd":
        rows = np.flatnonzero(keep)
        prev = prow[rows]
        y = yv[rows] - yv[prev]
        X = _take_rows(Xr, rows) - _take_rows(Xr, prev)
        ecode, tpos = ecode_all[rows], tcode_all[rows]
        # the variance of a difference is the sum of the two variances (as linearmodels)
        w = None if wv is None else 1.0 / (1.0 / wv[rows] + 1.0 / wv[prev])
    else:
        rows = np.flatnonzero(keep)
        if len(rows) == n_all:
            y, X = yv, Xr
        else:
            y, X = yv[rows], _take_rows(Xr, rows)
        ecode, tpos = ecode_all[rows], tcode_all[rows]
        w = wv[rows] if wv is not None else None
    clusters = [c[rows] for c in cl_all]

    # singletons (fixed-effects models), iteratively as reghdfe
    n_singletons = 0
    if model == "within":
        fe_codes = {"entity": [ecode], "time": [tpos], "twoway": [ecode, tpos]}[fe]
        ks = _drop_singletons(fe_codes)
        n_singletons = int((~ks).sum())
        if n_singletons:
            kr = np.flatnonzero(ks)
            y, X, ecode, tpos = y[kr], _take_rows(X, kr), ecode[kr], tpos[kr]
            w = w[ks] if w is not None else None
            clusters = [c[ks] for c in clusters]
    if len(y) == 0:
        raise DataError(
            "no rows left to estimate after dropping missing values, lags and singletons"
        )

    # compact codes of what is left
    ecode, n_ent, present = _compact(ecode)
    ent_labels = np.asarray(elabels)[present]
    tcode, n_per, _ = _compact(tpos)
    clusters = [_compact(c)[0] for c in clusters]
    for c, name in zip(clusters, cl_cols, strict=True):
        g = int(c.max()) + 1
        if g < 2:
            raise EstimationError(f"cluster column {name!r} has {g} cluster in the estimation "
                                  "sample; clustered errors need at least 2 (30+ advised)")
        if g < 30:
            warn(f"only {g} clusters in {name!r}: clustered standard errors are unreliable "
                 "with fewer than about 30 clusters (consider a wild bootstrap)")
    if model == "between" and clusters:
        # each entity is one observation: clusters must be constant within entity
        for c, name in zip(clusters, cl_cols, strict=True):
            first = np.zeros(n_ent, dtype=np.int64)
            first[ecode] = c
            if np.any(first[ecode] != c):
                raise ParameterError(f"cluster column {name!r} varies within entity; the "
                                     "between model needs clusters of entities")

    if w is not None:
        # mean one (as linearmodels): irrelevant to WLS, it sets the scale of the
        # weighted within variance against the between variance in random effects
        w = w / w.mean()
    out = _estimate(model, fe, y, X, names, intercept, ecode, n_ent, tcode, n_per, w,
                    cov, small_sample, clusters, lags, drop_absorbed, levels)
    params, se, covm, stat_df, r2, extra = out
    pnames = list(params.index)
    if stat_df is None:
        dist = stats.norm
        crit = dist.ppf(0.5 + level / 2)
    else:
        dist = stats.t(stat_df)
        crit = dist.ppf(0.5 + level / 2)
    tst = params / se
    pv = pd.Series(2 * dist.sf(np.abs(tst.to_numpy())), index=pnames)
    ci = pd.DataFrame({"lower": params - crit * se, "upper": params + crit * se}, index=pnames)
    theta = extra.get("theta")
    if theta is not None:
        theta = pd.Series(theta, index=pd.Index(ent_labels, name=entity), name="theta")
    return PanelResult(
        params=params, std_errors=se, tstats=tst, pvalues=pv, conf_int=ci,
        cov=pd.DataFrame(covm, index=pnames, columns=pnames),
        model=model, fe=fe if model == "within" else None, cov_type=cov,
        small_sample=small_sample, cluster=tuple(cl_cols) or None,
        lags=extra.get("lags"), dependent=dep.name, formula=formula,
        nobs=extra["nobs"], n_entities=n_ent, n_periods=n_per,
        df_resid=extra["df_resid"], df_inference=stat_df,
        r2_within=r2[0], r2_between=r2[1], r2_overall=r2[2],
        f_effects=extra.get("f_effects"), theta=theta,
        sigma2_u=extra.get("sigma2_u"), sigma2_e=extra.get("sigma2_e"),
        n_clusters=extra.get("n_clusters"), n_singletons=n_singletons,
        n_dropped_missing=n_dropped_missing, n_dropped_lags=n_dropped_lags,
        absorbed=tuple(extra.get("absorbed", ())), level=level, resid=extra.get("resid"),
    )


def _r2_corr(b, y, X, ecode, n_ent, const_col: bool):
    """Stata / linearmodels ``corr_squared_*``: (within, between, overall)."""
    Xb = X @ b
    ov = _corr2(y, Xb)
    cnt = np.bincount(ecode, minlength=n_ent)
    ym = np.bincount(ecode, weights=y, minlength=n_ent) / cnt
    xbm = np.bincount(ecode, weights=Xb, minlength=n_ent) / cnt
    bw = _corr2(ym, xbm)
    wi = _corr2(y - ym[ecode], Xb - xbm[ecode])
    return wi, bw, ov


def _estimate(model, fe, y, X, names, intercept, ecode, n_ent, tcode, n_per, w, cov,
              conv, clusters, lags, drop_absorbed, levels):
    n, p = X.shape
    extra: dict = {}
    sw = np.sqrt(w) if w is not None else None
    time_codes = tcode
    if cov == "driscoll-kraay":
        T = n_per
        if lags is None:
            lags = math.floor(4 * (T / 100) ** (2 / 9))
        if lags >= T:
            raise ParameterError(f"lags={lags} must be below the number of periods ({T})")
        extra["lags"] = lags

    def finish(Xt, yt, pnames, K, A, b=None):
        """OLS on transformed data and the covariance; returns params, se, cov, df."""
        if b is None:
            b, e, xtx_inv = _ols(yt, Xt, pnames)
        else:
            e = yt - Xt @ b
            xtx_inv = np.linalg.inv(Xt.T @ Xt)
        k = Xt.shape[1]
        cv, gs, sdf = _covariance(Xt, e, xtx_inv, kind=cov, conv=conv, K=K, A=A,
                                  clusters=clusters, time_codes=time_codes, lags=lags, k=k)
        extra["n_clusters"] = gs
        extra["resid"] = e
        return b, e, cv, sdf

    if model == "between":
        # (weighted) entity means; with weights the means are weighted by their sums
        cnt = np.bincount(ecode, weights=w, minlength=n_ent).astype(float)
        ym = np.bincount(ecode, weights=y if w is None else y * w, minlength=n_ent) / cnt
        Xm = _group_sums(X if w is None else X * w[:, None], ecode, n_ent) / cnt[:, None]
        Xd = np.column_stack([np.ones(n_ent), Xm]) if intercept else Xm
        pn = (["const"] if intercept else []) + names
        first = np.empty(n_ent, dtype=np.int64)
        for j, c in enumerate(clusters):
            first[ecode] = c
            clusters[j] = _compact(first.copy())[0]
        if w is not None:
            sb = np.sqrt(cnt / cnt.mean())
            Xd, ym = Xd * sb[:, None], ym * sb
        b, e, cv, sdf = finish(Xd, ym, pn, Xd.shape[1], 0)
        Xfull = np.column_stack([np.ones(n), X]) if intercept else X
        r2 = _r2_corr(b, y, Xfull, ecode, n_ent, intercept)
        extra.update(nobs=n_ent, df_resid=n_ent - Xd.shape[1])
        return _pack(b, cv, pn, sdf, r2, extra)

    if model in ("pooled", "fd"):
        Xd = _fcols(np.ones(n), X) if intercept else X
        pn = (["const"] if intercept else []) + names
        if Xd.shape[1] == 0:
            raise SpecError("the model has no regressors")
        Xt, yt = (Xd, y) if sw is None else (Xd * sw[:, None], y * sw)
        b, e, cv, sdf = finish(Xt, yt, pn, Xd.shape[1], 0)
        if model == "pooled":
            r2 = _r2_corr(b, y, Xd, ecode, n_ent, intercept)
        else:  # R2 in levels, on the rows whose levels are complete (as linearmodels)
            ly, lX, le = levels
            le, lne = _linalg.factorize(le)
            r2 = _r2_corr(b, ly, lX, le, lne, False)
        extra.update(nobs=n, df_resid=n - Xd.shape[1])
        return _pack(b, cv, pn, sdf, r2, extra)

    if model == "within":
        dims = {"entity": [(ecode, n_ent)], "time": [(tcode, n_per)],
                "twoway": [(ecode, n_ent), (tcode, n_per)]}[fe]
        balanced = n == n_ent * n_per
        ncomp = 1 if (balanced or fe != "twoway") else _n_components(ecode, n_ent, tcode, n_per)
        Zd = _absorb(_fcols(y, X), dims, w, balanced, connected=ncomp == 1)
        yd, Xd = Zd[:, 0], Zd[:, 1:]
        # absorbed regressors: (almost) nothing left after removing the effects
        scale = np.sqrt((X * X).sum(axis=0))
        scale[scale == 0] = 1.0
        left = np.sqrt((Xd * Xd).sum(axis=0)) / scale
        absorbed = [names[j] for j in range(p) if left[j] < 1e-9]
        if absorbed:
            if not drop_absorbed:
                raise EstimationError(
                    f"regressor(s) {', '.join(map(repr, absorbed))} absorbed by the {fe} "
                    "fixed effects (no variation left once they are removed); drop them "
                    "from the formula or pass drop_absorbed=True"
                )
            kept = [j for j in range(p) if names[j] not in absorbed]
            Xd, X = np.asfortranarray(Xd[:, kept]), np.asfortranarray(X[:, kept])
            names = [names[j] for j in kept]
            extra["absorbed"] = absorbed
        if not names:
            raise EstimationError("no regressor is left once the fixed effects are removed")
        if fe == "twoway":
            A = n_ent + n_per - 1 - ncomp
        else:
            A = (n_ent if fe == "entity" else n_per) - 1
        k = Xd.shape[1]
        K = k + 1
        Xt, yt = (Xd, yd) if sw is None else (Xd * sw[:, None], yd * sw)
        b, e, cv, sdf = finish(Xt, yt, names, K, A)
        dfr = n - K - A
        ssr = float(e @ e)
        # F test of the effects against the pooled regression with an intercept
        ssr_p = _ssr_with_intercept(y, X, w)
        F = ((ssr_p - ssr) / A) / (ssr / dfr) if A > 0 else float("nan")
        extra["f_effects"] = FTest(float(F), int(A), int(dfr), float(stats.f.sf(F, A, dfr)),
                                   f"all {fe} effects are zero")
        extra["sigma2_e"] = ssr / dfr
        r2 = _r2_corr(b, y, X, ecode, n_ent, False)
        extra.update(nobs=n, df_resid=dfr)
        return _pack(b, cv, names, sdf, r2, extra)

    # random effects (Swamy-Arora, as linearmodels' RandomEffects)
    # with weights: weighted entity means, WLS within regression, unweighted
    # regression of the weighted means (as linearmodels)
    cnt = np.bincount(ecode, minlength=n_ent).astype(float)
    wcnt = cnt if w is None else np.bincount(ecode, weights=w, minlength=n_ent)
    Xc = _fcols(np.ones(n), X) if intercept else X
    pn = (["const"] if intercept else []) + names
    Z = _fcols(y, Xc)
    Zm = _group_sums(Z if w is None else Z * w[:, None], ecode, n_ent) / wcnt[:, None]
    Zd = Z - _gather(Zm, ecode)
    if sw is not None:
        Zd *= sw[:, None]
    yd, Xd = Zd[:, 0], Zd[:, 1:]
    Xcw = Xc if sw is None else Xc * sw[:, None]
    xn = np.sqrt((Xcw * Xcw).sum(axis=0))
    xn[xn == 0] = 1.0
    _, _, rank_w, _ = np.linalg.lstsq(Xd / xn, yd, rcond=None)
    if intercept:
        ww = np.ones(n) if w is None else w
        gm = (ww @ Z) / ww.sum()
        root = np.ones(n) if sw is None else sw
        Xw, yw = Xd + np.outer(root, gm[1:]), yd + root * gm[0]
    else:
        Xw, yw = Xd, yd
    bw_ = np.linalg.lstsq(Xw, yw, rcond=None)[0]
    ew = yw - Xw @ bw_
    ym, Xm = Zm[:, 0], Zm[:, 1:]
    bb, _, rank_b, _ = np.linalg.lstsq(Xm, ym, rcond=None)
    ub = ym - Xm @ bb
    df_w = n - n_ent - rank_w
    df_b = n_ent - rank_b
    if df_w <= 0 or df_b <= 0:
        raise EstimationError(
            f"random effects need residual degrees of freedom in the within ({df_w}) and "
            f"between ({df_b}) regressions; add entities or periods"
        )
    s2e = float(ew @ ew) / df_w
    t_h = n_ent / (1.0 / cnt).sum()
    s2u = max(0.0, float(ub @ ub) / df_b - s2e / t_h)
    theta = 1.0 - np.sqrt(s2e / (cnt * s2u + s2e))
    Xq = Xc - _gather(theta[:, None] * Xm, ecode)
    yq = y - (theta * ym)[ecode]
    if sw is not None:
        Xq, yq = Xq * sw[:, None], yq * sw
    b, e, cv, sdf = finish(Xq, yq, pn, Xc.shape[1], 0)
    r2 = _r2_corr(b, y, Xc, ecode, n_ent, intercept)
    extra.update(nobs=n, df_resid=n - Xc.shape[1], theta=theta, sigma2_u=s2u, sigma2_e=s2e)
    return _pack(b, cv, pn, sdf, r2, extra)


def _pack(b, cv, names, sdf, r2, extra):
    cv = (cv + cv.T) / 2
    params = pd.Series(b, index=names, name="estimate")
    se = pd.Series(np.sqrt(np.clip(np.diag(cv), 0, None)), index=names, name="std_error")
    return params, se, cv, sdf, r2, extra


# --------------------------------------------------------------------------- Hausman
def hausman(fe: PanelResult, re: PanelResult) -> HausmanResult:
    """Hausman test of a within (fixed-effects) fit against a random-effects fit.

    Parameters
    ----------
    fe, re : PanelResult
        Results of ``fit_panel(..., model="within")`` and ``model="random"`` on the
        same data and formula. The classic test assumes both use
        ``cov="unadjusted"`` (RE efficient under H0); other covariances give a warning.

    Returns
    -------
    HausmanResult
        statistic = d'(V_fe - V_re)^+ d on the common slope coefficients; if the
        difference of covariances is not positive definite its pseudo-inverse is used
        and ``df`` is its rank (with a warning).

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> from dtistat.panel import fit_panel, hausman
    >>> g = sm.datasets.grunfeld.load_pandas().data
    >>> g = g[g.firm != "American Steel"]
    >>> kw = dict(entity="firm", time="year", cov="unadjusted")
    >>> h = hausman(fit_panel(g, "invest ~ value + capital", **kw),
    ...             fit_panel(g, "invest ~ value + capital", model="random", **kw))
    >>> round(h.statistic, 4), h.df
    (2.3304, 2)
    """
    if not isinstance(fe, PanelResult) or not isinstance(re, PanelResult):
        raise ParameterError("hausman() takes two PanelResult objects (within, random)")
    if fe.model != "within" or re.model != "random":
        raise ParameterError(
            f"hausman(fe, re) needs a within fit and a random-effects fit, got "
            f"model={fe.model!r} and model={re.model!r}"
        )
    terms = [t for t in fe.params.index if t in re.params.index and t != "const"]
    if not terms:
        raise ParameterError("the two fits have no slope coefficient in common")
    if fe.cov_type != "unadjusted" or re.cov_type != "unadjusted":
        warn("the classic Hausman test uses cov='unadjusted' in both fits (random effects "
             f"efficient under H0); got {fe.cov_type!r} and {re.cov_type!r}")
    d = fe.params[terms] - re.params[terms]
    V = fe.cov.loc[terms, terms].to_numpy() - re.cov.loc[terms, terms].to_numpy()
    vals, vecs = np.linalg.eigh((V + V.T) / 2)
    tol = max(vals.max(), 0) * len(vals) * np.finfo(float).eps * 10
    keep = vals > tol
    df = int(keep.sum())
    if df < len(terms):
        warn("V_fe - V_re is not positive definite; the test uses its pseudo-inverse "
             f"with {df} degree(s) of freedom")
    if df == 0:
        raise EstimationError("V_fe - V_re has no positive eigenvalue; the test is undefined")
    z = vecs[:, keep].T @ d.to_numpy()
    stat = float((z * z / vals[keep]).sum())
    return HausmanResult(
        statistic=stat, df=df, p_value=float(stats.chi2.sf(stat, df)), terms=tuple(terms),
        difference=d, fe_cov_type=fe.cov_type, re_cov_type=re.cov_type,
    )
