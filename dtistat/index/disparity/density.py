"""Kernel-density evolution: one density per period on a common grid, kernel and bandwidth named.

Kernels (``u = (x - x_i) / h``):

* ``"epanechnikov"`` -- Stata's ``kdensity`` default, rescaled to unit variance:
  ``K(u) = 3 / (4 sqrt 5) (1 - u^2 / 5)`` on ``|u| < sqrt 5``;
* ``"epan2"`` -- the textbook Epanechnikov ``3/4 (1 - u^2)`` on ``|u| < 1``
  (statsmodels ``kernel="epa"``; ``epanechnikov`` at ``h`` equals ``epan2`` at
  ``h sqrt 5``);
* ``"gaussian"`` -- the standard normal density (scipy ``gaussian_kde``).

Bandwidth rules, with ``A = min(sd, IQR / 1.349)`` (``sd`` with ``n - 1``, quartiles by
linear interpolation):

* ``"silverman"`` -- ``0.9 A n^(-1/5)`` (Silverman 1986, eq. 3.31; Stata's ``kdensity``
  rule and statsmodels ``bw="silverman"``) -- the default;
* ``"scott"`` -- ``1.059 A n^(-1/5)`` (Scott 1992; statsmodels ``bw="scott"``);
* a positive number -- a fixed bandwidth for every period.

Densities are evaluated exactly (no binning/FFT), ``O(n x grid)`` per period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._results import Result, Summary
from dtistat._scale import column_scale
from dtistat.errors import DataError, ParameterError
from dtistat.index.disparity._data import as_panel, check_values

__all__ = ["DensityResult", "bandwidth", "kernel_density"]

KERNELS = ("epanechnikov", "epan2", "gaussian")
RULES = {"silverman": 0.9, "scott": 1.059}
_S5 = np.sqrt(5.0)


def _kernel(u: np.ndarray, kernel: str) -> np.ndarray:
    if kernel == "gaussian":
        return np.exp(-0.5 * u * u) / np.sqrt(2 * np.pi)
    if kernel == "epan2":
        return np.where(np.abs(u) < 1, 0.75 * (1 - u * u), 0.0)
    return np.where(np.abs(u) < _S5, 0.75 / _S5 * (1 - u * u / 5), 0.0)


def bandwidth(x: np.ndarray, rule: str = "silverman") -> float:
    """Rule-of-thumb bandwidth ``c A n^(-1/5)`` (``c`` = 0.9 Silverman, 1.059 Scott).

    Examples
    --------
    >>> round(bandwidth(np.arange(10.0)), 4)
    1.7193
    """
    v.check_choice(rule, tuple(RULES), "bandwidth")
    x = np.asarray(x, dtype=float)
    c = float(column_scale(x)[0])  # power of two: the SD neither overflows nor underflows
    sd = c * (x / c).std(ddof=1)
    q75, q25 = np.percentile(x, [75, 25])
    iqr = (q75 - q25) / 1.349
    A = min(sd, iqr) if iqr > 0 else sd
    if A <= 0:
        raise DataError("the values have no spread: a rule-of-thumb bandwidth is zero")
    return float(RULES[rule] * A * x.size ** (-0.2))


@dataclass(frozen=True, eq=False, repr=False)
class DensityResult(Result):
    """Kernel densities per period.

    Attributes
    ----------
    density : DataFrame
        Grid points (index) x periods (columns).
    bandwidths : Series
        Bandwidth per period.
    features : DataFrame
        Period -> ``mode`` (location of the main peak), ``peak`` (its height),
        ``n_peaks`` (local maxima above 5 % of the main peak: polarization),
        ``p10``/``p90`` (tails), ``n``.
    kernel, rule : str
    """

    density: pd.DataFrame
    bandwidths: pd.Series
    features: pd.DataFrame
    kernel: str
    rule: str
    value: str
    _kind = "KernelDensity"

    def _headline(self) -> list[str]:
        return [self.value, f"kernel={self.kernel}", f"bandwidth={self.rule}",
                f"{self.density.shape[1]} period(s)"]

    def to_frame(self) -> pd.DataFrame:
        return self.density.copy()

    def summary(self) -> Summary:
        f = self.features.assign(bandwidth=self.bandwidths)
        return Summary(f"Kernel density of {self.value}", {"Distribution dynamics": f},
                       header=[("Kernel", self.kernel), ("Bandwidth", self.rule),
                               ("Grid points", self.density.shape[0])])


def _peaks(d: np.ndarray) -> int:
    inner = (d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:]) & (d[1:-1] > 0.05 * d.max())
    return int(inner.sum())


def kernel_density(data: Any, *, value: str | None = None, entity: str | None = None,
                   time: str | None = None, kernel: str = "epanechnikov",
                   bandwidth: str | float = "silverman", grid: Any = None,
                   n_grid: int = 200) -> DensityResult:
    """Kernel density of the value in each period, on one common grid.

    Parameters
    ----------
    data : IndexResult or DataFrame
    kernel : {"epanechnikov", "epan2", "gaussian"}
    bandwidth : {"silverman", "scott"} or float
    grid : array-like, optional
        Evaluation points; default ``n_grid`` points from the smallest value minus one
        bandwidth-support to the largest plus one.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"t": np.repeat([1, 2], 200), "y": rng.normal(size=400)})
    >>> r = kernel_density(df, value="y", time="t", kernel="gaussian")
    >>> bool(abs(np.trapezoid(r.density[1], r.density.index) - 1) < 1e-3)
    True
    """
    v.check_choice(kernel, KERNELS, "kernel")
    if isinstance(bandwidth, str):
        v.check_choice(bandwidth, tuple(RULES), "bandwidth")
    elif isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float) \
            or not np.isfinite(bandwidth) or bandwidth <= 0:
        raise ParameterError(f"bandwidth must be 'silverman', 'scott' or a positive number; "
                             f"got {bandwidth!r}")
    n_grid = v.check_positive_int(n_grid, "n_grid", minimum=10)
    p = as_panel(data, value=value, entity=entity, time=time)
    check_values(p, "kernel density", negatives=True, min_units=3)
    per = list(p.by_period())
    hs = {t: (float(bandwidth) if not isinstance(bandwidth, str)
              else _checked_bw(sub["_value"].to_numpy(), bandwidth, t)) for t, sub in per}
    reach = {"gaussian": 4.0, "epan2": 1.0, "epanechnikov": _S5}[kernel]
    if grid is None:
        y = p.frame["_value"].to_numpy()
        hmax = max(hs.values())
        grid = np.linspace(y.min() - reach * hmax, y.max() + reach * hmax, n_grid)
    else:
        grid = np.asarray(grid, dtype=float).ravel()
        if grid.size < 2 or not np.all(np.isfinite(grid)):
            raise ParameterError("grid must hold at least two finite points")
    cols, feats = {}, []
    for t, sub in per:
        x, h = sub["_value"].to_numpy(), hs[t]
        d = _kernel((grid[:, None] - x[None, :]) / h, kernel).sum(axis=1) / (x.size * h)
        cols[t] = d
        feats.append((t, grid[int(np.argmax(d))], d.max(), _peaks(d),
                      np.percentile(x, 10), np.percentile(x, 90), x.size))
    tname = p.time or "period"
    dens = pd.DataFrame(cols, index=pd.Index(grid, name=p.value))
    dens.columns.name = tname
    features = pd.DataFrame([f[1:] for f in feats],
                            index=pd.Index([f[0] for f in feats], name=tname),
                            columns=["mode", "peak", "n_peaks", "p10", "p90", "n"])
    return DensityResult(density=dens, bandwidths=pd.Series(hs, name="bandwidth"),
                         features=features, kernel=kernel,
                         rule=bandwidth if isinstance(bandwidth, str) else f"fixed {bandwidth:g}",
                         value=p.value)


def _checked_bw(x: np.ndarray, rule: str, t) -> float:
    try:
        return bandwidth(x, rule)
    except DataError:
        raise DataError(f"period {t!r}: the values have no spread, so the {rule} bandwidth "
                        "is zero; pass a fixed bandwidth") from None
