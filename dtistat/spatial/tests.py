"""Specification tests for spatial panels: LM (and robust LM) lag/error, LR and Wald of
SDM against SAR and SEM, and the model-selection table papers report.

LM tests (Anselin 1988; Anselin, Bera, Florax & Yoon 1996 for the robust forms; the panel
versions of Anselin, Le Gallo & Jayet 2008 and Elhorst 2014, sec. 3.4) use the residuals
``e`` of OLS on the data demeaned for the fixed effects, ``s2 = e'e / NT``,
``T_W = tr(W'W + W W)`` and ``J = [(W X b)' M (W X b) + T T_W s2] / s2``::

    LM_lag   = (e'(I_T x W) y / s2)^2 / J
    LM_error = (e'(I_T x W) e / s2)^2 / (T T_W)
    robust LM_lag   = (e'Wy/s2 - e'We/s2)^2 / (J - T T_W)
    robust LM_error = (e'We/s2 - T T_W / J e'Wy/s2)^2 / (T T_W (1 - T T_W / J))

The SDM -> SEM Wald test is the common-factor test ``theta + rho beta = 0`` (Burridge
1981), by the delta method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat._results import Result, Summary, TestResult
from dtistat._scale import column_scale, is_constant
from dtistat._validate import check_choice
from dtistat.errors import DataError, EstimationError, ParameterError
from dtistat.spatial.models import (
    _FIXED,
    SpatialPanelResult,
    _demean,
    _lag,
    fit_spatial,
    prepare_panel,
)
from dtistat.spatial.weights import as_weights

__all__ = [
    "ModelSelection",
    "common_factor_test",
    "lm_tests",
    "lr_test",
    "spatial_model_selection",
]


def _lm_stats(e, y, X, WXb, Wy, We, T, trw, s2):
    """The four LM statistics from OLS pieces (all flattened, time-major)."""
    XtXi = np.linalg.inv(X.T @ X)
    r = WXb - X @ (XtXi @ (X.T @ WXb))
    J = (float(r @ r) + T * trw * s2) / s2
    ewy, ewe = float(e @ Wy) / s2, float(e @ We) / s2
    tt = T * trw
    return {"LM lag": ewy ** 2 / J,
            "robust LM lag": (ewy - ewe) ** 2 / (J - tt),
            "LM error": ewe ** 2 / tt,
            "robust LM error": (ewe - tt / J * ewy) ** 2 / (tt * (1 - tt / J))}


def lm_tests(data: pd.DataFrame, y: str, x: Any, *, entity: str, time: str, w: Any,
             fe: str | None = "twoway") -> pd.DataFrame:
    """Panel LM and robust LM tests of a spatial lag and a spatial error.

    Returns
    -------
    DataFrame
        One row per test: ``statistic``, ``df`` (1), ``p_value`` (chi-squared).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from libpysal.weights import lat2W
    >>> w = lat2W(5, 5); w.transform = "r"; W = w.sparse.toarray()
    >>> rng = np.random.default_rng(0); N, T = 25, 6
    >>> X = rng.normal(size=(T, N))
    >>> Y = np.stack([np.linalg.solve(np.eye(N) - 0.6 * W, X[t] + rng.normal(0, .5, N))
    ...               for t in range(T)])
    >>> df = pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(range(T), N),
    ...                    "y": Y.ravel(), "x": X.ravel()})
    >>> lm = lm_tests(df, "y", "x", entity="i", time="t", w=w)
    >>> bool(lm.loc["LM lag", "p_value"] < 0.01)
    True
    """
    check_choice(fe, _FIXED, "fe")
    pdata = prepare_panel(data, y, x, entity=entity, time=time, w=w)
    W = pdata.w.sparse
    T, N = pdata.T, pdata.N
    k = pdata.X.shape[-1]
    X = _demean(pdata.X, fe).reshape(T * N, k)
    yd = _demean(pdata.y, fe).ravel()
    cs = column_scale(X)  # rank and solution free of the regressors' units
    b, _, rank, _ = np.linalg.lstsq(X / cs, yd, rcond=None)
    b = b / cs
    if rank < k:
        raise EstimationError(
            f"the regressors {pdata.names} are collinear or without variation once the "
            f"{fe or 'no'} fixed effects are removed ({T} period(s), {N} entities); the LM "
            f"tests need a full-rank design")
    e = yd - X @ b
    s2 = float(e @ e) / (T * N)
    if is_constant(np.sqrt(s2), np.abs(yd).max()):
        raise DataError(
            f"lm_tests: {y!r} is fitted exactly by {pdata.names} once the {fe or 'no'} fixed "
            "effects are removed (residual variance zero up to rounding); the LM statistics "
            "divide by it: they need an outcome with residual variation")
    Wy = _demean(_lag(W, pdata.y), fe).ravel()
    We = _lag(W, e.reshape(T, N)).ravel()
    # W X b projected off the fixed effects as the LSDV regression would (dummies in M)
    WXb = _demean(_lag(W, (X @ b).reshape(T, N)), fe).ravel()
    trw = float(W.multiply(W).sum() + W.multiply(W.T).sum())
    res = _lm_stats(e, yd, X, WXb, Wy, We, T, trw, s2)
    out = pd.DataFrame({"statistic": res, "df": 1})
    out["p_value"] = stats.chi2.sf(out["statistic"], 1)
    return out


def lr_test(restricted: SpatialPanelResult, unrestricted: SpatialPanelResult) -> TestResult:
    """Likelihood-ratio test of a restricted model (SAR or SEM) against SDM."""
    if unrestricted.nobs != restricted.nobs or unrestricted.fe != restricted.fe or \
            unrestricted.lee_yu != restricted.lee_yu:
        raise ParameterError("LR test: the two models must be fitted to the same data with "
                             "the same fe= and lee_yu=")
    df = len(unrestricted.params) - len(restricted.params)
    if df <= 0:
        raise ParameterError("LR test: the unrestricted model must have more parameters")
    lr = 2 * (unrestricted.loglik - restricted.loglik)
    return TestResult(f"LR {unrestricted.model.upper()} vs {restricted.model.upper()}",
                      float(lr), float(stats.chi2.sf(lr, df)), (df,), "chi2",
                      f"the {restricted.model.upper()} restrictions hold")


def common_factor_test(sdm: SpatialPanelResult) -> TestResult:
    """Wald test of the common-factor restrictions ``theta_k + rho beta_k = 0`` (SDM -> SEM)."""
    if sdm.model != "sdm":
        raise ParameterError("the common-factor test needs an SDM fit")
    names = list(sdm.params.index)
    pairs = [(names.index(d[2:]), names.index(d)) for d in sdm.durbin_names]
    th = sdm.params.to_numpy()
    rho = th[-1]
    g = np.array([th[t] + rho * th[b] for b, t in pairs])
    G = np.zeros((len(pairs), len(th)))
    for r, (b, t) in enumerate(pairs):
        G[r, b], G[r, t], G[r, -1] = rho, 1.0, th[b]
    V = G @ sdm.cov.to_numpy() @ G.T
    stat = float(g @ np.linalg.solve(V, g))
    return TestResult("Wald SDM vs SEM (common factor)", stat,
                      float(stats.chi2.sf(stat, len(g))), (len(g),), "chi2",
                      "theta + rho * beta = 0")


@dataclass(frozen=True, eq=False, repr=False)
class ModelSelection(Result):
    """The specification-test table and the fitted models behind it."""

    table: pd.DataFrame
    models: dict
    choice: str

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        note = (f"Suggested model: {self.choice} (Elhorst 2014, sec. 3.4: SDM unless the "
                "LR/Wald tests fail to reject SAR or SEM).")
        return Summary("Spatial model selection", self.table, notes=[note])

    def _headline(self) -> list[str]:
        return [f"choice={self.choice}"]


def spatial_model_selection(data: pd.DataFrame, y: str, x: Any, *, entity: str, time: str,
                            w: Any, fe: str | None = "twoway", lee_yu: bool = False,
                            level: float = 0.95, hausman: bool = False) -> ModelSelection:
    """Run the usual chain: LM tests, SDM/SAR/SEM fits, Wald and LR of SDM vs SAR and SEM.

    ``hausman=True`` adds the spatial Hausman test of fixed against random individual
    effects in the SDM (:func:`dtistat.spatial_hausman`): with ``fe="entity"`` (or
    ``None``), entity FE (Lee-Yu) against ``fe="random"``; with ``fe="time"`` or
    ``"twoway"``, two-way FE against ``fe="random-time"`` (both Lee-Yu: needs a
    row-standardized W), so that time effects moving with x do not make it reject. The
    two extra fits are in ``models`` as ``"sdm_fe"`` and ``"sdm_re"``. The suggested model
    does not depend on it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from libpysal.weights import lat2W
    >>> w = lat2W(5, 5); w.transform = "r"; W = w.sparse.toarray()
    >>> rng = np.random.default_rng(0); N, T = 25, 8
    >>> X = rng.normal(size=(T, N))
    >>> Y = np.stack([np.linalg.solve(np.eye(N) - 0.5 * W, X[t] + 0.8 * W @ X[t]
    ...               + rng.normal(0, .5, N)) for t in range(T)])
    >>> df = pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(range(T), N),
    ...                    "y": Y.ravel(), "x": X.ravel()})
    >>> spatial_model_selection(df, "y", "x", entity="i", time="t", w=w).choice
    'SDM'
    """
    check_choice(fe, _FIXED, "fe")
    w = as_weights(w)  # one object: the three fits share its eigenvalues
    lm = lm_tests(data, y, x, entity=entity, time=time, w=w, fe=fe)
    kw = {"entity": entity, "time": time, "w": w, "fe": fe, "lee_yu": lee_yu, "level": level}
    sdm = fit_spatial(data, y, x, model="sdm", **kw)
    sar = fit_spatial(data, y, x, model="sar", **kw)
    sem = fit_spatial(data, y, x, model="sem", **kw)
    rows = [(name, r["statistic"], 1, r["p_value"]) for name, r in lm.iterrows()]
    wald_sar = sdm.wald_test(list(sdm.durbin_names))
    cf = common_factor_test(sdm)
    lr_sar, lr_sem = lr_test(sar, sdm), lr_test(sem, sdm)
    for t in (wald_sar, lr_sar, cf, lr_sem):
        name = t.test if t is not wald_sar else "Wald SDM vs SAR (theta = 0)"
        rows.append((name, t.statistic, t.df[0], t.p_value))
    table = pd.DataFrame(rows, columns=["test", "statistic", "df", "p_value"]).set_index("test")
    alpha = 1 - level
    rej_sar = wald_sar.p_value < alpha and lr_sar.p_value < alpha
    rej_sem = cf.p_value < alpha and lr_sem.p_value < alpha
    keep_sar = wald_sar.p_value >= alpha and lr_sar.p_value >= alpha
    keep_sem = cf.p_value >= alpha and lr_sem.p_value >= alpha
    if rej_sar and rej_sem:
        choice = "SDM"
    elif keep_sar and not keep_sem and lm.loc["robust LM lag", "p_value"] < alpha:
        choice = "SAR"
    elif keep_sem and not keep_sar and lm.loc["robust LM error", "p_value"] < alpha:
        choice = "SEM"
    else:
        choice = "SDM"
    models = {"sdm": sdm, "sar": sar, "sem": sem}
    if hausman:
        from dtistat.spatial.random import spatial_hausman

        timed = fe in ("time", "twoway")
        kw.update(fe="twoway" if timed else "entity", lee_yu=True)
        models["sdm_fe"] = fit_spatial(data, y, x, model="sdm", **kw)
        kw.update(fe="random-time" if timed else "random", lee_yu=timed)
        models["sdm_re"] = fit_spatial(data, y, x, model="sdm", **kw)
        h = spatial_hausman(models["sdm_fe"], models["sdm_re"])
        label = ("Hausman SDM (two-way FE vs RE + time FE)" if timed
                 else "Hausman SDM (entity FE vs RE)")
        table.loc[label] = [h.statistic, h.df[0], h.p_value]
    table["reject_at_level"] = table["p_value"] < alpha
    return ModelSelection(table, models, choice)
