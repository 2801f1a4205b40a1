"""Checks of the bundled city metadata (dtistat.datasets.load_cities) against its sources."""

from __future__ import annotations

import pandas as pd
import pytest

from dtistat.datasets import load_cities
from dtistat.datasets.cities import CLUSTERS, REGIONS, TIER_ORDER, TIER_ORDER_EN


@pytest.fixture(scope="module")
def cities() -> pd.DataFrame:
    return load_cities()


def members(df: pd.DataFrame, cluster: str) -> set[str]:
    return set(df.loc[df["cluster"] == cluster, "name_zh"])


# 数字化转型指数报告2023 (腾讯研究院 et al.), PART 1 section
# "3 全国重点区域特征", tables "2022排名 珠三角城市群", "2022排名 京津冀城市群" and
# "2022排名 长三角城市群" -- the members in the report's 2022 rank order.
SEED_PRD = ["深圳市", "广州市", "东莞市", "佛山市", "中山市", "惠州市", "江门市", "珠海市", "肇庆市"]
SEED_JJJ = [
    "北京市", "天津市", "石家庄市", "保定市", "廊坊市", "唐山市", "沧州市", "邯郸市",
    "邢台市", "张家口市", "秦皇岛市", "衡水市", "承德市",
]
SEED_YRD = [
    "上海市", "杭州市", "苏州市", "南京市", "合肥市", "宁波市", "无锡市", "温州市", "常州市",
    "南通市", "金华市", "嘉兴市", "台州市", "盐城市", "绍兴市", "泰州市", "扬州市", "镇江市",
    "湖州市", "芜湖市", "安庆市", "滁州市", "马鞍山市", "宣城市", "舟山市", "铜陵市", "池州市",
]


# ---- the table as a whole ------------------------------------------------------------

def test_columns_and_types(cities):
    assert list(cities.columns) == [
        "city_id", "name_zh", "name_short", "name_en", "province", "province_en", "level",
        "unit_type", "region", "tier", "tier_en", "cluster", "cluster_en", "cluster_plans",
        "longitude", "latitude", "coord_source",
    ]
    assert cities["longitude"].dtype == float and cities["latitude"].dtype == float
    for col in cities.columns.drop(["tier", "tier_en", "longitude", "latitude"]):
        assert pd.api.types.is_string_dtype(cities[col]), col
        assert cities[col].notna().all(), col
    assert isinstance(cities["tier"].dtype, pd.CategoricalDtype)
    assert cities["tier"].cat.ordered
    assert list(cities["tier"].cat.categories) == list(TIER_ORDER)
    assert list(cities["tier_en"].cat.categories) == list(TIER_ORDER_EN)
    assert cities["tier"].min() == "一线" and cities["tier"].max() == "五线"


def test_fresh_copy_each_call():
    a = load_cities()
    a.loc[a.index[0], "name_zh"] = "changed"
    del a["tier"]
    b = load_cities()
    assert b.loc[b.index[0], "name_zh"] == "北京市"
    assert "tier" in b.columns
    assert a is not b


def test_counts_by_level(cities):
    # 333 prefecture-level divisions at the end of 2023 (293 cities, 30 autonomous
    # prefectures, 7 地区, 3 盟; Ministry of Civil Affairs' division statistics), plus the
    # 4 municipalities and the 32 province-administered county-level units.
    assert len(cities) == 369
    assert cities["level"].value_counts().to_dict() == {
        "prefecture": 333, "county-level": 32, "municipality": 4,
    }
    pref = cities.loc[cities["level"] == "prefecture", "unit_type"].value_counts().to_dict()
    assert pref == {"地级市": 293, "自治州": 30, "地区": 7, "盟": 3}
    county = cities.loc[cities["level"] == "county-level"]
    assert county.groupby("province").size().to_dict() == {
        "河南": 1, "湖北": 4, "海南": 15, "新疆": 12,
    }
    muni = cities.loc[cities["level"] == "municipality", "name_zh"]
    assert set(muni) == {"北京市", "天津市", "上海市", "重庆市"}


def test_ids_and_names_unique(cities):
    for col in ["city_id", "name_zh", "name_short"]:
        dup = cities.loc[cities[col].duplicated(), col].tolist()
        assert not dup, f"duplicate {col}: {dup}"
    assert not cities.duplicated(["name_en", "province_en"]).any()
    assert cities["city_id"].str.fullmatch(r"[1-6]\d{5}").all()
    assert cities["city_id"].str.isascii().all()


