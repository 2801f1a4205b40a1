"""Published tables of the report (2023 数字化转型指数报告, PART 1), as data.

Source: 腾讯研究院, 企鹅有调 & 清华大学二十国集团创业研究中心 (2023), 《数字化转型指数报告2023
—构建未来产业竞争力》, PART 1 "数字化转型指数", sections 2 (整体趋势) and 3 (全国重点区域特征).
City names are the full official names as in the report's tables; province names are the
short Chinese names used in its province tables. "YoY growth" is the mean of the quarterly
year-on-year rates over 2022Q1–2023Q1 (the report's footnote "同比增速为2022Q1-2023Q1季度均值").

The demo world (:mod:`dtistat.datasets.demo_index`) is calibrated to these tables and the
tests check the calibration through the public API.
"""

from __future__ import annotations

__all__ = [
    "CLUSTER_TABLES",
    "PROVINCE_INDUSTRY_TABLES",
    "CLUSTER_TOP3",
    "NATIONAL_RANKS_2023Q1",
    "SHAPE_TARGETS",
]

# 珠三角 / 京津冀 / 长三角: "2022排名", "2023Q1排名 + 排名变化", "增速排名 + 同比增速".
CLUSTER_TABLES: dict[str, dict] = {
    "珠三角": {
        "rank_2022": ["深圳市", "广州市", "东莞市", "佛山市", "中山市", "惠州市", "江门市",
                      "珠海市", "肇庆市"],
        "rank_2023Q1": ["深圳市", "广州市", "东莞市", "佛山市", "中山市", "惠州市", "江门市",
                        "珠海市", "肇庆市"],
        "yoy": {"中山市": 16.0, "江门市": 13.5, "肇庆市": 10.4, "深圳市": 10.1, "东莞市": 9.9,
                "惠州市": 8.6, "佛山市": 5.7, "珠海市": 2.5, "广州市": -1.4},
    },
    "京津冀": {
        "rank_2022": ["北京市", "天津市", "石家庄市", "保定市", "廊坊市", "唐山市", "沧州市",
                      "邯郸市", "邢台市", "张家口市", "秦皇岛市", "衡水市", "承德市"],
        "rank_2023Q1": ["北京市", "天津市", "石家庄市", "保定市", "廊坊市", "唐山市", "邯郸市",
                        "沧州市", "邢台市", "张家口市", "衡水市", "秦皇岛市", "承德市"],
        "yoy": {"承德市": 15.4, "邢台市": 13.4, "保定市": 12.0, "衡水市": 11.9, "邯郸市": 11.5,
                "唐山市": 11.3, "沧州市": 11.2, "秦皇岛市": 10.5, "张家口市": 10.0,
                "廊坊市": 5.8, "石家庄市": 5.4, "北京市": 2.4, "天津市": -0.6},
    },
    "长三角": {
        "rank_2022": ["上海市", "杭州市", "苏州市", "南京市", "合肥市", "宁波市", "无锡市",
                      "温州市", "常州市", "南通市", "金华市", "嘉兴市", "台州市", "盐城市",
                      "绍兴市", "泰州市", "扬州市", "镇江市", "湖州市", "芜湖市", "安庆市",
                      "滁州市", "马鞍山市", "宣城市", "舟山市", "铜陵市", "池州市"],
        "rank_2023Q1": ["上海市", "杭州市", "苏州市", "南京市", "合肥市", "无锡市", "宁波市",
                        "温州市", "常州市", "南通市", "金华市", "台州市", "嘉兴市", "盐城市",
                        "绍兴市", "泰州市", "扬州市", "芜湖市", "湖州市", "镇江市", "滁州市",
                        "安庆市", "宣城市", "马鞍山市", "舟山市", "池州市", "铜陵市"],
        # 湖州 and 温州 are both printed as 11.8% with 湖州 ranked 11th, 温州 12th.
        "yoy": {"合肥市": 42.7, "马鞍山市": 30.1, "铜陵市": 28.8, "池州市": 28.7, "杭州市": 21.0,
                "宣城市": 20.4, "滁州市": 19.8, "上海市": 16.2, "舟山市": 14.1, "安庆市": 12.3,
                "湖州市": 11.8, "温州市": 11.8, "台州市": 11.6, "盐城市": 10.9, "宁波市": 10.8,
                "扬州市": 10.7, "镇江市": 9.7, "泰州市": 9.5, "无锡市": 9.4, "金华市": 9.0,
                "嘉兴市": 8.9, "常州市": 8.2, "绍兴市": 6.3, "芜湖市": 4.9, "南通市": 4.5,
                "苏州市": 4.4, "南京市": -2.0},
    },
}

