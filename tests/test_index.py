"""compute_index: a hand-checkable example, properties, analytics and bad input."""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtistat import (
    ColumnError,
    DataError,
    IndexSpec,
    ParameterError,
    PeriodError,
    SpecError,
    compute_index,
)

# ---------------------------------------------------------------- the worked example
# 3 cities x 2 quarters x 4 indicators x 2 layers; 3 experts score layers and leaves.
RAW = {
    # city, quarter: (i1, i2, i3, i4)
    ("A", "2021Q1"): (10, 4, 1, 6),
    ("B", "2021Q1"): (30, 4, 2, 2),
    ("C", "2021Q1"): (60, 2, 7, 2),
    ("A", "2021Q2"): (20, 5, 1, 8),
    ("B", "2021Q2"): (30, 6, 4, 2),
    ("C", "2021Q2"): (50, 1, 9, 4),
}
SCORES = {  # expert -> node -> 1..5
    "e1": {"L1": 5, "L2": 3, "i1": 4, "i2": 2, "i3": 5, "i4": 5},
    "e2": {"L1": 4, "L2": 4, "i1": 5, "i2": 3, "i3": 3, "i4": 4},
    "e3": {"L1": 5, "L2": 2, "i1": 3, "i2": 3, "i3": 4, "i4": 2},
}
TREE = {
    "name": "total",
    "children": [
        {"name": "L1", "label": "基础设施", "children": [{"name": "i1"}, {"name": "i2"}]},
        {"name": "L2", "label": "应用", "children": [{"name": "i3"}, {"name": "i4"}]},
    ],
}


def example_frame():
    rows = [dict(city=c, quarter=q, i1=v[0], i2=v[1], i3=v[2], i4=v[3])
            for (c, q), v in RAW.items()]
    return pd.DataFrame(rows).astype({f"i{k}": float for k in range(1, 5)})


def hand_index():
    """The report's formulas by hand, in exact rational arithmetic."""
    def w(names):
        tot = {n: sum(Fraction(SCORES[e][n]) for e in SCORES) for n in names}
        s = sum(tot.values())
        return {n: tot[n] / s for n in names}

    wl, w1, w2 = w(["L1", "L2"]), w(["i1", "i2"]), w(["i3", "i4"])
    base = {j: sum(Fraction(RAW[(c, "2021Q1")][j]) for c in "ABC") for j in range(4)}
    out = {}
    for (c, q), v in RAW.items():
        t = [Fraction(v[j]) / base[j] for j in range(4)]
        l1 = w1["i1"] * t[0] + w1["i2"] * t[1]
        l2 = w2["i3"] * t[2] + w2["i4"] * t[3]
        out[(c, q)] = (wl["L1"] * l1 + wl["L2"] * l2, l1, l2)
    return out


def example_spec():
    return IndexSpec.from_dict({**TREE, "expert_scores": SCORES})


def test_worked_example_matches_hand_computation():
    res = compute_index(example_frame(), example_spec())
    expect = hand_index()
    for (c, q), (tot, l1, l2) in expect.items():
        row = res.scores.loc[(c, pd.Period(q, "Q"))]
        assert row["total"] == pytest.approx(float(tot), abs=1e-15)
        assert row["L1"] == pytest.approx(float(l1), abs=1e-15)
        assert row["L2"] == pytest.approx(float(l2), abs=1e-15)
    # e.g. the total of A in 2021Q1 is 0.2236 by hand (weights 14/23, 9/23; ...).
    assert float(expect[("A", "2021Q1")][0]) == pytest.approx(
        res.scores.loc[("A", pd.Period("2021Q1", "Q")), "total"], rel=1e-14)


def test_weights_follow_the_seed_formula():
    spec = example_spec()
    lw = spec.local_weights()
    # L1: (5+4+5)/(14+9) = 14/23 — the report's sum_i a_ij / sum_j sum_i a_ij
    assert lw["L1"] == pytest.approx(14 / 23, abs=1e-15)
    assert lw["i1"] == pytest.approx(12 / 20, abs=1e-15)
    eff = spec.leaf_weights()
    assert eff.sum() == pytest.approx(1.0, abs=1e-15)
    assert eff["i3"] == pytest.approx(9 / 23 * 12 / 23, abs=1e-15)  # i3: 12 of 12+11


def test_input_frame_is_not_modified():
    df = example_frame()
    before = df.copy()
    compute_index(df, example_spec(), normalization="minmax")
    pd.testing.assert_frame_equal(df, before)


