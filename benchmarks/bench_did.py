"""Staggered DiD benchmarks: Callaway-Sant'Anna against csdid, and batched placebo draws.

1. CS on ``mpdta`` (500 counties x 5 years, 2,500 rows; ``moderndid``'s copy of R
   ``did::mpdta``), outcome regression, never-treated comparison, 999 multiplier-bootstrap
   draws, ATT(g,t) plus the simple, dynamic, group and calendar aggregations with
   bootstrap standard errors and uniform bands: ``dtistat.did.fit_did`` against the
   Python ``csdid`` package (``ATTgt(...).fit(bstrap=True)`` + four ``aggte`` calls), same
   process, same data. Points and influence-function SEs are checked equal first.
2. 1,000 random reassignments of treated units in a 300-city x 12-year TWFE DiD:
   ``dtistat.did.placebo_reassign`` against one ``fit_panel`` regression per draw
   (timed on 30 draws and scaled).

3. Sun-Abraham at 400,000 rows (20,000 units x 20 years, 12 cohorts: 228 cohort x
   relative-period cells): traced peak memory and time of ``fit_did(estimator="sa")``
   (cell codes, chunked absorb) against the dense regression it replaced -- a dummy
   column per cell and ``fit_panel`` -- same process, same data, estimates checked equal.

4. The other staggered estimators on the same 400,000 rows (one covariate): traced peak
   memory per row and time of each (``--memory``).

5. PSM matching without replacement (greedy, nearest neighbour, highest score first):
   the numba kernel of ``dtistat.did._greedy`` against the loop it replaced (kept as the
   reference path ``greedy_loop`` in ``tests/test_did_psm.py``), same process, same
   logit-shaped scores, pairs checked equal: 4,000 treated x 20,000 controls (the loop
   ~10 s), then 20,000 x 200,000 (the loop timed on its first 200 treated and scaled:
   each of its steps sorts all controls) (``--psm``).

Run: ``python benchmarks/bench_did.py`` (``--sa-only`` for item 3, ``--memory`` for 4,
``--psm`` for 5).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from dtistat.did import fit_did, placebo_reassign
from dtistat.panel import fit_panel

AGGS = ("simple", "dynamic", "group", "calendar")


def _mpdta() -> pd.DataFrame:
    root = importlib.util.find_spec("moderndid").submodule_search_locations[0]
    return pd.read_pickle(os.path.join(root, "core", "datasets", "mpdta_long.pkl.gz"))


def _csdid(d, bstrap: bool):
    with contextlib.redirect_stdout(io.StringIO()):  # aggte prints its tables
        return _csdid_quiet(d, bstrap)


def _csdid_quiet(d, bstrap: bool):
    from csdid.att_gt import ATTgt
    m = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year", data=d,
              control_group=["nevertreated"], biters=999, cband=bstrap)
    m.fit(est_method="reg", bstrap=bstrap)
    out = {}
    for a in AGGS:
        m.aggte(typec=a, bstrap=bstrap, biters=999, cband=bstrap)
        out[a] = dict(m.atte)
    return m.results, out


def _best(fn, reps: int) -> float:
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_cs(reps: int = 5) -> None:
    d = _mpdta()
    kw = {"y": "lemp", "treat_time": "first.treat", "entity": "countyreal", "time": "year"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, aggs = _csdid(d, bstrap=False)
        ours = fit_did(d, **kw, n_boot=0)
        dp = np.max(np.abs(ours.params.to_numpy() - ref["att"]))
        ds = np.max(np.abs(ours.std_errors.to_numpy() / ref["se"] - 1))
        da = max(abs(ours.aggregate(a).overall - aggs[a]["overall_att"]) for a in AGGS)
        print(f"agreement with csdid: ATT(g,t) max |diff| {dp:.1e}, SE max rel diff {ds:.1e}, "
              f"aggregates max |diff| {da:.1e}")
        np.random.seed(0)
        ref_b, aggs_b = _csdid(d, bstrap=True)
        boot = fit_did(d, **kw, n_boot=999, seed=0)
        rel = np.max(np.abs(boot.std_errors.to_numpy() / ref_b["se"] - 1))
        print(f"bootstrap SEs (different draws): max rel diff {rel:.3f}; dynamic overall "
              f"{boot.aggregate('dynamic').overall_se:.4f} vs "
              f"{float(np.ravel(aggs_b['dynamic']['overall_se'])[0]):.4f}")
        t_peer = _best(lambda: _csdid(d, bstrap=True), max(1, reps // 2))
        t_ours = _best(lambda: fit_did(d, **kw, n_boot=999, seed=1), reps)
    print(f"CS on mpdta, 999 draws, ATT(g,t) + 4 aggregations: csdid {t_peer:.3f} s, "
          f"dtistat {t_ours:.3f} s -> {t_peer / t_ours:.1f}x (target >= 10x)")


def _city_panel(n=300, T=12, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice([2014, 2015, 2016, 0], n)
    df = pd.DataFrame({"city": np.repeat(np.arange(n), T),
                       "year": np.tile(np.arange(2010, 2010 + T), n), "g": np.repeat(g, T)})
    df["y"] = rng.normal(size=len(df)) + 0.2 * ((df.g > 0) & (df.year >= df.g))
    return df


def bench_placebo(n_draws: int = 1000, reps: int = 5) -> None:
    df = _city_panel()
    kw = {"y": "y", "treat_time": "g", "entity": "city", "time": "year"}
    t_ours = _best(lambda: placebo_reassign(df, **kw, n_draws=n_draws, seed=1), reps)
    rng = np.random.default_rng(2)
    units = df["city"].unique()
    gunit = df.groupby("city")["g"].first().to_numpy()

    def loop(k=30):
        for _ in range(k):
            g = pd.Series(rng.permutation(gunit), index=units)
            gg = df["city"].map(g).to_numpy()
            d = df.assign(D=((gg > 0) & (df["year"].to_numpy() >= gg)).astype(float))
            fit_panel(d, "y ~ D", entity="city", time="year", fe="twoway")

    t_loop = _best(loop, 1) / 30 * n_draws
    print(f"placebo, {n_draws:,} reassignments of a 300-city x 12-year TWFE: dtistat "
          f"{t_ours:.3f} s (target < 2 s); one fit_panel per draw ~{t_loop:.1f} s "
          f"-> {t_loop / t_ours:.0f}x")


def _sa_panel(n_ent=20_000, T=20, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice([0] + list(range(2005, 2017)), n_ent)
    df = pd.DataFrame({"id": np.repeat(np.arange(n_ent), T),
                       "year": np.tile(np.arange(2000, 2000 + T), n_ent), "g": np.repeat(g, T)})
    df["y"] = rng.normal(size=len(df)) + 0.5 * ((df.g > 0) & (df.year >= df.g))
    return df


def _sa_dense(df):
    """The design main built: one dummy column per cohort x relative period, fit_panel."""
    e = (df["year"] - df["g"]).to_numpy()
    g = df["g"].to_numpy()
    cells = sorted({(a, b) for a, b in zip(g, e) if a > 0 and b != -1})
    cols = {f"c{j}": ((g == a) & (e == b)).astype(float) for j, (a, b) in enumerate(cells)}
    d = pd.concat([df, pd.DataFrame(cols, index=df.index)], axis=1)
    return fit_panel(d, "y ~ " + " + ".join(cols), entity="id", time="year", fe="twoway",
                     cov="cluster", cluster="id").params.to_numpy()


def _traced(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def bench_sunab(n_ent: int = 20_000) -> None:
    df = _sa_panel(n_ent)
    kw = {"y": "y", "treat_time": "g", "entity": "id", "time": "year", "estimator": "sa"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new, t_new, m_new = _traced(lambda: fit_did(df, **kw))
        old, t_old, m_old = _traced(lambda: _sa_dense(df))
    diff = np.max(np.abs(new.cohort_effects["estimate"].to_numpy() - old))
    n = len(df)
    print(f"Sun-Abraham, {n:,} rows x {len(old)} cells: cell codes {m_new / 2**20:,.0f} MiB "
          f"traced peak ({m_new / n:,.0f} B/row), {t_new:.2f} s; dense dummies + fit_panel "
          f"{m_old / 2**20:,.0f} MiB ({m_old / n:,.0f} B/row), {t_old:.2f} s -> memory "
          f"{m_old / m_new:.0f}x, time {t_old / t_new:.1f}x; max |diff| {diff:.1e}")


def bench_memory(n_ent: int = 20_000) -> None:
    from dtistat.did import psm_did
    df = _sa_panel(n_ent)
    df["x"] = np.random.default_rng(1).normal(size=len(df))
    kw = {"y": "y", "treat_time": "g", "entity": "id", "time": "year"}
    cases = {"twfe": lambda: fit_did(df, **kw, estimator="twfe"),
             "event": lambda: fit_did(df, **kw, estimator="event"),
             "sa": lambda: fit_did(df, **kw, estimator="sa"),
             "cs": lambda: fit_did(df, **kw, n_boot=0),
             "imputation": lambda: fit_did(df, **kw, estimator="imputation"),
             "psm_did": lambda: psm_did(df, **kw, covariates="x")}
    for name, fn in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, dt, peak = _traced(fn)
        print(f"{name:>10}: {len(df):,} rows, {dt:6.2f} s, traced peak {peak / 2**20:6,.0f} MiB "
              f"({peak / len(df):,.0f} B/row)", flush=True)


def _scores(n, shift, rng):
    return 1 / (1 + np.exp(-(rng.normal(size=n) + shift)))


def bench_psm_greedy(reps: int = 3) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    from test_did_psm import greedy_loop

    from dtistat.did.psm import _match_stratum
    rng = np.random.default_rng(0)
    _match_stratum(_scores(5, 0.5, rng), _scores(50, 0, rng), 1, None, False)  # compile
    for nt, nc, sub in ((4_000, 20_000, None), (20_000, 200_000, 200)):
        p_t, p_c = _scores(nt, 0.5, rng), _scores(nc, 0.0, rng)
        t_new = _best(lambda: _match_stratum(p_t, p_c, 1, None, False), reps)
        new = _match_stratum(p_t, p_c, 1, None, False)
        if sub is None:
            t0 = time.perf_counter()
            old = greedy_loop(p_t, p_c, 1, None)
            t_old = time.perf_counter() - t0
            same = "pairs equal" if np.array_equal(old, new) else "PAIRS DIFFER"
            how = ""
        else:  # the loop's first `sub` choices (highest scores): same picks, time scaled
            first = np.argsort(-p_t, kind="stable")[:sub]
            t0 = time.perf_counter()
            old = greedy_loop(p_t[first], p_c, 1, None)
            t_old = (time.perf_counter() - t0) * nt / sub
            same = ("first picks equal" if np.array_equal(old, new[first])
                    else "PICKS DIFFER")
            how = f" (scaled from {sub} treated)"
        print(f"PSM without replacement, {nt:,} treated x {nc:,} controls: loop "
              f"{t_old:.2f} s{how}, kernel {t_new:.3f} s -> {t_old / t_new:,.0f}x; {same}",
              flush=True)


if __name__ == "__main__":
    if "--psm" in sys.argv:
        bench_psm_greedy()
        sys.exit()
    if "--memory" in sys.argv:
        bench_memory()
        sys.exit()
    if "--sa-only" not in sys.argv:
        bench_cs()
        bench_placebo()
    bench_sunab()
