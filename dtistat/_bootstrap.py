"""Batched (cluster) bootstrap of linear regressions: resample counts × cross-products.

A replicate of a regression on resampled rows (or whole clusters) only needs the
cross-product matrix of the resampled data, and that is a count-weighted sum of the
per-cluster cross-products: ``S_b = sum_g n_bg C_g``. One GEMM of the counts matrix
(replicates × clusters) with the stacked cluster cross-products (clusters × p(p+1)/2)
gives every replicate's normal equations; batched ``np.linalg.solve`` does the rest.
Replicates are processed in chunks so that memory stays bounded whatever ``n_boot``.

Draw convention (what makes ``seed`` reproducible whatever the chunk size): replicates
are drawn in fixed blocks of ``BLOCK`` (32), block k being the k-th call
``rng.integers(0, G, size=(32, G), dtype=np.int32)`` (the last block may be shorter);
chunks are whole numbers of blocks, so grouping replicates into chunks never changes the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from dtistat.errors import EstimationError

__all__ = [
    "BLOCK",
    "Equation",
    "batched_coefs",
    "bc_ci",
    "bca_ci",
    "bootstrap_coefs",
    "cluster_crossproducts",
    "default_chunk",
    "iter_resample_blocks",
    "jackknife_coefs",
    "percentile_ci",
    "resample_indices",
]

#: Replicates drawn per generator call (fixed: it defines the stream).
BLOCK = 32
#: From this many groups on, counts are binned replicate by replicate.
ROW_BINCOUNT = 8192
#: Memory budget (bytes) of the per-chunk counts buffer (replicates × clusters).
CHUNK_BYTES = 48 * 2**20
#: A regressor whose 1 - R^2 on the previous regressors falls below this (in a
#: replicate) makes that replicate's design singular.
SINGULAR_TOL = 1e-10


def default_chunk(n_groups: int, n_boot: int) -> int:
    """Replicates per chunk so that the (chunk × G) counts buffer fits CHUNK_BYTES."""
    return int(max(1, min(n_boot, CHUNK_BYTES // (8 * max(n_groups, 1)))))


def _round_chunk(chunk: int) -> int:
    # whole blocks per chunk, at least one
    return max(BLOCK, -(-int(chunk) // BLOCK) * BLOCK)


def iter_resample_blocks(
    rng: np.random.Generator, n_groups: int, n_boot: int
) -> Iterator[np.ndarray]:
    """Yield (b × n_groups) resampled group indices, b = BLOCK except for the last block."""
    done = 0
    while done < n_boot:
        nb = min(BLOCK, n_boot - done)
        yield rng.integers(0, n_groups, size=(nb, n_groups), dtype=np.int32)
        done += nb


def resample_indices(seed, n_groups: int, n_boot: int) -> np.ndarray:
    """All resampled group indices (n_boot × n_groups) that ``seed`` gives (for checks)."""
    from dtistat._validate import check_seed

    rng = check_seed(seed)
    return np.concatenate(list(iter_resample_blocks(rng, n_groups, n_boot)))


def sym_pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle (incl. diagonal) of a p × p matrix."""
    return np.triu_indices(p)


def cluster_crossproducts(D: np.ndarray, codes: np.ndarray | None, n_groups: int) -> np.ndarray:
    """Per-group cross-products ``D_g' D_g`` as (G × p(p+1)/2) upper-triangle rows.

    ``codes=None`` means every row is its own group (the ordinary bootstrap).
    """
    p = D.shape[1]
    iu, ju = sym_pairs(p)
    prods = D[:, iu] * D[:, ju]  # (n × q) row-level cross-products
    if codes is None:
        return prods
    out = np.zeros((n_groups, len(iu)))
    np.add.at(out, codes, prods)
    return out


def _unpack(Sq: np.ndarray, p: int) -> np.ndarray:
    iu, ju = sym_pairs(p)
    S = np.empty((Sq.shape[0], p, p))
    S[:, iu, ju] = Sq
    S[:, ju, iu] = Sq
    return S


