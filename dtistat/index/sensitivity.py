"""Former home of the weight-sensitivity analysis, now :mod:`dtistat.sensitivity` (re-exported)."""

from dtistat.sensitivity import (
    METHODS,
    SCHEMES,
    SensitivityResult,
    SobolResult,
    sobol_indices,
    sobol_weights,
    weight_sensitivity,
)

__all__ = [
    "METHODS",
    "SCHEMES",
    "SensitivityResult",
    "SobolResult",
    "sobol_indices",
    "sobol_weights",
    "weight_sensitivity",
]