def test_quarter_formats_are_equivalent():
    df = example_frame()
    a = compute_index(df, example_spec())
    d2 = df.assign(quarter=pd.PeriodIndex(df["quarter"], freq="Q"))
    d3 = df.assign(quarter=pd.PeriodIndex(df["quarter"], freq="Q").to_timestamp())
    for d in (d2, d3):
        b = compute_index(d, example_spec(), base_period=pd.Period("2021Q1", "Q"))
        pd.testing.assert_frame_equal(a.scores, b.scores)


# ---------------------------------------------------------------- properties
@st.composite
def panels(draw):
    n_c = draw(st.integers(2, 6))
    n_t = draw(st.integers(1, 4))
    vals = draw(st.lists(st.floats(0.01, 1e4), min_size=n_c * n_t * 4,
                         max_size=n_c * n_t * 4))
    q = pd.period_range("2021Q1", periods=n_t, freq="Q")
    rows = [(f"c{c}", str(q[t])) for c in range(n_c) for t in range(n_t)]
    df = pd.DataFrame(rows, columns=["city", "quarter"])
    X = np.array(vals).reshape(-1, 4)
    for j in range(4):
        df[f"i{j + 1}"] = X[:, j]
    return df


@settings(max_examples=40, deadline=None)
@given(panels())
def test_nation_total_at_base_is_one(df):
    res = compute_index(df, example_spec())
    nat = res.rollup("nation").scores.xs(pd.Period("2021Q1", "Q"), level="quarter")
    np.testing.assert_allclose(nat.to_numpy(), 1.0, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(panels(), st.floats(1e-3, 1e3), st.sampled_from(["i1", "i2", "i3", "i4"]))
def test_scaling_an_indicator_leaves_index_unchanged(df, k, col):
    a = compute_index(df, example_spec())
    b = compute_index(df.assign(**{col: df[col] * k}), example_spec())
    np.testing.assert_allclose(a.scores.to_numpy(), b.scores.to_numpy(), rtol=1e-11)


@settings(max_examples=30, deadline=None)
@given(panels(), st.randoms(use_true_random=False))
def test_permuting_cities_permutes_results(df, rnd):
    names = sorted(df["city"].unique())
    perm = names[:]
    rnd.shuffle(perm)
    ren = dict(zip(names, perm))
    a = compute_index(df, example_spec())
    shuffled = df.assign(city=df["city"].map(ren)).sample(frac=1.0, random_state=1)
    b = compute_index(shuffled, example_spec())
    for old, new in ren.items():
        np.testing.assert_allclose(a.scores.xs(old, level="city").to_numpy(),
                                   b.scores.xs(new, level="city").to_numpy(), rtol=1e-13)


@settings(max_examples=30, deadline=None)
@given(panels())
def test_rollup_of_rollups_equals_rollup(df):
    res = compute_index(df, example_spec())
    cities = sorted(df["city"].unique())
    prov = {c: f"p{i % 3}" for i, c in enumerate(cities)}
    region = {"p0": "east", "p1": "west", "p2": "east"}
    direct = res.rollup(pd.Series({c: region[p] for c, p in prov.items()}, name="region"))
    twice = res.rollup(pd.Series(prov, name="province")).rollup(
        pd.Series(region, name="region"))
    pd.testing.assert_frame_equal(direct.scores, twice.scores, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(1, 5), min_size=4, max_size=4), min_size=1,
                max_size=12))
def test_expert_weights_sum_to_one(rows):
    scores = {f"e{i}": dict(zip(["L1", "L2", "i1", "i2"], r)) for i, r in enumerate(rows)}
    spec = IndexSpec.from_dict({**TREE, "expert_scores": scores})
    lw = spec.local_weights()
    assert lw["L1"] + lw["L2"] == pytest.approx(1.0, abs=1e-15)
    assert lw["i3"] == lw["i4"] == 0.5  # no scores: equal weights
    assert spec.leaf_weights().sum() == pytest.approx(1.0, abs=1e-14)


# ---------------------------------------------------------------- other methods
def test_normalizations_by_hand():
    df = example_frame()
    q1 = df[df.quarter == "2021Q1"]
    mm = compute_index(df, TREE, normalization="minmax").normalized
    # i1 in 2021Q1: (10, 30, 60) -> (0, 0.4, 1)
    np.testing.assert_allclose(mm.xs(pd.Period("2021Q1", "Q"), level=1)["i1"], [0, 0.4, 1])
    z = compute_index(df, TREE, normalization="zscore").normalized
    np.testing.assert_allclose(z.xs(pd.Period("2021Q1", "Q"), level=1)["i1"],
                               (q1.i1 - q1.i1.mean()) / q1.i1.std(ddof=1))
    d = compute_index(df, TREE, normalization="distance_to_frontier").normalized
    np.testing.assert_allclose(d.xs(pd.Period("2021Q1", "Q"), level=1)["i1"],
                               [10 / 60, 30 / 60, 1])
    g = compute_index(df, TREE, normalization="minmax", scope="global").normalized
    raw = df.set_index(["city", "quarter"])["i1"]
    expect = [(raw[(c, str(q))] - 10) / 50 for c, q in g.index]  # pooled min 10, max 60
    np.testing.assert_allclose(g["i1"], expect)
    r = compute_index(df, TREE, normalization="rank").normalized
    np.testing.assert_allclose(r.xs(pd.Period("2021Q1", "Q"), level=1)["i2"], [2.5, 2.5, 1])


