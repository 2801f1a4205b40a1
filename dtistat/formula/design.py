"""Design matrices from formulas: the one formula engine of every dtistat estimator.

The Wilkinson part (``log(x)``, ``I(x**2)``, ``C(x)``, ``x*z``, ``x:z``, ``center()``,
``poly()``, ``- 1``) is formulaic's (the engine of linearmodels and pyfixest); dtistat
adds the panel operators ``L``/``D``/``F`` (:mod:`dtistat.formula._panelops`), checks
every expression before formulaic evaluates it (:mod:`dtistat.formula._safety`), and
applies one missing-value policy. Categorical levels and stateful transforms
(``center``, ``scale``, ``poly``) are computed on the rows kept for estimation.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import Formula, model_matrix
from formulaic.errors import FormulaicError
from formulaic.formula import SimpleFormula
from formulaic.transforms.contrasts import TreatmentContrasts

from dtistat._validate import check_choice, check_columns, check_frame
from dtistat.errors import DataError, SpecError
from dtistat.formula._panelops import PLACEHOLDER, ShiftEval, ShiftTerm, extract_shifts
from dtistat.formula._plain import plain_design
from dtistat.formula._safety import parse_expr
from dtistat.formula._shift import _plain, panel_shifter

__all__ = ["Design", "build_design"]

MISSING = ("raise", "drop")
ORDERINGS = ("degree", "patsy")
LEVEL_NAMES = ("plain", "formulaic")
# formulaic has log/exp/center/...; sqrt and abs are added (abs would otherwise be the
# Python builtin, which fails on a pandas Series of objects with a less clear message)
_CONTEXT = {"sqrt": np.sqrt, "abs": np.abs}
_ANSI = re.compile(r"\x1b\[[0-9;]*m|⧛|⧚")


@dataclass(frozen=True, eq=False, repr=False)
class Design:
    """A design built from a formula: outcome, regressors and what was dropped.

    Attributes
    ----------
    y : numpy.ndarray or None
        The outcome on the kept rows (None for a one-sided formula ``"~ x"``).
    y_name : str or None
        Its name (``"log(emp)"``, ``"D(y)"``).
    X : numpy.ndarray
        Regressors, Fortran-ordered (n_kept, p).
    names : list of str
        Column names of ``X``; the intercept is ``"const"``.
    has_intercept : bool
        Whether the formula asked for an intercept (``"const"`` is in ``names`` unless
        ``intercept_allowed=False``).
    rows : numpy.ndarray
        Positions (0-based) in ``data`` of the kept rows; ``index`` their labels.
    n_dropped_missing, n_dropped_lags : int
        Rows dropped because a data cell the formula reads is missing
        (``missing="drop"``), and rows dropped only because a lag, lead or difference
        has no period (a gap or the panel's edge).
    variables : list of str
        Data columns the formula reads (outcome first).
    factors : dict
        Categorical data column -> the ``X`` columns made from it (dummies and their
        interactions).
    terms : dict
        Each term of the right-hand side -> its ``X`` columns.
    formula : str
        The formula as given.
    """

    y: np.ndarray | None
    y_name: str | None
    X: np.ndarray
    names: list
    has_intercept: bool
    rows: np.ndarray
    index: pd.Index
    n_dropped_missing: int
    n_dropped_lags: int
    variables: list
    factors: dict
    terms: dict
    formula: str

    @property
    def nobs(self) -> int:
        """Number of kept rows."""
        return len(self.rows)

    def frame(self) -> pd.DataFrame:
        """``X`` as a DataFrame labelled by ``names`` and the kept rows' index."""
        return pd.DataFrame(self.X, columns=self.names, index=self.index)

    def __repr__(self) -> str:
        return (f"Design({self.formula!r}: {self.nobs} rows x {len(self.names)} columns; "
                f"dropped {self.n_dropped_missing} missing, {self.n_dropped_lags} for lags)")


def build_design(
    data: pd.DataFrame,
    formula: str,
    *,
    entity: str | None = None,
    time: str | None = None,
    missing: str = "raise",
    intercept_allowed: bool = True,
    ordering: str = "degree",
    level_names: str = "plain",
) -> Design:
    """Build the outcome and regressors of a formula on a DataFrame (never modified).

    Parameters
    ----------
    data : pandas.DataFrame
    formula : str
        ``"y ~ x1 + x2"`` in Wilkinson notation (formulaic's grammar) plus dtistat's
        panel operators ``L(x, k)`` (lag), ``D(x, k)`` (x - L(x, k)) and ``F(x, k)``
        (lead), k = 1 by default, within entity and calendar-aware (the lag of a row
        whose previous period is absent is missing, and the row is dropped). The
        README's section on formulas lists the grammar. A one-sided ``"~ x"`` builds
        X only.
    entity, time : str, optional
        Panel columns; ``time`` is required by L/D/F (``entity=None``: one series).
    missing : {"raise", "drop"}
        A missing cell in a column the formula reads raises a ``DataError`` naming the
        column and row, or (``"drop"``) drops the row and counts it.
    intercept_allowed : bool
        False for estimators whose effects absorb the intercept (within models, ordered
        logit): categorical terms are still coded against a reference level, as if
        the formula had an intercept, and no ``"const"`` column is returned.
    ordering : {"degree", "patsy"}
        Column order: by interaction degree in formula order (R's ``lm``, formulaic),
        or patsy's (terms without numeric factors first; statsmodels' formulas).
    level_names : {"plain", "formulaic"}
        Dummy names ``C(region)[b]`` (dtistat) or ``C(region)[T.b]`` (patsy, formulaic).

    Returns
    -------
    Design

    Raises
    ------
    SpecError
        Unparsable formula, a function or construct outside the allowed language, the
        outcome among the regressors, L/D/F without ``time``.
    ColumnError, DataError
        Unknown columns; missing values under ``missing="raise"``; non-finite values
        made by a transform (``log(0)``); duplicate (entity, time) rows with L/D/F.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": [1, 1, 1, 2, 2, 2], "t": [1, 2, 3, 1, 2, 3],
    ...                    "y": [1.0, 2.0, 4.0, 1.5, 2.5, 3.0],
    ...                    "x": [1.0, 2.0, 3.0, 2.0, 4.0, 8.0], "g": list("ababab")})
    >>> d = build_design(df, "log(y) ~ L(x) + x:C(g)", entity="id", time="t")
    >>> d.names, d.nobs, d.n_dropped_lags
    (['const', 'L(x)', 'x:C(g)[a]', 'x:C(g)[b]'], 4, 2)
    """
    data = check_frame(data)
    check_choice(missing, MISSING, "missing")
    check_choice(ordering, ORDERINGS, "ordering")
    check_choice(level_names, LEVEL_NAMES, "level_names")
    if not isinstance(intercept_allowed, bool):
        raise SpecError("intercept_allowed must be True or False")
    if not isinstance(formula, str):
        raise SpecError(f"formula must be a string such as 'y ~ x1 + x2', got {formula!r}")
    parsed = _parse(formula, ordering)
    keys = [c for c in (entity, time) if c is not None]
    check_columns(data, keys, what="panel column")
    check_columns(data, parsed.columns, what="formula variable")
    if parsed.shifts and time is None:
        raise SpecError(f"the formula {formula!r} uses L/D/F: pass time= (and "
                        "entity= for a panel) so lags follow the calendar")
    floats: dict = {}
    if missing == "raise":
        _refuse_missing(data, parsed.variables, keys, floats)
    rows, n_lag, n_raw, shifted = _kept_rows(data, parsed, entity, time, floats)
    fast = plain_design(parsed, data, floats, shifted, rows, intercept_allowed, ordering,
                        level_names)
    if fast is not None:
        y, y_name, X, names, terms, factors = fast
    else:
        frame = _frame(data, parsed.direct, shifted, rows)
        y, y_name, X, names, terms, factors = _materialize(
            parsed, frame, intercept_allowed, ordering, level_names)
    _check_finite(y, y_name, X, names, data.index[rows])
    return Design(
        y=y, y_name=y_name, X=X, names=names, has_intercept=parsed.intercept, rows=rows,
        index=data.index[rows], n_dropped_missing=n_raw, n_dropped_lags=n_lag,
        variables=list(parsed.variables),
        factors=factors, terms=terms, formula=formula,
    )


# ------------------------------------------------------------------ parsing
@dataclass
class _Parsed:
    text: str
    rewritten: str
    ordering: str
    formula: Formula
    lhs: list  # factor keys of the outcome
    shifts: list[ShiftTerm]
    direct: list  # data columns read outside L/D/F
    columns: list  # every data column read
    variables: list
    intercept: bool
    placeholders: dict


def _formulaic_error(exc: Exception) -> str:
    return _ANSI.sub("", str(exc)).strip()


@functools.lru_cache(maxsize=128)
def _parse(formula: str, ordering: str) -> _Parsed:
    """Cut out L/D/F, parse with formulaic, check every factor expression."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise SpecError(f"formula must look like 'y ~ x1 + x2' (or '~ x'), got {formula!r}")
    if not formula.split("~")[1].strip():
        raise SpecError(f"formula {formula!r} has no right-hand side")
    rewritten, shifts = extract_shifts(formula)
    try:
        # patsy's order is computed from the terms as written (x*z -> x, z, x:z)
        order = "none" if ordering == "patsy" else "degree"
        f = Formula(rewritten, _ordering=order)
    except (FormulaicError, SyntaxError) as exc:
        raise SpecError(f"cannot parse formula {formula!r}: {_formulaic_error(exc)}") from None
    lhs_terms = list(getattr(f, "lhs", []) or [])
    rhs = f.rhs if hasattr(f, "lhs") else f
    if not isinstance(rhs, SimpleFormula) or len(lhs_terms) > 1:
        raise SpecError(f"formula {formula!r}: one outcome and one right-hand side "
                        "(no '|' parts, no several outcomes)")
    placeholders = {t.ident: t for t in shifts}
    cols: dict = {}
    direct: dict = {}
    keys: dict = {}
    for term in [*lhs_terms, *rhs]:
        for fa in term.factors:
            keys[fa] = _factor_columns(fa, formula, placeholders, cols, direct)
    lhs = [keys[fa] for t in lhs_terms for fa in t.factors]
    rhs_keys = {keys[fa] for t in rhs for fa in t.factors}
    both = [k for k in lhs if k in rhs_keys]
    if both:
        raise SpecError(f"formula {formula!r}: the outcome {both[0]!r} is also among the "
                        "regressors (use its lag L(y) for a dynamic model)")
    intercept = any(str(t) == "1" for t in rhs)
    return _Parsed(formula, rewritten, order, f, lhs, shifts, list(direct), list(cols),
                   list(cols), intercept, placeholders)


def _factor_columns(fa, formula, placeholders, cols, direct) -> str:
    """Record the data columns a factor reads; return a key to compare factors by."""
    method = getattr(fa.eval_method, "value", str(fa.eval_method))
    if method == "literal":
        return fa.expr
    if method == "lookup":
        names, key = [fa.expr], fa.expr
    else:
        ex = parse_expr(fa.expr, formula)
        names = ex.columns
        q = ex.tree.body
        key = (q.args[0].value if getattr(getattr(q, "func", None), "id", None) == "Q"
               else fa.expr)
    for c in names:
        if c in placeholders:
            for u in placeholders[c].expr.columns:
                cols[u] = True
        else:
            cols[c] = True
            direct[c] = True
    return key


# ------------------------------------------------------------------ rows
def _floats(data: pd.DataFrame, c, floats: dict) -> np.ndarray | None:
    """A numeric (not boolean, not categorical) column as float64, converted once."""
    if c not in floats:
        s = data[c]
        num = (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
               and not pd.api.types.is_complex_dtype(s.dtype))
        floats[c] = s.to_numpy(dtype=float, na_value=np.nan) if num else None
    return floats[c]


def _isna(data: pd.DataFrame, c, floats: dict) -> np.ndarray:
    v = _floats(data, c, floats)
    return np.isnan(v) if v is not None else data[c].isna().to_numpy()


def _refuse_missing(data: pd.DataFrame, columns: list, keys: list, floats: dict) -> None:
    for c in columns:
        na = _isna(data, c, floats)
        if na.any():
            i = int(np.flatnonzero(na)[0])
            where = (", ".join(f"{k}={_plain(data[k].iloc[i])!r}" for k in keys) if keys
                     else f"row {data.index[i]!r}")
            raise DataError(
                f"column {c!r} is missing (NaN) at {where} ({int(na.sum())} missing "
                "value(s) in all); fill them, or pass missing=\"drop\" to drop these rows "
                "(the count is reported)"
            )


def _kept_rows(data, parsed: _Parsed, entity, time, floats: dict):
    """Rows kept, counts dropped (missing data first, then lags only), L/D/F values."""
    n = len(data)
    struct, raw = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for c in parsed.direct:
        raw |= _isna(data, c, floats)
    shifted = {}
    if parsed.shifts:
        ev = ShiftEval(data, panel_shifter(data, entity, time), n, floats)
        for t in parsed.shifts:
            v, s, r = ev.term(t)
            shifted[t.ident] = v
            struct |= s
            raw |= r
    rows = np.flatnonzero(~(struct | raw))
    n_raw, n_lag = int(raw.sum()), int((struct & ~raw).sum())
    if len(rows) == 0:
        raise DataError(f"no rows left for {parsed.text!r} after dropping missing values "
                        f"({n_raw}) and rows without the lagged period ({n_lag})")
    if len(rows) < n:
        shifted = {k: v[rows] for k, v in shifted.items()}
    return rows, n_lag, n_raw, shifted


def _frame(data, direct, shifted, rows) -> pd.DataFrame:
    """The kept rows of the columns formulaic reads, with the L/D/F placeholders."""
    n = len(data)
    sub = data[direct]
    if len(rows) < n:
        sub = sub.iloc[rows]
    cols = {}
    for c in direct:
        s = sub[c].reset_index(drop=True)
        if isinstance(s.dtype, pd.CategoricalDtype):
            # no all-zero dummy, no reference level that no row has
            s = s.cat.remove_unused_categories()
        cols[c] = s
    for ident, v in shifted.items():
        if ident in cols:
            raise SpecError(f"column name {ident!r} is reserved by dtistat's formulas")
        cols[ident] = v
    return pd.DataFrame(cols, index=pd.RangeIndex(len(rows)))


# ------------------------------------------------------------------ materializing
def _materialize(parsed: _Parsed, frame: pd.DataFrame, intercept_allowed: bool,
                 ordering: str, level_names: str):
    """Run formulaic on the kept rows; name, order and convert the columns."""
    f = parsed.formula
    if not intercept_allowed and not parsed.intercept:
        # code categorical terms against a reference level: the estimator's effects
        # play the intercept's part
        f = Formula(parsed.rewritten + " + 1", _ordering=parsed.ordering)
    try:
        with np.errstate(all="ignore"):  # non-finite results are reported below
            mm = model_matrix(f, frame, na_action="ignore", context=_CONTEXT)
    except (FormulaicError, TypeError, ValueError) as exc:
        raise DataError(f"cannot evaluate formula {parsed.text!r}: "
                        f"{_formulaic_error(exc)}") from None
    rhs = mm.rhs if hasattr(mm, "rhs") else mm
    spec = rhs.model_spec
    cols = list(rhs.columns)
    order = _patsy_order(spec) if ordering == "patsy" else list(range(len(cols)))
    rename = _namer(spec, parsed.placeholders, level_names)
    terms: dict = {}
    for term, sl in spec.term_slices.items():
        terms[rename(str(term))] = [rename(c) for c in cols[sl]]
    factors = _factor_map(spec, rename, parsed)
    if not intercept_allowed:
        order = [j for j in order if cols[j] != "Intercept"]
        terms.pop("1", None)
    names = [rename(cols[j]) for j in order]
    if not names:
        raise SpecError(f"formula {parsed.text!r} has no regressors")
    X = np.empty((len(frame), len(order)), order="F")
    for out, j in enumerate(order):
        # by name: positional access on formulaic's ModelMatrix is ~15x slower
        X[:, out] = rhs[cols[j]].to_numpy(dtype=float)
    y = y_name = None
    if hasattr(mm, "lhs"):
        lhs = mm.lhs
        if lhs.shape[1] != 1:
            raise SpecError(
                f"the outcome of {parsed.text!r} makes {lhs.shape[1]} columns "
                f"({', '.join(map(str, lhs.columns))}); it must be one numeric column"
            )
        y = lhs[lhs.columns[0]].to_numpy(dtype=float)
        y_name = rename(str(lhs.columns[0]))
    terms = {("const" if k == "1" else k): v for k, v in terms.items()}
    return y, y_name, X, names, terms, factors


def _namer(spec, placeholders: dict, level_names: str):
    """Column name -> dtistat's: ``const``, L/D/F restored, ``C(x)[b]`` levels."""
    subs = []
    if level_names == "plain" and spec is not None:
        for fa, st in spec.factor_contrasts.items():
            if isinstance(st.contrasts, TreatmentContrasts):
                subs += [(f"{fa.expr}[T.{lev}]", f"{fa.expr}[{lev}]") for lev in st.levels]

    def rename(name: str) -> str:
        if name == "Intercept":
            return "const"
        for old, new in subs:
            name = name.replace(old, new)
        return unquote(PLACEHOLDER.sub(lambda m: placeholders[m.group(0)].name, name))

    return rename


_QUOTED = re.compile(r"(^|:)`([^`]*)`(?=$|:|\[)")


def unquote(name: str) -> str:
    """A quoted column used as a factor is named by the column: `R&D-投入`:z -> R&D-投入:z."""
    return _QUOTED.sub(lambda m: m.group(1) + m.group(2), name)


def _factor_map(spec, rename, parsed: _Parsed) -> dict:
    """Categorical data column -> the X columns made from it (dummies, interactions)."""
    out: dict = {}
    cols = list(spec.column_names)
    for fa in spec.factor_contrasts:
        method = getattr(fa.eval_method, "value", str(fa.eval_method))
        if method == "lookup":
            srcs = [fa.expr]
        else:
            srcs = parse_expr(fa.expr, parsed.text).columns
        srcs = [parsed.placeholders[s].name if s in parsed.placeholders else s for s in srcs]
        made = [rename(cols[j]) for term, sl in spec.term_slices.items()
                if fa in term.factors for j in range(len(cols))[sl]]
        for s in srcs:
            out.setdefault(s, [])
            out[s] += [c for c in made if c not in out[s]]
    return out


def _patsy_order(spec) -> list[int]:
    """Column order of patsy: terms bucketed by their numeric factors, no-numeric first.

    patsy (``build._make_subterm_infos``) puts the terms with only categorical factors
    first, then the buckets of terms sharing a set of numeric factors in order of first
    appearance, each sorted by interaction degree.
    """
    cat = set(spec.factor_contrasts)
    buckets: dict = {}
    for term, sl in spec.term_slices.items():
        num = frozenset(fa.expr for fa in term.factors if fa not in cat and fa.expr != "1")
        buckets.setdefault(num, []).append((term, sl))
    first = buckets.pop(frozenset(), [])
    order = []
    for group in [first, *buckets.values()]:
        for _, sl in sorted(group, key=lambda ts: len([
                fa for fa in ts[0].factors if fa.expr != "1"])):
            order += list(range(len(spec.column_names)))[sl]
    return order


def _check_finite(y, y_name, X, names, index) -> None:
    """Non-finite values left after the missing rows are out come from a transform."""
    for v, name in ([(y, y_name)] if y is not None else []) + [
            (X[:, j], names[j]) for j in range(X.shape[1])]:
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{name!r} is {float(v[i])!r} at row {index[i]!r} ({int(bad.sum())} such row(s)) "
                "although the data it reads are not missing: a transform such as log() of "
                "zero or of a negative number, or an infinite value in the data; fix the "
                "data or the formula"
            )
