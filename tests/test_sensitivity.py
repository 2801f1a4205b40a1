"""weight_sensitivity / sobol_weights: exactness against the naive rebuild loop, a hand
example, analytic Sobol indices, reproducibility and bad input."""

import dataclasses
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dtistat import (
    DataError,
    DtiStatWarning,
    IndexSpec,
    ParameterError,
    PeriodError,
    SpecError,
    compute_index,
)
from dtistat.index import weights as W
from dtistat.sensitivity import (
    SensitivityResult,
    SobolResult,
    sobol_indices,
    sobol_weights,
    weight_sensitivity,
)

TOL = 1e-12  # the draw-for-draw tolerance


# ---------------------------------------------------------------- simulated panel
def panel(n_city=14, quarters=("2021Q1", "2021Q2", "2021Q3"), industries=None, seed=0,
          n_expert=5):
    """Simulated (not real) data: gamma indicators scaled by a lognormal city size."""
    rng = np.random.default_rng(seed)
    keys = {"city": [f"c{i:02d}" for i in range(n_city)], "quarter": list(quarters)}
    if industries:
        keys["industry"] = list(industries)
    idx = pd.MultiIndex.from_product(list(keys.values()), names=list(keys))
    df = idx.to_frame(index=False)
    size = rng.lognormal(0, 0.4, n_city)[df["city"].str[1:].astype(int).to_numpy()]
    for k in range(5):
        df[f"x{k}"] = size * rng.gamma(5.0, 1.0, len(df))
    tree = {"name": "total", "children": [
        {"name": "L1", "children": [{"name": "x0"}, {"name": "x1"}]},
        {"name": "L2", "children": [{"name": "x2"}, {"name": "x3"}, {"name": "x4"}]}]}
    nodes = ["L1", "L2", "x0", "x1", "x2", "x3", "x4"]
    scores = {f"e{i}": {n: int(rng.integers(1, 6)) for n in nodes} for i in range(n_expert)}
    return df, IndexSpec.from_dict({**tree, "expert_scores": scores})


def draw_weights(res, d):
    return {c[2:]: float(res.draws.at[d, c]) for c in res.draws.columns if c.startswith("w:")}


def naive_scores(df, spec, res, d, **kw):
    """The naive path: rebuild the whole index with draw d's weights."""
    out = compute_index(df, spec.with_weights(draw_weights(res, d)), **kw)
    return out.scores[res.node]


def group_ranks(s, levels):
    return s.groupby(level=levels).rank(ascending=False, method="min").astype(int)


