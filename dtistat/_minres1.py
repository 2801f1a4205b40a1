"""One-factor minres fits of a stack of correlation matrices at once (parallel analysis).

Internal module used by :func:`dtistat.factors.parallel_analysis` (``kind="fa"``). The
one-factor minres (unweighted least squares) fit minimises the squared off-diagonal
residuals ``sum_{i<j} (r_ij - l_i l_j)^2``; with the uniquenesses free, this is the
same optimum as psych's ``fa`` and :func:`dtistat._efa.extract` (which concentrate out
the loadings and optimise over the uniquenesses in [PSI_LOWER, 1]); a uniqueness on its
lower bound (a Heywood case) adds its diagonal residual. Here the loadings ``l`` are
solved for directly by a damped Newton iteration, all matrices in lock step (one
batched ``solve`` per step), from the same start as ``extract`` (leading eigenpair of
the correlation matrix with squared multiple correlations on its diagonal). A matrix's
fit is certified (``ok``) only when it is a strict local minimum of the bounded problem
that ``extract`` solves: converged, zero gradient, the bound's Karush-Kuhn-Tucker
signs, ``l`` the leading eigenvector of the reduced matrix, positive-definite Hessian.
The caller refits the others one by one. See docs/parallel_fa.md for how often the two
optimisers end in different local minima.
"""

from __future__ import annotations

import numpy as np

from dtistat._efa import PSI_LOWER

__all__ = ["one_factor_minres"]


