"""``fit_did``: one entry point for the staggered difference-in-differences estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dtistat._scale import check_magnitude
from dtistat._validate import (
    as_list,
    check_choice,
    check_frame,
    check_level,
    check_positive_int,
    check_real,
    check_seed,
)
from dtistat.did._data import prepare_panel
from dtistat.did.aggregate import aggregate_all
from dtistat.did.bootstrap import (
    analytic_se,
    bootstrap_se,
    cluster_sums,
    multiplier_bootstrap,
    uniform_critical,
)
from dtistat.did.cs import group_time_effects
from dtistat.did.results import AggregateResult, CSResult
from dtistat.errors import ParameterError
from dtistat.inference import critical_value

__all__ = ["fit_did"]

ESTIMATORS = ("cs", "twfe", "event", "sa", "imputation")


def fit_did(
    data: pd.DataFrame,
    *,
    y: str,
    treat_time: str,
    entity: str | None,
    time: str,
    covariates: str | list | None = None,
    estimator: str = "cs",
    control: str = "never",
    method: str = "reg",
    cluster: str | None = None,
    n_boot: int = 999,
    seed=None,
    level: float = 0.95,
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    small_sample: str = "stata",
    anticipation: float = 0,
    base_period: str = "varying",
    weights: str | None = None,
    allow_unbalanced: bool = False,
    panel: bool = True,
):
    """Difference in differences for staggered adoption.

    Parameters
    ----------
    data : DataFrame
        Long panel, one row per entity x period (never modified); balanced unless
        ``allow_unbalanced``.
    y : str
        Outcome column.
    treat_time : str
        First treated period of the unit, constant within the unit; 0 or missing for
        never-treated units. Treatment is absorbing (see
        :func:`dtistat.did.first_treated` to build it from a 0/1 dummy).
    entity, time : str
        Unit and period columns (periods are numbers, e.g. years); ``entity`` may be
        None with ``panel=False``.
    covariates : str or list, optional
        ``"cs"``: covariates fixed within units (pre-treatment characteristics).
        ``"twfe"``/``"event"``: time-varying controls added to the regression.
    estimator : {"cs", "twfe", "event", "sa", "imputation"}
        Callaway and Sant'Anna (2021); static two-way fixed effects; the TWFE event
        study (leads and lags); the Sun and Abraham (2021) interaction-weighted event
        study; the Borusyak, Jaravel and Spiess (2024) imputation estimator.
    control : {"never", "notyet"}
        Comparison units of ``"cs"``.
    method : {"reg", "ipw", "dr"}
        2x2 estimator of ``"cs"``: outcome regression, inverse probability weighting,
        doubly robust.
    cluster : str, optional
        Cluster column (constant within units; default: the entity).
    n_boot : int
        Multiplier-bootstrap draws of ``"cs"`` (0 = influence-function standard
        errors and pointwise intervals only).
    seed : int or numpy Generator, optional
    level : float
        Confidence level of intervals and uniform bands.
    leads, lags : int, optional
        Event window of ``"event"``: event times below ``-leads`` and above ``lags`` are
        binned into the endpoints (default: the whole window, no binning).
    reference : int
        Omitted event time of ``"event"`` and ``"sa"`` (default -1).
    small_sample : str
        Small-sample convention of the clustered covariance of the regression
        estimators (:func:`dtistat.panel.fit_panel`).
    anticipation : float
        ``"cs"``: periods (units of ``time``) before treatment in which outcomes may
        already respond (R ``did``'s ``anticipation``). The base period of cohort g
        becomes the last period before ``g - anticipation``, not-yet-treated comparison
        units must be untreated by ``t + anticipation``, and units first treated by
        the first period + ``anticipation`` are refused.
    base_period : {"varying", "universal"}
        ``"cs"``: pre-treatment cells compare t with t - 1 (``"varying"``) or with the
        cohort's base period ``g - anticipation - 1`` (``"universal"``, whose event
        study has a normalized zero there). Post-treatment cells are the same.
    weights : str, optional
        ``"cs"``: sampling weights, non-negative and constant within units (R ``did``'s
        ``weightsname``), used in every ATT(g,t), the cohort shares of the
        aggregations and so in the multiplier bootstrap.
    allow_unbalanced : bool
        ``"cs"``: accept an unbalanced panel and estimate each ATT(g,t) from the rows
        observed in its two periods as two cross sections (R ``did``'s
        ``allow_unbalanced_panel=TRUE``; DRDID's repeated-cross-section estimators,
        influence functions summed within units). A balanced panel is unaffected.
        Default: an unbalanced panel is refused naming a unit with missing periods.
    panel : bool
        ``"cs"``: False for repeated cross sections (R ``did``'s ``panel=FALSE``): every
        row is its own observation, ``entity`` is not used (may be None) and each cell
        compares the rows of its two periods.

    Returns
    -------
    CSResult, TWFEResult or EventStudyResult
        ``"event"``, ``"sa"`` and ``"imputation"`` return event studies; imputation's
        overall ATT is in ``overall`` / ``overall_se``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n, years = 60, np.arange(2010, 2016)
    >>> g = np.repeat([2012, 2014, 0], n // 3)
    >>> df = pd.DataFrame({"city": np.repeat(np.arange(n), 6), "year": np.tile(years, n),
    ...                    "g": np.repeat(g, 6)})
    >>> df["y"] = (rng.normal(size=len(df)) * 0.1
    ...            + 1.0 * ((df.g > 0) & (df.year >= df.g)))
    >>> res = fit_did(df, y="y", treat_time="g", entity="city", time="year", seed=1)
    >>> round(res.att, 1)
    1.0
    """
    check_choice(estimator, ESTIMATORS, "estimator")
    level = check_level(level)
    check_did_magnitude(data, [y, *as_list(covariates, "covariates")], "fit_did")
    if estimator == "cs":
        return _fit_cs(data, y=y, treat_time=treat_time, entity=entity, time=time,
                       covariates=covariates, control=control, method=method,
                       cluster=cluster, n_boot=n_boot, seed=seed, level=level,
                       anticipation=anticipation, base_period=base_period, weights=weights,
                       allow_unbalanced=allow_unbalanced, panel=panel)
    for name, value, default in (("anticipation", anticipation, 0),
                                 ("base_period", base_period, "varying"),
                                 ("weights", weights, None),
                                 ("allow_unbalanced", allow_unbalanced, False),
                                 ("panel", panel, True)):
        if not (value is default or value == default):
            raise ParameterError(f"{name}={value!r} is an option of estimator='cs' only; "
                                 f"estimator={estimator!r} does not take it")
    from dtistat.did import imputation, sa, twfe
    if estimator == "imputation":
        return imputation.fit_imputation(data, y=y, treat_time=treat_time, entity=entity,
                                         time=time, cluster=cluster, level=level)
    if estimator == "twfe":
        return twfe.fit_twfe(data, y=y, treat_time=treat_time, entity=entity, time=time,
                             covariates=covariates, cluster=cluster, level=level,
                             small_sample=small_sample)
    if estimator == "event":
        return twfe.fit_event_study(data, y=y, treat_time=treat_time, entity=entity,
                                    time=time, covariates=covariates, cluster=cluster,
                                    leads=leads, lags=lags, reference=reference,
                                    level=level, small_sample=small_sample)
    return sa.fit_sun_abraham(data, y=y, treat_time=treat_time, entity=entity, time=time,
                              covariates=covariates, cluster=cluster, reference=reference,
                              level=level, small_sample=small_sample)


def _fit_cs(data, *, y, treat_time, entity, time, covariates, control, method, cluster,
            n_boot, seed, level, anticipation, base_period, weights,
            allow_unbalanced, panel) -> CSResult:
    check_choice(control, ("never", "notyet"), "control")
    check_choice(method, ("reg", "ipw", "dr"), "method")
    check_choice(base_period, ("varying", "universal"), "base_period")
    check_choice(allow_unbalanced, (True, False), "allow_unbalanced")
    check_choice(panel, (True, False), "panel")
    if panel and entity is None:
        raise ParameterError("entity=None: name the unit column, or pass panel=False for "
                             "repeated cross sections")
    if not panel:  # repeated cross sections: each row its own unit
        data = check_frame(data)
        entity = "_row"
        while entity in data.columns:
            entity += "_"
        data = data.assign(**{entity: np.arange(len(data))})
        allow_unbalanced = True
    anticipation = check_real(anticipation, "anticipation", minimum=0)
    n_boot = check_positive_int(n_boot, "n_boot", minimum=0)
    rng = check_seed(seed)
    sp = prepare_panel(data, y=y, treat_time=treat_time, entity=entity, time=time,
                       covariates=as_list(covariates, "covariates"),
                       cluster=cluster if cluster != entity else None,
                       weights=weights, anticipation=anticipation,
                       allow_unbalanced=allow_unbalanced)
    gt = group_time_effects(sp, control=control, method=method,
                            anticipation=anticipation, base_period=base_period)
    aggs = aggregate_all(gt, sp.G, sp.W)
    # every estimate's influence function side by side: one bootstrap serves them all
    blocks = [("cells", gt.inf)] + [(k, np.column_stack([a.inf, a.overall_inf]))
                                    for k, a in aggs.items()]
    inf = np.column_stack([b for _, b in blocks])
    se_an = analytic_se(inf, sp.cluster)
    if n_boot:
        draws = multiplier_bootstrap(inf, n_boot, rng, sp.cluster)
        se_all = bootstrap_se(draws)
    else:
        draws, se_all = None, se_an
    out, pos = {}, 0
    for name, b in blocks:
        k = b.shape[1]
        sl = slice(pos, pos + k)
        # the uniform band covers the block's estimates, not its overall average
        m = k if name == "cells" else k - 1
        crit = (uniform_critical(draws[:, pos:pos + m], se_all[pos:pos + m], level)
                if n_boot else None)
        out[name] = (se_all[sl], crit)
        pos += k
    S = cluster_sums(gt.inf, sp.cluster)
    n = sp.n
    labels = [f"ATT({g:g},{t:g})" for g, t in zip(gt.group, gt.time)]
    se_cells, crit = out["cells"]
    # the universal base period is a normalization, not an estimate: a zero row in
    # the event study at e = -1 - anticipation (R did's aggte reports it with att 0)
    ref = (-1.0 - anticipation,) if base_period == "universal" else ()
    aggregates = {k: _aggregate_result(a, out[k][0], out[k][1], cluster_sums(
        a.inf, sp.cluster), n, level, ref if k == "dynamic" else ())
        for k, a in aggs.items()}
    att_gt = _att_gt_frame(gt, labels, se_cells, crit, level)
    return CSResult(
        params=pd.Series(gt.att, index=labels, name="estimate"),
        cov=pd.DataFrame(S.T @ S / n**2, index=labels, columns=labels),
        se=pd.Series(se_cells, index=labels), att_gt=att_gt, aggregates=aggregates,
        crit=crit, control=control, method=method, n_boot=n_boot, n_units=n,
        n_periods=len(sp.times), level=level,
        nobs=int(sp.Y.size if sp.observed is None else sp.observed.sum()),
        influence=gt.inf, anticipation=anticipation, base_period=base_period,
        weights=weights, unbalanced=sp.observed is not None)


def _att_gt_frame(gt, labels, se, crit, level) -> pd.DataFrame:
    z = critical_value(level, None)
    c = z if crit is None else crit
    return pd.DataFrame({
        "group": gt.group, "time": gt.time, "base": gt.base, "event_time": gt.time - gt.group,
        "post": gt.time >= gt.group, "att": gt.att, "std_error": se,
        "ci_low": gt.att - z * se, "ci_high": gt.att + z * se,
        "band_low": gt.att - c * se, "band_high": gt.att + c * se,
        "n_treated": gt.n_treated, "n_control": gt.n_control}, index=labels)


def _aggregate_result(a, se, crit, S, n, level, reference=()) -> AggregateResult:
    keys = a.keys
    labels = [str(k) if isinstance(k, str) else f"{k:g}" for k in keys]
    return AggregateResult(
        kind=a.kind, params=pd.Series(a.att, index=labels, name="estimate"),
        cov=pd.DataFrame(S.T @ S / n**2, index=labels, columns=labels),
        se=pd.Series(se[:-1], index=labels), keys=keys, overall=a.overall,
        overall_se=float(se[-1]), crit=crit, level=level, nobs=n, reference=reference)


def check_did_magnitude(data: Any, cols: list, what: str) -> None:
    """Values beyond 1e±150 are refused naming the column (``check_magnitude``); columns
    that are missing or not numeric are left to the estimators' own checks."""
    if not isinstance(data, pd.DataFrame):
        return
    ok = [c for c in cols if isinstance(c, str) and c in data.columns
          and data.columns.tolist().count(c) == 1
          and pd.api.types.is_numeric_dtype(data[c]) and not pd.api.types.is_bool_dtype(data[c])]
    if ok:
        check_magnitude(data[ok].to_numpy(dtype=float, na_value=np.nan), ok, what)
