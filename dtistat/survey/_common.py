"""Shared helpers of the survey estimators: constants, weights, categories, PSU sums."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dtistat._scale import column_scale
from dtistat._validate import (
    check_columns,
    check_floats,
    check_numeric,
)
from dtistat.errors import (
    DataError,
    ParameterError,
)

__all__ = ["effective_n", "kish_deff"]

TESTS = ("rao-scott", "rao-scott-1", "pearson")
CI_METHODS = ("wilson", "logit", "korn-graubard")
LINKS = ("logit", "probit")
COV_TYPES = ("robust", "nonrobust")


# ============================================================================ helpers

def kish_deff(weights: Any) -> float:
    """Kish design effect due to unequal weighting, ``n * sum(w^2) / sum(w)^2``.

    Equals ``1 + CV^2`` of the weights (Kish 1965, *Survey Sampling*, §11.7; Kish
    1992, J. Official Statistics 8(2):183-200, eq. 2).

    Examples
    --------
    >>> kish_deff([1.0, 1.0, 2.0, 4.0])
    1.375
    """
    w = _weight_vector(weights)
    w = w / column_scale(w)  # free of the weights' unit: no overflow of w² near 1e308
    return float(w.size * np.sum(w**2) / np.sum(w) ** 2)


def effective_n(weights: Any) -> float:
    """Kish effective sample size ``sum(w)^2 / sum(w^2)`` (= n / :func:`kish_deff`).

    Examples
    --------
    >>> effective_n([1.0, 1.0, 2.0, 4.0])
    2.909090909090909
    """
    w = _weight_vector(weights)
    w = w / column_scale(w)  # free of the weights' unit: no underflow of w² near 1e-300
    return float(np.sum(w) ** 2 / np.sum(w**2))


def _weight_vector(weights: Any) -> np.ndarray:
    """A non-empty vector of finite, non-negative weights, not all zero."""
    w = check_floats(weights, "weights")
    if w.ndim != 1 or w.size == 0:
        raise DataError(f"weights must be a non-empty 1-D sequence of numbers, got shape "
                        f"{w.shape}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"weights must be finite and >= 0; position {i} holds {w[i]!r}")
    if not (w > 0).any():
        raise DataError("weights are all zero")
    return w


def _weights(data: pd.DataFrame, weight: str | None) -> np.ndarray:
    """Weights as a float array; None -> ones. Zero, negative or missing weights fail."""
    if weight is None:
        return np.ones(len(data))
    check_columns(data, [weight], what="weight column")
    check_numeric(data, [weight])
    w = data[weight].to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"weight column {weight!r} has a missing or infinite value at row "
            f"{data.index[i]!r} ({int(bad.sum())} in all); every respondent needs a weight"
        )
    bad = w <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"weight column {weight!r} has a zero or negative weight ({w[i]!r}) at row "
            f"{data.index[i]!r} ({int(bad.sum())} such row(s)); weights must be positive — "
            f"drop respondents who should not count instead of giving them weight 0"
        )
    return w


def _present(data: pd.DataFrame, cols: list) -> np.ndarray:
    """Boolean mask of rows with no missing value in ``cols``."""
    if not cols:
        return np.ones(len(data), dtype=bool)
    return data[cols].notna().all(axis=1).to_numpy()


def _complete_answers(data: pd.DataFrame, var: Any, multi: Any, is_multi: bool,
                      others: list, name: str) -> tuple[np.ndarray, Any, Any]:
    """Rows with the question ``var`` and the ``others`` columns all present.

    Returns the mask and, for a multi-select question, its 0/1 option indicators (all
    rows) and its name (else None, None). ``name`` is the argument holding ``var``.
    """
    if is_multi:
        ind_all, qname = _multi_indicators(data, var, multi)
        return (_present(data, others) & ind_all.notna().all(axis=1).to_numpy(), ind_all,
                qname)
    if multi is True:
        raise ParameterError(f"multi=True needs {name} to be a list of 0/1 option columns")
    check_columns(data, [var], what="column")
    return _present(data, others + [var]), None, None


def _categories(s: pd.Series) -> tuple[np.ndarray, list, bool]:
    """Codes 0..k-1, category labels, and whether the variable is ordered.

    Ordered: an ordered pandas Categorical (categories in their order), a numeric or
    boolean column (sorted values). Unused categories of a Categorical are dropped.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        used = [c for c in s.cat.categories if c in set(s.dropna().unique())]
        cats = pd.Categorical(s, categories=used, ordered=s.cat.ordered)
        return np.asarray(cats.codes, dtype=np.int64), list(used), bool(s.cat.ordered)
    if pd.api.types.is_bool_dtype(s) or (
        pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s)
    ):
        codes, uniq = pd.factorize(s, sort=True)
        return codes.astype(np.int64), list(uniq), True
    codes, uniq = pd.factorize(s, sort=True)
    return codes.astype(np.int64), list(uniq), False


