"""Build the digital transformation index on the demo world and read its analytics.

Run: ``python examples/index_demo.py``. The indicator data are simulated (calibrated to
the 2023 report's published tables); the city metadata are real.
"""

from dtistat import compute_index
from dtistat.datasets import load_demo

world = load_demo()
print(world.spec, end="\n\n")                    # the tree and expert-score weights

res = compute_index(world.cube, world.spec, entity="city", time="quarter", by="industry",
                    pool_by=True, metadata=world.cities)
city = res.collapse_by()                          # a city's index: sum over its industries

print(city.rank("2023Q1").head(10), end="\n\n")
print(city.rank_change(2022, "2023Q1", within="cluster", metadata=world.cities)
      .query("cluster == '京津冀'"), end="\n\n")
growth = city.growth("yoy_mean")                  # mean quarterly YoY, 2022Q1–2023Q1
print(growth.sort_values("yoy_mean", ascending=False).head(10), end="\n\n")

provinces = city.rollup("province", metadata=world.cities)
print(provinces.rank(2022).head(5), end="\n\n")
print(res.rollup("province", metadata=world.cities).share("by", period=2022)
      .query("industry == 'manufacturing'").nlargest(10, "share"))
