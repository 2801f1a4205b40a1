"""The arrays a weight-sensitivity analysis works on, built once per call from the data and spec.

With arithmetic aggregation a node's score is linear in the normalized leaves,
``score = T @ w_eff``, where ``w_eff`` is the product of the local weights down the
tree; with geometric aggregation it is linear in ``log T``. The context holds those
leaf matrices (one per normalization × aggregation alternative), the tree as arrays
(sibling groups, leaf paths), the panel as (period × ``by`` group, entity) cells and
the nominal scores and ranks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat._periods import to_period
from dtistat.errors import DataError, ParameterError, PeriodError
from dtistat.index.compute import IndexArrays, IndexResult, index_arrays
from dtistat.spec import IndexSpec, Node

__all__ = ["Context", "build_context", "cell_keys", "nominal_ranks"]


@dataclass(frozen=True)
class Context:
    """Everything the vectorized evaluation needs; built once per call (internal)."""

    spec: IndexSpec
    target: str
    nodes: list[str]                 # non-root nodes, pre-order
    parent_pos: np.ndarray           # (M,) sibling-group id of each node
    n_groups: int
    leaf_names: list[str]            # leaves under the target
    paths: np.ndarray                # (L, depth) node positions from the target down; M pads
    alts: list[tuple[str, str]]      # (normalization, aggregation)
    TT: list[np.ndarray]             # per alt: (L, G*NE) normalized leaves (log if geometric)
    geometric: list[bool]
    valid: np.ndarray                # (G, NE)
    entities: pd.Index
    groups: pd.DataFrame             # G rows: *by, time
    nominal_scores: np.ndarray       # (G, NE)
    nominal_ranks: np.ndarray        # (G, NE) int, 0 where invalid
    base_local: np.ndarray           # (M,)
    arrays: dict                     # alt -> IndexArrays (compute_index before its frames)
    rows: np.ndarray                 # (n,) rows of the nominal result in the analysis
    entity: str
    time: str
    by: tuple[str, ...]
    group_codes: list               # per group column (*by, time): (code of each group, levels)

    def result(self, alt: tuple[str, str]) -> IndexResult:
        """The :func:`compute_index` result of an alternative."""
        return self.arrays[alt].result()

    @property
    def G(self) -> int:
        return self.valid.shape[0]

    @property
    def NE(self) -> int:
        return self.valid.shape[1]


def _resolve_node(spec: IndexSpec, node: str) -> Node:
    if node == "total" and "total" not in {n.name for n in spec.nodes}:
        return spec.root
    names = [n.name for n in spec.nodes]
    if node not in names:
        raise ParameterError(
            f"node={node!r} is not in the spec; internal nodes are "
            f"{[n.name for n in spec.internal]} ('total' means the root)"
        )
    nd = spec.node(node)
    if nd.is_leaf:
        raise ParameterError(
            f"node={node!r} is a leaf: it has no weights to vary; choose an internal node "
            f"from {[n.name for n in spec.internal]}"
        )
    return nd




def _nominal_arrays(data, spec, *, entity, time, by, base_period, scope, missing,
                    alts) -> dict[tuple[str, str], IndexArrays]:
    """:func:`index_arrays` of every (normalization, aggregation) alternative."""
    arrays: dict[tuple[str, str], IndexArrays] = {}
    for norm, agg in alts:
        try:
            arrays[(norm, agg)] = index_arrays(
                data, spec, entity=entity, time=time, by=list(by) or None,
                base_period=base_period, normalization=norm, aggregation=agg, scope=scope,
                missing=missing,
            )
        except DataError as exc:
            if (norm, agg) == alts[0]:
                raise
            raise type(exc)(
                f"alternative normalization={norm!r}, aggregation={agg!r}: {exc}"
            ) from None
    return arrays


def _tree_arrays(spec: IndexSpec, target: Node) -> dict[str, Any]:
    """Nodes (pre-order, root excluded), their sibling groups, the target's leaves and
    each leaf's path of node positions from the target down (``M`` pads)."""
    nodes = [n.name for n in spec.nodes if n is not spec.root]
    pos = {n: i for i, n in enumerate(nodes)}
    parents = spec.parents()
    inner = [n.name for n in spec.root.walk() if not n.is_leaf]
    gid = {p: i for i, p in enumerate(inner)}
    leaf_names = [n.name for n in target.walk() if n.is_leaf]
    chains = []
    for leaf in leaf_names:
        chain, cur = [], leaf
        while cur != target.name:
            chain.append(pos[cur])
            cur = parents[cur]
        chains.append(chain)
    paths = np.full((len(chains), max(len(c) for c in chains)), len(nodes), dtype=np.intp)
    for i, c in enumerate(chains):
        paths[i, : len(c)] = c[::-1]
    lw = spec.local_weights()
    return {"nodes": nodes, "n_groups": len(inner), "leaf_names": leaf_names,
            "parent_pos": np.array([gid[parents[n]] for n in nodes], dtype=np.intp),
            "paths": paths, "base_local": np.array([lw[n] for n in nodes])}


