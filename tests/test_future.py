"""future_industry_index: a hand example, engines (pandas, dask, a real LocalCluster), bad input."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from dtistat import (
    ColumnError,
    DataError,
    DtiStatError,
    IndexSpec,
    ParameterError,
    PeriodError,
)
from dtistat.errors import DtiStatWarning
from dtistat.future import (
    DOMAIN_LABELS_ZH,
    FUTURE_DOMAINS,
    FutureIndexResult,
    future_industry_index,
    future_spec,
)
from dtistat.index.compute import IndexResult, compute_index

# ---------------------------------------------------------------- the hand example
# 13 firms, two cities, two domains; the index covers 2021Q1-2021Q3 (three quarters),
# the records start in 2020Q1 so that every quarter has its year-earlier base.
# (city, domain, founded, funding amount, rounds, registered capital)
FIRMS = [
    ("A", "信息", "2020-01-10", 100.0, 1, 50.0),
    ("A", "信息", "2020-08-01", 0.0, 0, 20.0),
    ("A", "信息", "2021-02-01", 300.0, 2, 10.0),
    ("A", "信息", "2021-03-15", 0.0, 0, 30.0),
    ("A", "信息", "2021-07-01", 50.0, 1, 5.0),
    ("A", "生物", "2020-05-05", 200.0, 1, 80.0),
    ("A", "生物", "2021-05-06", 0.0, 0, 40.0),
    ("B", "信息", "2020-02-02", 0.0, 0, 15.0),
    ("B", "信息", "2021-04-04", 80.0, 3, 25.0),
    ("B", "生物", "2020-02-20", 40.0, 1, 60.0),
    ("B", "生物", "2020-09-09", 0.0, 0, 35.0),
    ("B", "生物", "2021-01-01", 0.0, 0, 45.0),
    ("B", "生物", "2021-08-08", 120.0, 2, 70.0),
]
CITIES = ("A", "B")
DOMAINS = ("information", "biology")
ZH = {"information": "信息", "biology": "生物"}
QUARTERS = ("2021Q1", "2021Q2", "2021Q3")
WINDOW = 2
KW = {"domains": DOMAINS, "domain_map": DOMAIN_LABELS_ZH, "funding": "funding",
          "rounds": "rounds", "capital": "capital", "window": WINDOW, "as_of": "2023-06-30"}


def hand_frame() -> pd.DataFrame:
    return pd.DataFrame(FIRMS, columns=["city", "domain", "founded", "funding", "rounds",
                                        "capital"])


def _qnum(q: str) -> int:
    """'2021Q3' -> 2021*4 + 2, so that a year earlier is -4."""
    return int(q[:4]) * 4 + int(q[-1]) - 1


def _qof(date: str) -> int:
    y, m = int(date[:4]), int(date[5:7])
    return y * 4 + (m - 1) // 3


def hand_dimensions(growth_rule: str = "symmetric", measure: str = "entropy") -> dict:
    """The four dimensions by plain Python loops over the firm list (no numpy, no pandas)."""
    def flow(c, d, q, what):
        tot = 0.0
        for city, dom, date, fund, rounds, cap in FIRMS:
            if city == c and (d == "all" or dom == ZH[d]) and _qof(date) == q:
                tot += {"n": 1.0, "events": rounds, "amount": fund, "capital": cap}[what]
        return tot

    def active(c, d, q):
        return sum(flow(c, d, s, "n") for s in range(q - WINDOW + 1, q + 1))

    def grow(cur, prev):
        if growth_rule == "symmetric":
            return 0.0 if cur + prev == 0 else (cur - prev) / ((cur + prev) / 2)
        if prev > 0:
            return cur / prev - 1
        return 0.0 if cur == 0 else math.nan

    out = {}
    for c in CITIES:
        for d in (*DOMAINS, "all"):
            for qs in QUARTERS:
                q = _qnum(qs)
                a = active(c, d, q)
                nat = sum(active(x, d, q) for x in CITIES)
                ent = active(c, "all", q)
                grand = sum(active(x, "all", q) for x in CITIES)
                new = [flow(c, k, q, "n") for k in DOMAINS]
                if sum(new) == 0:
                    div = 0.0
                elif measure == "entropy":
                    ps = [x / sum(new) for x in new]
                    div = -sum(p * math.log(p) for p in ps if p > 0) / math.log(len(DOMAINS))
                else:
                    div = 1 - sum((x / sum(new)) ** 2 for x in new)
                out[(c, d, qs)] = {
                    "active": a,
                    "share": a / nat if a > 0 else 0.0,
                    "lq": (a / ent) / (nat / grand) if a > 0 else 0.0,
                    "new_firms": flow(c, d, q, "n"),
                    "funding_events": flow(c, d, q, "events"),
                    "funding_amount": flow(c, d, q, "amount"),
                    "new_capital": flow(c, d, q, "capital"),
                    "new_firms_growth": grow(flow(c, d, q, "n"), flow(c, d, q - 4, "n")),
                    "funding_growth": grow(flow(c, d, q, "amount"),
                                           flow(c, d, q - 4, "amount")),
                    "diversity": div,
                }
    return out


def _compare_dimensions(res: FutureIndexResult, expect: dict) -> None:
    dims = res.dimensions
    assert dims.shape[0] == len(expect)
    for (c, d, q), vals in expect.items():
        row = dims.loc[(c, d, pd.Period(q, "Q"))]
        for k, x in vals.items():
            if math.isnan(x):
                assert math.isnan(row[k]), (c, d, q, k)
            else:
                assert row[k] == pytest.approx(x, abs=1e-12), (c, d, q, k, row[k], x)


@pytest.mark.parametrize("growth_rule", ["symmetric", "yoy"])
@pytest.mark.parametrize("measure", ["entropy", "hhi"])
def test_hand_example_dimensions(growth_rule, measure):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtiStatWarning)  # yoy: one zero base is reported
        res = future_industry_index(hand_frame(), growth=growth_rule, diversity=measure,
                                    normalization="rank", **KW)
    assert list(res.periods.astype(str)) == list(QUARTERS)
    _compare_dimensions(res, hand_dimensions(growth_rule, measure))
    # spot checks readable by eye: A/information at 2021Q1 has 2 active firms of A's 2,
    # the nation has 2 of 3 -> share 1, lq (2/2)/(2/3) = 1.5; A/biology has none -> 0
    row = res.dimensions.loc[("A", "information", pd.Period("2021Q1", "Q"))]
    assert (row["active"], row["share"], row["lq"]) == (2.0, 1.0, 1.5)
    assert res.dimensions.loc[("A", "biology", pd.Period("2021Q1", "Q")), "lq"] == 0.0
    if growth_rule == "yoy":
        # B in 2021Q2: one new (information) firm against none in 2020Q2 -> reported
        zb = res.empty[res.empty["what"].str.startswith("new_firms_growth")]
        assert set(zip(zb["city"], zb["domain"], zb["quarter"].astype(str))) == {
            ("B", "information", "2021Q2"), ("B", "all", "2021Q2")}


def _rank2(a: float, b: float) -> tuple[float, float]:
    return (1.5, 1.5) if a == b else ((1.0, 2.0) if a < b else (2.0, 1.0))


def test_hand_example_index_goes_through_the_spec():
    """Scores by hand: rank-normalize each leaf (two cities), equal weights up the tree."""
    res = future_industry_index(hand_frame(), normalization="rank", **KW)
    assert isinstance(res.index, IndexResult) and isinstance(res.domains, IndexResult)
    dims = hand_dimensions()
    tree = {"agglomeration": ["share", "lq"],
            "activity": ["new_firms", "funding_events", "new_capital"],
            "growth": ["new_firms_growth", "funding_growth"], "diversity": ["diversity"]}
    for d in (*DOMAINS, "all"):
        nodes = {k: [x for x in leaves if not (d == "all" and x == "lq")]
                 for k, leaves in tree.items() if not (d != "all" and k == "diversity")}
        for q in QUARTERS:
            norm = {c: {} for c in CITIES}
            for leaf in {x for xs in nodes.values() for x in xs}:
                ra, rb = _rank2(dims[("A", d, q)][leaf], dims[("B", d, q)][leaf])
                norm["A"][leaf], norm["B"][leaf] = ra, rb
            for c in CITIES:
                dim_scores = {k: sum(norm[c][x] for x in xs) / len(xs)
                              for k, xs in nodes.items()}
                total = sum(dim_scores.values()) / len(dim_scores)
                if d == "all":
                    got = res.index.scores.loc[(c, pd.Period(q, "Q"))]
                else:
                    got = res.domains.scores.loc[(c, d, pd.Period(q, "Q"))]
                assert got["future"] == pytest.approx(total, abs=1e-12)
                for k, s in dim_scores.items():
                    assert got[k] == pytest.approx(s, abs=1e-12)
    # ... and it is exactly compute_index on the dimension table (same code path)
    tab = res.dimensions.reset_index()
    dom = tab[tab["domain"] != "all"].assign(domain=lambda f: f["domain"].astype(str))
    tree_dict = future_spec(capital=True).to_dict()
    sub = IndexSpec.from_dict({**tree_dict, "children": [
        c for c in tree_dict["children"] if c["name"] != "diversity"]})
    again = compute_index(dom, sub, by="domain", normalization="rank")
    pd.testing.assert_frame_equal(again.scores, res.domains.scores, check_exact=False,
                                  rtol=0, atol=1e-14)
    # rollups, growth and ranks come with the IndexResult
    nation = res.index.rollup("nation")
    assert nation.scores.shape[0] == 3
    assert set(res.index.rank("2021Q3")["rank"]) <= {1, 2}
    assert "qoq" in res.index.growth("qoq").columns


def test_input_is_never_modified_and_formats_are_equivalent():
    df = hand_frame()
    before = df.copy()
    a = future_industry_index(df, normalization="rank", **KW)
    pd.testing.assert_frame_equal(df, before)
    # datetime64 dates, categorical entity, English domain keys: same dimensions
    alt = df.assign(founded=pd.to_datetime(df["founded"]),
                    city=df["city"].astype("category"),
                    domain=df["domain"].map({v: k for k, v in ZH.items()}))
    b = future_industry_index(alt, normalization="rank",
                              **{**KW, "domain_map": None})
    pd.testing.assert_frame_equal(a.dimensions, b.dimensions)
    pd.testing.assert_frame_equal(a.index.scores, b.index.scores)
    # quarterly Periods as founding dates: same quarters, same cube
    c = future_industry_index(df.assign(founded=pd.PeriodIndex(df["founded"], freq="D")),
                              normalization="rank", **KW)
    pd.testing.assert_frame_equal(a.dimensions, c.dimensions)
    # row order does not matter
    d = future_industry_index(df.sample(frac=1.0, random_state=3), normalization="rank", **KW)
    pd.testing.assert_frame_equal(a.dimensions, d.dimensions)


def test_results_explain_themselves():
    res = future_industry_index(hand_frame(), normalization="rank", **KW)
    s = res.national_table()
    assert {"domain", "quarter", "n_entities", "active", "new_firms", "mean_score", "top",
            "new_firms_growth"} <= set(s.columns)
    info = s[(s["domain"] == "information") & (s["quarter"] == pd.Period("2021Q1", "Q"))]
    assert info["new_firms"].item() == 2.0  # A's two, B none
    # national symmetric growth of all new firms in 2021Q1: 3 against 3 a year earlier
    tot = s[(s["domain"] == "all") & (s["quarter"] == pd.Period("2021Q1", "Q"))]
    assert tot["new_firms_growth"].item() == 0.0
    assert "FutureIndexResult" in str(res)
    prof = res.profiles(["B"], period="2021Q2")
    assert list(prof["domain"]) == ["information", "biology", "all"]
    assert prof["rank"].between(1, 2).all()
    with pytest.raises(ParameterError, match="neither an entity"):
        res.profiles(["北京"])
    frame = res.to_frame()
    assert frame["score"].notna().all() and len(frame) == 2 * 3 * 3


# ---------------------------------------------------------------- a generator of our own
def make_firms(n: int, seed: int, n_cities: int = 24) -> pd.DataFrame:
    """Simulated firm records (vectorized): city size, a 'fusion' factor shared by
    information, manufacturing, space and biology, founding dates 2019-01..2023-03."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n_cities)
    fusion = 0.5 * size + rng.normal(size=n_cities)
    load = np.array([0.6, 0.4, 0.0, 0.45, 0.0, 0.5])
    base = np.log([0.4, 0.14, 0.12, 0.2, 0.09, 0.05])
    logit = base[None, :] + fusion[:, None] * load[None, :] + 0.2 * rng.normal(size=(n_cities, 6))
    p = np.exp(1.2 * size)[:, None] * np.exp(logit) / np.exp(logit).sum(1, keepdims=True)
    cell = rng.choice(p.size, size=n, p=(p / p.sum()).ravel())
    days = rng.integers(0, (np.datetime64("2023-03-31") - np.datetime64("2019-01-01")).astype(int)
                        + 1, size=n)
    funded = rng.random(n) < 0.2
    return pd.DataFrame({
        "city": pd.Categorical.from_codes(cell // 6, [f"c{i:02d}" for i in range(n_cities)]),
        "domain": pd.Categorical.from_codes(cell % 6, list(FUTURE_DOMAINS)),
        "founded": np.datetime64("2019-01-01") + days.astype("timedelta64[D]"),
        "capital": np.round(np.exp(rng.normal(4.6, 1.0, n)), 1),
        "funding": np.where(funded, np.round(np.exp(rng.normal(6.7, 1.0, n)), 1), 0.0),
        "rounds": np.where(funded, 1 + rng.poisson(0.5, n), 0).astype(np.int8),
    })


GEN_KW = {"funding": "funding", "rounds": "rounds", "capital": "capital", "window": 8,
              "as_of": "2023-06-30"}


def test_generated_firms_properties():
    f = make_firms(20_000, seed=5)
    res = future_industry_index(f, **GEN_KW)
    dims = res.dimensions
    assert not dims.isna().any().any()
    # shares of the nation's active start-ups add up to one in each domain and quarter
    tot = dims["share"].groupby(level=["domain", "quarter"], observed=True).sum()
    np.testing.assert_allclose(tot.to_numpy(), 1.0, rtol=1e-12)
    # the all-domain LQ is 1 by definition
    assert (dims.xs("all", level="domain")["lq"] == 1.0).all()
    assert dims["diversity"].between(0, 1).all()
    assert dims["new_firms_growth"].between(-2, 2).all()
    # new firms of the domains add up to the all-domain row
    n = dims["new_firms"].unstack("domain")
    np.testing.assert_allclose(n[list(FUTURE_DOMAINS)].sum(axis=1), n["all"], rtol=0)
    # default periods: the first quarter whose 8-quarter window lies inside the records
    assert str(res.periods[0]) == "2020Q4" and str(res.periods[-1]) == "2023Q1"
    assert n["all"].sum() == (f["founded"] >= "2020-10-01").sum()


def test_domain_comovement_recovers_the_shared_factor():
    """The report's PART 3 finding, built into make_firms: information co-moves with
    manufacturing, space and biology more than with energy and materials."""
    f = make_firms(60_000, seed=11, n_cities=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtiStatWarning)
        res = future_industry_index(f, **GEN_KW)
    r = res.comovement(node="lq")
    fused = r.loc["information", ["manufacturing", "space", "biology"]]
    other = r.loc["information", ["energy", "materials"]]
    assert fused.min() > other.max()
    assert np.allclose(np.diag(r), 1.0) and np.allclose(r, r.T)
    assert r.attrs["period"] == "all periods"
    assert res.comovement(period=2022).shape == (6, 6)


def test_typical_city_profiles_from_the_demo_world():
    from dtistat.datasets import load_cities
    from dtistat.datasets.demo_world import simulate_firms

    cities = load_cities()
    f = simulate_firms(cities, n_firms=60_000, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DtiStatWarning)
        res = future_industry_index(f, entity="city_id", funding="funding_amount",
                                    rounds="funding_rounds", as_of="2023-04-01",
                                    metadata=cities)
    prof = res.profiles()  # 北京, 上海, 深圳 looked up in the metadata
    assert list(prof["name"].unique()) == ["北京", "上海", "深圳"]
    assert set(prof["city_id"]) == {"110000", "310000", "440300"}
    allrows = prof[prof["domain"] == "all"]
    assert (allrows["rank"] <= 5).all()  # the leaders of the simulated world
    r = res.comovement()
    assert r.loc["information", ["manufacturing", "space", "biology"]].min() > \
        r.loc["information", ["energy", "materials"]].max()
    prov = res.index.rollup("province", metadata=cities)
    assert prov.scores.index.get_level_values("province").nunique() > 25


# ---------------------------------------------------------------- bad input
def test_unknown_domains_are_listed_and_mappable():
    df = hand_frame()
    df.loc[2, "domain"] = "生物医药"
    df.loc[5, "domain"] = "quantum"
    df.loc[6, "domain"] = "quantum"
    with pytest.raises(DataError) as e:
        future_industry_index(df, normalization="rank", **KW)
    msg = str(e.value)
    assert "'quantum': 2 firm(s), e.g. row 5" in msg and "'生物医药': 1 firm(s)" in msg
    assert "domain_map" in msg and "information" in msg
    with pytest.warns(DtiStatWarning, match="no new firm in the domain anywhere"):
        fixed = future_industry_index(  # row 6 was A's only 2021Q2 biology firm
            df, normalization="rank",
            **{**KW, "domain_map": {**DOMAIN_LABELS_ZH, "生物医药": "biology",
                                    "quantum": "information"}})
    new = fixed.dimensions["new_firms"]
    assert new.loc[("A", "information", pd.Period("2021Q2", "Q"))] == 1.0
    assert new.xs("all", level="domain").sum() == 7.0  # the 2021 firms
    df.loc[7, "domain"] = None
    with pytest.raises(DataError, match="missing"):
        future_industry_index(df, normalization="rank", **KW)


@pytest.mark.parametrize("value,match", [
    ("2021-02-30", "unparsable founding date '2021-02-30' at row 4"),
    ("soon", "unparsable founding date 'soon' at row 4"),
    (None, "missing at row 4"),
    ("2031-01-01", "after as_of=2023-06-30"),
])
def test_bad_founding_dates(value, match):
    df = hand_frame()
    df.loc[4, "founded"] = value
    with pytest.raises(DataError, match=match):
        future_industry_index(df, normalization="rank", **KW)


@pytest.mark.parametrize("col", ["funding", "capital", "rounds"])
def test_negative_amounts(col):
    df = hand_frame()
    df.loc[3, col] = -5
    with pytest.raises(DataError, match=rf"column '{col}' .*negative \(-5.0\) at row 3"):
        future_industry_index(df, normalization="rank", **KW)


def test_missing_amounts_count_as_zero_with_a_warning():
    df = hand_frame()
    df["funding"] = df["funding"].astype(float)
    df.loc[0, "funding"] = np.nan
    with pytest.warns(DtiStatWarning, match="'funding' is missing for 1 firm"):
        future_industry_index(df, normalization="rank", **KW)
    df = df.astype({"funding": object})
    df.loc[1, "funding"] = "lots"
    with pytest.raises(ColumnError, match="row 1 holds 'lots'"):
        future_industry_index(df, normalization="rank", **KW)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_firms_without_entity(value):
    df = hand_frame()
    df.loc[8, "city"] = value
    with pytest.raises(DataError, match="column 'city' .*missing at row 8"):
        future_industry_index(df, normalization="rank", **KW)


def test_empty_periods_are_reported_not_nan():
    df = hand_frame()
    # no biology start-up anywhere in 2021Q2, and B founds nothing in 2021Q2
    df = df[~df["founded"].isin(["2021-05-06", "2021-04-04"])]
    with pytest.warns(DtiStatWarning, match="no new firm in the domain anywhere"):
        res = future_industry_index(df, normalization="rank", **KW)
    assert not res.dimensions.isna().any().any()
    assert not res.index.scores.isna().any().any()
    e = res.empty
    assert ((e["what"] == "no new firm in the domain anywhere") & (e["domain"] == "biology")
            & (e["quarter"] == pd.Period("2021Q2", "Q"))).any()
    assert ((e["what"].str.startswith("no new firm in any domain")) & (e["city"] == "B")
            & (e["quarter"] == pd.Period("2021Q2", "Q"))).any()
    assert res.dimensions.loc[("B", "all", pd.Period("2021Q2", "Q")), "diversity"] == 0.0
    # min-max cannot scale a column that is 0 everywhere: the error says why
    with pytest.warns(DtiStatWarning), pytest.raises(DataError, match="cell\\(s\\) empty"):
        future_industry_index(df, normalization="minmax", **KW)
    # quarters outside the records are refused, naming the coverage
    with pytest.raises(PeriodError, match="records start in 2020Q1"):
        future_industry_index(hand_frame(), periods=("2020Q2", "2021Q3"),
                              normalization="rank", **KW)
    with pytest.raises(PeriodError, match="after the last founding quarter"):
        future_industry_index(hand_frame(), periods=("2021Q1", "2022Q1"),
                              normalization="rank", **KW)


def test_bad_parameters_and_paths(tmp_path):
    df = hand_frame()
    for kw, match in [({"engine": "spark"}, "engine"), ({"growth": "log"}, "growth"),
                      ({"diversity": "gini"}, "diversity"), ({"window": 0}, "window")]:
        with pytest.raises(ParameterError, match=match):
            future_industry_index(df, **{**KW, **kw})
    with pytest.raises(ColumnError, match="'registered'"):
        future_industry_index(df, **{**KW, "capital": "registered"})
    with pytest.raises(ParameterError, match="growth rates .* can be negative"):
        future_industry_index(df, **{**KW, "normalization": "base_share"})
    with pytest.raises(ParameterError, match="needs funding"):
        future_industry_index(df, **{**KW, "funding": None})
    with pytest.raises(DataError, match="does not exist"):
        future_industry_index(tmp_path / "nowhere.parquet", **KW)
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        future_industry_index([1, 2, 3], **KW)
    assert issubclass(DataError, DtiStatError)


# ---------------------------------------------------------------- the dask engine
def _write_parquet_folder(df: pd.DataFrame, folder, parts: int = 4) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(df)), parts)):
        pq.write_table(pa.Table.from_pandas(df.iloc[chunk], preserve_index=False),
                       folder / f"part-{i}.parquet")


