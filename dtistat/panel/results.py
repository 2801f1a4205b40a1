"""Results of the panel estimators: PanelResult, its F test of the effects, the Hausman test."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dtistat._results import CoefResult, Summary, TableColumn, TestResult

__all__ = ["FTest", "PanelResult", "HausmanResult"]

_TITLES = {
    "within": "Within (fixed effects: {fe})",
    "random": "Random effects (Swamy-Arora)",
    "between": "Between",
    "fd": "First difference",
    "pooled": "Pooled OLS",
}


@dataclass(frozen=True, eq=False, repr=False)
class FTest(TestResult):
    """An F test: ``statistic`` ~ F(``df_num``, ``df_denom``) under the null."""

    @property
    def df_num(self) -> int:
        return int(self.df[0])

    @property
    def df_denom(self) -> int:
        return int(self.df[1])


def f_test(statistic: float, df_num: int, df_denom: int, p_value: float, null: str) -> FTest:
    """An :class:`FTest` from its parts."""
    return FTest("F test", float(statistic), float(p_value), (int(df_num), int(df_denom)), "F",
                 null)


@dataclass(frozen=True, eq=False)
class _CovState:
    """What re-estimating the covariance needs (kept out of repr and equality)."""

    X: np.ndarray            # transformed design the coefficients were fitted on
    resid: np.ndarray        # residuals on the same scale
    bread: np.ndarray        # (X'X)^-1
    n_params: int            # K
    n_absorbed: int          # A
    rows: np.ndarray         # positions in ``data`` of the rows of X (between: first row)
    entity_codes: np.ndarray  # entity code of each row of X
    time_codes: np.ndarray | None  # period code of each row of X (None for between)
    data: pd.DataFrame = field(repr=False)  # the user's frame (not copied, never changed)
    entity: str = ""
    time: str = ""


@dataclass(frozen=True, eq=False, repr=False)
class PanelResult(CoefResult):
    """Result of :func:`dtistat.fit_panel` (frozen; pandas outputs labelled by term).

    Attributes
    ----------
    params : pandas.Series
        Coefficients.
    cov : pandas.DataFrame
        Covariance of the coefficients. ``std_errors`` (alias ``bse``), ``tstats``,
        ``pvalues``, ``conf_int(level)`` and ``tidy()`` derive from it (the results
        protocol, :mod:`dtistat._results`).
    model, fe, cov_type, small_sample, cluster, lags : str / tuple / int
        What was estimated and how its covariance was computed.
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
        missing values (``missing="drop"``) and for lags/differences without a period.
    resid : numpy.ndarray
        Residuals of the regression actually run (within-demeaned, quasi-demeaned,
        differenced or entity means; scaled by sqrt(weights) under WLS).

    Use :meth:`with_cov` to get the same fit with another covariance (no refit).
    """

    params: pd.Series
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
    resid: np.ndarray | None = None
    _state: Any = None
    random_method: str | None = None

    def _headline(self) -> list[str]:
        what = self.model + (f" ({self.fe})" if self.fe else "")
        return [what, f"N={self.nobs}", f"entities={self.n_entities}",
                f"periods={self.n_periods}", f"cov={self.cov_type}",
                f"params={len(self.params)}"]

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

    def table_columns(self) -> list[TableColumn]:
        """One regression-table column with fixed-effect rows and the cluster variable."""
        stats = dict(self.fit_stats())
        stats["df_resid"] = self.df_resid
        if self.n_clusters:
            stats["n_clusters"] = min(self.n_clusters)
        if self.model == "pooled":  # the plain OLS R2; within/between R2 are not reported
            stats["r2"] = self.r2_overall
            for k in ("r2_within", "r2_between", "r2_overall"):
                stats.pop(k, None)
        fe = self.fe if self.model == "within" else None
        cluster = (", ".join(map(str, self.cluster))
                   if self.cluster and "cluster" in self.cov_type else "")
        return [TableColumn(
            name=self.dependent, coefs=self.tidy(), stats=stats,
            fixed_effects={"entity": fe in ("entity", "twoway"),
                           "time": fe in ("time", "twoway")},
            cluster=cluster)]

    def _cov_label(self) -> str:
        cov = self.cov_type + (f" by {', '.join(map(str, self.cluster))}" if self.cluster
                               else "")
        if self.cov_type == "driscoll-kraay":
            cov += f" (Bartlett, lags={self.lags})"
        return cov

    def summary(self) -> Summary:
        """The printable table: model facts, the coefficients and what was dropped."""
        header: list[tuple[str, Any]] = [
            ("Formula", self.formula),
            ("Observations", self.nobs), ("Entities", self.n_entities),
            ("Periods", self.n_periods),
            ("Covariance", f"{self._cov_label()}; small-sample {self.small_sample!r}; "
                           f"inference {self.distribution}"),
            ("R2 within / between / overall",
             f"{self.r2_within:.4f} / {self.r2_between:.4f} / {self.r2_overall:.4f}"),
        ]
        if self.theta is not None:
            th = self.theta.to_numpy()
            tx = f"{th[0]:.6f}" if np.ptp(th) == 0 else (
                f"min {th.min():.4f}, median {np.median(th):.4f}, max {th.max():.4f}")
            header.append(("Variance components", self.random_method or "swar"))
            header.append(("theta", tx))
            header.append(("sigma2_u, sigma2_e", f"{self.sigma2_u:.6g}, {self.sigma2_e:.6g}"))
        if self.f_effects is not None:
            header.append(("Effects (poolability)", str(self.f_effects)))
        notes = []
        dropped = []
        if self.n_singletons:
            dropped.append(f"{self.n_singletons} singleton(s)")
        if self.n_dropped_missing:
            dropped.append(f"{self.n_dropped_missing} row(s) with missing values")
        if self.n_dropped_lags:
            dropped.append(f"{self.n_dropped_lags} row(s) without the lagged period")
        if dropped:
            notes.append("Dropped: " + ", ".join(dropped))
        if self.absorbed:
            notes.append("Absorbed by the effects (dropped): " + ", ".join(self.absorbed))
        title = _TITLES[self.model].format(fe=self.fe)
        return Summary(f"{title}: {self.dependent}", {"Coefficients": self.coef_table()},
                       header=header, notes=notes)

    def with_cov(self, cov: str, *, cluster: str | list | None = None,
                 small_sample: str | None = None, lags: int | None = None,
                 level: float | None = None) -> PanelResult:
        """The same fit with another covariance estimator, without refitting.

        Parameters
        ----------
        cov, cluster, small_sample, lags
            As in :func:`dtistat.fit_panel`; ``small_sample`` defaults to this fit's.
            A cluster column is read from the data the model was fitted on.
        level : float, optional
            Confidence level of the new result (default: this fit's).

        Examples
        --------
        >>> import statsmodels.api as sm
        >>> from dtistat import fit_panel
        >>> g = sm.datasets.grunfeld.load_pandas().data
        >>> g = g[g.firm != "American Steel"]
        >>> fe = fit_panel(g, "invest ~ value + capital", entity="firm", time="year",
        ...                cov="unadjusted")
        >>> round(float(fe.with_cov("cluster").std_errors["value"]), 7)
        0.0151945
        """
        from dtistat.panel.fit import recompute_cov

        return recompute_cov(self, cov, cluster=cluster, small_sample=small_sample,
                             lags=lags, level=level)

    def _replace(self, **changes: Any) -> PanelResult:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, eq=False, repr=False)
class HausmanResult(TestResult):
    """Hausman (1978) test of fixed versus random effects.

    ``statistic`` = d' (V_fe - V_re)^+ d with d = b_fe - b_re over the common
    coefficients ``terms``; chi-squared with ``df`` degrees of freedom under H0 (the
    random-effects estimator is consistent).
    """

    terms: tuple = ()
    difference: pd.Series | None = None
    fe_cov_type: str = ""
    re_cov_type: str = ""

    def __str__(self) -> str:
        return (
            f"Hausman test, fixed vs random effects on {', '.join(self.terms)}: "
            f"chi2({self._dfs()[0]:g}) = {self.statistic:.4f}, p = {self.p_value:.4f}"
        )

