"""Sun-Abraham interaction-weighted event study.

Sun and Abraham (2021, J. Econometrics 225(2)): regress the outcome on cohort x
relative-period dummies (every relative period of every treated cohort except the
reference period, default -1) with unit and period fixed effects, the never-treated
units as the comparison cohort; each coefficient is a cohort-specific effect CATT(g,e).
The event-time estimate is their average weighted by the cohort shares among units
observed at that relative period, and its covariance is ``W V W'`` with ``V`` the
clustered covariance of the CATTs (R ``fixest::sunab`` / ``aggregate``). Without
never-treated units the last cohort is the comparison and the periods from its
treatment on are dropped (the paper's recommendation).

The regression is :func:`dtistat.panel.fit_panel`'s (two-way fixed effects, clustered by
entity), run by :mod:`dtistat.did._cells` on an integer cell code per row: memory is
O(rows x chunk), never a dense rows x cells design.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.did.results import EventStudyResult
from dtistat.did.twfe import _fit_cells_frame, _frame
from dtistat.errors import ParameterError
from dtistat.inference import check_small_sample

__all__ = ["fit_sun_abraham"]


def fit_sun_abraham(data: pd.DataFrame, *, y: str, treat_time: str, entity: str, time: str,
                    covariates=None, cluster: str | None = None, reference: int = -1,
                    level: float = 0.95, small_sample: str = "stata") -> EventStudyResult:
    """Sun-Abraham event study (see :func:`dtistat.did.fit_did` with ``estimator="sa"``).

    The cohort-specific coefficients are in ``result.cohort_effects`` (a frame with
    cohort, event_time, estimate, std_error, weight).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(36), 5), "t": np.tile(np.arange(1, 6), 36),
    ...                    "g": np.repeat([3] * 12 + [4] * 12 + [0] * 12, 5)})
    >>> df["y"] = np.cos(np.arange(180)) + ((df.g > 0) & (df.t >= df.g)) * 1.0
    >>> sa = fit_sun_abraham(df, y="y", treat_time="g", entity="id", time="t")
    >>> sa.event_study()["event_time"].tolist()
    [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]
    """
    small_sample = check_small_sample(small_sample)
    panel, frame, covariates = _frame(data, y, treat_time, entity, time, covariates, cluster)
    g = frame["_g"].to_numpy()
    if not (panel.G == 0).any():
        last = panel.G.max()
        frame = frame.loc[frame[time].to_numpy() < last].copy()
        g = frame["_g"].to_numpy()
        g = np.where(g == last, 0.0, g)
        frame["_g"] = g
    t = frame[time].to_numpy(dtype=float)
    observed = np.unique((t - g)[g > 0])
    if reference not in observed:
        raise ParameterError(f"reference={reference} is not an observed relative period; "
                             f"choose one of {', '.join(f'{k:g}' for k in observed)}")
    cells, cell = _cell_codes(g, t, reference)
    k = len(cells)
    fit = _fit_cells_frame(frame, y, cell, k, covariates, entity, time, cluster, small_sample,
                          lambda idx: [_name(cells, covariates, i) for i in idx])
    b = fit.params[:k]
    V = fit.cov[:k, :k]
    cg = np.array([c[0] for c in cells])
    ce = np.array([c[1] for c in cells])
    # cohort sizes in units (balanced panel: shares at each relative period)
    sizes = {gg: int(np.sum(panel.G == gg)) for gg in np.unique(cg)}
    n_g = np.array([sizes[gg] for gg in cg], dtype=float)
    events = np.unique(ce)
    W = np.zeros((len(events), k))
    for i, e in enumerate(events):
        m = ce == e
        W[i, m] = n_g[m] / n_g[m].sum()
    labels = [f"e={e:g}" for e in events]
    cohort = pd.DataFrame({"cohort": cg, "event_time": ce, "estimate": b,
                           "std_error": np.sqrt(np.diag(V)),
                           "weight": W[np.searchsorted(events, ce), np.arange(k)]})
    return EventStudyResult(
        params=pd.Series(W @ b, index=labels, name="estimate"),
        cov=pd.DataFrame(W @ V @ W.T, index=labels, columns=labels),
        df_inference=fit.df_inference, level=level, nobs=fit.nobs, event_times=events,
        reference=(reference,), estimator="Sun-Abraham", cohort_effects=cohort)


def _cell_codes(g: np.ndarray, t: np.ndarray, reference: int):
    """Sorted (cohort, relative period) cells of treated rows and each row's cell (-1: none)."""
    e = t - g
    inc = (g > 0) & (e != reference)
    pairs = np.unique(np.column_stack([g[inc], e[inc]]), axis=0)
    cell = np.full(len(g), -1, dtype=np.int64)
    if len(pairs):
        key = pairs[:, 0] * 1e6 + pairs[:, 1]  # lexicographic: relative periods < 1e6/2
        cell[inc] = np.searchsorted(key, g[inc] * 1e6 + e[inc])
    return [(float(a), float(b)) for a, b in pairs], cell


def _name(cells, covariates, i: int) -> str:
    if i < len(cells):
        return f"cohort {cells[i][0]:g} x relative period {cells[i][1]:g}"
    return covariates[i - len(cells)]
