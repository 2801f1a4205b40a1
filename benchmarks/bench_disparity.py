"""Speed of the Dagum decomposition and the spatial Markov chain against their references.

* Dagum Gini decomposition, 3,000 units x 4 groups x 40 periods: ``dagum_gini`` (sorted
  cumulative sums, ``O(k n log n)`` per period) against the straightforward
  ``O(n^2)`` double sums of Dagum's formulas (one broadcast ``|y_i - y_r|`` block per pair
  of groups) -- target < 1 s.
* Spatial Markov chain, 3,000 units x 40 periods, k = m = 5 pooled quintiles, a sparse
  6-nearest-neighbour weights matrix: ``spatial_markov`` against PySAL giddy
  ``Spatial_Markov(fixed=True)`` -- target < 1 s.
* Phillips-Sul club clustering with Phillips-Sul merging and divergent merging, 1,000
  units x 40 periods in 6 simulated clubs: ``convergence_clubs`` (every log t regression
  of a step in one batch) against ``convergence-clubs`` 0.1.2 ``find_clubs(...).merge``
  (one regression at a time, as R ``ConvergenceClubs``).

Both sides run in this process on the same data and must agree before times are
printed. Run: ``python benchmarks/bench_disparity.py``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from dtistat.index.disparity import convergence_clubs, dagum_gini, spatial_markov


def _best(fn, repeat=3):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def brute_dagum(y: np.ndarray, g: np.ndarray, k: int):
    """Dagum (1997) by explicit double sums: G, Gw, Gnb, Gt of one period."""
    n, mu = y.size, y.mean()
    G = np.abs(y[:, None] - y[None, :]).sum() / (2 * n * n * mu)
    grp = [y[g == j] for j in range(k)]
    mus = np.array([x.mean() for x in grp])
    p = np.array([x.size for x in grp]) / n
    s = p * mus / mu
    Gw = sum(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * m) * pj * sj
             for x, m, pj, sj in zip(grp, mus, p, s, strict=True))
    Gnb = Gt = 0.0
    for j in range(k):
        for h in range(j + 1, k):
            diff = grp[j][:, None] - grp[h][None, :]
            delta = np.abs(diff).mean()
            Gjh = delta / (mus[j] + mus[h])
            d = np.where(diff > 0, diff, 0).mean()
            q = np.where(diff < 0, -diff, 0).mean()
            D = abs(d - q) / (d + q)
            Gnb += Gjh * (p[j] * s[h] + p[h] * s[j]) * D
            Gt += Gjh * (p[j] * s[h] + p[h] * s[j]) * (1 - D)
    return G, Gw, Gnb, Gt


def bench_dagum(n=3000, k=4, T=40):
    rng = np.random.default_rng(0)
    g = rng.integers(0, k, n)
    Y = rng.lognormal(0.3 * g[:, None], 0.6, (n, T))
    df = pd.DataFrame({"e": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n),
                       "y": Y.ravel(), "g": np.repeat(g, T)})
    t_fast, r = _best(lambda: dagum_gini(df, value="y", entity="e", time="t", group="g"))
    t_ref, ref = _best(lambda: np.array([brute_dagum(Y[:, t], g, k) for t in range(T)]),
                       repeat=1)
    err = np.max(np.abs(r.overall[["G", "Gw", "Gnb", "Gt"]].to_numpy() - ref))
    assert err < 1e-12, err
    print(f"Dagum Gini decomposition, {n:,} units x {k} groups x {T} periods:")
    print(f"  dtistat.dagum_gini   {t_fast:8.3f} s  (target < 1 s: "
          f"{'OK' if t_fast < 1 else 'MISSED'}; identity error {r.identity_error:.1e})")
    print(f"  brute-force O(n^2)   {t_ref:8.3f} s  -> {t_ref / t_fast:,.0f}x; "
          f"max |difference| {err:.1e}")


def bench_spatial_markov(n=3000, T=40, knn=6):
    import libpysal
    from giddy.markov import Spatial_Markov

    rng = np.random.default_rng(1)
    xy = rng.uniform(size=(n, 2))
    _, idx = cKDTree(xy).query(xy, knn + 1)
    rows = np.repeat(np.arange(n), knn)
    W = sparse.csr_matrix((np.ones(n * knn), (rows, idx[:, 1:].ravel())), shape=(n, n))
    Y = np.cumsum(rng.normal(size=(n, T)), axis=1) + 5 * xy[:, :1]
    df = pd.DataFrame({"e": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n),
                       "y": Y.ravel()})
    t_fast, r = _best(lambda: spatial_markov(df, W, value="y", entity="e", time="t",
                                             k=5, m=5))
    w = libpysal.weights.WSP(W).to_W(silence_warnings=True)
    w.transform = "r"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_ref, sm = _best(lambda: Spatial_Markov(Y, w, fixed=True, k=5, m=5), repeat=1)
        lr, q = sm.LR, sm.Q
    assert np.array_equal(r.counts, sm.T)
    assert abs(r.homogeneity.lr.statistic - lr) < 1e-8 * lr
    assert abs(r.homogeneity.q.statistic - q) < 1e-8 * q
    print(f"Spatial Markov chain, {n:,} units x {T} periods, k = m = 5, {knn}-NN weights:")
    print(f"  dtistat.spatial_markov   {t_fast:8.3f} s  (target < 1 s: "
          f"{'OK' if t_fast < 1 else 'MISSED'})")
    print(f"  giddy.Spatial_Markov     {t_ref:8.3f} s  -> {t_ref / t_fast:,.1f}x "
          "(giddy's LR/Q computed lazily, included)")


def club_panel(n=1000, T=40, k=6, seed=0) -> pd.DataFrame:
    """Simulated log incomes: k clubs whose members converge to the club's path."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, T + 1)
    club = rng.integers(0, k, n)
    level = 8 + 0.3 * club[:, None] + 0.01 * club[:, None] * t  # diverging club paths
    X = level + rng.normal(0, 0.4, (n, 1)) / t ** 0.7 + rng.normal(0, 0.003, (n, T))
    return pd.DataFrame(X, index=pd.Index([f"u{i}" for i in range(n)], name="unit"),
                        columns=pd.Index(t, name="year"))


def bench_clubs(n=1000, T=40):
    import convergence_clubs as cc

    wide = club_panel(n, T)
    df = wide.stack().rename("x").reset_index()
    t_fast, r = _best(lambda: convergence_clubs(df, value="x", entity="unit", time="year",
                                                core_rule="max_abs_t", merge="ps",
                                                merge_divergent=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_ref, ref = _best(lambda: cc.find_clubs(wide).merge("PS", merge_divergent=True),
                           repeat=1)
    assert r.memberships.equals(ref.memberships().rename(r.memberships.name))
    err = np.max(np.abs(r.clubs["t_value"].to_numpy() - ref.summary()["t_value"].to_numpy()))
    assert err < 1e-8, err
    print(f"Club clustering + PS and divergent merging, {n:,} units x {T} periods "
          f"({r.initial_clubs.shape[0]} clubs before merging, {r.n_clubs} after):")
    print(f"  dtistat.convergence_clubs      {t_fast:8.3f} s")
    print(f"  convergence_clubs.find_clubs   {t_ref:8.3f} s  -> {t_ref / t_fast:,.1f}x; "
          f"same memberships, max |t difference| {err:.1e}")


if __name__ == "__main__":
    bench_dagum()
    bench_spatial_markov()
    bench_clubs()
