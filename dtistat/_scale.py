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

__all__ = ["CONSTANT_RTOL", "check_outcome_varies", "column_scale", "is_constant"]

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
    top = _abs_max(X)
    return np.ldexp(1.0, np.frexp(np.where(top > 0, top, 1.0))[1] - 1)


def _abs_max(X: np.ndarray) -> np.ndarray:
    """Largest absolute finite value of each column of a 2-d X (0 for none)."""
    if X.shape[0]:
        # two reductions without temporaries: max |x| = max(max x, -min x) when every
        # value is finite (a NaN or an infinity makes it non-finite: the masked path)
        top = np.maximum(X.max(axis=0), -X.min(axis=0))
        if np.isfinite(top).all():
            return top
    with np.errstate(invalid="ignore"):
        return np.max(np.where(np.isfinite(X), np.abs(X), 0.0), axis=0, initial=0.0)


def is_constant(spread: np.ndarray | float, top: np.ndarray | float) -> np.ndarray:
    """True where ``spread`` (an SD or a range) is not above ``CONSTANT_RTOL * top``.

    ``top`` is the largest absolute value of the same values; NaN spreads count as
    constant.
    """
    spread = np.asarray(spread, dtype=float)
    return ~(spread > CONSTANT_RTOL * np.asarray(top, dtype=float))


#: regressions form sums of squares of the data (X'X, e'e): values beyond this
#: magnitude (or non-zero values below its reciprocal) would overflow (underflow)
MAX_MAGNITUDE = 1e150


def check_magnitude(X: np.ndarray, names: list, what: str, *,
                    limit: float = MAX_MAGNITUDE,
                    forms: str = "sums of squares") -> None:
    """Refuse columns a regression's sums of squares cannot hold.

    A column whose largest absolute value exceeds ``limit`` (default
    ``MAX_MAGNITUDE``: its squares pass 1e300) or is non-zero but below ``1 / limit``
    raises :class:`DataError` naming it, instead of an overflow read as collinearity or
    a zero variance. ``forms`` says what the method computes (for the message).
    """
    from dtistat.errors import DataError

    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.size == 0:
        return
    top = _abs_max(X)
    bad = (top > limit) | ((top > 0) & (top < 1.0 / limit))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        k = int(np.floor(np.log10(top[j])))
        e = int(round(np.log10(limit)))
        raise DataError(
            f"{names[j]!r} has values of magnitude up to {top[j]:.3g}: {what} forms "
            f"{forms}, which floating point holds only for values between 1e-{e} "
            f"and 1e{e} in magnitude; rescale it (e.g. divide by 1e{k})"
        )


def check_outcome_varies(y: np.ndarray, name: str, func: str,
                         top: float | None = None) -> None:
    """Refuse an outcome that is constant up to rounding (``is_constant`` of its range):
    its "explained" variation would be floating-point noise. ``top``: the largest
    absolute value of the raw outcome when ``y`` is demeaned (fixed effects), so that
    variation within the effects is measured against the outcome's own magnitude.

    Examples
    --------
    >>> check_outcome_varies(np.array([5.0, 5.0 + 1e-15]), "y", "fit_x")
    Traceback (most recent call last):
    ...
    dtistat.errors.DataError: fit_x: the outcome 'y' is constant (equal up to rounding): ...
    """
    from dtistat.errors import DataError

    f = np.asarray(y, dtype=float).ravel()
    f = f[np.isfinite(f)]
    if f.size and is_constant(np.ptp(f), np.abs(f).max() if top is None else top):
        raise DataError(f"{func}: the outcome {name!r} is constant (equal up to rounding): "
                        "there is nothing to explain")
