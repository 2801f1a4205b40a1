"""Difference in differences for staggered adoption: TWFE, event studies, Callaway-Sant'Anna,
Sun-Abraham, the Goodman-Bacon decomposition and placebo tests."""

from dtistat.did._data import first_treated
from dtistat.did.bacon import bacon_decomposition
from dtistat.did.fit import fit_did
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
    "TWFEResult",
    "bacon_decomposition",
    "first_treated",
    "fit_did",
]