@dataclass(frozen=True)
class Equation:
    """One regression in the batched solve: ``D[:, response] ~ D[:, regressors]``.

    ``keep`` are positions within ``regressors`` whose coefficients are returned.
    """

    response: int
    regressors: tuple[int, ...]
    keep: tuple[int, ...]


def _singular_mask(A: np.ndarray) -> np.ndarray:
    """Replicates whose normal matrix is (near) singular, by pivot-free Cholesky.

    ``L_jj^2 / A_jj`` is 1 - R^2 of regressor j on the regressors before it; a design
    with a (near) exact linear dependence has one such ratio at ~0.
    """
    d = np.einsum("bii->bi", A)
    bad = ~(d > 0).all(axis=1)
    sd = np.sqrt(np.where(d > 0, d, 1.0))
    C = A / sd[:, :, None] / sd[:, None, :]
    C[bad] = np.eye(A.shape[1])
    try:
        L = np.linalg.cholesky(C)
        piv = np.einsum("bii->bi", L) ** 2
        bad |= ~(piv.min(axis=1) > SINGULAR_TOL)
    except np.linalg.LinAlgError:
        for i in np.flatnonzero(~bad):
            try:
                li = np.linalg.cholesky(C[i])
                bad[i] = not (np.diag(li) ** 2).min() > SINGULAR_TOL
            except np.linalg.LinAlgError:
                bad[i] = True
    return bad


def batched_coefs(S: np.ndarray, equations: Sequence[Equation]) -> tuple[np.ndarray, np.ndarray]:
    """Solve every equation for every replicate from full cross-products S (R × p × p).

    Returns the kept coefficients (R × sum(len(keep))) and a boolean mask of replicates
    in which any equation was singular (their coefficients are NaN).
    """
    R = S.shape[0]
    out = []
    singular = np.zeros(R, dtype=bool)
    for eq in equations:
        reg = np.asarray(eq.regressors)
        A = S[:, reg[:, None], reg[None, :]]
        rhs = S[:, reg, eq.response][:, :, None]
        bad = _singular_mask(A)
        if bad.any():
            A = A.copy()
            A[bad] = np.eye(len(reg))
        beta = np.linalg.solve(A, rhs)[:, :, 0]
        beta[bad] = np.nan
        singular |= bad
        out.append(beta[:, list(eq.keep)])
    coefs = np.concatenate(out, axis=1)
    coefs[singular] = np.nan
    return coefs, singular


