"""Callaway-Sant'Anna group-time average treatment effects ATT(g,t) and their influence functions.

Callaway and Sant'Anna (2021, J. Econometrics 225(2)) identify the effect of cohort g
(units first treated in period g) in period t by a 2x2 difference in differences of the
cohort against a comparison group -- never-treated units, or units not yet treated by t
-- between t and a base period: g - 1 for t >= g, t - 1 before treatment (the "varying"
base period of R ``did::att_gt``, so pre-treatment cells test parallel trends period by
period) or g - 1 throughout (the "universal" base period of event-study regressions).
With ``anticipation`` = d periods, g - 1 becomes the last period before g - d and
not-yet-treated comparison units must be untreated by t + d (R ``did`` 2.5.1). Sampling
weights enter each 2x2 as DRDID's ``i.weights`` (scaled to mean one in the cell) and
the aggregations' cohort shares. Each 2x2 is estimated as in Sant'Anna and Zhao (2020,
J. Econometrics 219(1)) with covariates fixed at their unit values:

* ``"reg"`` outcome regression (R ``DRDID::reg_did_panel``),
* ``"ipw"`` standardized inverse probability weighting (``DRDID::std_ipw_did_panel``),
* ``"dr"`` doubly robust (``DRDID::drdid_panel``),

with DRDID's conventions: propensity scores capped at 1 - 1e-6 and comparison units with
scores at or above 0.995 trimmed. The influence function of each cell is scaled to the
whole sample (``n / n_cell`` on the cell's units, 0 elsewhere) as in ``att_gt``, so that
``se = sqrt(sum(psi^2)) / n`` and aggregations are linear maps of the same matrix.

Written by hand (not wrapped) because the estimates must be exactly R's while the cells
share one unit-by-period array and one influence-function matrix that the aggregations
and the batched multiplier bootstrap reuse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtistat.did._data import StaggeredPanel, _v
from dtistat.did._rc import rc_cell
from dtistat.errors import ConvergenceError, DataError, EstimationError

__all__ = ["GroupTime", "group_time_effects"]

_TRIM = 0.995
_PS_CAP = 1 - 1e-6


@dataclass(frozen=True, eq=False)
class GroupTime:
    """ATT(g,t) cells: ``att[k]`` for cohort ``group[k]`` in period ``time[k]``.

    ``base[k]`` is the base period, ``n_treated``/``n_control`` the units of each side
    and ``inf`` the (n, K) influence-function matrix on the units of the panel.
    """

    group: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    inf: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray


def _logit(D: np.ndarray, X: np.ndarray, w: np.ndarray | None = None,
           max_iter: int = 50) -> np.ndarray:
    """Fitted probabilities of a (weighted) logit of D on X by Newton-Raphson (R ``glm``
    binomial with prior weights ``w``, default 1)."""
    w = np.ones(len(D)) if w is None else w
    beta = np.zeros(X.shape[1])
    p0 = np.average(D, weights=w)
    beta[0] = np.log(p0 / (1 - p0))
    for _ in range(max_iter):
        with np.errstate(over="ignore"):  # a diverging beta (separation): p -> 0 or 1
            p = 1 / (1 + np.exp(-(X @ beta)))
        H = X.T @ (X * (w * p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(H, X.T @ (w * (D - p)))
        except np.linalg.LinAlgError:
            raise EstimationError("the propensity-score design is singular: a covariate "
                                  "has no variation in a cohort-period cell") from None
        beta = beta + step
        # Newton converges quadratically: iterate to machine precision, beyond glm's
        # deviance rule, so the scores do not depend on the stopping rule
        if np.max(np.abs(step)) < 1e-11 * (1 + np.max(np.abs(beta))):
            return 1 / (1 + np.exp(-(X @ beta)))
    raise ConvergenceError(f"the propensity-score logit did not converge in {max_iter} "
                           "Newton steps (separation? try method='reg')")


def _refuse_separation(panel: StaggeredPanel, X: np.ndarray, D: np.ndarray, g, t) -> None:
    """DataError naming the covariates when the cell's propensity logit is separated
    (Konis' LP test), instead of a 'singular design' or 'did not converge'."""
    from dtistat._separation import find_separation

    found = find_separation(X, D.astype(np.intp), 2) if X.shape[1] else None
    if found is None:
        return
    b = found[0]
    inv = [panel.covariates[j] for j in np.flatnonzero(np.abs(b) > 1e-6 * np.abs(b).max())]
    raise DataError(
        f"the propensity-score logit of cohort {panel.treat_time}={g:g} in period {t:g} "
        f"has (quasi-)complete separation: {', '.join(map(repr, inv))} perfectly "
        "predict(s) treatment, so no maximum-likelihood estimate exists and treated and "
        "comparison units do not overlap; use method='reg', or drop or coarsen the "
        "covariate")


def _ols_fit(dy: np.ndarray, X: np.ndarray, wc: np.ndarray):
    """Fitted values of the WLS of dy on X with weights ``wc`` (zero off the comparison
    units), and (X' diag(wc) X / n)^-1."""
    XtX = X.T @ (X * wc[:, None])
    try:
        beta = np.linalg.solve(XtX, X.T @ (wc * dy))
    except np.linalg.LinAlgError:
        raise EstimationError("the outcome-regression design is singular among the "
                              "comparison units (a covariate without variation?)") from None
    return X @ beta, np.linalg.inv(XtX / len(dy))


def _cell(dy: np.ndarray, D: np.ndarray, X: np.ndarray, w: np.ndarray, method: str):
    """One 2x2 DiD with sampling weights ``w`` (scaled to mean 1 in the cell, as DRDID):
    (att, influence function on the cell's units)."""
    n = len(dy)
    w = w / w.mean()
    c = 1.0 - D
    if method == "reg":
        out, xpx_inv = _ols_fit(dy, X, w * c)
        w_t = w * D
        eta_t = np.mean(w_t * dy) / w_t.mean()
        eta_c = np.mean(w_t * out) / w_t.mean()
        lin_ols = ((w * c * (dy - out))[:, None] * X) @ xpx_inv
        inf_t = (w_t * dy - w_t * eta_t) / w_t.mean()
        inf_c = (w_t * out - w_t * eta_c + lin_ols @ (X * w_t[:, None]).mean(0)) / w_t.mean()
        return eta_t - eta_c, inf_t - inf_c
    ps = np.minimum(_logit(D, X, w), _PS_CAP)
    keep = np.where(c > 0, ps < _TRIM, True)
    w_t = keep * w * D
    w_c = keep * w * ps * c / (1 - ps)
    info = X.T @ (X * (w * ps * (1 - ps))[:, None])
    lin_ps = ((w * (D - ps))[:, None] * X) @ (np.linalg.inv(info) * n)
    if method == "ipw":
        eta_t = np.mean(w_t * dy) / w_t.mean()
        eta_c = np.mean(w_c * dy) / w_c.mean()
        inf_t = (w_t * dy - w_t * eta_t) / w_t.mean()
        m2 = (X * (w_c * (dy - eta_c))[:, None]).mean(0)
        inf_c = (w_c * dy - w_c * eta_c + lin_ps @ m2) / w_c.mean()
        return eta_t - eta_c, inf_t - inf_c
    out, xpx_inv = _ols_fit(dy, X, w * c)
    r = dy - out
    eta_t = np.mean(w_t * r) / w_t.mean()
    eta_c = np.mean(w_c * r) / w_c.mean()
    lin_ols = ((w * c * r)[:, None] * X) @ xpx_inv
    inf_t = (w_t * r - w_t * eta_t - lin_ols @ (X * w_t[:, None]).mean(0)) / w_t.mean()
    m2 = (X * (w_c * (r - eta_c))[:, None]).mean(0)
    m3 = (X * w_c[:, None]).mean(0)
    inf_c = (w_c * r - w_c * eta_c + lin_ps @ m2 - lin_ols @ m3) / w_c.mean()
    return eta_t - eta_c, inf_t - inf_c


def cell_plan(groups: np.ndarray, times: np.ndarray, anticipation: float = 0,
              base_period: str = "varying"):
    """The (cohort, period index, base index) triples of R ``did::att_gt``.

    After treatment (t >= g) the base is the last period before ``g - anticipation``;
    before it, ``t - 1`` ("varying") or that same period ("universal", whose base cell
    itself is a normalization to zero and is left out).
    """
    out = []
    first = 0 if base_period == "universal" else 1
    for g in groups:
        base_g = int(np.flatnonzero(times + anticipation < g)[-1])
        for s in range(first, len(times)):
            if base_period == "universal" or times[s] >= g:
                base = base_g
            else:
                base = s - 1
            if base != s:
                out.append((g, s, base))
    return out


def group_time_effects(panel: StaggeredPanel, *, control: str = "never",
                       method: str = "reg", anticipation: float = 0,
                       base_period: str = "varying") -> GroupTime:
    """All ATT(g,t) of the panel with their influence functions.

    Parameters
    ----------
    panel : StaggeredPanel
        With ``panel.W`` set, every cell is weighted by the units' sampling weights.
    control : {"never", "notyet"}
        Comparison units: never treated, or not yet treated by period
        ``max(t, base) + anticipation`` (plus never treated). Without never-treated
        units, ``"notyet"`` follows R ``did``: the last cohort serves as comparison and
        periods from ``its treatment - anticipation`` on are dropped.
    method : {"reg", "ipw", "dr"}
    anticipation : float
        Periods (in units of the time column) before treatment in which outcomes may
        already respond; the base period of cohort g is the last before ``g -
        anticipation``.
    base_period : {"varying", "universal"}
        R ``did``'s pre-treatment base periods (see :func:`cell_plan`).

    Returns
    -------
    GroupTime

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat.did._data import prepare_panel
    >>> df = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3, 4, 4], "t": [1, 2] * 4,
    ...                    "y": [0., 2., 0., 3., 0., 1., 1., 1.], "g": [2, 2, 2, 2, 0, 0, 0, 0]})
    >>> gt = group_time_effects(prepare_panel(df, y="y", treat_time="g", entity="id", time="t"))
    >>> float(gt.att[0])  # (2 + 3)/2 - (1 + 0)/2
    2.0
    """
    G, times, Y = panel.G, panel.times, panel.Y
    n = panel.n
    X = np.column_stack([np.ones(n), panel.X])
    W = np.ones(n) if panel.W is None else panel.W
    never = G == 0
    if not never.any():
        if control == "never":
            raise DataError(f"no never-treated unit ({panel.treat_time} = 0 or missing): "
                            "use control='notyet' (not-yet-treated comparison units)")
        gmax = G.max()
        G = np.where(G == gmax, 0.0, G)
        never = G == 0
        keep_t = times < gmax - anticipation
        times, Y = times[keep_t], Y[:, keep_t]
    else:
        keep_t = slice(None)
    groups = np.unique(G[G != 0])
    _refuse_small_cohorts(panel, G, groups, W)
    obs = None if panel.observed is None else panel.observed[:, keep_t]
    cells, atts, infs, n1s, n0s = [], [], [], [], []
    for g, s, base in cell_plan(groups, times, anticipation, base_period):
        treated = G == g
        later = max(times[s], times[base]) + anticipation
        ctrl = never if control == "never" else never | ((G > later) & ~treated)
        if not (W * ctrl).any():  # no comparison unit (of positive weight)
            continue
        try:
            if obs is None:
                out = _panel_cell(Y, X, W, treated, ctrl, s, base, method)
            else:
                out = _rc_cell(Y, X, W, obs, treated, ctrl, s, base, method)
        except EstimationError:
            if method == "reg":
                raise
            rows = treated | ctrl
            _refuse_separation(panel, X[rows, 1:], treated[rows], g, times[s])
            raise
        if out is None:
            continue
        cells.append((g, times[s], times[base]))
        atts.append(out[0])
        infs.append(out[1])
        n1s.append(int(treated.sum()))
        n0s.append(int(ctrl.sum()))
    if not cells:
        raise DataError("no cohort-period cell has comparison units")
    c = np.array(cells)
    return GroupTime(c[:, 0], c[:, 1], c[:, 2], np.array(atts), np.column_stack(infs),
                     np.array(n1s), np.array(n0s))


def _panel_cell(Y, X, W, treated, ctrl, s, base, method):
    """A balanced-panel cell: (att, influence function on all n units)."""
    n = len(W)
    rows = treated | ctrl
    dy = Y[rows, s] - Y[rows, base]
    att, inf = _cell(dy, treated[rows].astype(float), X[rows], W[rows], method)
    full = np.zeros(n)
    full[rows] = inf * (n / rows.sum())
    return att, full


def _rc_cell(Y, X, W, obs, treated, ctrl, s, base, method):
    """An unbalanced-panel cell as two cross sections (R ``did`` with
    ``allow_unbalanced_panel``): the cohort's and comparison units' rows observed in t
    (post) and in the base period, DRDID's repeated-cross-section estimator, the row
    influence function scaled by n / rows and summed within units. None when a group
    has no row in one of the two periods (R: an NA cell)."""
    n = len(W)
    rows = treated | ctrl
    u1 = np.flatnonzero(rows & obs[:, s])
    u0 = np.flatnonzero(rows & obs[:, base])
    unit = np.concatenate([u1, u0])
    post = np.r_[np.ones(len(u1)), np.zeros(len(u0))]
    D = treated[unit].astype(float)
    if min(np.sum(D * post), np.sum(D * (1 - post)), np.sum((1 - D) * post),
           np.sum((1 - D) * (1 - post))) == 0:
        return None
    y = np.concatenate([Y[u1, s], Y[u0, base]])
    att, inf = rc_cell(y, post, D, X[unit], W[unit], method)
    full = np.zeros(n)
    np.add.at(full, unit, inf * (n / len(unit)))
    return att, full


def _refuse_small_cohorts(panel: StaggeredPanel, G: np.ndarray, groups: np.ndarray,
                          W: np.ndarray) -> None:
    for g in groups:
        if not W[G == g].any():
            raise DataError(f"cohort {panel.treat_time}={g:g} has zero sampling weight on "
                            "every unit: drop it or give it positive weights")
        if np.count_nonzero(G == g) < 2:
            i = int(np.argmax(G == g))
            raise DataError(f"cohort {panel.treat_time}={g:g} has a single unit "
                            f"({panel.entity}={_v(panel.units[i])}); its effect has no "
                            "standard error: merge it with a neighbouring cohort or drop it")
