"""Exploratory factor analysis cores: extraction (minres, ML, principal) and rotation.

Internal module used by :mod:`dtistat.factors`; all functions take and return NumPy
arrays. Rotation criteria come from statsmodels' gradient-projection code
(``statsmodels.multivariate.factor_rotation``); extraction and promax are written here
because statsmodels has no minres and its promax differs from R's ``stats::promax``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from dtistat.errors import ConvergenceError, EstimationError

__all__ = [
    "extract",
    "rotate",
    "score_weights",
    "PSI_LOWER",
]

# Lower bound of the uniquenesses in minres/ML, as in R's factanal and psych::fa.
PSI_LOWER = 0.005


def _sorted_eigh(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vals, vecs = np.linalg.eigh(m)
    return vals[::-1], vecs[:, ::-1]


def _start_psi(R: np.ndarray) -> np.ndarray:
    # Squared multiple correlations give the usual starting communalities.
    smc = 1.0 - 1.0 / np.diag(np.linalg.inv(R))
    return np.clip(1.0 - smc, PSI_LOWER, 1.0)


def _minres_objective(psi: np.ndarray, R: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    # ULS concentrated over the loadings: for given uniquenesses, the best rank-k
    # loadings come from the leading eigenpairs of R - Psi and the residual sum of
    # squares is the sum of the squared remaining eigenvalues.
    vals, vecs = _sorted_eigh(R - np.diag(psi))
    rest = vals[k:]
    f = float(rest @ rest)
    g = -2.0 * (vecs[:, k:] ** 2) @ rest
    return f, g


def _ml_objective(psi: np.ndarray, R: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    # Joreskog's concentrated ML discrepancy (as in R's factanal):
    # eigenvalues e of Psi^-1/2 R Psi^-1/2; f = -sum_{i>k}(log e_i - e_i) - (p - k).
    s = 1.0 / np.sqrt(psi)
    vals, vecs = _sorted_eigh(R * s[:, None] * s[None, :])
    e = vals[k:]
    f = float(-np.sum(np.log(e) - e) - (len(psi) - k))
    load = vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1.0, 0.0))
    L = load * np.sqrt(psi)[:, None]
    g = np.diag(L @ L.T + np.diag(psi) - R) / psi**2
    return f, g


def extract(R: np.ndarray, k: int, method: str, *, tol: float = 1e-12,
            max_iter: int = 10_000) -> tuple[np.ndarray, np.ndarray, dict]:
    """Unrotated loadings (p, k) and uniquenesses (p,) of the correlation matrix ``R``.

    ``method`` is "minres" (unweighted least squares, psych's default), "ml"
    (Joreskog/factanal) or "principal" (principal components, psych::principal).
    The extra dict holds ``converged``, ``n_iter`` and ``objective``.
    """
    p = R.shape[0]
    if method == "principal":
        vals, vecs = _sorted_eigh(R)
        L = vecs[:, :k] * np.sqrt(np.maximum(vals[:k], 0.0))
        return _orient(L), 1.0 - (L**2).sum(axis=1), {
            "converged": True, "n_iter": 0, "objective": float(vals[k:] @ vals[k:])}
    fun = _minres_objective if method == "minres" else _ml_objective
    res = optimize.minimize(
        fun, _start_psi(R), args=(R, k), jac=True, method="L-BFGS-B",
        bounds=[(PSI_LOWER, 1.0)] * p,
        options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-10, "maxcor": 30},
    )
    if not res.success and "ABNORMAL" not in str(res.message).upper():
        raise ConvergenceError(
            f"{method} factor extraction did not converge in {max_iter} iterations "
            f"({res.message}); try fewer factors or method='principal'"
        )
    psi = res.x
    # A line-search stop ("ABNORMAL") at the optimum is fine; away from it is not.
    pg = _projected_grad(res.jac, psi)
    if not res.success and np.max(np.abs(pg)) > 1e-6:
        raise ConvergenceError(
            f"{method} factor extraction stopped away from the optimum "
            f"(projected gradient {np.max(np.abs(pg)):.2e}: {res.message})"
        )
    if method == "minres":
        vals, vecs = _sorted_eigh(R - np.diag(psi))
        L = vecs[:, :k] * np.sqrt(np.maximum(vals[:k], 0.0))
    else:
        s = 1.0 / np.sqrt(psi)
        vals, vecs = _sorted_eigh(R * s[:, None] * s[None, :])
        L = (vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1.0, 0.0))) * np.sqrt(psi)[:, None]
    return _orient(L), psi, {"converged": True, "n_iter": int(res.nit),
                             "objective": float(res.fun)}


def _projected_grad(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    pg = g.copy()
    pg[(x <= PSI_LOWER + 1e-12) & (g > 0)] = 0.0
    pg[(x >= 1.0 - 1e-12) & (g < 0)] = 0.0
    return pg


def _orient(L: np.ndarray) -> np.ndarray:
    # Sign convention (as psych): every factor's loadings sum to a positive number.
    s = np.sign(L.sum(axis=0))
    s[s == 0] = 1.0
    return L * s


def _gpa(A: np.ndarray, criterion: str, oblique: bool, tol: float, max_iter: int):
    from statsmodels.multivariate.factor_rotation._gpa_rotation import (
        GPA,
        oblimin_objective,
        orthomax_objective,
    )

    if criterion == "varimax":
        def vgQ(L=None, A=None, T=None):
            return orthomax_objective(L=L, A=A, T=T, gamma=1.0, return_gradient=True)
    elif criterion == "quartimax":
        def vgQ(L=None, A=None, T=None):
            return orthomax_objective(L=L, A=A, T=T, gamma=0.0, return_gradient=True)
    else:  # oblimin with gamma = 0 (quartimin), GPArotation's default
        def vgQ(L=None, A=None, T=None):
            return oblimin_objective(L=L, A=A, T=T, gamma=0.0, rotation_method="oblique",
                                     return_gradient=True)
    L, phi, T, table = GPA(A, vgQ=vgQ, max_tries=max_iter,
                           rotation_method="oblique" if oblique else "orthogonal", tol=tol)
    # GPA's line search can stall at machine precision with a projected gradient
    # of a few 1e-8 (hence tol 1e-7, GPArotation uses 1e-5); a final gradient norm
    # below 1e-6 is still an optimum to far better than 1e-4 in the loadings.
    if table and 10.0 ** table[-1][2] >= max(tol, 1e-6):
        raise ConvergenceError(
            f"{criterion} rotation did not converge in {max_iter} iterations "
            f"(gradient norm {10.0 ** table[-1][2]:.2e} > {tol:g})"
        )
    return L, T


def rotate(A: np.ndarray, rotation: str | None, *, normalize: bool,
           promax_power: int = 4, tol: float = 1e-7,
           max_iter: int = 2_000) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Rotate loadings ``A``; return (pattern loadings, rotation matrix, factor corr).

    The rotation matrix ``T`` maps unrotated to rotated loadings: ``L = A @ T``. The
    factor correlation matrix is None for orthogonal rotations. ``normalize`` applies
    Kaiser's row normalization before rotating (R's ``varimax``/``promax`` default).
    """
    k = A.shape[1]
    if rotation is None or k < 2:
        return A.copy(), np.eye(k), None
    h = np.sqrt((A**2).sum(axis=1)) if normalize else np.ones(A.shape[0])
    h = np.where(h > 0, h, 1.0)
    An = A / h[:, None]
    if rotation in ("varimax", "quartimax"):
        L, T = _gpa(An, rotation, False, tol, max_iter)
        return L * h[:, None], T, None
    if rotation == "oblimin":
        L, Tg = _gpa(An, "oblimin", True, tol, max_iter)
        # GPA's convention L = A (T')^-1, Phi = T'T.
        T = np.linalg.inv(Tg.T)
        return L * h[:, None], T, Tg.T @ Tg
    if rotation == "promax":
        # Hendrickson & White (1964) as R's stats::promax: varimax, target
        # V * |V|^(m-1), least-squares fit of the target, columns rescaled so the
        # factors have unit variance.
        V, Tv = _gpa(An, "varimax", False, tol, max_iter)
        V = V * h[:, None]
        Q = V * np.abs(V) ** (promax_power - 1)
        U = np.linalg.lstsq(V, Q, rcond=None)[0]
        d = np.diag(np.linalg.inv(U.T @ U))
        U = U * np.sqrt(d)[None, :]
        Ui = np.linalg.inv(U)
        return V @ U, Tv @ U, Ui @ Ui.T
    raise EstimationError(f"unknown rotation {rotation!r}")


def score_weights(R: np.ndarray, L: np.ndarray, psi: np.ndarray, phi: np.ndarray | None,
                  method: str) -> np.ndarray:
    """Weights W (p, k) so that scores = Z @ W for standardized data Z.

    "regression" is Thurstone's: W = R^-1 L Phi (the structure matrix); "bartlett" is
    Bartlett's weighted least squares: W = Psi^-1 L (L' Psi^-1 L)^-1.
    """
    k = L.shape[1]
    phi = np.eye(k) if phi is None else phi
    if method == "regression":
        return np.linalg.solve(R, L @ phi)
    wl = L / psi[:, None]
    return wl @ np.linalg.inv(L.T @ wl)
