"""LeSage-Pace direct, indirect and total effects of SAR and SDM models, with inference.

For regressor k the matrix of partial derivatives is
``S_k = (I - rho W)^-1 (beta_k I + theta_k W)`` (LeSage & Pace 2009, *Introduction to
Spatial Econometrics*, ch. 2): the direct effect is ``tr(S_k)/N``, the total effect
``1' S_k 1 / N`` (``(beta_k + theta_k)/(1 - rho)`` for a row-standardized W) and the
indirect (spillover) effect their difference. Both are linear in (beta_k, theta_k) with
coefficients that depend on rho only, so every quantity is a function of three scalars
evaluated for all draws at once.

Inference: ``method="simulation"`` draws ``n_sim`` parameter vectors from the estimated
asymptotic normal distribution (LeSage & Pace 2009, sec. 2.7; Elhorst 2014), all in one
batch; standard errors are the draws' standard deviations, intervals their percentiles
and the point estimate is the effect at the ML estimate. ``method="delta"`` uses the
delta method with the gradient in (beta_k, theta_k, rho).

Dynamic models (``fit_spatial(dynamic=...)``): ``horizon="short"`` is the above;
``horizon="long"`` the steady state ``((1 - tau) I - (rho + eta) W)^-1 (beta_k I +
theta_k W)`` (Elhorst 2014, sec. 4.5; R SDPDmod's ``impactsSDPDm``), computed as the
static multipliers at ``rho_L = (rho + eta) / (1 - tau)`` with ``beta_k, theta_k``
divided by ``1 - tau`` (the delta method through that map).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat._results import Result, Summary
from dtistat._validate import check_choice, check_level, check_positive_int, check_seed
from dtistat.errors import EstimationError, ParameterError

__all__ = ["EffectsResult", "spatial_effects"]

_EFFECTS = ("direct", "indirect", "total")


@dataclass(frozen=True, eq=False, repr=False)
class EffectsResult(Result):
    """Direct, indirect and total effects per regressor.

    ``table`` (tidy): ``variable, effect, estimate, std_error, statistic, p_value,
    ci_low, ci_high``.
    """

    table: pd.DataFrame
    method: str
    n_sim: int
    level: float
    model: str
    dropped_draws: int = 0

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def tidy(self) -> pd.DataFrame:
        """The tidy table (same as :meth:`to_frame`)."""
        return self.table.copy()

    def wide(self) -> pd.DataFrame:
        """One row per variable: estimate and standard error of each effect."""
        t = self.table.set_index(["variable", "effect"])[["estimate", "std_error"]]
        out = t.unstack("effect")
        out.columns = [f"{e}_{s}" if s == "std_error" else e for s, e in out.columns]
        order = [c for e in _EFFECTS for c in (e, f"{e}_std_error")]
        return out.reindex(columns=order).reindex(self.table["variable"].unique())

    def summary(self) -> Summary:
        header = [("Model", self.model.upper()), ("Inference", self.method),
                  ("Level", self.level)]
        if self.method == "simulation":
            header.append(("Draws", self.n_sim))
        msg = (f"{self.dropped_draws} draw(s) with rho outside the stable interval "
               "were discarded.")
        notes = [msg] if self.dropped_draws else []
        return Summary("LeSage-Pace effects", self.wide(), header=header, notes=notes)

    def _headline(self) -> list[str]:
        return [f"{self.model.upper()} effects", f"variables={self.table['variable'].nunique()}",
                self.method]


def _multipliers(res) -> tuple:
    """Functions rho -> (a, b, ta, tb) with direct = b_k a + t_k b, total = b_k ta + t_k tb."""
    jac = res._jacobian
    W = jac.w.sparse
    N = W.shape[0]
    row_std = np.allclose(np.asarray(W.sum(axis=1)).ravel(), 1.0)
    if not row_std:
        if jac.omega is None:
            raise EstimationError("effects with a W that is not row-standardized need the "
                                  "eigenvalue engine (logdet='eig')")
        om, V = np.linalg.eig(W.toarray())
        u = np.ones(N) @ V
        v = np.linalg.solve(V, np.ones(N))
        uv = u * v

    def f(rho):
        rho = np.atleast_1d(rho)
        a, b = jac.mean_traces(rho)
        if row_std:
            ta = tb = 1.0 / (1.0 - rho)
        else:
            den = 1.0 - rho[:, None] * om[None, :]
            ta = np.real((uv / den).sum(1)) / N
            tb = np.real((uv * om / den).sum(1)) / N
        return a, b, ta, tb

    return f


def _coef_index(res) -> tuple[list[str], np.ndarray, np.ndarray, int | None]:
    """Variables, positions of beta_k and of theta_k (-1 if no W*x term) in params, and
    the position of rho (None without a spatial lag of y: SDEM)."""
    names = list(res.x_names)
    pidx = list(res.params.index)
    bi = np.array([pidx.index(n) for n in names])
    ti = np.array([pidx.index(f"W*{n}") if f"W*{n}" in pidx else -1 for n in names])
    return names, bi, ti, (pidx.index("rho") if "rho" in pidx else None)


def _effects_from(theta: np.ndarray, bi, ti, f, ri) -> np.ndarray:
    """Effects for parameter vectors ``theta`` (draws x params): draws x vars x 3."""
    rho = theta[:, ri] if ri is not None else np.zeros(len(theta))
    a, b, ta, tb = f(rho)
    beta = theta[:, bi]
    th = np.where(ti >= 0, theta[:, np.maximum(ti, 0)], 0.0)
    direct = beta * a[:, None] + th * b[:, None]
    total = beta * ta[:, None] + th * tb[:, None]
    return np.stack([direct, total - direct, total], axis=-1)


def _lag_positions(res) -> tuple[int | None, int | None]:
    """Positions of tau (y(t-1)) and eta (W*y(t-1)) in params (None if absent)."""
    lags = [i for i, n in enumerate(res.params.index) if str(n).endswith("(t-1)")]
    tau = [i for i in lags if not str(res.params.index[i]).startswith("W*")]
    eta = [i for i in lags if str(res.params.index[i]).startswith("W*")]
    return (tau[0] if tau else None), (eta[0] if eta else None)


def _long_run(theta: np.ndarray, bi, ti, ri, tau_i, eta_i) -> np.ndarray:
    """Map draws x params to the static form of the long-run multipliers: rho_L and
    beta_k, theta_k over 1 - tau (see the module docstring)."""
    out = theta.copy()
    tau = theta[:, tau_i] if tau_i is not None else 0.0
    eta = theta[:, eta_i] if eta_i is not None else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):   # tau >= 1: no steady state
        out[:, ri] = np.where(np.asarray(1.0 - tau) > 0, (theta[:, ri] + eta) / (1.0 - tau),
                              np.nan)
    cols = np.r_[bi, ti[ti >= 0]]
    out[:, cols] = theta[:, cols] / np.reshape(1.0 - tau, (-1, 1))
    return out


def _horizon(res, horizon: str, bi, ti, ri, theta, V):
    """(map of draws, point, covariance) for the requested horizon."""
    check_choice(horizon, ("short", "long"), "horizon")
    if horizon == "short":
        return (lambda t: t), theta, V
    if getattr(res, "dynamic", None) is None:
        raise ParameterError("horizon='long' needs a dynamic model (fit_spatial(dynamic=...))")
    tau_i, eta_i = _lag_positions(res)

    def g(t):
        return _long_run(t, bi, ti, ri, tau_i, eta_i)

    h = 1e-7 * np.maximum(1.0, np.abs(theta))
    J = np.stack([(g((theta + e)[None])[0] - g((theta - e)[None])[0]) / (2 * e[j])
                  for j, e in enumerate(np.diag(h))], axis=1)
    return g, g(theta[None])[0], J @ V @ J.T


def spatial_effects(res, *, method: str = "simulation", n_sim: int = 1000, seed: Any = None,
                    level: float | None = None, horizon: str = "short") -> EffectsResult:
    """Direct, indirect and total effects of a fitted SAR, SDM, SAC or SDEM model.

    SAC has the multipliers of SAR (its error process does not move the mean); SDEM has
    none: direct = beta_k, indirect = theta_k times the mean row sum of W (theta_k for a
    row-standardized W), total their sum (Elhorst 2014, table 2.1).

    Parameters
    ----------
    res : SpatialPanelResult
        From :func:`dtistat.spatial.models.fit_spatial` with ``model="sar"``, ``"sdm"``,
        ``"sac"`` or ``"sdem"``.
    method : {"simulation", "delta"}
    n_sim : int
        Draws for ``method="simulation"``.
    seed : int or Generator
    level : float, optional
        Interval level (default: the model's).
    horizon : {"short", "long"}
        Dynamic models: the short-run (``(I - rho W)^-1 ...``) or long-run effects.

    Returns
    -------
    EffectsResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from libpysal.weights import lat2W
    >>> from dtistat.spatial.models import fit_spatial
    >>> w = lat2W(4, 4); w.transform = "r"; W = w.sparse.toarray()
    >>> rng = np.random.default_rng(1); N, T = 16, 8
    >>> X = rng.normal(size=(T, N))
    >>> Y = np.stack([np.linalg.solve(np.eye(N) - 0.3 * W, X[t] + 0.5 * W @ X[t]
    ...               + rng.normal(0, .3, N)) for t in range(T)])
    >>> df = pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(range(T), N),
    ...                    "y": Y.ravel(), "x": X.ravel()})
    >>> r = fit_spatial(df, "y", "x", entity="i", time="t", w=w, model="sdm")
    >>> e = spatial_effects(r, n_sim=200, seed=0)
    >>> e.table["effect"].tolist()
    ['direct', 'indirect', 'total']
    """
    check_choice(method, ("simulation", "delta"), "method")
    if res.model not in ("sar", "sdm", "sac", "sdem"):
        raise ParameterError(f"effects are defined for SAR, SDM, SAC and SDEM models, not "
                             f"{res.model.upper()} (its coefficients are the effects)")
    level = res.level if level is None else check_level(level)
    names, bi, ti, ri = _coef_index(res)
    f = _multipliers(res)
    g, theta_h, V_h = _horizon(res, horizon, bi, ti, ri, res.params.to_numpy(dtype=float),
                               res.cov.to_numpy())
    theta, V = res.params.to_numpy(dtype=float), res.cov.to_numpy()
    point = _effects_from(theta_h[None, :], bi, ti, f, ri)[0]        # vars x 3
    alpha = 1 - level
    dropped = 0
    if method == "simulation":
        n_sim = check_positive_int(n_sim, "n_sim", minimum=2)
        rng = check_seed(seed)
        L = np.linalg.cholesky(V + 1e-300 * np.eye(len(V)))
        draws = g(theta[None, :] + rng.standard_normal((n_sim, len(theta))) @ L.T)
        lo, hi = res._jacobian.bounds
        r = draws[:, ri] if ri is not None else np.zeros(n_sim)
        ok = (r > lo) & (r < hi)
        dropped = int((~ok).sum())
        sims = _effects_from(draws[ok], bi, ti, f, ri)                # draws x vars x 3
        se = sims.std(0, ddof=1)
        ci_lo = np.quantile(sims, alpha / 2, axis=0)
        ci_hi = np.quantile(sims, 1 - alpha / 2, axis=0)
    else:
        se = _delta_se(theta_h, V_h, bi, ti, f, ri)
        z = stats.norm.ppf(1 - alpha / 2)
        ci_lo, ci_hi = point - z * se, point + z * se
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = point / se
    rows = pd.DataFrame({
        "variable": np.repeat(names, 3), "effect": np.tile(_EFFECTS, len(names)),
        "estimate": point.ravel(), "std_error": se.ravel(), "statistic": stat.ravel(),
        "p_value": 2 * stats.norm.sf(np.abs(stat.ravel())),
        "ci_low": ci_lo.ravel(), "ci_high": ci_hi.ravel()})
    return EffectsResult(rows, method, int(n_sim) if method == "simulation" else 0, level,
                         res.model, dropped)


def _delta_se(theta, V, bi, ti, f, ri) -> np.ndarray:
    """Delta-method standard errors (vars x 3); d/drho by central differences."""
    p = len(theta)
    h = 1e-6
    up, dn = theta.copy(), theta.copy()
    if ri is not None:
        up[ri] += h
        dn[ri] -= h
    d_rho = (_effects_from(up[None], bi, ti, f, ri)[0]
             - _effects_from(dn[None], bi, ti, f, ri)[0]) / (2 * h)
    a, b, ta, tb = (v[0] for v in f(np.array([theta[ri] if ri is not None else 0.0])))
    out = np.empty((len(bi), 3))
    for k in range(len(bi)):
        for e, (cb, ct) in enumerate(((a, b), (ta - a, tb - b), (ta, tb))):
            g = np.zeros(p)
            g[bi[k]] = cb
            if ti[k] >= 0:
                g[ti[k]] = ct
            if ri is not None:
                g[ri] = d_rho[k, e]
            out[k, e] = np.sqrt(max(g @ V @ g, 0.0))
    return out
