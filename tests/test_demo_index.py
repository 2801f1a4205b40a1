"""The demo world's DTI cube reproduces the report's published tables.

Every target is checked through the public API on the shipped files. Sources: the
report, PART 1 (see dtistat/datasets/published.py for the tables and where they stand).
"""

import dataclasses
import gzip

import numpy as np
import pandas as pd
import pytest

from dtistat.datasets import load_demo
from dtistat.datasets.demo import _FILES, build_files
from dtistat.datasets.published import (
    CLUSTER_TABLES,
    CLUSTER_TOP3,
    NATIONAL_RANKS_2023Q1,
    PROVINCE_INDUSTRY_TABLES,
    SHAPE_TARGETS,
)

Q = lambda s: pd.Period(s, "Q")  # noqa: E731


@pytest.fixture(scope="module")
def world():
    return load_demo()


@pytest.fixture(scope="module")
def res(world):
    return world.compute()


@pytest.fixture(scope="module")
def city(res, world):
    return dataclasses.replace(res.collapse_by(), metadata=world.cities)


@pytest.fixture(scope="module")
def city_growth(city):
    return city.growth("yoy_mean").set_index("city")["yoy_mean"]


def test_shipped_files_regenerate_identically(tmp_path):
    paths = build_files(tmp_path)
    from importlib import resources

    pkg = resources.files("dtistat.datasets")
    new = gzip.decompress(paths["cube"].read_bytes())
    assert new == gzip.decompress(pkg.joinpath(_FILES["cube"]).read_bytes())
    # The designed city totals are float sums over industries: numpy's pairwise summation
    # is unrolled by the SIMD width, so their last bit depends on the CPU (the shipped
    # file was written on an AVX-512 machine; an AVX2 one differs by <= 1 ulp in ~2% of
    # cells). Keys must match exactly, values to a few ulps.
    import io

    new = pd.read_csv(io.BytesIO(gzip.decompress(paths["totals"].read_bytes())))
    old = pd.read_csv(io.BytesIO(gzip.decompress(pkg.joinpath(_FILES["totals"]).read_bytes())))
    pd.testing.assert_frame_equal(new[["city", "quarter"]], old[["city", "quarter"]])
    np.testing.assert_allclose(new["total"], old["total"], rtol=4 * np.finfo(float).eps, atol=0)
    assert paths["spec"].read_bytes() == pkg.joinpath(_FILES["spec"]).read_bytes()


def test_shape_and_structure(world):
    cube = world.cube
    assert cube["city"].nunique() == len(world.cities) == 369
    assert cube["industry"].nunique() == 13
    assert sorted(cube["quarter"].unique()) == [str(q) for q in
                                                pd.period_range("2021Q1", "2023Q1", freq="Q")]
    assert len(world.spec.leaves) == 20
    assert world.spec.expert_scores.shape == (15, 23)
    assert cube["city"].notna().all()


def test_index_equals_designed_truth(city, world):
    got = city.scores["total"].rename("got").reset_index()
    got["quarter"] = got["quarter"].astype(str)
    m = got.merge(world.city_index, on=["city", "quarter"])
    assert len(m) == len(world.city_index)
    # raw indicators are shipped to 6 significant digits
    np.testing.assert_allclose(m["got"], m["total"], rtol=2e-6)


@pytest.mark.parametrize("cluster", list(CLUSTER_TABLES))
def test_cluster_tables(city, city_growth, cluster):
    tab = CLUSTER_TABLES[cluster]
    r22 = city.rank(2022, within="cluster")
    assert r22[r22.cluster == cluster]["city"].tolist() == tab["rank_2022"]
    rc = city.rank_change(2022, "2023Q1", within="cluster")
    rc = rc[rc.cluster == cluster]
    assert rc.sort_values("rank_end")["city"].tolist() == tab["rank_2023Q1"]
    for _, row in rc.iterrows():  # the printed change: +1 = moved up one place
        assert row["change"] == tab["rank_2022"].index(row["city"]) - \
            tab["rank_2023Q1"].index(row["city"])
    g = city_growth.loc[list(tab["yoy"])]
    assert list(g.sort_values(ascending=False, kind="stable").index) == list(tab["yoy"])
    published = pd.Series(tab["yoy"]) / 100
    assert (g - published).abs().max() <= 0.001  # within ±0.1 percentage point


def test_national_city_ranks(city):
    r = city.rank("2023Q1").set_index("city")["rank"]
    for name, rank in NATIONAL_RANKS_2023Q1.items():
        assert r[name] == rank, name
    top3 = city.rank("2023Q1")["city"].head(3).tolist()
    assert top3 == SHAPE_TARGETS["top_city_2023Q1"]
    for node, first in (("infrastructure", "上海市"), ("platform", "北京市"),
                        ("application", "北京市")):
        assert city.rank("2023Q1", node=node)["city"].iloc[0] == first, node