# ---------------------------------------------------------------- exactness
def test_expert_bootstrap_equals_naive_loop_draw_for_draw():
    df, spec = panel(industries=("a", "b"))
    n = 100
    res = weight_sensitivity(df, spec, by="industry", n_draws=n, seed=11, top_k=3,
                             kendall=True, compare=["c00", "c01", "c02"])
    assert isinstance(res, SensitivityResult) and res.n_draws == n
    counts = res.parameters["counts"]
    sc = spec.expert_scores
    levels = ["industry", "quarter"]
    ref = res.rank_table().set_index(["city", "industry", "quarter"]).sort_index()
    nominal = compute_index(df, spec, by="industry").scores["total"].sort_index()
    nom_rank = group_ranks(nominal, levels)
    np.testing.assert_array_equal(ref["nominal_rank"].to_numpy(), nom_rank.to_numpy())
    ds = res.draw_scores()
    all_scores, all_ranks = [], []
    for d in range(n):
        # the draw's weights are the report's formula on the resampled experts
        rows = np.repeat(np.arange(len(sc)), counts.iloc[d].to_numpy())
        lw = spec.local_weights(scores=sc.iloc[rows])
        for k, w in draw_weights(res, d).items():
            assert w == pytest.approx(lw[k], abs=1e-15)
        s = naive_scores(df, spec, res, d, by="industry").sort_index()
        np.testing.assert_allclose(ds[d].to_numpy(), s.to_numpy(), rtol=0, atol=TOL)
        r = group_ranks(s, levels)
        # per-draw statistics against scipy on the naive ranks
        shift = np.abs(r - nom_rank).mean()
        assert res.draws.at[d, "rank_shift"] == pytest.approx(shift, abs=TOL)
        all_scores.append(s.to_numpy())
        all_ranks.append(r.to_numpy())
        if d % 5:
            continue  # scipy's correlations on every fifth draw keep the test fast
        rho, tau = [], []
        for _, g in r.groupby(level=levels):
            g0 = nom_rank.loc[g.index]
            rho.append(stats.spearmanr(g, g0)[0])
            tau.append(stats.kendalltau(g, g0)[0])
        assert res.draws.at[d, "spearman"] == pytest.approx(np.mean(rho), abs=TOL)
        assert res.draws.at[d, "kendall"] == pytest.approx(np.mean(tau), abs=TOL)
    S, R = np.array(all_scores), np.array(all_ranks)
    for col, q in (("median_rank", 0.5), ("rank_p05", 0.05), ("rank_p95", 0.95)):
        np.testing.assert_array_equal(ref[col].to_numpy(),
                                      np.quantile(R, q, axis=0, method="inverted_cdf"))
    for col, q in (("score_median", 0.5), ("score_p05", 0.05), ("score_p95", 0.95)):
        np.testing.assert_allclose(ref[col].to_numpy(),
                                   np.quantile(S, q, axis=0, method="inverted_cdf"),
                                   rtol=0, atol=TOL)
    np.testing.assert_allclose(ref["mean_rank"].to_numpy(), R.mean(axis=0), rtol=0, atol=TOL)
    np.testing.assert_allclose(ref["p_top_k"].to_numpy(), (R <= 3).mean(axis=0), rtol=0,
                               atol=TOL)
    # dominance: share of draws in which a scores above b, per group
    dom = res.dominance.set_index(["industry", "quarter", "entity_a", "entity_b"])["p_above"]
    s_a = pd.DataFrame(S.T, index=nominal.index)
    for (ind, q, a, b), p in dom.items():
        va = s_a.loc[(a, ind, pd.Period(q, "Q"))].to_numpy()
        vb = s_a.loc[(b, ind, pd.Period(q, "Q"))].to_numpy()
        assert p == pytest.approx((va > vb).mean(), abs=TOL)


@pytest.mark.parametrize("method,opts", [
    ("multiplicative", {"delta": 0.4}),
    ("rating_noise", {}),
])
def test_alternatives_and_geometric_equal_naive_loop(method, opts):
    df, spec = panel(n_city=10, quarters=("2021Q1", "2021Q2"))
    norms, aggs = ["base_share", "distance_to_frontier"], ["arithmetic", "geometric"]
    res = weight_sensitivity(df, spec, method=method, n_draws=100, seed=5,
                             normalizations=norms, aggregations=aggs, leave_one_out=False,
                             **opts)
    assert set(res.draws["aggregation"]) == set(aggs)
    assert set(res.draws["normalization"]) == set(norms)
    ds = res.draw_scores()
    nom_rank = res.ranks["nominal_rank"]
    for d in range(0, 100, 3):
        kw = {"normalization": res.draws.at[d, "normalization"],
              "aggregation": res.draws.at[d, "aggregation"]}
        s = naive_scores(df, spec, res, d, **kw).sort_index()
        np.testing.assert_allclose(ds[d].to_numpy(), s.to_numpy(), rtol=TOL, atol=TOL)
        r = group_ranks(s, ["quarter"])
        shift = np.abs(r.to_numpy() - nom_rank.to_numpy()).mean()
        assert res.draws.at[d, "rank_shift"] == pytest.approx(shift, abs=TOL)


def test_unbalanced_panel_and_negative_scores_equal_naive_loop():
    df, spec = panel(n_city=12, quarters=("2021Q1", "2021Q2", "2021Q3"))
    # c03 and c07 are missing in some quarters; zscore gives negative scores
    df = df.drop(index=df.index[((df["city"] == "c03") & (df["quarter"] == "2021Q2"))
                                | ((df["city"] == "c07") & (df["quarter"] != "2021Q1"))])
    res = weight_sensitivity(df, spec, method="multiplicative", delta=0.9, n_draws=100,
                             seed=9, normalization="zscore", kendall=True, top_k=2)
    assert len(res.ranks) == len(df)
    nominal = compute_index(df, spec, normalization="zscore").scores["total"].sort_index()
    nom_rank = group_ranks(nominal, ["quarter"])
    ds = res.draw_scores()
    R = []
    for d in range(100):
        s = naive_scores(df, spec, res, d, normalization="zscore").sort_index()
        np.testing.assert_allclose(ds[d].to_numpy(), s.to_numpy(), rtol=0, atol=TOL)
        r = group_ranks(s, ["quarter"])
        R.append(r.to_numpy())
        assert res.draws.at[d, "rank_shift"] == pytest.approx(np.abs(r - nom_rank).mean(),
                                                              abs=TOL)
        if d % 10 == 0:
            # delta=0.9 moves entities far: exercises the exact inversion count
            tau = [stats.kendalltau(g, nom_rank.loc[g.index])[0]
                   for _, g in r.groupby(level="quarter")]
            assert res.draws.at[d, "kendall"] == pytest.approx(np.mean(tau), abs=TOL)
    R = np.array(R)
    summ = res.rank_table().set_index(["city", "quarter"]).sort_index()
    np.testing.assert_array_equal(summ["rank_p95"].to_numpy(),
                                  np.quantile(R, 0.95, axis=0, method="inverted_cdf"))
    np.testing.assert_allclose(summ["p_top_k"].to_numpy(), (R <= 2).mean(axis=0), atol=TOL)


