"""PSM-DiD: propensity-score matching of treated and control observations, then TWFE DiD.

The usual recipe of the pilot-policy literature (e.g. the 宽带中国 papers): estimate the
probability of belonging to the treated group (ever treated) by a logit on the matching
covariates, pooled over all city-years or period by period; match each treated
observation to its nearest control(s) on the score, optionally within a caliper and with
or without replacement; check balance (standardized bias before and after, as Stata's
``pstest``); run the TWFE DiD on the matched observations.

Ties and order. Stata's ``psmatch2`` breaks ties and orders greedy matching by the
current sort order of the data, so its matches change when the data are re-sorted (its
help file asks users to sort randomly under a set seed). Here the result does not depend
on the input order: observations are ordered by (entity, time); among equidistant
controls the first in that order wins; without replacement, treated observations are
matched from the highest propensity score down (the hardest to match first, as R
``MatchIt``'s ``m.order = "largest"``), ties again in (entity, time) order.

Weights follow ``psmatch2``'s ``_weight``: 1 for matched treated observations and, for a
control, the number of times it is used divided by the number of neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtistat._results import CoefResult, Summary
from dtistat._scale import check_magnitude
from dtistat._separation import find_separation
from dtistat._validate import as_list, check_choice, check_positive_int
from dtistat.did._data import prepare_panel
from dtistat.did._greedy import greedy_match
from dtistat.did.cs import _logit
from dtistat.errors import ConvergenceError, DataError, EstimationError, ParameterError

__all__ = ["PSMDiDResult", "psm_did"]

# bytes of treated x control score distances held at once when matching with replacement
_MATCH_BYTES = 16 * 2**20


@dataclass(frozen=True, eq=False, repr=False)
class PSMDiDResult(CoefResult):
    """PSM-DiD: the TWFE DiD on the matched sample, the balance table and the matches.

    Attributes
    ----------
    params, cov : the DiD coefficient ``ATT`` (and the covariates' coefficients)
    balance : DataFrame
        Per covariate: treated and control means before and after matching,
        standardized bias (%) before/after and its reduction.
    matched : DataFrame
        The input keys with ``pscore``, ``treated_group`` and ``weight`` (0 = unused).
    n_treated_unmatched : int
        Treated observations off support (no control within the caliper).
    """

    params: pd.Series
    cov: pd.DataFrame
    df_inference: float | None
    level: float
    nobs: int
    balance: pd.DataFrame
    matched: pd.DataFrame
    n_treated_unmatched: int
    by: str

    _kind = "PSM-DiD"

    @property
    def att(self) -> float:
        return float(self.params.iloc[0])

    def _headline(self) -> list[str]:
        return [f"ATT = {self.att:.4f} ({float(self.std_errors.iloc[0]):.4f})",
                f"matched N = {self.nobs}"]

    def summary(self) -> Summary:
        return Summary("PSM-DiD: TWFE on the matched sample",
                       {"DiD": self.coef_table(), "Balance": self.balance},
                       header=[("Matched observations", self.nobs),
                               ("Matching", self.by),
                               ("Treated off support", self.n_treated_unmatched)])


def _pscore(X: np.ndarray, tr: np.ndarray, names: list, where: str) -> np.ndarray:
    """Propensity scores by a logit of ``tr`` on [1, X]; separation is refused.

    Under (quasi-)complete separation no maximum-likelihood estimate exists: Newton's
    steps diverge, or stop with scores of 0 or 1 that match nothing (or everything)
    and a balance table that hides it. Konis' LP test (:mod:`dtistat._separation`) runs
    when the logit fails or leaves a score within 1e-8 of 0 or 1.
    """
    Z = np.column_stack([np.ones(len(tr)), X])
    failed = None
    try:
        with np.errstate(over="ignore"):  # exp(-x'b) of a diverging b: checked below
            p = _logit(tr.astype(float), Z)
    except EstimationError as err:  # no convergence, or a Hessian singular at p = 0/1
        p, failed = None, err
    if p is not None and not np.any((p < 1e-8) | (p > 1 - 1e-8)):
        return p
    found = find_separation(X, tr.astype(np.intp), 2)
    if found is not None:
        b, rows = found
        inv = [names[j] for j in np.flatnonzero(np.abs(b) > 1e-6 * np.abs(b).max())]
        raise DataError(
            f"the propensity-score logit in {where} has (quasi-)complete separation: "
            f"{', '.join(map(repr, inv))} perfectly predict(s) treatment ({rows.size} "
            "observation(s) strictly on their side), so their scores are 0 or 1 and no "
            "maximum-likelihood estimate exists; treated and controls do not overlap "
            "there. Drop or coarsen "
            "the covariate, trim to the region of common support, or match on fewer "
            "covariates")
    if isinstance(failed, ConvergenceError):
        raise ConvergenceError(f"the propensity-score logit in {where} did not converge "
                               "in 50 Newton steps; rescale or drop covariates") from None
    if failed is not None:
        raise EstimationError(f"{where}: {failed}") from None
    return p


def _match_stratum(p_t, p_c, k, caliper, replacement):
    """Indices into the controls for each treated (rows), -1 when unmatched."""
    if not replacement:
        # hardest first: highest score first, stable for ties (row order)
        return greedy_match(p_t, p_c, k, caliper, np.argsort(-p_t, kind="stable"))
    out, hard = _nearest_sorted(p_t, p_c, k, caliper)
    rows = np.flatnonzero(hard)
    step = max(1, _MATCH_BYTES // (8 * max(len(p_c), 1)))
    for s in range(0, len(rows), step):  # ties at the window's edge: O(chunk x controls)
        r = rows[s:s + step]
        out[r] = _nearest(p_t[r], p_c, k, caliper)
    return out


def _nearest_sorted(p_t, p_c, k, caliper):
    """The k nearest controls from the 2k neighbours in score order, and the rows where
    that window cannot decide (a control outside it as near as the k-th: ties)."""
    order = np.argsort(p_c, kind="stable")
    sp = p_c[order]
    nc = len(sp)
    pos = np.searchsorted(sp, p_t)
    win = pos[:, None] + np.arange(-k, k)[None, :]
    valid = (win >= 0) & (win < nc)
    wc = np.clip(win, 0, nc - 1)
    D = np.where(valid, np.abs(p_t[:, None] - sp[wc]), np.inf)
    C = np.where(valid, order[wc], nc)
    # by distance, then control index (the stable argsort's order)
    srt = _rowwise_lexsort(C, D)
    D = np.take_along_axis(D, srt, axis=1)[:, :k]
    C = np.take_along_axis(C, srt, axis=1)[:, :k]
    left, right = pos - k - 1, pos + k
    d_out = np.minimum(
        np.where(left >= 0, np.abs(p_t - sp[np.clip(left, 0, nc - 1)]), np.inf),
        np.where(right < nc, np.abs(p_t - sp[np.clip(right, 0, nc - 1)]), np.inf))
    hard = ~(D[:, -1] < d_out)
    ok = np.isfinite(D) if caliper is None else D <= caliper
    return np.where(ok, C, -1), hard


def _rowwise_lexsort(C, D):
    """Per row: positions ordered by D, then C."""
    n, w = D.shape
    rows = np.repeat(np.arange(n), w)
    flat = np.lexsort((C.ravel(), D.ravel(), rows))
    return (flat - rows * w).reshape(n, w)


def _nearest(p_t, p_c, k, caliper):
    """The k nearest controls of each treated (ties: lowest control index), -1 if none.

    Equals ``argsort(d, kind="stable")[:, :k]`` on the distances without sorting every
    row: the k-th smallest distance by partition, then all closer controls and the
    first equidistant ones in index order.
    """
    d = np.abs(p_t[:, None] - p_c[None, :])
    if caliper is not None:
        d[d > caliper] = np.inf
    kk = min(k, d.shape[1])
    vk = np.partition(d, kk - 1, axis=1)[:, kk - 1:kk]
    less = d < vk
    eq = d == vk
    sel = less | (eq & (np.cumsum(eq, axis=1) <= kk - less.sum(axis=1, keepdims=True)))
    sel &= np.isfinite(d)
    rows, cols = np.nonzero(sel)
    order = np.lexsort((cols, d[rows, cols], rows))  # by distance, then index
    rows, cols = rows[order], cols[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    out = np.full((len(p_t), k), -1)
    out[rows, rank] = cols
    return out


def _std_bias(x_t, x_c, w_c, v_t, v_c) -> float:
    return 100 * (x_t.mean() - np.average(x_c, weights=w_c)) / np.sqrt((v_t + v_c) / 2)


def _balance(X, treat, w, names) -> pd.DataFrame:
    rows = []
    t, c = treat, ~treat
    mt, mc = (w > 0) & t, (w > 0) & c
    for j, name in enumerate(names):
        x = X[:, j]
        v_t, v_c = x[t].var(ddof=1), x[c].var(ddof=1)
        before = _std_bias(x[t], x[c], np.ones(c.sum()), v_t, v_c)
        after = _std_bias(x[mt], x[mc], w[mc], v_t, v_c)
        rows.append((name, x[t].mean(), x[c].mean(), before, x[mt].mean(),
                     np.average(x[mc], weights=w[mc]), after,
                     100 * (1 - abs(after) / abs(before)) if before else np.nan))
    return pd.DataFrame(rows, columns=["covariate", "treated_before", "control_before",
                                       "bias_before_%", "treated_after", "control_after",
                                       "bias_after_%", "reduction_%"]).set_index("covariate")


def psm_did(data: pd.DataFrame, *, y: str, treat_time: str, entity: str, time: str,
            covariates, by: str = "pooled", n_neighbors: int = 1,
            caliper: float | None = None, replacement: bool = True,
            cluster: str | None = None, level: float = 0.95) -> PSMDiDResult:
    """Propensity-score matching, balance table and the TWFE DiD on the matched sample.

    Parameters
    ----------
    data, y, treat_time, entity, time :
        As :func:`dtistat.did.fit_did` (balanced panel; ``treat_time`` 0 = never).
    covariates : str or list
        Matching covariates (may vary over time); also controls of the DiD.
    by : {"pooled", "period"}
        One logit and one matching over all observations, or period by period.
    n_neighbors : int
        Nearest neighbours per treated observation.
    caliper : float, optional
        Largest allowed score distance; treated observations without a control within
        it are off support and dropped.
    replacement : bool
        Whether a control may serve several treated observations.

    Returns
    -------
    PSMDiDResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 120
    >>> x = rng.normal(size=n)
    >>> g = np.where(rng.random(n) < 1 / (1 + np.exp(-x)), 4, 0)
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(n), 6), "t": np.tile(np.arange(6), n),
    ...                    "g": np.repeat(g, 6)})
    >>> df["x"] = np.repeat(x, 6) + rng.normal(size=len(df)) * 0.3
    >>> df["y"] = df.x + rng.normal(size=len(df)) * 0.1 + 0.5 * ((df.g > 0) & (df.t >= 4))
    >>> r = psm_did(df, y="y", treat_time="g", entity="id", time="t", covariates="x",
    ...             caliper=0.05)
    >>> bool(abs(r.att - 0.5) < 0.1), bool((r.balance["bias_after_%"].abs() < 10).all())
    (True, True)
    """
    from dtistat.panel import fit_panel
    covariates = as_list(covariates, "covariates")
    if not covariates:
        raise ParameterError("covariates= must name at least one matching covariate")
    check_choice(by, ("pooled", "period"), "by")
    k = check_positive_int(n_neighbors, "n_neighbors")
    if caliper is not None and not (isinstance(caliper, (int, float)) and caliper > 0):
        raise ParameterError(f"caliper must be a positive number, got {caliper!r}")
    prepare_panel(data, y=y, treat_time=treat_time, entity=entity, time=time,
                  covariates=covariates, fixed_covariates=False)
    check_magnitude(data[[y, *covariates]].to_numpy(dtype=float, na_value=np.nan),
                    [y, *covariates], "psm_did")
    frame = data[[entity, time, y, treat_time, *covariates]].copy()
    frame[treat_time] = frame[treat_time].fillna(0)
    frame = frame.sort_values([entity, time], kind="mergesort")
    X = frame[covariates].to_numpy(dtype=float)
    treat = frame[treat_time].to_numpy(dtype=float) > 0
    strata, levels = ((np.zeros(len(frame), int), [None]) if by == "pooled"
                      else pd.factorize(frame[time], sort=True))
    pscore = np.empty(len(frame))
    weight = np.zeros(len(frame))
    for s in np.unique(strata):
        rows = np.flatnonzero(strata == s)
        tr = treat[rows]
        if tr.all() or not tr.any():
            raise DataError(f"{'the sample' if by == 'pooled' else f'{time}={levels[s]!r}'} "
                            "has no treated or no control observation to match")
        where = "the sample" if by == "pooled" else f"{time}={levels[s]!r}"
        pscore[rows] = _pscore(X[rows], tr, covariates, where)
        t_rows, c_rows = rows[tr], rows[~tr]
        if not replacement and len(c_rows) < k * len(t_rows) and caliper is None:
            raise DataError(f"matching without replacement needs {k * len(t_rows)} controls; "
                            f"only {len(c_rows)} (use replacement=True)")
        m = _match_stratum(pscore[t_rows], pscore[c_rows], k, caliper, replacement)
        has = (m >= 0).any(1)
        weight[t_rows[has]] = 1.0
        for j in range(k):
            ok = m[:, j] >= 0
            np.add.at(weight, c_rows[m[ok, j]], 1.0 / k)
    unmatched = int((treat & (weight == 0)).sum())
    keep = weight > 0
    sub = frame.loc[keep].copy()
    g = sub[treat_time].to_numpy(dtype=float)
    sub["_did"] = ((g > 0) & (sub[time].to_numpy(dtype=float) >= g)).astype(float)
    if cluster and cluster != entity:
        sub[cluster] = data.loc[sub.index, cluster]
    # time-invariant matching covariates are absorbed by the unit effects: dropped
    res = fit_panel(sub, " + ".join([f"{y} ~ _did", *covariates]), entity=entity, time=time,
                    fe="twoway", cov="cluster", cluster=cluster or entity, level=level,
                    drop_absorbed=True)
    if "_did" not in res.params.index:
        raise DataError("the treatment dummy has no variation left in the matched sample "
                        "once the fixed effects are removed")
    names = ["ATT" if c == "_did" else c for c in res.params.index]
    matched = frame[[entity, time]].assign(pscore=pscore, treated_group=treat, weight=weight)
    return PSMDiDResult(
        params=pd.Series(res.params.to_numpy(), index=names, name="estimate"),
        cov=pd.DataFrame(res.cov.to_numpy(), index=names, columns=names),
        df_inference=res.df_inference, level=level, nobs=int(res.nobs),
        balance=_balance(X, treat, weight, covariates), matched=matched,
        n_treated_unmatched=unmatched, by=by)
