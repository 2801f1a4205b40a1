"""Result objects of :func:`dtistat.fit_iv`: second stage, first stages and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dtistat._results import CoefResult, Result, Summary, TableColumn, TestResult

__all__ = ["FirstStageResult", "IVDiagnostics", "IVResult"]


def _stars(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def _fe_rows(fe: str | None) -> dict:
    return {"entity": fe in ("entity", "twoway"), "time": fe in ("time", "twoway")}


def _coef_cells(res: CoefResult, terms: list[str], digits: int = 4) -> dict[str, tuple]:
    est, se, pv = res.params, res.std_errors, res.pvalues
    return {t: (f"{est[t]:.{digits}f}{_stars(pv[t])}", f"({se[t]:.{digits}f})")
            for t in terms if t in est.index}


@dataclass(frozen=True, eq=False, repr=False)
class FirstStageResult(CoefResult):
    """First-stage regression of one endogenous regressor on all instruments.

    Attributes
    ----------
    endog : str
    params, cov : Series, DataFrame
        Coefficients of the included exogenous regressors and excluded instruments, with
        the model's covariance type and small-sample preset.
    partial_r2, shea_r2 : float
        Partial R^2 of the excluded instruments and Shea's (1997) partial R^2.
    f_test, sw_test : TestResult
        Partial F of the excluded instruments and the Sanderson-Windmeijer (2016) F.
    """

    endog: str
    params: pd.Series
    cov: pd.DataFrame
    df_inference: float | None
    level: float
    nobs: int
    instruments: tuple
    partial_r2: float
    shea_r2: float
    f_test: TestResult
    sw_test: TestResult

    def _headline(self) -> list[str]:
        return [self.endog, f"F = {self.f_test.statistic:.3f}",
                f"partial R2 = {self.partial_r2:.4f}"]

    fe: str | None = None
    cluster: str = ""

    def fit_stats(self) -> dict:
        """Model rows: N, the partial F and partial R^2 of the excluded instruments."""
        return {"nobs": self.nobs, "First-stage F": self.f_test.statistic,
                "Partial R2": self.partial_r2}

    def table_columns(self) -> list[TableColumn]:
        """One regression-table column (the first stage, named after the regressor)."""
        return [TableColumn(name=self.endog, coefs=self.tidy(), stats=self.fit_stats(),
                            fixed_effects=_fe_rows(self.fe), cluster=self.cluster,
                            extra={"Stage": "First"}, default_stats=("First-stage F",))]

    def summary(self) -> Summary:
        return Summary(
            f"First stage: {self.endog}", self.coef_table(),
            header=[("Observations", self.nobs), ("Partial R2", self.partial_r2),
                    ("Shea partial R2", self.shea_r2),
                    (f"F{self.f_test._dist_label()[1:]}", self.f_test.statistic),
                    (f"SW F{self.sw_test._dist_label()[1:]}", self.sw_test.statistic)])


@dataclass(frozen=True, eq=False, repr=False)
class IVDiagnostics(Result):
    """Identification, weak-instrument, over-identification and endogeneity statistics.

    Attributes
    ----------
    table : DataFrame
        One row per statistic: ``value``, ``df``, ``p_value``, ``note``.
    tests : dict of str -> TestResult
        The tests of the table (``"kp_lm"``, ``"kp_wald_f"``, ``"cragg_donald_f"``,
        ``"anderson_lm"``, ``"overid"``, ``"anderson_rubin"``, ``"endogeneity"``).
    stock_yogo : dict
        Critical values for this model (``{"size": {...}, "bias": {...}}``).
    ar_set : list of (low, high) or None
        Anderson-Rubin confidence set (one endogenous regressor), a union of intervals.
    weak_statistic : str
        Which F the Stock-Yogo values are compared with (Cragg-Donald when the covariance
        is homoskedastic, else the Kleibergen-Paap rk Wald F, as ivreg2 reports).
    """

    table: pd.DataFrame
    tests: dict
    stock_yogo: dict
    ar_set: list | None
    level: float
    weak_statistic: str
    notes: tuple = ()

    def _headline(self) -> list[str]:
        t = self.tests.get("kp_wald_f") or self.tests["cragg_donald_f"]
        return [f"{t.test} = {t.statistic:.3f}"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        return Summary("IV diagnostics", self.table, notes=list(self.notes))


@dataclass(frozen=True, eq=False, repr=False)
class IVResult(CoefResult):
    """A fitted linear IV model (2SLS, LIML or two-step GMM), with fixed effects absorbed.

    Attributes
    ----------
    params, cov : Series, DataFrame
        Second-stage coefficients (included exogenous, then endogenous regressors).
    df_inference : float or None
        Student's t degrees of freedom of the preset (None = normal).
    first_stage : dict of str -> FirstStageResult
        One first stage per endogenous regressor.
    diagnostics : IVDiagnostics
    estimator, cov_type, small_sample : str
    kappa : float
        k of the k-class estimator (1 for 2SLS, LIML's k for LIML, LIML's k less
        ``fuller / (N - L)`` for Fuller, NaN for GMM).
    liml_kappa : float
        LIML's k (ivreg2's lambda) when ``estimator="liml"``, NaN otherwise.
    fuller : float
        Fuller's alpha (0 = none).
    weights : str or None
        The column of analytic weights, if any.
    nobs, n_singletons, n_dropped_missing : int
    n_absorbed : int
        Absorbed fixed-effect degrees of freedom (beyond the intercept).
    n_clusters : tuple or None
    r2 : float
        1 - SSR / TSS of the (demeaned) dependent variable: the within R^2 when fixed
        effects are absorbed (may be negative for IV).
    warnings : tuple of str
        Weak-instrument and other cautions (also printed by ``summary()``).
    resid : ndarray
        Structural residuals of the estimation arrays: within the fixed effects when they
        are absorbed, and times sqrt(w) (w scaled to mean one) with ``weights``.
    """

    params: pd.Series
    cov: pd.DataFrame
    df_inference: float | None
    level: float
    nobs: int
    y_name: str
    exog: tuple
    endog: tuple
    instruments: tuple
    estimator: str
    cov_type: str
    small_sample: str
    fe: str | None
    first_stage: dict
    diagnostics: IVDiagnostics
    kappa: float
    r2: float
    n_absorbed: int = 0
    n_singletons: int = 0
    n_dropped_missing: int = 0
    n_clusters: tuple | None = None
    resid: np.ndarray | None = field(default=None)
    n_dropped_lags: int = 0
    warnings: tuple = ()
    cluster: str = ""
    fuller: float = 0.0
    liml_kappa: float = float("nan")
    weights: str | None = None

    _kind = "IVResult"

    @property
    def method(self) -> str:
        """The estimator's name as printed: 2SLS, LIML, Fuller(alpha) or GMM."""
        if self.fuller:
            return f"Fuller({self.fuller:g})"
        return self.estimator.upper()

    def _headline(self) -> list[str]:
        e = self.endog[0]
        return [self.method, f"{e} = {self.params[e]:.4g} ({self.std_errors[e]:.3g})",
                f"N = {self.nobs}"]

    def _header(self) -> list[tuple]:
        h = [("Dependent variable", self.y_name), ("Estimator", self.method),
             ("Observations", self.nobs), ("Fixed effects", self.fe or "none"),
             ("Covariance", self.cov_type), ("Small-sample preset", self.small_sample)]
        if self.n_clusters:
            h.append(("Clusters", ", ".join(str(g) for g in self.n_clusters)))
        if self.n_singletons:
            h.append(("Singletons dropped", self.n_singletons))
        if self.n_dropped_missing:
            h.append(("Rows with missing values dropped", self.n_dropped_missing))
        if self.n_dropped_lags:
            h.append(("Rows without the lagged period dropped", self.n_dropped_lags))
        if self.weights is not None:
            h.append(("Analytic weights", self.weights))
        if self.estimator == "liml":
            h.append(("LIML kappa", self.liml_kappa))
        if self.fuller:
            h.append(("Fuller k", self.kappa))
        return h

    def side_by_side(self) -> pd.DataFrame:
        """First stages beside the second stage, coefficient over (standard error)."""
        fs = list(self.first_stage.values())
        cols = [f"First stage: {f.endog}" for f in fs] + [f"Second stage: {self.y_name}"]
        terms = list(self.instruments) + [t for t in self.exog] + list(self.endog)
        rows, idx = [], []
        cells = [_coef_cells(f, terms) for f in fs] + [_coef_cells(self, terms)]
        for t in terms:
            if t == "const":
                continue
            rows.append([c.get(t, ("", ""))[0] for c in cells])
            rows.append([c.get(t, ("", ""))[1] for c in cells])
            idx += [t, ""]
        body = pd.DataFrame(rows, index=idx, columns=cols)
        stats_rows = {
            "Partial F (excluded instruments)": [f"{f.f_test.statistic:.3f}" for f in fs] + [""],
            "Partial R2": [f"{f.partial_r2:.4f}" for f in fs] + [""],
            "Observations": [str(self.nobs)] * len(cols),
        }
        tail = pd.DataFrame(stats_rows, index=cols).T
        return pd.concat([body, tail])

    def summary(self) -> Summary:
        """Chinese-journal layout: first stage(s) beside the second stage, diagnostics below."""
        notes = [(f"Standard errors in parentheses; * p<0.1, ** p<0.05, *** p<0.01 "
                 f"({self.distribution}).")]
        notes += [f"Warning: {w}" for w in self.warnings]
        notes += list(self.diagnostics.notes)
        return Summary(f"IV estimation ({self.method})",
                       {"": self.side_by_side(),
                        "Diagnostics": self.diagnostics.table,
                        "Second stage": self.coef_table()},
                       header=self._header(), notes=notes)

    def fit_stats(self) -> dict:
        """Model rows for a regression table (label -> number): N, R2 and the diagnostics."""
        d = self.diagnostics.tests
        out: dict = {"nobs": self.nobs, "r2": self.r2}
        for key, label in (("kp_lm", "KP rk LM"), ("kp_wald_f", "KP rk Wald F"),
                           ("cragg_donald_f", "Cragg-Donald F")):
            if d.get(key) is not None:
                out[label] = d[key].statistic
        if d.get("overid") is not None:
            out[f"{d['overid'].test} p-value"] = d["overid"].p_value
        sy = self.diagnostics.stock_yogo.get("size", {})
        if 0.10 in sy:
            out["Stock-Yogo 10% size"] = sy[0.10]
        return out

    def table_columns(self) -> list[TableColumn]:
        """Regression-table columns: each first stage, then the second stage.

        The second stage carries the diagnostics of :meth:`fit_stats` as model rows; a
        table with the default ``stats`` shows the first-stage F, the KP rk LM and Wald F
        (robust) or Cragg-Donald F, the over-identification p-value and the Stock-Yogo 10%
        value; pass ``regression_table(..., stats=(...))`` to choose others.
        """
        cols = [c for f in self.first_stage.values() for c in f.table_columns()]
        stats = self.fit_stats()
        rows = ["KP rk LM", "KP rk Wald F", "Cragg-Donald F"]
        rows += [k for k in stats if k.endswith(" p-value")] + ["Stock-Yogo 10% size"]
        cols.append(TableColumn(name=self.y_name, coefs=self.tidy(), stats=stats,
                                fixed_effects=_fe_rows(self.fe), cluster=self.cluster,
                                extra={"Stage": f"Second ({self.method})"},
                                default_stats=tuple(rows)))
        return cols
