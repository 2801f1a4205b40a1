"""``fit_iv``: the public entry point of linear IV estimation with absorbed fixed effects.

Small-sample presets (``small_sample=``, the inference core's names; K = regressors
including the intercept, A = absorbed fixed-effect degrees of freedom beyond it, A_n =
those nested within the cluster variable, G = clusters):

==============  ===========================================================  ==========
preset          matches                                                      inference
==============  ===========================================================  ==========
``"ivreg2"``    ``ivreg2`` default (sigma^2 = SSR/N, robust/cluster sums      normal
                without factor); linearmodels ``IV2SLS(...).fit(debiased=
                False)``
``"none"``      as "ivreg2" but sigma^2 = SSR/(N-K-A); pyfixest               normal
                ``ssc(k_adj=False, G_adj=False)`` for robust/cluster
``"stata"``     ``ivreg2, small`` and R ``AER::ivreg`` (SSR/(N-K-A), N/(N-K),  t
                G/(G-1) (N-1)/(N-K)); absorbed effects only in SSR/(N-K-A)
``"reghdfe"``   ``ivreghdfe, small`` / ``reghdfe`` counting: SSR/(N-K-A),      t
                N/(N-K-A), G/(G-1) (N-1)/(N-K-A+A_n) -- effects nested in the
                cluster variable are not counted (default)
``"areg"``      every absorbed effect counted, also when nested               t
``"linearmodels"`` linearmodels ``debiased=True`` (N/(N-k))                   normal
==============  ===========================================================  ==========

``ivreg2`` and ``ivreghdfe`` differ in the absorbed degrees of freedom: ``ivreg2`` after
a manual within transformation does not know about the effects (A = 0 unless passed as
``dofminus``), ``ivreghdfe`` subtracts them (nested ones excepted when clustering). The
``"reghdfe"`` preset follows ``ivreghdfe``; the weak-instrument F statistics use
N - K_z - A with the same A.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from dtistat._results import TestResult
from dtistat._scale import check_magnitude, check_outcome_varies
from dtistat._validate import as_list, check_choice, check_frame, check_level, check_real, warn
from dtistat.errors import EstimationError, ParameterError
from dtistat.inference import check_cov, check_small_sample, sandwich
from dtistat.iv import diagnostics as dg
from dtistat.iv.design import IVDesign, build_iv_design, iv_formula_frame
from dtistat.iv.estimation import ESTIMATORS, gmm_fit, kclass_fit, projection
from dtistat.iv.results import FirstStageResult, IVDiagnostics, IVResult

__all__ = ["fit_iv"]

_IV_COV = ("unadjusted", "robust", "cluster", "twoway-cluster", "driscoll-kraay")


def _check_rank(design: IVDesign, pt: dg.Partialled) -> None:
    """Name the variable that makes X or Z rank deficient (``pt``: Y2, Z2 partialled)."""
    X1 = design.X1
    for names, block, res, role in (
            (design.endog, design.Y2, pt.Y, "endogenous regressor"),
            (design.instruments, design.Z2, pt.Z, "instrument")):
        base = np.sqrt((block * block).sum(axis=0))
        left = np.sqrt((res * res).sum(axis=0)) / np.where(base > 0, base, 1.0)
        bad = [names[j] for j in range(len(names)) if left[j] < 1e-8]
        if bad:
            raise EstimationError(
                f"{role}(s) {', '.join(map(repr, bad))} collinear with the included "
                "exogenous regressors" + (" (or constant)" if design.has_const else
                                          " and the fixed effects")
                + "; drop them or use another variable")
        s = np.linalg.svd(res / np.where(base > 0, base, 1.0), compute_uv=False)
        if s.size and s[-1] < 1e-8 * s[0]:
            raise EstimationError(
                f"the {role}s {', '.join(map(repr, names))} are collinear with each other "
                "(given the exogenous regressors); drop one")
    if X1.shape[1]:
        s = np.linalg.svd(X1 / np.maximum(np.sqrt((X1 * X1).sum(axis=0)), 1e-300),
                          compute_uv=False)
        if s[-1] < 1e-9 * s[0]:
            raise EstimationError(
                f"the exogenous regressors {', '.join(map(repr, design.exog))} are collinear "
                "(with each other" + (" or the constant)" if design.has_const else
                                      " or the fixed effects)"))


def _sandwich(design, Xc, e, bread, K, cov, small_sample, lags, names):
    return sandwich(Xc, e, bread, cov=cov, small_sample=small_sample, n_params=K,
                    n_absorbed=design.n_absorbed, n_absorbed_nested=design.n_absorbed_nested,
                    clusters=design.clusters, time_codes=design.time_codes, lags=lags,
                    names=names)


def _first_stages(design, pt, cov, small_sample, lags, level) -> dict:
    Z = np.column_stack([design.X1, design.Z2])
    zn = design.exog + design.instruments
    bread = np.linalg.inv(Z.T @ Z)
    K = Z.shape[1] + (0 if design.has_const else 1)
    rows = dg.first_stage_stats(pt)
    out = {}
    for j, name in enumerate(design.endog):
        coef, fit = projection(Z, design.Y2[:, j])
        est = _sandwich(design, Z, design.Y2[:, j] - fit, bread, K, cov, small_sample, lags,
                        zn)
        r = rows[j]
        f, sw = r["F"], r["SW"]
        null = f"coefficients of {', '.join(design.instruments)} are zero"
        out[name] = FirstStageResult(
            endog=name, params=pd.Series(coef, index=zn, name="estimate"),
            cov=pd.DataFrame((est.cov + est.cov.T) / 2, index=zn, columns=zn),
            df_inference=est.df_inference, level=level, nobs=design.nobs,
            instruments=tuple(design.instruments), partial_r2=r["partial_r2"],
            shea_r2=r["shea_r2"],
            f_test=TestResult("First-stage F", f["F"], f["p_value"], f["df"], "F", null),
            sw_test=TestResult("Sanderson-Windmeijer F", sw["F"], sw["p_value"], sw["df"], "F",
                               f"{name} is not identified given the other endogenous "
                               "regressors"),
            fe=design.fe, cluster=", ".join(map(str, design.cluster_names)))
    return out


def _diagnostics(design, pt, resid, params, se, level,
                 estimator: str = "2sls") -> tuple[IVDiagnostics, list]:
    p, L = pt.p, pt.L
    tests: dict = {}
    rows: list = []
    robust = pt.cov != "unadjusted"
    wk = dg.weak_id(pt)
    d_id = L - p + 1
    if robust:
        lm = dg.kp_rank(pt, wald=False)
        tests["kp_lm"] = TestResult("Kleibergen-Paap rk LM", lm, float(dg.stats.chi2.sf(lm, d_id)),
                                    (d_id,), "chi2", "the model is under-identified")
        rows.append(("Kleibergen-Paap rk LM", lm, f"chi2({d_id})", tests["kp_lm"].p_value, ""))
        w = dg.kp_rank(pt, wald=True)
        fr = dg._f_row(pt, w, L)
        tests["kp_wald"] = TestResult("Kleibergen-Paap rk Wald", w,
                                      float(dg.stats.chi2.sf(w, d_id)), (d_id,), "chi2",
                                      "the model is under-identified")
        tests["kp_wald_f"] = TestResult("Kleibergen-Paap rk Wald F", fr["F"], fr["p_value"],
                                        fr["df"], "F", "the instruments are weak (rank p - 1)")
        rows.append(("Kleibergen-Paap rk Wald F", fr["F"], "", np.nan,
                     f"rk Wald chi2({d_id}) = {w:.3f}"))
    else:
        tests["anderson_lm"] = TestResult("Anderson canon. corr. LM", wk["anderson_lm"],
                                          wk["anderson_p"], (d_id,), "chi2",
                                          "the model is under-identified")
        rows.append(("Anderson canon. corr. LM", wk["anderson_lm"], f"chi2({d_id})",
                     wk["anderson_p"], ""))
    tests["cragg_donald_f"] = TestResult("Cragg-Donald Wald F", wk["cragg_donald_f"], np.nan,
                                         (), "F", "the instruments are weak")
    rows.append(("Cragg-Donald Wald F", wk["cragg_donald_f"], "", np.nan, ""))
    sy = dg.stock_yogo(p, L, estimator) if L <= 30 else {"size": {}, "bias": {}}
    rows += _stock_yogo_rows(sy, estimator, p, L)
    ov = dg.overid(pt, resid)
    if ov is not None:
        tests["overid"] = TestResult(ov["test"], ov["statistic"], ov["p_value"], (ov["df"],),
                                     "chi2", "the instruments are valid (orthogonal to the "
                                     "error)")
        rows.append((ov["test"], ov["statistic"], f"chi2({ov['df']})", ov["p_value"], ""))
    ar = dg.anderson_rubin(pt)
    tests["anderson_rubin"] = TestResult("Anderson-Rubin F", ar["F"], ar["p_value"], ar["df"],
                                         "F", "all endogenous coefficients are zero")
    rows.append(("Anderson-Rubin Wald F", ar["F"], f"F({L}, {ar['df'][1]:g})", ar["p_value"],
                 "weak-instrument-robust test of the endogenous coefficients = 0"))
    rows.append(("Anderson-Rubin Wald chi2", ar["chi2"], f"chi2({L})", ar["chi2_p"], ""))
    ar_set = None
    if p == 1:
        ar_set = dg.ar_confidence_set(pt, level, float(params[-1]), max(float(se[-1]), 1e-12))
        rows.append((f"Anderson-Rubin {level:.0%} confidence set", np.nan, "", np.nan,
                     _fmt_set(ar_set)))
    c = dg.endogeneity_c(pt)
    tests["endogeneity"] = TestResult("Endogeneity C test", c["statistic"], c["p_value"],
                                      (c["df"],), "chi2", f"{', '.join(design.endog)} "
                                      "exogenous")
    rows.append(("Endogeneity (C) test", c["statistic"], f"chi2({c['df']})", c["p_value"],
                 "H0: the endogenous regressors are exogenous"))
    table = pd.DataFrame(rows, columns=["statistic", "value", "df", "p_value", "note"])
    table = table.set_index("statistic")
    table.index.name = None
    weak_key = "kp_wald_f" if robust else "cragg_donald_f"
    notes = [("Weak-instrument F statistics are W/L (N-K_z-A)/N, times (G-1)/G when clustered "
             "(ivreg2's scaling).")]
    if robust:
        notes.append("Stock-Yogo critical values assume i.i.d. errors; compared here with the "
                     "Kleibergen-Paap rk Wald F, as ivreg2 reports them.")
    if estimator in ("liml", "fuller"):
        which = "LIML size" if estimator == "liml" else "Fuller-k relative and maximal bias"
        notes.append(f"Stock-Yogo values are the {which} tables (Stock and Yogo 2005); the "
                     "over-identification test uses the LIML residuals.")
    warnings = _weak_warnings(tests[weak_key], sy)
    return IVDiagnostics(table=table, tests=tests, stock_yogo=sy, ar_set=ar_set, level=level,
                         weak_statistic=tests[weak_key].test, notes=tuple(notes)), warnings


def _fmt_set(s: list) -> str:
    if not s:
        return "empty"
    return " U ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in s)


#: how ivreg2 names the Stock-Yogo rows of each estimator's tables
_SY_NAMES = {"2sls": "IV", "gmm": "IV", "liml": "LIML", "fuller": "Fuller"}
_SY_KINDS = {"size": "maximal {} size", "bias": "maximal {} relative bias",
             "max_bias": "{} maximal bias"}


def _stock_yogo_rows(sy: dict, estimator: str, p: int, L: int) -> list[tuple]:
    name = _SY_NAMES[estimator]
    return [(f"Stock-Yogo {lv:.0%} {_SY_KINDS[kind].format(name)}", cv, "", np.nan,
             f"critical value, {p} endogenous / {L} instruments")
            for kind in ("size", "bias", "max_bias") for lv, cv in sy.get(kind, {}).items()]


def _weak_warnings(t: TestResult, sy: dict) -> list[str]:
    # the 10% size value (TSLS, LIML); Fuller-k has bias tables only: its 10% relative bias
    kind = "bias" if "max_bias" in sy else "size"
    cv = sy[kind].get(0.10)
    what = "relative bias" if kind == "bias" else "size"
    if cv is not None and t.statistic < cv:
        return [(f"weak instruments: {t.test} = {t.statistic:.2f} is below the Stock-Yogo 10% "
                f"maximal {what} critical value {cv:.2f}; see the Anderson-Rubin test and "
                "confidence set")]
    if t.statistic < 10:
        return [(f"weak instruments: {t.test} = {t.statistic:.2f} is below 10 (Staiger and "
                "Stock 1997); see the Anderson-Rubin test and confidence set")]
    return []


def fit_iv(data: pd.DataFrame, formula: str | None = None, *, y: str | None = None,
           exog: str | list | None = None, endog: str | list | None = None,
           instruments: str | list | None = None, entity: str | None = None,
           time: str | None = None, fe: str | None = None, estimator: str = "2sls",
           cov: str = "robust", cluster: str | list | None = None,
           small_sample: str = "reghdfe", lags: int | None = None, missing: str = "raise",
           level: float = 0.95, weights: str | None = None,
           fuller: float = 0.0) -> IVResult:
    """Linear IV regression (2SLS, LIML, Fuller, two-step GMM) with absorbed fixed effects.

    Parameters
    ----------
    data : DataFrame
        Never modified.
    formula : str, optional
        ``"y ~ x1 + x2 + [d1 + d2 ~ z1 + z2 + z3]"`` (fixest / ivreg2 style). Or give
        ``y=``, ``exog=``, ``endog=``, ``instruments=``.
    entity, time : str, optional
        Panel identifiers (needed for ``fe``, the default cluster and Driscoll-Kraay).
    fe : {None, "entity", "time", "twoway"}
        Fixed effects absorbed (singletons dropped iteratively and counted, as reghdfe).
    estimator : {"2sls", "liml", "gmm"}
    cov : {"unadjusted", "robust", "cluster", "twoway-cluster", "driscoll-kraay"}
    cluster : str or list of str, optional
        Cluster column(s); default the entity (and time for two-way clustering).
    small_sample : {"reghdfe", "stata", "ivreg2", "none", "areg", "linearmodels"}
        See the module's table: "ivreg2" is ivreg2's default, "stata" is ``ivreg2,
        small``, "reghdfe" is ``ivreghdfe, small``.
    lags : int, optional
        Driscoll-Kraay bandwidth.
    missing : {"raise", "drop"}
        A missing value (also of ``weights``) raises, or its row is dropped and counted.
    level : float
        Confidence level of intervals and of the Anderson-Rubin set.
    weights : str, optional
        Column of analytic observation weights (Stata's ``[aw=]``, linearmodels' and
        pyfixest's ``weights=``): scaled to mean one, so only relative sizes matter; every
        estimate, covariance and diagnostic is weighted. Weights must be positive.
    fuller : float
        Fuller's (1977) alpha with ``estimator="liml"``: k = kappa_LIML - alpha / (N - L),
        L = all instruments (included exogenous with the intercept, excluded, and the
        absorbed fixed effects). ``fuller=1`` is the usual choice; 0 is LIML.

    Returns
    -------
    IVResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 500
    >>> z = rng.normal(size=(n, 2)); u = rng.normal(size=n)
    >>> d = z @ [1.0, 0.5] + u + rng.normal(size=n)
    >>> df = pd.DataFrame({"y": 2 * d + u, "d": d, "z1": z[:, 0], "z2": z[:, 1]})
    >>> res = fit_iv(df, "y ~ [d ~ z1 + z2]")
    >>> round(float(res.params["d"]), 1)
    2.0
    >>> f = fit_iv(df, "y ~ [d ~ z1 + z2]", estimator="liml", fuller=1)
    >>> bool(np.isclose(f.kappa, f.liml_kappa - 1 / (n - 3)))  # N - L, L = const, z1, z2
    True
    """
    data = check_frame(data)
    # one BLAS thread: the products are tall and skinny (N x k, k ~ 5), where a second
    # thread gains nothing (0.59 s vs 0.64 s at 1e6 rows, idle machine) and, when the
    # other core is busy, makes each of the ~45 products wait for it (2.4 s vs 1.3 s at
    # load 5 on 2 cores: docs/iv.md, "Speed"); results no longer depend on the cores
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_iv(data, formula, y, exog, endog, instruments, entity, time, fe,
                       estimator, cov, cluster, small_sample, lags, missing, level, weights,
                       fuller)


def _fit_iv(data, formula, y, exog, endog, instruments, entity, time, fe, estimator, cov,
            cluster, small_sample, lags, missing, level, weights, fuller) -> IVResult:
    """The body of :func:`fit_iv` once ``data`` is a checked frame."""
    data, spec, n_lags, n_formula_missing = _read_spec(data, formula, y, exog, endog,
                                                       instruments, entity, time, missing)
    cov, small_sample, level, fuller = _check_options(estimator, cov, small_sample, fe,
                                                      missing, level, fuller)
    design = build_iv_design(data, *spec, entity=entity, time=time, fe=fe, cov=cov,
                             cluster=cluster, missing=missing, weights=weights)
    pt = _check_design(design, data, fe, cov, lags)
    Kz = design.X1.shape[1] + design.Z2.shape[1] + (0 if design.has_const else 1)
    fuller_dof = design.nobs - Kz - design.n_absorbed
    if fuller and fuller >= fuller_dof:
        raise ParameterError(f"fuller={fuller:g} must be below N - L = {fuller_dof} (the "
                             "observations less the instruments); Fuller's usual choice is 1")
    b, e, V, est, kappa = _estimate(design, estimator, cov, small_sample, lags, fuller,
                                    fuller_dof)
    first = _first_stages(design, pt, cov, small_sample, lags, level)
    diag, warnings = _diagnostics(design, pt, _overid_resid(design, estimator, cov, e), b,
                                  np.sqrt(np.diag(V)), level,
                                  "fuller" if fuller else estimator)
    for w in warnings:
        warn(w, stacklevel=4)  # the caller of fit_iv
    names = design.exog + design.endog
    return IVResult(
        params=pd.Series(b, index=names, name="estimate"),
        cov=pd.DataFrame(V, index=names, columns=names), df_inference=est.df_inference,
        level=level, nobs=design.nobs, y_name=design.y_name, exog=tuple(design.exog),
        endog=tuple(design.endog), instruments=tuple(design.instruments), estimator=estimator,
        cov_type=cov, small_sample=small_sample, fe=fe, first_stage=first, diagnostics=diag,
        kappa=kappa, r2=_r2(design, e), n_absorbed=design.n_absorbed,
        n_singletons=design.n_singletons,
        n_dropped_missing=design.n_dropped_missing + n_formula_missing,
        n_clusters=est.n_clusters, resid=e, warnings=tuple(warnings),
        cluster=", ".join(map(str, design.cluster_names)), n_dropped_lags=n_lags,
        fuller=fuller, liml_kappa=kappa + fuller / fuller_dof if estimator == "liml"
        else float("nan"), weights=weights)


def _read_spec(data, formula, y, exog, endog, instruments, entity, time, missing):
    """(frame, (y, exog, endog, instruments), rows lost to lags, rows the formula dropped)."""
    if formula is None:
        if y is None or not isinstance(y, str):
            raise ParameterError("y= (the dependent variable's column) is required without a "
                                 "formula")
        spec = (y, as_list(exog, "exog"), as_list(endog, "endog"),
                as_list(instruments, "instruments"))
        return data, spec, 0, 0
    if any(v is not None for v in (y, exog, endog, instruments)):
        raise ParameterError("give either formula= or y=/exog=/endog=/instruments=, not both")
    n_rows = len(data)
    work, y, exog_l, endog_l, inst_l, n_lags = iv_formula_frame(
        data, formula, entity=entity, time=time, missing=missing)
    return work, (y, exog_l, endog_l, inst_l), n_lags, n_rows - len(work) - n_lags


def _check_options(estimator, cov, small_sample, fe, missing, level, fuller):
    check_choice(estimator, ESTIMATORS, "estimator")
    cov = check_cov(cov)
    if cov not in _IV_COV:
        raise ParameterError(f"cov={cov!r} is not available for IV; choose one of "
                             f"{', '.join(map(repr, _IV_COV))}")
    small_sample = check_small_sample(small_sample)
    check_choice(fe, (None, "entity", "time", "twoway"), "fe")
    check_choice(missing, ("raise", "drop"), "missing")
    fuller = check_real(fuller, "fuller", minimum=0.0)
    if fuller and estimator != "liml":
        raise ParameterError(f"fuller={fuller:g} modifies LIML; pass estimator='liml' (got "
                             f"estimator={estimator!r})")
    return cov, small_sample, check_level(level), fuller


def _check_design(design: IVDesign, data: pd.DataFrame, fe, cov: str,
                  lags) -> dg.Partialled:
    """Magnitudes, a varying outcome, full rank and residual degrees of freedom; returns
    the arrays with the included exogenous regressors partialled out."""
    for block, names in ((design.y, [design.y_name]), (design.X1, design.exog),
                         (design.Y2, design.endog), (design.Z2, design.instruments)):
        check_magnitude(block, names, "fit_iv")
    raw = data[design.y_name] if design.y_name in data.columns else None
    top = float(np.nanmax(np.abs(raw.to_numpy(dtype=float)))) if raw is not None and \
        pd.api.types.is_numeric_dtype(raw) and raw.notna().any() else None
    check_outcome_varies(design.y, design.y_name,
                         "fit_iv" + (f" (within the {fe} fixed effects)" if fe else ""), top)
    pt = dg.partial_out(design, cov, lags)
    _check_rank(design, pt)
    K = design.X1.shape[1] + design.Y2.shape[1] + (0 if design.has_const else 1)
    if design.nobs - K - design.n_absorbed <= 0:
        raise EstimationError(f"{design.nobs} observations for {K + design.n_absorbed} "
                              "parameters: no residual degrees of freedom")
    return pt


def _estimate(design, estimator, cov, small_sample, lags, fuller, fuller_dof):
    """(b, resid, symmetric covariance, CovEstimate, kappa) of the second stage."""
    if estimator == "gmm":
        b, e, Xc, bread, _ = gmm_fit(design.y, design.X1, design.Y2, design.Z2, cov=cov,
                                     clusters=design.clusters, time_codes=design.time_codes,
                                     lags=lags)
        kappa = float("nan")
    else:
        b, e, Xc, bread, kappa = kclass_fit(design.y, design.X1, design.Y2, design.Z2,
                                            estimator=estimator, fuller=fuller,
                                            fuller_dof=fuller_dof)
    K = design.X1.shape[1] + design.Y2.shape[1] + (0 if design.has_const else 1)
    est = _sandwich(design, Xc, e, bread, K, cov, small_sample, lags,
                    design.exog + design.endog)
    return b, e, (est.cov + est.cov.T) / 2, est, kappa


def _overid_resid(design, estimator, cov, e):
    # Hansen's J of 2SLS and two-step GMM uses the moment covariance of the 2SLS
    # residuals (ivreg2; linearmodels' IVGMM j_stat); LIML and Sargan use their own;
    # 2SLS's own residuals are those already
    if estimator == "gmm":
        return kclass_fit(design.y, design.X1, design.Y2, design.Z2)[1]
    return e


def _r2(design, e) -> float:
    """1 - SSR/TSS, TSS about the (weighted) mean when the model has an intercept."""
    y = design.y
    if design.has_const:
        c = design.X1[:, 0]  # ones, or sqrt(w) when weighted
        y = y - c * (c @ y) / (c @ c)
    return 1.0 - float(e @ e) / float(y @ y)
