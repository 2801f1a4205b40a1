"""Linear panel models: within (one- and two-way FE), random, between, first difference, pooled.

``fit_panel`` estimates ``y ~ x1 + x2`` on an entity x time panel and returns a frozen
:class:`PanelResult`; ``hausman`` compares a within and a random-effects fit. The package
is split by job (formulas and lags come from :mod:`dtistat.formula`):
``absorb`` (fixed effects swept out without dummies), ``estimators`` (the models on
arrays), ``fit`` (the front door and the covariance, through :mod:`dtistat.inference`),
``results`` and ``hausman``.
"""

from dtistat.panel.fit import EFFECTS, MODELS, fit_panel
from dtistat.panel.hausman import hausman
from dtistat.panel.results import FTest, HausmanResult, PanelResult

__all__ = ["FTest", "HausmanResult", "PanelResult", "fit_panel", "hausman", "MODELS", "EFFECTS"]