def test_negative_direction():
    tree = {"name": "total", "children": [
        {"name": "L1", "children": [{"name": "i1"}, {"name": "i2", "direction": -1}]}]}
    df = example_frame()
    mm = compute_index(df, tree, normalization="minmax").normalized
    # i2 in 2021Q1: (4, 4, 2), less is better -> (max - x)/(max - min) = (0, 0, 1)
    np.testing.assert_allclose(mm.xs(pd.Period("2021Q1", "Q"), level=1)["i2"], [0, 0, 1])
    d = compute_index(df, tree, normalization="distance_to_frontier").normalized
    np.testing.assert_allclose(d.xs(pd.Period("2021Q1", "Q"), level=1)["i2"], [0.5, 0.5, 1])
    with pytest.raises(SpecError, match="direction -1"):
        compute_index(df, tree)


def test_geometric_aggregation_by_hand():
    df = example_frame()
    res = compute_index(df, TREE, aggregation="geometric")
    t = res.normalized
    l1 = np.sqrt(t["i1"] * t["i2"])
    l2 = np.sqrt(t["i3"] * t["i4"])
    np.testing.assert_allclose(res.scores["total"], np.sqrt(l1 * l2), rtol=1e-14)


def test_missing_skip_renormalizes_over_present_children():
    df = example_frame()
    df.loc[0, "i2"] = np.nan
    res = compute_index(df, TREE, missing="skip")
    t = res.normalized.iloc[0]
    assert res.scores.iloc[0]["L1"] == pytest.approx(t["i1"], abs=1e-15)
    with pytest.raises(DataError, match=r"'i2' is NaN at city='A', quarter=Period\('2021Q1'"):
        compute_index(df, TREE)


def test_by_groups_normalize_within_each_industry():
    a = example_frame().assign(industry="fin")
    b = example_frame().assign(industry="mfg")
    b[["i1", "i2", "i3", "i4"]] *= 7.0
    res = compute_index(pd.concat([a, b]), TREE, by="industry")
    fin = res.scores.xs("fin", level="industry")
    mfg = res.scores.xs("mfg", level="industry")
    np.testing.assert_allclose(fin.to_numpy(), mfg.to_numpy(), rtol=1e-14)
    nat = res.rollup("nation").scores.xs(pd.Period("2021Q1", "Q"), level="quarter")
    np.testing.assert_allclose(nat["total"], 1.0, rtol=1e-14)


# ---------------------------------------------------------------- analytics
def quarterly_panel():
    rng = np.random.default_rng(7)
    q = pd.period_range("2021Q1", "2023Q1", freq="Q")
    rows = [(c, str(t)) for c in "ABCDE" for t in q]
    df = pd.DataFrame(rows, columns=["city", "quarter"])
    for j in range(1, 5):
        df[f"i{j}"] = rng.uniform(1, 10, len(df))
    return df


def test_growth_qoq_yoy_and_yoy_mean():
    res = compute_index(quarterly_panel(), TREE)
    s = res.scores["total"].xs("B", level="city")
    g = res.growth("qoq")
    b = g[g.city == "B"].set_index("quarter")["qoq"]
    assert b.loc[pd.Period("2021Q3", "Q")] == pytest.approx(
        s.loc[pd.Period("2021Q3", "Q")] / s.loc[pd.Period("2021Q2", "Q")] - 1, rel=1e-14)
    y = res.growth("yoy")
    yb = y[y.city == "B"].set_index("quarter")["yoy"]
    assert np.isnan(yb.loc[pd.Period("2021Q4", "Q")])
    # the report's "YoY growth" = mean of quarterly YoY rates 2022Q1–2023Q1
    expect = np.mean([s.loc[pd.Period(q, "Q")] / s.loc[pd.Period(q, "Q") - 4] - 1
                      for q in ["2022Q1", "2022Q2", "2022Q3", "2022Q4", "2023Q1"]])
    m = res.growth("yoy_mean")
    assert m.set_index("city").loc["B", "yoy_mean"] == pytest.approx(expect, rel=1e-14)
    assert (m["n_quarters"] == 5).all()


