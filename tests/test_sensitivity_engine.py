"""The ranking engine of weight_sensitivity (dtistat.sensitivity.kernel / .engine / .bands)
against brute force: scipy.stats.rankdata ('min' ties) and the pair-by-pair definition
of discordance, on ties, padding, unbalanced panels, mixed alternatives, draws that
move entities far enough to force the sort, every thread count and chunk size; the
banded rank counts and the memory refusal; the same numbers on a generic x86-64 and an
AVX2 target."""

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dtistat import IndexSpec, ParameterError
from dtistat.sensitivity import draws, engine, frames, kernel, weight_sensitivity
from dtistat.sensitivity.bands import Bands
from dtistat.sensitivity.quantiles import _order_stats_rows, order_stat


# ---------------------------------------------------------------- brute force
def brute(S, R0, ent):
    """Ranks ('min', descending) of every draw (rows of S) and the discordant pairs, by
    definition: in the draw's order (scores descending, ties by entity number), the
    pairs whose nominal ranks are in the opposite order."""
    D, n = S.shape
    ranks = np.empty((D, n), dtype=np.int64)
    disc = np.zeros(D, dtype=np.int64)
    for d in range(D):
        ranks[d] = stats.rankdata(-S[d], method="min").astype(np.int64)
        r0 = R0[np.lexsort((ent, -S[d]))]
        disc[d] = int((r0[:, None] > r0[None, :])[np.triu_indices(n, 1)].sum())
    return ranks, disc