# "制造业/智慧金融/通信在本省数字产业占比[2022]" (share rank) and "增速排名" (growth rank).
PROVINCE_INDUSTRY_TABLES: dict[str, dict[str, list[str]]] = {
    "manufacturing": {
        "share_2022": ["四川", "山东", "吉林", "重庆", "上海", "广东", "山西", "湖北", "湖南", "江苏"],  # noqa: E501
        "growth": ["上海", "重庆", "北京", "江苏", "广东", "四川", "河北", "山西", "吉林", "安徽"],  # noqa: E501
    },
    "finance": {
        "share_2022": ["重庆", "广东", "安徽", "河南", "江苏", "上海", "辽宁", "吉林", "青海", "广西"],  # noqa: E501
        "growth": ["重庆", "天津", "安徽", "北京", "海南", "河南", "广西", "上海", "辽宁", "江西"],
    },
    "communications": {
        "share_2022": ["陕西", "甘肃", "安徽", "广东", "江苏", "广西", "浙江", "重庆", "湖北", "河南"],  # noqa: E501
        "growth": ["上海", "西藏", "重庆", "内蒙古", "宁夏", "广西", "山东", "新疆", "江苏", "黑龙江"],  # noqa: E501
    },
}

# "11大城市群2021Q1-2023Q1行业指标累计排名Top3" (industry keys of the demo world).
CLUSTER_TOP3: dict[str, list[str]] = {
    "珠三角": ["finance", "culture_sports_ent", "manufacturing"],
    "京津冀": ["life_services", "culture_sports_ent", "finance"],
    "长三角": ["ecommerce", "finance", "industry_tools"],
    "成渝": ["finance", "industry_tools", "manufacturing"],
    "呼包鄂榆": ["industry_tools", "finance", "culture_sports_ent"],
    "关中平原": ["industry_tools", "communications", "finance"],
    "长江中游": ["industry_tools", "finance", "games"],
    "哈长": ["industry_tools", "finance", "games"],
    "中原": ["industry_tools", "finance", "games"],
    "兰西": ["industry_tools", "finance", "communications"],
    "北部湾": ["industry_tools", "finance", "games"],
}

# National city ranks the text states for 2023Q1: 上海 1, 北京 2, 深圳 3 ("上北深"), 广州 4
# ("深圳、广州格局较为稳定"), 东莞 15, 佛山 17 ("2023年Q1排名全国第15、17").
NATIONAL_RANKS_2023Q1: dict[str, int] = {
    "上海市": 1, "北京市": 2, "深圳市": 3, "广州市": 4, "东莞市": 15, "佛山市": 17,
}

# Statements of the text, as checkable targets (see tests/test_demo_index.py).
SHAPE_TARGETS: dict[str, object] = {
    "national_peak": "2022Q2",                 # "到2022年二季度达到峰值"
    "national_qoq_negative": "2022Q3",         # "2022年三季度指数环比增速大幅下滑转为负值"
    "platform_yoy": {"2022Q1": 0.18, "2023Q1": 0.10},  # "同比增长分别为18%和10%"
    "application_yoy_negative": "2023Q1",      # "23年一季度的同比增长转为负值"
    "top_city_2023Q1": ["上海市", "北京市", "深圳市"],
    "infrastructure_first": "上海市",          # "上海整体指数和基础设施指数第一"
    "platform_application_first": "北京市",    # "北京平台和应用指数第一"
    "province_first_2022": "广东",
    "province_first_2023Q1": "上海",
    "province_enters_top10_2023Q1": "安徽",
    "tier1_share_min": 1 / 3,                  # "一线城市指数总量占全国城市整体比例超过1/3"
    "tier5_share_min": 1 / 4,                  # "五线城市指数总量占全国比例超过1/4"
    "tier5_yoy": 0.23,                         # "季度平均增速达到23%"
    "tier3_yoy": 0.08,                         # "三线城市增速8%最缓"
    "cluster_share": 0.80,                     # "指数占比长期保持在近8成"
    "fastest_province": "西藏",
    "fast_clusters": ["北部湾", "呼包鄂榆"],   # "城市平均增速最高（超20%）"
    "largest_industry": "finance",             # "金融业指数规模位居第一"
}
