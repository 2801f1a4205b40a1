"""Size study of ``spatial_hausman`` under its null (slow: minutes per cell).

SAR panels on a queen lattice (row-standardized), random individual effects independent of
x (``sigma_mu = 1``, ``sigma = 0.7``, ``rho = 0.3``, ``b = (1, -0.5)``). Two designs:

* ``entity``: no time effects; fixed ``fe="entity", lee_yu=True`` against
  ``fe="random"``;
* ``twoway``: period effects trending with x1 (``0.4 t`` in x1, ``0.3 t`` in y); fixed
  ``fe="twoway", lee_yu=True`` against ``fe="random-time", lee_yu=True``.

For every (N, T) cell it prints the mean statistic (default ``method="sigmamore"``; df =
2 for the slopes, 3 with rho), the rejection rate at 5 %, the same for
``method="separate"`` (each fit's own sigma2), and the Monte Carlo covariance of the contrast ``d`` beside the
average reported ``V_fe - V_re`` and the two pieces ``Var(b_fe)``, ``Var(b_re)`` beside
the reported ``V_fe``, ``V_re`` (ratios: 1 = the reported covariance is right).

Run: ``python benchmarks/hausman_size.py --design twoway --N 49 100 400 --T 5 10 20
--reps 200 [--out file.npz]``. Same seed -> same numbers.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from libpysal.weights import lat2W
from scipy import stats

from dtistat.errors import EstimationError
from dtistat.spatial import fit_spatial, spatial_hausman

PAIRS = {"entity": ("entity", "random"), "twoway": ("twoway", "random-time")}


def simulate(w, W, T, rng, design, rho=0.3):
    N = W.shape[0]
    mu = rng.normal(size=N)
    X = rng.normal(size=(T, N, 2))
    trend = 0.4 if design == "twoway" else 0.0
    X[..., 0] += trend * np.arange(T)[:, None]
    A = np.eye(N) - rho * W
    rhs = (X @ [1.0, -0.5] + mu[None] + (0.75 * trend) * np.arange(T)[:, None]
           + rng.normal(0, 0.7, (T, N)))
    Y = np.linalg.solve(A, rhs.T).T
    return pd.DataFrame({"i": np.tile(w.id_order, T), "t": np.repeat(np.arange(T), N),
                         "y": Y.ravel(), "x1": X[..., 0].ravel(), "x2": X[..., 1].ravel()})


def one(long, w, design):
    fe_name, re_name = PAIRS[design]
    kw = {"entity": "i", "time": "t", "w": w, "model": "sar"}
    fe = fit_spatial(long, "y", ["x1", "x2"], fe=fe_name, lee_yu=True, **kw)
    re = fit_spatial(long, "y", ["x1", "x2"], fe=re_name, lee_yu=re_name == "random-time",
                     **kw)
    t = ["x1", "x2", "rho"]
    return (_stat(fe, re), _stat(fe, re, spatial=True), _stat(fe, re, method="separate"),
            fe.params[t].to_numpy(), re.params[t].to_numpy(),
            fe.cov.loc[t, t].to_numpy(), re.cov.loc[t, t].to_numpy(),
            fe.sigma2, re.sigma2, re.sigma2_mu)


def _stat(fe, re, **kw):
    """The statistic, NaN when V_fe - V_re has no positive eigenvalue (counted)."""
    try:
        return spatial_hausman(fe, re, **kw).statistic
    except EstimationError:
        return np.nan


def cell(side, T, reps, design, seed):
    w = lat2W(side, side, rook=False)
    w.transform = "r"
    W = w.sparse.toarray()
    rng = np.random.default_rng([seed, side, T])
    rows = [one(simulate(w, W, T, rng, design), w, design) for _ in range(reps)]
    keys = ["H", "Hsp", "Hsep", "b_fe", "b_re", "V_fe", "V_re", "s2_fe", "s2_re", "s2mu"]
    return {k: np.array([r[i] for r in rows]) for i, k in enumerate(keys)}


def report(res, N, T, secs):
    H, Hsp, Hsep = res["H"], res["Hsp"], res["Hsep"]
    d = res["b_fe"][:, :2] - res["b_re"][:, :2]
    mc = np.cov(d.T)
    rep = (res["V_fe"] - res["V_re"])[:, :2, :2].mean(0)
    vfe = np.var(res["b_fe"][:, :2], axis=0, ddof=1) / res["V_fe"][:, [0, 1], [0, 1]].mean(0)
    vre = np.var(res["b_re"][:, :2], axis=0, ddof=1) / res["V_re"][:, [0, 1], [0, 1]].mean(0)
    # statistic with the Monte Carlo covariance of d (the "oracle" H)
    Horacle = np.einsum("ri,ij,rj->r", d, np.linalg.inv(mc), d)
    undefined = int(np.isnan(H).sum() + np.isnan(Hsp).sum() + np.isnan(Hsep).sum())
    H, Hsp, Hsep = (np.where(np.isnan(h), 0.0, h) for h in (H, Hsp, Hsep))   # no rejection
    print(f"N={N:4d} T={T:3d} R={len(H)}  mean H={H.mean():.2f} (df 2)  "
          f"rej5%={np.mean(stats.chi2.sf(H, 2) < .05):.3f}  "
          f"mean H_rho={Hsp.mean():.2f} (df 3) rej={np.mean(stats.chi2.sf(Hsp, 3) < .05):.3f}  "
          f"separate: mean H={Hsep.mean():.2f} rej={np.mean(stats.chi2.sf(Hsep, 2) < .05):.3f}  "
          f"oracle mean={Horacle.mean():.2f}  "
          f"Var(d)/Vd x1 {mc[0, 0] / rep[0, 0]:.2f} x2 {mc[1, 1] / rep[1, 1]:.2f}  "
          f"Vd/V_fe {rep[0, 0] / res['V_fe'][:, 0, 0].mean():.4f}  "
          f"Var/V fe {vfe[0]:.3f},{vfe[1]:.3f} re {vre[0]:.3f},{vre[1]:.3f}  "
          f"mean d/sd {np.abs(d.mean(0) / d.std(0) * np.sqrt(len(d))).max():.1f}  "
          f"undefined {undefined}  [{secs:.0f} s]", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--design", choices=list(PAIRS), default="twoway")
    ap.add_argument("--N", type=int, nargs="+", default=[49, 100, 400])
    ap.add_argument("--T", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = {}
    for N in a.N:
        side = int(round(np.sqrt(N)))
        for T in a.T:
            t0 = time.perf_counter()
            res = cell(side, T, a.reps, a.design, a.seed)
            report(res, side * side, T, time.perf_counter() - t0)
            out.update({f"{k}_{side * side}_{T}": v for k, v in res.items()})
    if a.out:
        np.savez(a.out, **out)


if __name__ == "__main__":
    main()