def test_ids_follow_division_codes(cities):
    # province digits of the code agree with the province; prefecture codes end in 00
    first2 = cities.groupby("province")["city_id"].agg(lambda s: set(s.str[:2]))
    assert all(len(v) == 1 for v in first2), first2[first2.map(len) > 1]
    pref = cities[cities["level"] != "county-level"]
    assert pref["city_id"].str.endswith("00").all()
    spot = dict(zip(cities["name_zh"], cities["city_id"]))
    assert spot["北京市"] == "110000"
    assert spot["重庆市"] == "500000"
    assert spot["深圳市"] == "440300"
    assert spot["和田地区"] == "653200"
    assert spot["临高县"] == "469024"
    assert spot["儋州市"] == "460400"
    assert spot["济源市"] == "419001"
    assert spot["石河子市"] == "659001"
    assert spot["白杨市"] == "659012"


def test_named_county_level_units_present(cities):
    names = set(cities.loc[cities["level"] == "county-level", "name_short"])
    assert names == {
        # Hainan
        "五指山", "琼海", "文昌", "万宁", "东方", "定安", "屯昌", "澄迈", "临高",
        "白沙", "昌江", "乐东", "陵水", "保亭", "琼中",
        # Hubei, Henan
        "仙桃", "潜江", "天门", "神农架", "济源",
        # Xinjiang Production and Construction Corps cities
        "石河子", "五家渠", "阿拉尔", "图木舒克", "北屯", "铁门关", "双河", "可克达拉",
        "昆玉", "胡杨河", "新星", "白杨",
    }
    # 儋州 is prefecture-level since 2015
    assert cities.set_index("name_short").loc["儋州", "level"] == "prefecture"


def test_seed_growth_cities_present(cities):
    # seed, PART 1 "增长：西部表现最突出": 新疆的和田与海南的临高 among the top-10 growers
    by_short = cities.set_index("name_short")
    assert by_short.loc["临高", "province"] == "海南"
    assert by_short.loc["临高", "name_zh"] == "临高县"
    assert by_short.loc["和田", "province"] == "新疆"
    assert by_short.loc["和田", "name_zh"] == "和田地区"
    assert by_short.loc["和田", "name_en"] == "Hotan"


# ---- provinces and regions -------------------------------------------------------------

def test_regions_follow_provinces(cities):
    # NBS four-region division: every province maps to exactly one region
    per_prov = cities.groupby("province")["region"].nunique()
    assert (per_prov == 1).all()
    assert cities["province"].nunique() == 31
    expected = {p: r for r, provs in REGIONS.items() for p in provs}
    assert len(expected) == 31
    got = cities.drop_duplicates("province").set_index("province")["region"].to_dict()
    assert got == expected
    assert cities.groupby("province")["province_en"].nunique().eq(1).all()


@pytest.mark.parametrize(
    "short, province, region",
    [
        ("深圳", "广东", "east"), ("苏州", "江苏", "east"), ("宿州", "安徽", "central"),
        ("台州", "浙江", "east"), ("泰州", "江苏", "east"), ("吉林", "吉林", "northeast"),
        ("榆林", "陕西", "west"), ("玉林", "广西", "west"), ("鄂尔多斯", "内蒙古", "west"),
        ("延边", "吉林", "northeast"), ("恩施", "湖北", "central"), ("那曲", "西藏", "west"),
        ("海南州", "青海", "west"), ("三沙", "海南", "east"), ("大兴安岭", "黑龙江", "northeast"),
        ("阿拉善", "内蒙古", "west"), ("济源", "河南", "central"), ("重庆", "重庆", "west"),
    ],
)
def test_province_spot_checks(cities, short, province, region):
    row = cities.set_index("name_short").loc[short]
    assert row["province"] == province
    assert row["region"] == region


# ---- tiers -----------------------------------------------------------------------------

def test_tier_counts(cities):
    # 第一财经·新一线城市研究所, 2023 城市商业魅力排行榜: 4 / 15 / 30 / 70 / 90 / 128 of the
    # 337 prefecture-level-and-above cities; county-level units (32) are given 五线.
    ranked = cities[cities["level"] != "county-level"]
    assert ranked["tier"].value_counts().reindex(list(TIER_ORDER)).tolist() == [
        4, 15, 30, 70, 90, 128,
    ]
    county = cities[cities["level"] == "county-level"]
    assert (county["tier"] == "五线").all()
    pairs = set(zip(cities["tier"].astype(str), cities["tier_en"].astype(str)))
    assert pairs == set(zip(TIER_ORDER, TIER_ORDER_EN))


def test_top_tiers_exact(cities):
    tier = cities.set_index("name_short")["tier"]
    assert set(tier[tier == "一线"].index) == {"北京", "上海", "广州", "深圳"}
    assert set(tier[tier == "新一线"].index) == {
        "成都", "重庆", "杭州", "西安", "武汉", "苏州", "郑州", "南京", "天津", "长沙",
        "东莞", "宁波", "佛山", "合肥", "青岛",
    }
    for name in ["昆明", "沈阳", "济南", "厦门", "无锡", "大连"]:
        assert tier[name] == "二线", name
    assert tier["和田"] == "五线"
    assert tier["临高"] == "五线"


