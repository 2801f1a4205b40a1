"""Difference in differences for staggered adoption: TWFE, event studies, Callaway-Sant'Anna,
Sun-Abraham, the Goodman-Bacon decomposition and placebo tests."""

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
]