def test_inversion_count_matches_brute_force():
    from dtistat.sensitivity.kernel import _inversions

    rng = np.random.default_rng(0)
    seq = np.tile(np.arange(120), (40, 1))
    for r in range(40):  # nearly sorted rows with swaps near and far, some ties
        for _ in range(rng.integers(0, 30)):
            i, j = rng.integers(0, 120, 2)
            seq[r, [i, j]] = seq[r, [j, i]]
    seq[3] = rng.permutation(120)
    seq[4, :10] = 5
    brute = [sum(int(x[i] > x[j]) for i in range(120) for j in range(i + 1, 120)) for x in seq]
    got = [_inversions(x.copy(), np.empty_like(x)) for x in seq]
    np.testing.assert_array_equal(got, brute)


def test_rating_noise_and_multiplicative_provenance_rebuild_the_weights():
    df, spec = panel(n_city=6, quarters=("2021Q1",))
    res = weight_sensitivity(df, spec, method="rating_noise", n_draws=100, seed=2,
                             leave_one_out=False)
    noise = res.parameters["noise"]
    assert set(np.unique(noise)) <= {-1, 0, 1}
    sc = spec.expert_scores[res.parameters["scored_nodes"]]
    for d in (0, 17, 99):
        noisy = (sc + noise[d]).clip(1, 5)  # the issue: -1/0/+1, clipped to 1..5
        lw = spec.local_weights(scores=noisy)
        for k, w in draw_weights(res, d).items():
            assert w == pytest.approx(lw[k], abs=1e-15)
    res = weight_sensitivity(df, spec, method="multiplicative", n_draws=100, seed=2,
                             delta=0.3, vary=["x2", "x3", "x4"], leave_one_out=False)
    u = res.parameters["u"]
    assert list(u.columns) == ["x2", "x3", "x4"]
    assert (u.abs() < 0.3).all().all()
    lw0 = spec.local_weights()
    raw = np.array([lw0[k] for k in u.columns]) * (1 + u.to_numpy())
    np.testing.assert_allclose(res.draws[["w:x2", "w:x3", "w:x4"]].to_numpy(),
                               raw / raw.sum(axis=1, keepdims=True), rtol=0, atol=1e-15)
    assert (res.draws["w:x0"] == lw0["x0"]).all()  # not varied


# ---------------------------------------------------------------- hand example
# test_index.py's worked example: 3 cities x 2 quarters, 3 experts.
RAW = {("A", "2021Q1"): (10, 4, 1, 6), ("B", "2021Q1"): (30, 4, 2, 2),
       ("C", "2021Q1"): (60, 2, 7, 2), ("A", "2021Q2"): (20, 5, 1, 8),
       ("B", "2021Q2"): (30, 6, 4, 2), ("C", "2021Q2"): (50, 1, 9, 4)}
SCORES = {"e1": {"L1": 5, "L2": 3, "i1": 4, "i2": 2, "i3": 5, "i4": 5},
          "e2": {"L1": 4, "L2": 4, "i1": 5, "i2": 3, "i3": 3, "i4": 4},
          "e3": {"L1": 5, "L2": 2, "i1": 3, "i2": 3, "i3": 4, "i4": 2}}
TREE = {"name": "total", "children": [
    {"name": "L1", "children": [{"name": "i1"}, {"name": "i2"}]},
    {"name": "L2", "children": [{"name": "i3"}, {"name": "i4"}]}]}


