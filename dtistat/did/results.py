"""Result classes of the difference-in-differences estimators (results protocol of dtistat).

Every result is a :class:`dtistat._results.CoefResult`; the event-study ones add
:meth:`event_study`, a tidy frame with a numeric ``event_time`` column that
:func:`dtistat.did.event_study_plot` draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dtistat._results import CoefResult, Result, Summary, TestResult
from dtistat.errors import ParameterError

__all__ = ["AggregateResult", "BaconResult", "CSResult", "EventStudyResult", "TWFEResult"]

_EVENT_COLS = ["event_time", "estimate", "std_error", "ci_low", "ci_high"]


class _SEMixin:
    """Standard errors stored (bootstrap or analytic), not read off ``cov``."""

    __slots__ = ()

    @property
    def std_errors(self) -> pd.Series:
        return self.se.rename("std_error")


@dataclass(frozen=True, eq=False, repr=False)
class AggregateResult(_SEMixin, CoefResult):
    """One aggregation of ATT(g,t): by event time, cohort, period, or the simple average.

    ``params`` are labelled by the key (event time, cohort or period as text); ``keys``
    holds them as numbers. ``overall`` / ``overall_se`` is the summary parameter R
    ``did::aggte`` reports; ``crit`` the critical value of the uniform band (None
    without bootstrap: pointwise intervals).
    """

    kind: str
    params: pd.Series
    cov: pd.DataFrame
    se: pd.Series
    keys: np.ndarray
    overall: float
    overall_se: float
    crit: float | None
    level: float = 0.95
    nobs: int = 0
    df_inference: float | None = None
    reference: tuple = ()

    _kind = "CS aggregate"

    def _headline(self) -> list[str]:
        return [self.kind, f"overall = {self.overall:.4f} ({self.overall_se:.4f})"]

    def bands(self) -> pd.DataFrame:
        """Uniform (simultaneous) band, or pointwise intervals without bootstrap."""
        if self.crit is None:
            return self.conf_int().rename(columns={"lower": "band_low", "upper": "band_high"})
        return pd.DataFrame({"band_low": self.params - self.crit * self.se,
                             "band_high": self.params + self.crit * self.se})

    def event_study(self, include_reference: bool = True) -> pd.DataFrame:
        """Event time, estimate, std_error, ci_low, ci_high, band_low, band_high.

        With a universal base period, ``include_reference`` adds the normalized base
        event time (``reference``) as a row of zeros.
        """
        ci, b = self.conf_int(), self.bands()
        out = pd.DataFrame({"event_time": self.keys, "estimate": self.params.to_numpy(),
                            "std_error": self.se.to_numpy(),
                            "ci_low": ci["lower"].to_numpy(), "ci_high": ci["upper"].to_numpy(),
                            "band_low": b["band_low"].to_numpy(),
                            "band_high": b["band_high"].to_numpy()})
        if include_reference and self.reference:
            ref = pd.DataFrame({"event_time": list(self.reference),
                                **{c: 0.0 for c in out.columns[1:]}})
            out = pd.concat([out, ref], ignore_index=True).sort_values(
                "event_time", ignore_index=True)
        return out

    def summary(self) -> Summary:
        t = self.coef_table().join(self.bands())
        return Summary(f"Callaway-Sant'Anna: {self.kind} aggregation", t,
                       header=[("Overall ATT", self.overall), ("Std. error", self.overall_se)],
                       notes=["Bands: uniform (multiplier bootstrap)" if self.crit is not None
                              else "Intervals: pointwise (influence function)"])


@dataclass(frozen=True, eq=False, repr=False)
class CSResult(_SEMixin, CoefResult):
    """Callaway-Sant'Anna fit: ATT(g,t) cells and their aggregations.

    Attributes
    ----------
    params, se : Series
        ATT(g,t) labelled ``"ATT(g,t)"``; standard errors from the multiplier bootstrap
        when ``n_boot > 0`` (as R ``did``), else from the influence function.
    cov : DataFrame
        Influence-function covariance of the cells (used by :meth:`pretrend_test`).
    att_gt : DataFrame
        group, time, base, event_time, post, att, std_error, ci_low, ci_high,
        band_low, band_high, n_treated, n_control.
    aggregates : dict
        ``"simple"``, ``"dynamic"``, ``"group"``, ``"calendar"`` -> :class:`AggregateResult`
        (also via :meth:`aggregate`).
    """

    params: pd.Series
    cov: pd.DataFrame
    se: pd.Series
    att_gt: pd.DataFrame
    aggregates: dict
    crit: float | None
    control: str
    method: str
    n_boot: int
    n_units: int
    n_periods: int
    nobs: int
    level: float = 0.95
    df_inference: float | None = None
    influence: np.ndarray = field(default=None)
    anticipation: float = 0.0
    base_period: str = "varying"
    weights: str | None = None
    unbalanced: bool = False

    _kind = "Callaway-Sant'Anna DiD"

    def aggregate(self, kind: str = "dynamic") -> AggregateResult:
        """The ``"simple"``, ``"dynamic"``, ``"group"`` or ``"calendar"`` aggregation."""
        if not isinstance(kind, str) or kind not in self.aggregates:
            raise ParameterError(f"kind={kind!r}: choose one of "
                                 f"{', '.join(map(repr, self.aggregates))}")
        return self.aggregates[kind]

    @property
    def att(self) -> float:
        """The simple overall ATT (post-treatment cells weighted by cohort size)."""
        return self.aggregates["simple"].overall

    def event_study(self) -> pd.DataFrame:
        """The dynamic aggregation as a tidy event-study frame."""
        return self.aggregates["dynamic"].event_study()

    def pretrend_test(self) -> TestResult:
        """Wald test that all pre-treatment ATT(g,t) are zero (R ``att_gt``'s pre-test).

        With anticipation, cells with ``t >= g - anticipation`` may hold anticipation
        effects and are left out (R ``did`` 2.5.1 keeps them; the Python ``csdid``
        port and this test do not).
        """
        a = self.att_gt
        pre = a.index[(a["time"] < a["group"] - self.anticipation).to_numpy()]
        if len(pre) == 0:
            raise ParameterError("no pre-treatment cell to test (before g - anticipation)")
        return self.wald_test(list(pre))

    def _headline(self) -> list[str]:
        a = self.aggregates["simple"]
        return [f"ATT = {a.overall:.4f} ({a.overall_se:.4f})", f"{len(self.params)} cells",
                f"n = {self.n_units}"]

    def summary(self) -> Summary:
        cols = ["att", "std_error", "ci_low", "ci_high", "band_low", "band_high"]
        over = pd.DataFrame({k: {"estimate": a.overall, "std_error": a.overall_se}
                             for k, a in self.aggregates.items()}).T
        return Summary("Callaway-Sant'Anna difference in differences",
                       {"Aggregated ATT": over, "ATT(g,t)": self.att_gt[cols]},
                       header=[("Units", self.n_units), ("Periods", self.n_periods),
                               ("Comparison", {"never": "never treated",
                                               "notyet": "not yet treated"}[self.control]),
                               ("Method", self.method),
                               ("Bootstrap draws", self.n_boot),
                               ("Anticipation", f"{self.anticipation:g}"),
                               ("Weights", self.weights or "none"),
                               ("Panel", "unbalanced (cells as two cross sections)"
                                if self.unbalanced else "balanced")],
                       notes=[self._base_note()])

    def _base_note(self) -> str:
        d = self.anticipation
        base = "g - 1" if not d else f"g - {d:g} - 1"
        if self.base_period == "universal":
            return f"Base period: universal ({base} throughout, its cell normalized to 0)."
        return f"Base period: varying (t - 1 before treatment, {base} after)."

    def to_frame(self) -> pd.DataFrame:
        return self.att_gt.copy()


@dataclass(frozen=True, eq=False, repr=False)
class TWFEResult(CoefResult):
    """Static two-way fixed-effects DiD: the coefficient of the treated-and-post dummy."""

    params: pd.Series
    cov: pd.DataFrame
    df_inference: float | None
    level: float
    nobs: int
    panel: object = None

    _kind = "TWFE DiD"

    @property
    def att(self) -> float:
        return float(self.params.iloc[0])

    def _headline(self) -> list[str]:
        return [f"ATT = {self.att:.4f} ({float(self.std_errors.iloc[0]):.4f})",
                f"N = {self.nobs}"]

    def summary(self) -> Summary:
        return Summary("Two-way fixed-effects difference in differences", self.coef_table(),
                       header=[("Observations", self.nobs)],
                       notes=["Entity and period fixed effects; clustered by entity."])


@dataclass(frozen=True, eq=False, repr=False)
class EventStudyResult(CoefResult):
    """Event study by event time: TWFE leads and lags, Sun-Abraham or imputation.

    ``params`` are labelled ``"e=-3"``...; ``event_times`` holds them as numbers and
    the omitted reference period(s) appear in :meth:`event_study` with estimate 0.
    ``cohort_effects`` (Sun-Abraham: cohort x relative-period coefficients) and
    ``overall``/``overall_se`` (imputation: the ATT over all treated observations) are
    set by the estimators that have them.
    """

    params: pd.Series
    cov: pd.DataFrame
    df_inference: float | None
    level: float
    nobs: int
    event_times: np.ndarray
    reference: tuple
    estimator: str
    binned: tuple = ()
    cohort_effects: pd.DataFrame | None = None
    overall: float | None = None
    overall_se: float | None = None

    _kind = "Event study"

    def event_study(self, include_reference: bool = True) -> pd.DataFrame:
        """Event time, estimate, std_error, ci_low, ci_high (reference rows are 0)."""
        t = self.tidy()
        out = pd.DataFrame({"event_time": self.event_times, "estimate": t["estimate"],
                            "std_error": t["std_error"], "ci_low": t["ci_low"],
                            "ci_high": t["ci_high"]})
        if include_reference and self.reference:
            ref = pd.DataFrame({"event_time": list(self.reference),
                                **{c: 0.0 for c in _EVENT_COLS[1:]}})
            out = pd.concat([out, ref], ignore_index=True)
        return out.sort_values("event_time", ignore_index=True)

    def pretrend_test(self) -> TestResult:
        """Joint Wald test that all leads (event time < 0, reference excluded) are zero."""
        leads = [n for n, e in zip(self.params.index, self.event_times) if e < 0]
        if not leads:
            raise ParameterError("no lead to test: the event window has no pre-period")
        return self.wald_test(leads)

    def _headline(self) -> list[str]:
        head = [self.estimator, f"{len(self.params)} event times", f"N = {self.nobs}"]
        if self.overall is not None:
            head.insert(1, f"ATT = {self.overall:.4f} ({self.overall_se:.4f})")
        return head

    def summary(self) -> Summary:
        notes = ([f"Reference period(s): {', '.join(map(str, self.reference))}"]
                 if self.reference else [])
        if self.binned:
            notes.append(f"Endpoints binned: event time <= {self.binned[0]} and "
                         f">= {self.binned[1]}")
        header = [("Observations", self.nobs)]
        if self.overall is not None:
            header += [("Overall ATT", self.overall), ("Std. error", self.overall_se)]
        return Summary(f"Event study ({self.estimator})", self.coef_table(),
                       header=header, notes=notes)


@dataclass(frozen=True, eq=False, repr=False)
class BaconResult(Result):
    """Goodman-Bacon decomposition of the TWFE DiD estimate.

    Attributes
    ----------
    twfe : float
        The two-way fixed-effects coefficient being decomposed.
    two_by_two : DataFrame
        One row per 2x2 comparison: treated, control, type, estimate, weight.
    by_type : DataFrame
        Weight and weighted-average estimate per comparison type.
    """

    twfe: float
    two_by_two: pd.DataFrame
    by_type: pd.DataFrame

    _kind = "Bacon decomposition"

    def _headline(self) -> list[str]:
        return [f"TWFE = {self.twfe:.4f}", f"{len(self.two_by_two)} comparisons"]

    def summary(self) -> Summary:
        return Summary("Goodman-Bacon decomposition of the TWFE estimate",
                       {"By comparison type": self.by_type, "2x2 comparisons": self.two_by_two},
                       header=[("TWFE estimate", self.twfe),
                               ("Sum of weighted 2x2", float(
                                   (self.two_by_two["estimate"]
                                    * self.two_by_two["weight"]).sum()))])

    def to_frame(self) -> pd.DataFrame:
        return self.two_by_two.copy()
