"""The Hausman (1978) test of fixed against random effects."""

from __future__ import annotations

import numpy as np
from scipy import stats

from dtistat._validate import warn
from dtistat.errors import EstimationError, ParameterError
from dtistat.panel.results import HausmanResult, PanelResult

__all__ = ["hausman"]


def hausman(fe: PanelResult, re: PanelResult) -> HausmanResult:
    """Hausman test of a within (fixed-effects) fit against a random-effects fit.

    Parameters
    ----------
    fe, re : PanelResult
        Results of ``fit_panel(..., model="within")`` and ``model="random"`` on the
        same data and formula. The classic test assumes both use
        ``cov="unadjusted"`` (RE efficient under H0); other covariances give a warning.

    Returns
    -------
    HausmanResult
        statistic = d'(V_fe - V_re)^+ d on the common slope coefficients; if the
        difference of covariances is not positive definite its pseudo-inverse is used
        and ``df`` is its rank (with a warning).

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
    if fe.cov_type != "unadjusted" or re.cov_type != "unadjusted":
        warn("the classic Hausman test uses cov='unadjusted' in both fits (random effects "
             f"efficient under H0); got {fe.cov_type!r} and {re.cov_type!r}")
    d = fe.params[terms] - re.params[terms]
    V = fe.cov.loc[terms, terms].to_numpy() - re.cov.loc[terms, terms].to_numpy()
    vals, vecs = np.linalg.eigh((V + V.T) / 2)
    tol = max(vals.max(), 0) * len(vals) * np.finfo(float).eps * 10
    keep = vals > tol
    df = int(keep.sum())
    if df < len(terms):
        warn("V_fe - V_re is not positive definite; the test uses its pseudo-inverse "
             f"with {df} degree(s) of freedom")
    if df == 0:
        raise EstimationError("V_fe - V_re has no positive eigenvalue; the test is undefined")
    z = vecs[:, keep].T @ d.to_numpy()
    stat = float((z * z / vals[keep]).sum())
    return HausmanResult(
        "Hausman (FE vs RE)", stat, float(stats.chi2.sf(stat, df)), df, "chi2",
        "the random-effects estimator is consistent", terms=tuple(terms), difference=d,
        fe_cov_type=fe.cov_type, re_cov_type=re.cov_type,
    )
