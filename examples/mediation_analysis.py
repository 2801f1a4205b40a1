"""Do digital infrastructure and platforms mediate future-industry investment?

Run: ``python examples/mediation_analysis.py``. The demo world's mediation panel is
simulated with a = (0.8, 0.5), b = (0.6, 0.9), c' = 0.3.
"""

from dtistat import fit_mediation, mediation_table
from dtistat.datasets import load_demo

panel = load_demo().mediation_panel
res = fit_mediation(panel, x="fi_investment", m=["digital_infrastructure", "digital_platform"],
                    y="fi_development", covariates=["log_dti_total"], entity="city",
                    time="quarter", fe="twoway", n_boot=5000, ci="bca", seed=1,
                    procedure="wen_ye_2014")
print(res)
print(mediation_table(res, format="markdown"))

jiang = fit_mediation(panel, x="fi_investment", m="digital_platform", y="fi_development",
                      entity="city", time="quarter", fe="twoway", n_boot=0,
                      procedure="jiang_2022")
print(jiang.procedure)
