"""The window engine of weight_sensitivity (dtistat.index._rankwin) against brute force
and against the straightforward sort engine it replaced, on ties, padding, unbalanced
panels, mixed alternatives, every thread count and chunk size."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dtistat import IndexSpec, ParameterError
from dtistat.index import _rankwin
from dtistat.index import sensitivity as sm
from dtistat.index.sensitivity import weight_sensitivity


# ---------------------------------------------------------------- the kernel itself
def brute(S, R0, ent):
    """Ranks ('min', descending) of every draw and the discordant pairs, by definition."""
    n, D = S.shape
    ranks = np.empty((n, D), dtype=np.int64)
    disc = np.zeros(D, dtype=np.int64)
    for d in range(D):
        ranks[:, d] = stats.rankdata(-S[:, d], method="min").astype(np.int64)
        # draw order: scores descending, ties by entity number (a stable sort by entity)
        order = np.lexsort((ent, -S[:, d]))
        r0 = R0[order]
        disc[d] = sum(int(r0[i] > r0[j]) for i in range(n) for j in range(i + 1, n))
    return ranks, disc


@pytest.mark.parametrize("mode", [0, 1, 2, 3])   # auto, float32 windows, sort, float64
@pytest.mark.parametrize(("seed", "tw"), [(s, 16) for s in range(6)] + [(6, 64), (7, 128)])
def test_rank_group_equals_brute_force_with_ties(seed, tw, mode):
    """Tiles of 64 and 128 draws also take the popcount path of the rank counts."""
    rng = np.random.default_rng(seed)
    n, nt = 23, 3
    base = np.sort(rng.normal(0, 1, n))[::-1] * 3
    S = base[None, :, None] + rng.normal(0, 1.0, (nt, n, tw))
    S = np.round(S, 1)                       # coarse values: many exact ties
    S[:, 5] = S[:, 4]                        # a row tied with its neighbour in every draw
    s0 = np.round(base, 1)
    order = np.lexsort((np.arange(n), -s0))  # rows must be in nominal order
    S, s0 = np.ascontiguousarray(S[:, order]), s0[order]
    ent = rng.permutation(n).astype(np.int64)
    R0 = stats.rankdata(-s0, method="min").astype(np.int64)
    ncol = 11                                # the last tile is part padding
    G, NE = 1, n
    hist = np.zeros((n, NE), dtype=np.int32)
    st = np.empty((nt, 5, tw), dtype=np.int64)
    D = (nt - 1) * tw + ncol
    ranks = np.zeros((D, G, NE), dtype=np.int32)
    dmap = np.arange(nt * tw, dtype=np.int64).reshape(nt, tw)
    dmap[-1, ncol:] = 0                      # padding never writes
    redo = _rankwin.rank_group(S, ncol, s0, R0, ent, 0, hist, st, ranks, dmap, True, True,
                               True, mode)
    if mode == 1:
        assert redo == D          # the twin rows tie in every draw: all ranked again
    check_group(S, D, R0, ent, hist, st, ranks)


def check_group(S, D, R0, ent, hist, st, ranks):
    """rank_group's outputs against brute force."""
    n, nt = S.shape[1], S.shape[0]
    NE = hist.shape[1]
    flat = np.concatenate([S[t] for t in range(nt)], axis=1)[:, :D]
    R, disc = brute(flat, R0, ent)
    np.testing.assert_array_equal(ranks[:, 0, ent].T, R)
    want_hist = np.zeros((n, NE), dtype=np.int64)
    for p in range(n):
        want_hist[p] = np.bincount(R[p] - 1, minlength=NE)
    np.testing.assert_array_equal(hist, want_hist)
    got = np.concatenate([st[t] for t in range(nt)], axis=1)[:, :D]
    np.testing.assert_array_equal(got[0], np.abs(R - R0[:, None]).sum(axis=0))
    np.testing.assert_array_equal(got[1], R.sum(axis=0))
    np.testing.assert_array_equal(got[2], (R**2).sum(axis=0))
    np.testing.assert_array_equal(got[3], (R * R0[:, None]).sum(axis=0))
    np.testing.assert_array_equal(got[4], disc)


