"""2x2 DiD on two stacked cross sections: DRDID's estimators for repeated cross sections.

Callaway-Sant'Anna on an unbalanced panel (R ``did::att_gt(allow_unbalanced_panel =
TRUE)``) treats each cohort-period cell as two cross sections -- the rows of the
cohort and its comparison units observed in period t (``post = 1``) and in the base
period (``post = 0``) -- and estimates it as Sant'Anna and Zhao (2020, J. Econometrics
219(1)) do for repeated cross sections, with sampling weights ``w`` scaled to mean one
in the cell (R ``DRDID``):

* ``"reg"``: ``reg_did_rc`` (comparison-group outcome regressions in each period),
* ``"ipw"``: ``std_ipw_did_rc`` (standardized, Hajek-type inverse probability weights),
* ``"dr"``: ``drdid_rc`` (the locally efficient doubly robust estimator, with outcome
  regressions for both groups in both periods),

with the panel estimators' conventions (scores capped at 1 - 1e-6, comparison rows with
scores at or above 0.995 trimmed). Each returns the ATT and its influence function on
the stacked rows. Written by hand for the same reason as :mod:`dtistat.did.cs`.
"""

from __future__ import annotations

import numpy as np

from dtistat.errors import EstimationError

__all__ = ["rc_cell"]


def _wls(y: np.ndarray, X: np.ndarray, wk: np.ndarray):
    """Fitted values of the WLS of y on X with weights ``wk`` (0 off the subsample), and
    its asymptotic linear representation ``(wk e X) (X' wk X / n)^-1`` on every row."""
    XtX = X.T @ (X * wk[:, None])
    try:
        beta = np.linalg.solve(XtX, X.T @ (wk * y))
        inv = np.linalg.inv(XtX / len(y))
    except np.linalg.LinAlgError:
        raise EstimationError("an outcome regression of the 2x2 cell is singular (a "
                              "covariate without variation in one group and period?)") from None
    out = X @ beta
    return out, ((wk * (y - out))[:, None] * X) @ inv


def _mean_part(wx: np.ndarray, v: np.ndarray):
    """Weighted mean of v and its influence function: (w v - w m) / mean(w)."""
    mw = wx.mean()
    m = np.mean(wx * v) / mw
    return m, (wx * v - wx * m) / mw


def _reg(y, post, D, X, w):
    c0, c1 = w * (1 - D) * (1 - post), w * (1 - D) * post
    out0, lin0 = _wls(y, X, c0)
    out1, lin1 = _wls(y, X, c1)
    wt = w * D
    a_t0, inf_t0 = _mean_part(wt * (1 - post), y)
    a_t1, inf_t1 = _mean_part(wt * post, y)
    a_c, inf_c = _mean_part(wt, out1 - out0)
    inf_c = inf_c + (lin1 - lin0) @ (X * wt[:, None]).mean(0) / wt.mean()
    return a_t1 - a_t0 - a_c, inf_t1 - inf_t0 - inf_c


def _pscore(D, X, w):
    from dtistat.did.cs import _PS_CAP, _TRIM, _logit

    n = len(D)
    ps = np.minimum(_logit(D, X, w), _PS_CAP)
    keep = np.where(D == 0, ps < _TRIM, True)
    info = X.T @ (X * (w * ps * (1 - ps))[:, None])
    lin_ps = ((w * (D - ps))[:, None] * X) @ (np.linalg.inv(info) * n)
    return ps, keep, lin_ps


def _ipw(y, post, D, X, w):
    ps, keep, lin_ps = _pscore(D, X, w)
    wc = keep * w * ps * (1 - D) / (1 - ps)
    wt = keep * w * D
    a_t0, inf_t0 = _mean_part(wt * (1 - post), y)
    a_t1, inf_t1 = _mean_part(wt * post, y)
    a_c0, inf_c0 = _mean_part(wc * (1 - post), y)
    a_c1, inf_c1 = _mean_part(wc * post, y)
    m2 = [(X * (wk * (y - a))[:, None]).mean(0) / wk.mean()
          for wk, a in ((wc * (1 - post), a_c0), (wc * post, a_c1))]
    inf_c = inf_c1 - inf_c0 + lin_ps @ (m2[1] - m2[0])
    return (a_t1 - a_t0) - (a_c1 - a_c0), (inf_t1 - inf_t0) - inf_c


def _dr(y, post, D, X, w):
    ps, keep, lin_ps = _pscore(D, X, w)
    fits = {(d, p): _wls(y, X, w * (D == d) * (post == p)) for d in (0, 1) for p in (0, 1)}
    (oc0, lc0), (oc1, lc1) = fits[0, 0], fits[0, 1]
    (ot0, lt0), (ot1, lt1) = fits[1, 0], fits[1, 1]
    r = y - (post * oc1 + (1 - post) * oc0)
    wd = keep * w * D
    wt0, wt1 = wd * (1 - post), wd * post
    wc = keep * w * ps * (1 - D) / (1 - ps)
    wc0, wc1 = wc * (1 - post), wc * post
    a_t0, inf_t0 = _mean_part(wt0, r)
    a_t1, inf_t1 = _mean_part(wt1, r)
    a_c0, inf_c0 = _mean_part(wc0, r)
    a_c1, inf_c1 = _mean_part(wc1, r)
    a_d1, inf_d1 = _mean_part(wd, ot1 - oc1)
    a_dt1, inf_dt1 = _mean_part(wt1, ot1 - oc1)
    a_d0, inf_d0 = _mean_part(wd, ot0 - oc0)
    a_dt0, inf_dt0 = _mean_part(wt0, ot0 - oc0)
    att = (a_t1 - a_t0) - (a_c1 - a_c0) + (a_d1 - a_dt1) - (a_d0 - a_dt0)

    def mom(wk, v=None):  # mean(wk v X) / mean(wk)
        v = 1.0 if v is None else v
        return (X * (wk * v)[:, None]).mean(0) / wk.mean()

    # post * X in R's M1/M3 is X on the rows where wk is nonzero already
    inf_treat = inf_t1 - inf_t0 - lc1 @ mom(wt1) + lc0 @ mom(wt0)
    inf_cont = (inf_c1 - inf_c0 + lin_ps @ (mom(wc1, r - a_c1) - mom(wc0, r - a_c0))
                - lc1 @ mom(wc1) + lc0 @ mom(wc0))
    inf_eff = (inf_d1 - inf_dt1) - (inf_d0 - inf_dt0)
    inf_or = ((lt1 - lc1) @ (mom(wd) - mom(wt1)) - (lt0 - lc0) @ (mom(wd) - mom(wt0)))
    return att, inf_treat - inf_cont + inf_eff + inf_or


def rc_cell(y: np.ndarray, post: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray,
            method: str):
    """(att, influence function on the stacked rows) of one repeated-cross-section 2x2.

    Examples
    --------
    >>> y = np.array([0., 2., 0., 3., 0., 1., 1., 1.])
    >>> post = np.array([0, 1] * 4, float)
    >>> D = np.array([1, 1, 1, 1, 0, 0, 0, 0], float)
    >>> att, _ = rc_cell(y, post, D, np.ones((8, 1)), np.ones(8), "reg")
    >>> float(att)  # (2 + 3)/2 - (1 + 0)/2
    2.0
    """
    w = w / w.mean()
    est = {"reg": _reg, "ipw": _ipw, "dr": _dr}[method]
    return est(y, post.astype(float), D.astype(float), X, w)
