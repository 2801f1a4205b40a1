"""dtistat's panel operators in formulas: ``L(x, k)`` lag, ``D(x, k)`` difference, ``F(x, k)`` lead.

formulaic knows nothing of entities and calendars, so every outermost ``L``/``D``/``F``
call is cut out of the formula before formulaic sees it, evaluated here on all rows
(within entity, a missing period is a gap), and put back as a placeholder column.
Inside the operators the same arithmetic language as elsewhere is allowed
(``L(log(x), 1)``, ``D(L(x))``); outside, the placeholder takes part in transforms and
interactions like any column (``log(L(x))``, ``L(x, 1):z``).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtistat.errors import DataError, SpecError
from dtistat.formula._safety import Expr, numpy_allowed, parse_expr

__all__ = ["PLACEHOLDER", "ShiftTerm", "extract_shifts"]

PLACEHOLDER = re.compile(r"_dtistat_lag(\d+)_")
_OPS = {"L": 1, "F": -1, "D": 1}
_FUNCS = {"log": np.log, "log2": np.log2, "log10": np.log10, "exp": np.exp,
          "exp2": np.exp2, "exp10": lambda v: np.power(10.0, v), "sqrt": np.sqrt,
          "abs": np.abs}
_BIN = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
        ast.Div: np.true_divide, ast.FloorDiv: np.floor_divide, ast.Mod: np.mod,
        ast.Pow: np.power, ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or}
_CMP = {ast.Eq: np.equal, ast.NotEq: np.not_equal, ast.Lt: np.less,
        ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal}


@dataclass
class ShiftTerm:
    """One outermost L/D/F call: its placeholder column, display name and tree."""

    ident: str
    name: str
    expr: Expr


def _skip_quoted(s: str, i: int) -> int:
    """Index after the backquoted or quoted span starting at ``s[i]``."""
    q = s[i]
    j = i + 1
    while j < len(s) and s[j] != q:
        j += 2 if (s[j] == "\\" and q != "`") else 1
    if j >= len(s):
        raise SpecError(f"unbalanced {q} in formula {s!r}")
    return j + 1


def _shift_calls(s: str) -> list[tuple[int, int]]:
    """Spans of the outermost ``L(``/``D(``/``F(`` calls outside quotes and backquotes."""
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch in "`'\"":
            i = _skip_quoted(s, i)
            continue
        if ch in _OPS and (i == 0 or not (s[i - 1].isalnum() or s[i - 1] in "_.")):
            j = i + 1
            while j < len(s) and s[j].isspace():
                j += 1
            if j < len(s) and s[j] == "(":
                end = _close(s, j)
                out.append((i, end))
                i = end
                continue
        i += 1
    return out


def _close(s: str, j: int) -> int:
    depth = 0
    while j < len(s):
        ch = s[j]
        if ch in "`'\"":
            j = _skip_quoted(s, j)
            continue
        depth += ch == "("
        depth -= ch == ")"
        j += 1
        if depth == 0:
            return j
    raise SpecError(f"unbalanced parentheses in formula {s!r}")


def extract_shifts(formula: str) -> tuple[str, list[ShiftTerm]]:
    """Replace each outermost L/D/F call by a placeholder name; return the terms.

    Examples
    --------
    >>> f, terms = extract_shifts("y ~ L(x, 2):z + log(D(`a b`))")
    >>> f, [t.name for t in terms]
    ('y ~ _dtistat_lag0_:z + log(_dtistat_lag1_)', ['L(x, 2)', 'D(a b)'])
    """
    terms: dict[str, ShiftTerm] = {}
    pieces, last = [], 0
    for a, b in _shift_calls(formula):
        ex = parse_expr(formula[a:b], formula)
        name = _display(ex.tree.body, ex)
        if name not in terms:
            terms[name] = ShiftTerm(f"_dtistat_lag{len(terms)}_", name, ex)
        pieces += [formula[last:a], terms[name].ident]
        last = b
    pieces.append(formula[last:])
    return "".join(pieces), list(terms.values())


def _order(node: ast.Call, ex: Expr) -> tuple[int, bool]:
    """The k of L/D/F(x, k) and whether it was written out."""
    fn = node.func.id
    text = ex.source
    args = list(node.args)
    kws = {kw.arg: kw.value for kw in node.keywords}
    if set(kws) - {"k"} or len(args) not in (1, 2) or (len(args) == 2 and kws):
        raise SpecError(f"{fn}() takes a variable and an optional integer order k: {text!r}")
    if not args:
        raise SpecError(f"{fn}() needs a variable: {text!r}")
    kn = args[1] if len(args) == 2 else kws.get("k")
    if kn is None:
        return 1, False
    if isinstance(kn, ast.UnaryOp) and isinstance(kn.op, ast.USub):
        kn = ast.Constant(-kn.operand.value) if isinstance(kn.operand, ast.Constant) else kn
    if not (isinstance(kn, ast.Constant) and isinstance(kn.value, int)
            and not isinstance(kn.value, bool)):
        raise SpecError(f"the lag order in {text!r} must be an integer")
    k = kn.value
    if k < 0 or (fn == "D" and k < 1):
        alt = " (use F(x, k) for leads)" if fn == "L" else ""
        raise SpecError(f"the order in {text!r} must be a positive integer{alt}")
    return k, True


def _is_shift(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _OPS)


def _display(node, ex: Expr) -> str:
    """dtistat's name of a term: ``L(x, 2)``, ``D(x)``, ``L(log(x), 1)``, ``D(a b)``."""
    if isinstance(node, ast.Name):
        return ex.quoted.get(node.id, node.id)
    if _is_shift(node):
        k, explicit = _order(node, ex)
        inner = _display(node.args[0], ex)
        return f"{node.func.id}({inner}" + (f", {k})" if explicit else ")")
    # other expressions: Python's spelling, nested shifts and backquotes restored
    names: dict[str, str] = {}

    class Sub(ast.NodeTransformer):
        def visit_Call(self, n):
            if _is_shift(n):
                ident = f"_dtistat_n{len(names)}_"
                names[ident] = _display(n, ex)
                return ast.Name(ident, ast.Load())
            return self.generic_visit(n)

    text = ast.unparse(Sub().visit(ast.parse(ast.unparse(node), mode="eval")))
    text = re.sub(r"_dtistat_n\d+_", lambda m: names[m.group(0)], text)
    return re.sub(r"_dtistat_bq\d+_", lambda m: f"`{ex.quoted[m.group(0)]}`", text)


# ------------------------------------------------------------------ evaluation
def _any(masks):
    return functools.reduce(np.logical_or, masks, False)


class ShiftEval:
    """Evaluate shift terms on all rows: values, rows without the period, rows with NaN data.

    ``struct`` marks rows whose lag/lead/difference has no period in the data (a gap or
    the edge of the panel); ``raw`` marks rows whose value reads a missing data cell.
    """

    def __init__(self, data: pd.DataFrame, shifter, n: int, floats: dict | None = None):
        self.data, self.shifter, self.n = data, shifter, n
        self.floats = {} if floats is None else floats  # float columns shared with the caller
        self._cols: dict = {}

    def column(self, name: str, term: ShiftTerm):
        if name not in self._cols:
            s = self.data[name]
            if isinstance(s.dtype, pd.CategoricalDtype) or not (
                    pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
                raise DataError(
                    f"column {name!r} in {term.name} has dtype {s.dtype}; lags, leads and "
                    "differences take numeric columns"
                )
            v = self.floats.get(name)
            if v is None:
                v = s.to_numpy(dtype=float, na_value=np.nan)
            self._cols[name] = (v, np.zeros(self.n, dtype=bool), np.isnan(v))
        return self._cols[name]

    def term(self, term: ShiftTerm):
        v, s, r = self.eval(term.expr.tree.body, term)
        return (np.broadcast_to(np.asarray(v, dtype=float), (self.n,)),
                np.broadcast_to(s, (self.n,)), np.broadcast_to(r, (self.n,)))

    def eval(self, node, term: ShiftTerm):
        """(values, struct mask, raw-missing mask); masks may be scalar False."""
        ex = term.expr
        if isinstance(node, ast.Name):
            return self.column(ex.quoted.get(node.id, node.id), term)
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)):
                raise SpecError(f"{term.name}: only numbers may appear inside L/D/F")
            return node.value, False, False
        if isinstance(node, ast.BinOp):
            a, b = self.eval(node.left, term), self.eval(node.right, term)
            with np.errstate(all="ignore"):
                v = _BIN[type(node.op)](a[0], b[0])
            return np.asarray(v, dtype=float), a[1] | b[1], a[2] | b[2]
        if isinstance(node, ast.UnaryOp):
            v, s, r = self.eval(node.operand, term)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return np.logical_not(v).astype(float), s, r
            return (-v if isinstance(node.op, ast.USub) else v), s, r
        if isinstance(node, ast.Compare):
            parts = [self.eval(n, term) for n in [node.left, *node.comparators]]
            out = True
            for op, a, b in zip(node.ops, parts[:-1], parts[1:], strict=True):
                out = out & _CMP[type(op)](a[0], b[0])
            return (np.asarray(out, dtype=float), _any(p[1] for p in parts),
                    _any(p[2] for p in parts))
        return self.call(node, term)

    def call(self, node: ast.Call, term: ShiftTerm):
        f = node.func
        if _is_shift(node):
            k, _ = _order(node, term.expr)
            v, s, r = self.eval(node.args[0], term)
            if k == 0:
                return v, s, r
            v = np.broadcast_to(np.asarray(v, dtype=float), (self.n,))
            s = np.broadcast_to(s, (self.n,))
            r = np.broadcast_to(r, (self.n,))
            rows, found = self.shifter.rows(k * _OPS[f.id])
            lag = np.where(found, v[rows], np.nan)
            ls, lr = ~found | s[rows], found & r[rows]
            if f.id == "D":
                return v - lag, s | ls, r | lr
            return lag, ls, lr
        name = f.id if isinstance(f, ast.Name) else f"np.{f.attr}"
        if node.keywords:
            raise SpecError(f"{term.name}: keyword arguments of {name}() are not supported "
                            "inside L/D/F")
        if name == "Q":
            return self.column(node.args[0].value, term)
        if name == "I":
            return self.eval(node.args[0], term)
        if name in _FUNCS or name.startswith("np."):
            fn = _FUNCS.get(name) or getattr(np, name[3:])
            if name.startswith("np.") and not numpy_allowed(name[3:]):  # pragma: no cover
                raise SpecError(f"{name} is not allowed")
            args = [self.eval(a, term) for a in node.args]
            with np.errstate(all="ignore"):
                v = fn(*[a[0] for a in args])
            return np.asarray(v, dtype=float), _any(a[1] for a in args), _any(a[2] for a in args)
        raise SpecError(
            f"{name}() cannot be used inside {term.name}: apply it outside the lag, e.g. "
            f"{name}(L(x)) rather than L({name}(x))"
        )
