"""One-factor minres fits of a stack of correlation matrices at once (parallel analysis).

Internal module used by :func:`dtistat.factors.parallel_analysis` (``kind="fa"``). The
one-factor minres (unweighted least squares) fit minimises the squared off-diagonal
residuals ``sum_{i<j} (r_ij - l_i l_j)^2``; with the uniquenesses free, this is the
same optimum as psych's ``fa`` and :func:`dtistat._efa.extract` (which concentrate out
the loadings and optimise over the uniquenesses) whenever no uniqueness sits on its
bound. Here the loadings ``l`` are solved for directly by a damped Newton iteration,
all matrices in lock step (one batched ``solve`` per step), from the same start as
``extract`` (leading eigenpair of the correlation matrix with squared multiple
correlations on its diagonal). A matrix's fit is certified (``ok``) only when it is a
strict local minimum of the bounded problem that ``extract`` solves: converged,
positive-definite Hessian, ``l`` the leading eigenvector of the reduced matrix, and
every communality below ``1 - PSI_LOWER``. The caller refits the others one by one.
"""

from __future__ import annotations

import numpy as np

from dtistat._efa import PSI_LOWER

__all__ = ["one_factor_minres"]


def _start(C: np.ndarray) -> np.ndarray:
    # As _efa._start_psi: communalities = squared multiple correlations, bounded.
    p = C.shape[1]
    dg = np.arange(p)
    smc = 1.0 - 1.0 / np.einsum("kii->ki", np.linalg.inv(C))
    A = C.copy()
    A[:, dg, dg] = 1.0 - np.clip(1.0 - smc, PSI_LOWER, 1.0)
    w, v = np.linalg.eigh(A)
    return v[:, :, -1] * np.sqrt(np.maximum(w[:, -1:], 0.0))


def _objective(r2: np.ndarray, lam: np.ndarray, Rl: np.ndarray) -> np.ndarray:
    # 1/4 sum_{i != j} (r_ij - l_i l_j)^2 from the off-diagonal product Rl = R_off l
    sq = lam**2
    s = sq.sum(axis=1)
    return 0.25 * (r2 - 2.0 * np.einsum("ki,ki->k", lam, Rl) + s**2 - (sq**2).sum(axis=1))


def _hessian(Roff: np.ndarray, lam: np.ndarray) -> np.ndarray:
    s = np.einsum("ki,ki->k", lam, lam)[:, None]
    H = 2.0 * lam[:, :, None] * lam[:, None, :] - Roff
    dg = np.arange(lam.shape[1])
    H[:, dg, dg] = s - lam**2
    return H


def _newton_step(Roff: np.ndarray, r2: np.ndarray, lam: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One damped Newton step (backtracking on the objective) for each matrix."""
    Rl = np.einsum("kij,kj->ki", Roff, lam)
    s = np.einsum("ki,ki->k", lam, lam)[:, None]
    g = lam * (s - lam**2) - Rl
    step = np.linalg.solve(_hessian(Roff, lam), g[..., None])[..., 0]
    gs = np.einsum("ki,ki->k", g, step)
    uphill = ~(gs > 0)              # Hessian not positive definite along the step
    step[uphill] = g[uphill]
    gs[uphill] = np.einsum("ki,ki->k", g[uphill], g[uphill])
    f0 = _objective(r2, lam, Rl)
    t = np.ones(len(lam))
    todo = np.arange(len(lam))
    new = lam.copy()                # kept if no step length is accepted
    for _ in range(40):
        cand = lam[todo] - t[todo, None] * step[todo]
        f = _objective(r2[todo], cand, np.einsum("kij,kj->ki", Roff[todo], cand))
        # Armijo, with room for rounding once the decrease reaches machine precision
        acc = f <= f0[todo] - 1e-4 * t[todo] * gs[todo] + 1e-15 * np.abs(f0[todo])
        new[todo[acc]] = cand[acc]
        todo = todo[~acc]
        if not len(todo):
            break
        t[todo] *= 0.5
    return new, np.abs(t[:, None] * step).max(axis=1)


def one_factor_minres(C: np.ndarray, *, max_iter: int = 60, tol: float = 1e-12
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Communalities (m, p) of the one-factor minres fits of the stack ``C`` (m, p, p)
    and a mask (m,) of the fits certified as strict interior local minima.

    Each matrix's iterations depend on that matrix alone (converged ones are frozen),
    so the numbers do not depend on how the draws are batched.
    """
    m, p, _ = C.shape
    dg = np.arange(p)
    Roff = C.copy()
    Roff[:, dg, dg] = 0.0
    r2 = (Roff**2).sum(axis=(1, 2))
    lam = _start(C)
    conv = np.zeros(m, dtype=bool)
    live = np.arange(m)
    for _ in range(max_iter):
        new, size = _newton_step(Roff[live], r2[live], lam[live])
        lam[live] = new
        done = size < tol
        conv[live[done]] = True
        # a communality past the bound: a Heywood case, left to the bounded optimiser
        live = live[~done & ((new**2).max(axis=1) < 1.0 - PSI_LOWER)]
        if not len(live):
            break
    h2 = lam**2
    return h2, conv & _certified(C, Roff, lam, h2)


def _certified(C: np.ndarray, Roff: np.ndarray, lam: np.ndarray, h2: np.ndarray
               ) -> np.ndarray:
    # A stationary point (gradient ~ 0) of the off-diagonal least squares is one of the bounded
    # concentrated problem when l is the *leading* eigenvector of R - Psi (with
    # eigenvalue |l|^2) and no communality passes 1 - PSI_LOWER; positive-definite
    # Hessian: a strict local minimum.
    dg = np.arange(C.shape[1])
    A = C.copy()
    A[:, dg, dg] = h2
    top = np.linalg.eigvalsh(A)[:, -1]
    s = h2.sum(axis=1)
    lead = np.abs(top - s) <= 1e-9 * np.maximum(s, 1.0)
    g = lam * (s[:, None] - h2) - np.einsum("kij,kj->ki", Roff, lam)
    stationary = np.abs(g).max(axis=1) < 1e-10
    pd = np.linalg.eigvalsh(_hessian(Roff, lam))[:, 0] > 1e-10
    return stationary & lead & pd & (h2.max(axis=1) < 1.0 - PSI_LOWER) & np.isfinite(h2).all(axis=1)
