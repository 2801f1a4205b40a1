"""Spatial panel benchmarks, dtistat beside PySAL (spreg, esda) in one process.

1. Two-way FE SDM, 300 cities x 9 quarters, 5 regressors, LeSage-Pace effects with
   1,000 simulation draws (target < 1 s in all).
2. Individual-FE SAR on the same panel: ``fit_spatial`` vs ``spreg.Panel_FE_Lag``
   (target >= 10x); estimates checked to agree. Also random-effects SAR vs
   ``spreg.Panel_RE_Lag``, and SAC / SEM-RE for scale.
3. 3,000 units x 20 periods, sparse kNN-8 W (sparse LU engine), two-way FE SDM
   (target < 30 s, < 2 GB).
4. Moran's I with 9,999 permutations, 369 cities x 9 quarters (target < 1 s), and
   ``esda.Moran`` on one quarter for scale.

Run: ``python benchmarks/bench_spatial.py`` (BLAS limited to one thread, both sides). Coordinates are the bundled city
coordinates (cities.csv); the panels are simulated.
"""

from __future__ import annotations

import dataclasses
import resource
import time
import warnings

import numpy as np
import pandas as pd

from dtistat.datasets import load_cities
from dtistat.spatial import distance_weights, fit_spatial, knn_weights, moran

warnings.filterwarnings("ignore")


def _panel(w, T, k, rng, rho=0.3):
    N = w.n
    W = w.sparse
    X = rng.normal(size=(T, N, k))
    Y = np.empty((T, N))
    a = rng.normal(size=N)
    from scipy.sparse import identity
    from scipy.sparse.linalg import splu

    lu = splu((identity(N, format="csc") - rho * W).tocsc())
    for t in range(T):
        mu = X[t] @ np.linspace(1, -1, k) + 0.5 * (W @ X[t, :, 0]) + a + rng.normal(size=N)
        Y[t] = lu.solve(mu)
    df = pd.DataFrame({"id": np.tile(np.asarray(w.ids), T), "t": np.repeat(np.arange(T), N),
                       "y": Y.ravel()})
    for j in range(k):
        df[f"x{j + 1}"] = X[..., j].ravel()
    return df


def _time(f, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    import spreg

    try:  # one BLAS thread for both sides: the shared 2-core machine thrashes otherwise
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass

    rng = np.random.default_rng(2023)
    cities = load_cities().set_index("city_id")
    xy = cities[["longitude", "latitude"]]
    w300 = distance_weights(xy.iloc[:300], cutoff=1000)
    df = _panel(w300, 9, 5, rng)
    xs = [f"x{j}" for j in range(1, 6)]

    def sdm_effects():
        # a fresh weight object: the eigendecomposition is part of the timing
        r = fit_spatial(df, "y", xs, entity="id", time="t", w=dataclasses.replace(w300),
                        model="sdm", fe="twoway")
        return r, r.effects(n_sim=1000, seed=1)

    sdm_effects()  # warm caches
    t_sdm, (r, _) = _time(sdm_effects)
    print(f"1. two-way FE SDM 300 x 9, 5 regressors + effects (1,000 draws): {t_sdm:.3f} s "
          f"[target < 1 s: {'OK' if t_sdm < 1 else 'MISSED'}]; rho = {r.rho:.4f}")

    wl = w300.to_libpysal()
    y = df["y"].to_numpy()[:, None]
    X = df[xs].to_numpy()
    # a fresh weight object per call: no eigenvalues carried over from an earlier fit
    t_ours, ours = _time(lambda: fit_spatial(df, "y", xs, entity="id", time="t",
                                             w=dataclasses.replace(w300), model="sar",
                                             fe="entity"))
    t_warm, _ = _time(lambda: fit_spatial(df, "y", xs, entity="id", time="t", w=w300,
                                          model="sar", fe="entity"))
    t_ref, ref = _time(lambda: spreg.Panel_FE_Lag(y, X, wl), repeat=2)
    diff = np.abs(ours.params.to_numpy() - np.ravel(ref.betas)).max()
    print(f"2. individual-FE SAR 300 x 9: dtistat {t_ours:.3f} s ({t_warm:.3f} s with W's "
          f"eigenvalues reused), spreg.Panel_FE_Lag {t_ref:.3f} s -> {t_ref / t_ours:.1f}x "
          f"({t_ref / t_warm:.1f}x) [target >= 10x]; max |diff| {diff:.1e}")

    t_re, re = _time(lambda: fit_spatial(df, "y", xs, entity="id", time="t",
                                         w=dataclasses.replace(w300), model="sar",
                                         fe="random"))
    Xc = np.column_stack([X])
    t_rref, rref = _time(lambda: spreg.Panel_RE_Lag(y, Xc, wl), repeat=2)
    diff = np.abs(re.params.to_numpy() - np.ravel(rref.betas)[:-1]).max()
    print(f"   random-effects SAR 300 x 9: dtistat {t_re:.3f} s, spreg.Panel_RE_Lag "
          f"{t_rref:.3f} s -> {t_rref / t_re:.1f}x; max |diff| {diff:.1e}")
    t_sac, _ = _time(lambda: fit_spatial(df, "y", xs, entity="id", time="t", w=w300,
                                         model="sac", fe="twoway"), repeat=1)
    t_semre, _ = _time(lambda: fit_spatial(df, "y", xs, entity="id", time="t", w=w300,
                                           model="sem", fe="random"), repeat=1)
    print(f"   SAC two-way FE {t_sac:.3f} s; SEM random effects {t_semre:.3f} s")

    pts = pd.DataFrame({"longitude": rng.uniform(75, 130, 3000),
                        "latitude": rng.uniform(20, 50, 3000)})
    w3k = knn_weights(pts, 8)
    big = _panel(w3k, 20, 5, rng)
    t0 = time.perf_counter()
    rb = fit_spatial(big, "y", xs, entity="id", time="t", w=w3k, model="sdm", fe="twoway")
    t_big = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"3. two-way FE SDM 3,000 x 20, kNN-8, sparse LU: {t_big:.2f} s, process max RSS "
          f"{rss:,.0f} MiB [targets < 30 s, < 2 GB]; rho = {rb.rho:.4f}")

    wk = knn_weights(xy, 8)
    q = pd.DataFrame({"id": np.tile(wk.ids, 9), "t": np.repeat(np.arange(9), len(wk.ids)),
                      "v": rng.normal(size=9 * len(wk.ids))})
    moran("v", wk, data=q, entity="id", time="t", permutations=99, seed=0)
    t_m, _ = _time(lambda: moran("v", wk, data=q, entity="id", time="t",
                                 permutations=9999, seed=0))
    import esda

    wkl = wk.to_libpysal()
    t_e, _ = _time(lambda: esda.Moran(q["v"].to_numpy()[: len(wk.ids)], wkl,
                                      permutations=9999), repeat=1)
    print(f"4. Moran's I, 9,999 permutations, 369 x 9 (kNN-8): {t_m:.3f} s "
          f"[target < 1 s]; esda.Moran one quarter: {t_e:.2f} s (x9 = {9 * t_e:.1f} s)")
    wd = distance_weights(xy)
    t_d, _ = _time(lambda: moran("v", wd, data=q, entity="id", time="t", permutations=9999,
                                 seed=0), repeat=1)
    print(f"   same with dense inverse-distance W: {t_d:.3f} s")


if __name__ == "__main__":
    main()
