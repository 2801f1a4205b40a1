"""Weight sensitivity of a composite index: uncertainty of ranks under weight draws, and Sobol indices.

With arithmetic aggregation a node's score is linear in the normalized leaves,
``score = T @ w_eff``, where ``w_eff`` is the product of the local weights down the
tree; with geometric aggregation it is linear in ``log T``. Every draw of weights is
therefore one column of a matrix product: no per-draw rebuild of the index (Saisana,
Saltelli & Tarantola 2005, JRSS-A 168(2), describe the analysis; COINr's
``get_sensitivity`` rebuilds the index per draw).

The engine (``_evaluate_window``) takes each period × ``by`` group and a tile of 128
draws at a time: one GEMM gives the tile's scores, and the compiled kernel in
:mod:`dtistat.index._rankwin` ranks them exactly by comparing each entity only with the
entities whose score range over the tile overlaps its own — a draw rarely moves an
entity far, so that window is narrow and no sort is needed (comparisons in float32,
checked; see that module). Groups (and parts of the draws) run on threads.
``_evaluate_sort``, which sorts every (draw, group) row, is kept as the straightforward
reference the tests check the engine against.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _buffers
from dtistat import _validate as v
from dtistat.errors import DataError, ParameterError, PeriodError, SpecError
from dtistat.index import weights as _w
from dtistat.index.aggregate import AGGREGATIONS
from dtistat.index.compute import IndexArrays, IndexResult, index_arrays
from dtistat.index.normalize import NORMALIZATIONS
from dtistat.spec import IndexSpec, Node

__all__ = [
    "METHODS",
    "SCHEMES",
    "SensitivityResult",
    "SobolResult",
    "sobol_indices",
    "sobol_weights",
    "weight_sensitivity",
]

METHODS = (
    "expert_bootstrap",
    "leave_one_expert_out",
    "rating_noise",
    "multiplicative",
    "schemes",
)
SCHEMES = ("expert", "equal", "entropy", "critic", "cv", "pca")

# Draws are multiplied in fixed blocks so that a draw's scores are bit-for-bit the same
# whatever ``chunk_size`` is (BLAS results may depend on the shape of the call).
_BLOCK = 256
# Draws per tile of the window engine: longer tiles widen the windows (more comparisons)
# but spread each row's fixed costs (bounds, windows, loop set-up) over more draws;
# 128 was fastest of 32-320 for 340 entities x 9 quarters (2-core AVX-512 VM).
_WIN_TILE = 128
# How the window engine ranks a tile: 0 picks windows or a sort by cost, 1 always
# windows, 2 always sorts (the tests set it to check both paths).
_WIN_MODE = 0
# Bytes of the window engine's rank histograms (one per thread at most).
_HIST_BYTES = 256_000_000
# Bytes of per-draw statistics per chunk when the caller does not choose.
_CHUNK_BYTES = 32_000_000
# Elements (draws x cells) per chunk of the sort engine: ~8 MB per array, so the
# passes over a chunk stay in cache.
_CHUNK_ELEMENTS = 1_000_000
# Bytes for the row blocks of the exact score quantiles.
_QUANTILE_BYTES = 64_000_000


# ============================================================================ context
@dataclass(frozen=True)
class _Context:
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


def _build_context(
    data: pd.DataFrame, spec: IndexSpec, *, entity: str, time: str, by: tuple[str, ...],
    node: str, periods: Any, base_period: Any, normalization: str, aggregation: str,
    scope: str, missing: str, alts: list[tuple[str, str]],
) -> _Context:
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
    nominal = arrays[alts[0]]
    # ------------------------------------------------------------------ tree arrays
    nodes = [n.name for n in spec.nodes if n is not spec.root]
    pos = {n: i for i, n in enumerate(nodes)}
    parents = spec.parents()
    inner = [n.name for n in spec.root.walk() if not n.is_leaf]
    gid = {p: i for i, p in enumerate(inner)}
    parent_pos = np.array([gid[parents[n]] for n in nodes], dtype=np.intp)
    sub_leaves = [n for n in target.walk() if n.is_leaf]
    leaf_names = [n.name for n in sub_leaves]
    chains = []
    for leaf in leaf_names:
        chain, cur = [], leaf
        while cur != target.name:
            chain.append(pos[cur])
            cur = parents[cur]
        chains.append(chain)
    depth = max(len(c) for c in chains)
    M = len(nodes)
    paths = np.full((len(chains), depth), M, dtype=np.intp)
    for i, c in enumerate(chains):
        paths[i, : len(c)] = c[::-1]
    lw = spec.local_weights()
    base_local = np.array([lw[n] for n in nodes])
    # ------------------------------------------------------------------ panel layout
    # integer codes of every key (levels sorted); rows are the prepared panel's
    P = nominal.P
    keep = np.ones(len(P.keys), dtype=bool)
    if periods is not None:
        wanted = [v.to_quarter(p, name="periods") for p in v.as_list(periods)]
        if not wanted:
            raise ParameterError("periods is empty; pass None for all periods")
        have = P.periods
        for q in wanted:
            if q not in have:
                raise PeriodError(
                    f"period {str(q)!r} is not in the data; periods run from {have[0]} to "
                    f"{have[-1]}"
                )
        keep = np.isin(P.time_codes, have.get_indexer(pd.PeriodIndex(wanted, freq="Q")))
    codes, levels = {}, {}
    for k in (entity, *by):
        codes[k], levels[k] = pd.factorize(P.keys[k], sort=True)
    codes[time], levels[time] = P.time_codes, P.periods
    used, ent_codes = np.unique(codes[entity][keep], return_inverse=True)
    entities = levels[entity].take(used)
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
    G, NE = len(groups), len(entities)
    valid = np.zeros((G, NE), dtype=bool)
    valid[g_codes, ent_codes] = True
    flat = g_codes * NE + ent_codes
    all_leaves = [n.name for n in spec.leaves]
    leaf_cols = [all_leaves.index(c) for c in leaf_names]
    TT, geo = [], []
    for alt in alts:
        T = arrays[alt].T[:, leaf_cols]
        if not keep.all():
            T = T[keep]
        is_geo = alt[1] == "geometric"
        if is_geo:
            T = np.log(T)
        pad = np.zeros((G * NE, len(leaf_names)))
        pad[flat] = T
        TT.append(np.ascontiguousarray(pad.T))
        geo.append(is_geo)
    s0 = np.zeros(G * NE)
    s0[flat] = nominal.node_scores[target.name][keep]
    s0 = s0.reshape(G, NE)
    r0, _ = _rank(s0[None], valid)
    return _Context(
        spec=spec, target=target.name, nodes=nodes, parent_pos=parent_pos,
        n_groups=len(inner), leaf_names=leaf_names, paths=paths, alts=alts, TT=TT,
        geometric=geo, valid=valid, entities=pd.Index(entities, name=entity),
        groups=groups, nominal_scores=s0, nominal_ranks=r0[0], base_local=base_local,
        arrays=arrays, rows=keep, entity=entity, time=time, by=by, group_codes=gcodes,
    )


# ============================================================================ weights
def _renormalize(ctx: _Context, Lw: np.ndarray) -> np.ndarray:
    """Scale every sibling group of each draw's local weights to sum to one (a group
    emptied by a removal keeps its zero weights: its parent is removed too)."""
    from dtistat.index._rankwin import renormalize
    Lw = np.ascontiguousarray(Lw, dtype=float)
    return renormalize(Lw, ctx.parent_pos, ctx.n_groups, np.empty_like(Lw))


def _effective(ctx: _Context, Lw: np.ndarray) -> np.ndarray:
    """Per-draw effective weights of the target's leaves: products of local weights."""
    from dtistat.index._rankwin import effective
    return effective(np.ascontiguousarray(Lw, dtype=float), ctx.paths)


def _expert_block(ctx: _Context) -> tuple[np.ndarray, np.ndarray, list]:
    """Scores of the expert-weighted sibling groups: (experts x K), node positions, experts."""
    spec = ctx.spec
    sc = spec.expert_scores
    cols: list[str] = []
    for n in spec.internal:
        if spec.weight_source(n) == "expert":
            cols.extend(c.name for c in n.children)
    if sc is None or not cols:
        raise SpecError(
            "the spec has no expert scores for any sibling group; expert_bootstrap, "
            "leave_one_expert_out and rating_noise resample expert scores — build the "
            "spec with expert_scores, or use method='multiplicative' or 'schemes'"
        )
    pos = np.array([ctx.nodes.index(c) for c in cols], dtype=np.intp)
    return (sc.to_numpy(dtype=float)[:, sc.columns.get_indexer(cols)], pos,
            list(sc.index))


def _from_colsums(ctx: _Context, colsum: np.ndarray, pos: np.ndarray) -> np.ndarray:
    from dtistat.index._rankwin import renormalize
    Lw = np.empty((colsum.shape[0], len(ctx.base_local)))
    Lw[:] = ctx.base_local
    Lw[:, pos] = colsum
    return renormalize(Lw, ctx.parent_pos, ctx.n_groups, Lw)      # in place


def _scheme_local(ctx: _Context, scheme: str) -> np.ndarray:
    """Local weights of every node under a weighting scheme, from the nominal index."""
    spec = ctx.spec
    if scheme == "expert":
        return ctx.base_local.copy()
    res = ctx.result(ctx.alts[0])
    values = pd.concat([res.normalized, res.scores], axis=1)[ctx.rows]
    out = ctx.base_local.copy()
    for n in spec.internal:
        names = [c.name for c in n.children]
        if len(names) == 1 or scheme == "equal":
            w = np.full(len(names), 1.0 / len(names))
        else:
            fn = {"entropy": _w.entropy, "critic": _w.critic, "cv": _w.cv, "pca": _w.pca}[scheme]
            try:
                w = fn(values[names].reset_index(drop=True)).to_numpy()
            except DataError as exc:
                raise DataError(
                    f"scheme {scheme!r} for the children of {n.name!r}: {exc}"
                ) from None
        for nm, wi in zip(names, w):
            out[ctx.nodes.index(nm)] = wi
    return out