def test_national_trend_and_layers(city):
    nat = city.rollup("nation").scores.droplevel("nation")
    total = nat["total"]
    assert total.idxmax() == Q(SHAPE_TARGETS["national_peak"])
    qoq = total.pct_change()
    assert qoq[Q("2022Q3")] < 0
    assert (qoq[[Q("2021Q2"), Q("2021Q3"), Q("2021Q4"), Q("2022Q1")]] > 0).all()
    assert 0 < qoq[Q("2022Q4")] < qoq[Q("2021Q2")]  # rebound, far below 2021's pace
    yoy = nat / nat.shift(4) - 1
    assert yoy.loc[Q("2022Q1"), "platform"] == pytest.approx(0.18, abs=0.005)
    assert yoy.loc[Q("2023Q1"), "platform"] == pytest.approx(0.10, abs=0.005)
    # platform growth ranks 3rd of the layers in 2022Q1 and 1st in 2023Q1
    layers = ["infrastructure", "platform", "application"]
    assert yoy.loc[Q("2022Q1"), layers].rank(ascending=False)["platform"] == 3
    assert yoy.loc[Q("2023Q1"), layers].rank(ascending=False)["platform"] == 1
    assert yoy.loc[Q("2023Q1"), "application"] < 0
    vol = nat[layers].pct_change().std()
    assert vol.idxmin() == "platform"  # "变化幅度最小"


def test_provinces(city):
    prov = city.rollup("province")
    assert prov.rank(2022)["province"].iloc[0] == "广东"
    assert prov.rank("2023Q1")["province"].iloc[0] == "上海"
    top10_22 = prov.rank(2022)["province"].head(10).tolist()
    top10_23 = prov.rank("2023Q1")["province"].head(10).tolist()
    assert "安徽" not in top10_22 and "安徽" in top10_23
    g = prov.growth("yoy_mean").sort_values("yoy_mean", ascending=False)["province"]
    assert g.iloc[0] == "西藏"
    assert set(g.head(7)) >= {"青海", "内蒙古", "新疆", "宁夏"}  # western provinces near the top


def test_tiers_and_clusters(city, city_growth, world):
    meta = world.cities.set_index("city")
    for period in (2022, "2023Q1"):
        sh = city.rollup("tier").share("nation", period=period).set_index("tier")["share"]
        assert sh["一线"] > 1 / 3 and sh["五线"] > 1 / 4
    tier_g = city_growth.groupby(meta["tier"].astype(str).reindex(city_growth.index)).mean()
    assert tier_g["五线"] == pytest.approx(0.23, abs=0.005)
    assert tier_g["三线"] == pytest.approx(0.08, abs=0.005)
    assert tier_g.idxmax() == "五线"
    # 三线 is the slowest of 二线–五线; 一线's mean follows from the published cluster
    # tables (北京 2.4%, 上海 16.2%, 深圳 10.1%, 广州 -1.4% -> 6.8%), "basically equal".
    assert tier_g[["二线", "三线", "四线", "五线"]].idxmin() == "三线"
    assert abs(tier_g["一线"] - tier_g[["二线", "三线", "四线"]].mean()) < 0.03
    incl = pd.Series(np.where(meta["cluster"] != "", "in", "out"), index=meta.index,
                     name="in_cluster")
    share = city.rollup(incl).share("nation").set_index("in_cluster")["share"]
    assert share.loc["in"].between(0.76, 0.82).all()  # "近8成" in every quarter
    assert (meta["cluster"] != "").sum() / len(meta) == pytest.approx(0.47, abs=0.02)
    clus_g = city_growth.groupby(meta["cluster"].reindex(city_growth.index)).mean().drop("")
    assert set(clus_g.sort_values().index[-2:]) == set(SHAPE_TARGETS["fast_clusters"])
    assert (clus_g[SHAPE_TARGETS["fast_clusters"]] > 0.20).all()
    top10 = city_growth.sort_values(ascending=False).head(10).index
    prov = meta["province"].reindex(top10)
    assert (prov.isin(["西藏", "青海"])).sum() >= 6
    assert {"和田地区", "临高县"} <= set(top10)


def test_industries(res):
    nat = res.rollup("nation")
    size = nat.scores["total"].groupby(level="industry").sum().sort_values(ascending=False)
    assert size.index[0] == "finance"
    assert list(size.index).index("manufacturing") == 4      # "规模第五"
    assert list(size.index).index("communications") == 8     # "规模第九"
    g = nat.growth("yoy_mean").sort_values("yoy_mean", ascending=False)["industry"].tolist()
    assert g[:3] == ["communications", "manufacturing", "finance"]  # 增速第一/第二/第三


@pytest.mark.parametrize("industry", list(PROVINCE_INDUSTRY_TABLES))
def test_province_industry_tables(res, industry):
    tabs = PROVINCE_INDUSTRY_TABLES[industry]
    prov = res.rollup("province")
    sh = prov.share("by", period=2022)
    sh = sh[sh.industry == industry].sort_values("share", ascending=False)
    assert sh["province"].head(10).tolist() == tabs["share_2022"]
    gr = prov.growth("yoy_mean")
    gr = gr[gr.industry == industry].sort_values("yoy_mean", ascending=False)
    assert gr["province"].head(10).tolist() == tabs["growth"]


def test_cluster_cumulative_top3(res):
    top = res.cumulative_top("cluster", n=3).set_index("cluster")
    for cluster, expect in CLUSTER_TOP3.items():
        assert top.loc[cluster, ["no.1", "no.2", "no.3"]].tolist() == expect, cluster


def test_other_seed_differs_but_keeps_calibration():
    w = load_demo(seed=7)
    city = w.compute().collapse_by()
    assert city.rank("2023Q1")["city"].head(3).tolist() == ["上海市", "北京市", "深圳市"]
    assert not w.cube.iloc[:, 4:].equals(load_demo().cube.iloc[:, 4:])