def _assert_same(a: FutureIndexResult, b: FutureIndexResult) -> None:
    # counts are exact; sums of amounts may differ in the last bits (summation order)
    pd.testing.assert_frame_equal(a.dimensions, b.dimensions, check_exact=False,
                                  rtol=1e-12, atol=0)
    for x, y in ((a.index.scores, b.index.scores), (a.domains.scores, b.domains.scores)):
        pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(a.empty, b.empty)


def test_dask_engine_matches_pandas(tmp_path):
    pytest.importorskip("dask.dataframe")
    dd = pytest.importorskip("dask.dataframe")
    f = make_firms(30_000, seed=7)
    ref = future_industry_index(f, **GEN_KW)
    folder = tmp_path / "firms"
    _write_parquet_folder(f, folder)
    before = f.copy()
    from_folder = future_industry_index(folder, engine="dask", **GEN_KW)
    _assert_same(ref, from_folder)
    _assert_same(ref, future_industry_index(f, engine="dask", npartitions=3, **GEN_KW))
    _assert_same(ref, future_industry_index(dd.from_pandas(f, npartitions=5), engine="dask",
                                            **GEN_KW))
    _assert_same(ref, future_industry_index(str(folder), engine="pandas", **GEN_KW))
    _assert_same(ref, future_industry_index(dd.from_pandas(f, npartitions=2), **GEN_KW))
    pd.testing.assert_frame_equal(f, before)
    # the hand example through dask, with Chinese labels and string dates
    hand = future_industry_index(hand_frame(), normalization="rank", **KW)
    _assert_same(hand, future_industry_index(hand_frame(), engine="dask", npartitions=2,
                                             normalization="rank", **KW))


