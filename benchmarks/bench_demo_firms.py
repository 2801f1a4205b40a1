"""Timing and peak memory of the demo world's firm simulator at 10 million records.

The future-industry benchmark generates its input with
``dtistat.datasets.demo_world.simulate_firms``; the target is under 15 s and under 4 GB
on a 2-core machine. Run: ``python benchmarks/bench_demo_firms.py [n_firms]``.
Peak memory is the process's maximum resident set size (imports included) and the
peak of Python/numpy allocations during the call (tracemalloc).
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc

import numpy as np

from dtistat.datasets import load_cities
from dtistat.datasets.demo_world import simulate_firms


def main(n_firms: int = 10_000_000) -> None:
    cities = load_cities()
    simulate_firms(cities, n_firms=1000, seed=0)  # warm imports and caches
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    t0 = time.perf_counter()
    firms = simulate_firms(cities, n_firms=n_firms, seed=2023)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    frame_mb = firms.memory_usage(deep=True).sum() / 2**20
    print(f"simulate_firms: {n_firms:,} records in {elapsed:.2f} s "
          f"({n_firms / elapsed / 1e6:.2f} M rows/s)")
    print(f"  peak traced allocations {peak / 2**20:,.0f} MiB; result frame {frame_mb:,.0f} MiB")
    print(f"  process max RSS {rss:,.0f} MiB (before the call: {rss0:,.0f} MiB)")
    print(f"  targets: < 15 s -> {'OK' if elapsed < 15 else 'MISSED'}; "
          f"< 4 GB -> {'OK' if rss < 4096 else 'MISSED'}")
    assert firms.shape == (n_firms, 8) and np.all(np.diff(firms["firm_id"].to_numpy()) == 1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000)
