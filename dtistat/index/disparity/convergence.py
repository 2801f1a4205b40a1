"""Sigma and beta convergence: dispersion over time, and catch-up regressions with speed.

* sigma convergence: per period, the standard deviation of logs ``sd(ln y)`` and the
  coefficient of variation ``sd(y) / mean(y)`` (``ddof=0`` by default, the population
  form of Sala-i-Martin 1996, Economic Journal 106:1019-1036); falling values = sigma
  convergence.
* beta convergence, cross-section (Barro & Sala-i-Martin 1992, JPE 100:223-251):
  ``ln(y_iT / y_i0) / tau = a + b ln y_i0 [+ controls_i0] + e_i`` over ``tau`` periods;
  the speed is ``theta = -ln(1 + b tau) / tau`` and the half-life ``ln 2 / theta``.
  Absolute without controls, conditional with them. OLS with the covariance of
  :func:`dtistat.inference.sandwich`.
* beta convergence, panel: ``ln y_it - ln y_i,t-1 = b ln y_i,t-1 [+ controls_i,t-1]
  + mu_i + eta_t + e_it`` by :func:`dtistat.fit_panel` (two-way fixed effects by
  default); ``theta = -ln(1 + b)`` per period.
* spatial beta convergence (``w=``): the same regressions with a spatial lag of growth
  and of the regressors (SDM, Elhorst, Piras & Arbia 2010, *J. Regional Science* 50;
  Rey & Montouri 1999, *Regional Studies* 33, for SAR/SEM cross-sections) by
  :func:`dtistat.fit_spatial` (ML); ``b`` is the coefficient on the own initial level.

Values must be strictly positive (logs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._results import CoefResult, Result, Summary
from dtistat._scale import column_scale
from dtistat.errors import DataError, EstimationError
from dtistat.index.disparity._data import as_panel, check_values, wide

__all__ = ["BetaResult", "SigmaResult", "beta_convergence", "sigma_convergence", "speed"]


def speed(beta: float, tau: float = 1.0) -> tuple[float, float]:
    """Convergence speed ``theta = -ln(1 + beta tau) / tau`` and half-life ``ln 2 / theta``.

    ``beta`` is the per-period coefficient of the growth regression over ``tau``
    periods. A negative ``theta`` (``beta > 0``) is divergence: the half-life is then
    NaN, as are both when ``1 + beta tau <= 0`` (overshooting: no speed is defined).

    Examples
    --------
    >>> [round(x, 4) for x in speed(-0.02, 10)]
    [0.0223, 31.0628]
    """
    a = 1.0 + beta * tau
    if a <= 0:
        return float("nan"), float("nan")
    theta = float(-np.log(a) / tau)
    return theta, (float(np.log(2) / theta) if theta > 0 else float("nan"))


# ---------------------------------------------------------------- sigma
@dataclass(frozen=True, eq=False, repr=False)
class SigmaResult(Result):
    """Sigma convergence: dispersion per period (``table``: n, mean, sd, cv, sd_log)."""

    table: pd.DataFrame
    value: str
    ddof: int
    _kind = "SigmaConvergence"

    def _headline(self) -> list[str]:
        t = self.table
        return [self.value, f"sd_log {t['sd_log'].iloc[0]:.4f} -> {t['sd_log'].iloc[-1]:.4f}",
                f"cv {t['cv'].iloc[0]:.4f} -> {t['cv'].iloc[-1]:.4f}"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        return Summary(f"Sigma convergence of {self.value}", self.table,
                       header=[("ddof", self.ddof)],
                       notes=["Falling sd_log / cv over time indicates sigma convergence."])


def sigma_convergence(data: Any, *, value: str | None = None, entity: str | None = None,
                      time: str | None = None, ddof: int = 0) -> SigmaResult:
    """Standard deviation of logs and coefficient of variation per period.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"e": [1, 2, 1, 2], "t": [0, 0, 1, 1], "y": [1.0, 4, 2, 3]})
    >>> sigma_convergence(df, value="y", entity="e", time="t").table["cv"].round(4).tolist()
    [0.6, 0.2]
    """
    ddof = v.check_positive_int(ddof, "ddof", minimum=0)
    p = as_panel(data, value=value, entity=entity, time=time)
    check_values(p, "sigma convergence (logs)", zeros=False, min_units=ddof + 2)
    rows = []
    for t, sub in p.by_period():
        y = sub["_value"].to_numpy()
        c = float(column_scale(y)[0])  # exact power of two: no overflow of y² near 1e300
        ys = y / c
        rows.append((t, y.size, y.mean(), c * ys.std(ddof=ddof),
                     ys.std(ddof=ddof) / ys.mean(), np.log(y).std(ddof=ddof)))
    tab = pd.DataFrame([r[1:] for r in rows], columns=["n", "mean", "sd", "cv", "sd_log"],
                       index=pd.Index([r[0] for r in rows], name=p.time or "period"))
    return SigmaResult(table=tab, value=p.value, ddof=ddof)


# ---------------------------------------------------------------- beta
@dataclass(frozen=True, eq=False, repr=False)
class BetaResult(CoefResult):
    """Beta convergence regression with speed and half-life.

    Attributes
    ----------
    params, cov : Series, DataFrame
        Coefficients (``beta`` is the one on the initial log level) and covariance.
    beta, theta, half_life : float
        Convergence coefficient, speed per period and half-life in periods.
    kind : {"absolute", "conditional"}
    model : {"cross-section", "panel"}
    tau : float
        Periods spanned by the growth rate (1 in the panel form).
    """

    params: pd.Series
    cov: pd.DataFrame
    df_inference: float | None
    level: float
    nobs: int
    beta: float
    theta: float
    half_life: float
    kind: str
    model: str
    fe: str | None
    cov_type: str
    tau: float
    value: str
    spatial: Any = field(default=None, repr=False)
    _kind = "BetaConvergence"

    def _headline(self) -> list[str]:
        return [f"{self.kind} {self.model}", f"beta={self.beta:.4f}",
                f"theta={self.theta:.4f}", f"half-life={self.half_life:.2f}", f"N={self.nobs}"]

    def summary(self) -> Summary:
        notes = [(f"theta = -ln(1 + beta*tau)/tau with tau = {self.tau:g}; "
                  "half-life = ln 2 / theta (periods).")]
        if not np.isfinite(self.theta):
            notes.append("1 + beta*tau <= 0: no convergence speed is defined.")
        elif self.theta <= 0:
            notes.append("beta >= 0: no beta convergence (theta <= 0 is divergence); "
                         "the half-life is not defined.")
        return Summary(f"Beta convergence of {self.value} ({self.kind}, {self.model})",
                       self.coef_table(),
                       header=[("Observations", self.nobs), ("beta", self.beta),
                               ("theta", self.theta), ("Half-life", self.half_life),
                               ("Fixed effects", self.fe or "none"), ("Covariance", self.cov_type)],
                       notes=notes)


def _long(data, value, entity, time, controls):
    """Balanced wide frames of the value and each control (entity x period)."""
    controls = v.as_list(controls, "controls")
    out = {}
    for name in [value, *controls]:
        # with an IndexResult a control names another node (IndexResult.node checks it)
        p = as_panel(data, value=name, entity=entity, time=time, need_time=True)
        if name is value or name == value:
            check_values(p, "beta convergence (logs)", zeros=False)
            vname = p.value
        out[p.value] = wide(p)
    first = out[vname]
    if first.shape[1] < 2:
        raise DataError("beta convergence needs at least two periods")
    return vname, out, [c for c in out if c != vname]


def beta_convergence(data: Any, *, value: str | None = None, entity: str | None = None,
                     time: str | None = None, controls: Any = None,
                     model: str = "cross-section", fe: str | None = "twoway",
                     cov: str = "robust", small_sample: str = "stata",
                     level: float = 0.95, w: Any = None,
                     spatial_model: str = "sdm") -> BetaResult:
    """Absolute (no controls) or conditional beta convergence, with speed and half-life.

    Parameters
    ----------
    data : IndexResult or DataFrame
        A balanced long panel (strictly positive values).
    controls : list of str, optional
        Conditioning variables (columns, or index nodes); their first-period values
        (cross-section) or lagged values (panel) enter the regression.
    model : {"cross-section", "panel"}
        Growth from the first to the last period on the initial level (OLS), or
        period growth on the lagged level by :func:`dtistat.fit_panel`.
    fe : {"twoway", "entity", "time", None}
        Fixed effects of the panel form (``None``: pooled OLS).
    cov, small_sample : str
        As everywhere in dtistat (:func:`dtistat.inference.sandwich`); default
        heteroskedasticity-robust; in the panel form ``cov="cluster"`` clusters by entity.
    w : SpatialWeights, libpysal W or square array, optional
        Spatial beta convergence: the regression becomes a spatial model of
        :func:`dtistat.fit_spatial` (``spatial_model="sdm"``, ``"sar"``, ``"sem"``,
        ``"sac"`` or ``"sdem"``) estimated by ML with the fixed effects ``fe`` (panel) or
        an intercept (cross-section); W's ids must be the entities. Standard errors come
        from the information matrix (``cov`` is not used); ``spatial`` holds the fit
        (its ``effects()`` give the direct and spillover effects of the initial level).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> y0 = rng.uniform(1, 5, 40)
    >>> yT = np.exp(0.5 * np.log(y0) + rng.normal(0, 0.01, 40))
    >>> df = pd.DataFrame({"e": np.tile(range(40), 2), "t": np.repeat([0, 1], 40),
    ...                    "y": np.r_[y0, yT]})
    >>> r = beta_convergence(df, value="y", entity="e", time="t")
    >>> round(r.beta, 2), round(r.theta, 2)
    (-0.5, 0.69)
    """
    v.check_choice(model, ("cross-section", "panel"), "model")
    v.check_choice(fe, ("twoway", "entity", "time", None), "fe")
    level = v.check_level(level)
    vname, wides, ctrl = _long(data, value, entity, time, controls)
    kind = "conditional" if ctrl else "absolute"
    if w is not None:
        v.check_choice(spatial_model, ("sdm", "sar", "sem", "sac", "sdem"), "spatial_model")
        return _spatial(vname, wides, ctrl, kind, model, fe, w, spatial_model, level)
    if model == "cross-section":
        return _cross_section(vname, wides, ctrl, kind, cov, small_sample, level)
    return _panel(vname, wides, ctrl, kind, fe, cov, small_sample, level)


def _cross_section(vname, wides, ctrl, kind, cov, small_sample, level) -> BetaResult:
    from dtistat.inference import sandwich

    Y = wides[vname].to_numpy()
    tau = float(Y.shape[1] - 1)
    g = np.log(Y[:, -1] / Y[:, 0]) / tau
    names = ["const", f"ln_{vname}_0", *ctrl]
    X = np.column_stack([np.ones(Y.shape[0]), np.log(Y[:, 0]),
                         *[wides[c].to_numpy()[:, 0] for c in ctrl]])
    if X.shape[0] <= X.shape[1]:
        raise DataError(f"{X.shape[0]} units for {X.shape[1]} coefficients: too few units")
    XtX = X.T @ X
    if np.linalg.matrix_rank(XtX) < X.shape[1]:
        raise EstimationError("the convergence regressors are collinear (a constant control?)")
    bread = np.linalg.inv(XtX)
    b = bread @ X.T @ g
    e = g - X @ b
    ce = sandwich(X, e, bread, cov=cov, small_sample=small_sample)
    theta, hl = speed(float(b[1]), tau)
    return BetaResult(params=pd.Series(b, index=names), cov=pd.DataFrame(ce.cov, names, names),
                      df_inference=ce.df_inference, level=level, nobs=int(X.shape[0]),
                      beta=float(b[1]), theta=theta, half_life=hl, kind=kind,
                      model="cross-section", fe=None, cov_type=ce.kind, tau=tau, value=vname)


def _panel(vname, wides, ctrl, kind, fe, cov, small_sample, level) -> BetaResult:
    from dtistat.panel import fit_panel

    L = np.log(wides[vname].to_numpy())
    n, T = L.shape
    lag = f"ln_{vname}_lag"
    df = pd.DataFrame({"entity": np.repeat(np.arange(n), T - 1),
                       "period": np.tile(np.arange(1, T), n),
                       "growth": (L[:, 1:] - L[:, :-1]).ravel(), lag: L[:, :-1].ravel()})
    safe = {}
    for j, c in enumerate(ctrl):
        safe[c] = f"control_{j}"
        df[safe[c]] = wides[c].to_numpy()[:, :-1].ravel()
    formula = "growth ~ " + " + ".join([lag, *safe.values()])
    model = "pooled" if fe is None else "within"
    r = fit_panel(df, formula, entity="entity", time="period", model=model,
                  fe=fe or "entity", cov=cov, small_sample=small_sample, level=level)
    back = {s: c for c, s in safe.items()}
    params = r.params.rename(index=lambda s: back.get(s, s))
    covm = r.cov.rename(index=lambda s: back.get(s, s), columns=lambda s: back.get(s, s))
    beta = float(params[lag])
    theta, hl = speed(beta, 1.0)
    return BetaResult(params=params, cov=covm, df_inference=r.df_inference, level=level,
                      nobs=int(r.nobs), beta=beta, theta=theta, half_life=hl, kind=kind,
                      model="panel", fe=fe, cov_type=r.cov_type, tau=1.0, value=vname)


def _spatial(vname, wides, ctrl, kind, model, fe, w, spatial_model, level) -> BetaResult:
    """Spatial beta convergence by :func:`dtistat.fit_spatial`."""
    from dtistat.spatial import fit_spatial

    Y = wides[vname]
    L = np.log(Y.to_numpy())
    n, T = L.shape
    ents = Y.index
    if model == "cross-section":
        tau = float(T - 1)
        lag = f"ln_{vname}_0"
        df = pd.DataFrame({"entity": ents, "period": 0, "growth": (L[:, -1] - L[:, 0]) / tau,
                           lag: L[:, 0]})
        cols = {c: wides[c].to_numpy()[:, 0] for c in ctrl}
        fe = None
    else:
        tau = 1.0
        lag = f"ln_{vname}_lag"
        df = pd.DataFrame({"entity": np.repeat(ents, T - 1), "period": np.tile(np.arange(1, T), n),
                           "growth": (L[:, 1:] - L[:, :-1]).ravel(), lag: L[:, :-1].ravel()})
        cols = {c: wides[c].to_numpy()[:, :-1].ravel() for c in ctrl}
    safe = {f"control_{j}": c for j, c in enumerate(ctrl)}
    for s_, c in safe.items():
        df[s_] = cols[c]
    r = fit_spatial(df, "growth", [lag, *safe], entity="entity", time="period", w=w,
                    model=spatial_model, fe=fe, level=level)

    def back(s_):
        if s_.startswith("W*") and s_[2:] in safe:
            return "W*" + safe[s_[2:]]
        return safe.get(s_, s_)

    params = r.params.rename(index=back)
    covm = r.cov.rename(index=back, columns=back)
    beta = float(params[lag])
    theta, hl = speed(beta, tau)
    return BetaResult(params=params, cov=covm, df_inference=None, level=level,
                      nobs=int(r.nobs), beta=beta, theta=theta, half_life=hl, kind=kind,
                      model=f"{model} {spatial_model.upper()}", fe=fe,
                      cov_type="ML information matrix", tau=tau, value=vname, spatial=r)
