"""Benchmark: triple-threshold panel regression with 300 bootstrap draws per test.

dtistat ``fit_threshold`` (SSR paths by cumulative sums, draws batched) vs the
straightforward method that Stata ``xthreg`` and R ``pdR::ptm`` follow: one within
regression per grid point, for the data and for every bootstrap draw. Same simulated
panel (300 entities x 9 periods, 4 controls + 1 regime variable, a true threshold at
q = 0.4), 400 grid points, trims 0.01, 300 draws for each of the three F tests.

The brute-force peer runs the deterministic part in full and ``--peer-draws`` draws per
test (it needs about 2,400 regressions per draw of the triple test); its per-draw time is
scaled to 300 draws. Both must agree: thresholds and SSRs of the data, and the F
statistics of the peer's draws equal dtistat's draws with the same random numbers.
Wall and CPU times; best of ``--repeat`` runs after a warm-up; both run on one BLAS
thread (their products are small).

Run:  python benchmarks/bench_threshold.py [--repeat 3] [--peer-draws 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from dtistat.threshold import fit_threshold
from dtistat.threshold._core import Panel, within
from dtistat.threshold._search import make_grid

N_ENT, N_PER, GRID, N_BOOT, TRIM = 300, 9, 400, 300, 0.01
XCOLS = ["x1", "x2", "x3", "x4"]


def simulate(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = N_ENT * N_PER
    df = pd.DataFrame({"id": np.repeat(np.arange(N_ENT), N_PER),
                       "t": np.tile(np.arange(N_PER), N_ENT)})
    X = rng.normal(size=(N, 4))
    df[XCOLS] = X
    df["q"] = rng.uniform(size=N)
    df["z"] = rng.normal(size=N)
    df["y"] = (X @ np.array([1.0, -0.5, 0.25, 0.5]) + np.where(df.q <= 0.4, 1.0, 0.5) * df.z
               + np.repeat(rng.normal(size=N_ENT), N_PER) + rng.normal(size=N))
    return df


def run_dtistat(df: pd.DataFrame, n_boot: int = N_BOOT, fe: str = "entity"):
    return fit_threshold(df, y="y", x=XCOLS, threshold_var="q", regime_vars="z",
                         entity="id", time="t", n_thresholds=3, trim=TRIM, grid=GRID,
                         n_boot=n_boot, seed=1, fe=fe)


class Brute:
    """One within regression per grid point (the method of xthreg and pdR::ptm)."""

    def __init__(self, df: pd.DataFrame):
        d = df.sort_values(["id", "t"])
        self.n, self.T = N_ENT, N_PER
        self.X = d[XCOLS].to_numpy()
        self.Z = d[["z"]].to_numpy()
        self.q = d["q"].to_numpy()
        self.y = d["y"].to_numpy()
        self.panel = Panel(self.y, self.X, self.Z, self.q, self.n, self.T)
        self.grid = make_grid(self.q, GRID, (TRIM,) * 3, "q")

    def design(self, fixed):
        blocks = [self.X, self.Z] + [self.Z * (self.q <= f)[:, None] for f in sorted(fixed)]
        return within(np.concatenate(blocks, axis=1), self.n, self.T)

    def ssr(self, yw, D):
        b, *_ = np.linalg.lstsq(D, yw, rcond=None)
        e = yw - D @ b
        return float(e @ e), e

    def best(self, yw, fixed, stage):
        ok = self.grid.allowed(self.panel, fixed, stage)
        out = []
        for g in self.grid.values[ok]:
            D = np.column_stack([self.design(fixed),
                                 within(self.Z * (self.q <= g)[:, None], self.n, self.T)])
            out.append(self.ssr(yw, D)[0])
        j = int(np.argmin(out))
        return float(self.grid.values[ok][j]), out[j]

    def sequential(self, yw, k):
        """SSRs of the models with 0..k thresholds along Hansen's sequence, and γs."""
        s = [self.ssr(yw, self.design(()))[0]]
        fixed: tuple = ()
        for stage in range(1, k + 1):
            g, sk = self.best(yw, fixed, stage)
            fixed, s = fixed + (g,), s + [sk]
        return s, fixed

    def boot_F(self, k, fixed, idx):
        yw = within(self.y, self.n, self.T)
        e = self.ssr(yw, self.design(fixed))[1]
        F = []
        for row in idx:
            ystar = (yw - e) + e.reshape(self.n, self.T)[row].ravel()
            s, _ = self.sequential(ystar, k)
            F.append((s[k - 1] - s[k]) / (s[k] / (self.n * (self.T - 1))))
        return np.array(F)


