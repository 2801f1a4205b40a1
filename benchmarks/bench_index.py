"""Benchmark: compute_index + growth + ranks on 340 cities x 13 industries x 9 quarters x 20 indicators.

Side by side with the hand-written pandas a researcher would otherwise write (groupby
base totals, weighted sums per layer, shift-based growth, groupby ranks), on the same
data in the same process; prints times, rows per second and the ratio.

Run: python benchmarks/bench_index.py
"""

from __future__ import annotations

import platform
import time

import numpy as np
import pandas as pd

from dtistat import IndexSpec, compute_index

N_CITY, N_IND, N_Q, N_LEAF = 340, 13, 9, 20


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    q = pd.period_range("2021Q1", periods=N_Q, freq="Q").astype(str)
    idx = pd.MultiIndex.from_product(
        [[f"city{i:03d}" for i in range(N_CITY)], [f"ind{j:02d}" for j in range(N_IND)], q],
        names=["city", "industry", "quarter"],
    )
    df = idx.to_frame(index=False)
    size = rng.lognormal(0, 1.5, N_CITY)[np.repeat(np.arange(N_CITY), N_IND * N_Q)]
    for k in range(N_LEAF):
        df[f"x{k:02d}"] = size * rng.gamma(2.0, 1.0, len(df))
    layers = {"infrastructure": range(0, 7), "platform": range(7, 13),
              "application": range(13, 20)}
    tree = {"name": "total", "children": [
        {"name": name, "children": [{"name": f"x{k:02d}"} for k in ks]}
        for name, ks in layers.items()]}
    scores = {f"e{i}": {n: int(rng.integers(1, 6)) for n in
                        list(layers) + [f"x{k:02d}" for k in range(N_LEAF)]}
              for i in range(15)}
    return df, IndexSpec.from_dict({**tree, "expert_scores": scores})


def dtistat_run(df, spec):
    res = compute_index(df, spec, by="industry")
    g = res.growth("yoy_mean")
    r = res.rank("2023Q1")
    return res.scores["total"], g, r


def pandas_run(df, spec):
    leaf_w = spec.leaf_weights()
    cols = list(leaf_w.index)
    base = df[df["quarter"] == "2021Q1"].groupby("industry")[cols].sum()
    t = df[cols] / base.loc[df["industry"]].to_numpy()
    out = df[["city", "industry", "quarter"]].copy()
    out["total"] = t.to_numpy() @ leaf_w.to_numpy()
    out = out.sort_values(["city", "industry", "quarter"])
    out["yoy"] = out.groupby(["city", "industry"])["total"].pct_change(4)
    g = out[out["quarter"] >= "2022Q1"].groupby(["city", "industry"])["yoy"].mean()
    last = out[out["quarter"] == "2023Q1"].copy()
    last["rank"] = last.groupby("industry")["total"].rank(ascending=False, method="min")
    return out.set_index(["city", "industry", "quarter"])["total"], g, last


def best_of(fn, *args, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    df, spec = make_data()
    n = len(df)
    t_d, (tot_d, g_d, _) = best_of(dtistat_run, df, spec)
    t_p, (tot_p, g_p, _) = best_of(pandas_run, df, spec)
    # same numbers from both paths
    np.testing.assert_allclose(tot_d.to_numpy(), tot_p.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_d["yoy_mean"].to_numpy(), g_p.to_numpy(), rtol=1e-10)
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, pandas {pd.__version__}")
    print(f"data: {N_CITY} cities x {N_IND} industries x {N_Q} quarters x {N_LEAF} "
          f"indicators = {n:,} rows")
    print(f"dtistat compute_index + yoy_mean + rank : {t_d:.3f} s  ({n / t_d:,.0f} rows/s)")
    print(f"hand-written pandas (same numbers)      : {t_p:.3f} s  ({n / t_p:,.0f} rows/s)")
    print(f"ratio pandas / dtistat                  : {t_p / t_d:.2f}x")


if __name__ == "__main__":
    main()
