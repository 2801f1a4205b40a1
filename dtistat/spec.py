"""IndexSpec: the indicator tree of a composite index, its weights and expert scores.

The spec is data, kept apart from the indicator values (as COINr keeps its metadata):
a tree whose root is the total index, whose internal nodes are layers or
sub-dimensions and whose leaves name data columns. Weights among siblings come from
explicit values, from an experts × nodes score table (the report's 赋权 formula), or are
equal when neither is given.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from dtistat._validate import check_writable
from dtistat._yaml import load_spec_text
from dtistat.errors import SpecError

__all__ = ["Node", "IndexSpec"]


@dataclass(frozen=True)
class Node:
    """One node of the indicator tree.

    Parameters
    ----------
    name : str
        Unique identifier (ASCII recommended; used as a column name in results).
    label : str, optional
        Human label, may be Chinese (e.g. "基础设施").
    children : tuple of Node
        Sub-nodes; empty for a leaf.
    column : str, optional
        For a leaf: the data column it reads (defaults to ``name``).
    direction : {+1, -1}
        For a leaf: +1 when more is better, -1 when less is better.
    weight : float, optional
        Explicit weight among siblings (renormalized over the siblings).
    """

    name: str
    label: str | None = None
    children: tuple[Node, ...] = ()
    column: str | None = None
    direction: int = 1
    weight: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"a node name must be a non-empty string, got {self.name!r}")
        kids = self.children
        if isinstance(kids, (str, bytes, Node)) or not isinstance(kids, (tuple, list)):
            raise SpecError(f"node {self.name!r}: children must be a tuple of Node, got "
                            f"{type(kids).__name__}")
        bad = [c for c in kids if not isinstance(c, Node)]
        if bad:
            raise SpecError(f"node {self.name!r}: children must be Node objects, got "
                            f"{bad[0]!r}")
        object.__setattr__(self, "children", tuple(kids))
        if self.column is not None and not isinstance(self.column, str):
            raise SpecError(f"node {self.name!r}: column must be a string, got {self.column!r}")
        if isinstance(self.direction, bool) or self.direction not in (1, -1):
            raise SpecError(f"node {self.name!r}: direction must be +1 or -1, got "
                            f"{self.direction!r}")
        w = self.weight
        if w is not None and (isinstance(w, bool) or not isinstance(w, numbers.Real)
                              or not math.isfinite(w) or w < 0):
            raise SpecError(f"node {self.name!r}: weight must be a finite number >= 0, "
                            f"got {w!r}")

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> Iterator[Node]:
        """Nodes in pre-order (this node first)."""
        yield self
        for c in self.children:
            yield from c.walk()

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name}
        if self.label is not None:
            d["label"] = self.label
        if self.weight is not None:
            d["weight"] = float(self.weight)
        if self.is_leaf:
            d["column"] = self.column or self.name
            if self.direction != 1:
                d["direction"] = int(self.direction)
        else:
            d["children"] = [c.to_dict() for c in self.children]
        return d


_MAX_TREE_DEPTH = 50  # an index tree has a handful of levels; this bounds the recursion


def _node_from_dict(d: Any, path: str, is_root: bool = False, depth: int = 0) -> Node:
    if depth > _MAX_TREE_DEPTH:
        raise SpecError(f"{path}: the tree is deeper than {_MAX_TREE_DEPTH} levels")
    if not isinstance(d, Mapping):
        raise SpecError(f"{path}: a node must be a mapping with a 'name', got {d!r}")
    allowed = {"name", "label", "children", "column", "direction", "weight"}
    unknown = set(d) - allowed
    if unknown:
        raise SpecError(
            f"{path}: unknown key(s) {sorted(unknown)}; a node takes {sorted(allowed)}"
        )
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError(f"{path}: every node needs a non-empty string 'name', got {name!r}")
    where = f"node {name!r}"
    children = d.get("children")
    column = d.get("column")
    if children is not None:
        if not isinstance(children, (list, tuple)) or len(children) == 0:
            raise SpecError(
                f"{where} has an empty 'children' list; give it children or make it a "
                f"leaf with a 'column'"
            )
        if column is not None:
            raise SpecError(f"{where} has both 'children' and 'column'; a leaf has no children")
        kids = tuple(
            _node_from_dict(c, f"{path} > {name}[{i}]", depth=depth + 1)
            for i, c in enumerate(children)
        )
    else:
        if is_root:
            raise SpecError(f"root {where} has no children; the total index needs layers")
        kids = ()
        if column is not None and not isinstance(column, str):
            raise SpecError(f"{where}: 'column' must be a string, got {column!r}")
    direction = d.get("direction", 1)
    if direction not in (1, -1) or isinstance(direction, bool):
        raise SpecError(f"{where}: direction must be +1 or -1, got {direction!r}")
    if kids and "direction" in d:
        raise SpecError(f"{where}: only leaves take a direction")
    weight = d.get("weight")
    if weight is not None:
        if (isinstance(weight, bool) or not isinstance(weight, numbers.Real)
                or not math.isfinite(weight)):
            raise SpecError(f"{where}: weight must be a finite number, got {weight!r}")
        if weight < 0:
            raise SpecError(f"{where}: weight must be >= 0, got {weight!r}")
        weight = float(weight)
    label = d.get("label")
    return Node(
        name=name,
        label=None if label is None else str(label),
        children=kids,
        column=(column or name) if not kids else None,
        direction=int(direction),
        weight=weight,
    )


def _check_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Expert scores: integers 1–5, experts in rows, nodes in columns."""
    if not isinstance(scores, pd.DataFrame):
        raise SpecError(
            f"expert scores must be a DataFrame (experts x nodes), got {type(scores).__name__}"
        )
    if scores.shape[0] == 0:
        raise SpecError("expert scores have no experts (rows)")
    out = scores.copy()
    for col in out.columns:
        is_bool = out[col].map(lambda u: isinstance(u, (bool, np.bool_)))
        if is_bool.any():  # True would silently count as a score of 1
            r = out.index[is_bool.to_numpy()][0]
            raise SpecError(
                f"expert score for node {col!r}, expert {r!r} is {bool(out.loc[r, col])!r} (a "
                f"boolean); scores are integers from 1 (very unimportant) to 5 (very "
                f"important)"
            )
        v = pd.to_numeric(out[col], errors="coerce")
        bad = v.isna() & out[col].notna()
        if bad.any():
            r = out.index[bad.to_numpy()][0]
            raise SpecError(
                f"expert score for node {col!r}, expert {r!r} is {out.loc[r, col]!r}; "
                f"scores are integers from 1 (very unimportant) to 5 (very important)"
            )
        vv = v.to_numpy(dtype=float)
        ok = np.isnan(vv) | ((vv == np.round(vv)) & (vv >= 1) & (vv <= 5))
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise SpecError(
                f"expert score for node {col!r}, expert {out.index[i]!r} is {vv[i]!r}; "
                f"scores are integers from 1 (very unimportant) to 5 (very important)"
            )
        out[col] = v.astype(float)
    return out


