"""The one error taxonomy of dtistat: every bad input raises a ``DtiStatError``.

Each subclass also derives from the builtin that fits (``ValueError``, ``KeyError``,
``RuntimeError``), so ``except ValueError`` in user code keeps working. Messages name
the column, row or parameter at fault and what would be valid.
"""

from __future__ import annotations

__all__ = [
    "DtiStatError",
    "SpecError",
    "DataError",
    "ColumnError",
    "PeriodError",
    "ParameterError",
    "EstimationError",
    "ConvergenceError",
    "DtiStatWarning",
]


class DtiStatError(Exception):
    """Base class of every error dtistat raises on purpose."""


class SpecError(DtiStatError, ValueError):
    """An index specification (tree, weights, expert scores, model syntax) is invalid."""


class DataError(DtiStatError, ValueError):
    """The data handed in cannot be used as given (NaN, duplicates, wrong type, ...)."""


class ColumnError(DataError, KeyError):
    """A named column is missing from the data, or has the wrong type."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PeriodError(DataError):
    """A period (quarter) is unparsable or not present in the data."""


class ParameterError(DtiStatError, ValueError):
    """A keyword argument has a value outside what the function accepts."""


class EstimationError(DtiStatError, RuntimeError):
    """An estimator cannot proceed on this data (singular design, no variation, ...)."""


class ConvergenceError(EstimationError):
    """An iterative algorithm did not converge within its limits."""


class DtiStatWarning(UserWarning):
    """A result is computed but deserves caution (few clusters, few draws, ...)."""
