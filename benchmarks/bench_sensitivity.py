"""Benchmark: weight_sensitivity and sobol_weights against the naive rebuild-per-draw loop.

Data: simulated, 340 cities x 9 quarters (2021Q1-2023Q1) x 20 indicators in three
layers (7/6/7), 15 experts scoring layers and indicators 1-5 (a gamma-by-city-size
process; nothing here is real data). The naive loop is what COINr does per draw:
``compute_index(data, spec.with_weights(draw))`` and a groupby rank — timed over a few
hundred draws in the same run (best of --repeat batches, as the vectorized path) and
scaled per draw, in rounds that alternate with the vectorized runs so that both meet
the same machine state; both paths are checked to agree.

Run: python benchmarks/bench_sensitivity.py [--draws 10000] [--naive 200]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from dtistat import IndexSpec, compute_index
from dtistat.index.sensitivity import sobol_weights, weight_sensitivity

N_CITY, N_Q, N_LEAF, N_EXPERT = 340, 9, 20, 15


def make_data(seed: int = 0) -> tuple[pd.DataFrame, IndexSpec]:
    rng = np.random.default_rng(seed)
    q = pd.period_range("2021Q1", periods=N_Q, freq="Q").astype(str)
    idx = pd.MultiIndex.from_product([[f"city{i:03d}" for i in range(N_CITY)], q],
                                     names=["city", "quarter"])
    df = idx.to_frame(index=False)
    size = rng.lognormal(0, 1.0, N_CITY)[np.repeat(np.arange(N_CITY), N_Q)]
    growth = np.tile(1.05 ** np.arange(N_Q), N_CITY)
    for k in range(N_LEAF):
        df[f"x{k:02d}"] = size * growth * rng.gamma(4.0, 1.0, len(df))
    layers = {"infrastructure": range(7), "platform": range(7, 13),
              "application": range(13, 20)}
    tree = {"name": "total", "children": [
        {"name": name, "children": [{"name": f"x{k:02d}"} for k in ks]}
        for name, ks in layers.items()]}
    nodes = list(layers) + [f"x{k:02d}" for k in range(N_LEAF)]
    scores = {f"e{i:02d}": {n: int(rng.integers(1, 6)) for n in nodes} for i in range(N_EXPERT)}
    return df, IndexSpec.from_dict({**tree, "expert_scores": scores})


def naive(df: pd.DataFrame, spec: IndexSpec, res, n: int,
          start: int = 0) -> tuple[float, np.ndarray]:
    """Rebuild the index for draws start..start+n; returns seconds and ranks."""
    wcols = [c for c in res.draws.columns if c.startswith("w:")]
    out = []
    t0 = time.perf_counter()
    for d in range(start, start + n):
        w = {c[2:]: float(res.draws.at[d, c]) for c in wcols}
        r = compute_index(df, spec.with_weights(w))
        s = r.scores["total"]
        out.append(s.groupby(level="quarter").rank(ascending=False, method="min").to_numpy())
    return time.perf_counter() - t0, np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--naive", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    df, spec = make_data()
    warnings.simplefilter("ignore")
    import os
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, python "
          f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    print(f"data: {N_CITY} cities x {N_Q} quarters x {N_LEAF} indicators, {N_EXPERT} experts "
          f"(simulated)")

    def run(n=args.draws, n_jobs=None):
        return weight_sensitivity(df, spec, method="expert_bootstrap", n_draws=n,
                                  seed=1, top_k=10, leave_one_out=False, n_jobs=n_jobs)

    def best(f, repeat=args.repeat):
        out = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            f()
            out.append(time.perf_counter() - t0)
        return min(out)

    res = run()
    res.summary()  # warm-up (imports, compiled kernels, threads)
    naive(df, spec, res, 2)
    # rounds alternate the two paths so both meet the same machine: the vectorized run
    # (and its summary), then a batch of the naive loop; best round of each
    times, full, naive_times = [], [], []
    batch = max(1, args.naive // args.repeat)
    naive_ranks = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        res = run()
        t1 = time.perf_counter()
        res.summary()  # + exact 5/50/95% score quantiles over all draws
        t2 = time.perf_counter()
        times.append(t1 - t0)
        full.append(t2 - t0)
        tn, rk = naive(df, spec, res, batch, start=i * batch)
        naive_times.append(tn / batch)
        naive_ranks.append(rk)
    t_vec, t_full = min(times), min(full)
    naive_ranks = np.concatenate(naive_ranks)
    tracemalloc.start()
    run().summary()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux

    t0 = time.perf_counter()
    res_k = weight_sensitivity(df, spec, n_draws=args.draws, seed=1, leave_one_out=False,
                               kendall=True)
    t_kendall = time.perf_counter() - t0
    t_one = best(lambda: run(n_jobs=1))
    # marginal cost of a draw: twice the draws minus once (the fixed setup cancels)
    t_double = best(lambda: run(n=2 * args.draws))
    marginal = (t_double - t_vec) / args.draws

    # same numbers: the naive ranks reproduce the vectorized per-draw rank shift
    nom = res.summary().sort_values(["city", "quarter"])["nominal_rank"].to_numpy()
    shift = np.abs(naive_ranks - nom[None]).mean(axis=1)
    n_checked = len(naive_ranks)
    np.testing.assert_allclose(shift, res.draws["rank_shift"].to_numpy()[:n_checked],
                               rtol=0, atol=1e-12)
    per_vec, per_full = t_vec / args.draws, t_full / args.draws
    per_naive = min(naive_times)

    t0 = time.perf_counter()
    sob = sobol_weights(df, spec, groups="indicator", vary=[f"x{k:02d}" for k in range(N_LEAF)],
                        n_base=1024, seed=2)
    t_sobol = time.perf_counter() - t0

    print(f"weight_sensitivity, {args.draws:,} expert-bootstrap draws, rank intervals + "
          f"top-10 probabilities : {t_vec:.3f} s (best of {args.repeat})")
    print(f"  + summary() with exact score quantiles over all draws         : {t_full:.3f} s; "
          f"traced peak {peak / 2**20:,.0f} MiB, process max RSS {rss:,.0f} MiB")
    print(f"  with Kendall's tau per draw as well (no summary)              : {t_kendall:.3f} s")
    print(f"  on one thread (n_jobs=1)                                      : {t_one:.3f} s; "
          f"{2 * args.draws:,} draws: {t_double:.3f} s")
    print(f"naive rebuild loop (compute_index + ranks per draw), {args.repeat} batches of "
          f"{batch} draws : {per_naive * 1e3:.2f} ms/draw (best batch; median "
          f"{np.median(naive_times) * 1e3:.2f})")
    print(f"per draw: vectorized {per_vec * 1e6:.1f} us ({per_full * 1e6:.1f} us with score "
          f"quantiles) vs naive {per_naive * 1e3:.2f} ms -> ratio {per_naive / per_vec:,.0f}x "
          f"({per_naive / per_full:,.0f}x)")
    print(f"marginal cost per draw (setup excluded): {marginal * 1e6:.1f} us -> ratio "
          f"{per_naive / marginal:,.0f}x")
    print(f"sobol_weights, 20 weights, N=1024 ({len(sob.Y):,} runs + SALib analysis, "
          f"convergence at N/2)   : {t_sobol:.3f} s")
    print(res_k.draws[["rank_shift", "spearman", "kendall"]].describe().round(4).to_string())


if __name__ == "__main__":
    main()