def _scores(labels: list) -> np.ndarray:
    """Scores of ordered categories: the values if numeric, else 1..k (Agresti 2013 §3.4.2)."""
    try:
        v = np.asarray(labels, dtype=float)
        if np.all(np.isfinite(v)):
            return v
    except (TypeError, ValueError):
        pass
    return np.arange(1.0, len(labels) + 1.0)


def _psu(data: pd.DataFrame, cluster: str | None, n: int) -> tuple[np.ndarray, int]:
    """PSU codes (each row its own PSU when no cluster) and the number of PSUs."""
    if cluster is None:
        return np.arange(n), n
    codes, uniq = pd.factorize(data[cluster], sort=True)
    return codes.astype(np.int64), len(uniq)


def _psu_sums(values: np.ndarray, psu: np.ndarray, m: int) -> np.ndarray:
    """Sum the rows of ``values`` (n x k) within PSUs -> (m x k)."""
    out = np.zeros((m, values.shape[1]))
    np.add.at(out, psu, values)
    return out


def _fmt_table(df: pd.DataFrame, digits: int = 4) -> str:
    return df.to_string(float_format=lambda v: f"{v:.{digits}f}")


def _multi_indicators(data: pd.DataFrame, col: Any, multi: Any) -> tuple[pd.DataFrame, str]:
    """0/1 indicator frame (rows = respondents, NaN = not answered) and question name."""
    if isinstance(col, (list, tuple)):
        if multi not in (None, True):
            raise ParameterError(
                "with a list of 0/1 option columns leave multi=None (or True); "
                "multi='<delimiter>' is for one column of delimited answers"
            )
        cols = check_columns(data, list(col), what="option column")
        ind = pd.DataFrame(index=data.index)
        for c in cols:
            s = data[c]
            v = pd.to_numeric(s.astype("float64") if pd.api.types.is_bool_dtype(s) else s,
                              errors="coerce")
            bad = (v.notna() & ~v.isin([0, 1])) | (s.notna() & v.isna())
            if bad.any():
                i = bad.to_numpy().nonzero()[0][0]
                raise DataError(
                    f"option column {c!r} must hold 0/1 (or True/False); row "
                    f"{data.index[i]!r} holds {s.iloc[i]!r}"
                )
            ind[c] = v.astype(float)
        return ind, " | ".join(map(str, cols))
    check_columns(data, [col], what="multi-select column")
    if not isinstance(multi, str) or not multi:
        raise ParameterError(
            f"multi={multi!r}: give the delimiter of the answers in column {col!r}, "
            f"e.g. multi=';', or pass a list of 0/1 option columns as col"
        )
    s = data[col]
    present = s.notna()
    tokens = s[present].astype(str).str.split(multi, regex=False)
    tokens = tokens.map(lambda t: sorted({x.strip() for x in t if x.strip()}))
    options = sorted({o for t in tokens for o in t})
    if not options:
        raise DataError(f"multi-select column {col!r} has no option in any answer "
                        f"(delimiter {multi!r})")
    ind = pd.DataFrame(np.nan, index=data.index, columns=options)
    for o in options:
        ind.loc[present, o] = tokens.map(lambda t, o=o: float(o in t))
    return ind, str(col)


def deprecated_weight(weights, weight, fn: str):
    """``weights=`` is the name in every function; ``weight=`` still works, with a warning."""
    if weight is None:
        return weights
    import warnings

    warnings.warn(f"{fn}(weight=...) is deprecated; use weights=", FutureWarning,
                  stacklevel=3)
    return weight if weights is None else weights