def run_group(S, R0, ent, lo=None, w=None, kendall=True):
    """rank_group on prescribed scores: draw d has unit weight on leaf d, so its score of
    row p is exactly S[d, p]."""
    D, n = S.shape
    A = np.ascontiguousarray(S[None])                  # (1 alternative, D leaves, n rows)
    W = np.eye(D)
    alt = np.zeros(D, dtype=np.int64)
    if lo is None:                                     # bands holding every rank
        lo, w = np.ones(n, dtype=np.int64), np.full(n, n, dtype=np.int64)
    off = np.concatenate([[0], np.cumsum(w)[:-1]]).astype(np.int64)
    counts = np.zeros(int(w.sum()), dtype=np.uint16)
    need_lo, need_hi = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    st = np.zeros((5, D), dtype=np.int64)
    ranks = np.zeros((D, 1, n), dtype=np.int32)
    stop = kernel.rank_group(A, W, alt, 0, 0, 0, -(-D // kernel.TILE), R0, ent, lo, w, off,
                             counts, need_lo, need_hi, st, 0, np.zeros(0, np.int64),
                             np.zeros((0, 0), np.int64), ranks, True, kendall, True)
    return stop, counts, off, st, ranks[:, 0, ent], need_lo, need_hi   # ranks by row


def nominal(s0, ent):
    """Rows in nominal order (rank ascending, ties by entity) and their nominal ranks."""
    R0 = stats.rankdata(-s0, method="min").astype(np.int64)
    order = np.lexsort((ent, R0))
    return order, R0[order], ent[order]


@pytest.mark.parametrize("seed", range(6))
def test_kernel_equals_brute_force_with_ties_and_far_moves(seed):
    rng = np.random.default_rng(seed)
    n, D = 37, 150                                     # 150 draws: the last tile is partial
    base = np.sort(rng.normal(0, 1, n))[::-1] * 3
    S = np.round(base[None, :] + rng.normal(0, 1.0, (D, n)), 1)   # coarse: many ties
    S[:, 5] = S[:, 4]                                  # a row tied with another in every draw
    S[7::9] = S[7::9, ::-1]                            # reversed rankings: far beyond n log n
    S[8::9] = rng.permutation(S[8::9].T).T             # shuffled ones
    ent = rng.permutation(n).astype(np.int64)
    order, R0, ent = nominal(np.round(base, 1), ent)
    S = np.ascontiguousarray(S[:, order])
    stop, counts, _, st, ranks, _, _ = run_group(S, R0, ent)
    assert stop == -(-D // kernel.TILE)
    R, disc = brute(S, R0, ent)
    np.testing.assert_array_equal(ranks, R)
    np.testing.assert_array_equal(st[4], disc)
    np.testing.assert_array_equal(st[0], np.abs(R - R0).sum(axis=1))
    np.testing.assert_array_equal(st[1], R.sum(axis=1))
    np.testing.assert_array_equal(st[2], (R**2).sum(axis=1))
    np.testing.assert_array_equal(st[3], (R * R0).sum(axis=1))
    hist = counts.reshape(n, n)
    want = np.stack([np.bincount(R[:, p] - 1, minlength=n) for p in range(n)])
    np.testing.assert_array_equal(hist, want)


def test_reversed_draws_take_the_sort_and_count_every_pair():
    """A reversed ranking has n(n-1)/2 inversions (far above n log2 n): the kernel sorts,
    and all pairs are discordant (Kendall's tau = -1)."""
    n = 200
    s0 = np.linspace(2, 1, n)
    S = np.stack([s0[::-1], s0, s0[::-1] + 0.0])
    ent = np.arange(n, dtype=np.int64)
    _, _, _, st, ranks, _, _ = run_group(S, np.arange(1, n + 1), ent)
    np.testing.assert_array_equal(st[4], [n * (n - 1) // 2, 0, n * (n - 1) // 2])
    np.testing.assert_array_equal(ranks[0], np.arange(n, 0, -1))


def test_a_tile_that_leaves_its_bands_is_not_counted_and_says_what_it_needs():
    rng = np.random.default_rng(3)
    n, D = 30, 64
    s0 = np.sort(rng.normal(size=n))[::-1]
    S = s0[None] + rng.normal(0, 0.3, (D, n))
    R0 = np.arange(1, n + 1)
    ent = np.arange(n, dtype=np.int64)
    lo, w = R0.astype(np.int64), np.ones(n, dtype=np.int64)   # only the nominal rank
    stop, counts, _, _, _, need_lo, need_hi = run_group(S, R0, ent, lo, w)
    assert stop == 0 and counts.sum() == 0                     # nothing counted
    R, _ = brute(S, R0, ent)
    np.testing.assert_array_equal(need_lo, np.minimum(R.min(axis=0), lo))
    np.testing.assert_array_equal(need_hi, np.maximum(R.max(axis=0), lo))
    # bands widened as the engine does, then the same tile is counted exactly
    b = Bands(lo, w, np.arange(n, dtype=np.int64), np.ones(n, dtype=np.uint16))
    lo2, w2 = b.widened(np.arange(n), need_lo, need_hi, np.full(n, n))
    b2 = b.regrid(lo2, w2)
    assert (b2.lo <= need_lo).all() and (b2.lo + b2.w - 1 >= need_hi).all()
    assert (b2.lo >= 1).all() and (b2.lo + b2.w - 1 <= n).all()
    np.testing.assert_array_equal(b2.counts[b2.off + R0 - b2.lo], 1)   # old counts kept
    assert b2.counts.sum() == n


# ---------------------------------------------------------------- engine against brute force
def world(seed=0, n_city=40, twins=True, holes=True, industries=True):
    """Simulated (not real) panel: 3 quarters x 2 industries (or one), two layers."""
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product(
        [[f"c{i:02d}" for i in range(n_city)], ["2021Q1", "2021Q2", "2021Q3"], ["a", "b"]],
        names=["city", "quarter", "industry"])
    df = idx.to_frame(index=False)
    size = rng.lognormal(0, 0.6, n_city)[df["city"].str[1:].astype(int).to_numpy()]
    for k in range(6):
        df[f"x{k}"] = size * rng.gamma(3.0, 1.0, len(df))
    if twins:   # an exact copy of c03: tied in every draw
        df = pd.concat([df, df[df["city"] == "c03"].assign(city="c98")], ignore_index=True)
    if holes:   # unbalanced: cells missing in some groups
        drop = (df["city"].isin(["c01", "c07"]) & (df["quarter"] == "2021Q2")) | (
            (df["city"] == "c11") & (df["industry"] == "b"))
        df = df[~drop]
    tree = {"name": "total", "children": [
        {"name": "L1", "children": [{"name": f"x{k}"} for k in range(3)]},
        {"name": "L2", "children": [{"name": f"x{k}"} for k in range(3, 6)]}]}
    nodes = ["L1", "L2"] + [f"x{k}" for k in range(6)]
    scores = {f"e{i}": {n: int(rng.integers(1, 6)) for n in nodes} for i in range(7)}
    if not industries:
        df = df[df["industry"] == "a"].drop(columns="industry")
    return df.reset_index(drop=True), IndexSpec.from_dict({**tree, "expert_scores": scores})


def reference(ctx, W, alt, compare):
    """Every rank and statistic by brute force: scores summed over the leaves in the
    kernel's order with NumPy (the same IEEE operations, so the same bits), ranks by
    scipy.stats.rankdata per group."""
    lay = engine.layout(ctx)
    D, L = W.shape
    na = len(ctx.TT)
    ranks = np.zeros((D, ctx.G, ctx.NE), dtype=np.int64)
    disc = np.zeros((D, ctx.G), dtype=np.int64)
    dom = np.zeros((ctx.G, len(compare), len(compare)), dtype=np.int64)
    for g in range(ctx.G):
        r0, r1 = lay.gstart[g], lay.gstart[g + 1]
        A = lay.A[na * L * r0:na * L * r1].reshape(na, L, r1 - r0)
        S = W[:, :1] * A[alt, 0]
        for k in range(1, L):
            S = S + W[:, k:k + 1] * A[alt, k]
        R, disc[:, g] = brute(S, lay.R0[r0:r1], lay.ent[r0:r1])
        ranks[:, g, lay.ent[r0:r1]] = R
        Sf = np.full((D, ctx.NE), np.nan)
        Sf[:, lay.ent[r0:r1]] = S
        Sc = Sf[:, compare]
        dom[g] = (Sc[:, :, None] > Sc[:, None, :]).sum(axis=0)
    return ranks, disc, dom


def check_against_reference(ctx, W, alt, ev, compare, top_k=5):
    ranks, disc, dom = reference(ctx, W, alt, compare)
    valid = ctx.valid
    R0 = ctx.nominal_ranks.astype(np.int64)
    n_g = valid.sum(axis=1)
    D = W.shape[0]
    shift = (np.abs(ranks - R0) * valid).sum(axis=(1, 2)) / valid.sum()
    np.testing.assert_array_equal(ev.rank_shift, shift)
    rho, tau = np.zeros(D), np.zeros(D)
    for g in range(ctx.G):
        e = np.flatnonzero(valid[g])
        for d in range(D):
            rho[d] += np.corrcoef(ranks[d, g, e], R0[g, e])[0, 1] / ctx.G
        tau += (1 - 4 * disc[:, g] / (n_g[g] * (n_g[g] - 1.0))) / ctx.G
    np.testing.assert_allclose(ev.spearman, rho, rtol=0, atol=1e-13)
    np.testing.assert_allclose(ev.kendall, tau, rtol=0, atol=1e-13)
    both = valid[:, compare][:, :, None] & valid[:, compare][:, None, :]
    np.testing.assert_array_equal(np.where(both, ev.dominance, 0), np.where(both, dom, 0))
    table = frames.rank_table(ctx, ev, D, top_k)
    gi, ei = np.nonzero(valid.T)[1], np.nonzero(valid.T)[0]
    R = ranks[:, gi, ei]
    for col, q in (("median_rank", 0.5), ("rank_p05", 0.05), ("rank_p95", 0.95)):
        np.testing.assert_array_equal(table[col].to_numpy(),
                                      np.quantile(R, q, axis=0, method="inverted_cdf"))
    np.testing.assert_allclose(table["mean_rank"].to_numpy(), R.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(table["p_top_k"].to_numpy(), (R <= top_k).mean(axis=0),
                               atol=1e-15)
    return ranks


@pytest.mark.filterwarnings("ignore:n_draws=")
@pytest.mark.parametrize("n_draws", [5, 64, 300])
@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_engine_equals_brute_force(n_draws, n_jobs):
    df, spec = world()
    res = weight_sensitivity(df, spec, by="industry", n_draws=n_draws, seed=5,
                             method="multiplicative", delta=0.7, leave_one_out=False, n_jobs=1)
    ctx, W, alt = res._ctx, res._weights, res._alt
    comp = ctx.entities.get_indexer(["c00", "c03", "c98", "c11"])
    assert not ctx.valid[:, comp].all()        # c11 is missing in industry b
    ev = engine.evaluate(ctx, W, alt, chunk=256, kendall=True, compare=comp, n_jobs=n_jobs)
    ranks = check_against_reference(ctx, W, alt, ev, comp)
    kept = engine.evaluate(ctx, W, alt, chunk=256, histogram=False, keep_ranks=True,
                           n_jobs=n_jobs)
    np.testing.assert_array_equal(kept.ranks, np.where(ctx.valid, ranks, 0))
    np.testing.assert_array_equal(kept.rank_shift, ev.rank_shift)


def test_engine_with_mixed_alternatives_and_geometric_draws():
    df, spec = world(seed=2, twins=False, industries=False)
    res = weight_sensitivity(df, spec, n_draws=200, seed=9, method="multiplicative",
                             delta=0.6, normalizations=["base_share", "distance_to_frontier"],
                             aggregations=["arithmetic", "geometric"],
                             leave_one_out=False, n_jobs=1)
    assert res.parameters["alternative"].min() != res.parameters["alternative"].max()
    ctx, W, alt = res._ctx, res._weights, res._alt
    comp = ctx.entities.get_indexer(["c00", "c05"])
    for n_jobs in (1, 2):
        ev = engine.evaluate(ctx, W, alt, chunk=256, kendall=True, compare=comp,
                             n_jobs=n_jobs)
        check_against_reference(ctx, W, alt, ev, comp)


def test_near_identical_entities_under_wide_noise():
    """Scores that all overlap (near-identical entities, wide multiplicative noise): ranks
    move across the whole group, bands widen to it and many draws are sorted."""
    rng = np.random.default_rng(8)
    df, spec = world(seed=8, n_city=300, twins=False, holes=False, industries=False)
    df = df[df["quarter"] == "2021Q1"]
    cols = [f"x{k}" for k in range(6)]
    df[cols] = 10.0 + rng.normal(0, 0.01, (len(df), 6)) + rng.normal(0, 1, 6)
    res = weight_sensitivity(df, spec, n_draws=130, seed=3, method="multiplicative",
                             delta=0.9, leave_one_out=False, n_jobs=1)
    ctx, W, alt = res._ctx, res._weights, res._alt
    comp = ctx.entities.get_indexer(["c00", "c01"])
    ev = engine.evaluate(ctx, W, alt, chunk=256, kendall=True, compare=comp)
    ranks = check_against_reference(ctx, W, alt, ev, comp)
    inv = ranks[:, 0]
    assert np.abs(inv - ctx.nominal_ranks[0]).max() > 100          # far moves
    assert max(b.w.max() for b in ev.bands) > 100


def test_same_numbers_whatever_n_jobs_and_chunk_size():
    df, spec = world(seed=6)
    kw = {"by": "industry", "n_draws": 500, "seed": 77, "kendall": True,
          "compare": ["c00", "c05"]}
    ref = weight_sensitivity(df, spec, n_jobs=1, chunk_size=256, **kw)
    for n_jobs, chunk in ((2, None), (3, 512), (None, 1024)):
        other = weight_sensitivity(df, spec, n_jobs=n_jobs, chunk_size=chunk, **kw)
        pd.testing.assert_frame_equal(ref.rank_table(), other.rank_table(), check_exact=True)
        pd.testing.assert_frame_equal(ref.draws, other.draws, check_exact=True)
        pd.testing.assert_frame_equal(ref.dominance, other.dominance, check_exact=True)
        pd.testing.assert_frame_equal(ref.leave_one_out, other.leave_one_out,
                                      check_exact=True)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_n_jobs(bad):
    df, spec = world(n_city=8, industries=False)
    with pytest.raises(ParameterError, match="n_jobs"):
        weight_sensitivity(df, spec, n_draws=100, n_jobs=bad)


# ---------------------------------------------------------------- memory
def test_requests_that_do_not_fit_are_refused_up_front():
    df, spec = world(seed=1, industries=False)
    with pytest.raises(ParameterError, match=r"max_memory.*fewer periods"):
        weight_sensitivity(df, spec, n_draws=100, seed=0, max_memory=1e5)
    for bad in (0, -1, "1GB", True):
        with pytest.raises(ParameterError, match="max_memory must be"):
            weight_sensitivity(df, spec, n_draws=100, seed=0, max_memory=bad)
    res = weight_sensitivity(df, spec, n_draws=100, seed=0, leave_one_out=False)
    ctx, W, alt = res._ctx, res._weights, res._alt
    fixed = engine._fixed_bytes(ctx, 100, 256, 1, False)
    # enough for everything but the rank counts: refused when the bands are sized
    with pytest.raises(ParameterError, match="rank counts"):
        engine.evaluate(ctx, W, alt, chunk=256, max_memory=fixed + 100)
    ev = engine.evaluate(ctx, W, alt, chunk=256, max_memory=fixed + 10 * ev_bytes(ctx))
    assert sum(b.nbytes for b in ev.bands) < 10 * ev_bytes(ctx)


def ev_bytes(ctx):
    """Bytes of full rank counts (every cell x every rank of its group)."""
    n_g = ctx.valid.sum(axis=1)
    return int(4 * (n_g**2).sum())


def test_bands_are_much_smaller_than_full_counts():
    df, spec = world(seed=4, n_city=300, twins=False, holes=False, industries=False)
    res = weight_sensitivity(df, spec, n_draws=1000, seed=1, leave_one_out=False)
    ctx, W, alt = res._ctx, res._weights, res._alt
    ev = engine.evaluate(ctx, W, alt, chunk=256)
    assert sum(b.counts.size for b in ev.bands) < ev_bytes(ctx) / 4 / 5   # ~1/8 of a group
    assert ev.bands[0].counts.dtype == np.uint16              # < 65,536 draws: 16-bit counts


# ---------------------------------------------------------------- helpers
@pytest.mark.parametrize("kth", [[500, 5000, 9500], [1, 2, 10000], [5000, 5000, 5001]])
def test_order_stats_equal_a_full_sort(kth):
    rng = np.random.default_rng(1)
    S = rng.normal(size=(40, 10000))
    S[3] = 1.0                                  # constant row
    S[4, :6000] = 2.0                           # a value repeated across bins
    S[5] = np.round(S[5], 1)                    # heavy ties
    S[6] = np.exp(rng.normal(0, 6, 10000))      # very skewed: most values in one bin
    S[7, 17] = np.nextafter(S[7].max(), np.inf) # max one ulp above the rest
    kth = np.array(kth, dtype=np.int64)
    out = np.empty((len(kth), 40))
    _order_stats_rows(S, kth, 1024, out, 0)
    np.testing.assert_array_equal(out, np.sort(S, axis=1)[:, kth - 1].T)
    assert order_stat(10000, 0.05) == 500


def test_compiled_weights_equal_numpy():
    """renormalize / effective (compiled) against the plain NumPy formulas: sibling sums
    of one, a zeroed group kept, leaf weights as products along the path."""
    df, spec = world(seed=3, twins=False, holes=False, industries=False)
    res = weight_sensitivity(df, spec, n_draws=100, seed=2, leave_one_out=False, n_jobs=1)
    ctx = res._ctx
    rng = np.random.default_rng(0)
    Lw = rng.uniform(0.1, 2.0, size=(50, len(ctx.nodes)))
    Lw[7, ctx.parent_pos == ctx.parent_pos[-1]] = 0.0        # a removed node's children
    want = np.empty_like(Lw)
    for j in range(ctx.n_groups):
        cols = np.flatnonzero(ctx.parent_pos == j)
        den = Lw[:, cols].sum(axis=1, keepdims=True)
        den[den <= 0] = 1.0
        want[:, cols] = Lw[:, cols] / den
    got = draws.renormalize(ctx, Lw)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert (got[7, ctx.parent_pos == ctx.parent_pos[-1]] == 0).all()
    ext = np.concatenate([want, np.ones((len(want), 1))], axis=1)
    np.testing.assert_array_equal(draws.effective(ctx, want), np.prod(ext[:, ctx.paths], axis=2))


@pytest.mark.parametrize("periods", [None, ["2021Q3", "2021Q1"]])
def test_rank_table_comes_sorted(periods):
    """The rank table is built in index order (no sort): sorted, unique, every cell of
    the data once — with industries, holes and a subset of periods."""
    df, spec = world(seed=7)
    res = weight_sensitivity(df, spec, by="industry", periods=periods, n_draws=100, seed=1,
                             leave_one_out=False, n_jobs=2)
    idx = res.ranks.index
    assert idx.is_monotonic_increasing and idx.is_unique
    keys = df[["city", "industry", "quarter"]]
    if periods is not None:
        keys = keys[keys["quarter"].isin(periods)]
    want = pd.MultiIndex.from_frame(keys.assign(quarter=pd.PeriodIndex(keys["quarter"],
                                                                         freq="Q")))
    assert idx.equals(want.sort_values())


# ---------------------------------------------------------------- portability
_PORTABLE = textwrap.dedent("""
    import hashlib
    import numpy as np
    from dtistat.sensitivity import kernel
    before = kernel.needs_compiling()                        # a fresh cache: True
    rng = np.random.default_rng(0)
    n, D, L = 50, 130, 7
    A = np.round(rng.gamma(3.0, 1.0, (1, L, n)), 2)          # rounded: ties
    A[0, :, 3] = A[0, :, 4]
    W = rng.dirichlet(np.ones(L) * 0.3, D)                   # weights far from equal
    s0 = A[0].mean(axis=0)
    order = np.argsort(-s0, kind="stable")
    A = np.ascontiguousarray(A[:, :, order])
    R0 = (np.argsort(np.argsort(-s0[order], kind="stable"), kind="stable") + 1).astype(np.int64)
    ent = order.astype(np.int64)
    lo, w = np.ones(n, np.int64), np.full(n, n, np.int64)
    off = (np.arange(n) * n).astype(np.int64)
    counts = np.zeros(n * n, np.uint16)
    st = np.zeros((5, D), np.int64)
    ranks = np.zeros((D, 1, n), np.int32)
    S = np.empty((kernel.TILE, n))
    kernel._scores(A, W, np.zeros(D, np.int64), 64, 64, S)
    kernel.rank_group(A, W, np.zeros(D, np.int64), 0, 0, 0, 3, R0, ent, lo, w, off, counts,
                      np.zeros(n, np.int64), np.zeros(n, np.int64), st, 0,
                      np.zeros(0, np.int64), np.zeros((0, 0), np.int64), ranks, True, True,
                      True)
    h = hashlib.sha256()
    for a in (S, counts, st, ranks):
        h.update(np.ascontiguousarray(a).tobytes())
    print(h.hexdigest(), before, kernel.needs_compiling())
""")


def test_same_numbers_on_a_generic_and_an_avx2_target(tmp_path):
    """The kernel compiled for a generic x86-64 CPU and for Haswell (AVX2, FMA) gives the
    same scores to the bit, ranks and counts (no FMA contraction, no BLAS); with a
    fresh cache ``needs_compiling`` (the CLI's "compiling" line) is True until the
    first call."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        # the target names "generic" and "haswell" are x86-64 CPUs; LLVM refuses them on
        # other architectures (CI and the development machines are x86-64)
        pytest.skip(f"x86-64 CPU targets cannot be compiled on {platform.machine()}")
    out = {}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for cpu in ("generic", "haswell"):
        env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CACHE_DIR": str(tmp_path / cpu),
               "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        p = subprocess.run([sys.executable, "-c", _PORTABLE], capture_output=True, text=True,
                           env=env, timeout=600, check=False)
        assert p.returncode == 0, p.stderr
        digest, before, after = p.stdout.split()
        assert (before, after) == ("True", "False")           # what the CLI tells the user
        out[cpu] = digest
    ns: dict = {}
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(_PORTABLE, ns)  # noqa: S102 - the same snippet on this process's CPU
    assert out["generic"] == out["haswell"] == buf.getvalue().split()[0]
    assert len(out["generic"]) == len(hashlib.sha256().hexdigest())


# ---------------------------------------------------------------- the two ranking paths
def run_tiles(S, R0, ent, H, lo=None, w=None, cap=0):
    """rank_tiles on prescribed scores with the window half-width ``H`` (0: sort every
    draw) and an overflow list of ``cap`` entries; returns the stop tile, counts, sums,
    ranks by row, the overflow entries used and the final state."""
    D, n = S.shape
    A = np.ascontiguousarray(S[None])
    if lo is None:
        lo, w = np.ones(n, dtype=np.int64), np.full(n, n, dtype=np.int64)
    off = np.concatenate([[0], np.cumsum(w)[:-1]]).astype(np.int64)
    counts = np.zeros(int(w.sum()), dtype=np.uint16)
    st = np.zeros((5, D), dtype=np.int64)
    ranks = np.zeros((D, 1, n), dtype=np.int32)
    ovf = np.zeros((cap, 2), dtype=np.int64)
    state = np.array([H, 0], dtype=np.int64)
    stop = kernel.rank_tiles(np.ascontiguousarray(A), np.eye(D), np.zeros(D, np.int64), 0, 0,
                             -(-D // kernel.TILE), R0, ent, lo, w, off, counts,
                             np.zeros(n, np.int64), np.zeros(n, np.int64), ovf, state, st, 0,
                             np.zeros(0, np.int64), np.zeros((0, 0), np.int64), ranks, True,
                             True, True)
    return stop, counts, st, ranks[:, 0, ent], ovf[:state[1]], state


def near_ties(seed, n=60, D=130):
    """Scores a few ulps apart (they share their top 32 key bits), exact ties, signed
    zeros, negative scores, a wide span, and draws far from the nominal order."""
    rng = np.random.default_rng(seed)
    base = np.sort(rng.normal(0, 1, n))[::-1]
    S = base[None] + rng.normal(0, 0.3, (D, n))
    S[:, 10:20] = 1.0 + rng.integers(-3, 4, (D, 10)) * np.spacing(1.0)   # ulps apart
    S[:, 20] = S[:, 21]                                  # tied in every draw
    S[:, 22], S[:, 23] = 0.0, -0.0                       # equal scores, different bits
    S[::7, 30] = 1e300                                   # a huge span of keys
    S[5::11] = S[5::11, ::-1]                            # reversed draws
    ent = rng.permutation(n).astype(np.int64)
    order, R0, ent = nominal(base, ent)
    return np.ascontiguousarray(S[:, order]), R0, ent


@pytest.mark.parametrize("seed", range(3))
def test_window_and_radix_paths_equal_brute_force(seed):
    """Ranks, sums and discordant pairs equal brute force whichever path ranks the
    draws: the window count (narrow: most draws fall back to the sort; wide) or the
    radix sort of every draw (whose top-32-bit pass needs the full-key insertion here)."""
    S, R0, ent = near_ties(seed)
    R, disc = brute(S, R0, ent)
    for H in (0, 2, 8, 32):
        stop, counts, st, ranks, _, _ = run_tiles(S, R0, ent, H)
        assert stop == -(-S.shape[0] // kernel.TILE)
        np.testing.assert_array_equal(ranks, R)
        np.testing.assert_array_equal(st[4], disc)
        np.testing.assert_array_equal(st[1], R.sum(axis=1))
        np.testing.assert_array_equal(counts.reshape(len(R0), -1).sum(axis=1), len(S))


def test_radix_orders_keys_beyond_the_top_32_bits():
    n = 300
    rng = np.random.default_rng(4)
    x = 1.0 + rng.integers(0, 2**20, n) * np.spacing(1.0)   # differ in low bits only
    x[:5] = [1e10, -1e10, 0.0, -0.0, 1.0]
    rk = np.zeros((n, 1), dtype=np.int32)
    key, a, a2 = (np.empty(n, dtype=np.uint64) for _ in range(3))
    eord = np.arange(n, dtype=np.int64)
    kernel._radix(x, eord, np.arange(1, n + 1), rk, 0, key, a, a2, np.empty(n, np.int64),
                  np.empty(n, np.int64), np.empty((4, 256), dtype=np.int64), False)
    np.testing.assert_array_equal(rk[:, 0], stats.rankdata(-x, method="min"))


def test_out_of_band_ranks_go_to_the_overflow_list():
    """Bands holding only the nominal rank: the ranks outside go to the overflow list
    (when it has room) and the bands plus the list are the exact rank counts; without
    room, the tile stops uncounted."""
    rng = np.random.default_rng(3)
    n, D = 30, 100
    S = np.sort(rng.normal(size=n))[::-1][None] + rng.normal(0, 0.3, (D, n))
    R0 = np.arange(1, n + 1)
    ent = np.arange(n, dtype=np.int64)
    lo, w = R0.astype(np.int64), np.ones(n, dtype=np.int64)
    R, _ = brute(S, R0, ent)
    stop, counts, _, _, ovf, _ = run_tiles(S, R0, ent, 8, lo, w, cap=n * D)
    assert stop == 2 and len(ovf) == (R != R0).sum()
    np.testing.assert_array_equal(counts, (R == R0).sum(axis=0))
    np.testing.assert_array_equal(np.sort(ovf[:, 0] * n + ovf[:, 1]),
                                  np.sort(np.nonzero(R != R0)[1] * n + R[R != R0]))
    stop, counts, _, _, ovf, _ = run_tiles(S, R0, ent, 8, lo, w, cap=10)
    assert stop == 0 and counts.sum() == 0 and len(ovf) == 0


def test_tiny_overflow_lists_give_the_same_numbers():
    """The engine with overflow lists so small that tiles stop and re-run gives the
    same numbers as with the default lists."""
    df, spec = world(seed=3)
    res = weight_sensitivity(df, spec, by="industry", n_draws=300, seed=2,
                             method="multiplicative", delta=0.7, leave_one_out=False)
    ctx, W, alt = res._ctx, res._weights, res._alt
    ref = engine.evaluate(ctx, W, alt, chunk=256, kendall=True)
    old = engine._OVF
    try:
        engine._OVF = 0
        ev = engine.evaluate(ctx, W, alt, chunk=256, kendall=True)
    finally:
        engine._OVF = old
    for a, b in zip(ref.bands, ev.bands):
        for k in range(len(a.lo)):
            ca = np.zeros(len(ctx.entities) + 2, np.int64)
            cb = ca.copy()
            ca[a.lo[k]:a.lo[k] + a.w[k]] = a.counts[a.off[k]:a.off[k] + a.w[k]]
            cb[b.lo[k]:b.lo[k] + b.w[k]] = b.counts[b.off[k]:b.off[k] + b.w[k]]
            np.testing.assert_array_equal(ca, cb)
    np.testing.assert_array_equal(ref.kendall, ev.kendall)
    np.testing.assert_array_equal(ref.rank_shift, ev.rank_shift)


def test_a_refusal_in_a_worker_thread_reaches_the_caller():
    """The bands are widened by the thread that ranked the group: a refusal there is
    raised in the caller (the other threads stop), with several threads too."""
    df, spec = world(seed=1)
    res = weight_sensitivity(df, spec, by="industry", n_draws=300, seed=0,
                             leave_one_out=False)
    ctx, W, alt = res._ctx, res._weights, res._alt
    fixed = engine._fixed_bytes(ctx, 300, 256, 3, False)
    with pytest.raises(ParameterError, match="rank counts"):
        engine.evaluate(ctx, W, alt, chunk=256, n_jobs=3, max_memory=fixed + 100)
