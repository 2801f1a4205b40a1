"""Weight sensitivity of a composite index: rank uncertainty under weight draws, and Sobol indices.

Modules: :mod:`.context` (the arrays an analysis works on), :mod:`.draws` (weight
draws), :mod:`.engine` with :mod:`.kernel` and :mod:`.bands` (exact ranks of every
draw), :mod:`.quantiles`, :mod:`.frames`, :mod:`.results`, :mod:`.analysis`
(:func:`weight_sensitivity`), :mod:`.sobol` and :mod:`.memory`.
"""

from dtistat.sensitivity.analysis import weight_sensitivity
from dtistat.sensitivity.draws import METHODS, SCHEMES
from dtistat.sensitivity.results import SensitivityResult, SobolResult
from dtistat.sensitivity.sobol import sobol_indices, sobol_weights

__all__ = [
    "METHODS",
    "SCHEMES",
    "SensitivityResult",
    "SobolResult",
    "sobol_indices",
    "sobol_weights",
    "weight_sensitivity",
]