def _read_spec_file(p: Path) -> str:
    """The text of a spec file, or a SpecError saying why it cannot be read."""
    if not p.exists():
        raise SpecError(f"spec file {str(p)!r} does not exist")
    if not p.is_file():
        raise SpecError(f"spec file {str(p)!r} is not a regular file (a directory?)")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"spec file {str(p)!r} cannot be read: {exc.strerror}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"spec file {str(p)!r} is not UTF-8 text (byte {exc.start}: "
            f"{raw[exc.start:exc.start + 1]!r}); save it as UTF-8 (e.g. from GBK: "
            f"iconv -f GBK -t UTF-8)"
        ) from None


@dataclass(frozen=True)
class IndexSpec:
    """The indicator tree of an index with its weights.

    Parameters
    ----------
    root : Node
        The total index; its children are the layers.
    expert_scores : DataFrame, optional
        Experts in rows, node names in columns, integer scores 1–5. The weight of node
        j among its siblings is ``sum_i a_ij / sum_{j' in siblings} sum_i a_ij'``
        (the report's 赋权 formula: mean score normalized to one).

    Notes
    -----
    For each sibling group the weight source is, in order: explicit ``weight`` on all
    siblings; expert scores for all siblings; equal weights when neither is given.
    Giving weights or scores to only some siblings is an error.

    Examples
    --------
    >>> spec = IndexSpec.from_dict({
    ...     "name": "total",
    ...     "children": [
    ...         {"name": "infrastructure", "children": [{"name": "cloud"}, {"name": "ai"}]},
    ...         {"name": "application", "children": [{"name": "payments"}]},
    ...     ],
    ...     "expert_scores": {"e1": {"infrastructure": 5, "application": 3},
    ...                       "e2": {"infrastructure": 4, "application": 4}},
    ... })
    >>> spec.leaf_weights().round(4).to_dict()
    {'cloud': 0.2812, 'ai': 0.2812, 'payments': 0.4375}
    """

    root: Node
    expert_scores: pd.DataFrame | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.root, Node):
            raise SpecError(
                f"IndexSpec takes a Node as its root, got {type(self.root).__name__}; "
                f"build a spec with IndexSpec.from_dict or IndexSpec.from_yaml"
            )
        names = [n.name for n in self.root.walk()]
        seen: set[str] = set()
        for n in names:
            if n in seen:
                raise SpecError(f"node name {n!r} appears more than once; names must be unique")
            seen.add(n)
        cols = [n.column for n in self.root.walk() if n.is_leaf]
        dup = {c for c in cols if cols.count(c) > 1}
        if dup:
            raise SpecError(f"column(s) {sorted(dup)} are read by more than one leaf")
        if self.root.is_leaf:
            raise SpecError(f"root node {self.root.name!r} has no children")
        if self.expert_scores is not None:
            sc = _check_scores(self.expert_scores)
            unknown = [c for c in sc.columns if c not in seen]
            if unknown:
                raise SpecError(
                    f"expert scores name node(s) {unknown} that are not in the tree; "
                    f"nodes are {names}"
                )
            if self.root.name in sc.columns:
                raise SpecError("the root has no siblings: do not score it")
            object.__setattr__(self, "expert_scores", sc)
        # Resolve every sibling group now so that a bad spec fails at construction.
        self.local_weights()

    # ------------------------------------------------------------------ structure
    @property
    def nodes(self) -> list[Node]:
        return list(self.root.walk())

    @property
    def leaves(self) -> list[Node]:
        return [n for n in self.root.walk() if n.is_leaf]

    @property
    def internal(self) -> list[Node]:
        """Internal nodes in post-order (children before parents; root last)."""
        out: list[Node] = []

        def visit(n: Node) -> None:
            for c in n.children:
                visit(c)
            if not n.is_leaf:
                out.append(n)

        visit(self.root)
        return out

    @property
    def columns(self) -> list[str]:
        return [n.column for n in self.leaves]  # type: ignore[misc]

    def node(self, name: str) -> Node:
        for n in self.root.walk():
            if n.name == name:
                return n
        raise SpecError(f"no node {name!r}; nodes are {[n.name for n in self.nodes]}")

    def parents(self) -> dict[str, str]:
        return {c.name: n.name for n in self.root.walk() for c in n.children}

    def layer_of(self) -> dict[str, str]:
        """Each leaf's top-level ancestor (its layer)."""
        out = {}
        for layer in self.root.children:
            for n in layer.walk():
                if n.is_leaf:
                    out[n.name] = layer.name
        return out

    def labels(self) -> dict[str, str]:
        return {n.name: (n.label or n.name) for n in self.nodes}

    # ------------------------------------------------------------------ weights
    def weight_source(self, node: Node) -> str:
        kids = node.children
        has_w = [c.weight is not None for c in kids]
        sc = self.expert_scores
        has_s = [sc is not None and c.name in sc.columns for c in kids]
        if all(has_w):
            return "explicit"
        if any(has_w):
            missing = [c.name for c, h in zip(kids, has_w) if not h]
            raise SpecError(
                f"node {node.name!r}: some children have explicit weights and "
                f"{missing} do not; give all siblings a weight or none"
            )
        if all(has_s):
            return "expert"
        if any(has_s):
            missing = [c.name for c, h in zip(kids, has_s) if not h]
            raise SpecError(
                f"node {node.name!r}: expert scores cover some children but not {missing}; "
                f"score all siblings or none"
            )
        return "equal"

    def local_weights(self, scores: pd.DataFrame | None = None) -> dict[str, float]:
        """Each non-root node's weight among its siblings (siblings sum to 1).

        ``scores`` replaces the spec's expert scores (used by the sensitivity analysis).
        """
        spec = self if scores is None else self.with_scores(scores)
        out: dict[str, float] = {}
        sc = spec.expert_scores
        if sc is not None:
            col = {c: i for i, c in enumerate(sc.columns)}
            vals = sc.to_numpy(dtype=float)
        for node in spec.root.walk():
            if node.is_leaf:
                continue
            src = spec.weight_source(node)
            names = [c.name for c in node.children]
            if src == "explicit":
                raw = np.array([c.weight for c in node.children], dtype=float)
            elif src == "expert":
                block = vals[:, [col[nm] for nm in names]]
                bad = np.isnan(block).any(axis=0)
                if bad.any():
                    raise SpecError(
                        f"expert scores for node {names[int(np.argmax(bad))]!r} have missing "
                        f"values; every expert scores every sibling of a group"
                    )
                raw = block.sum(axis=0)
            else:
                raw = np.ones(len(names))
            tot = raw.sum()
            if not np.isfinite(tot) or tot <= 0:
                raise SpecError(
                    f"weights of the children of {node.name!r} sum to {float(tot):g}; they must "
                    f"sum to a positive number"
                )
            for nm, w in zip(names, raw / tot):
                out[nm] = float(w)
        return out

    def weight_matrix(self, local: Mapping[str, float] | None = None) -> pd.DataFrame:
        """Leaves × internal nodes: the effective weight of each leaf in each node."""
        lw = self.local_weights() if local is None else local
        leaves = [n.name for n in self.leaves]
        inner = self.internal
        row = {name: i for i, name in enumerate(leaves)}
        mat = np.zeros((len(leaves), len(inner)))

        def fill(node: Node, j: int, w: float) -> None:
            if node.is_leaf:
                mat[row[node.name], j] += w
            else:
                for c in node.children:
                    fill(c, j, w * lw[c.name])

        for j, n in enumerate(inner):
            fill(n, j, 1.0)
        return pd.DataFrame(mat, index=leaves, columns=[n.name for n in inner])

    def leaf_weights(self, local: Mapping[str, float] | None = None) -> pd.Series:
        """Each leaf's effective weight in the total (product down its path); sums to 1."""
        s = self.weight_matrix(local)[self.root.name].copy()
        s.name = "weight"
        return s

    # ------------------------------------------------------------------ builders
    def with_scores(self, scores: pd.DataFrame) -> IndexSpec:
        return IndexSpec(self.root, scores)

    def with_weights(self, weights: Mapping[str, float]) -> IndexSpec:
        """A copy with explicit weights for the named nodes (siblings renormalized)."""
        unknown = set(weights) - {n.name for n in self.nodes}
        if unknown:
            raise SpecError(f"with_weights: no node(s) {sorted(unknown)} in the tree")
        for name, w in weights.items():
            if isinstance(w, bool) or not isinstance(w, numbers.Real):
                raise SpecError(f"with_weights: the weight of {name!r} must be a number "
                                f">= 0, got {w!r}")

        def rebuild(n: Node) -> Node:
            kids = tuple(rebuild(c) for c in n.children)
            w = weights.get(n.name, n.weight)
            return replace(n, children=kids, weight=None if w is None else float(w))

        root = rebuild(self.root)
        # Drop scores for groups now given explicitly.
        sc = self.expert_scores
        if sc is not None:
            keep = [c for c in sc.columns if c not in weights]
            sc = sc[keep] if keep else None
        return IndexSpec(root, sc)

    @classmethod
    def from_dict(cls, d: Mapping) -> IndexSpec:
        """Build from a mapping: the root node plus an optional ``expert_scores`` key.

        ``expert_scores`` is ``{expert: {node: score}}`` or a list of such mappings.
        """
        if not isinstance(d, Mapping):
            raise SpecError(f"a spec must be a mapping, got {type(d).__name__}")
        d = dict(d)
        raw = d.pop("expert_scores", None)
        root = _node_from_dict(d, "spec", is_root=True)
        scores = None
        if raw is not None:
            if isinstance(raw, Mapping):
                scores = pd.DataFrame.from_dict(dict(raw), orient="index")
            elif isinstance(raw, list):
                scores = pd.DataFrame(raw)
                scores.index = [f"expert_{i + 1}" for i in range(len(raw))]
            else:
                raise SpecError(
                    "expert_scores must map expert -> {node: score} or be a list of "
                    "{node: score} mappings"
                )
        return cls(root, scores)

    def to_dict(self) -> dict:
        d = self.root.to_dict()
        if self.expert_scores is not None:
            d["expert_scores"] = {
                str(e): {str(k): int(v) for k, v in row.items() if pd.notna(v)}
                for e, row in self.expert_scores.iterrows()
            }
        return d

    @classmethod
    def from_yaml(cls, source: str | Path) -> IndexSpec:
        """Read a spec from a YAML file path or a YAML string.

        The file must be UTF-8 text. YAML is read with safe tags only; an alias (``*a``)
        may stand for a single value but not for a mapping or list, and nesting is
        limited, so a small file can neither expand into a huge tree nor loop.
        """
        text: str
        if isinstance(source, Path) or (
            isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))
        ):
            text = _read_spec_file(Path(source))
        elif isinstance(source, str):
            text = source
        else:
            raise SpecError(
                f"from_yaml takes a file path or a YAML string, got {type(source).__name__}"
            )
        return cls.from_dict(load_spec_text(text))

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The spec as YAML (Chinese labels kept as UTF-8); written to ``path`` if given."""
        text = yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)
        if path is not None:
            p = check_writable(path)
            try:
                p.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise SpecError(f"cannot write {str(p)!r}: {exc.strerror or exc}") from exc
        return text

    def __str__(self) -> str:
        lw = self.local_weights()
        lines = []

        def show(n: Node, depth: int) -> None:
            w = "" if n is self.root else f"  w={lw[n.name]:.4f}"
            lab = f" ({n.label})" if n.label else ""
            extra = f" <- {n.column}" + (" [-]" if n.direction < 0 else "") if n.is_leaf else ""
            lines.append("  " * depth + f"{n.name}{lab}{w}{extra}")
            for c in n.children:
                show(c, depth + 1)

        show(self.root, 0)
        return "\n".join(lines)
