"""compare_groups' batched bdiff permutation test against a refit loop, one process.

Run:  python benchmarks/bench_heterogeneity.py [--draws 1000] [--loop-draws 100]

Data: simulated (seeded) balanced panel, 300 cities x 9 quarters = 2,700 rows, two-way
fixed effects, three regressors, two groups of cities, clustered by city. The batched
test (``compare_groups(..., method="permutation")``, 1,000 draws) is timed end to end
(best of 3); the peers refit the two group regressions per draw on the same permuted
labels -- ``dtistat.fit_panel`` and linearmodels ``PanelOLS`` (entity and time effects)
-- for ``--loop-draws`` draws, extrapolated to the full count; the differences of the
loop's draws are checked against the batched ones.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from dtistat.heterogeneity import compare_groups, permuted_labels
from dtistat.panel import fit_panel


def simulate(cities=300, quarters=9, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city": np.repeat(np.arange(cities), quarters),
                       "quarter": np.tile(np.arange(quarters), cities)})
    east = np.repeat(rng.integers(0, 2, cities), quarters)
    a = np.repeat(rng.normal(size=cities), quarters)
    for j in range(3):
        df[f"x{j}"] = rng.normal(size=len(df)) + 0.4 * a
    df["east"] = east
    df["y"] = ((0.5 + 0.2 * east) * df.x0 + 0.3 * df.x1 - 0.2 * df.x2 + a
               + rng.normal(size=quarters)[df.quarter] + rng.normal(size=len(df)))
    return df


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--loop-draws", type=int, default=100)
    args = ap.parse_args()
    df = simulate()
    f = "y ~ x0 + x1 + x2"
    kw = {"by": "east", "entity": "city", "time": "quarter", "fe": "twoway",
          "cov": "cluster", "method": "permutation", "n_perm": args.draws, "seed": 1}
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        res = compare_groups(df, f, **kw)
        best = min(best, time.perf_counter() - t0)
    print(f"data: {len(df):,} rows, two-way FE, {args.draws:,} permutations")
    print(f"dtistat compare_groups (batched, end to end): {best:.3f} s")

    ug = np.zeros(300, dtype=np.int8)
    ug[df.city.to_numpy()] = df.east.to_numpy()
    labels = permuted_labels(ug, args.draws, np.random.default_rng(1))[:args.loop_draws]
    loop = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in labels:
            g = row[df.city.to_numpy()]
            b = [fit_panel(df[g == j], f, entity="city", time="quarter", fe="twoway",
                           cov="robust").params for j in (0, 1)]
            loop.append((b[1] - b[0]).to_numpy())
    t_loop = (time.perf_counter() - t0) / args.loop_draws * args.draws
    err = np.abs(np.array(loop) - res.permutation_draws.to_numpy()[:args.loop_draws]).max()
    print(f"fit_panel refit loop ({args.loop_draws} draws, extrapolated): {t_loop:.2f} s; "
          f"ratio {t_loop / best:.0f}x; max |difference| {err:.1e}")
    try:
        from linearmodels.panel import PanelOLS
    except ImportError:  # pragma: no cover
        return
    pdf = df.set_index(["city", "quarter"])
    t0 = time.perf_counter()
    lm = []
    for row in labels:
        g = row[df.city.to_numpy()]
        b = []
        for j in (0, 1):
            sub = pdf[g == j]
            b.append(PanelOLS(sub.y, sub[["x0", "x1", "x2"]], entity_effects=True,
                              time_effects=True).fit().params.to_numpy())
        lm.append(b[1] - b[0])
    t_lm = (time.perf_counter() - t0) / args.loop_draws * args.draws
    err = np.abs(np.array(lm) - res.permutation_draws.to_numpy()[:args.loop_draws]).max()
    print(f"linearmodels PanelOLS refit loop (extrapolated): {t_lm:.2f} s; ratio "
          f"{t_lm / best:.0f}x; max |difference| {err:.1e}")


if __name__ == "__main__":
    main()
