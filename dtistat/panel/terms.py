"""fit_panel's term reader (to be replaced by dtistat.formula)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _linalg
from dtistat.errors import DataError, EstimationError, SpecError

__all__ = ["parse_formula", "eval_term", "dummies"]

@dataclass(frozen=True)
class _Term:
    kind: str  # "col" | "L" | "D" | "C"
    name: str  # display name
    arg: Any  # column name, or inner _Term for L / D
    k: int = 1

    def columns(self) -> list:
        if self.kind in ("col", "C"):
            return [self.arg]
        return self.arg.columns()

    def has_shift(self) -> bool:
        return self.kind in ("L", "D") or (
            isinstance(self.arg, _Term) and self.arg.has_shift()
        )


_CALL = re.compile(r"^([A-Za-z]+)\((.*)\)$", re.DOTALL)


def _split_top(s: str) -> list[tuple[str, str]]:
    """Split at top-level + and -; returns (sign, piece)."""
    out, depth, cur, sign = [], 0, "", "+"
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch in "+-" and depth == 0:
            if cur.strip():
                out.append((sign, cur.strip()))
            elif ch == "-" and sign == "-":
                raise SpecError(f"cannot parse {s!r}: two '-' in a row")
            sign, cur = ch, ""
            continue
        cur += ch
    if depth != 0:
        raise SpecError(f"unbalanced parentheses in {s!r}")
    if cur.strip():
        out.append((sign, cur.strip()))
    return out


def _parse_term(s: str, formula: str) -> _Term:
    s = s.strip()
    if s.startswith("`") and s.endswith("`") and len(s) > 1:
        return _Term("col", s[1:-1], s[1:-1])
    m = _CALL.match(s)
    if not m:
        if not s or any(c in s for c in "(),*:/^~"):
            raise SpecError(
                f"cannot parse term {s!r} in formula {formula!r}; use column names, "
                "L(x, k), D(x) or C(x) joined by '+'"
            )
        return _Term("col", s, s)
    fn, inner = m.group(1), m.group(2)
    parts = [p.strip() for p in inner.split(",")] if "(" not in inner else None
    if parts is None:  # nested call: split at the last top-level comma
        depth, cut = 0, -1
        for i, ch in enumerate(inner):
            depth += ch == "("
            depth -= ch == ")"
            if ch == "," and depth == 0:
                cut = i
        parts = [inner.strip()] if cut < 0 else [inner[:cut].strip(), inner[cut + 1:].strip()]
    if fn in ("L", "D"):
        if len(parts) not in (1, 2):
            raise SpecError(f"{fn}() takes a variable and an optional integer: {s!r}")
        k = 1
        if len(parts) == 2:
            try:
                k = int(parts[1])
            except ValueError:
                raise SpecError(f"the lag order in {s!r} must be an integer") from None
            if k < 0 or (fn == "D" and k < 1):
                raise SpecError(f"the order in {s!r} must be a positive integer")
        inner_t = _parse_term(parts[0], formula)
        if inner_t.kind == "C":
            raise SpecError(f"{s!r}: lags or differences of C() are not supported")
        name = f"{fn}({inner_t.name}" + (f", {k})" if len(parts) == 2 else ")")
        return _Term(fn, name, inner_t, k)
    if fn == "C":
        if len(parts) != 1:
            raise SpecError(f"C() takes one column name: {s!r}")
        return _Term("C", f"C({parts[0]})", parts[0])
    raise SpecError(
        f"unknown function {fn!r} in term {s!r}; supported: L(x, k), D(x, k), C(x)"
    )


def parse_formula(formula: str) -> tuple[_Term, list[_Term], bool]:
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise SpecError(f"formula must look like 'y ~ x1 + x2', got {formula!r}")
    lhs, rhs = formula.split("~")
    if not lhs.strip():
        raise SpecError(f"formula {formula!r} has no dependent variable")
    dep = _parse_term(lhs, formula)
    if dep.kind == "C":
        raise SpecError("the dependent variable cannot be C(...)")
    intercept = True
    terms: list[_Term] = []
    for sign, piece in _split_top(rhs):
        if piece in ("0", "1"):
            if piece == "0" or sign == "-":
                intercept = False
            continue
        if sign == "-":
            raise SpecError(f"'- {piece}' is not supported; only '- 1' removes the intercept")
        t = _parse_term(piece, formula)
        if t.name not in [u.name for u in terms]:
            terms.append(t)
    if not terms and not intercept:
        raise SpecError(f"formula {formula!r} has no regressors")
    return dep, terms, intercept




def eval_term(term: _Term, data: pd.DataFrame, shifter):
    """Values of a numeric term and a mask of rows missing by construction (lags)."""
    if term.kind == "col":
        v = data[term.arg].to_numpy(dtype=float, na_value=np.nan)
        return v, np.zeros(len(v), dtype=bool)
    v, miss = eval_term(term.arg, data, shifter)
    if term.kind == "L" and term.k == 0:
        return v, miss
    rows, found = shifter.rows(term.k)
    lagged = np.where(found, v[rows], np.nan)
    lmiss = ~found | miss[rows]
    if term.kind == "L":
        return lagged, lmiss
    return v - lagged, lmiss | miss  # D(x, k) = x - L(x, k)


def dummies(data: pd.DataFrame, col: str, name: str) -> tuple[np.ndarray, list[str]]:
    s = data[col]
    if s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        raise DataError(f"column {col!r} used in {name} is missing at row {s.index[i]!r}")
    codes, levels = pd.factorize(s, sort=True)
    if len(levels) < 2:
        raise EstimationError(f"{name} has a single level ({levels[0]!r}): no variation")
    return _linalg.dummies(codes, len(levels)), [f"{name}[{lv}]" for lv in levels[1:]]
