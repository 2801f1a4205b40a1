"""Two-way fixed-effects DiD: the static regression and the event study with leads and lags.

Both are regressions of :func:`dtistat.panel.fit_panel` (entity and period effects,
standard errors clustered by entity unless ``cluster=`` says otherwise, Stata's
small-sample convention), so they share its covariance and its checks:

* static: ``y_it = a_i + l_t + b D_it + x_it'c + e_it`` with ``D_it = 1[t >= g_i]``;
* event study: one dummy per event time ``e = t - g_i`` of treated units except the
  reference period (default -1); with ``leads``/``lags`` the event times beyond the
  window are binned into the endpoints (``e <= -leads`` and ``e >= lags``), the usual
  specification of papers on staggered pilot policies. Never-treated units have all
  dummies 0. The joint Wald test of the leads is the parallel-trends pre-test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat._validate import as_list, check_positive_int, warn
from dtistat.did._cells import fit_cells
from dtistat.did._data import prepare_panel
from dtistat.did.results import EventStudyResult, TWFEResult
from dtistat.errors import ParameterError
from dtistat.inference import check_small_sample

__all__ = ["event_time_codes", "event_time_dummies", "fit_event_study", "fit_twfe"]


def _frame(data, y, treat_time, entity, time, covariates, cluster):
    covariates = as_list(covariates, "covariates")
    panel = prepare_panel(data, y=y, treat_time=treat_time, entity=entity, time=time,
                          covariates=covariates, fixed_covariates=False,
                          cluster=cluster if cluster != entity else None)
    cols = list(dict.fromkeys([entity, time, y, *covariates]
                              + ([cluster] if cluster and cluster != entity else [])))
    frame = data[cols].copy()
    frame["_g"] = data[treat_time].fillna(0).to_numpy(dtype=float)
    return panel, frame, covariates


def _fit(frame, y, terms, covariates, entity, time, cluster, level, small_sample):
    from dtistat.panel import fit_panel
    rhs = " + ".join([*terms, *covariates])
    return fit_panel(frame, f"{y} ~ {rhs}", entity=entity, time=time, fe="twoway",
                     cov="cluster", cluster=cluster or entity, level=level,
                     small_sample=small_sample)


def fit_twfe(data: pd.DataFrame, *, y: str, treat_time: str, entity: str, time: str,
             covariates=None, cluster: str | None = None, level: float = 0.95,
             small_sample: str = "stata") -> TWFEResult:
    """Static TWFE DiD (see :func:`dtistat.did.fit_did` with ``estimator="twfe"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(40), 4), "t": np.tile([1, 2, 3, 4], 40),
    ...                    "g": np.repeat([3] * 20 + [0] * 20, 4)})
    >>> df["y"] = 0.1 * df.id + 0.3 * df.t + 2.0 * ((df.g > 0) & (df.t >= df.g))
    >>> round(fit_twfe(df, y="y", treat_time="g", entity="id", time="t").att, 6)
    2.0
    """
    _, frame, covariates = _frame(data, y, treat_time, entity, time, covariates, cluster)
    frame["_treated_post"] = ((frame["_g"] > 0) & (frame[time] >= frame["_g"])).astype(float)
    res = _fit(frame, y, ["_treated_post"], covariates, entity, time, cluster, level,
               small_sample)
    names = ["ATT", *covariates]
    return TWFEResult(params=pd.Series(res.params.to_numpy(), index=names, name="estimate"),
                      cov=pd.DataFrame(res.cov.to_numpy(), index=names, columns=names),
                      df_inference=res.df_inference, level=level, nobs=res.nobs, panel=res)


def event_time_dummies(event_time: np.ndarray, treated: np.ndarray, *, leads: int | None,
                       lags: int | None, reference: int):
    """Dummy matrix of event times (binned at the window's ends) and their event times.

    Returns ``(D, kept)``: ``D[:, j]`` is 1 for treated rows at event time ``kept[j]``
    (or beyond it at a binned endpoint); the reference period has no column.
    """
    code, kept = event_time_codes(event_time, treated, leads=leads, lags=lags,
                                  reference=reference)
    D = np.column_stack([(code == j).astype(float) for j in range(len(kept))])
    return D, kept


def event_time_codes(event_time: np.ndarray, treated: np.ndarray, *, leads: int | None,
                     lags: int | None, reference: int):
    """:func:`event_time_dummies` as one code per row: the column of its 1, or -1.

    Examples
    --------
    >>> code, kept = event_time_codes(np.array([-2.0, -1.0, 0.0, 3.0, 0.0]),
    ...                               np.array([True, True, True, True, False]),
    ...                               leads=None, lags=2, reference=-1)
    >>> code.tolist(), kept.tolist()
    ([0, -1, 1, 2, -1], [-2.0, 0.0, 2.0])
    """
    e = np.where(treated, event_time, np.nan)
    lo = np.nanmin(e) if leads is None else -leads
    hi = np.nanmax(e) if lags is None else lags
    if not lo <= reference <= hi:
        raise ParameterError(f"reference={reference} lies outside the event window "
                             f"[{lo:g}, {hi:g}]")
    eb = np.clip(e, lo, hi)
    observed = np.unique(eb[np.isfinite(eb)])
    if reference not in observed:
        raise ParameterError(f"reference={reference} is not an observed event time; choose "
                             f"one of {', '.join(f'{k:g}' for k in observed)}")
    # observed event times only: with gaps (e.g. biennial data) some never occur
    kept = np.array([k for k in observed if k != reference], dtype=float)
    code = np.full(len(eb), -1, dtype=np.int64)
    ok = np.isfinite(eb) & (eb != reference)
    code[ok] = np.searchsorted(kept, eb[ok])
    return code, kept


def _fit_cells_frame(frame, y, code, k, covariates, entity, time, cluster, small_sample,
                    names_of):
    """:func:`dtistat.did._cells.fit_cells` on the columns of ``frame`` (two-way FE,
    clustered by ``cluster`` or the entity), warning as fit_panel on few clusters."""
    fit = fit_cells(frame[y].to_numpy(dtype=float),
                    frame[covariates].to_numpy(dtype=float).reshape(len(frame), -1),
                    code, k, pd.factorize(frame[entity])[0], pd.factorize(frame[time])[0],
                    pd.factorize(frame[cluster or entity])[0], small_sample=small_sample,
                    names_of=names_of)
    if fit.n_clusters < 30:
        warn(f"only {fit.n_clusters} clusters in {cluster or entity!r}: clustered standard "
             "errors are unreliable with fewer than about 30 clusters (consider a wild "
             "bootstrap)", stacklevel=4)
    return fit


def fit_event_study(data: pd.DataFrame, *, y: str, treat_time: str, entity: str, time: str,
                    covariates=None, cluster: str | None = None, leads: int | None = None,
                    lags: int | None = None, reference: int = -1,
                    level: float = 0.95, small_sample: str = "stata") -> EventStudyResult:
    """TWFE event study (see :func:`dtistat.did.fit_did` with ``estimator="event"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(36), 5), "t": np.tile(np.arange(1, 6), 36),
    ...                    "g": np.repeat([3] * 12 + [4] * 12 + [0] * 12, 5)})
    >>> df["y"] = np.cos(np.arange(180)) + ((df.g > 0) & (df.t >= df.g)) * 1.0
    >>> es = fit_event_study(df, y="y", treat_time="g", entity="id", time="t",
    ...                      leads=2, lags=1)
    >>> es.event_study()["event_time"].tolist()
    [-2.0, -1.0, 0.0, 1.0]
    """
    for name, v in (("leads", leads), ("lags", lags)):
        if v is not None:
            check_positive_int(v, name, minimum=0)
    small_sample = check_small_sample(small_sample)
    _, frame, covariates = _frame(data, y, treat_time, entity, time, covariates, cluster)
    treated = frame["_g"].to_numpy() > 0
    e = frame[time].to_numpy(dtype=float) - frame["_g"].to_numpy()
    code, kept = event_time_codes(e, treated, leads=leads, lags=lags, reference=reference)
    k = len(kept)
    fit = _fit_cells_frame(frame, y, code, k, covariates, entity, time, cluster, small_sample,
                          lambda idx: [f"event time {kept[i]:g}" if i < k
                                       else covariates[i - k] for i in idx])
    labels = [f"e={k:g}" for k in kept]
    binned = () if leads is None and lags is None else (kept.min(), kept.max())
    return EventStudyResult(
        params=pd.Series(fit.params[:k], index=labels, name="estimate"),
        cov=pd.DataFrame(fit.cov[:k, :k], index=labels, columns=labels),
        df_inference=fit.df_inference, level=level, nobs=fit.nobs, event_times=kept,
        reference=(reference,), estimator="TWFE", binned=binned)
