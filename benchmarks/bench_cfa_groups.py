"""Benchmark: multi-group CFA (Holzinger-Swineford by school) beside semopy's multigroup.

Run: ``python benchmarks/bench_cfa_groups.py``. semopy's ``multigroup()`` fits the
groups separately (the configural model only: it has no equality constraints across
groups), so the comparison is on the configural model, in the same process, with the
ratio; then the time of dtistat's whole configural -> metric -> scalar ladder.
"""

from __future__ import annotations

import time

from semopy.examples import holzinger39
from semopy.multigroup import multigroup

from dtistat import fit_cfa, invariance_test

MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
TIGHT = dict(solver="L-BFGS-B", options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000})


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    hs = holzinger39.get_data()
    fit_cfa(hs, MODEL, group="school")  # warm up imports
    t_ours = best_of(lambda: fit_cfa(hs, MODEL, group="school"), repeat=5)
    t_def = best_of(lambda: multigroup(MODEL, hs, "school"), repeat=1)
    t_tight = best_of(lambda: multigroup(MODEL, hs, "school", **TIGHT), repeat=1)
    t_ladder = best_of(lambda: invariance_test(hs, MODEL, group="school"), repeat=3)
    x2 = multigroup(MODEL, hs, "school").estimates["Pasteur"]["Estimate"].iloc[1]
    ours = fit_cfa(hs, MODEL, group="school").estimates["estimate"].iloc[1]
    print("Holzinger-Swineford 3-factor CFA by school (configural, ML):")
    print(f"  semopy 2.3 multigroup (default solver)    {t_def * 1e3:9.1f} ms   "
          f"(Pasteur x2 {x2:.6f}: stops early)")
    print(f"  semopy 2.3 multigroup (L-BFGS-B, tight)   {t_tight * 1e3:9.1f} ms")
    print(f"  dtistat fit_cfa(group=) (all fit indices) {t_ours * 1e3:9.1f} ms   "
          f"(x2 {ours:.6f}) ratio {t_tight / t_ours:5.1f}x vs tight")
    print(f"  dtistat invariance_test (3 models)        {t_ladder * 1e3:9.1f} ms")


if __name__ == "__main__":
    main()