# ---- clusters --------------------------------------------------------------------------

def test_seed_cluster_tables_exact(cities):
    assert len(SEED_PRD) == 9 and len(SEED_JJJ) == 13 and len(SEED_YRD) == 27
    assert members(cities, "珠三角") == set(SEED_PRD)
    assert members(cities, "京津冀") == set(SEED_JJJ)
    assert members(cities, "长三角") == set(SEED_YRD)


def test_cluster_member_counts_per_plan(cities):
    assigned = cities["cluster"].value_counts().to_dict()
    assigned.pop("", None)
    assert assigned == {
        "珠三角": 9,      # seed table; 珠江三角洲地区改革发展规划纲要 (2008)
        "京津冀": 13,     # seed table; 2 municipalities + 11 Hebei cities
        "长三角": 27,     # seed table; 2016 plan's 26 + 温州 (2019 outline's central area)
        "成渝": 16,       # 成渝城市群发展规划 (2016): 重庆 + 15 Sichuan cities
        "呼包鄂榆": 4,    # 呼包鄂榆城市群发展规划 (2018)
        "关中平原": 11,   # 关中平原城市群发展规划 (2018), units in whole or in part
        "长江中游": 31,   # 长江中游城市群发展规划 (2015): 13 + 8 + 10
        "哈长": 11,       # 哈长城市群发展规划 (2016)
        "中原": 27,       # 中原城市群发展规划 (2016): 30, less 邯郸 邢台 运城 (see below)
        "兰西": 9,        # 兰州-西宁城市群发展规划 (2018)
        "北部湾": 15,     # 北部湾城市群发展规划 (2017): 6 Guangxi, 3 Guangdong, 6 Hainan
    }
    # per-plan counts before the one-cluster rule
    plans = cities["cluster_plans"].str.split(";").explode()
    plan_counts = plans[plans != ""].value_counts().to_dict()
    assert plan_counts["中原"] == 30
    assert sum(plan_counts.values()) == 176


def test_cluster_plan_spot_checks(cities):
    by_short = cities.set_index("name_short")
    assert members(cities, "成渝") >= {"重庆市", "成都市", "绵阳市", "达州市", "雅安市", "资阳市"}
    assert members(cities, "呼包鄂榆") == {"呼和浩特市", "包头市", "鄂尔多斯市", "榆林市"}
    assert members(cities, "哈长") >= {"哈尔滨市", "长春市", "延边朝鲜族自治州", "吉林市"}
    assert {"仙桃市", "潜江市", "天门市", "抚州市", "吉安市"} <= members(cities, "长江中游")
    assert {"济源市", "晋城市", "亳州市", "聊城市", "菏泽市"} <= members(cities, "中原")
    assert {"临高县", "东方市", "澄迈县", "昌江黎族自治县", "儋州市"} <= members(cities, "北部湾")
    assert {"海南藏族自治州", "海东市", "临夏回族自治州"} <= members(cities, "兰西")
    # the only overlaps between plans, and how they are resolved
    multi = cities.loc[cities["cluster_plans"].str.contains(";"), "name_short"]
    assert set(multi) == {"邯郸", "邢台", "运城"}
    assert by_short.loc["邯郸", "cluster"] == "京津冀"
    assert by_short.loc["邢台", "cluster"] == "京津冀"
    assert by_short.loc["运城", "cluster"] == "关中平原"
    # 池州 and 温州 are in the report's 长三角 table
    assert by_short.loc["池州", "cluster"] == "长三角"
    assert by_short.loc["温州", "cluster"] == "长三角"


def test_cluster_columns_consistent(cities):
    assert set(cities["cluster"]) - {""} == set(CLUSTERS)
    mapped = cities["cluster"].map(lambda c: CLUSTERS.get(c, ""))
    assert (mapped == cities["cluster_en"]).all()
    # the assigned cluster is always one of the plans naming the unit
    for c, plans in zip(cities["cluster"], cities["cluster_plans"]):
        assert (c == "") == (plans == "")
        assert c == "" or c in plans.split(";")


def test_cluster_share_about_49_percent(cities):
    # seed, "11个城市群稳定大盘：11大城市群数量占全国49%"
    prefecture_and_above = cities[cities["level"] != "county-level"]
    share = (prefecture_and_above["cluster"] != "").mean()
    assert share == pytest.approx(165 / 337)
    assert share == pytest.approx(0.49, abs=0.005)
    share_all = (cities["cluster"] != "").mean()
    assert share_all == pytest.approx(173 / 369)
    assert share_all == pytest.approx(0.49, abs=0.03)