def hand_frame():
    rows = [{"city": c, "quarter": q, "i1": v[0], "i2": v[1], "i3": v[2], "i4": v[3]}
            for (c, q), v in RAW.items()]
    return pd.DataFrame(rows).astype({f"i{k}": float for k in range(1, 5)})


def hand_total(experts):
    """The seed's formula by hand in rational arithmetic, with only ``experts``."""
    def w(names):
        tot = {n: sum(Fraction(SCORES[e][n]) for e in experts) for n in names}
        return {n: tot[n] / sum(tot.values()) for n in names}

    wl, w1, w2 = w(["L1", "L2"]), w(["i1", "i2"]), w(["i3", "i4"])
    base = [sum(Fraction(RAW[(c, "2021Q1")][j]) for c in "ABC") for j in range(4)]
    out = {}
    for (c, q), v in RAW.items():
        t = [Fraction(v[j]) / base[j] for j in range(4)]
        out[(c, q)] = (wl["L1"] * (w1["i1"] * t[0] + w1["i2"] * t[1])
                       + wl["L2"] * (w2["i3"] * t[2] + w2["i4"] * t[3]))
    return out


def test_leave_one_expert_out_hand_example():
    spec = IndexSpec.from_dict({**TREE, "expert_scores": SCORES})
    res = weight_sensitivity(hand_frame(), spec, method="leave_one_expert_out", top_k=1)
    assert res.n_draws == 3
    assert list(res.draws["dropped_expert"]) == ["e1", "e2", "e3"]
    # dropping e1: L1 = (4+5)/(4+5+4+2) = 3/5, i1 = (5+3)/(5+3+3+3) = 4/7, i3 = 7/13
    assert res.draws.at[0, "w:L1"] == pytest.approx(3 / 5, abs=1e-15)
    assert res.draws.at[0, "w:i1"] == pytest.approx(4 / 7, abs=1e-15)
    assert res.draws.at[0, "w:i3"] == pytest.approx(7 / 13, abs=1e-15)
    ds = res.draw_scores()
    ranks = {}
    for d, drop in enumerate(["e1", "e2", "e3"]):
        hand = hand_total([e for e in SCORES if e != drop])
        for (c, q), val in hand.items():
            assert ds.loc[(c, pd.Period(q, "Q")), d] == pytest.approx(float(val), abs=1e-15)
        for q in ("2021Q1", "2021Q2"):
            order = sorted("ABC", key=lambda c: -hand[(c, q)])
            for r, c in enumerate(order, start=1):
                ranks.setdefault((c, q), []).append(r)
    summ = res.rank_table().set_index(["city", "quarter"])
    for (c, q), rs in ranks.items():
        row = summ.loc[(c, pd.Period(q, "Q"))]
        assert row["rank_p05"] == min(rs) and row["rank_p95"] == max(rs)
        assert row["p_top_k"] == pytest.approx(rs.count(1) / 3, abs=1e-15)
        assert row["mean_rank"] == pytest.approx(np.mean(rs), abs=1e-15)


def test_leave_one_out_matches_zero_weights():
    df, spec = panel(n_city=8, quarters=("2021Q1", "2021Q2"))
    res = weight_sensitivity(df, spec, n_draws=100, seed=0)
    loo = res.leave_one_out
    assert set(loo["removed"]) == {"x0", "x1", "x2", "x3", "x4", "L1", "L2"}
    for name, w in (("x1", {"x0": 1.0, "x1": 0.0}), ("L2", {"L1": 1.0, "L2": 0.0})):
        s = compute_index(df, spec.with_weights(w)).scores["total"]
        r = group_ranks(s, ["quarter"]).sort_index()
        got = loo[loo["removed"] == name].set_index(["city", "quarter"]).sort_index()
        np.testing.assert_array_equal(got["rank"].to_numpy(), r.to_numpy())
        np.testing.assert_array_equal(got["rank_change"], got["nominal_rank"] - got["rank"])
    summ = res.leave_one_out_summary()
    assert list(summ.columns) == ["removed", "level", "mean_abs_rank_change",
                                  "max_abs_rank_change"]


