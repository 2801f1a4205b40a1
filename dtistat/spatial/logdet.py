"""The Jacobian term log|I - rho W| of spatial ML, its stable interval and the traces.

Two engines: eigenvalues (Ord 1975) for N up to a few thousand -- real eigenvalues from a
symmetric solver when ``W = D^-1 C`` with ``C`` symmetric, complex ones otherwise -- and
a sparse LU factorization of ``I - rho W`` per evaluation beyond (Pace & Barry 1997).
Traces of ``(I - rho W)^-1`` and ``(I - rho W)^-1 W`` (LeSage & Pace 2009, ch. 4) come
from the eigenvalues, or from a power series whose terms ``tr(W^j)`` are exact for
``j <= 2`` and estimated by Hutchinson's method (seeded) beyond.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg import lapack

from dtistat.errors import EstimationError
from dtistat.spatial.weights import SpatialWeights

__all__ = ["Jacobian"]

EIG_MAX_N = 3000
_SERIES_ORDER = 120
_HUTCHINSON_DRAWS = 100


class Jacobian:
    """log|I - rho W| and friends for one weight matrix.

    Parameters
    ----------
    w : SpatialWeights
    method : {"auto", "eig", "lu"}
        ``"auto"`` uses eigenvalues for N <= 3000 (N <= 1000 when W is not similar to a
        symmetric matrix, e.g. kNN) and sparse LU beyond.
    """

    def __init__(self, w: SpatialWeights, method: str = "auto") -> None:
        self.w = w
        self.W = w.sparse.tocsc()
        self.n = w.n
        if method == "auto":
            # a symmetric eigensolver handles thousands of units in seconds; the general
            # (complex) one is several times slower, so it stops earlier
            symmetric = w.symmetrizer() is not None
            method = "eig" if self.n <= (EIG_MAX_N if symmetric else 1000) else "lu"
        self.method = method
        self.omega: np.ndarray | None = None
        self._S = None
        if method == "eig":
            d = w.symmetrizer()
            if d is not None:
                # W = D^-1/2 S D^1/2 with S symmetric: real eigenvalues from a symmetric
                # solver, no eigenvectors (2-3x faster than eigh, 10x than eig)
                s = np.sqrt(d)
                S = w.sparse.toarray()
                S *= s[:, None]
                S /= s[None, :]
                self._S, self._sqrt_d = (S + S.T) / 2, s
                self.omega = np.linalg.eigvalsh(self._S)
            else:
                om = np.linalg.eigvals(w.sparse.toarray())
                self.omega = om.real if np.abs(om.imag).max() < 1e-10 else om
            re = np.real(self.omega)
            self.bounds = (1.0 / re.min(), 1.0 / re.max())
        else:
            self.bounds = self._sparse_bounds()
        self._series = None

    def _sparse_bounds(self) -> tuple[float, float]:
        # ARPACK starts from a random vector unless given one: a fixed start makes the
        # bounds, hence the bounded search for rho, the same on every call
        v0 = np.random.default_rng(0).standard_normal(self.n)
        rs = np.asarray(self.w.sparse.sum(axis=1)).ravel()
        hi = 1.0 if np.allclose(rs, 1.0) else float(
            np.real(spla.eigs(self.W, k=1, which="LR", return_eigenvectors=False, v0=v0)[0]))
        try:
            lo = float(np.real(spla.eigs(self.W, k=1, which="SR", return_eigenvectors=False,
                                         tol=1e-6, maxiter=5000, v0=v0)[0]))
        except spla.ArpackNoConvergence:  # pragma: no cover - fall back to a safe bound
            lo = -hi
        return (1.0 / lo if lo < 0 else -1.0 / hi, 1.0 / hi)

    # ------------------------------------------------------------------ log|I - rho W|
    def logdet(self, rho: float) -> float:
        """log|I - rho W|."""
        if self.omega is not None:
            return float(np.sum(np.log(np.abs(1.0 - rho * self.omega))))
        lu = spla.splu(sp.identity(self.n, format="csc") - rho * self.W)
        return float(np.sum(np.log(np.abs(lu.U.diagonal()))))

    # ------------------------------------------------------------------ traces
    def inverse_times_w(self, rho: float) -> np.ndarray:
        """Dense ``W (I - rho W)^-1`` (for the information matrix: one O(N^3) inverse per
        fit, cheaper than the eigenvectors that would give it for every rho)."""
        if self._S is not None:
            return self._inverse_times_w_symmetric(rho)
        A = sp.identity(self.n, format="csc") - rho * self.W
        if self.n <= EIG_MAX_N:
            inv = np.linalg.inv(A.toarray())
        else:
            inv = spla.splu(A).solve(np.eye(self.n))
        return self.W @ inv

    def _inverse_times_w_symmetric(self, rho: float) -> np.ndarray:
        """``W (I - rho W)^-1 = D^-1/2 S (I - rho S)^-1 D^1/2`` with ``I - rho S`` symmetric
        positive definite on the stable interval: a Cholesky inverse (half the flops of
        an LU inverse) and ``S (I - rho S)^-1 = ((I - rho S)^-1 - I) / rho``."""
        S = self._S
        M = np.eye(self.n) - rho * S
        c, info = lapack.dpotrf(M, lower=True)
        if info == 0:
            Minv, info = lapack.dpotri(c, lower=True)
        if info != 0:  # pragma: no cover - outside the stable interval
            raise EstimationError(f"I - rho W is not invertible at rho = {rho:.6g}")
        d = Minv.diagonal().copy()                # dpotrf(clean=1) zeroed the upper half
        Minv += Minv.T
        Minv[np.diag_indices_from(Minv)] = d
        if abs(rho) > 0.05:   # the identity loses |log10 rho| digits near rho = 0
            Minv[np.diag_indices_from(Minv)] -= 1.0
            St = Minv / rho
        else:
            St = S @ Minv
        s = self._sqrt_d
        return St * (s[None, :] / s[:, None])

    def mean_traces(self, rho: np.ndarray, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """``tr((I - rho W)^-1) / N`` and ``tr((I - rho W)^-1 W) / N`` for each rho."""
        rho = np.atleast_1d(np.asarray(rho, dtype=float))
        if self.omega is not None:
            den = 1.0 - rho[:, None] * self.omega[None, :]
            a = np.real((1.0 / den).mean(1))
            b = np.real((self.omega[None, :] / den).mean(1))
            return a, b
        tr = self._power_traces(rng)
        j = np.arange(_SERIES_ORDER)
        pw = rho[:, None] ** j[None, :]
        if (np.abs(rho) > 0.95).any():
            raise EstimationError("effects by power series need |rho| <= 0.95 with the "
                                  "sparse engine; refit with logdet='eig'")
        return pw @ tr[:-1] / self.n, pw @ tr[1:] / self.n

    def _power_traces(self, rng) -> np.ndarray:
        if self._series is None:
            if rng is None:
                rng = np.random.default_rng(0)
            W = self.w.sparse
            tr = np.empty(_SERIES_ORDER + 1)
            tr[0] = self.n
            tr[1] = W.diagonal().sum()
            tr[2] = W.multiply(W.T).sum()
            u = rng.choice([-1.0, 1.0], size=(self.n, _HUTCHINSON_DRAWS))
            v = W @ (W @ u)
            for k in range(3, _SERIES_ORDER + 1):
                v = W @ v
                tr[k] = float((u * v).sum() / _HUTCHINSON_DRAWS)
            self._series = tr
        return self._series
