"""Would the top-10 cities stay in the top 10 if the experts had scored differently?

Run: ``python examples/weight_sensitivity.py``.
"""

from dtistat import sobol_weights, weight_sensitivity
from dtistat.datasets import load_demo

world = load_demo()
city = world.cube.groupby(["city", "quarter"], as_index=False)[world.spec.columns].sum()

boot = weight_sensitivity(city, world.spec, method="expert_bootstrap", n_draws=5000, seed=1,
                          top_k=10)
table = boot.rank_table()
print(table[table["quarter"].astype(str) == "2023Q1"].sort_values("nominal_rank").head(15))

noise = weight_sensitivity(city, world.spec, method="multiplicative", delta=0.5,
                           n_draws=5000, seed=1, periods=["2023Q1"])
print(noise)

print(sobol_weights(city, world.spec, groups="layer", n_base=1024, seed=1).summary())