@pytest.mark.parametrize("case", ["twin", "zero"])
def test_ties_and_padding_are_ranked_like_compute_index(case):
    df, spec = panel(n_city=8, quarters=("2021Q1", "2021Q2"))
    if case == "twin":  # an exact copy of c03: always tied, ranked 'min'
        extra = df[df["city"] == "c03"].assign(city="c99")
    else:  # a city scoring exactly 0 must still rank before padded (missing) cells
        extra = df[df["city"] == "c04"].assign(city="c98", **{f"x{k}": 0.0 for k in range(5)})
    df = pd.concat([df, extra], ignore_index=True)
    # unbalanced: c02 is missing in 2021Q2
    df = df[~((df["city"] == "c02") & (df["quarter"] == "2021Q2"))]
    res = weight_sensitivity(df, spec, method="multiplicative", n_draws=100, seed=4, top_k=3)
    nom_rank = group_ranks(compute_index(df, spec).scores["total"], ["quarter"]).sort_index()
    R = []
    for d in range(100):
        s = naive_scores(df, spec, res, d).sort_index()
        r = group_ranks(s, ["quarter"])
        R.append(r.to_numpy())
        assert res.draws.at[d, "rank_shift"] == pytest.approx(np.abs(r - nom_rank).mean(),
                                                              abs=TOL)
    R = np.array(R)
    summ = res.rank_table().set_index(["city", "quarter"]).sort_index()
    np.testing.assert_array_equal(summ["nominal_rank"].to_numpy(), nom_rank.to_numpy())
    for col, q in (("median_rank", 0.5), ("rank_p05", 0.05), ("rank_p95", 0.95)):
        np.testing.assert_array_equal(summ[col].to_numpy(),
                                      np.quantile(R, q, axis=0, method="inverted_cdf"))
    np.testing.assert_allclose(summ["mean_rank"].to_numpy(), R.mean(axis=0), atol=TOL)
    np.testing.assert_allclose(summ["p_top_k"].to_numpy(), (R <= 3).mean(axis=0), atol=TOL)
    if case == "zero":
        return
    a, b = summ.xs("c03", level="city"), summ.xs("c99", level="city")
    np.testing.assert_array_equal(a[["rank_p05", "median_rank", "rank_p95"]].to_numpy(),
                                  b[["rank_p05", "median_rank", "rank_p95"]].to_numpy())


def test_schemes_use_the_weighting_functions():
    df, spec = panel(n_city=12, quarters=("2021Q1", "2021Q2"))
    res = weight_sensitivity(df, spec, method="schemes",
                             schemes=["expert", "equal", "entropy", "critic", "pca"])
    assert list(res.draws["scheme"]) == ["expert", "equal", "entropy", "critic", "pca"]
    nominal = compute_index(df, spec)
    lw = spec.local_weights()
    assert res.draws.at[0, "w:x0"] == pytest.approx(lw["x0"], abs=1e-15)
    assert res.draws.at[1, "w:x2"] == pytest.approx(1 / 3, abs=1e-15)
    ent = W.entropy(nominal.normalized[["x2", "x3", "x4"]].reset_index(drop=True))
    assert res.draws.at[2, "w:x3"] == pytest.approx(ent["x3"], abs=1e-15)
    crit = W.critic(nominal.scores[["L1", "L2"]].reset_index(drop=True))
    assert res.draws.at[3, "w:L1"] == pytest.approx(crit["L1"], abs=1e-15)
    ds = res.draw_scores()
    for d in range(5):
        s = naive_scores(df, spec, res, d).sort_index()
        np.testing.assert_allclose(ds[d].to_numpy(), s.to_numpy(), rtol=0, atol=TOL)


# ---------------------------------------------------------------- reproducibility
def test_same_seed_same_numbers_whatever_the_chunk_size():
    df, spec = panel(n_city=30, quarters=("2021Q1", "2021Q2", "2021Q3"))
    kw = {"n_draws": 700, "seed": 123, "kendall": True, "compare": ["c00", "c05"]}
    a = weight_sensitivity(df, spec, chunk_size=256, **kw)
    b = weight_sensitivity(df, spec, chunk_size=1000, **kw)
    c = weight_sensitivity(df, spec, **kw)
    g = weight_sensitivity(df, spec, **{**kw, "seed": np.random.default_rng(123)})
    for other in (b, c, g):
        pd.testing.assert_frame_equal(a.rank_table(), other.rank_table(), check_exact=True)
        pd.testing.assert_frame_equal(a.draws, other.draws, check_exact=True)
        pd.testing.assert_frame_equal(a.dominance, other.dominance, check_exact=True)
    d = weight_sensitivity(df, spec, n_draws=700, seed=124)
    assert not a.draws["rank_shift"].equals(d.draws["rank_shift"])


