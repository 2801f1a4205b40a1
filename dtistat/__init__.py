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

__version__ = "0.1.0"

__all__ = [
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
