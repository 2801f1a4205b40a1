"""Hansen (1999) panel threshold regression: estimation, bootstrap tests, results.

:func:`fit_threshold` is the entry point; :mod:`dtistat.threshold._core` computes SSR(γ)
over the grid by cumulative sums, :mod:`dtistat.threshold._search` runs the sequential
estimation and the batched bootstrap, :mod:`dtistat.threshold.results` holds the result.
"""

from dtistat.threshold._fit import fit_threshold
from dtistat.threshold._search import lr_constant
from dtistat.threshold.results import ThresholdResult

__all__ = ["ThresholdResult", "fit_threshold", "lr_constant"]