def test_inputs_are_not_modified_and_result_is_frozen():
    df, spec = panel(n_city=6, quarters=("2021Q1", "2021Q2"))
    before, sc_before = df.copy(), spec.expert_scores.copy()
    res = weight_sensitivity(df, spec, n_draws=100, seed=1, method="schemes")
    pd.testing.assert_frame_equal(df, before)
    pd.testing.assert_frame_equal(spec.expert_scores, sc_before)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.method = "x"
    text = str(res)
    assert "SensitivityResult: method=schemes" in text and "Leave one out" in text
    s = res.rank_table()
    assert list(s.columns) == [
        "city", "quarter", "nominal_score", "nominal_rank", "mean_rank", "median_rank",
        "rank_p05", "rank_p95", "p_top_k", "score_p05", "score_median", "score_p95"]
    s.loc[0, "mean_rank"] = -1.0  # rank_table() hands out a copy
    assert (res.rank_table()["mean_rank"] > 0).all()


def test_periods_node_and_effective_weights():
    df, spec = panel(n_city=12, quarters=("2021Q1", "2021Q2", "2021Q3"))
    res = weight_sensitivity(df, spec, n_draws=100, seed=3, periods=["2021Q3"], node="L2",
                             leave_one_out=False)
    assert res.node == "L2"
    assert set(res.rank_table()["quarter"].astype(str)) == {"2021Q3"}
    # only L2's leaves carry weight in L2
    ds = res.draw_scores([0])
    s = naive_scores(df, spec, res, 0).xs(pd.Period("2021Q3", "Q"), level="quarter")
    np.testing.assert_allclose(ds[0].to_numpy(), s.sort_index().to_numpy(), atol=TOL, rtol=0)
    ew = res.effective_weights
    assert list(ew.index) == ["x2", "x3", "x4"]
    assert ew["nominal_weight"].sum() == pytest.approx(1.0, abs=1e-15)
    assert ew["corr_ratio_share"].sum() == pytest.approx(1.0, abs=1e-15)
    assert ((ew["corr_ratio"] >= 0) & (ew["corr_ratio"] <= 1)).all()
    # the piecewise-linear fit nests the straight line: eta^2 >= Pearson's r^2
    assert (ew["corr_ratio"] >= ew["pearson_r2"] - 1e-12).all()


# ---------------------------------------------------------------- Sobol
def test_sobol_ishigami_within_salib_intervals():
    # Ishigami & Homma (1990), a = 7, b = 0.1, X_i ~ U(-pi, pi); analytic variances as in
    # Saltelli et al. (2008), Global Sensitivity Analysis: The Primer, and SALib's tests:
    # S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437).
    a, b = 7.0, 0.1
    V = a**2 / 8 + b * np.pi**4 / 5 + b**2 * np.pi**8 / 18 + 0.5
    V1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    V2 = a**2 / 8
    V13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    S1 = np.array([V1, V2, 0.0]) / V
    ST = np.array([V1 + V13, V2, V13]) / V
    assert S1 == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4)
    assert ST == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)

    def ishigami(X):
        return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])

    r = sobol_indices(ishigami, ["x1", "x2", "x3"], [[-np.pi, np.pi]] * 3, n_base=2048,
                      seed=7, tolerance=0.1)
    assert isinstance(r, SobolResult) and len(r.Y) == 2048 * 5
    d = r.indices
    assert (np.abs(d["S1"].to_numpy() - S1) <= d["S1_conf"].to_numpy()).all()
    assert (np.abs(d["ST"].to_numpy() - ST) <= d["ST_conf"].to_numpy()).all()
    assert list(r.convergence.columns) == ["S1_half", "S1", "dS1", "ST_half", "ST", "dST"]
    assert r.converged


def test_sobol_linear_model_known_indices():
    # Y = sum a_i X_i, X_i ~ U(0, 1) independent: S_i = S_Ti = a_i^2 / sum a^2
    # (variance decomposition of an additive model; Saltelli et al. 2008, ch. 1).
    coef = np.array([1.0, 2.0, 3.0])
    truth = coef**2 / (coef**2).sum()
    r = sobol_indices(lambda X: X @ coef, ["a", "b", "c"], [[0, 1]] * 3, n_base=1024, seed=3)
    d = r.indices
    assert (np.abs(d["S1"].to_numpy() - truth) <= d["S1_conf"].to_numpy()).all()
    assert (np.abs(d["ST"].to_numpy() - truth) <= d["ST_conf"].to_numpy()).all()
    s = r.interval_table()
    assert list(s["group"]) == ["a", "b", "c"]
    assert (s["S1_low"] <= s["S1"]).all() and (s["ST"] <= s["ST_high"]).all()


