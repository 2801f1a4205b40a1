"""The Hausman (1978) test of fixed against random effects, in the conventions of R plm and Stata.

``method`` chooses the convention (d = b_fe - b_re on the common slopes, V = V_fe - V_re):

* ``"pinv"`` (default): d' V^+ d with the pseudo-inverse on V's positive eigenvalues,
  df = their number (a warning when V is not positive definite).
* ``"plm"``: R ``plm::phtest(fe, re)``: |d' V^-1 d| with the regular inverse and df = the
  number of compared slopes.
* ``"stata"``: Stata ``hausman fe re``: d' V^- d with a generalized inverse (a negative
  value is reported, with a warning, as Stata does), df = rank of V.
* ``"sigmamore"`` / ``"sigmaless"``: Stata's options: both covariances rebuilt from one
  disturbance variance -- the efficient (random-effects, ``e(rmse)^2`` =
  SSR*/(N - k)) or the consistent (within, ``e(sigma_e)^2`` = SSR/(N - N_e - k))
  estimate -- so V = s^2 [(X~'X~)^-1 - (X*'X*)^-1]; df = rank of V.
* ``"wooldridge"``: the regression-based test of Wooldridge (2010, section 10.7.3), R
  ``plm::phtest(..., method = "aux")``: pooled OLS of the quasi-demeaned outcome on an
  intercept, the quasi-demeaned regressors and the within-demeaned regressors, and the
  Wald test that the latter's coefficients are zero with the chosen covariance
  (default cluster-robust by entity without small-sample factor, plm's
  ``vcov = vcovHC``; ``cov="unadjusted", small_sample="stata"`` is plm's default
  ``vcov = NULL``, s^2 = SSR/(N - columns)). Unweighted fits only. Valid when
  the errors are heteroskedastic or serially correlated, where the classic test is not.
  The quasi-demeaned and within-demeaned data are taken from the random-effects fit
  (within-demeaning the quasi-demeaned regressors gives the within-demeaned ones).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from dtistat._validate import check_choice, warn
from dtistat.errors import EstimationError, ParameterError
from dtistat.inference import check_cov, check_small_sample, sandwich
from dtistat.panel.absorb import gather, group_sums
from dtistat.panel.results import HausmanResult, PanelResult

__all__ = ["hausman", "HAUSMAN_METHODS"]

HAUSMAN_METHODS = ("pinv", "plm", "stata", "sigmamore", "sigmaless", "wooldridge")


def _check_fits(fe: PanelResult, re: PanelResult) -> list:
    if not isinstance(fe, PanelResult) or not isinstance(re, PanelResult):
        raise ParameterError("hausman() takes two PanelResult objects (within, random)")
    if fe.model != "within" or re.model != "random":
        raise ParameterError(
            f"hausman(fe, re) needs a within fit and a random-effects fit, got "
            f"model={fe.model!r} and model={re.model!r}"
        )
    terms = [t for t in fe.params.index if t in re.params.index and t != "const"]
    if not terms:
        raise ParameterError("the two fits have no slope coefficient in common")
    return terms


def _eig_stat(d: np.ndarray, V: np.ndarray, *, positive_only: bool) -> tuple[float, int]:
    vals, vecs = np.linalg.eigh((V + V.T) / 2)
    scale = max(np.abs(vals).max(), 1e-300)
    tol = scale * len(vals) * np.finfo(float).eps * 10
    keep = vals > tol if positive_only else np.abs(vals) > tol
    z = vecs[:, keep].T @ d
    return float((z * z / vals[keep]).sum()), int(keep.sum())


def _bread(res: PanelResult, terms: list) -> np.ndarray:
    st = res._state
    if st is None:
        raise ParameterError("sigmamore/sigmaless need the fit's design; refit with fit_panel")
    idx = [list(res.params.index).index(t) for t in terms]
    return st.bread[np.ix_(idx, idx)]


def _s2(res: PanelResult) -> float:
    e = res._state.resid
    return float(e @ e) / res.df_resid


def hausman(fe: PanelResult, re: PanelResult, method: str = "pinv", *,
            cov: str = "cluster", cluster: str | None = None,
            small_sample: str = "none") -> HausmanResult:
    """Hausman test of a within (fixed-effects) fit against a random-effects fit.

    Parameters
    ----------
    fe, re : PanelResult
        Results of ``fit_panel(..., model="within")`` and ``model="random"`` on the
        same data and formula. The classic test assumes both use
        ``cov="unadjusted"`` (RE efficient under H0); other covariances give a warning.
    method : {"pinv", "plm", "stata", "sigmamore", "sigmaless", "wooldridge"}
        The convention (module docstring).
    cov, cluster, small_sample
        ``method="wooldridge"`` only: covariance of the auxiliary regression (as in
        :func:`dtistat.fit_panel`; default cluster by entity, no small-sample factor).

    Returns
    -------
    HausmanResult
        chi-squared statistic, df and p-value on the common slope coefficients.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> from dtistat import fit_panel, hausman
    >>> g = sm.datasets.grunfeld.load_pandas().data
    >>> g = g[g.firm != "American Steel"]
    >>> kw = dict(entity="firm", time="year", cov="unadjusted")
    >>> h = hausman(fit_panel(g, "invest ~ value + capital", **kw),
    ...             fit_panel(g, "invest ~ value + capital", model="random", **kw))
    >>> round(h.statistic, 4), h.df
    (2.3304, 2)
    """
    check_choice(method, HAUSMAN_METHODS, "method")
    terms = _check_fits(fe, re)
    if method == "wooldridge":
        return _wooldridge(re, terms, cov, cluster, small_sample)
    if method in ("pinv", "plm", "stata") and (
            fe.cov_type != "unadjusted" or re.cov_type != "unadjusted"):
        warn("the classic Hausman test uses cov='unadjusted' in both fits (random effects "
             f"efficient under H0); got {fe.cov_type!r} and {re.cov_type!r}")
    d = (fe.params[terms] - re.params[terms]).to_numpy()
    if method in ("sigmamore", "sigmaless"):
        s2 = _s2(re) if method == "sigmamore" else _s2(fe)
        V = s2 * (_bread(fe, terms) - _bread(re, terms))
    else:
        V = fe.cov.loc[terms, terms].to_numpy() - re.cov.loc[terms, terms].to_numpy()
    if method == "plm":
        try:
            stat, df = abs(float(d @ np.linalg.solve(V, d))), len(terms)
        except np.linalg.LinAlgError:
            raise EstimationError("V_fe - V_re is singular; plm's phtest is undefined "
                                  "(try method='stata' or 'sigmamore')") from None
    else:
        stat, df = _eig_stat(d, V, positive_only=method == "pinv")
        if df == 0:
            raise EstimationError("V_fe - V_re has no positive eigenvalue; the test is "
                                  "undefined")
        if method == "pinv" and df < len(terms):
            warn("V_fe - V_re is not positive definite; the test uses its pseudo-inverse "
                 f"with {df} degree(s) of freedom")
        if stat < 0:
            warn(f"Hausman statistic {stat:.4g} < 0: the data fail the test's asymptotic "
                 "assumptions (V_fe - V_re is not positive semi-definite); as Stata, no "
                 "p-value (try method='sigmamore')")
    p = float(stats.chi2.sf(stat, df)) if stat >= 0 else float("nan")
    label = {"pinv": "Hausman (FE vs RE)", "plm": "Hausman (FE vs RE, plm phtest)",
             "stata": "Hausman (FE vs RE, Stata)", "sigmamore": "Hausman (sigmamore)",
             "sigmaless": "Hausman (sigmaless)"}[method]
    return HausmanResult(
        label, stat, p, df, "chi2", "the random-effects estimator is consistent",
        terms=tuple(terms), difference=pd.Series(d, index=terms, name="difference"),
        fe_cov_type=fe.cov_type, re_cov_type=re.cov_type,
    )


def _wooldridge(re: PanelResult, terms: list, cov, cluster, small_sample) -> HausmanResult:
    """Regression-based test (Wooldridge 2010, 10.7.3; plm ``phtest(method="aux")``)."""
    st = re._state
    if st is None:
        raise ParameterError("method='wooldridge' needs the random-effects fit's design; "
                             "refit with fit_panel")
    cov = check_cov(cov)
    small_sample = check_small_sample(small_sample)
    names = list(re.params.index)
    slopes = [j for j, t in enumerate(names) if t != "const"]
    idx = [names.index(t) for t in terms]
    yq = st.resid + st.X @ re.params.to_numpy()
    e, n_ent = st.entity_codes, int(st.entity_codes.max()) + 1
    cnt = np.bincount(e, minlength=n_ent).astype(float)
    Xq = st.X[:, idx]
    Xw = Xq - gather(group_sums(Xq, e, n_ent) / cnt[:, None], e)
    n = len(yq)
    # every quasi-demeaned slope (time-invariant ones too), the within-demeaned slopes
    # the within model identifies, and a plain intercept (as plm's pooled aux model)
    A = np.column_stack([np.ones(n), st.X[:, slopes], Xw])
    bread = np.linalg.pinv(A.T @ A)
    if np.linalg.matrix_rank(A) < A.shape[1]:
        raise EstimationError("the auxiliary regression is collinear (a regressor without "
                              "within variation?); drop time-invariant regressors")
    b = bread @ (A.T @ yq)
    u = yq - A @ b
    clusters = []
    if cov in ("cluster", "twoway-cluster"):
        cols = [cluster] if isinstance(cluster, str) else list(cluster or [])
        cols = cols or ([st.entity] if cov == "cluster" else [st.entity, st.time])
        for c in cols:
            if c == st.entity:
                clusters.append(e)
            elif c == st.time:
                clusters.append(st.time_codes)
            else:
                clusters.append(pd.factorize(st.data[c].to_numpy()[st.rows])[0])
    est = sandwich(A, u, bread, cov=cov, small_sample=small_sample, clusters=clusters,
                   time_codes=st.time_codes)
    k = len(terms)
    sl = slice(1 + len(slopes), 1 + len(slopes) + k)
    xi = b[sl]
    W = float(xi @ np.linalg.solve(est.cov[sl, sl], xi))
    return HausmanResult(
        "Hausman (Wooldridge auxiliary regression)", W, float(stats.chi2.sf(W, k)), k,
        "chi2", "the within-demeaned regressors add nothing (random effects consistent)",
        terms=tuple(terms), difference=pd.Series(xi, index=terms, name="xi"),
        fe_cov_type=cov, re_cov_type=re.cov_type,
    )
