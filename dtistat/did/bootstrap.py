"""Multiplier bootstrap of influence functions: standard errors and uniform confidence bands.

Callaway and Sant'Anna (2021, section 4.1): with ``psi`` the (n, K) influence functions
of K estimates, each draw is ``sum_i v_i psi_i / n`` with Rademacher multipliers
``v_i`` (one per cluster when clustering, applied to cluster sums). All draws are one
matrix product ``V @ psi`` (B x n times n x K), in blocks of rows to bound memory.
Standard errors are the robust ones of R ``did::mboot``: the interquartile range of
the draws divided by that of the normal (quantile type 1); the uniform critical value is
the ``level`` quantile of ``max_k |draw_k| / se_k``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["analytic_se", "bootstrap_se", "cluster_sums", "multiplier_bootstrap"]

_BLOCK_BYTES = 64 * 2**20


def cluster_sums(inf: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Rows of ``inf`` summed within clusters (``inf`` itself when ``cluster`` is None)."""
    if cluster is None:
        return inf
    g = int(cluster.max()) + 1
    out = np.zeros((g, inf.shape[1]))
    np.add.at(out, cluster, inf)
    return out


def analytic_se(inf: np.ndarray, cluster: np.ndarray | None = None) -> np.ndarray:
    """``sqrt(sum_c S_c^2) / n``: the influence-function standard errors."""
    S = cluster_sums(inf, cluster)
    return np.sqrt((S * S).sum(0)) / inf.shape[0]


def multiplier_bootstrap(inf: np.ndarray, n_boot: int, rng: np.random.Generator,
                         cluster: np.ndarray | None = None) -> np.ndarray:
    """(n_boot, K) draws of ``sum_c v_c S_c / n`` with Rademacher ``v``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> psi = rng.normal(size=(400, 2))
    >>> d = multiplier_bootstrap(psi, 2000, np.random.default_rng(1))
    >>> bool(np.allclose(d.std(0), analytic_se(psi), rtol=0.1))
    True
    """
    S = cluster_sums(inf, cluster)
    m, K = S.shape
    col_sum = S.sum(0)
    out = np.empty((n_boot, K))
    rows = max(1, min(n_boot, _BLOCK_BYTES // (8 * m)))
    for start in range(0, n_boot, rows):
        b = min(rows, n_boot - start)
        # v = 2u - 1 with u in {0, 1}:  v @ S = 2 (u @ S) - colsum(S)
        u = rng.integers(0, 2, size=(b, m), dtype=np.int8).astype(np.float64)
        out[start:start + b] = 2.0 * (u @ S) - col_sum
    return out / inf.shape[0]


def bootstrap_se(draws: np.ndarray) -> np.ndarray:
    """Robust bootstrap standard errors: IQR of the draws / IQR of N(0, 1) (NaN if 0)."""
    q75 = np.quantile(draws, 0.75, axis=0, method="inverted_cdf")
    q25 = np.quantile(draws, 0.25, axis=0, method="inverted_cdf")
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    se[~(se > 0)] = np.nan
    return se


def uniform_critical(draws: np.ndarray, se: np.ndarray, level: float) -> float:
    """Critical value of a uniform band: the ``level`` quantile of max_k |draw_k / se_k|."""
    ok = np.isfinite(se)
    if not ok.any():
        return float("nan")
    t = np.max(np.abs(draws[:, ok] / se[ok]), axis=1)
    return float(np.quantile(t, level, method="inverted_cdf"))