def test_growth_respects_gaps():
    df = quarterly_panel()
    df = df[~((df.city == "A") & (df.quarter == "2021Q2"))]
    g = compute_index(df, TREE).growth("qoq")
    a = g[g.city == "A"].set_index("quarter")["qoq"]
    assert np.isnan(a.loc[pd.Period("2021Q3", "Q")])  # its previous quarter is absent


def test_rank_rank_change_and_share():
    res = compute_index(quarterly_panel(), TREE)
    meta = pd.DataFrame({"city": list("ABCDE"), "cluster": ["x", "x", "x", "y", "y"]})
    r22 = res.rank(2022)
    annual = res.scores["total"][res.scores.index.get_level_values(1).year == 2022]
    means = annual.groupby(level="city").mean().sort_values(ascending=False)
    assert list(r22["city"]) == list(means.index)
    assert list(r22["rank"]) == [1, 2, 3, 4, 5]
    rc = res.rank_change(2022, "2023Q1", within="cluster", metadata=meta)
    q = res.rank("2023Q1", within="cluster", metadata=meta).set_index("city")["rank"]
    a = res.rank(2022, within="cluster", metadata=meta).set_index("city")["rank"]
    for _, row in rc.iterrows():
        assert row["change"] == a[row["city"]] - q[row["city"]]  # +1 = moved up one place
    sh = res.share("cluster", metadata=meta, period="2023Q1").set_index("city")
    assert sh.loc[["A", "B", "C"], "share"].sum() == pytest.approx(1.0, abs=1e-14)


def test_share_within_by_and_cumulative_top():
    a = quarterly_panel().assign(industry="fin")
    b = quarterly_panel().assign(industry="mfg")
    b[["i1", "i2"]] = b[["i1", "i2"]] * 3  # normalized within industry: irrelevant
    b["i3"] = b["i3"] + np.arange(len(b))
    res = compute_index(pd.concat([a, b]), TREE, by="industry")
    sh = res.share("by")
    tot = sh.groupby(["city", "quarter"])["share"].sum()
    np.testing.assert_allclose(tot, 1.0, rtol=1e-14)
    top = res.cumulative_top("nation", n=2)
    cum = res.scores["total"].groupby(level="industry").sum().sort_values(ascending=False)
    assert list(top.iloc[0, 1:]) == list(cum.index)


def test_annual_means():
    res = compute_index(quarterly_panel(), TREE)
    an = res.annual(2022).set_index("city")
    s = res.scores["total"].xs("C", level="city")
    assert an.loc["C", "total"] == pytest.approx(s[s.index.year == 2022].mean(), rel=1e-14)
    assert an.loc["C", "n_quarters"] == 4


# ---------------------------------------------------------------- bad input
def test_bad_input_errors():
    df = example_frame()
    spec = example_spec()
    with pytest.raises(ColumnError, match="'i4' not found"):
        compute_index(df.drop(columns="i4"), spec)
    with pytest.raises(ColumnError, match="'i1' must be numeric"):
        compute_index(df.assign(i1=["x"] * 6), spec)
    with pytest.raises(DataError, match="negative value"):
        compute_index(df.assign(i1=-df.i1), spec)
    with pytest.raises(DataError, match="duplicate rows .*city='A', quarter=Period"):
        compute_index(pd.concat([df, df.iloc[[0]]]), spec)
    with pytest.raises(DataError, match="'i3' has a national total of zero"):
        compute_index(df.assign(i3=np.where(df.quarter == "2021Q1", 0.0, 1.0)), spec)
    with pytest.raises(PeriodError, match="base_period '2020Q4' is not in the data"):
        compute_index(df, spec, base_period="2020Q4")
    with pytest.raises(PeriodError, match="not a quarter"):
        compute_index(df.assign(quarter="spring"), spec)
    with pytest.raises(DataError, match="geometric aggregation needs positive"):
        compute_index(df.assign(i2=np.where(df.quarter == "2021Q2", 0.0, df.i2)), spec,
                      aggregation="geometric")
    res = compute_index(df, spec)
    with pytest.raises(PeriodError, match="2024Q1"):
        res.rank("2024Q1")
    with pytest.raises(PeriodError, match="year 2030"):
        res.rank(2030)
    with pytest.raises(ParameterError, match="normalization"):
        compute_index(df, spec, normalization="softmax")
    with pytest.raises(DataError, match="no group"):
        res.rollup({"A": "x"})


