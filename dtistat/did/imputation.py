"""Imputation DiD (Borusyak, Jaravel and Spiess 2024) with Gardner's two-stage covariance.

Borusyak, Jaravel and Spiess (2024, Rev. Econ. Stud. 91(6)): fit unit and period effects
on the untreated observations only (never treated, and treated units before their first
treated period), impute the untreated outcome of every treated observation, and average
the differences ``tau_it = y_it - a_i - l_t``: over all treated observations (the ATT) and
by event time ``t - g`` (the dynamic effects, e >= 0). The estimates equal Gardner's
(2022) two-stage DiD, whose clustered covariance (R ``did2s``, pyfixest ``did2s``)
accounts for the first stage:
``V = (X2'X2)^-1 sum_g W_g W_g' (X2'X2)^-1``, ``W_g = X2_g'u2_g - X2'X1 (X10'X10)^-1
X10_g'u1_g``, no small-sample factor.

The first stage is solved through the Schur complement on the period block (the unit
block of the normal equations is diagonal), so memory grows with units + periods, not
with their product.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.did._data import prepare_panel
from dtistat.did.results import EventStudyResult
from dtistat.errors import DataError

__all__ = ["fit_imputation"]


class _FirstStage:
    """Normal equations of y on unit and period dummies over the untreated cells."""

    def __init__(self, U: np.ndarray):
        # U[i, s] = 1 for untreated cells; the first period's dummy is dropped
        self.U = U
        self.n_i = U.sum(1)
        self.C = U[:, 1:]
        self.S = np.diag(U[:, 1:].sum(0)) - (self.C / self.n_i[:, None]).T @ self.C

    def solve(self, r_i: np.ndarray, r_t: np.ndarray):
        """(A^-1 r) split into the unit and period parts (columns = right-hand sides)."""
        z_t = np.linalg.solve(self.S, r_t - self.C.T @ (r_i / self.n_i[:, None]))
        z_i = (r_i - self.C @ z_t) / self.n_i[:, None]
        return z_i, z_t


def fit_imputation(data: pd.DataFrame, *, y: str, treat_time: str, entity: str, time: str,
                   cluster: str | None = None, level: float = 0.95) -> EventStudyResult:
    """Imputation DiD (see :func:`dtistat.did.fit_did` with ``estimator="imputation"``).

    Returns an :class:`EventStudyResult` with the event-time effects (e >= 0) as
    ``params`` and the overall ATT in ``overall`` / ``overall_se``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(30), 5), "t": np.tile(np.arange(5), 30),
    ...                    "g": np.repeat([2] * 10 + [3] * 10 + [0] * 10, 5)})
    >>> tr = (df.g > 0) & (df.t >= df.g)
    >>> df["y"] = 0.1 * df.id + 0.5 * df.t + tr * (1.0 + (df.t - df.g))
    >>> r = fit_imputation(df, y="y", treat_time="g", entity="id", time="t")
    >>> np.round(r.params.to_numpy(), 6).tolist(), round(r.overall, 6)
    ([1.0, 2.0, 3.0], 1.8)
    """
    panel = prepare_panel(data, y=y, treat_time=treat_time, entity=entity, time=time,
                          cluster=cluster if cluster != entity else None)
    Y, G, times = panel.Y, panel.G, panel.times
    n, T = Y.shape
    treated = (G[:, None] > 0) & (times[None, :] >= G[:, None])
    U = (~treated).astype(float)
    empty = np.flatnonzero(U.sum(0) == 0)
    if len(empty):
        raise DataError(f"no untreated unit in {time}={times[empty[0]]:g}: the period effect "
                        "cannot be imputed (imputation needs never-treated or not-yet-treated "
                        "units in every period; drop the periods after the last cohort is "
                        "treated)")
    fs = _FirstStage(U)
    a, lam = fs.solve((U * Y).sum(1)[:, None], (U * Y).sum(0)[1:, None])
    lam = np.concatenate([[0.0], lam[:, 0]])
    u1 = (Y - a - lam[None, :]) * U  # first-stage residuals, untreated cells
    tau = np.where(treated, Y - a - lam[None, :], 0.0)
    # second stage: the static treatment dummy and one dummy per event time e >= 0
    e = np.where(treated, times[None, :] - G[:, None], np.nan)
    events = np.unique(e[treated])
    X2 = np.concatenate([treated[..., None].astype(float),
                         (e[..., None] == events[None, None, :]).astype(float)], axis=2)
    k = X2.shape[2]
    counts = X2.reshape(-1, k).sum(0)
    beta = (X2 * tau[..., None]).reshape(-1, k).sum(0) / counts
    u2_static = np.where(treated, tau - beta[0], 0.0)
    u2_dyn = np.where(treated, tau - beta[1:][np.searchsorted(events, np.nan_to_num(e))], 0.0)
    # X2'X1 as unit and period sums, then V = X2'X1 (X10'X10)^-1 via the Schur solve
    x2x1_i = X2.sum(1)
    x2x1_t = X2.sum(0)[1:]
    v_i, v_t = fs.solve(x2x1_i, x2x1_t)
    v_t = np.vstack([np.zeros((1, k)), v_t])
    # per-cell score: X2 u2 - u1 (V[:, unit] + V[:, period])
    score = (X2 * np.concatenate([u2_static[..., None], np.repeat(u2_dyn[..., None], k - 1,
                                                                   axis=2)], axis=2)
             - u1[..., None] * (v_i[:, None, :] + v_t[None, :, :]))
    per_unit = score.sum(1)
    cl = panel.cluster if panel.cluster is not None else np.arange(n)
    S = np.zeros((int(cl.max()) + 1, k))
    np.add.at(S, cl, per_unit)
    bread = 1.0 / counts  # X2'X2 is diagonal within each stage
    V = bread[:, None] * (S.T @ S) * bread[None, :]
    labels = [f"e={x:g}" for x in events]
    return EventStudyResult(
        params=pd.Series(beta[1:], index=labels, name="estimate"),
        cov=pd.DataFrame(V[1:, 1:], index=labels, columns=labels), df_inference=None,
        level=level, nobs=int(n * T), event_times=events, reference=(),
        estimator="imputation", overall=float(beta[0]), overall_se=float(np.sqrt(V[0, 0])))
