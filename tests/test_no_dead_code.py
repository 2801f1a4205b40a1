"""No dead module-level functions: each is called, imported or exported somewhere.

A function counts as used when its name appears in code (not prose) anywhere in the
package, the tests, the benchmarks or the examples other than its own ``def`` and an
``__all__`` entry of a private module; a name in the ``__all__`` of a public module is
API and counts as used.
"""

import ast
import io
import re
import tokenize
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: dead, in a module another part of the project owns (named so that it is not missed)
KNOWN = {"dtistat/iv/diagnostics.py::stock_yogo_rows"}


def _code_names(text: str) -> Counter:
    """Identifiers in code: NAME tokens, f-string fields, strings that are one name."""
    out: Counter = Counter()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME:
            out[tok.string] += 1
        elif tok.type == tokenize.STRING:
            body = tok.string.lstrip("rbuRBU")
            if body[:1] in "fF":  # only the {expressions}, not the prose
                for expr in re.findall(r"\{([^{}]*)\}", body):
                    out.update(_IDENT.findall(expr))
            elif _IDENT.fullmatch(body.strip("'\"")):
                out[body.strip("'\"")] += 1
    return out


def _exports(tree: ast.Module) -> set:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                for t in node.targets):
            return {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return set()


def test_every_module_level_function_is_used():
    files = [f for d in ("dtistat", "tests", "benchmarks", "examples")
             for f in sorted((ROOT / d).rglob("*.py"))]
    names: Counter = Counter()
    for f in files:
        names += _code_names(f.read_text())
    dead = []
    for f in sorted((ROOT / "dtistat").rglob("*.py")):
        tree = ast.parse(f.read_text())
        exported = _exports(tree)
        public_module = not any(part.startswith("_") and part != "__init__.py"
                                for part in f.relative_to(ROOT).parts)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            if public_module and node.name in exported:
                continue
            uses = names[node.name] - 1 - (node.name in exported)
            where = f"{f.relative_to(ROOT).as_posix()}::{node.name}"
            if uses <= 0:
                dead.append(where)
    assert not set(dead) - KNOWN, f"functions nothing uses (remove them): {dead}"
    assert KNOWN <= set(dead), f"now used or removed: drop from KNOWN {KNOWN - set(dead)}"
