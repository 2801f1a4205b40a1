"""Side-by-side timings of fit_mediation against pingouin and statsmodels, one process.

Run:  python benchmarks/bench_mediation.py            (full: n=2,700 and n=100,000)
      python benchmarks/bench_mediation.py --quick    (n=2,700 only, fewer draws)
      python benchmarks/bench_mediation.py --memory   (1,000,000 rows: peak memory)
      python benchmarks/bench_mediation.py --rebuild  (a table beyond CACHE_BYTES)

``--memory`` fits a 20,000-city × 50-period panel (10^6 rows, two-way FE, city cluster
bootstrap, BCa) in a fresh process and prints its peak resident memory
(``resource.getrusage`` ru_maxrss, the whole process: interpreter, libraries and data
included, and that before the fit) and the peak traced by ``tracemalloc`` during the
fit (NumPy's allocations). Target: under 2 GB peak (issue #21).

Prints wall time (best of ``--repeat`` for dtistat, one run for the peers, whose runs
take seconds to minutes), the ratio peer/dtistat, and peak traced memory of each call
(``tracemalloc``, which sees NumPy's allocations), measured in a separate traced run
because tracing slows Python-heavy code; statsmodels' memory is not traced (its
Python-level allocations make a traced run take minutes).

``--rebuild``: 25,000 cities × 50 periods, 10% of rows dropped (unbalanced: the time
dummies' cross-products vary by city, the per-city table is ~300 MB > CACHE_BYTES and is
rebuilt from the rows on every pass), 999 draws: chunks of 128 draws as before (one
rebuild per chunk, REBUILD_CHUNK_BYTES = 0), the REBUILD_CHUNK_BYTES chunks, and the
table cached (CACHE_BYTES raised), one process; the draws must be bit-identical.

Data: simulated (seeded) — X, one mediator M, outcome Y, three covariates; for the
panel case 300 cities × 9 quarters with city and quarter effects.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from dtistat.mediation import fit_mediation


def simulate(n: int, seed: int = 0, cities: int | None = None) -> pd.DataFrame:
    """Simulated mediation data; with ``cities``, a balanced city × quarter panel."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, 3))
    if cities:
        T = n // cities
        e, t = np.repeat(np.arange(cities), T), np.tile(np.arange(T), cities)
        ae, at = rng.normal(size=cities)[e], rng.normal(size=T)[t]
    else:
        e = t = np.zeros(n, dtype=int)
        ae = at = np.zeros(n)
    x = ae + at + rng.normal(size=n) + W @ [0.2, 0.1, 0.0]
    m = 0.5 * x + ae - at + rng.normal(size=n) + W @ [0.1, 0.0, 0.3]
    y = 0.4 * m + 0.2 * x + ae + at + rng.normal(size=n) + W @ [0.0, 0.2, 0.1]
    d = pd.DataFrame({"x": x, "m": m, "y": y, "w1": W[:, 0], "w2": W[:, 1], "w3": W[:, 2]})
    if cities:
        d["city"] = e
        d["quarter"] = t
    return d


def timed(fn, repeat: int = 1) -> float:
    """Best wall seconds of ``repeat`` calls of ``fn()`` (no tracing: it slows Python)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peak_mib(fn) -> float:
    """Peak traced memory (MiB) of one call of ``fn()``; NumPy reports to tracemalloc."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def measure(fn, repeat: int = 1, memory: bool = True) -> tuple[float, float]:
    """(best wall seconds, peak traced MiB or NaN) of ``fn()``."""
    return timed(fn, repeat), (peak_mib(fn) if memory else float("nan"))


def row(label, ours, peer=None, peer_name=""):
    """Print one comparison line: times, memory and the ratio peer/dtistat."""
    t, mem = ours
    s = f"{label:<60} dtistat {t:7.3f} s {mem:7.1f} MiB"
    if peer is not None:
        pt, pm = peer
        s += f" | {peer_name} {pt:7.2f} s {pm:7.1f} MiB | ratio {pt / t:6.1f}x"
    print(s, flush=True)
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n=2,700 only, 1,000 draws")
    ap.add_argument("--draws", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads for every library (default 1: on a shared machine "
                         "multithreaded BLAS on small matrices oversubscribes the cores and "
                         "slows the peers' per-replicate lstsq calls by 10x or more)")
    ap.add_argument("--no-peer-memory", action="store_true",
                    help="skip the second (traced) run of each peer")
    ap.add_argument("--memory", action="store_true",
                    help="only the memory row: 10^6 rows x 50 periods, in a fresh process")
    ap.add_argument("--memory-draws", type=int, default=1000,
                    help="bootstrap draws of the memory row (default 1,000)")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--rebuild", action="store_true",
                    help="only the uncached-table row (25,000 cities x 50 periods)")
    args = ap.parse_args()
    if args.rebuild:
        rebuild_row()
        return
    if args.memory_child:
        memory_row(args.memory_draws)
        return
    if args.memory:  # a fresh interpreter: ru_maxrss is a high-water mark for life
        subprocess.run([sys.executable, __file__, "--memory-child",
                        "--memory-draws", str(args.memory_draws)], check=True)
        return
    draws = 1000 if args.quick else args.draws
    covs = ["w1", "w2", "w3"]
    warnings.simplefilter("ignore")

    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args, draws, covs)


def _maxrss_mib() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


