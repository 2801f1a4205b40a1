"""The one error taxonomy of dtistat: every bad input raises a ``DtiStatError``.

Each subclass also derives from the builtin that fits (``ValueError``, ``KeyError``,
``RuntimeError``), so ``except ValueError`` in user code keeps working. Messages name
the column, row or parameter at fault and what would be valid.
"""

from __future__ import annotations

import re

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


# NumPy 2 scalars repr as ``np.int64(0)``: a message shows the plain value instead
_NP_SCALAR = re.compile(
    r"np\.(?:u?int\d*|float\d*|longdouble|str_|bytes_)"
    r"\(((?:'[^']*'|\"[^\"]*\"|[^()'\"])*)\)"
)
_NP_BOOL = re.compile(r"np\.(True|False)_")


def _plain_message(args: tuple) -> tuple:
    if args and isinstance(args[0], str):
        msg = _NP_BOOL.sub(r"\1", _NP_SCALAR.sub(r"\1", args[0]))
        return (msg, *args[1:])
    return args


class DtiStatError(Exception):
    """Base class of every error dtistat raises on purpose."""

    def __init__(self, *args: object) -> None:
        super().__init__(*_plain_message(args))


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

    def __init__(self, *args: object) -> None:
        super().__init__(*_plain_message(args))