def _period_rows(P: Any, periods: Any) -> np.ndarray:
    """Rows of the prepared panel in the analysed periods."""
    if periods is None:
        return np.ones(len(P.keys), dtype=bool)
    wanted = [to_period(p, P.periods.freq, name="periods") for p in v.as_list(periods, "periods")]
    if not wanted:
        raise ParameterError("periods is empty; pass None for all periods")
    have = P.periods
    for q in wanted:
        if q not in have:
            raise PeriodError(
                f"period {str(q)!r} is not in the data; periods run from {have[0]} to "
                f"{have[-1]}"
            )
    return np.isin(P.time_codes, have.get_indexer(pd.PeriodIndex(wanted, freq=have.freq)))


def _cells(P: Any, keep: np.ndarray, entity: str, time: str, by: tuple[str, ...]):
    """Integer codes of every kept row: its group (sorted *by, time) and entity."""
    codes, levels = {}, {}
    for k in (entity, *by):
        codes[k], levels[k] = pd.factorize(P.keys[k], sort=True)
    codes[time], levels[time] = P.time_codes, P.periods
    used, ent_codes = np.unique(codes[entity][keep], return_inverse=True)
    gkey = np.zeros(int(keep.sum()), dtype=np.int64)
    for k in (*by, time):
        gkey = gkey * len(levels[k]) + np.asarray(codes[k])[keep]
    ukey, g_codes = np.unique(gkey, return_inverse=True)
    gcols, gcodes, rest = {}, [], ukey
    for k in reversed((*by, time)):
        c = rest % len(levels[k])
        rest = rest // len(levels[k])
        gcols[k] = levels[k].take(c)
        u, ci = np.unique(c, return_inverse=True)            # compact, sorted levels
        gcodes.insert(0, (ci, levels[k].take(u)))
    groups = pd.DataFrame({k: gcols[k] for k in (*by, time)})
    return levels[entity].take(used), ent_codes, groups, g_codes, gcodes


