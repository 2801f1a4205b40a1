"""Side-by-side timings of fit_moderated_mediation, one process.

Run:  python benchmarks/bench_modmed.py            (5000 draws)
      python benchmarks/bench_modmed.py --quick    (1000 draws)

1. Cross-section, PROCESS model 7, n = 1000, two mediators, one covariate: dtistat
   against pyprocessmacro 2.2.0 (``Process(..., boot=B)``), same number of draws.
2. Panel, 300 cities × 9 quarters, two-way FE, city-cluster bootstrap, model 58:
   dtistat against a plain NumPy refit loop (city within transform, quarter dummies,
   least squares on each resample of whole cities), timed on 500 draws, scaled to B.

Prints wall time (best of 3 for dtistat, one run for the peers) and the ratio.
Data: simulated (seeded).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from dtistat import fit_moderated_mediation


def _cross(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"x": rng.normal(size=n), "w": rng.normal(size=n),
                      "c1": rng.normal(size=n)})
    d["m1"] = 0.5 * d.x + 0.3 * d.x * d.w + rng.normal(size=n)
    d["m2"] = 0.3 * d.x + rng.normal(size=n)
    d["y"] = 0.4 * d.m1 + 0.2 * d.m2 + 0.1 * d.x + rng.normal(size=n)
    return d


def _panel(G=300, T=9, seed=1):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"city": np.repeat(np.arange(G), T), "q": np.tile(np.arange(T), G)})
    n = len(d)
    u = rng.normal(size=G)[d.city]
    d["w"] = rng.normal(size=n) + u
    d["x"] = u + rng.normal(size=n)
    d["m"] = 0.5 * d.x + 0.2 * d.x * d.w + u + rng.normal(size=n)
    d["y"] = 0.3 * d.m + 0.1 * d.m * d.w + u + rng.normal(size=n)
    return d


def _best(f, k=3):
    out = []
    for _ in range(k):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return min(out)


def _within(A, codes):
    """Subtract group means (one-way within transform) from every column of A."""
    cnt = np.bincount(codes)
    means = np.stack([np.bincount(codes, weights=A[:, j]) for j in range(A.shape[1])], 1)
    return A - (means / cnt[:, None])[codes]


def _refit_loop(d, B, seed=0):
    """Per resample of whole cities: city within transform, quarter dummies, lstsq."""
    rng = np.random.default_rng(seed)
    labels = d.city.unique()
    rows = {g: np.flatnonzero(d.city.to_numpy() == g) for g in labels}
    x, w, m, y = (d[c].to_numpy() for c in ("x", "w", "m", "y"))
    qd = pd.get_dummies(d.q, drop_first=True, dtype=float).to_numpy()
    for _ in range(B):
        r = rng.integers(0, len(labels), len(labels))
        idx = np.concatenate([rows[labels[g]] for g in r])
        codes = np.repeat(np.arange(len(r)), [len(rows[labels[g]]) for g in r])
        A = np.column_stack([x, w, x * w, m, m * w, y, qd])[idx]
        A = _within(A, codes)
        np.linalg.lstsq(A[:, [0, 1, 2, *range(6, A.shape[1])]], A[:, 3], rcond=None)
        np.linalg.lstsq(A[:, [0, 3, 1, 4, *range(6, A.shape[1])]], A[:, 5], rcond=None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    B = 1000 if ap.parse_args().quick else 5000
    warnings.simplefilter("ignore")
    from pyprocessmacro import Process

    d = _cross()
    kw = dict(x="x", m=["m1", "m2"], y="y", w="w", covariates="c1", n_boot=B, seed=1)
    t_ours = _best(lambda: fit_moderated_mediation(d, **kw))
    t = time.perf_counter()
    Process(data=d, model=7, x="x", y="y", m=["m1", "m2"], w="w", controls=["c1"],
            controls_in="all", boot=B, seed=1, suppr_init=True)
    t_ppm = time.perf_counter() - t
    print(f"model 7, n=1000, B={B}: dtistat {t_ours:.3f} s, pyprocessmacro {t_ppm:.3f} s, "
          f"ratio {t_ppm / t_ours:.1f}x")

    p = _panel()
    kw = dict(x="x", m="m", y="y", w="w", stage="both", entity="city", time="q",
              fe="twoway", n_boot=B, seed=1)
    t_ours = _best(lambda: fit_moderated_mediation(p, **kw))
    t = time.perf_counter()
    _refit_loop(p, 500)
    t_loop = (time.perf_counter() - t) * B / 500
    print(f"model 58, 300 cities x 9 quarters, two-way FE, cluster bootstrap, B={B}: "
          f"dtistat {t_ours:.3f} s, refit loop {t_loop:.1f} s (500 draws scaled), "
          f"ratio {t_loop / t_ours:.0f}x")


if __name__ == "__main__":
    main()
