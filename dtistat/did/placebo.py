"""Placebo tests of a staggered DiD: fake treatment timing and random reassignment of treated units.

* :func:`placebo_timing` moves every cohort's treatment ``k`` periods earlier and re-runs
  the TWFE DiD on the periods before the true treatment (the real effect cannot leak
  in); a placebo "effect" far from zero flags anticipation or diverging trends.
* :func:`placebo_reassign` draws placebo treated units at random (keeping the cohort
  sizes, or drawing times from the observed ones) B times and compares the actual TWFE
  estimate with the placebo distribution (empirical p-value, the density plot papers
  show).

Speed: in a balanced panel the TWFE coefficient is ``<D, P y> / <D, P D>`` with ``P`` the
annihilator of the two-way effects (and covariates). ``P y`` is computed once; a draw's
numerator is then a sum over units of ``C[i, k_i]`` = the outcome residual summed over
the periods unit i is treated if it joins cohort k, and its denominator follows from the
cohort counts of the draw (plus a small covariate correction). All draws are a gather
and a few (B x cohorts) products -- no regression per draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtistat._results import Result, Summary
from dtistat._validate import as_list, check_choice, check_positive_int, check_seed
from dtistat.did._data import prepare_panel
from dtistat.errors import DataError

__all__ = ["PlaceboResult", "PlaceboTimingResult", "placebo_reassign", "placebo_timing"]


@dataclass(frozen=True, eq=False, repr=False)
class PlaceboResult(Result):
    """Random-reassignment placebo: the actual estimate against B placebo estimates.

    Attributes
    ----------
    estimate : float
        TWFE DiD estimate with the actual treatment.
    draws : ndarray (B,)
        Placebo estimates.
    p_value : float
        Two-sided empirical p-value ``(1 + #{|b| >= |estimate|}) / (B + 1)``.
    scheme : str
    """

    estimate: float
    draws: np.ndarray
    p_value: float
    scheme: str

    _kind = "Placebo (random reassignment)"

    def _headline(self) -> list[str]:
        return [f"estimate = {self.estimate:.4f}", f"B = {len(self.draws)}",
                f"p = {self.p_value:.4g}"]

    def to_frame(self) -> pd.DataFrame:
        """The placebo estimates, one row per draw."""
        return pd.DataFrame({"draw": np.arange(len(self.draws)), "estimate": self.draws})

    def summary(self) -> Summary:
        d = self.draws
        t = pd.DataFrame({"value": [self.estimate, d.mean(), d.std(ddof=1),
                                    np.quantile(d, 0.025), np.quantile(d, 0.975),
                                    self.p_value]},
                         index=["actual estimate", "placebo mean", "placebo sd",
                                "placebo 2.5%", "placebo 97.5%", "empirical p-value"])
        return Summary("Placebo test: random reassignment of treated units", t,
                       header=[("Draws", len(d)), ("Scheme", self.scheme)])


@dataclass(frozen=True, eq=False, repr=False)
class PlaceboTimingResult(Result):
    """Fake-timing placebos: one TWFE estimate per shift (``table``)."""

    table: pd.DataFrame

    _kind = "Placebo (fake timing)"

    def _headline(self) -> list[str]:
        return [f"shifts {', '.join(str(int(s)) for s in self.table.index)}"]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        return Summary("Placebo test: treatment moved earlier by k periods", self.table,
                       notes=[("Sample: periods before each unit's true treatment; TWFE "
                               "with entity and period effects, clustered by entity.")])


def placebo_timing(data: pd.DataFrame, *, y: str, treat_time: str, entity: str, time: str,
                   shifts=(1, 2, 3), covariates=None, cluster: str | None = None,
                   level: float = 0.95) -> PlaceboTimingResult:
    """TWFE DiD with each cohort's treatment moved ``k`` periods earlier, for k in ``shifts``.

    Only the periods before each unit's true treatment are kept; cohorts whose fake time
    is not after the first period of the panel drop out of the treated group (their
    pre-periods stay as comparison rows).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(60), 8), "t": np.tile(np.arange(8), 60),
    ...                    "g": np.repeat(rng.choice([4, 6, 0], 60), 8)})
    >>> df["y"] = rng.normal(size=480) + 2.0 * ((df.g > 0) & (df.t >= df.g))
    >>> r = placebo_timing(df, y="y", treat_time="g", entity="id", time="t", shifts=[2])
    >>> bool(abs(r.table.loc[2, "estimate"]) < 0.5)
    True
    """
    from dtistat.panel import fit_panel
    panel = prepare_panel(data, y=y, treat_time=treat_time, entity=entity, time=time,
                          covariates=as_list(covariates, "covariates"), fixed_covariates=False,
                          cluster=cluster if cluster != entity else None)
    covariates = as_list(covariates, "covariates")
    g = data[treat_time].fillna(0).to_numpy(dtype=float)
    t = data[time].to_numpy(dtype=float)
    keep = (g == 0) | (t < g)
    rows = []
    for k in shifts:
        k = check_positive_int(k, "shifts", minimum=1)
        fake = np.where(g > 0, g - k, 0.0)
        fake = np.where(fake > panel.times[0], fake, 0.0)
        frame = data.loc[keep, [entity, time, y, *covariates]].copy()
        frame["_placebo"] = ((fake[keep] > 0) & (t[keep] >= fake[keep])).astype(float)
        if frame["_placebo"].sum() == 0:
            raise DataError(f"shift {k}: no treated unit has a fake treatment period "
                            "inside its pre-treatment periods; use a smaller shift")
        if cluster and cluster != entity:
            frame[cluster] = data.loc[keep, cluster]
        res = fit_panel(frame, " + ".join([f"{y} ~ _placebo", *covariates]), entity=entity,
                        time=time, fe="twoway", cov="cluster", cluster=cluster or entity,
                        level=level)
        ci = res.conf_int().iloc[0]
        rows.append((k, float(res.params.iloc[0]), float(res.std_errors.iloc[0]),
                     float(res.pvalues.iloc[0]), float(ci.iloc[0]), float(ci.iloc[1]),
                     int(res.nobs)))
    table = pd.DataFrame(rows, columns=["shift", "estimate", "std_error", "p_value",
                                        "ci_low", "ci_high", "nobs"]).set_index("shift")
    return PlaceboTimingResult(table=table)


def _two_way_demean(M: np.ndarray) -> np.ndarray:
    """Two-way demeaning of a balanced (n, T[, p]) array (exact in balanced panels)."""
    return M - M.mean(1, keepdims=True) - M.mean(0, keepdims=True) + M.mean((0, 1),
                                                                             keepdims=True)


class _TWFEDraws:
    """TWFE coefficients of many cohort assignments on one balanced panel."""

    def __init__(self, Y: np.ndarray, Xs: np.ndarray | None, times: np.ndarray,
                 cohorts: np.ndarray):
        n, T = Y.shape
        self.n, self.T = n, T
        # A[k, t] = 1 if a unit of cohort k is treated in period t; last row: never treated
        self.A = np.vstack([(times[None, :] >= cohorts[:, None]).astype(float),
                            np.zeros((1, T))])
        self.npost = self.A.sum(1)
        Py = _two_way_demean(Y)
        self.XQX_inv = None
        if Xs is not None:
            Xt = _two_way_demean(Xs).reshape(n * T, -1)
            self.XQX_inv = np.linalg.inv(Xt.T @ Xt)
            Py = Py - (Xt @ (self.XQX_inv @ (Xt.T @ Py.ravel()))).reshape(n, T)
            # Z[i, k, :] = sum over periods cohort k is treated of unit i's demeaned X
            self.Z = np.einsum("kt,itp->ikp", self.A, _two_way_demean(Xs))
        self.C = Py @ self.A.T  # C[i, k]

    def estimates(self, K: np.ndarray) -> np.ndarray:
        """Coefficients for cohort codes ``K`` (B, n); code = row of ``A``."""
        n, T = self.n, self.T
        rows = np.arange(n)[None, :]
        num = self.C[rows, K].sum(1)
        m = self.A.shape[0]
        cnt = np.bincount((K + m * np.arange(len(K))[:, None]).ravel(),
                          minlength=m * len(K)).reshape(len(K), m)
        s_d = cnt @ self.npost
        s_row = cnt @ (self.npost / T) ** 2
        col = cnt @ self.A / n
        den = s_d - T * s_row - n * (col**2).sum(1) + s_d**2 / (n * T)
        if self.XQX_inv is not None:
            xd = self.Z[rows, K].sum(1)  # (B, p): X'Q D
            den = den - np.einsum("bp,pq,bq->b", xd, self.XQX_inv, xd)
        return num / den


def placebo_reassign(data: pd.DataFrame, *, y: str, treat_time: str, entity: str,
                     time: str, n_draws: int = 1000, scheme: str = "permute",
                     covariates=None, seed=None) -> PlaceboResult:
    """Random reassignment of treated units: the TWFE estimate against B placebo ones.

    Parameters
    ----------
    data, y, treat_time, entity, time :
        As :func:`dtistat.did.fit_did` (balanced panel).
    n_draws : int
        Placebo draws B.
    scheme : {"permute", "random"}
        ``"permute"``: shuffle the units' treatment times (cohort sizes kept);
        ``"random"``: draw as many treated units as there are, each with a treatment
        time drawn from the treated units' times.
    covariates : list, optional
        Time-varying controls of the TWFE regression.
    seed : int or numpy Generator

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(50), 6), "t": np.tile(np.arange(6), 50),
    ...                    "g": np.repeat(rng.choice([3, 4, 0], 50), 6)})
    >>> df["y"] = rng.normal(size=300) + 1.0 * ((df.g > 0) & (df.t >= df.g))
    >>> r = placebo_reassign(df, y="y", treat_time="g", entity="id", time="t",
    ...                      n_draws=200, seed=1)
    >>> r.p_value < 0.01
    True
    """
    check_choice(scheme, ("permute", "random"), "scheme")
    n_draws = check_positive_int(n_draws, "n_draws")
    rng = check_seed(seed)
    covariates = as_list(covariates, "covariates")
    panel = prepare_panel(data, y=y, treat_time=treat_time, entity=entity, time=time,
                          covariates=covariates, fixed_covariates=False)
    n, T = panel.Y.shape
    Xs = None
    if covariates:
        frame = data[[entity, time, *covariates]].sort_values([entity, time],
                                                              kind="mergesort")
        Xs = frame[covariates].to_numpy(dtype=float).reshape(n, T, len(covariates))
    cohorts = panel.groups
    code = np.where(panel.G == 0, len(cohorts), np.searchsorted(cohorts, panel.G))
    eng = _TWFEDraws(panel.Y, Xs, panel.times, cohorts)
    actual = float(eng.estimates(code[None, :])[0])
    if scheme == "permute":
        K = rng.permuted(np.broadcast_to(code, (n_draws, n)), axis=1)
    else:
        treated_codes = code[code < len(cohorts)]
        m = len(treated_codes)
        K = np.full((n_draws, n), len(cohorts))
        who = np.argsort(rng.random((n_draws, n)), axis=1)[:, :m]
        np.put_along_axis(K, who, rng.choice(treated_codes, size=(n_draws, m)), axis=1)
    draws = eng.estimates(K)
    p = (1 + np.count_nonzero(np.abs(draws) >= abs(actual))) / (n_draws + 1)
    return PlaceboResult(estimate=actual, draws=draws, p_value=float(p), scheme=scheme)
