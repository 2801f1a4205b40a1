"""Formula expressions are code: refuse all but a small arithmetic language before eval.

formulaic evaluates each factor of a formula (``log(x)``, ``I(x**2)``) with Python's
``eval``, so a formula string from an untrusted file could run anything
(``__import__('os').system(...)``). Every expression is parsed with :mod:`ast` first and
only names of columns, numeric and string literals, arithmetic and comparison
operators, and calls of a short list of functions are let through.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import numpy as np

from dtistat.errors import SpecError

__all__ = ["ALLOWED_FUNCTIONS", "Expr", "parse_expr"]

#: functions a formula may call by bare name
ALLOWED_FUNCTIONS = frozenset({
    "L", "D", "F",                      # dtistat's panel operators (lag, difference, lead)
    "C", "I", "Q",                      # categorical, identity (arithmetic), quoted name
    "center", "scale", "standardize", "poly",
    "log", "log2", "log10", "exp", "exp2", "exp10", "sqrt", "abs",
    "Treatment", "Sum", "Helmert", "Diff", "Poly",  # contrasts, only inside C(x, ...)
})
_CONTR = frozenset({"treatment", "sum", "helmert", "diff", "poly"})
_CONTRASTS = frozenset({"Treatment", "Sum", "Helmert", "Diff", "Poly"})
_NP_EXTRA = frozenset({"where", "clip", "round"})
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
        ast.BitAnd, ast.BitOr)
_UNARY = (ast.UAdd, ast.USub, ast.Invert, ast.Not)
_CMP = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_MAX_POWER = 1000
_BQ = re.compile(r"`([^`]*)`")
_BQ_ID = "_dtistat_bq{}_"


def numpy_allowed(name: str) -> bool:
    """``np.<name>`` is allowed: a public ufunc (pure elementwise math) or where/clip/round.

    File and memory functions (``np.load``, ``np.save``, ``np.memmap`` ...) are not ufuncs.
    """
    if name.startswith("_"):
        return False
    return name in _NP_EXTRA or isinstance(getattr(np, name, None), np.ufunc)


@dataclass
class Expr:
    """A checked expression: its tree, the columns it reads, and backquote names."""

    source: str
    tree: ast.Expression
    columns: list = field(default_factory=list)
    quoted: dict = field(default_factory=dict)  # identifier -> column name (backquotes)


def _dunder(name: str) -> bool:
    return name.startswith("__") or name.endswith("__")


def parse_expr(text: str, formula: str) -> Expr:
    """Parse and check one factor expression; backquoted names become columns.

    Raises
    ------
    SpecError
        Anything outside the allowed language (attribute access other than
        ``np.<ufunc>`` / ``contr.<contrast>``, dunder names, subscripts, lambdas,
        comprehensions, calls of other functions, huge constant powers, ...).
    """
    quoted: dict = {}

    def sub(m):
        ident = _BQ_ID.format(len(quoted))
        quoted[ident] = m.group(1)
        return ident

    src = _BQ.sub(sub, text)
    if "`" in src:
        raise SpecError(f"unbalanced backquote in {text!r} (formula {formula!r})")
    try:
        tree = ast.parse(src.strip(), mode="eval")
    except SyntaxError:
        raise SpecError(f"cannot parse {text!r} in formula {formula!r}") from None
    cols: list = []
    _Checker(text, formula, quoted, cols).visit(tree.body)
    return Expr(text, tree, list(dict.fromkeys(cols)), quoted)


class _Checker:
    """Walk a tree and refuse every node outside the formula language."""

    def __init__(self, text, formula, quoted, cols):
        self.text, self.formula, self.quoted, self.cols = text, formula, quoted, cols

    def refuse(self, what: str):
        raise SpecError(
            f"{what} is not allowed in formula term {self.text!r} (formula "
            f"{self.formula!r}); formulas may use column names, numbers, strings, + - * / "
            "** and comparisons, and the functions "
            f"{', '.join(sorted(ALLOWED_FUNCTIONS))}, np.<ufunc>"
        )

    def visit(self, node, *, in_call: bool = False, contrast: bool = False):
        if isinstance(node, ast.Name):
            if node.id in _CONTRASTS and contrast:  # C(x, Sum): a contrast, not a column
                return None
            return self.name(node)
        if isinstance(node, ast.Constant):
            ok = (isinstance(node.value, (int, float)) or node.value is None
                  or (isinstance(node.value, str) and in_call))
            if not ok:
                self.refuse(f"the literal {node.value!r}")
            return None
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _OPS):
                self.refuse(f"the operator {type(node.op).__name__}")
            if isinstance(node.op, ast.Pow):
                self.power(node)
            self.visit(node.left)
            self.visit(node.right)
            return None
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, _UNARY):
                self.refuse(f"the operator {type(node.op).__name__}")
            return self.visit(node.operand)
        if isinstance(node, ast.Compare):
            if not all(isinstance(o, _CMP) for o in node.ops):
                self.refuse("this comparison")
            for n in [node.left, *node.comparators]:
                self.visit(n, in_call=True)  # x == "east" is a fair comparison
            return None
        if isinstance(node, ast.Call):
            return self.call(node, contrast)
        if (isinstance(node, ast.Attribute) and contrast and isinstance(node.value, ast.Name)
                and node.value.id == "contr" and node.attr in _CONTR):
            return None  # C(x, contr.sum)
        if isinstance(node, (ast.List, ast.Tuple)) and in_call:
            for e in node.elts:
                self.visit(e, in_call=True)
            return None
        return self.refuse(f"{type(node).__name__} ({ast.unparse(node)!r})")

    def name(self, node: ast.Name):
        if _dunder(node.id):
            self.refuse(f"the name {node.id!r}")
        self.cols.append(self.quoted.get(node.id, node.id))

    def power(self, node: ast.BinOp):
        # 9**9**9 would hang the interpreter: constant exponents stay small
        e = node.right
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            e = e.operand
        if isinstance(e, ast.Constant) and isinstance(e.value, (int, float)):
            if abs(e.value) > _MAX_POWER:
                self.refuse(f"an exponent above {_MAX_POWER}")
            return
        if not any(isinstance(n, ast.Name) for n in ast.walk(node.right)):
            self.refuse("a computed constant exponent")

    def call(self, node: ast.Call, contrast: bool = False):
        f = node.func
        if isinstance(f, ast.Name):
            if f.id not in ALLOWED_FUNCTIONS or (f.id in _CONTRASTS and not contrast):
                self.refuse(f"the function {f.id!r}" + (
                    " outside C(x, ...)" if f.id in _CONTRASTS else ""))
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            mod, attr = f.value.id, f.attr
            if not ((mod == "np" and numpy_allowed(attr))
                    or (mod == "contr" and attr in _CONTR and contrast)):
                self.refuse(f"{mod}.{attr}")
        else:
            self.refuse(f"calling {ast.unparse(f)!r}")
        if isinstance(f, ast.Name) and f.id == "Q":
            if (len(node.args) != 1 or node.keywords
                    or not isinstance(node.args[0], ast.Constant)
                    or not isinstance(node.args[0].value, str)):
                self.refuse("Q() with anything but one quoted column name")
            self.cols.append(node.args[0].value)
            return
        is_c = isinstance(f, ast.Name) and f.id == "C"
        for i, a in enumerate(node.args):
            if isinstance(a, ast.Starred):
                self.refuse("*args")
            self.visit(a, in_call=True, contrast=is_c and i > 0)
        for kw in node.keywords:
            if kw.arg is None or _dunder(kw.arg):
                self.refuse("**kwargs")
            self.visit(kw.value, in_call=True, contrast=is_c)
        return