def test_sobol_weights_irrelevant_split_has_zero_total_effect():
    df, spec = panel(n_city=15, quarters=("2021Q1", "2021Q2"))
    df = df.assign(x1=df["x0"])  # x0 == x1: how L1's weight splits between them is moot
    r = sobol_weights(df, spec, groups="indicator", n_base=256, seed=1, tolerance=1.0)
    assert list(r.indices.index) == ["L1", "x0", "x1", "L2", "x2", "x3", "x4"]
    assert len(r.Y) == 256 * (7 + 2)
    assert r.indices.loc["x0", "ST"] == 0.0 and r.indices.loc["x1", "ST"] == 0.0
    assert r.indices.loc["L1", "ST"] > 0.0
    r2 = sobol_weights(df, spec, groups="layer", n_base=256, seed=1, tolerance=1.0)
    assert list(r2.indices.index) == ["L1", "L2"]
    assert "SobolResult" in str(r2)


# ---------------------------------------------------------------- bad input
def test_bad_input():
    df, spec = panel(n_city=6, quarters=("2021Q1", "2021Q2"))
    no_scores = IndexSpec.from_dict(TREE | {"children": [
        {"name": "L1", "children": [{"name": "x0"}, {"name": "x1"}]},
        {"name": "L2", "children": [{"name": "x2"}]}]})
    with pytest.raises(SpecError, match="no expert scores"):
        weight_sensitivity(df, no_scores, n_draws=100)
    two = IndexSpec.from_dict({**TREE, "expert_scores": {
        "e1": SCORES["e1"], "e2": SCORES["e2"]}})
    with pytest.warns(DtiStatWarning, match="only 2 expert"):
        weight_sensitivity(hand_frame(), two, n_draws=100, seed=0)
    for delta in (0, 1, 1.5, -0.2, True):
        with pytest.raises(ParameterError, match="delta must be"):
            weight_sensitivity(df, spec, method="multiplicative", delta=delta)
    with pytest.raises(ParameterError, match="delta must be"):
        sobol_weights(df, spec, delta=1.0)
    with pytest.warns(DtiStatWarning, match="n_draws=50 is small"):
        weight_sensitivity(df, spec, n_draws=50, seed=0)
    with pytest.raises(PeriodError, match="period '2024Q1' is not in the data"):
        weight_sensitivity(df, spec, periods="2024Q1")
    with pytest.raises(ParameterError, match=r"compare names city\(s\) \['Atlantis'\]"):
        weight_sensitivity(df, spec, compare=["c00", "Atlantis"])
    with pytest.raises(DataError, match="alternative normalization='minmax', "
                                        "aggregation='geometric': geometric aggregation "
                                        "needs positive"):
        weight_sensitivity(df, spec, normalizations=["base_share", "minmax"],
                           aggregations=["arithmetic", "geometric"])
    with pytest.raises(ParameterError, match="missing='skip' is not supported"):
        weight_sensitivity(df, spec, missing="skip")
    with pytest.raises(ParameterError, match="method="):
        weight_sensitivity(df, spec, method="bootstrap")
    with pytest.raises(ParameterError, match=r"unknown option\(s\) \['delta'\]"):
        weight_sensitivity(df, spec, delta=0.2)
    with pytest.raises(ParameterError, match="is a leaf"):
        weight_sensitivity(df, spec, node="x0")
    with pytest.raises(ParameterError, match="n_base must be a power of two"):
        sobol_weights(df, spec, n_base=1000)
    with pytest.raises(ParameterError, match="groups="):
        sobol_weights(df, spec, groups="tier")


# ---------------------------------------------------------------- plots
def test_plots_return_figures():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from dtistat.plots import rank_interval_plot, sobol_plot

    df, spec = panel(n_city=8, quarters=("2021Q1",))
    res = weight_sensitivity(df, spec, n_draws=100, seed=0, leave_one_out=False)
    assert isinstance(rank_interval_plot(res, top=5), Figure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtiStatWarning)
        sob = sobol_weights(df, spec, n_base=64, seed=0)
    assert isinstance(sobol_plot(sob), Figure)