_C = 1.0 - PSI_LOWER  # largest communality with a free uniqueness


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Batched solve; if one matrix is singular, each alone (NaN for the singular
    # ones: those fits are then not certified and get refitted).
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for k in range(len(A)):
            try:
                out[k] = np.linalg.solve(A[k], b[k])
            except np.linalg.LinAlgError:
                pass
        return out


def _start(C: np.ndarray) -> np.ndarray:
    # As _efa._start_psi: communalities = squared multiple correlations, bounded; the
    # loadings of its first evaluation, sqrt(e1) v1 of the reduced matrix. v1 by
    # inverse iteration at the top eigenvalue (a third of the cost of eigh).
    p = C.shape[1]
    dg = np.arange(p)
    smc = 1.0 - 1.0 / np.einsum("kii->ki", np.linalg.inv(C))
    A = C.copy()
    A[:, dg, dg] = 1.0 - np.clip(1.0 - smc, PSI_LOWER, 1.0)
    e1 = np.linalg.eigvalsh(A)[:, -1]
    A[:, dg, dg] -= (e1 + 1e-9 * np.maximum(np.abs(e1), 1.0))[:, None]
    v = np.ones((len(C), p, 1))
    for _ in range(3):
        v = _solve(A, v)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v[..., 0] * np.sqrt(np.maximum(e1, 0.0))[:, None]


def _objective(r2: np.ndarray, lam: np.ndarray, Rl: np.ndarray, act: np.ndarray
               ) -> np.ndarray:
    # 1/4 ||R - Psi - l l'||^2 with Psi concentrated out: the off-diagonal part from
    # Rl = R_off l, plus the diagonal of the variables whose uniqueness is on its lower
    # bound (``act``, Heywood cases); a free uniqueness fits its diagonal exactly.
    sq = lam**2
    s = sq.sum(axis=1)
    heywood = np.where(act, _C - sq, 0.0)
    return 0.25 * (r2 - 2.0 * np.einsum("ki,ki->k", lam, Rl) + s**2 - (sq**2).sum(axis=1)
                   + (heywood**2).sum(axis=1))


def _gradient(Roff: np.ndarray, lam: np.ndarray, act: np.ndarray) -> np.ndarray:
    sq = lam**2
    s = sq.sum(axis=1, keepdims=True)
    return (lam * (s - sq) - np.einsum("kij,kj->ki", Roff, lam)
            - np.where(act, (_C - sq) * lam, 0.0))


def _hessian(Roff: np.ndarray, lam: np.ndarray, act: np.ndarray) -> np.ndarray:
    sq = lam**2
    s = sq.sum(axis=1, keepdims=True)
    H = 2.0 * lam[:, :, None] * lam[:, None, :] - Roff
    dg = np.arange(lam.shape[1])
    H[:, dg, dg] = s - sq + np.where(act, 3.0 * sq - _C, 0.0)
    return H


def _newton_step(Roff: np.ndarray, r2: np.ndarray, lam: np.ndarray, act: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One damped Newton step (backtracking on the objective) for each matrix."""
    g = _gradient(Roff, lam, act)
    H = _hessian(Roff, lam, act)
    step = _solve(H, g[..., None])[..., 0]
    gs = np.einsum("ki,ki->k", g, step)
    # Hessian not positive definite along the step: steepest descent instead. (A
    # Levenberg-Marquardt shift converges on more draws but ends in another local
    # minimum than L-BFGS-B on about three times as many; those draws are refitted.)
    up = ~(gs > 0)
    step[up] = g[up] / np.abs(np.diagonal(H[up], axis1=1, axis2=2))
    gs[up] = np.einsum("ki,ki->k", g[up], g[up])
    f0 = _objective(r2, lam, np.einsum("kij,kj->ki", Roff, lam), act)
    t = np.ones(len(lam))
    todo = np.arange(len(lam))
    new = lam.copy()                # kept if no step length is accepted
    for _ in range(40):
        cand = lam[todo] - t[todo, None] * step[todo]
        f = _objective(r2[todo], cand, np.einsum("kij,kj->ki", Roff[todo], cand),
                       act[todo])
        # Armijo, with room for rounding once the decrease reaches machine precision
        acc = f <= f0[todo] - 1e-4 * t[todo] * gs[todo] + 1e-15 * np.abs(f0[todo])
        new[todo[acc]] = cand[acc]
        todo = todo[~acc]
        if not len(todo):
            break
        t[todo] *= 0.5
    return new, np.abs(t[:, None] * step).max(axis=1)


def one_factor_minres(C: np.ndarray, *, start: np.ndarray | None = None,
                      max_iter: int = 50, tol: float = 1e-12
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Communalities (m, p) of the one-factor minres fits of the stack ``C`` (m, p, p)
    and a mask (m,) of the fits certified as strict local minima.

    A variable whose communality passes ``1 - PSI_LOWER`` gets its uniqueness fixed on
    that bound (a Heywood case) for the rest of the iterations. Each matrix's
    iterations depend on that matrix alone (converged ones are frozen), so the numbers
    do not depend on how the draws are batched. ``start`` (m, p): starting loadings
    instead of the SMC start (e.g. to polish another optimiser's solution).
    """
    m, p, _ = C.shape
    dg = np.arange(p)
    Roff = C.copy()
    Roff[:, dg, dg] = 0.0
    r2 = (Roff**2).sum(axis=(1, 2))
    lam = _start(C) if start is None else np.array(start, dtype=float)
    act = lam**2 > _C
    conv = np.zeros(m, dtype=bool)
    live = np.arange(m)
    for _ in range(max_iter):
        new, size = _newton_step(Roff[live], r2[live], lam[live], act[live])
        lam[live] = new
        grow = (new**2 > _C) & ~act[live]
        act[live] |= grow
        done = (size < tol) & ~grow.any(axis=1)
        conv[live[done]] = True
        live = live[~done]
        if not len(live):
            break
    ok = conv.copy()
    ok[conv] = _certified(C[conv], Roff[conv], lam[conv], act[conv])
    return lam**2, ok


def _certified(C: np.ndarray, Roff: np.ndarray, lam: np.ndarray, act: np.ndarray
               ) -> np.ndarray:
    # A stationary point (gradient ~ 0) is one of the bounded concentrated problem
    # that _efa.extract solves when the Karush-Kuhn-Tucker signs hold (communality
    # <= 1 - PSI_LOWER where the uniqueness is free, >= where it is on its bound) and
    # l is the *leading* eigenvector of R - Psi (eigenvalue |l|^2); a positive-definite
    # Hessian makes it a strict local minimum.
    sq = lam**2
    kkt = np.where(act, sq >= _C - 1e-12, sq <= _C).all(axis=1)
    s = sq.sum(axis=1)
    A = -C
    dg = np.arange(C.shape[1])
    A[:, dg, dg] = (s + 1e-9 * np.maximum(s, 1.0))[:, None] - np.minimum(sq, _C)
    lead = _positive_definite(A)    # s I - (R - Psi) > 0: no eigenvalue above s
    stationary = np.abs(_gradient(Roff, lam, act)).max(axis=1) < 1e-10
    H = _hessian(Roff, lam, act)
    scale = np.abs(np.diagonal(H, axis1=1, axis2=2)).max(axis=1)
    pd = _positive_definite(H - 1e-7 * scale[:, None, None] * np.eye(C.shape[1]))
    return stationary & kkt & lead & pd & np.isfinite(sq).all(axis=1)


def _positive_definite(H: np.ndarray) -> np.ndarray:
    # Batched Cholesky; a stack with a failure is split in halves (a batched
    # eigvalsh costs about five Cholesky factorisations).
    try:
        np.linalg.cholesky(H)
        return np.ones(len(H), dtype=bool)
    except np.linalg.LinAlgError:
        if len(H) == 1:
            return np.zeros(1, dtype=bool)
        h = len(H) // 2
        return np.concatenate([_positive_definite(H[:h]), _positive_definite(H[h:])])
