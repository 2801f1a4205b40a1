"""Designs of main effects only (columns, L/D/F, C(x)), built without formulaic's overhead.

Formulas made of numeric columns, panel operators and categorical main effects -- the
whole grammar of fit_panel before formulaic -- are assembled directly with NumPy:
formulaic costs ~20-80 ms a call whatever the data size, which would dominate the fit of
a small panel. The result is the one formulaic gives (same columns, names, levels and
order; ``tests/test_formula.py`` compares the two paths). Anything else returns None and
goes to formulaic.
"""

from __future__ import annotations

import ast

import numpy as np
import pandas as pd

from dtistat._linalg import fcols

__all__ = ["plain_design"]


def _kind(fa, data, floats, shifted, parsed):
    """('num', values-or-column) | ('cat', column) | None (not a main effect we build)."""
    method = getattr(fa.eval_method, "value", "")
    if method == "lookup":
        if fa.expr in shifted:
            return "num", shifted[fa.expr]
        if fa.expr not in data.columns:
            return None
        s = data[fa.expr]
        if floats.get(fa.expr) is not None:
            return "num", fa.expr
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
            return "cat", fa.expr
        return None
    if method != "python":
        return None
    tree = ast.parse(fa.expr, mode="eval").body if "`" not in fa.expr else None
    if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
            and tree.func.id == "C" and len(tree.args) == 1 and not tree.keywords
            and isinstance(tree.args[0], ast.Name) and tree.args[0].id in data.columns
            and tree.args[0].id not in parsed.placeholders):
        return "cat", tree.args[0].id
    return None


def _levels(s: pd.Series):
    """Codes and levels as formulaic orders them: categories, else sorted values."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.cat.remove_unused_categories()
        return s.cat.codes.to_numpy(), list(s.cat.categories)
    try:
        codes, uniq = pd.factorize(s, sort=True)
    except TypeError:  # unorderable mix: formulaic decides
        return None
    return codes, list(uniq)


def plain_design(parsed, data, floats, shifted, rows, intercept_allowed, ordering,
                 level_names):
    """The design of a main-effects formula, or None to use formulaic."""
    f = parsed.formula
    lhs = list(getattr(f, "lhs", None) or [])
    rhs = list(f.rhs if hasattr(f, "lhs") else f)
    kinds = []
    for t in lhs + rhs:
        fs = [fa for fa in t.factors if fa.expr != "1"]
        if len(fs) > 1:
            return None
        k = ("const", None) if not fs else _kind(fs[0], data, floats, shifted, parsed)
        if k is None:
            return None
        kinds.append(k)
    has_const = parsed.intercept or not intercept_allowed
    if any(k == "cat" for k, _ in kinds[len(lhs):]) and not has_const:
        return None  # formulaic's full-rank rule for a first categorical term
    if lhs and kinds[0][0] != "num":
        return None
    full = len(rows) == len(data)

    def values(v):
        if isinstance(v, str):
            return floats[v] if full else floats[v][rows]
        return v

    blocks, terms, factors = [], {}, {}
    rename = _renamer(parsed)
    for t, (k, v) in zip(rhs, kinds[len(lhs):], strict=True):
        if k == "const":
            if intercept_allowed:
                blocks.append((0, np.ones(len(rows)), ["const"]))
                terms["const"] = ["const"]
            continue
        if k == "num":
            nm = rename(str(t))
            blocks.append((2, values(v), [nm]))
            terms[nm] = [nm]
            continue
        s = data[v] if full else data[v].iloc[rows]
        lv = _levels(s)
        if lv is None:
            return None
        codes, levels = lv
        label = str(t.factors[0].expr) if len(t.factors) == 1 else str(t)
        tag = "T." if level_names == "formulaic" else ""
        cn = [f"{label}[{tag}{lev}]" for lev in levels[1:]]
        M = np.zeros((len(rows), len(levels) - 1))
        hit = np.flatnonzero(codes > 0)
        M[hit, codes[hit] - 1] = 1.0
        blocks.append((1, M, cn))
        terms[str(t)] = cn
        factors.setdefault(v, []).extend(cn)
    if ordering == "patsy":  # patsy: intercept, categorical-only terms, then numeric
        blocks.sort(key=lambda b: b[0])  # stable: formula order within each kind
    X = (fcols(*[b for _, b, _ in blocks]) if blocks
         else np.empty((len(rows), 0), order="F"))
    names = [n for _, _, cn in blocks for n in cn]
    if X.shape[1] == 0:
        return None
    y = values(kinds[0][1]) if lhs else None
    y_name = rename(lhs[0].factors[0].expr) if lhs else None
    return y, y_name, X, names, terms, factors


def _renamer(parsed):
    from dtistat.formula._panelops import PLACEHOLDER
    from dtistat.formula.design import unquote

    return lambda name: unquote(
        PLACEHOLDER.sub(lambda m: parsed.placeholders[m.group(0)].name, name))


