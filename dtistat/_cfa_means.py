"""Single-group CFA/SEM with a mean structure, by ML or robust ML (MLR).

Internal module behind ``fit_cfa(..., meanstructure=True)`` or ``~ 1`` in the model
(with ``estimator="ML"`` or ``"MLR"``). The model is the multi-group engine's
(:mod:`dtistat._cfa_groups`) with one group, so the estimates, the discrepancy (with
its mean term) and the expected information are those of ``fit_cfa(group=...)``; MLR
adds the sandwich covariance and the scaled test of :mod:`dtistat._cfa_robust`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.factors import (
    CFAResult,
    _cfa_heywood,
    _check_df,
    _check_information,
    _correlation,
    _fit_measures,
    _free_names,
    _numeric_block,
    _reliability,
    _sample_cov,
)

__all__ = ["fit_cfa_means"]


def _moments(data: pd.DataFrame, obs: list) -> tuple:
    X, _, scale = _numeric_block(data, obs, what="the CFA")
    _correlation(X, obs)  # names collinear indicators if the sample matrix is singular
    return X, scale, _sample_cov(X, scale, obs), X.mean(axis=0) * scale


def fit_cfa_means(data: pd.DataFrame, model: str, stmts, *, std_lv: bool, level: float,
                  estimator: str) -> CFAResult:
    """Fit one group with a mean structure; see :func:`dtistat.fit_cfa`."""
    from dtistat import _cfa_groups, _cfa_robust
    from dtistat.invariance import group_table

    gm = _cfa_groups.build_groups(stmts, list(data.columns), 1, std_lv=std_lv)
    m, obs = gm.models[0], gm.observed
    X, xscale, S, ybar = _moments(data, obs)
    n, p = X.shape
    q = gm.n_free
    _check_df(q, p, means=True)
    out = _cfa_groups.fit_groups(gm, [S], [ybar], [n])
    theta, scale = out["theta"], out["theta_scale"]
    _check_information(out["info_scaled"], m)
    r = out["rams"][0]
    Sig, mu = r.implied(theta)[:2]
    fit = _fit_measures(S, Sig, out["fmin"], n, q, means=(ybar, mu))
    if estimator == "MLR":
        Z = X * (xscale / out["sd"])
        V = _cfa_robust.mlr(out["scaled_rams"][0], theta / scale, Z, fit, means=True)
        V = V * np.outer(scale, scale)
    else:
        V = 2.0 / n * np.linalg.inv(out["info_scaled"]) * np.outer(scale, scale)
    est, _ = group_table(m, r, theta, np.sqrt(np.diag(V)), level)
    cm, _ = _cfa_groups._split(m)
    heywood = _cfa_heywood(cm, r.matrices(theta)[1], est)
    names = _free_names(m)
    return CFAResult(
        estimates=est, fit=pd.Series(fit, name="fit"),
        reliability=_reliability(cm, obs, S, est),
        implied_cov=pd.DataFrame(Sig, index=obs, columns=obs),
        sample_cov=pd.DataFrame(S, index=obs, columns=obs),
        vcov=pd.DataFrame(V, index=names, columns=names), model=model, nobs=n,
        n_iter=out["n_iter"], heywood=tuple(heywood), estimator=estimator,
        implied_mean=pd.Series(mu, index=obs, name="implied_mean"),
        sample_mean=pd.Series(ybar, index=obs, name="sample_mean"),
    )