def build_context(
    data: pd.DataFrame, spec: IndexSpec, *, entity: str, time: str, by: tuple[str, ...],
    node: str, periods: Any, base_period: Any, normalization: str, aggregation: str,
    scope: str, missing: str, alts: list[tuple[str, str]],
) -> Context:
    """Check the inputs and build the :class:`Context` of one analysis."""
    if not isinstance(spec, IndexSpec):
        if isinstance(spec, Mapping):
            spec = IndexSpec.from_dict(spec)
        else:
            raise ParameterError(f"spec must be an IndexSpec, got {type(spec).__name__}")
    if missing == "skip":
        raise ParameterError(
            "missing='skip' is not supported by the weight sensitivity analysis: with NaN "
            "leaves the weights are renormalized row by row, so the index is no longer "
            "one linear map of the leaves; impute first, or pass missing='zero' or "
            "missing='error'"
        )
    target = _resolve_node(spec, node)
    arrays = _nominal_arrays(data, spec, entity=entity, time=time, by=by,
                             base_period=base_period, scope=scope, missing=missing, alts=alts)
    nominal = arrays[alts[0]]
    tree = _tree_arrays(spec, target)
    keep = _period_rows(nominal.P, periods)
    entities, ent_codes, groups, g_codes, gcodes = _cells(nominal.P, keep, entity, time, by)
    G, NE = len(groups), len(entities)
    valid = np.zeros((G, NE), dtype=bool)
    valid[g_codes, ent_codes] = True
    flat = g_codes * NE + ent_codes
    all_leaves = [n.name for n in spec.leaves]
    leaf_cols = [all_leaves.index(c) for c in tree["leaf_names"]]
    TT, geo = [], []
    for alt in alts:
        T = arrays[alt].T[:, leaf_cols]
        if not keep.all():
            T = T[keep]
        _check_finite(T, alt, tree["leaf_names"], nominal.P.keys, keep)
        if alt[1] == "geometric":
            T = np.log(T)
        pad = np.zeros((len(leaf_cols), G * NE))
        pad[:, flat] = T.T
        TT.append(pad)
        geo.append(alt[1] == "geometric")
    s0 = np.zeros(G * NE)
    s0[flat] = nominal.node_scores[target.name][keep]
    if not np.all(np.isfinite(s0)):
        i = int(np.flatnonzero(~np.isfinite(s0))[0])
        raise DataError(f"the nominal score of node {target.name!r} is {s0[i]!r} for "
                        f"{entity}={entities[i % NE]!r}: ranks of a non-finite score are "
                        "meaningless; check the leaves of that entity")
    s0 = s0.reshape(G, NE)
    return Context(
        spec=spec, target=target.name, alts=alts, TT=TT, geometric=geo, valid=valid,
        entities=pd.Index(entities, name=entity), groups=groups, nominal_scores=s0,
        nominal_ranks=nominal_ranks(s0, valid), arrays=arrays, rows=keep, entity=entity,
        time=time, by=by, group_codes=gcodes, **tree,
    )


def _check_finite(T: np.ndarray, alt: tuple[str, str], leaves: list[str],
                  keys: pd.DataFrame, keep: np.ndarray) -> None:
    """Refuse non-finite normalized leaves (and, for geometric aggregation, leaves that
    are not positive): ``0 * log 0`` in the batch evaluation is NaN, and NaN scores rank
    arbitrarily instead of failing."""
    bad = ~np.isfinite(T)
    if alt[1] == "geometric":
        bad |= ~(T > 0)
    if not bad.any():
        return
    i, j = np.argwhere(bad)[0]
    row = int(np.flatnonzero(keep)[i])
    where = ", ".join(f"{k}={keys[k].iloc[row]!r}" for k in keys.columns)
    need = "a positive finite number (geometric aggregation)" if alt[1] == "geometric" \
        else "a finite number"
    raise DataError(
        f"leaf column {leaves[j]!r} is {T[i, j]!r} after normalization={alt[0]!r} at "
        f"{where}; the weight sensitivity needs {need} in every cell (impute or drop "
        "the row)")


def nominal_ranks(S: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Descending ranks (ties 'min', as ``Series.rank(method='min')``) of (G, NE)
    scores within each group; cells missing from the data get 0."""
    neg = np.where(valid, -(S + 0.0), np.inf)
    o = np.argsort(neg, axis=-1, kind="stable")
    srt = np.take_along_axis(neg, o, axis=-1)
    new = np.ones(srt.shape, dtype=bool)
    new[:, 1:] = srt[:, 1:] != srt[:, :-1]
    rp = np.where(new, np.arange(1, S.shape[1] + 1), 0)
    np.maximum.accumulate(rp, axis=-1, out=rp)
    ranks = np.empty(o.shape, dtype=np.int32)
    np.put_along_axis(ranks, o, rp.astype(np.int32), axis=-1)
    ranks[~valid] = 0
    return ranks


def cell_keys(ctx: Context) -> tuple[np.ndarray, np.ndarray, pd.MultiIndex]:
    """Group and entity number of every valid cell, and its (entity, *by, time) index,
    built from codes (no factorizing of the labels of every cell). Cells come entity by
    entity and groups in their sorted order, so the index is already sorted."""
    ei, gi = np.nonzero(ctx.valid.T)
    levels, codes = [ctx.entities], [ei]
    for k, (gc, lev) in zip((*ctx.by, ctx.time), ctx.group_codes):
        levels.append(pd.Index(lev, name=k))
        codes.append(gc[gi])
    index = pd.MultiIndex(levels=levels, codes=codes, names=[ctx.entity, *ctx.by, ctx.time],
                          verify_integrity=False)
    return gi, ei, index
