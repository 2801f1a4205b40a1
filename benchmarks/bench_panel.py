"""Benchmark: two-way fixed effects, 5 regressors, clustered by entity.

dtistat ``fit_panel`` vs linearmodels ``PanelOLS`` (entity + time effects, clustered)
vs pyfixest ``feols`` (``y ~ x | entity + time``, CRV1 by entity), side by side in one
process on the same simulated data (simulated: y = x'b + a_i + g_t + e, x correlated
with the effects). Sizes: 300 cities x 9 quarters (2,700 rows, the DTI panel),
10,000 x 100 balanced (1,000,000 rows) and the same with 10% of the rows dropped at
random (unbalanced). Times are the best of ``--repeat`` warm runs (one untimed warm-up
run first, which also compiles pyfixest's numba kernels); peak memory is measured in a
separate run with ``tracemalloc`` (Python and NumPy allocations).

Run:  python benchmarks/bench_panel.py [--repeat 3] [--skip-linearmodels]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd


def simulate(n_ent: int, n_per: int, drop: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    e = np.repeat(np.arange(n_ent), n_per)
    t = np.tile(np.arange(n_per), n_ent)
    a = rng.normal(size=n_ent)[e]
    g = rng.normal(size=n_per)[t]
    X = rng.normal(size=(len(e), 5)) + 0.5 * a[:, None] + 0.3 * g[:, None]
    y = X @ np.array([1.0, -0.5, 0.25, 0.0, 2.0]) + a + g + rng.normal(size=len(e))
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(1, 6)])
    df.insert(0, "time", t)
    df.insert(0, "entity", e)
    df["y"] = y
    if drop:
        df = df[rng.random(len(df)) > drop].reset_index(drop=True)
    return df


FORMULA = "y ~ x1 + x2 + x3 + x4 + x5"
XCOLS = ["x1", "x2", "x3", "x4", "x5"]


def run_dtistat(df):
    from dtistat.panel import fit_panel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fit_panel(df, FORMULA, entity="entity", time="time", fe="twoway", cov="cluster")
    return r.params[XCOLS].to_numpy()


def run_linearmodels(df):
    from linearmodels import PanelOLS

    p = df.set_index(["entity", "time"])
    r = PanelOLS(p["y"], p[XCOLS], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    return r.params[XCOLS].to_numpy()


def run_pyfixest(df):
    import pyfixest as pf

    r = pf.feols("y ~ x1 + x2 + x3 + x4 + x5 | entity + time", data=df,
                 vcov={"CRV1": "entity"})
    return r.coef()[XCOLS].to_numpy()


def timeit(fn, df, repeat):
    fn(df)  # warm-up (imports, numba compilation)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(df)
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mb(fn, df):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(df)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-linearmodels", action="store_true")
    ap.add_argument("--small-only", action="store_true")
    args = ap.parse_args()
    try:
        import pyfixest  # noqa: F401
        have_pf = True
    except ImportError:
        have_pf = False
        print("pyfixest is not installed: its column is skipped")
    cases = [("2,700 (300x9)", simulate(300, 9))]
    if not args.small_only:
        cases += [("1e6 balanced (10,000x100)", simulate(10_000, 100)),
                  ("1e6 unbalanced (-10%)", simulate(10_000, 100, drop=0.10, seed=1))]
    runners = [("dtistat", run_dtistat)]
    if not args.skip_linearmodels:
        runners.append(("linearmodels", run_linearmodels))
    if have_pf:
        runners.append(("pyfixest", run_pyfixest))
    rows = []
    for label, df in cases:
        res = {}
        for name, fn in runners:
            t, coef = timeit(fn, df, args.repeat if name != "linearmodels" else 1)
            res[name] = (t, coef, peak_mb(fn, df))
        ref = res["dtistat"][1]
        for name, (t, coef, mem) in res.items():
            rows.append({
                "data": label, "rows": len(df), "package": name, "seconds": t,
                "vs dtistat": t / res["dtistat"][0], "peak MiB": mem,
                "max |coef diff|": float(np.max(np.abs(coef - ref))),
            })
        print(pd.DataFrame(rows[-len(res):]).to_string(index=False,
              float_format=lambda v: f"{v:.4g}"), flush=True)
    print()
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")
          if _has_tabulate() else pd.DataFrame(rows).to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()
