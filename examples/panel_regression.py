"""Digitalization and future-industry development: two-way FE panel regressions.

Run: ``python examples/panel_regression.py``. Uses the demo world's simulated city ×
quarter panel (true effect of log DTI: 2.0).
"""

from dtistat import fit_panel, hausman, regression_table
from dtistat.datasets import load_demo

panel = load_demo().mediation_panel
f = "fi_development ~ log_dti_total + fi_investment + log_population + log_gdp_per_capita"
fe = fit_panel(panel, f, entity="city", time="quarter", fe="twoway", cov="cluster")
lag = fit_panel(panel, "fi_development ~ log_dti_total + L(log_dti_total, 1)",
                entity="city", time="quarter", fe="twoway", cov="cluster")
print(regression_table([fe, lag], format="markdown"))

fe_u = fit_panel(panel, "fi_development ~ log_dti_total", entity="city", time="quarter",
                 cov="unadjusted")
re_u = fit_panel(panel, "fi_development ~ log_dti_total", entity="city", time="quarter",
                 model="random", cov="unadjusted")
print(hausman(fe_u, re_u))
