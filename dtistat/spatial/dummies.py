"""Cross-products of spatially filtered panels, and the time dummies / intercept of the
spatial-error models concentrated out exactly.

In SEM, SDEM and SAC the error filter ``B = I - lambda W`` acts on the intercept and the
time effects too: the filtered equation of period t carries ``alpha_t B 1``. When W's row
sums are equal (row-standardized W), ``B 1`` is proportional to ``1`` and demeaning the
data by period is the LSDV estimator; otherwise ``B 1 = b(lambda) = 1 - lambda r`` (``r``
the row sums) varies across units and "demean, then filter" is not the maximum-likelihood
estimator. This module concentrates the dummies out exactly: for each lambda the filtered
data ``R_t = Z_t - lambda W Z_t`` are projected off ``b(lambda)`` within each period (time
effects) or off ``1_T x b(lambda)`` (a single intercept), which in cross-products is::

    M(lambda) = Z'Z - lambda (Z'WZ + (Z'WZ)') + lambda^2 (WZ)'(WZ) - G'G / (b'b),
    G_t = b'R_t = 1'Z_t - lambda (1'WZ_t + r'Z_t) + lambda^2 r'WZ_t,
    b'b = N - 2 lambda 1'r + lambda^2 r'r.

Entity effects are removed by demeaning over time first: ``B`` acts within a period, so
that part is exact for any W (the filtered entity dummies ``1_T x B`` span the same space
as ``1_T x I_N``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Cross", "DummyCross", "dummy_coef", "project_dummies", "row_sums_vary"]


def row_sums_vary(W) -> bool:
    """True when W's row sums are not all equal (then ``B 1`` is not proportional to 1)."""
    rs = np.asarray(W.sum(axis=1)).ravel()
    return not np.allclose(rs, rs[0], rtol=1e-10, atol=1e-12 * max(abs(rs[0]), 1.0))


class Cross:
    """``M(lambda) = (Z - lambda WZ)'(Z - lambda WZ)`` from stacked (n x m) arrays."""

    def __init__(self, Z: np.ndarray, WZ: np.ndarray):
        self.ZZ, self.ZW, self.WW = Z.T @ Z, Z.T @ WZ, WZ.T @ WZ

    def __call__(self, lam: float) -> np.ndarray:
        return self.ZZ - lam * (self.ZW + self.ZW.T) + lam * lam * self.WW

    def deriv(self, lam: float) -> np.ndarray:
        """``d M / d lambda``."""
        return 2 * lam * self.WW - self.ZW - self.ZW.T


class DummyCross(Cross):
    """``M(lambda)`` with the filtered time dummies (``fe`` "time" or "twoway") or the
    filtered intercept (``fe`` None) projected out (module docstring). ``Z, WZ``: T x N x m,
    demeaned over time first when there are entity effects; ``r``: W's row sums.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = (rng.random((5, 5)) < 0.5) * (1 - np.eye(5))      # binary: unequal row sums
    >>> Z = rng.normal(size=(3, 5, 2)); WZ = np.einsum("ij,tjm->tim", W, Z)
    >>> lam = 0.2; b = 1 - lam * W.sum(1)                    # (I - lam W) 1
    >>> R = project_dummies(Z - lam * WZ, b, "time").reshape(-1, 2)
    >>> bool(np.allclose(DummyCross(Z, WZ, W.sum(1), "time")(lam), R.T @ R))
    True
    """

    def __init__(self, Z: np.ndarray, WZ: np.ndarray, r: np.ndarray, fe: str | None):
        T, N, m = Z.shape
        super().__init__(Z.reshape(-1, m), WZ.reshape(-1, m))
        S = [Z.sum(axis=1), WZ.sum(axis=1) + np.einsum("n,tnm->tm", r, Z),
             np.einsum("n,tnm->tm", r, WZ)]
        if fe is None:   # one column 1_T x b: (sum_t G_t)(sum_t G_t)' / (T b'b)
            S = [s.sum(axis=0, keepdims=True) / np.sqrt(T) for s in S]
        self.S = S
        self.q = (float(N), 2.0 * float(r.sum()), float(r @ r))

    def _g(self, lam):
        S0, S1, S2 = self.S
        q0, q1, q2 = self.q
        return S0 - lam * S1 + lam * lam * S2, q0 - lam * q1 + lam * lam * q2

    def __call__(self, lam: float) -> np.ndarray:
        G, q = self._g(lam)
        return super().__call__(lam) - G.T @ G / q

    def deriv(self, lam: float) -> np.ndarray:
        G, q = self._g(lam)
        dG = -self.S[1] + 2 * lam * self.S[2]
        dq = -self.q[1] + 2 * lam * self.q[2]
        return super().deriv(lam) - (G.T @ dG + dG.T @ G) / q + G.T @ G * dq / q ** 2


def dummy_coef(a: np.ndarray, b: np.ndarray, fe: str | None) -> np.ndarray:
    """Least-squares coefficients of a T x N (x m) stack on ``b`` within each period
    (shape T (x m); time effects) or on ``1_T x b`` (shape (m); ``fe`` None)."""
    bb = float(b @ b)
    if fe is None:
        return np.einsum("n,tn...->...", b, a) / (a.shape[0] * bb)
    return np.einsum("n,tn...->t...", b, a) / bb


def project_dummies(a: np.ndarray, b: np.ndarray, fe: str | None) -> np.ndarray:
    """Project a T x N (x m) stack off ``b`` within each period (time effects) or off
    ``1_T x b`` (intercept, ``fe`` None); ``b`` is the filtered unit vector ``B 1``."""
    coef = dummy_coef(a, b, fe)
    if fe is None:
        return a - np.multiply.outer(b, coef)[None]
    return a - np.einsum("n,t...->tn...", b, coef)
