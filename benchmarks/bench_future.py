"""Future-industry index from 10 million firm records: pandas engine, dask engine, LocalCluster.

Targets: the pandas engine turns 10 million firm records into the city × domain
× quarter index in under 15 s and under 4 GB on a 2-core machine; the dask engine gives
the same numbers (to 1e-12) from a Parquet folder.

Run: ``python benchmarks/bench_future.py [n_firms] [--no-dask]``. The records come from
the demo world's firm simulator (``dtistat.datasets.demo_world.simulate_firms``;
simulated data). Peak memory is reported two ways: the peak of Python/numpy allocations
during the call (tracemalloc, a separate run so that tracing does not slow the timed run),
and the process's maximum resident set size (imports and the 10M-row input included).
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from dtistat.datasets import load_cities
from dtistat.datasets.demo_world import simulate_firms
from dtistat.errors import DtiStatWarning
from dtistat.future import future_industry_index

KW = {"entity": "city_id", "funding": "funding_amount", "rounds": "funding_rounds",
      "capital": "registered_capital", "as_of": "2023-04-01"}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, n: int, source, **kw):
    t0 = time.perf_counter()
    out = future_industry_index(source, **KW, **kw)
    dt = time.perf_counter() - t0
    print(f"{label:<44s} {dt:7.2f} s  {n / dt / 1e6:6.2f} M rows/s")
    return out, dt


def _max_diff(a, b) -> tuple[float, float]:
    dims = np.nanmax(np.abs(a.dimensions.to_numpy() - b.dimensions.to_numpy())
                     / np.maximum(np.abs(a.dimensions.to_numpy()), 1.0))
    sc = max(np.abs(a.index.scores.to_numpy() - b.index.scores.to_numpy()).max(),
             np.abs(a.domains.scores.to_numpy() - b.domains.scores.to_numpy()).max())
    return float(dims), float(sc)


def main(n_firms: int = 10_000_000, dask: bool = True) -> None:
    warnings.simplefilter("ignore", DtiStatWarning)
    cities = load_cities()
    future_industry_index(simulate_firms(cities, n_firms=20_000, seed=0), **KW)  # warm up
    t0 = time.perf_counter()
    firms = simulate_firms(cities, n_firms=n_firms, seed=2023)
    print(f"simulate_firms: {n_firms:,} records in {time.perf_counter() - t0:.2f} s "
          f"(input frame {firms.memory_usage(deep=True).sum() / 2**20:,.0f} MiB; not timed "
          f"below)")
    rss_before = _rss_mib()

    res, dt = _timed("pandas engine, in-memory DataFrame", n_firms, firms)
    rss_after = _rss_mib()
    tracemalloc.start()
    future_industry_index(firms, **KW)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    E, P = len(res.entities), len(res.periods)
    print(f"  -> {E} cities × {len(res.options['domains'])} domains (+ all) × {P} quarters "
          f"({res.periods[0]}–{res.periods[-1]}); dimension table {res.dimensions.shape}")
    print(f"  peak traced allocations during the call {peak / 2**20:,.0f} MiB; process max "
          f"RSS {rss_after:,.0f} MiB (before the call {rss_before:,.0f} MiB, input included)")
    print(f"  targets: < 15 s -> {'OK' if dt < 15 else 'MISSED'}; < 4 GB -> "
          f"{'OK' if max(rss_after, peak / 2**20) < 4096 else 'MISSED'}")
    print()
    print("Top 5 cities, 2023Q1:")
    print(res.index.rank("2023Q1").head(5).merge(
        cities[["city_id", "name_short"]], on="city_id").to_string(index=False))
    print("Domain co-movement (correlation of domain indices across cities, mean 2020Q4–2023Q1):")
    print(res.comovement().round(2).to_string())
    print()

    tmp = Path(tempfile.mkdtemp(prefix="bench_future_"))
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = tmp / "firms"
        folder.mkdir()
        cols = ["firm_id", "city_id", "domain", "founded", "registered_capital",
                "funding_rounds", "funding_amount", "incubator"]
        t0 = time.perf_counter()
        for i, chunk in enumerate(np.array_split(np.arange(n_firms), 10)):
            pq.write_table(pa.Table.from_pandas(firms.iloc[chunk][cols], preserve_index=False),
                           folder / f"part-{i:02d}.parquet")
        print(f"wrote a Parquet folder of 10 files in {time.perf_counter() - t0:.2f} s "
              f"({sum(f.stat().st_size for f in folder.iterdir()) / 2**20:,.0f} MiB)")
        del firms
        ref, dt_pq = _timed("pandas engine, Parquet folder", n_firms, folder)
        print(f"  max difference to the in-memory run: {_max_diff(res, ref)}")
        if not dask:
            return
        try:
            import dask
            import distributed
        except ImportError:
            print("dask not installed: pip install 'dask[distributed]' pyarrow")
            return
        with dask.config.set(scheduler="threads"):
            r_thr, dt_thr = _timed("dask engine, Parquet folder, threads (2)", n_firms,
                                   folder, engine="dask")
        d1, d2 = _max_diff(ref, r_thr)
        print(f"  max rel. difference of dimensions {d1:.2e}, of scores {d2:.2e}; "
              f"dask/pandas time {dt_thr / dt_pq:.2f}×")
        t0 = time.perf_counter()
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            print(f"LocalCluster (2 worker processes) started in {time.perf_counter() - t0:.2f} s")
            future_industry_index(folder, engine="dask", **KW)  # workers import dtistat
            r_cl, dt_cl = _timed("dask engine, Parquet folder, LocalCluster", n_firms,
                                 folder, engine="dask")
        d1, d2 = _max_diff(ref, r_cl)
        print(f"  max rel. difference of dimensions {d1:.2e}, of scores {d2:.2e}; "
              f"dask/pandas time {dt_cl / dt_pq:.2f}×")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 10_000_000, dask="--no-dask" not in sys.argv)
