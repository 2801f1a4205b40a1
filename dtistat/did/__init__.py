"""Difference in differences for staggered adoption: TWFE, event studies, Callaway-Sant'Anna,
Sun-Abraham, imputation, the Goodman-Bacon decomposition, placebo tests and PSM-DiD."""

from dtistat.did._data import first_treated
from dtistat.did.bacon import bacon_decomposition
from dtistat.did.fit import fit_did
from dtistat.did.placebo import (
    PlaceboResult,
    PlaceboTimingResult,
    placebo_reassign,
    placebo_timing,
)
from dtistat.did.plot import bacon_plot, event_study_plot, placebo_plot
from dtistat.did.psm import PSMDiDResult, psm_did
from dtistat.did.results import (
    AggregateResult,
    BaconResult,
    CSResult,
    EventStudyResult,
    TWFEResult,
)

__all__ = [
    "AggregateResult",
    "BaconResult",
    "CSResult",
    "EventStudyResult",
    "PSMDiDResult",
    "PlaceboResult",
    "PlaceboTimingResult",
    "TWFEResult",
    "bacon_decomposition",
    "bacon_plot",
    "event_study_plot",
    "first_treated",
    "fit_did",
    "placebo_plot",
    "placebo_reassign",
    "placebo_timing",
    "psm_did",
]
