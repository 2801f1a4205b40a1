"""City metadata of mainland China: divisions, regions, 2023 tiers and the 11 city clusters.

Real, public metadata (not simulated), bundled as ``cities.csv`` beside this module and
loaded by :func:`load_cities`. One row per unit that the DTI study can rank: every
prefecture-level unit of mainland China, the four municipalities, and the
province-administered county-level units (省直辖县级行政单位). Hong Kong, Macao and
Taiwan are not included, as in the report ("本报告统计范围仅涉及中国大陆").

Status of the divisions: 2023. The prefecture level has not changed since 莱芜 was merged
into 济南 in January 2019; the newest unit is the 兵团 city 白杨市 (approved December 2022,
announced January 2023).

Counts
------
=====================  =====  ==========================================================
level                  rows   unit types (``unit_type``)
=====================  =====  ==========================================================
``municipality``          4   直辖市: 北京, 天津, 上海, 重庆
``prefecture``          333   地级市 293, 自治州 30, 地区 7, 盟 3
``county-level``         32   县级市 21, 县 4, 自治县 6, 林区 1 (Henan 1, Hubei 4,
                              Hainan 15, Xinjiang 12 兵团 cities)
total                   369
=====================  =====  ==========================================================

333 prefecture-level divisions (293 + 30 + 7 + 3) is the official count for the end of
2023 (Ministry of Civil Affairs, 中华人民共和国行政区划统计表 / 民政统计年鉴). Some
lists count 337 "prefecture-level and above cities" (333 + the 4 municipalities); that
is the universe of the tier ranking below.

Columns (strings; ``tier``/``tier_en`` ordered categoricals; coordinates floats)
---------------------------------------------------------------------
city_id
    The 6-digit administrative division code (GB/T 2260 as kept by the Ministry of
    Civil Affairs; identical to the first six digits of the National Bureau of
    Statistics' 统计用区划代码) as of 2023. Prefecture-level units use their
    prefecture code (``440300`` 深圳市), municipalities their province-level code
    (``110000`` 北京市, ``500000`` 重庆市), county-level units their county code
    (``469024`` 临高县, ``659001`` 石河子市). Stable ASCII; use it, not names, as a key.
    Source: NBS 统计用区划代码 (2023 release), cross-checked against the public
    transcription in github.com/modood/Administrative-divisions-of-China.
name_zh
    Full official name (深圳市, 和田地区, 延边朝鲜族自治州, 临高县). Same source.
name_short
    Customary short name: the full name without 市/地区/盟 or the ethnic-autonomy
    suffix (深圳, 和田, 延边, 临高, 神农架). Exception: 海南藏族自治州 is ``海南州`` so
    that it is not confused with the province 海南. Unique within the table.
name_en
    Romanized name: Hanyu Pinyin of the short name (``Shenzhen``, ``Xi'an``,
    ``Lüliang``), except where another form is the established English name
    (``Harbin``, ``Hohhot``, ``Urumqi``, ``Hotan``, ``Kashgar``, ``Shigatse``,
    ``Ordos``, ...). Not unique: 苏州/宿州 are both ``Suzhou``, 泰州/台州 ``Taizhou``,
    福州/抚州 ``Fuzhou``, 伊春/宜春 ``Yichun``, 玉林/榆林 ``Yulin``; the pair
    (``name_en``, ``province_en``) is unique. Compiled by the dtistat authors.
province, province_en
    Province-level division, short Chinese name (广东, 新疆, 内蒙古) and English name
    (``Guangdong``, ``Xinjiang``, ``Inner Mongolia``; 西藏 is ``Xizang``). Derived
    from the first two digits of the code.
level
    ``municipality`` / ``prefecture`` / ``county-level``.
unit_type
    Chinese type of the unit: 直辖市, 地级市, 自治州, 地区, 盟, 县级市, 县, 自治县, 林区.
region
    NBS four-region division (国家统计局 东西中部和东北地区划分方法, 2011):
    ``east`` (北京 天津 河北 上海 江苏 浙江 福建 山东 广东 海南), ``central`` (山西
    安徽 江西 河南 湖北 湖南), ``west`` (内蒙古 广西 重庆 四川 贵州 云南 西藏 陕西 甘肃
    青海 宁夏 新疆), ``northeast`` (辽宁 吉林 黑龙江). Determined by the province.
tier, tier_en
    City tier of the 2023 城市商业魅力排行榜 by 第一财经·新一线城市研究所 (published
    May 2023), which grades the 337 prefecture-level-and-above cities: 4 一线
    (``tier1``), 15 新一线 (``new_tier1``), 30 二线 (``tier2``), 70 三线 (``tier3``),
    90 四线 (``tier4``) and 128 五线 (``tier5``). Ordered categoricals in the
    order of :data:`TIER_ORDER` (一线 first), so ``sort_values("tier")`` runs from the
    top tier down. The 32 county-level units are not graded by the ranking; they are
    given 五线 here by convention (so 五线 has 128 + 32 = 160 rows), which is the
    report's treatment of small late-developing cities; ``level == "county-level"``
    tells them apart.
cluster, cluster_en
    The one city cluster (城市群) of the 11 the report names to which the unit is
    assigned, or the empty string ``""`` if none; ``cluster_en`` is a snake_case slug.
    Membership follows each cluster's national plan (see :data:`CLUSTER_PLANS`); a
    unit that a plan covers only in part (e.g. 抚州 and 吉安 in 长江中游, 绵阳 in 成渝,
    白银 in 兰西) counts as a member. A unit belongs to at most one cluster: the only
    overlaps between the plans are 邯郸 and 邢台 (京津冀 and 中原) and 运城 (关中平原 and
    中原); the 中原 plan names these three only in its outer linkage zone (联动辐射区),
    while they are full members of the other plans, so they are assigned to 京津冀 and
    关中平原 (for 邯郸 and 邢台 the report's 京津冀 table also says so).
cluster_plans
    Every plan that names the unit, ``;``-separated in :data:`CLUSTERS` order
    (``京津冀;中原`` for 邯郸), so the plans' own member counts can be recovered.

longitude, latitude
    Coordinates (WGS-84-like decimal degrees, east and north) of the unit's seat of
    government, floats. Source: ``resources/adcodes.csv`` of the ``cpca`` package
    (chinese_province_city_area_mapper, version 0.5.5, MIT licence, copyright DQinYuan;
    github.com/DQinYuan/chinese_province_city_area_mapper), which keys one point per
    division by the 12-digit code (6-digit code x 10^6). 361 of the 369 units are
    matched on ``city_id`` directly. The eight it lacks were filled as follows
    (``coord_source`` says which):

    * 那曲市 (540600): the code of its predecessor 那曲地区 (542400, renamed a city in
      2017 with the same seat, 色尼区) in the same cpca file (``cpca:542400``).
    * 北屯 (659005) 47.35833 N 87.81806 E, 双河 (659007) 44.84000 N 82.35169 E,
      可克达拉 (659008) 43.9448 N 81.0445 E, 昆玉 (659009) 37.2167 N 79.2833 E
      (37 13' N 79 17' E), 白杨 (659012) 46.72456 N 82.89596 E: the city's
      coordinates in its Wikipedia article infobox (English or Chinese Wikipedia,
      consulted 2026; ``wikipedia``).
    * 胡杨河 (659010) and 新星 (659011), for which no published point was found: the
      cpca point of the county-level unit that surrounds the seat -- 奎屯市 (654003)
      for 胡杨河 (seat at the 130th regiment, between 奎屯, 乌苏 and 克拉玛依) and
      伊州区 (650502) for 新星 (seat at 黄田, on the edge of 哈密's urban area). These
      two are approximate to a few tens of kilometres (``cpca-host:654003``,
      ``cpca-host:650502``).

    The columns are built by :func:`add_coordinates` (``python -m
    dtistat.datasets.build --cpca PATH/adcodes.csv``) and shipped in ``cities.csv``.
coord_source
    Where the coordinates come from: ``cpca``, ``cpca:542400``, ``wikipedia`` or
    ``cpca-host:<code>`` (see above).

The 11 clusters
---------------
========  ==========================  ====  =================================================
cluster   plan                         n    members here
========  ==========================  ====  =================================================
珠三角    report's table                  9  广州 深圳 珠海 佛山 江门 东莞 中山 惠州 肇庆 (the
          (珠江三角洲地区改革发展规划          9 cities of the Pearl River Delta plan)
          纲要, 2008)
京津冀    report's table;                13  北京 天津 + the 11 cities of 河北
          京津冀协同发展规划纲要 (2015)
长三角    report's table                 27  the 26 cities of 长江三角洲城市群发展规划 (2016)
                                             plus 温州, i.e. the 27-city central area of
                                             长江三角洲区域一体化发展规划纲要 (2019)
成渝      成渝城市群发展规划 (2016)       16  重庆 + 15 cities of 四川
呼包鄂榆  呼包鄂榆城市群发展规划 (2018)    4  呼和浩特 包头 鄂尔多斯 榆林
关中平原  关中平原城市群发展规划 (2018)   11  5 full + 商洛 (part) of 陕西; 运城, 临汾 (parts)
                                             of 山西; 天水 (whole), 平凉, 庆阳 (parts) of 甘肃;
                                             杨凌 is a district of 咸阳, not a unit here
长江中游  长江中游城市群发展规划 (2015)   31  13 of 湖北 (incl. 仙桃 潜江 天门), 8 of 湖南,
                                             10 of 江西 (抚州 and 吉安 in part)
哈长      哈长城市群发展规划 (2016)       11  5 of 黑龙江, 6 of 吉林 (incl. 延边)
中原      中原城市群发展规划 (2016)       27  the plan's 30 cities (河南 18 incl. 济源, 山西 3,
                                             河北 2, 山东 2, 安徽 5) less 邯郸 邢台 运城
兰西      兰州-西宁城市群发展规划 (2018)   9  兰州 白银 定西 临夏 (甘肃); 西宁 海东 海北 海南州
                                             黄南 (青海) — all but 兰州 西宁 海东 in part
北部湾    北部湾城市群发展规划 (2017)     15  6 of 广西, 3 of 广东, 6 of 海南 (海口 儋州 and the
                                             county-level 东方 澄迈 临高 昌江)
========  ==========================  ====  =================================================

173 of the 369 units (46.9%) are in a cluster; of the 337 prefecture-level-and-above
units, 165 (49.0%) are -- the report's "11大城市群数量占全国49%".

What is approximate
-------------------
* Tiers: the 209 cities of tiers 一线 to 四线 are taken, in rank order, from a public
  transcription of the 2023 list (the 一线, 新一线 and 二线 lists agree with several
  independent copies and with the brief; the 三线/四线 boundary was checked against a
  second copy that stops at the 119th city, 渭南). The 三线 and 四线 members were not
  checked against the original publication and a few may be off by one tier. The
  ranking is revised every year (2024 moved 昆明 up and 佛山 down, for example); this
  table is the 2023 edition the report's period matches.
* 五线 for county-level units is a convention, not a grading.
* Cluster membership is by prefecture-level unit; the plans' partial coverage of some
  units (listed above) is not represented.
* English names follow common usage where pinyin is not customary; other spellings
  exist (Xigaze for 日喀则, Chamdo for 昌都, Kumul for 哈密, Tibet for 西藏).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

__all__ = [
    "CLUSTERS",
    "CLUSTER_PLANS",
    "LEVELS",
    "REGIONS",
    "TIER_ORDER",
    "TIER_ORDER_EN",
    "add_coordinates",
    "load_cities",
]

#: Tier labels, top tier first (the order of the ordered categorical ``tier``).
TIER_ORDER: tuple[str, ...] = ("一线", "新一线", "二线", "三线", "四线", "五线")
#: English slugs of :data:`TIER_ORDER`, same order.
TIER_ORDER_EN: tuple[str, ...] = ("tier1", "new_tier1", "tier2", "tier3", "tier4", "tier5")

#: The 11 clusters in the report's order: Chinese name -> ``cluster_en`` slug.
CLUSTERS: dict[str, str] = {
    "珠三角": "pearl_river_delta",
    "京津冀": "beijing_tianjin_hebei",
    "长三角": "yangtze_river_delta",
    "成渝": "chengdu_chongqing",
    "呼包鄂榆": "hohhot_baotou_ordos_yulin",
    "关中平原": "guanzhong_plain",
    "长江中游": "middle_yangtze",
    "哈长": "harbin_changchun",
    "中原": "central_plains",
    "兰西": "lanzhou_xining",
    "北部湾": "beibu_gulf",
}

#: The national plan (or seed table) each cluster's membership follows.
CLUSTER_PLANS: dict[str, str] = {
    "珠三角": "the report's table (9 cities); 珠江三角洲地区改革发展规划纲要 (2008)",
    "京津冀": "the report's table (13 cities); 京津冀协同发展规划纲要 (2015)",
    "长三角": "the report's table (27 cities); 长江三角洲城市群发展规划 (2016) + 温州, "
    "= central area of 长江三角洲区域一体化发展规划纲要 (2019)",
    "成渝": "成渝城市群发展规划 (国家发展改革委 住房城乡建设部, 2016)",
    "呼包鄂榆": "呼包鄂榆城市群发展规划 (2018)",
    "关中平原": "关中平原城市群发展规划 (2018)",
    "长江中游": "长江中游城市群发展规划 (2015)",
    "哈长": "哈长城市群发展规划 (2016)",
    "中原": "中原城市群发展规划 (2016)",
    "兰西": "兰州-西宁城市群发展规划 (2018)",
    "北部湾": "北部湾城市群发展规划 (2017)",
}

#: NBS four-region division: region -> provinces (short Chinese names).
REGIONS: dict[str, tuple[str, ...]] = {
    "east": ("北京", "天津", "河北", "上海", "江苏", "浙江", "福建", "山东", "广东", "海南"),
    "central": ("山西", "安徽", "江西", "河南", "湖北", "湖南"),
    "west": (
        "内蒙古", "广西", "重庆", "四川", "贵州", "云南",
        "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆",
    ),
    "northeast": ("辽宁", "吉林", "黑龙江"),
}

#: Values of the ``level`` column.
LEVELS: tuple[str, ...] = ("municipality", "prefecture", "county-level")

_COLUMNS = (
    "city_id", "name_zh", "name_short", "name_en", "province", "province_en", "level",
    "unit_type", "region", "tier", "tier_en", "cluster", "cluster_en", "cluster_plans",
    "longitude", "latitude", "coord_source",
)

#: Units the cpca file lacks: city_id -> (longitude, latitude, coord_source); see the
#: module docstring for the source of each point.
_FILLED_COORDS: dict[str, tuple[float | None, float | None, str]] = {
    "540600": (None, None, "cpca:542400"),
    "659005": (87.81806, 47.35833, "wikipedia"),
    "659007": (82.351694, 44.84, "wikipedia"),
    "659008": (81.0445, 43.9448, "wikipedia"),
    "659009": (79.2833, 37.2167, "wikipedia"),
    "659010": (None, None, "cpca-host:654003"),
    "659011": (None, None, "cpca-host:650502"),
    "659012": (82.89596, 46.72456, "wikipedia"),
}


@lru_cache(maxsize=1)
def _read() -> pd.DataFrame:
    with resources.files("dtistat.datasets").joinpath("cities.csv").open(
        "r", encoding="utf-8"
    ) as fh:
        # every column is text: keep "" for "no cluster" and codes like "110000" as text
        df = pd.read_csv(fh, dtype=str, keep_default_na=False, na_filter=False)
    df = df.loc[:, list(_COLUMNS)]
    df["tier"] = pd.Categorical(df["tier"], categories=list(TIER_ORDER), ordered=True)
    df["tier_en"] = pd.Categorical(df["tier_en"], categories=list(TIER_ORDER_EN), ordered=True)
    df["longitude"] = df["longitude"].astype(float)
    df["latitude"] = df["latitude"].astype(float)
    return df


def add_coordinates(cities: pd.DataFrame, adcodes: pd.DataFrame) -> pd.DataFrame:
    """Add ``longitude``, ``latitude`` and ``coord_source`` from cpca's ``adcodes.csv``.

    Parameters
    ----------
    cities : DataFrame
        The city table with a 6-digit ``city_id`` (text).
    adcodes : DataFrame
        cpca's ``resources/adcodes.csv``: columns ``adcode`` (12 digits), ``name``,
        ``longitude``, ``latitude``.

    Returns
    -------
    DataFrame
        A copy of ``cities`` with the three columns; every unit has coordinates (the
        eight cpca lacks are filled as the module docstring says).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"city_id": ["110000", "659005"]})
    >>> a = pd.DataFrame({"adcode": ["110000000000"], "name": ["北京市"],
    ...                   "longitude": [116.407394], "latitude": [39.904211]})
    >>> add_coordinates(c, a)[["longitude", "coord_source"]].values.tolist()
    [[116.407394, 'cpca'], [87.81806, 'wikipedia']]
    """
    code = adcodes["adcode"].astype(str).str.zfill(12)
    points = pd.DataFrame({"longitude": adcodes["longitude"].astype(float).to_numpy(),
                           "latitude": adcodes["latitude"].astype(float).to_numpy()},
                          index=code.str[:6].to_numpy())
    points = points[~points.index.duplicated()]
    out = cities.drop(columns=["longitude", "latitude", "coord_source"], errors="ignore").copy()
    lon, lat, src = [], [], []
    for cid in out["city_id"].astype(str):
        if cid in _FILLED_COORDS:
            x, y, how = _FILLED_COORDS[cid]
            if x is None:
                host = how.split(":")[1]
                x, y = points.loc[host, "longitude"], points.loc[host, "latitude"]
        elif cid in points.index:
            x, y, how = points.loc[cid, "longitude"], points.loc[cid, "latitude"], "cpca"
        else:
            raise KeyError(f"no coordinates for city_id {cid!r} in cpca's adcodes.csv")
        lon.append(float(x))
        lat.append(float(y))
        src.append(how)
    out["longitude"], out["latitude"], out["coord_source"] = lon, lat, src
    return out


def load_cities() -> pd.DataFrame:
    """Load the city metadata table: one row per ranked unit of mainland China.

    Returns
    -------
    pandas.DataFrame
        369 rows, a fresh copy on every call (changing it does not affect later
        calls). Columns ``city_id``, ``name_zh``, ``name_short``, ``name_en``,
        ``province``, ``province_en``, ``level``, ``unit_type``, ``region``, ``tier``,
        ``tier_en``, ``cluster``, ``cluster_en``, ``cluster_plans``, ``longitude``,
        ``latitude``, ``coord_source``; strings except ``tier`` and ``tier_en``
        (ordered categoricals, top tier first) and the coordinates (floats, degrees). ``cluster`` is
        ``""`` for units outside the 11 clusters. Sources, dates and caveats of every
        column are in the docstring of :mod:`dtistat.datasets.cities`.

    Examples
    --------
    >>> from dtistat.datasets import load_cities
    >>> cities = load_cities()
    >>> cities.loc[cities.name_short == "临高", ["city_id", "province", "cluster"]].iloc[0].tolist()
    ['469024', '海南', '北部湾']
    >>> int((cities.cluster == "长三角").sum())
    27
    """
    return _read().copy(deep=True)
