"""The result of :func:`dtistat.fit_threshold`: tests, thresholds, LR curves, coefficients."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dtistat._results import CoefResult, Summary
from dtistat.errors import ParameterError

__all__ = ["ThresholdResult"]

_ZH_TEST = {"Single": "单一门槛", "Double": "双重门槛", "Triple": "三重门槛"}
_CURVES = ("Th-1", "Th-21", "Th-22", "Th-3")


@dataclass(frozen=True, eq=False, repr=False)
class ThresholdResult(CoefResult):
    """Hansen (1999) panel threshold regression.

    Attributes
    ----------
    params, cov : Series, DataFrame
        Coefficients of the controls and of the regime variables in each regime
        (``"c [q<=0.0157]"``, ``"c [0.0157<q<=0.5362]"``, ``"c [q>0.5362]"``) with their
        covariance (``cov_type`` with the ``small_sample`` preset).
    thresholds : DataFrame
        Rows ``Th-1`` (single), ``Th-21``/``Th-22`` (double: γ1 refined given γ2, γ2 given
        γ1), ``Th-3``; columns ``estimate``, ``ci_low``, ``ci_high`` (the LR inversion
        {γ: LR(γ) <= c(level)} on the grid) and ``ssr``.
    tests : DataFrame
        Rows ``Single``/``Double``/``Triple``; columns ``ssr``, ``mse``, ``F``,
        ``p_value``, ``crit10``, ``crit5``, ``crit1``, ``n_boot``.
    estimates : tuple of float
        The thresholds of the fitted model, ascending.
    lr_curves : dict
        Curve name -> DataFrame ``gamma, ssr, lr`` (admissible grid points).
    boot_F : dict
        Test name -> bootstrap draws of F.
    lr_critical : float
        ``-2 ln(1 - sqrt(level))`` (7.3523 at 0.95).
    """

    params: pd.Series
    cov: pd.DataFrame
    df_inference: float | None
    level: float
    nobs: int
    n_entities: int
    n_periods: int
    thresholds: pd.DataFrame
    tests: pd.DataFrame
    estimates: tuple
    lr_curves: dict = field(repr=False)
    boot_F: dict = field(repr=False)
    lr_critical: float = 7.352276
    threshold_var: str = "q"
    regime_vars: tuple = ()
    controls: tuple = ()
    cov_type: str = "cluster"
    small_sample: str = "stata"
    grid: str = ""
    trim: tuple = ()
    transform: str = "within"
    r2_within: float = float("nan")
    fe: str = "entity"

    _kind = "ThresholdResult"

    # ----------------------------------------------------------------- accessors
    def lr_curve(self, k: int | str = 1) -> pd.DataFrame:
        """LR(γ) over the grid: ``1`` (single), ``2``/``"Th-22"`` (γ2 given γ1),
        ``"Th-21"`` (γ1 given γ2), ``3`` (γ3); columns ``gamma, ssr, lr``."""
        ok = isinstance(k, (int, str)) and not isinstance(k, bool)
        key = {1: "Th-1", 2: "Th-22", 3: "Th-3"}.get(k, k) if ok else None
        if key not in self.lr_curves:
            raise ParameterError(f"lr_curve: {k!r} is not a fitted curve; available: "
                                 f"{', '.join(self.lr_curves)} (or 1, 2, 3)")
        return self.lr_curves[key].copy()

    def regimes(self) -> pd.DataFrame:
        """The regimes of the fitted model: lower and upper bounds (q in (lower, upper])."""
        b = [-np.inf, *self.estimates, np.inf]
        return pd.DataFrame({"lower": b[:-1], "upper": b[1:]},
                            index=pd.RangeIndex(1, len(b), name="regime"))

    # ----------------------------------------------------------------- protocol
    def _headline(self) -> list[str]:
        th = ", ".join(f"{g:.4g}" for g in self.estimates)
        out = [f"{len(self.estimates)} threshold(s) in {self.threshold_var} at {th}"]
        t = self.tests
        last = t.index[-1]
        if np.isfinite(t.loc[last, "p_value"]):
            out.append(f"{last} F = {t.loc[last, 'F']:.2f} (p = {t.loc[last, 'p_value']:.3f})")
        out.append(f"nobs={self.nobs}")
        return out

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table (:meth:`tidy`)."""
        return self.tidy()

    def summary(self, lang: str = "zh") -> Summary:
        """Tests, threshold estimates and coefficients in the layout of Chinese journals.

        ``lang="zh"`` labels the tables 门槛效应检验 / 门槛估计值 as such papers do;
        ``lang="en"`` uses English labels.
        """
        if lang not in ("zh", "en"):
            raise ParameterError(f"lang={lang!r}: choose 'zh' or 'en'")
        zh = lang == "zh"
        pct = f"{self.level:.0%}"
        tests = self.tests[["F", "p_value", "crit10", "crit5", "crit1", "n_boot"]].copy()
        th = self.thresholds[["estimate", "ci_low", "ci_high"]].copy()
        coefs = self.coef_table()
        if zh:
            tests.index = [_ZH_TEST[i] for i in tests.index]
            tests.columns = ["F值", "P值", "10%临界值", "5%临界值", "1%临界值", "BS次数"]
            th.columns = ["门槛估计值", f"{pct}置信区间下限", f"{pct}置信区间上限"]
            names = {"tests": "门槛效应检验", "thresholds": "门槛估计值",
                     "coef": "门槛模型回归结果"}
        else:
            tests.columns = ["F", "p-value", "crit 10%", "crit 5%", "crit 1%", "draws"]
            th.columns = ["estimate", f"{pct} CI low", f"{pct} CI high"]
            names = {"tests": "Threshold effect tests", "thresholds": "Threshold estimates",
                     "coef": "Coefficients"}
        header = [("Observations", self.nobs), ("Entities", self.n_entities),
                  ("Periods", self.n_periods), ("Threshold variable", self.threshold_var),
                  ("Regime-dependent", ", ".join(self.regime_vars)),
                  ("Fixed effects", self.fe), ("Grid", self.grid),
                  ("Trim", ", ".join(f"{t:g}" for t in self.trim)),
                  ("Covariance", f"{self.cov_type} ({self.small_sample})"),
                  ("R2 (within)", self.r2_within)]
        notes = [(f"Regime rule: q <= γ lies in the lower regime. LR(γ) <= "
                  f"{self.lr_critical:.4f} = -2 ln(1 - sqrt({self.level:g})) gives the {pct} "
                  "interval; F and LR use σ² = S / (n (T-1)) (Hansen 1999). p-values: "
                  "fixed-regressor residual bootstrap.")]
        if self.transform != "within":
            notes.append("One period deleted per entity after demeaning (Hansen 1999).")
        return Summary("Panel threshold regression (Hansen 1999)",
                       {names["tests"]: tests, names["thresholds"]: th, names["coef"]: coefs},
                       header=header, notes=notes)

    # ----------------------------------------------------------------- figure
    def plot_lr(self, curves=None, *, ax=None):
        """LR(γ) curves with the critical value line (one panel per curve).

        Parameters
        ----------
        curves : list, optional
            Curve names (default: every fitted one).
        ax : matplotlib Axes or array of Axes, optional
        """
        from dtistat._plotting import check_ax, pick_label, pyplot

        given = [curves] if isinstance(curves, (int, str)) else curves
        if curves is not None and not isinstance(given, (list, tuple)):
            raise ParameterError(f"plot_lr: curves must be a list of curve names, got "
                                 f"{curves!r}")
        keys = list(self.lr_curves) if curves is None else [
            {1: "Th-1", 2: "Th-22", 3: "Th-3"}.get(c, c)
            if isinstance(c, (int, str)) and not isinstance(c, bool) else None for c in given]
        for k in keys:
            if k not in self.lr_curves:
                raise ParameterError(f"plot_lr: {k!r} is not a fitted curve; available: "
                                     f"{', '.join(self.lr_curves)}")
        check_ax(ax, many=True)
        plt = pyplot()
        if ax is None:
            fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4),
                                     squeeze=False)
            axes = axes[0]
        else:
            axes = np.atleast_1d(ax)
            fig = axes[0].figure
        est = self.thresholds["estimate"]
        for a, k in zip(axes, keys):
            c = self.lr_curves[k]
            a.plot(c["gamma"], c["lr"], color="#1f4e79", lw=1.2)
            a.axhline(self.lr_critical, color="#c00000", ls="--", lw=1,
                      label=pick_label(f"临界值 {self.lr_critical:.2f}",
                                       f"critical value {self.lr_critical:.2f}"))
            a.axvline(est[k], color="0.5", lw=0.8, ls=":")
            a.set_title(f"{k}: γ = {est[k]:.4g}")
            a.set_xlabel(pick_label(f"门槛变量 {self.threshold_var}",
                                    f"Threshold {self.threshold_var}"))
            a.set_ylabel(pick_label("似然比统计量 LR", "LR statistic"))
            if ax is not None:  # the caller's axes: a legend inside, where it hides least
                a.legend(loc="best", fontsize=8)
        if ax is None:  # one legend below the panels, never over a curve
            fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center",
                       fontsize=8, frameon=False)
            fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))
        else:
            fig.tight_layout()
        return fig