def memory_row(draws: int, cities: int = 20_000, periods: int = 50) -> None:
    """Peak memory of fit_mediation on 10^6 rows × 50 periods with two-way FE."""
    n = cities * periods
    d = simulate(n, seed=4, cities=cities)
    before = _maxrss_mib()
    warnings.simplefilter("ignore")
    tracemalloc.start()
    t0 = time.perf_counter()
    res = fit_mediation(d, x="x", m="m", y="y", covariates=["w1", "w2", "w3"],
                        entity="city", time="quarter", fe="twoway", n_boot=draws,
                        ci="bca", seed=1)
    wall = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    peak = _maxrss_mib()
    ind = res.indirect.iloc[0]
    print(f"n={n:,} ({cities:,} cities x {periods} periods) two-way FE, city cluster "
          f"bootstrap, {draws:,} BCa draws: {wall:.1f} s; peak RSS {peak:,.0f} MiB "
          f"(before the fit {before:,.0f} MiB: interpreter, libraries, data); traced "
          f"during the fit {traced:,.0f} MiB; target < 2 GB "
          f"{'met' if peak * 2**20 < 2e9 else 'MISSED'}")
    print(f"indirect[m] = {ind['estimate']:.4f} (truth 0.2), BCa "
          f"[{ind['ci_low']:.4f}, {ind['ci_high']:.4f}]", flush=True)


def rebuild_row(cities: int = 25_000, periods: int = 50, draws: int = 999) -> None:
    """fit_mediation when the per-group table is rebuilt on each pass (issue #21)."""
    from dtistat import _bootstrap as bs
    d = simulate(cities * periods, seed=4, cities=cities)
    d = d[np.random.default_rng(1).random(len(d)) > 0.1].reset_index(drop=True)
    kw = {"x": "x", "m": "m", "y": "y", "covariates": ["w1", "w2", "w3"], "entity": "city",
          "time": "quarter", "fe": "twoway", "n_boot": draws, "seed": 1}
    warnings.simplefilter("ignore")
    saved = bs.CACHE_BYTES, bs.REBUILD_CHUNK_BYTES
    out = {}
    for label, cache, reb in [("rebuilt per 128-draw chunk (before)", saved[0], 0),
                              ("rebuilt per REBUILD_CHUNK_BYTES chunk", saved[0], saved[1]),
                              ("cached (CACHE_BYTES raised)", 10**10, saved[1])]:
        bs.CACHE_BYTES, bs.REBUILD_CHUNK_BYTES = cache, reb
        t0 = time.perf_counter()
        out[label] = fit_mediation(d, **kw).boot_draws.to_numpy()
        print(f"{len(d):,} rows, {cities:,} cities, {draws} draws, {label}: "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    bs.CACHE_BYTES, bs.REBUILD_CHUNK_BYTES = saved
    a, b, _ = out.values()
    print(f"draws bit-identical before/after: {np.array_equal(a, b)}")


def run(args, draws: int, covs: list[str]) -> None:
    """The comparisons, in one process."""
    import pingouin as pg
    import statsmodels
    import statsmodels.api as sm
    from statsmodels.stats.mediation import Mediation

    print(f"numpy {np.__version__}, pingouin {pg.__version__}, statsmodels "
          f"{statsmodels.__version__}; draws = {draws}; BLAS threads = {args.threads}\n")

    # 1. our panel target: two-way FE, city cluster bootstrap, BCa
    panel = simulate(2700, seed=1, cities=300)
    ours = measure(lambda: fit_mediation(
        panel, x="x", m="m", y="y", covariates=covs, entity="city", time="quarter",
        fe="twoway", n_boot=draws, ci="bca", seed=1), args.repeat)
    row(f"n=2,700 two-way FE, city cluster bootstrap, {draws} BCa", ours)

    # 2. vs pingouin (no FE: it has none), equal n and draws
    sizes = [2700] if args.quick else [2700, 100_000]
    for n in sizes:
        d = simulate(n, seed=2)
        peer = measure(lambda d=d: pg.mediation_analysis(d, x="x", m="m", y="y", covar=covs,
                                                     n_boot=draws, seed=1),
                       memory=not args.no_peer_memory)
        for ci in ("bc", "bca"):
            ours = measure(lambda d=d, ci=ci: fit_mediation(
                d, x="x", m="m", y="y", covariates=covs, n_boot=draws, ci=ci, seed=1),
                args.repeat)
            row(f"n={n:,} row bootstrap, {draws} draws, {ci.upper()} (pingouin: BC)", ours,
                peer, "pingouin")

    # 3. vs statsmodels Mediation, 1,000 replicates, n=2,700
    d = simulate(2700, seed=3)
    rhs = " + ".join(covs)

    def sm_fit(method):
        out = sm.OLS.from_formula(f"y ~ x + m + {rhs}", d)
        mm = sm.OLS.from_formula(f"m ~ x + {rhs}", d)
        return Mediation(out, mm, "x", "m").fit(n_rep=1000, method=method)

    ours = measure(lambda: fit_mediation(d, x="x", m="m", y="y", covariates=covs,
                                         n_boot=1000, ci="bca", seed=1), args.repeat)
    for method in ("parametric", "bootstrap"):
        peer = measure(lambda method=method: sm_fit(method), memory=False)
        row(f"n=2,700, 1,000 reps, BCa (statsmodels Mediation {method})", ours, peer,
            "statsmodels")


if __name__ == "__main__":
    main()
