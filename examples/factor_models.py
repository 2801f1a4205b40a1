"""Factor models end to end: adequacy tests, EFA, CFA and a driver regression.

Run: ``python examples/factor_models.py``. Uses the Holzinger–Swineford data shipped
with semopy (N = 301) and a small simulated entrepreneurship-environment world.
"""

import numpy as np
import pandas as pd
from semopy.examples import holzinger39

from dtistat import fit_cfa, fit_drivers, fit_efa, invariance_test

hs = holzinger39.get_data()
items = [f"x{i}" for i in range(1, 10)]

efa = fit_efa(hs, items, n_factors="parallel", rotation="promax", seed=1)
print(efa, end="\n\n")

cfa = fit_cfa(hs, """
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    speed   =~ x7 + x8 + x9
""")
print(cfa, end="\n\n")

# Measurement invariance across the two schools: configural -> metric -> scalar.
# lavaan tutorial: chi2 115.851 (48), 124.044 (54), 164.103 (60); the loadings are
# invariant (delta chi2 8.19, p = 0.22), the intercepts are not (40.06, p < 0.001).
mi = invariance_test(hs, """
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    speed   =~ x7 + x8 + x9
""", group="school")
print(mi.table[["chi2", "df", "cfi", "rmsea", "delta_chi2", "delta_df", "delta_p_value",
                "delta_cfi"]].round(3), end="\n\n")

# Simulated: AI-cluster size driven by two environment factors (true effects 0.5, 0.3).
rng = np.random.default_rng(0)
F = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], size=2000)
lam = np.array([[0.8, 0], [0.7, 0], [0.6, 0], [0, 0.8], [0, 0.7], [0, 0.6]])
X = F @ lam.T + rng.normal(size=(2000, 6)) * np.sqrt(1 - (lam**2).sum(axis=1))
env = pd.DataFrame(X, columns=["venture_capital", "rd", "patents", "incubators",
                               "policy", "open_source"])
env["ai_cluster"] = 0.5 * F[:, 0] + 0.3 * F[:, 1] + rng.normal(scale=0.5, size=2000)
efa_env = fit_efa(env, list(env.columns[:6]), n_factors=2, method="ml",
                  rotation="oblimin")
# Factors are ordered by variance explained; name each by its top-loading indicator.
names = {f: efa_env.loadings[f].abs().idxmax() + "_factor" for f in efa_env.loadings}
scores = efa_env.scores.rename(columns=names)
print(fit_drivers(env.join(scores), "ai_cluster", list(scores.columns),
                  standardize=False))
