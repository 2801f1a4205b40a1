"""Benchmark: weight_sensitivity against a GEMM + np.argsort baseline and the naive rebuild loop.

Data: simulated, 340 cities x 9 quarters (2021Q1-2023Q1) x 20 indicators in three
layers (7/6/7), 15 experts scoring layers and indicators 1-5 (a gamma-by-city-size
process; nothing here is real data). Two peers run on the same draws in the same
process and are checked to give the same numbers:

* the naive loop, what COINr does per draw: ``compute_index(data,
  spec.with_weights(draw))`` and a groupby rank — timed over a few hundred draws (best
  of --repeat batches, alternating with the dtistat runs) and scaled per draw;
* "GEMM + np.argsort": the scores of a chunk of draws by one matrix product, ranks by
  ``np.argsort`` of every (draw, quarter) row, full rank counts by ``np.bincount`` —
  the straightforward vectorized NumPy path.

``--scale`` adds the scale rows, each in a fresh process (its peak resident memory is
the row's own): 5,000 firms x 15 periods x 10,000 draws and 25,000 entities x 40
periods x 1,000 draws (simulated the same way; rank intervals + P(top 10)).

Run: python benchmarks/bench_sensitivity.py [--draws 10000] [--naive 200] [--scale]
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

from dtistat import DtiStatError, IndexSpec, compute_index
from dtistat.sensitivity import sobol_weights, weight_sensitivity
from dtistat.sensitivity.quantiles import order_stat

N_CITY, N_Q, N_LEAF, N_EXPERT = 340, 9, 20, 15


def make_data(seed: int = 0, n_city: int = N_CITY,
              n_q: int = N_Q) -> tuple[pd.DataFrame, IndexSpec]:
    rng = np.random.default_rng(seed)
    q = pd.period_range("2021Q1", periods=n_q, freq="Q").astype(str)
    idx = pd.MultiIndex.from_product([[f"city{i:05d}" for i in range(n_city)], q],
                                     names=["city", "quarter"])
    df = idx.to_frame(index=False)
    size = rng.lognormal(0, 1.0, n_city)[np.repeat(np.arange(n_city), n_q)]
    growth = np.tile(1.05 ** np.arange(n_q), n_city)
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


def gemm_argsort(res, chunk: int = 500) -> tuple[float, pd.DataFrame]:
    """The straightforward NumPy path on the same draws: scores of a chunk of draws by
    one GEMM, 'min' ranks by np.argsort of every (draw, quarter) row, full rank counts
    (cells x ranks) by np.bincount, quantiles from the cumulative counts."""
    ctx, W = res._ctx, res._weights
    t0 = time.perf_counter()
    G, NE, D = ctx.G, ctx.NE, len(W)
    counts = np.zeros(G * NE * NE, dtype=np.int64)
    cells = (np.arange(G)[:, None] * NE + np.arange(NE)[None]).ravel()
    for lo in range(0, D, chunk):
        S = (W[lo:lo + chunk] @ ctx.TT[0]).reshape(-1, NE)             # GEMM
        o = np.argsort(-S, axis=1, kind="stable")
        srt = np.take_along_axis(S, o, axis=1)
        new = np.ones(srt.shape, dtype=bool)
        new[:, 1:] = srt[:, 1:] != srt[:, :-1]
        rp = np.maximum.accumulate(np.where(new, np.arange(1, NE + 1), 0), axis=1)
        ranks = np.empty_like(rp)
        np.put_along_axis(ranks, o, rp, axis=1)
        idx = np.tile(cells, len(S) // G) * NE + ranks.ravel() - 1
        counts += np.bincount(idx, minlength=G * NE * NE)
    c = counts.reshape(G * NE, NE).cumsum(axis=1)
    out = {}
    for name, p in (("rank_p05", 0.05), ("median_rank", 0.5), ("rank_p95", 0.95)):
        out[name] = (c < order_stat(D, p)).sum(axis=1) + 1
    out["p_top_k"] = c[:, 9] / D
    t = time.perf_counter() - t0
    gi, ei = np.nonzero(ctx.valid.T)[1], np.nonzero(ctx.valid.T)[0]
    frame = pd.DataFrame({k: v[gi * NE + ei] for k, v in out.items()}, index=res.ranks.index)
    return t, frame


def _cpu() -> float:
    """CPU seconds of this process, all threads (user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def scale_row(n_ent: int, n_per: int, n_draws: int) -> None:
    """One scale row, in this (fresh) process: time, peak memory, or the refusal."""
    df, spec = make_data(1, n_ent, n_per)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    weight_sensitivity(df.iloc[:60], spec, n_draws=100, seed=1, leave_one_out=False)  # compile
    t0, c0 = time.perf_counter(), _cpu()
    try:
        res = weight_sensitivity(df, spec, n_draws=n_draws, seed=1, top_k=10,
                                 leave_one_out=False)
    except DtiStatError as exc:  # a refusal is a result of this row
        print(f"{n_ent:,} x {n_per} x {n_draws:,}: refused after "
              f"{time.perf_counter() - t0:.1f} s: {type(exc).__name__}: {exc}")
        return
    t, cpu = time.perf_counter() - t0, _cpu() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    band = res.ranks["rank_p95"] - res.ranks["rank_p05"]
    print(f"{n_ent:,} entities x {n_per} periods x {n_draws:,} draws: {t:.1f} s "
          f"({cpu:.1f} s CPU, all threads); process "
          f"peak RSS {rss:,.0f} MiB ({rss0:,.0f} MiB after building the data); median "
          f"5-95% rank interval width {band.median():.0f} ranks")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--naive", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scale", action="store_true")
    ap.add_argument("--scale-row", type=int, nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scale_row:
        scale_row(*args.scale_row)
        return
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
    res.rank_table()  # warm-up (imports, compiled kernels)
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
        res.rank_table()  # + exact 5/50/95% score quantiles over all draws
        t2 = time.perf_counter()
        times.append(t1 - t0)
        full.append(t2 - t0)
        tn, rk = naive(df, spec, res, batch, start=i * batch)
        naive_times.append(tn / batch)
        naive_ranks.append(rk)
    t_vec, t_full = min(times), min(full)
    naive_ranks = np.concatenate(naive_ranks)
    tracemalloc.start()
    run().rank_table()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux

    t0 = time.perf_counter()
    res_k = weight_sensitivity(df, spec, n_draws=args.draws, seed=1, leave_one_out=False,
                               kendall=True)
    t_kendall = time.perf_counter() - t0
    t_one = best(lambda: run(n_jobs=1))
    c0 = time.process_time()
    run(n_jobs=1)
    c_one = time.process_time() - c0   # CPU time: robust on a machine shared with others
    # marginal cost of a draw: twice the draws minus once (the fixed setup cancels)
    t_double = best(lambda: run(n=2 * args.draws))
    marginal = (t_double - t_vec) / args.draws

    # same numbers: the naive ranks reproduce the vectorized per-draw rank shift
    nom = res.rank_table().sort_values(["city", "quarter"])["nominal_rank"].to_numpy()
    shift = np.abs(naive_ranks - nom[None]).mean(axis=1)
    n_checked = len(naive_ranks)
    np.testing.assert_allclose(shift, res.draws["rank_shift"].to_numpy()[:n_checked],
                               rtol=0, atol=1e-12)
    per_vec, per_full = t_vec / args.draws, t_full / args.draws
    per_naive = min(naive_times)
    t_arg, base = min((gemm_argsort(res) for _ in range(2)), key=lambda x: x[0])
    pd.testing.assert_frame_equal(base, res.ranks[list(base.columns)], check_dtype=False)

    t0 = time.perf_counter()
    sob = sobol_weights(df, spec, groups="indicator", vary=[f"x{k:02d}" for k in range(N_LEAF)],
                        n_base=1024, seed=2)
    t_sobol = time.perf_counter() - t0

    print(f"weight_sensitivity, {args.draws:,} expert-bootstrap draws, rank intervals + "
          f"top-10 probabilities : {t_vec:.3f} s (best of {args.repeat})")
    print(f"  + rank_table() with exact score quantiles over all draws      : {t_full:.3f} s; "
          f"traced peak {peak / 2**20:,.0f} MiB, process max RSS {rss:,.0f} MiB")
    print(f"  with Kendall's tau per draw as well (no summary)              : {t_kendall:.3f} s")
    print(f"  on one thread (n_jobs=1)                                      : {t_one:.3f} s "
          f"({c_one:.3f} s CPU); {2 * args.draws:,} draws: {t_double:.3f} s")
    print(f"naive rebuild loop (compute_index + ranks per draw), {args.repeat} batches of "
          f"{batch} draws : {per_naive * 1e3:.2f} ms/draw (best batch; median "
          f"{np.median(naive_times) * 1e3:.2f})")
    print(f"per draw: vectorized {per_vec * 1e6:.1f} us ({per_full * 1e6:.1f} us with score "
          f"quantiles) vs naive {per_naive * 1e3:.2f} ms -> ratio {per_naive / per_vec:,.0f}x "
          f"({per_naive / per_full:,.0f}x)")
    print(f"marginal cost per draw (setup excluded): {marginal * 1e6:.1f} us -> ratio "
          f"{per_naive / marginal:,.0f}x")
    print(f"GEMM + np.argsort per draw (same draws, same rank quantiles and P(top 10)): "
          f"{t_arg:.3f} s -> dtistat {t_arg / t_vec:.1f}x faster")
    print(f"sobol_weights, 20 weights, N=1024 ({len(sob.Y):,} runs + SALib analysis, "
          f"convergence at N/2)   : {t_sobol:.3f} s")
    print(res_k.draws[["rank_shift", "spearman", "kendall"]].describe().round(4).to_string())
    if args.scale:
        import subprocess
        import sys
        for row in ((5_000, 15, 10_000), (25_000, 40, 1_000)):
            subprocess.run([sys.executable, __file__, "--scale-row", *map(str, row)],
                           check=False)


if __name__ == "__main__":
    main()