def _removal_local(ctx: _Context, name: str) -> np.ndarray | None:
    """Local weights with node ``name`` removed (its parent too when it was an only child)."""
    Lw = ctx.base_local.copy()
    parents = ctx.spec.parents()
    cur = name
    while True:
        if cur == ctx.target:
            return None
        i = ctx.nodes.index(cur)
        Lw[i] = 0.0
        sib = ctx.parent_pos == ctx.parent_pos[i]
        if Lw[sib].sum() > 0:
            break
        cur = parents[cur]
    return _renormalize(ctx, Lw[None])[0]


# ============================================================================ engine
def _scores_block(ctx: _Context, W: np.ndarray, alt: np.ndarray,
                  out: np.ndarray | None = None) -> np.ndarray:
    """Scores (draws, G*NE) on the ranking scale (log scale for geometric draws)."""
    if out is None:
        out = np.empty((W.shape[0], ctx.G * ctx.NE))
    a0 = alt[0]
    if (alt == a0).all():
        np.dot(W, ctx.TT[a0], out=out)
        return out
    for a in np.unique(alt):
        sel = alt == a
        out[sel] = W[sel] @ ctx.TT[a]
    return out


_BLAS_CONTROLLER: list = []


class _one_blas_thread:
    """Run BLAS single-threaded: small-K GEMMs gain nothing from threads (the window
    engine runs its own threads), and results then do not depend on the machine's
    thread count. The threadpoolctl controller is built once (it scans the loaded
    libraries, which takes milliseconds)."""

    def __enter__(self):
        self._ctl = None
        if not _BLAS_CONTROLLER:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
                _BLAS_CONTROLLER.append(None)
            else:
                _BLAS_CONTROLLER.append(ThreadpoolController())
        ctl = _BLAS_CONTROLLER[0]
        if ctl is not None:
            self._ctl = ctl.limit(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self._ctl is not None:
            self._ctl.restore_original_limits()
        return False


def _single_blas(fn: Callable) -> Callable:
    """Run ``fn`` with BLAS on one thread throughout. OpenBLAS threads keep spinning for
    a while after a multithreaded call and would steal the cores from the engine's
    threads (measured: a 10,000 x 15 matrix product before the engine slowed it by 40%)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper


def _sort_keys(ctx: _Context, S: np.ndarray, nonneg: bool) -> np.ndarray:
    """Sorted uint64 keys per (draw, group) row: score bits (descending) | entity number."""
    NE = ctx.NE
    bits = max(1, int(NE - 1).bit_length())
    mask = np.uint64((1 << bits) - 1)
    S += 0.0  # folds -0.0 into +0.0 so equal scores have equal bits
    u = S.view(np.uint64)
    if nonneg:
        # non-negative doubles order like their bit patterns; the top bit stays clear so
        # that padded cells (all ones) sort strictly after every real score
        key = np.subtract(np.uint64(0x7FFFFFFFFFFFFFFF), u, out=u)
    else:
        sign = np.uint64(1) << np.uint64(63)
        key = np.where(u & sign, u, ~(u | sign))  # complement of the ascending map
    key = key.reshape(-1, NE)
    key &= ~mask
    key |= _entity_bits(NE)
    if not ctx.valid.all():
        bad = ~ctx.valid
        k3 = key.reshape(-1, ctx.G, NE)
        k3[:, bad] = ~mask | np.nonzero(bad)[1].astype(np.uint64)
    key.sort(axis=-1)
    return key


_EBITS: dict[int, np.ndarray] = {}


def _entity_bits(NE: int) -> np.ndarray:
    if NE not in _EBITS:
        _EBITS[NE] = np.arange(NE, dtype=np.uint64)
    return _EBITS[NE]


def _exact_rows(X: np.ndarray, valid_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact order and rank-at-position ('min' ties) of score rows (rows, NE)."""
    neg = np.where(valid_row, -(X + 0.0), np.inf)
    o = np.argsort(neg, axis=-1, kind="stable")
    srt = np.take_along_axis(neg, o, axis=-1)
    nw = np.ones(srt.shape, dtype=bool)
    nw[:, 1:] = srt[:, 1:] != srt[:, :-1]
    rp = np.where(nw, np.arange(1, X.shape[1] + 1), 0)
    np.maximum.accumulate(rp, axis=-1, out=rp)
    return o, rp


def _rank(S: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descending ranks (ties 'min', as ``Series.rank(method='min')``) of (..., G, NE).

    Invalid cells get rank 0. Returns (ranks int32, order of entities by rank).
    """
    shape = S.shape
    NE = shape[-1]
    X = S.reshape(-1, NE)
    vr = np.broadcast_to(valid, shape).reshape(-1, NE)
    o, rp = _exact_rows(X, vr)
    ranks = np.empty(o.shape, dtype=np.int32)
    np.put_along_axis(ranks, o, rp.astype(np.int32), axis=-1)
    ranks = ranks.reshape(shape)
    ranks[..., ~valid] = 0
    return ranks, o.reshape(shape)


def _windowed_inversions(seq: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Inversions of nearly sorted rows counted within a window, and rows where that is exact.

    A row is exact when no pair further apart than ``window`` is inverted, checked with
    the running maximum.
    """
    inv = np.zeros(seq.shape[0], dtype=np.int64)
    n = seq.shape[1]
    for k in range(1, min(window, n - 1) + 1):
        inv += (seq[:, :-k] > seq[:, k:]).sum(axis=1)
    if window + 1 >= n:
        return inv, np.ones(seq.shape[0], dtype=bool)
    pm = np.maximum.accumulate(seq, axis=1)
    ok = (pm[:, : n - window - 1] <= seq[:, window + 1:]).all(axis=1)
    return inv, ok


def _inversions(seq: np.ndarray) -> np.ndarray:
    """Number of pairs i < j with seq_i > seq_j per row, exactly.

    Nearly sorted rows (the usual case: a draw moves few entities far) are counted
    within a window that grows until the running-maximum check proves no pair further
    apart is inverted; the remaining rows are counted with all pairs at once.
    """
    inv = np.zeros(seq.shape[0], dtype=np.int64)
    todo = np.arange(seq.shape[0])
    for window in (16, 64):
        if not todo.size:
            return inv
        part, exact = _windowed_inversions(seq[todo], window)
        inv[todo[exact]] = part[exact]
        todo = todo[~exact]
    n = seq.shape[1]
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    step = max(1, 8_000_000 // (n * n))
    for lo in range(0, todo.size, step):
        rows = seq[todo[lo:lo + step]]
        inv[todo[lo:lo + step]] = ((rows[:, :, None] > rows[:, None, :]) & upper).sum(axis=(1, 2))
    return inv


def _row_scores(ctx: _Context, W: np.ndarray, alt: np.ndarray, d: np.ndarray,
                g: np.ndarray) -> np.ndarray:
    """Scores of single (draw, group) rows, summed in a fixed order (no BLAS), so the
    result does not depend on how draws were chunked."""
    NE, L = ctx.NE, W.shape[1]
    out = np.empty((len(d), NE))
    TTg = [t.reshape(L, ctx.G, NE).transpose(1, 0, 2) for t in ctx.TT]
    for lo in range(0, len(d), 512):
        hi = min(len(d), lo + 512)
        dd, gg, aa = d[lo:hi], g[lo:hi], alt[d[lo:hi]]
        acc = np.zeros((hi - lo, NE))
        for a in np.unique(aa):
            m = aa == a
            blk = TTg[a][gg[m]]                                   # (r, L, NE)
            acc[m] = np.einsum("rl,rln->rn", W[dd[m]], blk, optimize=False)
        out[lo:hi] = acc
    return out


@dataclass
class _Acc:
    # rank counts: blocks of (parts, rows, entities) counts of rank - 1 (summed over
    # parts), with the flat cell (group * NE + entity) of each row
    hist: list[tuple[np.ndarray, np.ndarray]] | None
    rank_shift: np.ndarray
    spearman: np.ndarray
    kendall: np.ndarray | None
    dominance: np.ndarray | None
    ranks: np.ndarray | None
    # reusable memory behind ``hist`` (see dtistat._buffers): give it back when done
    scratch: np.ndarray | None = None

    def release(self) -> None:
        """Give the memory behind the rank counts back for reuse (after reading them)."""
        _buffers.give(self.scratch)


def _evaluate(
    ctx: _Context, W: np.ndarray, alt: np.ndarray, *, chunk: int,
    histogram: bool = True, kendall: bool = False, compare: np.ndarray | None = None,
    keep_ranks: bool = False, progress: Callable[[int, int], None] | None = None,
    engine: str = "window", n_jobs: int = 1,
) -> _Acc:
    """Rank every draw; accumulate rank histograms and per-draw statistics.

    ``engine="window"`` is the compiled exact-window ranking (:mod:`._rankwin`);
    ``engine="sort"`` sorts every (draw, group) row with NumPy — the straightforward
    reference the tests check the fast engine against. Both give identical ranks.
    """
    if engine == "window":
        from dtistat.index import _rankwin
        if ctx.valid.sum(axis=1).max() > _rankwin.MAX_ROWS:
            # the kernel's int32 per-row products would overflow; the sort engine has none
            return _evaluate_sort(ctx, W, alt, chunk=chunk, histogram=histogram,
                                  kendall=kendall, compare=compare, keep_ranks=keep_ranks,
                                  progress=progress)
        return _evaluate_window(ctx, W, alt, chunk=chunk, histogram=histogram,
                                kendall=kendall, compare=compare, keep_ranks=keep_ranks,
                                progress=progress, n_jobs=n_jobs)
    if engine != "sort":
        raise ParameterError(f"engine must be 'window' or 'sort', got {engine!r}")
    return _evaluate_sort(ctx, W, alt, chunk=chunk, histogram=histogram, kendall=kendall,
                          compare=compare, keep_ranks=keep_ranks, progress=progress)


def _evaluate_sort(
    ctx: _Context, W: np.ndarray, alt: np.ndarray, *, chunk: int,
    histogram: bool = True, kendall: bool = False, compare: np.ndarray | None = None,
    keep_ranks: bool = False, progress: Callable[[int, int], None] | None = None,
) -> _Acc:
    """Rank every draw in chunks by sorting; accumulate histograms and per-draw statistics.

    Work is done on the sorted representation: after sorting, position p of a
    (draw, group) row holds the entity ranked p + 1 (unless ties), so the histogram,
    rank shifts and correlations need one gather of nominal ranks and no scatter.
    """
    # its buffers hold chunk x cells doubles: cap the chunk to ~_CHUNK_ELEMENTS of them
    cap = max(_BLOCK, _CHUNK_ELEMENTS // max(1, ctx.G * ctx.NE) // _BLOCK * _BLOCK)
    chunk = min(chunk, cap)
    D = W.shape[0]
    G, NE = ctx.G, ctx.NE
    valid = ctx.valid
    R0 = ctx.nominal_ranks.astype(np.int64)
    n_g = valid.sum(axis=1)
    n_tot = int(n_g.sum())
    ok_g = n_g >= 2
    mean0 = np.where(valid, R0, 0).sum(axis=1) / n_g
    ss0 = (np.where(valid, R0 - mean0[:, None], 0.0) ** 2).sum(axis=1)
    pos1 = np.arange(1, NE + 1, dtype=np.int64)
    posvalid = pos1[None, :] <= n_g[:, None]                      # (G, NE)
    pairvalid = posvalid[:, 1:]                                   # both ends valid
    gbase = (np.arange(G, dtype=np.int64) * NE)[:, None]          # (G, 1)
    R0flat = np.where(valid, R0, 0).ravel()
    R0kflat = np.where(valid, R0, NE + 1).ravel()
    dump = G * NE * NE
    hist = np.zeros(dump + 1, dtype=np.int64) if histogram else None
    shift = np.empty(D)
    rho = np.empty(D)
    tau = np.empty(D) if kendall else None
    dom = (np.zeros((G, len(compare), len(compare)), dtype=np.int64)
           if compare is not None else None)
    ranks_all = np.empty((D, G, NE), dtype=np.int32) if keep_ranks else None
    nonneg = all(not g for g in ctx.geometric) and all((t >= 0).all() for t in ctx.TT) \
        and bool((W >= 0).all())
    bits = max(1, int(NE - 1).bit_length())
    tie_gap = np.uint64(1 << bits)
    # sums used by Spearman when a row has no ties: ranks are exactly 1..n_g
    sum_r = n_g * (n_g + 1) / 2.0
    ss_r = n_g * (n_g + 1) * (2 * n_g + 1) / 6.0 - n_g * ((n_g + 1) / 2.0) ** 2
    buf = np.empty((min(chunk, D), G * NE))
    small = G * NE * NE + 1 < 2**31
    it = np.int32 if small else np.int64
    pos1i = pos1.astype(it)
    # nominal ranks over valid cells: sum of squares per group (a multiset, whatever the order)
    sum_r0sq = np.where(valid, R0, 0).astype(float).__pow__(2).sum(axis=1)
    sum_psq = n_g * (n_g + 1) * (2 * n_g + 1) / 6.0
    gbase_i = gbase.astype(it)
    hbase = (gbase * NE + (pos1 - 1)[None, :]).astype(it)     # (G, NE): cell*NE + position
    R0flat_i = R0flat.astype(it)
    balanced = bool(posvalid.all())
    with _one_blas_thread():
        for lo in range(0, D, chunk):
            hi = min(D, lo + chunk)
            c = hi - lo
            S = buf[:c]
            for b in range(lo, hi, _BLOCK):
                e = min(hi, b + _BLOCK)
                _scores_block(ctx, W[b:e], alt[b:e], out=S[b - lo:e - lo])
            S3 = S.reshape(c, G, NE)
            if dom is not None:
                Sk = S3[:, :, compare]
                dom += (Sk[:, :, :, None] > Sk[:, :, None, :]).sum(axis=0)
            if keep_ranks:
                ranks_all[lo:hi] = _rank(S3, valid)[0]
            key = _sort_keys(ctx, S, nonneg)                      # (c*G, NE), sorted
            # rows whose adjacent sorted keys are closer than the entity field may hold
            # ties or near-ties: re-rank those rows exactly from the scores
            gap = np.diff(key, axis=1) < tie_gap
            if not balanced:
                gap &= np.broadcast_to(pairvalid, (c, G, NE - 1)).reshape(-1, NE - 1)
            srows = np.flatnonzero(gap.any(axis=1))
            # the entity number sits in the low bits: read the low 32-bit words
            order = np.bitwise_and(key.view(np.uint32)[:, 0::2], np.uint32(tie_gap - 1),
                                   dtype=np.uint32).view(np.int32)
            if not small:
                order = order.astype(np.int64)
            order = order.reshape(c, G, NE)
            rp = None
            if srows.size:
                vrow = np.broadcast_to(valid, (c, G, NE)).reshape(-1, NE)[srows]
                o, r = _exact_rows(_row_scores(ctx, W, alt, lo + srows // G, srows % G), vrow)
                order.reshape(-1, NE)[srows] = o
                rp = np.broadcast_to(pos1i, (c * G, NE)).copy()
                rp[srows] = r
                rp = rp.reshape(c, G, NE)
            cell = order
            cell += gbase_i                                       # (c, G, NE), in place
            R0g = R0flat_i[cell]                                  # nominal rank by position
            if tau is not None:
                # Kendall's tau-a: inversions of the nominal ranks read in the draw's order
                inv = _inversions(R0kflat[cell].reshape(-1, NE)).reshape(c, G)
                with np.errstate(invalid="ignore", divide="ignore"):
                    tg = 1.0 - 4.0 * inv / (n_g * (n_g - 1.0))
                tau[lo:hi] = tg[:, ok_g].mean(axis=1)
            if rp is None:
                dif = R0g - pos1i
                if hist is not None:
                    idx = cell
                    idx -= gbase_i
                    idx *= NE
                    idx += hbase
            else:
                dif = R0g - rp
                if hist is not None:
                    idx = cell * NE + (rp - 1)
            if not balanced:
                dif[:, ~posvalid] = 0
            if hist is not None:
                if not balanced:
                    idx[:, ~posvalid] = dump
                hist += np.bincount(idx.ravel(), minlength=dump + 1)
            dsq = np.einsum("cgn,cgn->cg", dif, dif, dtype=np.float64)
            np.abs(dif, out=dif)
            shift[lo:hi] = dif.sum(axis=(1, 2), dtype=np.float64) / n_tot
            if rp is None:
                # ranks are exactly 1..n_g: sum p*R0 = (sum p^2 + sum R0^2 - sum d^2) / 2
                cross = (sum_psq + sum_r0sq - dsq) / 2.0
                sr, ssr = sum_r, ss_r
            else:
                rpv = np.where(posvalid[None], rp, 0).astype(float)
                cross = np.einsum("cgn,cgn->cg", rpv, R0g.astype(float))
                sr = rpv.sum(axis=2)
                ssr = (rpv**2).sum(axis=2) - sr**2 / n_g
            cov = cross - mean0 * sr
            with np.errstate(invalid="ignore", divide="ignore"):
                rg = cov / np.sqrt(ssr * ss0)
            rho[lo:hi] = rg[:, ok_g].mean(axis=1)
            if progress is not None:
                progress(hi, D)
    return _Acc(
        hist=None if hist is None else [(hist[:dump].reshape(1, G * NE, NE),
                                         np.arange(G * NE))],
        rank_shift=shift,
        spearman=rho, kendall=tau, dominance=dom, ranks=ranks_all,
    )


@dataclass(frozen=True)
class _Layout:
    """Cells in nominal order within each group: the row order of the window engine."""

    gstart: np.ndarray      # (G + 1,) first row of each group
    ent: np.ndarray         # (n,) entity number of each row
    cell: np.ndarray        # (n,) flat cell g * NE + entity of each row
    R0: np.ndarray          # (n,) nominal rank
    A: np.ndarray           # (alternatives, n, L) leaves of each row, C order
    s0: np.ndarray          # (n,) nominal score on the ranking scale (the order key)


def _layout(ctx: _Context) -> _Layout:
    G, NE = ctx.G, ctx.NE
    s0 = ctx.nominal_scores
    if ctx.geometric[0]:  # the nominal alternative is the first; draws rank on log scale
        with np.errstate(divide="ignore"):
            s0 = np.log(s0)
    cells, starts = [], [0]
    for g in range(G):
        e = np.flatnonzero(ctx.valid[g])
        e = e[np.argsort(-s0[g, e], kind="stable")]
        cells.append(g * NE + e)
        starts.append(starts[-1] + len(e))
    cell = np.concatenate(cells).astype(np.intp)
    ent = (cell % NE).astype(np.int64)
    A = np.ascontiguousarray(np.stack([t[:, cell].T for t in ctx.TT]))
    return _Layout(
        gstart=np.array(starts, dtype=np.int64), ent=ent, cell=cell,
        R0=ctx.nominal_ranks.ravel()[cell].astype(np.int64), A=A,
        s0=np.ascontiguousarray(s0.ravel()[cell]),
    )


_POOLS: dict = {}


def _pool(n_jobs: int):
    """A thread pool per thread count, kept for the session (starting threads costs
    milliseconds per call). Keyed by process too: a forked child inherits the pool but
    not its threads, so it gets its own."""
    key = (os.getpid(), n_jobs)
    if key not in _POOLS:
        from concurrent.futures import ThreadPoolExecutor
        _POOLS[key] = ThreadPoolExecutor(max_workers=n_jobs,
                                         thread_name_prefix="dtistat-sensitivity")
    return _POOLS[key]


def _evaluate_window(
    ctx: _Context, W: np.ndarray, alt: np.ndarray, *, chunk: int, histogram: bool,
    kendall: bool, compare: np.ndarray | None, keep_ranks: bool,
    progress: Callable[[int, int], None] | None, n_jobs: int = 1,
) -> _Acc:
    """The window engine: per group, scores of a tile of draws by one GEMM, then exact
    ranks by comparisons within each row's window (:mod:`dtistat.index._rankwin`).

    Groups are independent tasks, run on ``n_jobs`` threads (BLAS and the compiled
    kernel release the GIL). Tiles are fixed runs of ``_WIN_TILE`` draws from draw 0,
    so every score is the same whatever ``chunk`` and ``n_jobs`` are; every statistic
    is an integer sum until the per-draw correlations are formed.
    """
    from dtistat.index import _rankwin

    D, L = W.shape
    G, NE = ctx.G, ctx.NE
    lay = _layout(ctx)
    n = len(lay.cell)
    gs = lay.gstart
    n_g = np.diff(gs)
    R0 = lay.R0
    mean0 = np.add.reduceat(R0, gs[:-1]) / n_g
    ss0 = np.array([((R0[s:e] - mean0[g]) ** 2).sum()
                    for g, (s, e) in enumerate(zip(gs[:-1], gs[1:]))])
    tw = _WIN_TILE
    n_tiles = -(-D // tw)
    last = D - (n_tiles - 1) * tw                       # valid draws in the last tile
    # pad the draws to whole tiles with copies of the last draw (ignored by the kernel)
    altp = np.concatenate([alt, np.repeat(alt[-1:], n_tiles * tw - D)])
    Wt = _buffers.take((n_tiles, L, tw), np.float64)          # (tile, leaf, draw)
    full = n_tiles - 1
    W = np.ascontiguousarray(W)
    Wt[:full].transpose(0, 2, 1)[...] = W[:full * tw].reshape(full, tw, L)
    Wt[full, :, :last] = W[full * tw:].T
    Wt[full, :, last:] = W[-1][:, None]
    mixed = not (altp == altp[0]).all()
    dmap = np.arange(n_tiles * tw, dtype=np.int64).reshape(n_tiles, tw)
    # tasks: whole groups, as many as divide evenly among the threads, then the rest
    # of the groups with their tiles split in `parts` (so few groups still use every
    # thread, and the split tasks are a multiple of the threads). Each task owns its
    # rank counts (summed when read); a split is capped to keep those in bounds.
    rest = G % n_jobs
    parts_r = n_jobs // math.gcd(rest, n_jobs) if rest else 1
    if histogram:
        parts_r = max(1, min(parts_r, _HIST_BYTES // (4 * n * NE)))
    parts = np.ones(G, dtype=np.int64)
    parts[G - rest:] = parts_r
    order = sorted(range(G), key=lambda g: (parts[g], -n_g[g]))   # whole, largest first
    # one allocation for every group's counts (views into it): one large zeroed block
    # costs far fewer page faults than many separate ones
    shapes = [(parts[g], n_g[g], NE) if histogram else (parts[g], 1, 1) for g in range(G)]
    sizes = [math.prod(sh) for sh in shapes]
    block = _buffers.take(sum(sizes), np.int32, zero=True)
    offs = np.concatenate([[0], np.cumsum(sizes)])
    hist = [block[offs[g]:offs[g + 1]].reshape(shapes[g]) for g in range(G)]
    ranks_all = np.zeros((D, G, NE), dtype=np.int32) if keep_ranks else None
    ranks_arg = ranks_all if keep_ranks else np.zeros((1, 1, 1), dtype=np.int32)
    k = 0 if compare is None else len(compare)
    dom = np.zeros((G, parts_r, k, k), dtype=np.int64)
    comp_rows = np.full((G, k), -1, dtype=np.int64)
    if k:
        pos = np.full(G * NE, -1, dtype=np.int64)
        pos[lay.cell] = np.arange(n) - np.repeat(gs[:-1], n_g)
        comp_rows = np.ascontiguousarray(pos.reshape(G, NE)[:, compare])   # -1: missing
    per_chunk = max(1, chunk // tw)
    A_g = [np.ascontiguousarray(lay.A[:, gs[g]:gs[g + 1]]) for g in range(G)]
    s0_g = [lay.s0[gs[g]:gs[g + 1]] for g in range(G)]
    R0_g = [R0[gs[g]:gs[g + 1]] for g in range(G)]
    ent_g = [lay.ent[gs[g]:gs[g + 1]] for g in range(G)]

    def task(g: int, part: int, t0: int, t1: int, c0: int, ST: np.ndarray) -> None:
        """Group g, tiles t0..t1 (of the chunk starting at tile c0), in one compiled
        call: a GEMM per tile, then the ranking."""
        _rankwin.rank_tiles(A_g[g], Wt, altp, t0, t1, n_tiles - 1, last, mixed, s0_g[g],
                            R0_g[g], ent_g[g], g, hist[g][part], ST[g, t0 - c0:t1 - c0],
                            ranks_arg, dmap, comp_rows[g], dom[g, part], histogram,
                            kendall, keep_ranks, _WIN_MODE)

    shift = np.empty(D)
    rho = np.empty(D)
    tau = np.empty(D) if kendall else None
    tau_arg = tau if kendall else np.empty(0)
    pool = _pool(n_jobs) if n_jobs > 1 else None
    with _one_blas_thread():
        for c0 in range(0, n_tiles, per_chunk):
            c1 = min(n_tiles, c0 + per_chunk)
            ST = _buffers.take((G, c1 - c0, 5, tw), np.int64)
            jobs = []
            for g in order:
                cuts = np.linspace(c0, c1, parts[g] + 1).round().astype(int)
                jobs += [(g, j, cuts[j], cuts[j + 1], c0, ST)
                         for j in range(parts[g]) if cuts[j + 1] > cuts[j]]
            if pool is None:
                for args in jobs:
                    task(*args)
            else:
                for f in [pool.submit(task, *args) for args in jobs]:
                    f.result()
            d0, d1 = c0 * tw, min(D, c1 * tw)
            _rankwin.draw_stats(ST, d1 - d0, n_g, mean0, ss0, n, shift[d0:d1],
                                rho[d0:d1], tau_arg[d0:d1] if kendall else tau_arg,
                                kendall)
            if progress is not None:
                progress(d1, D)
            _buffers.give(ST)
    _buffers.give(Wt)
    blocks = None
    if histogram:
        blocks = [(h, lay.cell[gs[g]:gs[g + 1]]) for g, h in enumerate(hist)]
    return _Acc(
        hist=blocks, rank_shift=shift, spearman=rho, kendall=tau,
        dominance=None if compare is None else dom.sum(axis=1), ranks=ranks_all,
        scratch=block,
    )


def _score_quantiles(ctx: _Context, W: np.ndarray, alt: np.ndarray,
                     q: Sequence[float], n_jobs: int = 1) -> np.ndarray:
    """Exact per-cell score quantiles over draws (order statistics, as
    ``np.quantile(..., method='inverted_cdf')``), in row blocks of bounded memory,
    blocks on ``n_jobs`` threads. Cells missing from the data are NaN."""
    from dtistat.index._rankwin import order_stats

    D = W.shape[0]
    cells = np.flatnonzero(ctx.valid.ravel())
    rb = max(1, min(_QUANTILE_BYTES // (8 * D), -(-len(cells) // (4 * n_jobs))))
    ks = np.array([_order_stat(D, p) for p in q], dtype=np.int64)
    order = np.argsort(ks, kind="stable")
    out = np.full((len(q), ctx.G * ctx.NE), np.nan)
    uniq = np.unique(alt)
    WT = [np.ascontiguousarray(W[alt == a].T) for a in uniq]
    sel = [np.flatnonzero(alt == a) for a in uniq]

    def block(lo: int) -> None:
        rows = cells[lo:lo + rb]
        S = np.empty((len(rows), D))
        for a, wt, s in zip(uniq, WT, sel):
            part = ctx.TT[a][:, rows].T @ wt
            if ctx.geometric[a]:
                np.exp(part, out=part)
            if len(s) == D:
                S = part
            else:
                S[:, s] = part
        res = order_stats(S, ks[order], 1024)
        out[np.ix_(order, rows)] = res

    starts = range(0, len(cells), rb)
    with _one_blas_thread():
        if n_jobs > 1:
            list(_pool(n_jobs).map(block, starts))
        else:
            for lo in starts:
                block(lo)
    return out.reshape(len(q), ctx.G, ctx.NE)


def _chunk(ctx: _Context, chunk_size: int | None) -> int:
    if chunk_size is None:
        # the window engine keeps 5 int64 statistics per group and draw of a chunk
        c = max(1, _CHUNK_BYTES // (40 * ctx.G))
    else:
        c = v.check_positive_int(chunk_size, "chunk_size")
    return int(math.ceil(c / _BLOCK) * _BLOCK)


@functools.lru_cache(maxsize=64)
def _order_stat(D: int, q: float) -> int:
    """1-based order statistic that ``np.quantile(..., method='inverted_cdf')`` returns."""
    return int(np.quantile(np.arange(1, D + 1), q, method="inverted_cdf"))


# ============================================================================ results
@dataclass(frozen=True)
class SensitivityResult:
    """Uncertainty of an index's ranks under weight draws.

    Attributes
    ----------
    ranks : DataFrame
        Index (entity, *by, time): nominal score and rank, mean and median rank, the
        5–95% rank interval (``rank_p05``, ``rank_p95``) and ``p_top_k``, the share of
        draws in which the entity is in the top ``top_k``. :meth:`summary` adds the
        5/50/95% score quantiles (:meth:`score_intervals`).
    draws : DataFrame
        One row per draw: its provenance (alternative, dropped expert, scheme), the
        local weight of every node (``w:<node>``), the mean absolute rank shift against
        the nominal ranking over all entities and groups, and the Spearman (and, when
        asked, Kendall) rank correlation with the nominal ranking, averaged over groups.
    parameters : dict
        The raw random inputs (expert counts, score noise, multipliers, alternative of
        each draw) and the seed: enough to rebuild every draw.
    effective_weights : DataFrame
        (Property, computed on first use.) Per leaf: nominal effective weight, the correlation ratio (main effect
        ``Var(E[y|x_j]) / Var(y)``, Paruolo, Saisana & Saltelli 2013), its share of the sum,
        and Pearson's r² — the leaf's *effective* importance against its nominal weight.
    leave_one_out : DataFrame or None
        Rank under the nominal weights with one indicator or one layer removed (siblings
        renormalized), per entity × group; ``rank_change`` > 0 means moved up.
    dominance : DataFrame or None
        For the ``compare`` entities: the probability that ``entity_a`` scores above
        ``entity_b``, per group.
    """

    method: str
    node: str
    entity: str
    time: str
    by: tuple[str, ...]
    top_k: int
    n_draws: int
    ranks: pd.DataFrame
    draws: pd.DataFrame
    parameters: dict = field(repr=False)
    leave_one_out: pd.DataFrame | None = field(default=None, repr=False)
    dominance: pd.DataFrame | None = field(default=None, repr=False)
    options: dict = field(default_factory=dict, repr=False)
    _ctx: Any = field(default=None, repr=False, compare=False)
    _weights: Any = field(default=None, repr=False, compare=False)
    _alt: Any = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def summary(self) -> pd.DataFrame:
        """Tidy frame: one row per entity (× by × period), sorted by group and nominal rank.

        The columns of :attr:`ranks` and of :meth:`score_intervals`.
        """
        out = self.ranks.join(self.score_intervals()).reset_index()
        keys = [*self.by, self.time]
        out = out.sort_values([*keys, "nominal_rank", self.entity], kind="stable")
        out = out.reset_index(drop=True)
        out.attrs["top_k"] = self.top_k
        return out

    def to_frame(self) -> pd.DataFrame:
        """Alias of :meth:`summary`."""
        return self.summary()

    @property
    def effective_weights(self) -> pd.DataFrame:
        """Per leaf: nominal effective weight against its correlation ratio (see the
        class notes); computed from the nominal index on first use and cached."""
        if "effective_weights" not in self._cache:
            self._cache["effective_weights"] = _effective_weights(self._ctx)
        return self._cache["effective_weights"].copy()

    def leave_one_out_summary(self) -> pd.DataFrame:
        """Per removed indicator or layer: mean and max absolute rank change."""
        if self.leave_one_out is None:
            raise ParameterError("no leave-one-out analysis: call with leave_one_out=True")
        g = self.leave_one_out.assign(abs_change=self.leave_one_out["rank_change"].abs())
        out = g.groupby(["removed", "level"], sort=False)["abs_change"].agg(["mean", "max"])
        return out.rename(columns={"mean": "mean_abs_rank_change",
                                   "max": "max_abs_rank_change"}).reset_index()

    def draw_scores(self, draws: Sequence[int] | None = None) -> pd.DataFrame:
        """Scores of the target node under the given draws (rows as in ``ranks``).

        Recomputed with the same vectorized path that produced the ranks.
        """
        ctx: _Context = self._ctx
        d = np.arange(self.n_draws) if draws is None else np.asarray(draws, dtype=np.intp)
        if d.size and (d.min() < 0 or d.max() >= self.n_draws):
            raise ParameterError(f"draws must be in 0..{self.n_draws - 1}")
        S = _scores_block(ctx, self._weights[d], self._alt[d]).reshape(len(d), ctx.G, ctx.NE)
        geo = np.array(ctx.geometric)[self._alt[d]]
        S[geo] = np.exp(S[geo])
        gi, ei, index = _cell_keys(ctx)
        frame = pd.DataFrame(S[:, gi, ei].T, columns=pd.Index(d, name="draw"), index=index)
        return frame.sort_index()

    def score_intervals(self) -> pd.DataFrame:
        """5%, 50% and 95% quantiles of each entity's score over the draws.

        Exact order statistics (``np.quantile(..., method='inverted_cdf')``) over all
        draws, computed on first use in row blocks of bounded memory and cached.
        """
        if "scores" not in self._cache:
            ctx: _Context = self._ctx
            qs = _score_quantiles(ctx, self._weights, self._alt, [0.05, 0.5, 0.95],
                                  n_jobs=self.options.get("n_jobs", 1))
            gi, ei, index = _cell_keys(ctx)
            self._cache["scores"] = pd.DataFrame(
                {"score_p05": qs[0][gi, ei], "score_median": qs[1][gi, ei],
                 "score_p95": qs[2][gi, ei]}, index=index).sort_index()
        return self._cache["scores"].copy()

    def __str__(self) -> str:
        s = self.ranks.reset_index()
        s = s.sort_values([*self.by, self.time, "nominal_rank", self.entity], kind="stable")
        last = s[s[self.time] == s[self.time].max()]
        cols = [self.entity, *self.by, "nominal_rank", "median_rank", "rank_p05",
                "rank_p95", "p_top_k"]
        d = self.draws
        lines = [
            f"SensitivityResult: method={self.method}, node={self.node!r}, "
            f"{self.n_draws} draws, {s[self.entity].nunique()} {self.entity} × "
            + (f"{' × '.join(self.by)} × " if self.by else "")
            + f"{s[self.time].nunique()} periods",
            (f"mean absolute rank shift per draw: mean {d['rank_shift'].mean():.3f}, "
             f"max {d['rank_shift'].max():.3f}; Spearman with nominal: mean "
             f"{d['spearman'].mean():.4f}, min {d['spearman'].min():.4f}"),
            "",
            f"Top {self.top_k} in {last[self.time].iloc[0]} (p_top_k = P(rank <= {self.top_k})):",
            last[last["nominal_rank"] <= self.top_k][cols].to_string(index=False),
        ]
        if self.leave_one_out is not None:
            lines += ["", "Leave one out (mean |rank change|):",
                      self.leave_one_out_summary().round(3).to_string(index=False)]
        return "\n".join(lines)


@dataclass(frozen=True)
class SobolResult:
    """First-order and total Sobol indices with bootstrap intervals and a convergence check.

    Attributes
    ----------
    indices : DataFrame
        Index: factor group; columns ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (SALib's
        half-width of the bootstrap ``conf_level`` interval).
    convergence : DataFrame
        The indices from the first half of the design (``n_base / 2``) beside those from
        the full design, and their absolute differences.
    converged : bool
        Whether every |ΔS1| and |ΔST| between ``n_base / 2`` and ``n_base`` is at most
        ``tolerance``.
    X, Y : ndarray
        The Saltelli design and the model output (provenance).
    """

    indices: pd.DataFrame
    convergence: pd.DataFrame
    converged: bool
    tolerance: float
    n_base: int
    output: str
    problem: dict = field(repr=False)
    X: np.ndarray = field(repr=False)
    Y: np.ndarray = field(repr=False)
    conf_level: float = 0.95

    def summary(self) -> pd.DataFrame:
        """Tidy: group, S1 and ST with the lower and upper ends of their intervals."""
        d = self.indices
        out = pd.DataFrame({
            "group": d.index,
            "S1": d["S1"].to_numpy(),
            "S1_low": (d["S1"] - d["S1_conf"]).to_numpy(),
            "S1_high": (d["S1"] + d["S1_conf"]).to_numpy(),
            "ST": d["ST"].to_numpy(),
            "ST_low": (d["ST"] - d["ST_conf"]).to_numpy(),
            "ST_high": (d["ST"] + d["ST_conf"]).to_numpy(),
        })
        return out

    def __str__(self) -> str:
        return "\n".join([
            (f"SobolResult: output = {self.output}; N = {self.n_base} "
             f"({len(self.Y)} model runs); {self.conf_level:.0%} bootstrap intervals"),
            self.indices.round(4).to_string(),
            "",
            (f"convergence (n_base/2 vs n_base): max |dS1| "
             f"{self.convergence['dS1'].max():.4f}, max |dST| "
             f"{self.convergence['dST'].max():.4f} -> "
             f"{'converged' if self.converged else 'NOT converged'} at tolerance "
             f"{self.tolerance}"),
        ])


# ============================================================================ public API
_OPTIONS = {
    "expert_bootstrap": set(),
    "leave_one_expert_out": set(),
    "rating_noise": set(),
    "multiplicative": {"delta", "vary"},
    "schemes": {"schemes"},
}


def _check_delta(delta: Any) -> float:
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < delta < 1:
        raise ParameterError(
            f"delta must be a number strictly between 0 and 1 (weights vary by a factor "
            f"1 + U(-delta, delta)), got {delta!r}"
        )
    return float(delta)


def _vary_positions(ctx: _Context, vary: Any) -> np.ndarray:
    """Positions of the nodes whose local weight is perturbed (default: under the target)."""
    under = {n.name for n in ctx.spec.node(ctx.target).walk()} - {ctx.target}
    if vary is None:
        names = [n for n in ctx.nodes if n in under]
    else:
        names = v.as_list(vary)
        bad = [n for n in names if n not in under]
        if bad:
            raise ParameterError(
                f"vary names node(s) {bad} that are not below node {ctx.target!r}; "
                f"choose from {sorted(under)}"
            )
    return np.array([ctx.nodes.index(n) for n in names], dtype=np.intp)


def _alternatives(normalization, aggregation, normalizations, aggregations):
    v.check_choice(normalization, NORMALIZATIONS, "normalization")
    v.check_choice(aggregation, AGGREGATIONS, "aggregation")
    norms = [normalization] if normalizations is None else v.as_list(normalizations)
    aggs = [aggregation] if aggregations is None else v.as_list(aggregations)
    if not norms or not aggs:
        raise ParameterError("normalizations and aggregations must not be empty")
    for n in norms:
        v.check_choice(n, NORMALIZATIONS, "normalizations entry")
    for a in aggs:
        v.check_choice(a, AGGREGATIONS, "aggregations entry")
    combos = list(dict.fromkeys(itertools.product(norms, aggs)))
    alts = list(dict.fromkeys([(normalization, aggregation), *combos]))
    return alts, [alts.index(c) for c in combos]


@_single_blas
def weight_sensitivity(
    data: pd.DataFrame,
    spec: IndexSpec | Mapping,
    *,
    entity: str = "city",
    time: str = "quarter",
    by: str | Sequence[str] | None = None,
    method: str = "expert_bootstrap",
    n_draws: int = 1000,
    seed: int | np.random.Generator | None = None,
    periods: Any = None,
    top_k: int = 10,
    node: str = "total",
    base_period: Any = "2021Q1",
    normalization: str = "base_share",
    aggregation: str = "arithmetic",
    scope: str = "period",
    missing: str = "error",
    normalizations: Sequence[str] | None = None,
    aggregations: Sequence[str] | None = None,
    compare: Sequence | None = None,
    leave_one_out: bool = True,
    kendall: bool = False,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    **method_options: Any,
) -> SensitivityResult:
    """How much do the weights move the rankings? Uncertainty analysis of an index.

    Every draw is a set of local weights; the node's score under all draws, in every
    period and ``by`` group at once, is ``T @ W`` (``exp(log T @ W)`` for geometric
    aggregation) and the ranks are computed in batch. The same draws serve every
    period and group, so changes over time are not confounded with weight noise.

    Parameters
    ----------
    data, spec, entity, time, by, base_period, normalization, aggregation, scope, missing
        As in :func:`dtistat.compute_index`; they define the nominal index.
        ``missing='skip'`` is refused (row-wise renormalization is not one linear map).
    method : str
        How weights are drawn (``a_ij`` = score of expert i for node j, ``E`` experts):

        ``expert_bootstrap``
            Resample the E experts with replacement; with ``c_i`` the number of times
            expert i is drawn, ``w_j = sum_i c_i a_ij / sum_{j' in siblings} sum_i c_i a_ij'``.
        ``leave_one_expert_out``
            E draws; draw i drops expert i (``c = 1 - e_i``). ``n_draws`` is ignored.
        ``rating_noise``
            ``a_ij + e_ij`` with ``e_ij`` uniform on {-1, 0, +1}, clipped to 1..5, then the
            seed's formula.
        ``multiplicative``
            ``w_j (1 + u_j)``, ``u_j ~ U(-delta, delta)``, renormalized among siblings
            (COINr-compatible). Options: ``delta`` (default 0.25), ``vary`` (node names;
            default every node below ``node``).
        ``schemes``
            One draw per weighting scheme (option ``schemes``, default all of
            ``expert`` — the spec's own weights —, ``equal``, ``entropy``, ``critic``,
            ``cv``, ``pca``), each applied to every sibling group on the nominal
            normalized values (leaves) or node scores (internal nodes), pooled over
            the analysed periods.

        Sibling groups without expert scores keep their nominal weights under the
        three expert methods.
    n_draws : int
        Number of random draws (warned below 100: intervals are then unreliable).
    seed : int or numpy Generator
        Same seed, same numbers — whatever ``chunk_size`` is.
    periods : quarter or list of quarters, optional
        Restrict the analysis to these periods (default: all).
    top_k : int
        ``p_top_k`` is the share of draws with rank <= ``top_k``.
    node : str
        The node whose ranking is studied; ``"total"`` is the root.
    normalizations, aggregations : list of str, optional
        Discrete alternatives: each random draw also picks one (normalization,
        aggregation) pair uniformly; deterministic methods are crossed with every pair.
    compare : list of entities, optional
        Entities for the pairwise dominance probabilities.
    leave_one_out : bool
        Also rank with each indicator and each layer removed (nominal weights).
    kendall : bool
        Also compute Kendall's tau of each draw with the nominal ranking (off by
        default: it costs about as much again as the ranking itself).
    chunk_size : int, optional
        Draws per chunk (rounded up to a multiple of 256); bounds memory and sets how
        often ``progress`` is called.
    n_jobs : int, optional
        Threads (default: every available core); the period × ``by`` groups are ranked
        in parallel. The numbers are the same whatever ``n_jobs`` and ``chunk_size``.
    progress : callable, optional
        Called as ``progress(done, n_draws)`` after each chunk of draws (for a progress
        bar); it does not affect the results.

    Returns
    -------
    SensitivityResult

    Notes
    -----
    Rank and score quantiles are order statistics,
    ``np.quantile(..., method='inverted_cdf')`` over the draws (so ``median_rank`` is an
    attained rank). Ties are ranked 'min', as :meth:`IndexResult.rank`. The per-draw
    ``spearman`` is Pearson's correlation of the ('min') ranks and ``kendall`` is
    ``1 - 4 * discordant / (n (n - 1))``; without ties they equal Spearman's rho and
    Kendall's tau-b (``scipy.stats.spearmanr`` / ``kendalltau``). Each is averaged over
    the periods × ``by`` groups. Memory is bounded by ``chunk_size`` plus a rank
    histogram of (groups × entities × entities) counts (one per thread at most). Ranks are exact:
    scores are compared as doubles, never truncated or binned.

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [
    ...     {"name": "infra", "children": [{"name": "x1"}, {"name": "x2"}]},
    ...     {"name": "app", "children": [{"name": "x3"}]}],
    ...     "expert_scores": {"e1": {"infra": 5, "app": 1, "x1": 5, "x2": 1},
    ...                       "e2": {"infra": 2, "app": 4, "x1": 1, "x2": 5},
    ...                       "e3": {"infra": 3, "app": 3, "x1": 3, "x2": 3}}})
    >>> df = pd.DataFrame({"city": list("ABCD"), "quarter": "2021Q1",
    ...                    "x1": [4.0, 1, 3, 2], "x2": [1.0, 4, 2, 3], "x3": [2.0, 3, 4, 1]})
    >>> res = weight_sensitivity(df, spec, n_draws=200, seed=1, top_k=1)
    >>> print(res.summary()[["city", "nominal_rank", "rank_p05", "rank_p95", "p_top_k"]]
    ...       .to_string(index=False))
    city  nominal_rank  rank_p05  rank_p95  p_top_k
       C             1         1         1     0.98
       B             2         2         3     0.00
       A             3         2         3     0.02
       D             4         4         4     0.00
    """
    v.check_frame(data)
    v.check_choice(method, METHODS, "method")
    allowed = _OPTIONS[method]
    unknown = set(method_options) - allowed
    if unknown:
        raise ParameterError(
            f"unknown option(s) {sorted(unknown)} for method={method!r}; it takes "
            f"{sorted(allowed) or 'no options'}"
        )
    n_draws = v.check_positive_int(n_draws, "n_draws")
    top_k = v.check_positive_int(top_k, "top_k")
    jobs = v.check_n_jobs(n_jobs)
    rng = v.check_seed(seed)
    by_cols = tuple(v.as_list(by))
    delta = _check_delta(method_options.get("delta", 0.25)) if method == "multiplicative" else None
    alts, combo_idx = _alternatives(normalization, aggregation, normalizations, aggregations)
    ctx = _build_context(
        data, spec, entity=entity, time=time, by=by_cols, node=node, periods=periods,
        base_period=base_period, normalization=normalization, aggregation=aggregation,
        scope=scope, missing=missing, alts=alts,
    )
    if compare is not None:
        comp = v.as_list(compare)
        missing_e = [e for e in comp if e not in ctx.entities]
        if missing_e:
            raise ParameterError(
                f"compare names {entity}(s) {missing_e} that are not in the data"
                f" (e.g. {list(ctx.entities[:5])})"
            )
        if len(set(comp)) < 2:
            raise ParameterError("compare needs at least two distinct entities")
        comp_idx = ctx.entities.get_indexer(comp)
    else:
        comp, comp_idx = None, None

    # ------------------------------------------------------------------ draws
    params: dict[str, Any] = {"seed": seed if not isinstance(seed, np.random.Generator) else "Generator"}
    labels: dict[str, Any] = {}
    deterministic = method in ("leave_one_expert_out", "schemes")
    if method in ("expert_bootstrap", "leave_one_expert_out", "rating_noise"):
        A, pos, experts = _expert_block(ctx)
        E = A.shape[0]
        if E < 3:
            v.warn(f"only {E} expert(s) score the weights; resampling so few experts says "
                   f"little about weight uncertainty")
        if method == "expert_bootstrap":
            # E experts drawn with replacement per draw, counted per expert
            pick = rng.integers(0, E, size=(n_draws, E))
            pick += (np.arange(n_draws) * E)[:, None]
            counts = np.bincount(pick.ravel(), minlength=n_draws * E).reshape(n_draws, E)
            Lw = _from_colsums(ctx, counts.astype(float) @ A, pos)
            params["counts"] = pd.DataFrame(counts, columns=pd.Index(experts, name="expert"))
        elif method == "leave_one_expert_out":
            if E < 2:
                raise ParameterError("leave_one_expert_out needs at least two experts")
            counts = 1 - np.eye(E, dtype=np.int64)
            Lw = _from_colsums(ctx, counts @ A, pos)
            labels["dropped_expert"] = list(experts)
        else:
            noise = rng.integers(-1, 2, size=(n_draws, E, A.shape[1]), dtype=np.int8)
            colsum = np.empty((n_draws, A.shape[1]))
            for lo in range(0, n_draws, 4096):
                hi = min(n_draws, lo + 4096)
                colsum[lo:hi] = np.clip(A[None] + noise[lo:hi], 1, 5).sum(axis=1)
            Lw = _from_colsums(ctx, colsum, pos)
            params["noise"] = noise
            params["experts"] = list(experts)
            params["scored_nodes"] = [ctx.nodes[i] for i in pos]
    elif method == "multiplicative":
        vpos = _vary_positions(ctx, method_options.get("vary"))
        u = rng.uniform(-delta, delta, size=(n_draws, len(vpos)))
        Lw = np.tile(ctx.base_local, (n_draws, 1))
        Lw[:, vpos] *= 1.0 + u
        Lw = _renormalize(ctx, Lw)
        params["u"] = pd.DataFrame(u, columns=[ctx.nodes[i] for i in vpos])
        params["delta"] = delta
    else:
        schemes = v.as_list(method_options.get("schemes", SCHEMES))
        for s in schemes:
            v.check_choice(s, SCHEMES, "schemes entry")
        Lw = np.vstack([_scheme_local(ctx, s) for s in schemes])
        labels["scheme"] = list(schemes)
    if not deterministic and n_draws < 100:
        v.warn(f"n_draws={n_draws} is small: rank intervals and top-k probabilities from "
               f"fewer than 100 draws are unreliable")
    if deterministic:
        k = Lw.shape[0]
        Lw = np.repeat(Lw, len(combo_idx), axis=0)
        alt = np.tile(np.array(combo_idx, dtype=np.intp), k)
        labels = {kk: list(np.repeat(vv, len(combo_idx))) for kk, vv in labels.items()}
    elif len(combo_idx) > 1:
        alt = np.array(combo_idx, dtype=np.intp)[rng.integers(0, len(combo_idx), size=n_draws)]
    else:
        alt = np.full(n_draws, combo_idx[0], dtype=np.intp)
    params["alternative"] = alt
    D = Lw.shape[0]
    W = _effective(ctx, Lw)

    # ------------------------------------------------------------------ evaluate
    chunk = _chunk(ctx, chunk_size)
    acc = _evaluate(ctx, W, alt, chunk=chunk, kendall=kendall, compare=comp_idx,
                    progress=progress, n_jobs=jobs)
    ranks = _rank_table(ctx, acc.hist, D, top_k, jobs)
    acc.release()

    cols: dict[str, Any] = {"draw": np.arange(D), **labels}
    if len(alts) > 1:
        cols["normalization"] = [alts[a][0] for a in alt]
        cols["aggregation"] = [alts[a][1] for a in alt]
    for j, nm in enumerate(ctx.nodes):
        cols[f"w:{nm}"] = Lw[:, j]
    cols["rank_shift"] = acc.rank_shift
    cols["spearman"] = acc.spearman
    if acc.kendall is not None:
        cols["kendall"] = acc.kendall
    draws = pd.DataFrame(cols, copy=False)   # fresh arrays: no copy needed

    dominance = None
    if acc.dominance is not None:
        rows = []
        for g in range(ctx.G):
            gk = ctx.groups.iloc[g].to_dict()
            for i, a in enumerate(comp):
                for j, b in enumerate(comp):
                    if i != j and ctx.valid[g, comp_idx[i]] and ctx.valid[g, comp_idx[j]]:
                        rows.append({**gk, "entity_a": a, "entity_b": b,
                                     "p_above": acc.dominance[g, i, j] / D})
        dominance = pd.DataFrame(rows)

    loo = _leave_one_out(ctx, chunk, jobs) if leave_one_out else None
    return SensitivityResult(
        method=method, node=ctx.target, entity=entity, time=time, by=by_cols, top_k=top_k,
        n_draws=D, ranks=ranks, draws=draws, parameters=params,
        leave_one_out=loo, dominance=dominance,
        options={"normalization": normalization, "aggregation": aggregation,
                 "alternatives": alts, "base_period": base_period, "scope": scope,
                 "missing": missing, "chunk_size": chunk, "n_jobs": jobs, **method_options},
        _ctx=ctx, _weights=W, _alt=alt,
    )


def _cell_keys(ctx: _Context) -> tuple[np.ndarray, np.ndarray, pd.MultiIndex]:
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


def _rank_table(ctx: _Context, hist: list, D: int, top_k: int,
                n_jobs: int = 1) -> pd.DataFrame:
    """Per cell: nominal score and rank, mean, median and 5/95% ranks, P(top k), from
    the rank counts of every group (summarized on ``n_jobs`` threads)."""
    from dtistat.index._rankwin import hist_summary

    kth = np.array([_order_stat(D, p) for p in (0.05, 0.5, 0.95)], dtype=np.int64)
    G, NE = ctx.G, ctx.NE
    mean = np.zeros(G * NE)
    q = np.zeros((3, G * NE), dtype=np.int64)
    top = np.zeros(G * NE, dtype=np.int64)

    def one(item: tuple) -> None:
        h, cells = item
        m, qq, t = hist_summary(h, kth, min(top_k, NE), D)
        mean[cells], q[:, cells], top[cells] = m, qq, t

    if n_jobs > 1 and len(hist) > 1:
        list(_pool(n_jobs).map(one, hist))
    else:
        for item in hist:
            one(item)
    gi, ei, index = _cell_keys(ctx)
    flat = gi * NE + ei
    # the cells come sorted (see _cell_keys): no sort needed
    return pd.DataFrame({
        "nominal_score": ctx.nominal_scores[gi, ei],
        "nominal_rank": ctx.nominal_ranks[gi, ei],
        "mean_rank": mean[flat],
        "median_rank": q[1, flat],
        "rank_p05": q[0, flat],
        "rank_p95": q[2, flat],
        "p_top_k": top[flat] / D,
    }, index=index)


def _leave_one_out(ctx: _Context, chunk: int, n_jobs: int = 1) -> pd.DataFrame | None:
    tgt = ctx.spec.node(ctx.target)
    items = [(n, "indicator") for n in ctx.leaf_names]
    items += [(c.name, "layer") for c in tgt.children if not c.is_leaf]
    rows, names = [], []
    for name, level in items:
        lw = _removal_local(ctx, name)
        if lw is not None:
            rows.append(lw)
            names.append((name, level))
    if not rows:
        return None
    Lw = np.vstack(rows)
    W = _effective(ctx, Lw)
    alt = np.zeros(len(rows), dtype=np.intp)
    acc = _evaluate(ctx, W, alt, chunk=chunk, histogram=False, keep_ranks=True,
                    n_jobs=n_jobs)
    gi, ei = np.nonzero(ctx.valid)
    keys = ctx.groups.iloc[gi].reset_index(drop=True)
    keys.insert(0, ctx.entity, ctx.entities[ei])
    frames = []
    for k, (name, level) in enumerate(names):
        f = keys.copy()
        f.insert(0, "level", level)
        f.insert(0, "removed", name)
        f["nominal_rank"] = ctx.nominal_ranks[gi, ei]
        f["rank"] = acc.ranks[k][gi, ei]
        f["rank_change"] = f["nominal_rank"] - f["rank"]
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _effective_weights(ctx: _Context, bins: int = 20) -> pd.DataFrame:
    """Correlation ratio of the node score on each leaf: ``Var(E[y | x_j]) / Var(y)``.

    ``E[y | x_j]`` is estimated by a piecewise-linear regression on quantile bins of
    ``x_j`` (a line within each bin), pooled over the analysed rows; it nests the
    straight line, so it is at least Pearson's r². Paruolo, Saisana & Saltelli (2013),
    JRSS-A 176(3), compare this main effect with the nominal weight.
    """
    a = ctx.arrays[ctx.alts[0]]
    y = a.node_scores[ctx.target][ctx.rows]
    all_leaves = [n.name for n in ctx.spec.leaves]
    X = a.T[:, [all_leaves.index(c) for c in ctx.leaf_names]][ctx.rows]          # (n, L)
    n, L = X.shape
    Wn = _effective(ctx, ctx.base_local[None])[0]
    sst = float(((y - y.mean()) ** 2).sum())
    nb = int(max(1, min(bins, n // 20)))
    qs = np.quantile(X, np.linspace(0, 1, nb + 1), axis=0)           # (nb + 1, L)
    # bin of every value, offset by leaf so one bincount serves all leaves
    B = np.empty((n, L), dtype=np.intp)
    for j in range(L):
        edges = np.unique(qs[:, j])
        B[:, j] = np.clip(np.searchsorted(edges, X[:, j], side="right") - 1, 0,
                          max(0, len(edges) - 2)) + j * nb
    flat = B.ravel()
    size = L * nb
    Y = np.broadcast_to(y[:, None], (n, L)).ravel()
    cnt = np.bincount(flat, minlength=size).astype(float)
    cnt[cnt == 0] = 1.0
    xm = np.bincount(flat, weights=X.ravel(), minlength=size) / cnt
    ym = np.bincount(flat, weights=Y, minlength=size) / cnt
    dx = X.ravel() - xm[flat]
    dy = Y - ym[flat]
    sxx = np.bincount(flat, weights=dx * dx, minlength=size)
    sxy = np.bincount(flat, weights=dx * dy, minlength=size)
    slope = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 0)
    resid = (dy - slope[flat] * dx).reshape(n, L)
    with np.errstate(invalid="ignore", divide="ignore"):
        eta2 = 1.0 - (resid**2).sum(axis=0) / sst if sst > 0 else np.full(L, np.nan)
        xc = X - X.mean(axis=0)
        r = (xc * (y - y.mean())[:, None]).sum(axis=0) / np.sqrt((xc**2).sum(axis=0) * sst)
    r = np.where(X.std(axis=0) > 0, r, np.nan) if sst > 0 else np.full(L, np.nan)
    out = list(zip(ctx.leaf_names, Wn, eta2, r * r))
    f = pd.DataFrame(out, columns=["leaf", "nominal_weight", "corr_ratio", "pearson_r2"])
    f.insert(3, "corr_ratio_share", f["corr_ratio"] / f["corr_ratio"].sum())
    return f.set_index("leaf")


# ============================================================================ Sobol
def _salib():
    try:
        from SALib.analyze import sobol as analyze
        from SALib.sample import sobol as sample
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Sobol indices need SALib: pip install 'SALib>=1.4'"
        ) from None
    return sample, analyze


def sobol_indices(
    func: Callable[[np.ndarray], np.ndarray],
    names: Sequence[str],
    bounds: Sequence[Sequence[float]],
    *,
    groups: Sequence[str] | None = None,
    n_base: int = 1024,
    seed: int | None = None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    tolerance: float = 0.05,
    output: str = "y",
) -> SobolResult:
    """First-order and total Sobol indices of ``func`` with SALib's Saltelli design.

    ``func`` maps the design (runs × factors) to one output per run. Uses
    ``SALib.sample.sobol.sample`` (scrambled Sobol sequence, ``calc_second_order=False``,
    N·(k+2) runs for k groups) and ``SALib.analyze.sobol.analyze`` (Saltelli 2010
    first-order and Jansen total estimators, bootstrap intervals). The convergence
    check analyzes the first half of the same design (``n_base / 2``, itself a Sobol
    design) beside the full one.

    Examples
    --------
    >>> import numpy as np
    >>> r = sobol_indices(lambda X: X @ np.array([1.0, 2.0]), ["a", "b"], [[0, 1], [0, 1]],
    ...                   n_base=512, seed=1)
    >>> r.indices["S1"].round(1).tolist()   # analytic: 1/5 and 4/5
    [0.2, 0.8]
    """
    sample, analyze = _salib()
    n_base = v.check_positive_int(n_base, "n_base", minimum=16)
    if n_base & (n_base - 1):
        raise ParameterError(f"n_base must be a power of two (Sobol sequence), got {n_base}")
    level = v.check_level(conf_level, "conf_level")
    names = list(names)
    problem: dict[str, Any] = {"num_vars": len(names), "names": names,
                               "bounds": [list(map(float, b)) for b in bounds]}
    if groups is not None:
        problem["groups"] = list(groups)
    k = len(set(groups)) if groups is not None else len(names)
    if k < 2:
        raise ParameterError("Sobol indices need at least two factor groups")
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**31 - 1))
    X = sample.sample(problem, n_base, calc_second_order=False, seed=seed)
    Y = np.asarray(func(X), dtype=float).reshape(-1)
    if Y.shape[0] != X.shape[0] or not np.isfinite(Y).all():
        raise DataError("the model output must be one finite number per run")
    labels = list(dict.fromkeys(groups)) if groups is not None else names

    def run(y: np.ndarray) -> pd.DataFrame:
        s = analyze.analyze(problem, y, calc_second_order=False, num_resamples=num_resamples,
                            conf_level=level, seed=seed)
        return pd.DataFrame({"S1": s["S1"], "S1_conf": s["S1_conf"], "ST": s["ST"],
                             "ST_conf": s["ST_conf"]}, index=pd.Index(labels, name="group"))

    full = run(Y)
    half = run(Y[: (n_base // 2) * (k + 2)])
    conv = pd.DataFrame({"S1_half": half["S1"], "S1": full["S1"],
                         "dS1": (full["S1"] - half["S1"]).abs(),
                         "ST_half": half["ST"], "ST": full["ST"],
                         "dST": (full["ST"] - half["ST"]).abs()})
    converged = bool(conv["dS1"].max() <= tolerance and conv["dST"].max() <= tolerance)
    if not converged:
        v.warn(f"Sobol indices moved by up to {max(conv['dS1'].max(), conv['dST'].max()):.3f} "
               f"between N={n_base // 2} and N={n_base}; increase n_base")
    return SobolResult(indices=full, convergence=conv, converged=converged,
                       tolerance=tolerance, n_base=n_base, output=output, problem=problem,
                       X=X, Y=Y, conf_level=level)


@_single_blas
def sobol_weights(
    data: pd.DataFrame,
    spec: IndexSpec | Mapping,
    *,
    entity: str = "city",
    time: str = "quarter",
    by: str | Sequence[str] | None = None,
    periods: Any = None,
    node: str = "total",
    base_period: Any = "2021Q1",
    normalization: str = "base_share",
    aggregation: str = "arithmetic",
    scope: str = "period",
    missing: str = "error",
    n_base: int = 1024,
    groups: str | Mapping[str, str] = "layer",
    delta: float = 0.25,
    vary: Sequence[str] | None = None,
    seed: int | None = None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    tolerance: float = 0.05,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
) -> SobolResult:
    """Sobol indices of the mean absolute rank shift with respect to the weights.

    Each varied node's local weight is multiplied by a factor uniform on
    ``[1 - delta, 1 + delta]`` and siblings are renormalized (as the ``multiplicative``
    method); the output of a run is the mean absolute rank shift against the nominal
    ranking over all entities, periods and ``by`` groups. Factors are grouped
    ``groups="layer"`` (every weight within one layer, the layer's own weight included,
    forms one group), ``"indicator"`` (each weight its own factor) or by a mapping
    node -> group name. Runs are evaluated by the same engine as
    :func:`weight_sensitivity` (``chunk_size``, ``n_jobs`` as there).

    Examples
    --------
    >>> import pandas as pd
    >>> from dtistat import IndexSpec
    >>> spec = IndexSpec.from_dict({"name": "total", "children": [
    ...     {"name": "a", "children": [{"name": "x1"}, {"name": "x2"}]},
    ...     {"name": "b", "children": [{"name": "x3"}, {"name": "x4"}]}]})
    >>> df = pd.DataFrame({"city": list("ABCDEF"), "quarter": "2021Q1",
    ...     "x1": [1.0, 2, 3, 4, 5, 6], "x2": [1.0, 2, 3, 4, 5, 6],
    ...     "x3": [6.0, 1, 5, 2, 4, 3], "x4": [2.0, 6, 1, 5, 3, 4]})
    >>> r = sobol_weights(df, spec, groups="indicator", n_base=512, seed=0, tolerance=0.1)
    >>> r.indices.loc[["x1", "x2"], "ST"].tolist()    # x1 == x2: their split is irrelevant
    [0.0, 0.0]
    """
    v.check_frame(data)
    _check_delta(delta)
    alts, _ = _alternatives(normalization, aggregation, None, None)
    ctx = _build_context(
        data, spec, entity=entity, time=time, by=tuple(v.as_list(by)), node=node,
        periods=periods, base_period=base_period, normalization=normalization,
        aggregation=aggregation, scope=scope, missing=missing, alts=alts,
    )
    vpos = _vary_positions(ctx, vary)
    names = [ctx.nodes[i] for i in vpos]
    tgt = ctx.spec.node(ctx.target)
    if isinstance(groups, str) and groups == "layer":
        layer = {}
        for c in tgt.children:
            for n in c.walk():
                layer[n.name] = c.name
        grp = [layer[n] for n in names]
    elif isinstance(groups, str) and groups == "indicator":
        grp = list(names)
    elif isinstance(groups, Mapping):
        miss = [n for n in names if n not in groups]
        if miss:
            raise ParameterError(f"groups mapping has no group for node(s) {miss}")
        grp = [str(groups[n]) for n in names]
    else:
        raise ParameterError(
            f"groups={groups!r}; choose 'layer', 'indicator' or a mapping node -> group"
        )
    chunk = _chunk(ctx, chunk_size)
    jobs = v.check_n_jobs(n_jobs)

    def model(X: np.ndarray) -> np.ndarray:
        Lw = np.tile(ctx.base_local, (X.shape[0], 1))
        Lw[:, vpos] *= X
        W = _effective(ctx, _renormalize(ctx, Lw))
        alt = np.zeros(X.shape[0], dtype=np.intp)
        return _evaluate(ctx, W, alt, chunk=chunk, histogram=False, n_jobs=jobs).rank_shift

    return sobol_indices(
        model, names, [[1.0 - delta, 1.0 + delta]] * len(names), groups=grp,
        n_base=n_base, seed=seed, num_resamples=num_resamples, conf_level=conf_level,
        tolerance=tolerance, output="mean absolute rank shift",
    )