@pytest.mark.parametrize("mode", [0, 1, 3])
def test_float32_ties_are_ranked_in_float64(mode):
    """Scores one or a few float64 ulps apart round to the same float32: the float32
    ranks of those draws tie, their sum falls short of n(n+1)/2 and the draw is ranked
    again from the float64 scores — the ranks are those of the float64 scores."""
    rng = np.random.default_rng(11)
    n, tw, nt = 30, 64, 2
    base = np.sort(rng.uniform(1, 2, n))[::-1]
    S = base[None, :, None] * (1 + 0.002 * rng.normal(size=(nt, n, tw)))
    # rows 7 and 8: equal in float32 (distinct in float64) in every other draw
    ulps = rng.integers(-3, 4, size=(nt, tw)).astype(float)
    S[:, 8] = S[:, 7] + ulps * np.spacing(S[:, 7])
    S[:, 8, ::2] = S[:, 7, ::2] * (1 - 1e-3)
    assert ((S[:, 8] != S[:, 7]) & (S[:, 8].astype(np.float32) == S[:, 7].astype(np.float32))).any()
    s0 = base.copy()
    s0[8] = s0[7] * (1 - 1e-3)
    order = np.lexsort((np.arange(n), -s0))
    S, s0 = np.ascontiguousarray(S[:, order]), s0[order]
    ent = np.arange(n, dtype=np.int64)
    R0 = stats.rankdata(-s0, method="min").astype(np.int64)
    D = nt * tw
    hist = np.zeros((n, n), dtype=np.int32)
    st = np.empty((nt, 5, tw), dtype=np.int64)
    ranks = np.zeros((D, 1, n), dtype=np.int32)
    dmap = np.arange(D, dtype=np.int64).reshape(nt, tw)
    redo = _rankwin.rank_group(S, tw, s0, R0, ent, 0, hist, st, ranks, dmap, True, True,
                               True, mode)
    if mode != 3:
        assert 0 < redo < D       # the odd draws, less those with ulps == 0
    else:
        assert redo == 0
    check_group(S, D, R0, ent, hist, st, ranks)


def test_auto_mode_keeps_to_float64_after_tied_tiles():
    """Rows tied in every draw make every float32 draw fail its check; mode 0 ranks the
    later tiles in float64 directly (same numbers), mode 1 keeps checking."""
    rng = np.random.default_rng(12)
    n, tw, nt = 20, 64, 4
    base = np.sort(rng.uniform(1, 2, n))[::-1]
    S = base[None, :, None] * (1 + 0.01 * rng.normal(size=(nt, n, tw)))
    S[:, 4] = S[:, 3]
    s0 = base.copy()
    s0[4] = s0[3]
    ent = np.arange(n, dtype=np.int64)
    R0 = stats.rankdata(-s0, method="min").astype(np.int64)
    D = nt * tw
    out = {}
    for mode in (0, 1):
        hist = np.zeros((n, n), dtype=np.int32)
        st = np.empty((nt, 5, tw), dtype=np.int64)
        ranks = np.zeros((D, 1, n), dtype=np.int32)
        dmap = np.arange(D, dtype=np.int64).reshape(nt, tw)
        out[mode] = _rankwin.rank_group(S, tw, s0, R0, ent, 0, hist, st, ranks, dmap, True,
                                        True, True, mode)
        check_group(S, D, R0, ent, hist, st, ranks)
    assert out[1] == D and out[0] == tw     # auto: the first tile only


