"""Benchmark: parallel analysis (1,000 draws on 2,000 x 30) and CFA, side by side.

Run: ``python benchmarks/bench_factors.py`` (``--fa-only``: only the factor-eigenvalue
part). Prints the time of dtistat's batched parallel analysis (Wishart draws and
simulated-data draws) beside a naive loop that simulates the data and calls
``np.corrcoef`` + ``eigvalsh`` once per draw, in the same process, and the ratio; then
``kind="fa"`` (one-factor minres per draw, batched) beside its per-draw L-BFGS-B path
and ``kind="pca"`` on psych's bfi and the demo environment; then the
Holzinger–Swineford CFA against semopy.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dtistat import factors
from dtistat.factors import fit_cfa, parallel_analysis

N, P, N_ITER = 2_000, 30, 1_000


def make_data(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((N, 3))
    L = np.zeros((P, 3))
    for j in range(P):
        L[j, j % 3] = 0.7
    X = F @ L.T + 0.7 * rng.standard_normal((N, P))
    return pd.DataFrame(X, columns=[f"v{j + 1}" for j in range(P)])


def naive_parallel(X: np.ndarray, n_iter: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n, p = X.shape
    out = np.empty((n_iter, p))
    for i in range(n_iter):
        out[i] = np.linalg.eigvalsh(np.corrcoef(rng.standard_normal((n, p)), rowvar=False))[::-1]
    return np.quantile(out, 0.95, axis=0)


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def fa_data() -> dict[str, pd.DataFrame]:
    """psych's bfi (25 items, complete cases) and the demo environment (369 x 12)."""
    from dtistat.datasets.demo_world import ENV_INDICATORS, simulate_environment

    d = pd.read_csv(Path(__file__).parents[1] / "tests" / "data" / "bfi.csv.gz")
    items = [c for c in d.columns if len(c) == 2 and c[0] in "ACENO" and c[1].isdigit()]
    env = simulate_environment()[list(ENV_INDICATORS)]
    ident = ["talent_inflow", "policy_support"]
    env = np.log(env.drop(columns=ident)).join(env[ident])
    return {"bfi 2,436 x 25": d[items].dropna(), "demo environment 369 x 12": env}


def bench_fa() -> None:
    print(f"parallel analysis kind='fa', {N_ITER} draws (best of 3; per-draw path once):")
    batched = factors._one_factor_communalities
    for name, df in fa_data().items():
        t_pca = best_of(lambda: parallel_analysis(df, n_iter=N_ITER, seed=1))
        t_fa = best_of(lambda: parallel_analysis(df, n_iter=N_ITER, seed=1, kind="fa"))
        fast = parallel_analysis(df, n_iter=N_ITER, seed=1, kind="fa")
        factors._one_factor_communalities = factors._one_factor_communalities_each
        try:
            t0 = time.perf_counter()
            slow = parallel_analysis(df, n_iter=N_ITER, seed=1, kind="fa")
            t_each = time.perf_counter() - t0
        finally:
            factors._one_factor_communalities = batched
        print(f"  {name}: pca {t_pca:.3f} s, fa batched {t_fa:.3f} s "
              f"({t_fa / t_pca:.1f}x pca), fa per-draw L-BFGS-B {t_each:.3f} s "
              f"(ratio {t_each / t_fa:.1f}x); factors {fast.n_factors} vs "
              f"{slow.n_factors}; max |random mean diff| "
              f"{np.max(np.abs(fast.random_mean - slow.random_mean)):.1e}, "
              f"95th pct {np.max(np.abs(fast.random_quantile - slow.random_quantile)):.1e}")


def main() -> None:
    if "--fa-only" in sys.argv:
        bench_fa()
        return
    data = make_data()
    X = data.to_numpy()
    parallel_analysis(data, n_iter=5, seed=0)  # warm up imports
    t_naive = best_of(lambda: naive_parallel(X, N_ITER, 1), repeat=1)
    t_wish = best_of(lambda: parallel_analysis(data, n_iter=N_ITER, seed=1))
    t_data = best_of(lambda: parallel_analysis(data, n_iter=N_ITER, seed=1, method="data"),
                     repeat=1)
    q_naive = naive_parallel(X, N_ITER, 1)
    q_wish = parallel_analysis(data, n_iter=N_ITER, seed=1).random_quantile
    print(f"parallel analysis, {N_ITER} draws on {N} x {P}:")
    print(f"  naive loop (corrcoef + eigvalsh per draw) {t_naive:8.3f} s")
    print(f"  dtistat method='data' (batched, chunked)  {t_data:8.3f} s   "
          f"ratio {t_naive / t_data:5.1f}x")
    print(f"  dtistat method='wishart' (default)        {t_wish:8.3f} s   "
          f"ratio {t_naive / t_wish:5.1f}x")
    print(f"  max |95th percentile difference| wishart vs naive: "
          f"{np.max(np.abs(q_wish - q_naive)):.4f} (Monte Carlo noise)")
    bench_fa()

    from semopy import Model
    from semopy.examples import holzinger39

    hs = holzinger39.get_data()
    desc = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    t_ours = best_of(lambda: fit_cfa(hs, desc), repeat=5)

    def semopy_fit():
        m = Model(desc)
        m.fit(hs)
        return m

    t_sem = best_of(semopy_fit, repeat=5)
    print("Holzinger-Swineford 3-factor CFA (ML):")
    print(f"  semopy 2.3 Model.fit (default solver)     {t_sem * 1e3:8.1f} ms")
    print(f"  dtistat fit_cfa (with all fit indices)    {t_ours * 1e3:8.1f} ms   "
          f"ratio {t_sem / t_ours:5.1f}x")


if __name__ == "__main__":
    main()
