"""Scale handling shared by scale-invariant methods (issue #21 item 5).

Methods whose result does not depend on a column's units (correlations, shares,
min-max, z-scores, coefficients of variation, ...) divide each column by a power of two
near its largest absolute value before any sum of values or of squares: the division
is exact in binary floating point, so results at ordinary scales are unchanged to the
last bit, while data near 1e308 no longer overflow and data near 1e-300 no longer
underflow. Constancy is judged relative to the column's magnitude: an SD or range
below :data:`CONSTANT_RTOL` times the largest absolute value is rounding noise.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CONSTANT_RTOL", "column_scale", "is_constant"]

#: relative size below which variation is rounding noise (about 4500 units in the
#: last place of the column's largest value)
CONSTANT_RTOL = 1e-12


def column_scale(X: np.ndarray) -> np.ndarray:
    """Per-column power of two ``2**e`` with ``max|x| / 2**e`` in [1, 2).

    NaN and infinite values are ignored; a column of zeros (or without a finite value)
    gets scale 1.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    with np.errstate(invalid="ignore"):
        top = np.max(np.where(np.isfinite(X), np.abs(X), 0.0), axis=0, initial=0.0)
    return np.ldexp(1.0, np.frexp(np.where(top > 0, top, 1.0))[1] - 1)


def is_constant(spread: np.ndarray | float, top: np.ndarray | float) -> np.ndarray:
    """True where ``spread`` (an SD or a range) is not above ``CONSTANT_RTOL * top``.

    ``top`` is the largest absolute value of the same values; NaN spreads count as
    constant.
    """
    spread = np.asarray(spread, dtype=float)
    return ~(spread > CONSTANT_RTOL * np.asarray(top, dtype=float))