def timed(fn, repeat):
    best = (np.inf, np.inf)
    out = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    return out, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-draws", type=int, default=3)
    args = ap.parse_args()
    df = simulate()
    run_dtistat(df, 5)  # warm-up
    res, (wall, cpu) = timed(lambda: run_dtistat(df), args.repeat)
    _, (wall0, _) = timed(lambda: run_dtistat(df, 0), args.repeat)
    print(f"panel {N_ENT} x {N_PER}, 4 controls + 1 regime variable, grid {GRID}, "
          f"3 thresholds, {N_BOOT} draws per test")
    print(f"dtistat fit_threshold: {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"(without the bootstrap: {wall0:.3f} s)")
    _, (wall_tw, cpu_tw) = timed(lambda: run_dtistat(df, fe="twoway"), args.repeat)
    print(f"with fe='twoway' (period effects by two-way demeaning): {wall_tw:.2f} s wall, "
          f"{cpu_tw:.2f} s CPU ({cpu_tw / cpu:.2f}x the CPU of fe='entity')")
    print("thresholds:", ", ".join(f"{k} {v:.4f}" for k, v in
                                   res.thresholds["estimate"].items()))
    print(res.tests[["F", "p_value", "crit10", "crit5", "crit1"]].round(4).to_string())

    # the peer's small regressions run fastest on one BLAS thread, as dtistat's do
    with threadpool_limits(limits=1, user_api="blas"):
        peer_run(df, res, wall, args)


def peer_run(df: pd.DataFrame, res, wall: float, args) -> None:
    """The brute-force peer: same thresholds, SSRs and bootstrap draws; the ratio."""
    brute = Brute(df)
    yw = within(brute.y, brute.n, brute.T)
    t = time.perf_counter()
    s, fixed = brute.sequential(yw, 1)
    g1 = fixed[0]
    g2, s2 = brute.best(yw, (g1,), 2)
    g1r, s2r = brute.best(yw, (g2,), 2)
    g3, s3 = brute.best(yw, tuple(sorted((g1r, g2))), 3)
    peer_det = time.perf_counter() - t
    th = res.thresholds
    assert (th.loc["Th-1", "estimate"], th.loc["Th-22", "estimate"],
            th.loc["Th-21", "estimate"], th.loc["Th-3", "estimate"]) == (g1, g2, g1r, g3)
    np.testing.assert_allclose(th["ssr"].to_numpy(), [s[1], s2r, s2, s3], rtol=1e-10)

    # the same random numbers as fit_threshold(seed=1): draws for tests 1, 2, 3 in turn
    rng = np.random.default_rng(1)
    nulls = [(), (g1,), tuple(sorted((g1r, g2)))]
    per_draw = []
    for k in (1, 2, 3):
        idx = rng.integers(0, N_ENT, size=(N_BOOT, N_ENT))[: args.peer_draws]
        t = time.perf_counter()
        F = brute.boot_F(k, nulls[k - 1], idx)
        per_draw.append((time.perf_counter() - t) / args.peer_draws)
        got = res.boot_F[("Single", "Double", "Triple")[k - 1]][: args.peer_draws]
        np.testing.assert_allclose(got, F, rtol=1e-8)
    peer = peer_det + N_BOOT * sum(per_draw)
    print(f"brute force (one within regression per grid point): deterministic part "
          f"{peer_det:.2f} s; per draw {', '.join(f'{x:.2f}' for x in per_draw)} s "
          f"(tests 1-3); scaled to {N_BOOT} draws per test: {peer:.0f} s")
    print(f"agree: thresholds, SSRs (1e-10) and the peer's {args.peer_draws} draws per "
          "test (1e-8)")
    print(f"ratio (brute / dtistat, wall): {peer / wall:.0f}x")


if __name__ == "__main__":
    main()
