"""Phillips-Sul log t convergence test (the test behind club convergence; no clustering).

Phillips & Sul (2007, Econometrica 75:1771-1855): with relative transition paths
``h_it = x_it / mean_i x_it`` (``x`` is usually the log of per-capita income, often
HP-filtered first) and their cross-sectional variation ``H_t = mean_i (h_it - 1)^2``,
regress ``log(H_1 / H_t) - 2 log(log t) = a + b log t + u_t`` over
``t = [rT] + 1, ..., T`` (``r = time_trim``, default 1/3, ``[.]`` rounding half to even as
R). Convergence is rejected at 5 % when ``t_b < -1.65``; ``b = 2 alpha`` measures the
speed. The standard error of ``b`` uses the long-run variance of Phillips & Sul's GAUSS
code as ported to R ``ConvergenceClubs::estimateMod(HACmethod = "FQSB")`` (Sichera &
Pizzuto 2019): a Quadratic Spectral kernel with Andrews' AR(1) plug-in bandwidth and the
original's conventions (autocovariances over the first ``T - 1`` residuals, each scaled
by ``1 / (T - 1)``), kept so that t-statistics match published ones. The clustering of
units into clubs is :func:`dtistat.index.disparity.convergence_clubs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._results import Result, Summary
from dtistat.errors import DataError, ParameterError
from dtistat.index.disparity._data import as_panel, wide
from dtistat.index.disparity._logt_batch import log_t_rows, trimmed_start

__all__ = ["LogTResult", "log_t_test"]


@dataclass(frozen=True, eq=False, repr=False)
class LogTResult(Result):
    """The log t regression: ``beta`` (= 2 alpha), its standard error, t, p and H_t."""

    beta: float
    std_error: float
    t_value: float
    p_value: float
    intercept: float
    H: pd.Series
    time_trim: float
    nobs: int
    _kind = "LogT"

    @property
    def converges(self) -> bool:
        """Whether convergence is not rejected at 5 % (``t > -1.65``)."""
        return self.t_value > -1.65

    def _headline(self) -> list[str]:
        return [f"b={self.beta:.4f}", f"t={self.t_value:.3f}",
                "converges" if self.converges else "no convergence"]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"beta": [self.beta], "std_error": [self.std_error],
                             "t_value": [self.t_value], "p_value": [self.p_value],
                             "converges": [self.converges]})

    def summary(self) -> Summary:
        return Summary("Phillips-Sul log t test", self.to_frame(),
                       header=[("Periods in the regression", self.nobs),
                               ("time_trim", self.time_trim)],
                       notes=[("H0: convergence; rejected at 5% when t < -1.65 "
                              "(left-tail normal p-value).")])


def log_t_test(data: Any, *, value: str | None = None, entity: str | None = None,
               time: str | None = None, time_trim: float = 1 / 3,
               hac: str = "fqsb") -> LogTResult:
    """Phillips-Sul log t test of convergence of all units.

    Parameters
    ----------
    data : IndexResult or DataFrame
        A balanced long panel of the (log, possibly filtered) variable; values are used
        as given.
    time_trim : float
        Share ``r`` of initial periods left out of the regression (0 < r < 1).
    hac : {"fqsb", "aqsb"}
        Long-run variance: Phillips & Sul's fixed-bandwidth QS (R ``HACmethod="FQSB"``)
        or R's ``sandwich::vcovHAC`` (``"AQSB"``).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(1, 41)
    >>> x = 5 + rng.normal(0, 1, (30, 1)) / t + rng.normal(0, 0.01, (30, 40))
    >>> df = pd.DataFrame({"e": np.repeat(range(30), 40), "t": np.tile(t, 30),
    ...                    "x": x.ravel()})
    >>> log_t_test(df, value="x", entity="e", time="t").converges
    True
    """
    if isinstance(time_trim, bool) or not isinstance(time_trim, int | float) \
            or not 0 < time_trim < 1:
        raise ParameterError(f"time_trim must be in (0, 1); got {time_trim!r}")
    v.check_choice(hac, ("fqsb", "aqsb"), "hac")
    p = as_panel(data, value=value, entity=entity, time=time, need_time=True)
    Wd = wide(p)
    X = Wd.to_numpy()
    mean = X.mean(axis=0)
    if np.any(mean == 0):
        raise DataError(f"the cross-section mean of {p.value!r} is zero in some period: "
                        "relative transition paths are undefined")
    H = ((X / mean - 1.0) ** 2).mean(axis=0)
    T = H.size
    start = trimmed_start(T, time_trim)
    if T - start < 5:
        raise DataError(f"{T} periods leave {T - start} for the log t regression; need 5")
    if np.any(H <= 0):
        raise DataError("the cross-sectional variation H_t is zero in some period (all units "
                        "equal): the log t regression is undefined")
    r = log_t_rows(H[None, :], time_trim, hac=hac)  # the one kernel (also of the clubs)
    return LogTResult(beta=float(r["beta"][0]), std_error=float(r["std_error"][0]),
                      t_value=float(r["t_value"][0]), p_value=float(r["p_value"][0]),
                      intercept=float(r["intercept"][0]),
                      H=pd.Series(H, index=Wd.columns, name="H"),
                      time_trim=float(v.check_level(time_trim, "time_trim")),
                      nobs=T - start)