def test_hist_summary_order_statistics():
    rng = np.random.default_rng(3)
    R = rng.integers(1, 9, size=(7, 301))
    hist = np.stack([np.bincount(r - 1, minlength=12) for r in R])
    kth = np.array([sm._order_stat(301, p) for p in (0.05, 0.5, 0.95)], dtype=np.int64)
    mean, q, top = _rankwin.hist_summary(np.stack([hist - hist // 2, hist // 2]), kth, 3, 301)
    np.testing.assert_allclose(mean, R.mean(axis=1), rtol=0, atol=1e-13)
    for i, p in enumerate((0.05, 0.5, 0.95)):
        np.testing.assert_array_equal(q[i], np.quantile(R, p, axis=1, method="inverted_cdf"))
    np.testing.assert_array_equal(top, (R <= 3).sum(axis=1))


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
    got = _rankwin.order_stats(S, kth, 1024)
    np.testing.assert_array_equal(got, np.sort(S, axis=1)[:, kth - 1].T)


# ---------------------------------------------------------------- engine vs sort engine
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


def assert_same(a: sm._Acc, b: sm._Acc, ctx, D, top_k=5, compare=None):
    np.testing.assert_array_equal(a.rank_shift, b.rank_shift)
    np.testing.assert_allclose(a.spearman, b.spearman, rtol=0, atol=1e-13)
    if a.kendall is not None:
        np.testing.assert_allclose(a.kendall, b.kendall, rtol=0, atol=1e-13)
    if a.hist is not None:
        pd.testing.assert_frame_equal(sm._rank_table(ctx, a.hist, D, top_k),
                                      sm._rank_table(ctx, b.hist, D, top_k), check_exact=True)
    if a.dominance is not None:
        # pairs with an entity missing from the group are not reported (the sort engine
        # compares their padding; the window engine leaves them at zero)
        v = ctx.valid[:, compare]
        both = v[:, :, None] & v[:, None, :]
        np.testing.assert_array_equal(np.where(both, a.dominance, 0),
                                      np.where(both, b.dominance, 0))
    if a.ranks is not None:
        np.testing.assert_array_equal(a.ranks, b.ranks)


@pytest.mark.filterwarnings("ignore:n_draws=")
@pytest.mark.parametrize("mode", [0, 1, 2, 3])
@pytest.mark.parametrize("n_draws", [5, 64, 300])
@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_window_engine_equals_sort_engine(n_draws, n_jobs, mode, monkeypatch):
    monkeypatch.setattr(sm, "_WIN_MODE", mode)
    df, spec = world()
    res = weight_sensitivity(df, spec, by="industry", n_draws=n_draws, seed=5,
                             leave_one_out=False, n_jobs=1)
    ctx, W, alt = res._ctx, res._weights, res._alt
    comp = ctx.entities.get_indexer(["c00", "c03", "c98", "c11"])
    kw = {"chunk": 256, "kendall": True, "compare": comp}
    win = sm._evaluate(ctx, W, alt, engine="window", n_jobs=n_jobs, **kw)
    srt = sm._evaluate(ctx, W, alt, engine="sort", **kw)
    assert not ctx.valid[:, comp].all()        # c11 is missing in industry b
    assert_same(win, srt, ctx, n_draws, compare=comp)
    win = sm._evaluate(ctx, W, alt, chunk=256, histogram=False, keep_ranks=True,
                       engine="window", n_jobs=n_jobs)
    srt = sm._evaluate(ctx, W, alt, chunk=256, histogram=False, keep_ranks=True,
                       engine="sort")
    assert_same(win, srt, ctx, n_draws)


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_window_engine_with_mixed_alternatives_and_geometric_draws(mode, monkeypatch):
    monkeypatch.setattr(sm, "_WIN_MODE", mode)
    df, spec = world(seed=2, twins=False, industries=False)
    res = weight_sensitivity(df, spec, n_draws=200, seed=9, method="multiplicative",
                             delta=0.6, normalizations=["base_share", "distance_to_frontier"],
                             aggregations=["arithmetic", "geometric"],
                             leave_one_out=False, n_jobs=1)
    assert res.parameters["alternative"].min() != res.parameters["alternative"].max()
    ctx, W, alt = res._ctx, res._weights, res._alt
    for n_jobs in (1, 2):
        win = sm._evaluate(ctx, W, alt, chunk=256, kendall=True, engine="window",
                           n_jobs=n_jobs)
        srt = sm._evaluate(ctx, W, alt, chunk=256, kendall=True, engine="sort")
        assert_same(win, srt, ctx, 200)


def test_wide_windows_switch_to_sorting():
    """Scores that all overlap (near-identical entities, wide multiplicative noise):
    the windows span the whole group, so the kernel sorts instead — same numbers."""
    rng = np.random.default_rng(8)
    df, spec = world(seed=8, n_city=900, twins=False, holes=False, industries=False)
    df = df[df["quarter"] == "2021Q1"]
    cols = [f"x{k}" for k in range(6)]
    df[cols] = 10.0 + rng.normal(0, 0.01, (len(df), 6)) + rng.normal(0, 1, 6)
    res = weight_sensitivity(df, spec, n_draws=130, seed=3, method="multiplicative",
                             delta=0.9, leave_one_out=False, n_jobs=1)
    ctx, W, alt = res._ctx, res._weights, res._alt
    lay = sm._layout(ctx)
    S = lay.A[0][: lay.gstart[1]] @ W[:64].T
    mn, mx = np.minimum(S.min(1), lay.s0[: lay.gstart[1]]), S.max(1)
    n = len(mn)
    lo, hi = np.empty(n, np.int64), np.empty(n, np.int64)
    _rankwin._windows(mn, np.maximum(mx, lay.s0[: lay.gstart[1]]), lo, hi, np.empty(n),
                      np.empty(n))
    assert (hi - lo + 1).sum() > _rankwin._SORT_COST * n * np.log2(n)   # sorts
    srt = sm._evaluate(ctx, W, alt, chunk=256, kendall=True, engine="sort")
    win = sm._evaluate(ctx, W, alt, chunk=256, kendall=True, engine="window")
    assert_same(win, srt, ctx, 130)


def test_single_group_splits_draws_across_threads():
    df, spec = world(seed=4, twins=True, holes=False, industries=False)
    df = df[df["quarter"] == "2021Q1"]
    res = weight_sensitivity(df, spec, n_draws=333, seed=1, leave_one_out=False, n_jobs=1)
    ctx, W, alt = res._ctx, res._weights, res._alt
    assert ctx.G == 1
    srt = sm._evaluate(ctx, W, alt, chunk=256, kendall=True, engine="sort")
    for n_jobs in (2, 4):
        win = sm._evaluate(ctx, W, alt, chunk=256, kendall=True, engine="window",
                           n_jobs=n_jobs)
        assert_same(win, srt, ctx, 333)


def test_same_numbers_whatever_n_jobs_and_chunk_size():
    df, spec = world(seed=6)
    kw = {"by": "industry", "n_draws": 500, "seed": 77, "kendall": True,
          "compare": ["c00", "c05"]}
    ref = weight_sensitivity(df, spec, n_jobs=1, chunk_size=256, **kw)
    for n_jobs, chunk in ((2, None), (3, 512), (None, 1024)):
        other = weight_sensitivity(df, spec, n_jobs=n_jobs, chunk_size=chunk, **kw)
        pd.testing.assert_frame_equal(ref.summary(), other.summary(), check_exact=True)
        pd.testing.assert_frame_equal(ref.draws, other.draws, check_exact=True)
        pd.testing.assert_frame_equal(ref.dominance, other.dominance, check_exact=True)
        pd.testing.assert_frame_equal(ref.leave_one_out, other.leave_one_out,
                                      check_exact=True)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_n_jobs(bad):
    df, spec = world(n_city=8, industries=False)
    with pytest.raises(ParameterError, match="n_jobs"):
        weight_sensitivity(df, spec, n_draws=100, n_jobs=bad)


def test_unknown_engine():
    df, spec = world(n_city=8, industries=False)
    res = weight_sensitivity(df, spec, n_draws=100, seed=0, leave_one_out=False)
    with pytest.raises(ParameterError, match="engine"):
        sm._evaluate(res._ctx, res._weights, res._alt, chunk=256, engine="fast")


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_child_gets_its_own_threads():
    """The kept thread pool does not survive a fork; a child must not wait on it."""
    import multiprocessing as mp

    df, spec = world(n_city=12, industries=False)
    ref = weight_sensitivity(df, spec, n_draws=150, seed=2, n_jobs=2, leave_one_out=False)
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_child_run, (df, spec)).get(timeout=60)
    pd.testing.assert_frame_equal(ref.summary(), got, check_exact=True)


def _child_run(df, spec):
    return weight_sensitivity(df, spec, n_draws=150, seed=2, n_jobs=2,
                              leave_one_out=False).summary()


def test_groups_too_large_for_the_kernel_use_the_sort_engine(monkeypatch):
    """Above _rankwin.MAX_ROWS rows a rank squared may not fit the kernel's int32
    products: the engine sorts instead (same numbers)."""
    df, spec = world(seed=6, twins=False, holes=False, industries=False)
    res = weight_sensitivity(df, spec, n_draws=100, seed=2, leave_one_out=False, n_jobs=1)
    ctx, W, alt = res._ctx, res._weights, res._alt
    calls = []
    real = sm._evaluate_sort
    monkeypatch.setattr(sm, "_evaluate_sort", lambda *a, **k: calls.append(1) or real(*a, **k))
    win = sm._evaluate(ctx, W, alt, chunk=256, engine="window")
    assert not calls
    monkeypatch.setattr(_rankwin, "MAX_ROWS", 10)
    big = sm._evaluate(ctx, W, alt, chunk=256, engine="window")
    assert calls
    assert_same(big, win, ctx, 100)


def test_compiled_weights_equal_numpy():
    """renormalize / effective (compiled, one pass) against the plain NumPy formulas:
    sibling sums of one, a zeroed group kept, leaf weights as products along the path."""
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
    got = _rankwin.renormalize(Lw, ctx.parent_pos, ctx.n_groups, np.empty_like(Lw))
    inplace = Lw.copy()
    _rankwin.renormalize(inplace, ctx.parent_pos, ctx.n_groups, inplace)
    np.testing.assert_array_equal(inplace, got)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert (got[7, ctx.parent_pos == ctx.parent_pos[-1]] == 0).all()
    ext = np.concatenate([want, np.ones((len(want), 1))], axis=1)
    W = np.prod(ext[:, ctx.paths], axis=2)
    np.testing.assert_array_equal(_rankwin.effective(want, ctx.paths), W)
    sums = _rankwin.effective(want, ctx.paths).sum(axis=1)
    np.testing.assert_allclose(np.delete(sums, 7), 1.0, rtol=1e-14)   # 7 lost a group


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


@pytest.mark.parametrize("tw", [64, 128, 96])
def test_add_counts_equals_bincount(tw):
    """Rank counts of a row's tile: the value-by-value popcount path (full tiles, few
    values) and the increment path (partial tiles, many values, counts past 255) agree
    with np.bincount."""
    rng = np.random.default_rng(tw)
    c8 = np.empty(tw, dtype=np.uint8)
    for lo_, hi_, m in [(0, 1, tw), (3, 9, tw), (0, 31, tw), (0, 40, tw), (250, 262, tw),
                        (5, 12, tw - 7), (7, 8, 1)]:
        cnt = rng.integers(lo_, hi_, size=tw).astype(np.int32)
        hp = np.zeros(400, dtype=np.int32)
        _rankwin._add_counts(hp, 2, cnt, m, c8, False)
        want = np.zeros(400, dtype=np.int64)
        want[2:2 + hi_] = np.bincount(cnt[:m], minlength=hi_)
        np.testing.assert_array_equal(hp, want)


def test_windows_of_256_rows_or_more_count_in_int32():
    """Windows too wide for byte counters (>= 256 rows, windows forced) take the int32
    counts; same ranks as brute force."""
    rng = np.random.default_rng(21)
    n, tw, nt = 300, 64, 1
    base = np.sort(rng.normal(0, 1, n))[::-1]
    S = base[None, :, None] + rng.normal(0, 3.0, (nt, n, tw))   # ranges overlap widely
    s0 = base.copy()
    ent = np.arange(n, dtype=np.int64)
    R0 = stats.rankdata(-s0, method="min").astype(np.int64)
    hist = np.zeros((n, n), dtype=np.int32)
    st = np.empty((nt, 5, tw), dtype=np.int64)
    ranks = np.zeros((tw, 1, n), dtype=np.int32)
    dmap = np.arange(tw, dtype=np.int64).reshape(nt, tw)
    _rankwin.rank_group(S, tw, s0, R0, ent, 0, hist, st, ranks, dmap, True, False, True, 1)
    R = np.stack([stats.rankdata(-S[0, :, d], method="min") for d in range(tw)], axis=1)
    np.testing.assert_array_equal(ranks[:, 0, :].T, R)
    want = np.stack([np.bincount(R[p] - 1, minlength=n) for p in range(n)])
    np.testing.assert_array_equal(hist, want)
    np.testing.assert_array_equal(st[0, 0], np.abs(R - R0[:, None]).sum(axis=0))
