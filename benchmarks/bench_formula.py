"""Benchmark: building a design from a formula, dtistat vs formulaic / patsy / pandas.

Same simulated panel as ``bench_panel.py`` (simulated: y = x'b + a_i + g_t + e), plus a
five-level group. Two formulas, each run side by side in one process on the same data,
results checked equal, best of ``--repeat`` warm runs:

* ``log(y2) ~ log(x1**2)*x2 + C(grp) + I(x3**2)`` -- dtistat ``build_design`` vs
  formulaic 1.x ``model_matrix`` and patsy ``dmatrices`` (the Wilkinson part);
* ``y ~ x1 + x2 + x3 + L(x4) + L(x5, 2)`` -- dtistat vs pandas (sort, ``groupby.shift``
  on the full entity x period grid, ``dropna``), the panel operators.

Run:  python benchmarks/bench_formula.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from bench_panel import simulate

WILK = "log(y2) ~ log(x1**2)*x2 + C(grp) + I(x3**2)"
LAGS = "y ~ x1 + x2 + x3 + L(x4) + L(x5, 2)"


def run_dtistat(df, f):
    from dtistat.formula import build_design

    d = build_design(df, f, entity="entity", time="time")
    return d.X


def run_formulaic(df, f):
    from formulaic import model_matrix

    return model_matrix(f, df).rhs.to_numpy()


def run_patsy(df, f):
    import patsy

    log = np.log  # noqa: F841 - patsy evaluates in this namespace
    return np.asarray(patsy.dmatrices(f, df, return_type="dataframe", NA_action="raise")[1])


def run_pandas_lags(df, f):
    s = df.set_index(["entity", "time"]).sort_index()
    g = s.groupby(level="entity")  # balanced or not: every entity spans the same grid here
    out = pd.DataFrame({"const": 1.0, "x1": s["x1"], "x2": s["x2"], "x3": s["x3"],
                        "L4": g["x4"].shift(1), "L5": g["x5"].shift(2)}).dropna()
    return out.to_numpy()


def timeit(fn, df, f, repeat):
    fn(df, f)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(df, f)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for n_ent, n_per in [(300, 9), (10_000, 100)]:
        df = simulate(n_ent, n_per)
        df["grp"] = df["entity"] % 5
        df["y2"] = np.exp(df["y"] / 10)
        t_d, X_d = timeit(run_dtistat, df, WILK, args.repeat)
        t_f, X_f = timeit(run_formulaic, df, WILK, args.repeat)
        np.testing.assert_allclose(X_d, X_f, rtol=1e-14)
        line = (f"   dtistat {t_d * 1e3:8.1f} ms | formulaic {t_f * 1e3:8.1f} ms "
                f"({t_d / t_f:4.2f}x)")
        if len(df) <= 100_000:  # patsy takes ~20 s on a million rows
            t_p, X_p = timeit(run_patsy, df, WILK, args.repeat)
            # column order: dtistat/formulaic by degree, patsy categorical first
            np.testing.assert_allclose(np.sort(X_d, axis=1), np.sort(X_p, axis=1), rtol=1e-14)
            line += f" | patsy {t_p * 1e3:8.1f} ms ({t_d / t_p:4.2f}x)"
        print(f"{len(df):>9,} rows  {WILK}\n{line}")
        t_d, X_d = timeit(run_dtistat, df, LAGS, args.repeat)
        t_g, X_g = timeit(run_pandas_lags, df, LAGS, args.repeat)
        # pandas sorted by (entity, time); the simulated rows are already in that order
        np.testing.assert_array_equal(X_d, X_g)
        print(f"{len(df):>9,} rows  {LAGS}\n"
              f"   dtistat {t_d * 1e3:8.1f} ms | pandas groupby-shift {t_g * 1e3:8.1f} ms "
              f"({t_d / t_g:4.2f}x)")


if __name__ == "__main__":
    main()
