"""The future-industry index from start-up firm records (six domains, four dimensions).

Run: ``python examples/future_industries.py``. The 200,000 firms are simulated.
"""

from dtistat import future_industry_index
from dtistat.datasets import load_demo

world = load_demo()
fut = future_industry_index(world.firms, entity="city_id", funding="funding_amount",
                            rounds="funding_rounds", metadata=world.cities)
top = fut.index.rank("2023Q1").head(10)
top["city"] = top["city_id"].map(dict(zip(world.cities["city_id"], world.cities["city"])))
print(top)
print(fut.profiles())
print(fut.comovement().round(2))
