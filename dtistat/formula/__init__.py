"""The formula engine of dtistat: formulaic's Wilkinson formulas plus panel lags, safely.

``build_design(data, "log(y) ~ log(x)*z + C(region) + L(x, 1)", entity=..., time=...)``
returns a :class:`Design` (outcome, Fortran-ordered regressors, names, kept rows and
what was dropped); :func:`parse_time` reads a time column onto its calendar.
"""

from dtistat.formula._shift import Shifter, panel_keys, panel_shifter
from dtistat.formula._time import parse_time
from dtistat.formula.design import Design, build_design

__all__ = [
    "Design", "Shifter", "build_design", "panel_keys", "panel_shifter", "parse_time",
]
