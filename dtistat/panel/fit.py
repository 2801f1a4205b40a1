"""fit_panel: the panel regression front door (arguments, sample, estimator, covariance, result).

Covariance conventions are those of the one inference core,
:mod:`dtistat.inference.covariance` (presets ``"none"``, ``"linearmodels"``, ``"stata"``,
``"areg"``, ``"reghdfe"``). For panel models K = k for pooled / random / between /
first-difference models and K = k + 1 for within models (the intercept that the fixed
effects contain, which Stata's ``xtreg, fe`` reports as ``_cons``); A = absorbed effect
parameters beyond that intercept (entity: N_e - 1; time: T - 1; two-way: N_e + T - 1 - c
with c connected components, i.e. the rank of the effects less one).

"stata" is ``xtreg, fe vce(cluster id)`` (the absorbed entity effects are not counted,
the intercept is; with ``fe="twoway"`` xtreg's ``i.year`` dummies would be counted, here
the absorbed time effects are not -- use "reghdfe" for that); "areg" is ``areg,
absorb(id) vce(cluster id)`` (all absorbed effects counted); "reghdfe" counts the
absorbed effects not nested in the cluster variable. Equivalent linearmodels (7.1)
settings, checked in ``tests/test_panel.py``: "stata" = regressors with a constant,
``debiased=True``, ``group_debias=True``, ``count_effects=False``; "areg" the same with
``count_effects=True``; "linearmodels" = its defaults. "none" is R ``sandwich``'s HC0 /
CR0 (pyfixest ``ssc(adj=False, cluster_adj=False)``).

Driscoll-Kraay uses Bartlett weights on the cross-sectional sums of the scores of the
periods in the sample (positions, not calendar gaps); under "linearmodels" it equals
linearmodels' ``cov_type="kernel", kernel="bartlett", bandwidth=lags``; "areg"
reproduces pyfixest's ``vcov={"DK": lags}`` (Grunfeld two-way, lags 3: 0.023811,
0.060647).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from dtistat._scale import check_magnitude, is_constant
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
from dtistat.errors import DataError, EstimationError, ParameterError, SpecError
from dtistat.formula import Shifter as _Shifter
from dtistat.formula import build_design, parse_time
from dtistat.inference import check_cov, check_small_sample, sandwich
from dtistat.panel.absorb import compact, drop_singletons, take_rows
from dtistat.panel.estimators import (
    Fit,
    Sample,
    fit_between,
    fit_pooled,
    fit_random,
    fit_within,
)
from dtistat.panel.results import PanelResult, _CovState

__all__ = ["fit_panel", "MODELS", "EFFECTS", "PANEL_COV_TYPES"]

MODELS = ("within", "random", "between", "fd", "pooled")
EFFECTS = ("entity", "time", "twoway")
PANEL_COV_TYPES = ("unadjusted", "robust", "cluster", "twoway-cluster", "driscoll-kraay")
MISSING = ("raise", "drop")
RANDOM_METHODS = ("swar", "swar-plm", "baltagi-chang")


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
    missing: str = "raise",
    drop_absorbed: bool = False,
    level: float = 0.95,
    dropna: bool | None = None,
    random_method: str = "swar",
    fd_intercept: bool = False,
) -> PanelResult:
    """Fit a linear panel model: within (FE), random, between, first-difference or pooled.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per entity x period (never modified).
    formula : str
        Wilkinson formula (:mod:`dtistat.formula`): ``"log(y) ~ log(x)*z + C(region) +
        L(x, 1)"``; ``log``, ``np.*``, ``I()``, ``C(x, Treatment("b"))``, ``x*z``,
        ``x:z``, ``center()``, ``scale()``, ``poly()``; ``- 1`` or ``+ 0`` drops the
        intercept; ``L(x, k)`` (lag), ``D(x, k)`` (difference) and ``F(x, k)`` (lead)
        within entity on the calendar (a lag across a missing period is missing, and
        the row is dropped), usable inside transforms and interactions. Within models
        absorb the intercept; first-difference models have none.
    entity, time : str
        Columns identifying the panel. Entity ids may be strings. Time may be quarters
        ("2021Q1", pandas Periods, dates), integers (years; a missing year is a gap),
        pandas Periods of any frequency (their own calendar), other numbers or an
        ordered Categorical (consecutive values are adjacent).
    model : {"within", "random", "between", "fd", "pooled"}
    fe : {"entity", "time", "twoway"}
        The fixed effects of ``model="within"``.
    cov : {"unadjusted", "robust", "cluster", "twoway-cluster", "driscoll-kraay"}
        Covariance estimator (aliases such as ``"nonrobust"`` are accepted); see
        :mod:`dtistat.inference.covariance`.
    cluster : str or list of two str, optional
        Cluster column(s). Default: the entity (``cluster``), entity and time
        (``twoway-cluster``).
    small_sample : {"stata", "areg", "reghdfe", "linearmodels", "none"}
        Small-sample preset (the table in :mod:`dtistat.inference.covariance`).
    lags : int, optional
        Driscoll-Kraay bandwidth (Bartlett weights 1 - j/(lags+1)); default
        floor(4 (T/100)^(2/9)).
    weights : str, optional
        Column of observation weights (WLS), all models, as linearmodels: the
        between model regresses weighted entity means with the entities' weight sums,
        first differences use 1 / (1/w_t + 1/w_{t-1}), random effects use weighted
        entity means (theta from the counts) with the weights scaled to mean one.
    missing : {"raise", "drop"}
        ``"raise"`` (default): a missing value in a column the formula uses raises a
        ``DataError`` naming the column and row; ``"drop"``: such rows are dropped
        listwise and counted in ``n_dropped_missing`` (and in ``summary()``).
    drop_absorbed : bool
        Within models: drop regressors absorbed by the fixed effects (listed in
        ``absorbed``) instead of raising an ``EstimationError`` that names them.
    level : float
        Confidence level of ``conf_int()``.
    dropna : bool, optional
        Deprecated spelling of ``missing="drop"``.
    random_method : {"swar", "swar-plm", "baltagi-chang"}
        Variance components of ``model="random"``: ``"swar"`` is linearmodels'
        ``RandomEffects`` (between regression on the entity means, harmonic mean of the
        T_i); ``"swar-plm"`` (alias ``"baltagi-chang"``) is R plm's unbalanced
        Swamy-Arora (Baltagi and Chang 1994). They coincide on balanced panels; see
        :mod:`dtistat.panel.estimators`.
    fd_intercept : bool
        ``model="fd"``: include an intercept in the differenced equation (R plm's
        ``model="fd"`` default; a linear trend in levels). Default False (linearmodels'
        ``FirstDifferenceOLS``, Stata's ``reg D.(y x), nocons``).

    Returns
    -------
    PanelResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from dtistat import fit_panel
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
    cov = check_cov(cov)
    check_choice(cov, PANEL_COV_TYPES, "cov")
    small_sample = check_small_sample(small_sample)
    if lags is not None:
        lags = check_positive_int(lags, "lags", minimum=0)
    level = check_level(level)
    missing = _missing_policy(missing, dropna)
    if not isinstance(drop_absorbed, bool):
        raise ParameterError("drop_absorbed must be True or False")
    check_choice(random_method, RANDOM_METHODS, "random_method")
    if not isinstance(fd_intercept, bool):
        raise ParameterError("fd_intercept must be True or False")
    cl_cols = _cluster_columns(cov, cluster, entity, time, model)
    _check_columns(data, entity, time, weights, cl_cols)
    ecode_all, elabels, tpos_all, tcode_all = _panel_keys(data, entity, time)
    keep_const = model != "within" and (model != "fd" or fd_intercept)
    design = build_design(data, formula, entity=entity, time=time, missing=missing,
                          intercept_allowed=keep_const)
    if design.y is None:
        raise SpecError(f"formula {formula!r} has no outcome; write 'y ~ x1 + x2'")
    check_magnitude(np.column_stack([design.y, design.X]),
                    [design.y_name, *design.names], "fit_panel")
    yf = design.y[np.isfinite(design.y)] if len(design.y) else design.y
    if len(yf) and is_constant(np.ptp(yf), np.abs(yf).max()):
        # relative to its magnitude (exact ptp == 0 before: 1 + 1e-16 noise passed, and
        # the within R² and F test were rounding error)
        raise DataError(f"the outcome {design.y_name!r} is constant ({yf[0]!r}, equal up to "
                        "rounding) in the estimation sample: there is nothing to explain")
    sample, rows, counts, cl_all = _sample(data, design, model, fe, ecode_all, tcode_all,
                                           tpos_all, elabels, cl_cols, weights, missing,
                                           entity, time)
    if sample.w is not None:
        # mean one (as linearmodels): irrelevant to WLS, it sets the scale of the
        # weighted within variance against the between variance in random effects
        sample.w = sample.w / sample.w.mean()
    fit = _run(model, fe, sample, drop_absorbed, random_method)
    state = _CovState(X=fit.X, resid=fit.resid, bread=fit.bread, n_params=fit.n_params,
                      n_absorbed=fit.n_absorbed, rows=rows, entity_codes=sample.ecode,
                      time_codes=None if model == "between" else sample.tcode,
                      data=data, entity=entity, time=time)
    est = _covariance(model, state, cov, small_sample, cl_all, cl_cols, lags, fit.names)
    return _result(fit, est, state, sample, model, fe, cov, small_sample, cl_cols,
                   design.y_name, formula, counts, elabels, entity, level)


def _missing_policy(missing: str, dropna: bool | None) -> str:
    if dropna is not None:
        warnings.warn("fit_panel(dropna=...) is deprecated; use missing='drop' or 'raise'",
                      FutureWarning, stacklevel=3)
        if not isinstance(dropna, bool):
            raise ParameterError("dropna must be True or False (better: missing='drop')")
        return "drop" if dropna else "raise"
    check_choice(missing, MISSING, "missing")
    return missing


def _cluster_columns(cov, cluster, entity, time, model) -> list:
    if cov == "cluster":
        cl_cols = as_list(cluster, "cluster") or [entity]
        if len(cl_cols) != 1:
            raise ParameterError("cov='cluster' takes one cluster column; use "
                                 "cov='twoway-cluster' for two")
    elif cov == "twoway-cluster":
        cl_cols = as_list(cluster, "cluster") or [entity, time]
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
    return cl_cols


def _check_columns(data, entity, time, weights, cl_cols) -> None:
    check_columns(data, [entity, time], what="panel column")
    if weights is not None:
        check_columns(data, [weights], what="weights column")
        check_numeric(data, [weights])
    check_columns(data, cl_cols, what="cluster column")


def _panel_keys(data, entity, time):
    """Entity codes and labels, time positions and compact time codes; no duplicates."""
    ent = data[entity]
    if ent.isna().any():
        i = int(np.flatnonzero(ent.isna().to_numpy())[0])
        raise DataError(f"entity column {entity!r} is missing at row {data.index[i]!r}")
    try:
        ecode_all, elabels = pd.factorize(ent, sort=True)
    except TypeError:  # mixed id types (e.g. ints and strings): no order needed
        ecode_all, elabels = pd.factorize(ent.astype(str), sort=True)
    tpos_all, _ = parse_time(data[time], time)
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
        shown = "; ".join(f"{entity}={r[0]!r}, {time}={r[1]!r}"
                          for r in ex.astype(object).itertuples(index=False))
        raise DataError(
            f"duplicate {entity} x {time} rows: {shown} appear more than once "
            f"({n_dup} duplicate row(s) in all, first at row {data.index[i]!r}); each "
            "entity must have at most one row per period (aggregate or fix the time column)"
        )
    return ecode_all, elabels, tpos_all, tcode_all


def _sample(data, design, model, fe, ecode_all, tcode_all, tpos_all, elabels, cl_cols,
            weights, missing, entity, time):
    """Rows kept (the formula's, then weights, differences and singletons), differenced
    if FD; the cluster codes."""
    rows = design.rows
    y, X = design.y, design.X
    names = list(design.names)
    intercept = "const" in names
    if intercept:  # the estimators add the intercept themselves
        j = names.index("const")
        X = np.asfortranarray(np.delete(X, j, axis=1))
        names.pop(j)
    counts = {"lags": design.n_dropped_lags, "missing": design.n_dropped_missing,
              "singletons": 0}
    w = None
    if weights is not None:
        w, keep = _weights(data, weights, rows, missing)
        if not keep.all():
            counts["missing"] += int((~keep).sum())
            rows, y, X, w = rows[keep], y[keep], take_rows(X, np.flatnonzero(keep)), w[keep]
    keep_all = np.zeros(len(data), dtype=bool)
    keep_all[rows] = True
    cl_all = [_codes_of(data, c, keep_all, ecode_all, tcode_all, entity, time)
              for c in cl_cols]
    levels = None
    if model == "fd":
        levels = (y, X, ecode_all[rows])
        rows, y, X, w, lost_lag, lost_missing = _difference(data, design, rows, y, X, w,
                                                            ecode_all, tpos_all)
        counts["lags"] += lost_lag
        counts["missing"] += lost_missing
    ecode, tpos = ecode_all[rows], tcode_all[rows]
    clusters = [c[rows] for c in cl_all]
    if model == "within":  # singletons, iteratively as reghdfe
        fe_codes = {"entity": [ecode], "time": [tpos], "twoway": [ecode, tpos]}[fe]
        ks = drop_singletons(fe_codes) if len(rows) else np.zeros(0, bool)
        counts["singletons"] = int((~ks).sum())
        if counts["singletons"]:
            kr = np.flatnonzero(ks)
            y, X, ecode, tpos, rows = y[kr], take_rows(X, kr), ecode[kr], tpos[kr], rows[kr]
            w = w[ks] if w is not None else None
            clusters = [c[ks] for c in clusters]
    if len(y) == 0:
        raise DataError(
            "no rows left to estimate after dropping missing values, lags and singletons"
        )
    ecode, n_ent, present = compact(ecode)
    tcode, n_per, _ = compact(tpos)
    sample = Sample(y, X, names, intercept, ecode, n_ent, tcode, n_per, w,
                    levels, np.asarray(elabels)[present])
    return sample, rows, counts, [compact(c)[0] for c in clusters]


def _weights(data, weights, rows, missing):
    wv = data[weights].to_numpy(dtype=float, na_value=np.nan)[rows]
    ok = np.isfinite(wv)
    if not ok.all() and missing == "raise":
        i = rows[int(np.flatnonzero(~ok)[0])]
        raise DataError(f"weights column {weights!r} is missing at row {data.index[i]!r}; "
                        "fill it, or pass missing=\"drop\"")
    bad = ok & (wv <= 0)
    if bad.any():
        i = rows[int(np.flatnonzero(bad)[0])]
        raise DataError(f"weights column {weights!r} must be positive; row {data.index[i]!r} "
                        f"holds {data[weights].iloc[i]!r}")
    return wv, ok


def _difference(data, design, rows, y, X, w, ecode_all, tpos_all):
    """First differences on the kept rows: each row less its previous period's row.

    A row whose previous period is absent from the data (a gap, the first period) is
    dropped as a lag; one whose previous period was dropped for missing values counts
    as missing.
    """
    shifter = panel_shifter_codes(ecode_all, tpos_all)
    prev, found = shifter.rows(1)
    pos = np.full(len(data), -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    prow, pfound = prev[rows], found[rows]
    ppos = np.where(pfound, pos[prow], -1)
    ok = ppos >= 0
    raw = np.zeros(len(data), dtype=bool)
    for c in design.variables:
        raw |= data[c].isna().to_numpy()
    lost_missing = int((pfound & ~ok & raw[prow]).sum())
    lost_lag = int((~ok).sum()) - lost_missing
    k = np.flatnonzero(ok)
    pk = ppos[k]
    yd = y[k] - y[pk]
    Xd = take_rows(X, k) - take_rows(X, pk)
    wd = None if w is None else 1.0 / (1.0 / w[k] + 1.0 / w[pk])
    # the variance of a difference is the sum of the two variances (as linearmodels)
    return rows[k], yd, Xd, wd, lost_lag, lost_missing


def panel_shifter_codes(ecode, tpos) -> _Shifter:
    """Lags within entity on the calendar positions of the rows."""
    return _Shifter(np.asarray(ecode, dtype=np.int64), np.asarray(tpos, dtype=np.int64))


def _codes_of(data, col, keep, ecode_all, tcode_all, entity, time) -> np.ndarray:
    if col == entity:
        return ecode_all
    if col == time:
        return tcode_all
    s = data[col]
    bad = s.isna().to_numpy() & keep
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"cluster column {col!r} is missing at row {data.index[i]!r}")
    return pd.factorize(s)[0]


def _run(model, fe, sample, drop_absorbed, random_method="swar") -> Fit:
    if model == "between":
        return fit_between(sample)
    if model in ("pooled", "fd"):
        return fit_pooled(sample, differenced=model == "fd")
    if model == "within":
        return fit_within(sample, fe, drop_absorbed=drop_absorbed)
    return fit_random(sample, random_method)


def _check_clusters(clusters, cl_cols) -> None:
    for c, name in zip(clusters, cl_cols, strict=True):
        g = int(c.max()) + 1 if len(c) else 0
        if g < 2:
            raise EstimationError(f"cluster column {name!r} has {g} cluster in the estimation "
                                  "sample; clustered errors need at least 2 (30+ advised)")
        if g < 30:
            warn(f"only {g} clusters in {name!r}: clustered standard errors are unreliable "
                 "with fewer than about 30 clusters (consider a wild bootstrap)", stacklevel=5)


def _entity_level(clusters, cl_cols, ecode, n_ent) -> list:
    """Between model: each entity is one observation; clusters must be entity-constant."""
    out = []
    for c, name in zip(clusters, cl_cols, strict=True):
        first = np.zeros(n_ent, dtype=np.int64)
        first[ecode] = c
        if np.any(first[ecode] != c):
            raise ParameterError(f"cluster column {name!r} varies within entity; the "
                                 "between model needs clusters of entities")
        out.append(compact(first)[0])
    return out


def _nested(clusters, state: _CovState, model: str) -> int:
    """Absorbed entity effects nested in a (single) cluster variable (reghdfe)."""
    if model != "within" or len(clusters) != 1:
        return 0
    c, e = clusters[0], state.entity_codes
    n_ent = int(e.max()) + 1
    first = np.zeros(n_ent, dtype=np.int64)
    first[e] = c
    return n_ent - 1 if np.all(first[e] == c) else 0


def _covariance(model, state: _CovState, cov, small_sample, clusters, cl_cols, lags,
                names=None):
    _check_clusters(clusters, cl_cols)
    if model == "between":
        clusters = _entity_level(clusters, cl_cols, state.entity_codes,
                                 int(state.entity_codes.max()) + 1)
    nested = _nested(clusters, state, model) if small_sample == "reghdfe" else 0
    return sandwich(state.X, state.resid, state.bread, cov=cov, small_sample=small_sample,
                    n_params=state.n_params, n_absorbed=state.n_absorbed,
                    n_absorbed_nested=min(nested, state.n_absorbed), clusters=clusters,
                    time_codes=state.time_codes, lags=lags, names=names)


def _result(fit, est, state, sample, model, fe, cov, small_sample, cl_cols, dep_name,
            formula, counts, elabels, entity, level) -> PanelResult:
    names = fit.names
    cv = (est.cov + est.cov.T) / 2
    theta = fit.extra.get("theta")
    if theta is not None:
        theta = pd.Series(theta, index=pd.Index(sample.entity_labels, name=entity),
                          name="theta")
    return PanelResult(
        params=pd.Series(fit.params, index=names, name="estimate"),
        cov=pd.DataFrame(cv, index=names, columns=names),
        model=model, fe=fe if model == "within" else None, cov_type=cov,
        small_sample=small_sample, cluster=tuple(cl_cols) or None, lags=est.lags,
        dependent=dep_name, formula=formula, nobs=fit.nobs, n_entities=sample.n_ent,
        n_periods=sample.n_per, df_resid=fit.df_resid, df_inference=est.df_inference,
        r2_within=fit.r2[0], r2_between=fit.r2[1], r2_overall=fit.r2[2],
        f_effects=fit.extra.get("f_effects"), theta=theta,
        sigma2_u=fit.extra.get("sigma2_u"), sigma2_e=fit.extra.get("sigma2_e"),
        n_clusters=est.n_clusters, n_singletons=counts["singletons"],
        n_dropped_missing=counts["missing"], n_dropped_lags=counts["lags"],
        absorbed=tuple(fit.extra.get("absorbed", ())), level=level, resid=fit.resid,
        _state=state, random_method=fit.extra.get("random_method"),
    )


def recompute_cov(res: PanelResult, cov: str, *, cluster=None, small_sample=None, lags=None,
                  level=None) -> PanelResult:
    """:meth:`PanelResult.with_cov`: a new covariance from the stored design."""
    st: _CovState = res._state
    if st is None:
        raise ParameterError("this result does not keep its design; refit with fit_panel")
    cov = check_cov(cov)
    check_choice(cov, PANEL_COV_TYPES, "cov")
    small_sample = check_small_sample(small_sample or res.small_sample)
    if lags is not None:
        lags = check_positive_int(lags, "lags", minimum=0)
    level = res.level if level is None else check_level(level)
    cl_cols = _cluster_columns(cov, cluster, st.entity, st.time, res.model)
    check_columns(st.data, cl_cols, what="cluster column")
    ecode = st.entity_codes
    clusters = []
    for c in cl_cols:
        if c == st.entity:
            clusters.append(ecode)
        elif c == st.time and st.time_codes is not None:
            clusters.append(st.time_codes)
        else:
            s = st.data[c].iloc[st.rows]
            if s.isna().any():
                i = int(np.flatnonzero(s.isna().to_numpy())[0])
                raise DataError(f"cluster column {c!r} is missing at row {s.index[i]!r}")
            clusters.append(compact(pd.factorize(s)[0])[0])
    names = list(res.params.index)
    est = _covariance(res.model, st, cov, small_sample, clusters, cl_cols, lags, names)
    cv = (est.cov + est.cov.T) / 2
    return res._replace(cov=pd.DataFrame(cv, index=names, columns=names), cov_type=cov,
                        small_sample=small_sample, cluster=tuple(cl_cols) or None,
                        lags=est.lags, df_inference=est.df_inference,
                        n_clusters=est.n_clusters, level=level)