def test_dask_engine_bad_input(tmp_path):
    pytest.importorskip("dask.dataframe")
    df = hand_frame()
    bad = df.copy()
    bad.loc[9, "founded"] = "2021-13-01"
    with pytest.raises(DataError, match="unparsable founding date '2021-13-01' at row 9 of "
                                        "partition"):
        future_industry_index(bad, engine="dask", npartitions=2, normalization="rank", **KW)
    bad = df.copy()
    bad.loc[[1, 11], "domain"] = "量子"
    with pytest.raises(DataError, match="'量子': 2 firm"):
        future_industry_index(bad, engine="dask", npartitions=2, normalization="rank", **KW)
    with pytest.raises(DataError, match="does not exist"):
        future_industry_index(tmp_path / "missing", engine="dask", **KW)
    folder = tmp_path / "f"
    _write_parquet_folder(df.drop(columns="capital"), folder, parts=2)
    with pytest.raises(ColumnError, match="'capital' not found in the Parquet data"):
        future_industry_index(folder, engine="dask", **KW)


def test_dask_engine_on_a_local_cluster(tmp_path):
    """A real dask.distributed cluster: scheduler + 2 worker processes on loopback."""
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    f = make_firms(30_000, seed=8)
    folder = tmp_path / "firms"
    _write_parquet_folder(f, folder, parts=4)
    ref = future_industry_index(f, **GEN_KW)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        res = future_industry_index(folder, engine="dask", **GEN_KW)
        # a bad row fails on a worker and reaches the caller as the same DtiStatError
        bad = f.copy()
        bad.loc[20_000, "funding"] = -1.0
        with pytest.raises(DataError, match="column 'funding' .*negative"):
            future_industry_index(bad, engine="dask", npartitions=2, **GEN_KW)
    _assert_same(ref, res)
