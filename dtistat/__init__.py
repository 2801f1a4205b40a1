"""dtistat: the digital transformation index toolkit."""

from dtistat.errors import (
    ColumnError,
    ConvergenceError,
    DataError,
    DtiStatError,
    DtiStatWarning,
    EstimationError,
    ParameterError,
    PeriodError,
    SpecError,
)

from dtistat.index import weights
from dtistat.index.compute import IndexResult, compute_index
from dtistat.spec import IndexSpec, Node

__version__ = "0.1.0"

__all__ = [
    "IndexResult",
    "IndexSpec",
    "Node",
    "compute_index",
    "weights",
    "ColumnError",
    "ConvergenceError",
    "DataError",
    "DtiStatError",
    "DtiStatWarning",
    "EstimationError",
    "ParameterError",
    "PeriodError",
    "SpecError",
]