def bootstrap_coefs(
    Cq: np.ndarray,
    p: int,
    equations: Sequence[Equation],
    *,
    rng: np.random.Generator,
    n_boot: int,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of the kept coefficients from group cross-products ``Cq``.

    Parameters
    ----------
    Cq : (G × p(p+1)/2) array from :func:`cluster_crossproducts`.
    p : number of columns of the design the cross-products came from.
    equations : the regressions to solve in each replicate.
    rng, n_boot, chunk : the generator, number of replicates and replicates per chunk.
    progress : called as ``progress(done, n_boot)`` after each chunk.

    Returns
    -------
    (n_boot × K) coefficients and the (n_boot,) singular-replicate mask.
    """
    G = Cq.shape[0]
    chunk = _round_chunk(chunk or default_chunk(G, n_boot))
    chunk = min(chunk, _round_chunk(n_boot))
    counts = np.empty((chunk, G))
    offsets = (np.arange(BLOCK, dtype=np.int32) * G)[:, None]
    blocks = iter_resample_blocks(rng, G, n_boot)
    res, sing = [], []
    done = 0
    while done < n_boot:
        c = min(chunk, n_boot - done)
        cnt = counts[:c]
        filled = 0
        while filled < c:
            idx = next(blocks)
            nb = idx.shape[0]
            if G >= ROW_BINCOUNT:  # one cache-sized table per replicate
                for i in range(nb):
                    cnt[filled + i] = np.bincount(idx[i], minlength=G)
            else:  # one call for the block: offsets make the bins distinct
                flat = (idx + offsets[:nb]).reshape(-1)
                cnt[filled:filled + nb] = np.bincount(flat, minlength=nb * G).reshape(nb, G)
            filled += nb
        # fixed-size products: BLAS may round differently for other shapes, and the
        # draws must not depend on how replicates are grouped into chunks
        Sq = np.empty((c, Cq.shape[1]))
        for i in range(0, c, BLOCK):
            np.matmul(cnt[i:i + BLOCK], Cq, out=Sq[i:i + BLOCK])
        b, s = batched_coefs(_unpack(Sq, p), equations)
        res.append(b)
        sing.append(s)
        done += c
        if progress is not None:
            progress(done, n_boot)
    return np.concatenate(res), np.concatenate(sing)


def jackknife_coefs(
    Cq: np.ndarray, p: int, equations: Sequence[Equation], *, chunk: int = 20_000
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-group-out coefficients: ``S_(-g) = S - C_g``, batched."""
    total = Cq.sum(axis=0)
    res, sing = [], []
    for start in range(0, Cq.shape[0], chunk):
        Sq = total[None, :] - Cq[start:start + chunk]
        b, s = batched_coefs(_unpack(Sq, p), equations)
        res.append(b)
        sing.append(s)
    return np.concatenate(res), np.concatenate(sing)


# --------------------------------------------------------------------------- intervals

def _z0(draws: np.ndarray, theta_hat: float) -> float:
    # Ties count one half (Efron & Tibshirani 1993, 14.14; as scipy.stats.bootstrap).
    prop = (np.sum(draws < theta_hat) + 0.5 * np.sum(draws == theta_hat)) / len(draws)
    return float(stats.norm.ppf(prop))


def _some(draws: np.ndarray) -> None:
    if np.size(draws) == 0:  # np.percentile would raise a bare IndexError
        raise EstimationError("no finite draws are left to form an interval (every "
                              "replicate was singular or undefined)")


def percentile_ci(draws: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval (linear interpolation between order statistics)."""
    _some(draws)
    a = (1.0 - level) / 2.0
    lo, hi = np.percentile(draws, [100 * a, 100 * (1 - a)])
    return float(lo), float(hi)


def bc_ci(draws: np.ndarray, theta_hat: float, level: float) -> tuple[float, float]:
    """Bias-corrected percentile interval: quantiles at Phi(2 z0 + z_alpha)."""
    _some(draws)
    a = (1.0 - level) / 2.0
    z0 = _z0(draws, theta_hat)
    if not np.isfinite(z0):
        return np.nan, np.nan
    q = stats.norm.cdf(2 * z0 + stats.norm.ppf([a, 1 - a])) * 100
    lo, hi = np.percentile(draws, q)
    return float(lo), float(hi)


def acceleration(jack: np.ndarray) -> float:
    """BCa acceleration from jackknife values (Efron 1987, eq. 6.6)."""
    jack = jack[np.isfinite(jack)]
    d = jack.mean() - jack
    top = float(np.abs(d).max()) if d.size else 0.0
    if not top > 0:
        return 0.0
    d = d / top  # free of units: d**3 would overflow for effects near 1e100
    den = 6.0 * np.sum(d**2) ** 1.5
    return float(np.sum(d**3) / den) if den > 0 else 0.0


def bca_ci(draws: np.ndarray, theta_hat: float, jack: np.ndarray,
           level: float) -> tuple[float, float]:
    """Bias-corrected and accelerated interval (Efron 1987)."""
    _some(draws)
    a = (1.0 - level) / 2.0
    z0 = _z0(draws, theta_hat)
    if not np.isfinite(z0):
        return np.nan, np.nan
    acc = acceleration(jack)
    z = stats.norm.ppf([a, 1 - a])
    q = stats.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z))) * 100
    lo, hi = np.percentile(draws, q)
    return float(lo), float(hi)