def test_bad_specs():
    with pytest.raises(SpecError, match="empty 'children'"):
        IndexSpec.from_dict({"name": "total", "children": [{"name": "L1", "children": []}]})
    with pytest.raises(SpecError, match="integers from 1"):
        IndexSpec.from_dict({**TREE, "expert_scores": {"e1": {"L1": 6, "L2": 3}}})
    with pytest.raises(SpecError, match="integers from 1"):
        IndexSpec.from_dict({**TREE, "expert_scores": {"e1": {"L1": 2.5, "L2": 3}}})
    with pytest.raises(SpecError, match="cover some children but not"):
        IndexSpec.from_dict({**TREE, "expert_scores": {"e1": {"L1": 2}}})
    with pytest.raises(SpecError, match="must be >= 0"):
        IndexSpec.from_dict({"name": "t", "children": [
            {"name": "a", "weight": -1}, {"name": "b", "weight": 2}]})
    with pytest.raises(SpecError, match="sum to 0"):
        IndexSpec.from_dict({"name": "t", "children": [
            {"name": "a", "weight": 0}, {"name": "b", "weight": 0}]})
    with pytest.raises(SpecError, match="more than once"):
        IndexSpec.from_dict({"name": "t", "children": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(SpecError, match="no children"):
        IndexSpec.from_dict({"name": "t"})
    with pytest.raises(SpecError, match="not in the tree"):
        IndexSpec.from_dict({**TREE, "expert_scores": {"e1": {"Lx": 2}}})


def test_yaml_round_trip(tmp_path):
    spec = example_spec()
    text = spec.to_yaml(tmp_path / "spec.yaml")
    assert "基础设施" in text  # Chinese labels survive as UTF-8
    back = IndexSpec.from_yaml(tmp_path / "spec.yaml")
    assert back == spec
    pd.testing.assert_frame_equal(back.expert_scores, spec.expert_scores)
    assert back.local_weights() == spec.local_weights()
    assert IndexSpec.from_yaml(text) == spec
    with pytest.raises(SpecError, match="does not exist"):
        IndexSpec.from_yaml(tmp_path / "missing.yaml")


def test_pool_by_industries_add_up_to_the_city_index():
    a = example_frame().assign(industry="fin")
    b = example_frame().assign(industry="mfg")
    b[["i1", "i2", "i3", "i4"]] = b[["i1", "i2", "i3", "i4"]] * [2.0, 0.5, 3.0, 1.0]
    both = pd.concat([a, b])
    pooled = compute_index(both, TREE, by="industry", pool_by=True).collapse_by()
    summed = both.groupby(["city", "quarter"], as_index=False)[["i1", "i2", "i3", "i4"]].sum()
    direct = compute_index(summed, TREE)
    pd.testing.assert_frame_equal(pooled.scores, direct.scores, rtol=1e-13)
    with pytest.raises(ParameterError, match="collapse_by needs"):
        direct.collapse_by()


def test_base_share_skip_ignores_a_missing_base_value():
    """missing="skip": one NaN in the base period no longer wipes out the indicator; the
    base total sums the entities present (2 + 3 = 5), with a warning that says so."""
    from dtistat.errors import DtiStatWarning

    spec = IndexSpec.from_dict({"name": "t", "children": [{"name": "x1"}, {"name": "x2"}]})
    df = pd.DataFrame({"city": list("ABCABC"), "quarter": ["2021Q1"] * 3 + ["2021Q2"] * 3,
                       "x1": [np.nan, 2, 3, 4, 5, 6], "x2": [3.0, 2, 1, 1, 2, 3]})
    with pytest.warns(DtiStatWarning, match="1 missing base-period value"):
        res = compute_index(df, spec, missing="skip")
    x1 = res.normalized["x1"]
    assert np.isnan(x1.iloc[0]) and x1.notna().sum() == 5
    np.testing.assert_allclose(np.sort(x1.dropna().to_numpy()), np.array([2, 3, 4, 5, 6]) / 5.0)


def test_negative_or_non_numeric_weights_are_refused_everywhere():
    from dtistat import Node
    from dtistat.errors import SpecError

    spec = IndexSpec.from_dict({"name": "t", "children": [{"name": "x1"}, {"name": "x2"}]})
    for bad in ({"x1": -1, "x2": 2}, {"x1": float("nan"), "x2": 1}, {"x1": True, "x2": 1}):
        with pytest.raises(SpecError, match="x1"):
            spec.with_weights(bad)
    with pytest.raises(SpecError, match="weight must be a finite number >= 0"):
        Node("a", weight=-1)
