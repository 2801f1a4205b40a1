"""Weight draws of a sensitivity analysis: expert resampling, rating noise, multipliers, schemes.

Every draw is a vector of local weights (one per node, siblings summing to one); the
effective weight of a leaf is the product of the local weights on its path, so a draw's
scores are one matrix product with the leaves (see :mod:`dtistat.sensitivity.context`).
The expert methods apply the weighting formula of the report,
``w_j = sum_i a_ij / sum_{j' in siblings} sum_i a_ij'``, to resampled or perturbed
expert scores ``a_ij``.
"""

from __future__ import annotations

import itertools
import numbers
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat.errors import DataError, ParameterError, SpecError
from dtistat.index import weights as _w
from dtistat.index.aggregate import AGGREGATIONS
from dtistat.index.normalize import NORMALIZATIONS
from dtistat.sensitivity.context import Context

__all__ = ["METHODS", "OPTIONS", "SCHEMES", "alternatives", "check_delta", "draw_local",
           "effective", "removal_local", "renormalize", "vary_positions"]

METHODS = (
    "expert_bootstrap",
    "leave_one_expert_out",
    "rating_noise",
    "multiplicative",
    "schemes",
)
SCHEMES = ("expert", "equal", "entropy", "critic", "cv", "pca")
OPTIONS = {
    "expert_bootstrap": set(),
    "leave_one_expert_out": set(),
    "rating_noise": set(),
    "multiplicative": {"delta", "vary"},
    "schemes": {"schemes"},
}


def _renormalize_kernel(Lw, parent_pos, n_groups, out):
    """Local weights scaled so that every sibling group of each draw (row of ``Lw``) sums
    to one, into ``out`` (may be ``Lw``); ``parent_pos[j]`` is the group of node j. A
    group summing to zero or less (a removed node's children) keeps its weights. Each
    group's sum runs over its nodes in order (NumPy, column by column: nothing to
    compile)."""
    den = np.zeros((Lw.shape[0], n_groups))
    for j, g in enumerate(parent_pos):
        den[:, g] += Lw[:, j]
    den[den <= 0.0] = 1.0
    return np.divide(Lw, den[:, parent_pos], out=out)


def _effective_kernel(Lw, paths):
    """Effective weight of every leaf in every draw: the product of the local weights
    on its path (``paths[i]``: node positions from the top; ``M`` pads with 1), taken
    from the top down."""
    Lp = np.concatenate([Lw, np.ones((Lw.shape[0], 1))], axis=1)
    W = Lp[:, paths[:, 0]]
    for k in range(1, paths.shape[1]):
        W *= Lp[:, paths[:, k]]
    return W


def renormalize(ctx: Context, Lw: np.ndarray) -> np.ndarray:
    """Scale every sibling group of each draw's local weights to sum to one (a group
    emptied by a removal keeps its zero weights: its parent is removed too)."""
    Lw = np.ascontiguousarray(Lw, dtype=float)
    return _renormalize_kernel(Lw, ctx.parent_pos, ctx.n_groups, np.empty_like(Lw))


def effective(ctx: Context, Lw: np.ndarray) -> np.ndarray:
    """Per-draw effective weights of the target's leaves: products of local weights."""
    return _effective_kernel(np.ascontiguousarray(Lw, dtype=float), ctx.paths)


def _expert_block(ctx: Context) -> tuple[np.ndarray, np.ndarray, list]:
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


def _from_colsums(ctx: Context, colsum: np.ndarray, pos: np.ndarray) -> np.ndarray:
    Lw = np.empty((colsum.shape[0], len(ctx.base_local)))
    Lw[:] = ctx.base_local
    Lw[:, pos] = colsum
    return _renormalize_kernel(Lw, ctx.parent_pos, ctx.n_groups, Lw)      # in place


def _scheme_local(ctx: Context, scheme: str) -> np.ndarray:
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


def removal_local(ctx: Context, name: str) -> np.ndarray | None:
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
    return renormalize(ctx, Lw[None])[0]



def check_delta(delta: Any) -> float:
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < delta < 1:
        raise ParameterError(
            f"delta must be a number strictly between 0 and 1 (weights vary by a factor "
            f"1 + U(-delta, delta)), got {delta!r}"
        )
    return float(delta)


def vary_positions(ctx: Context, vary: Any) -> np.ndarray:
    """Positions of the nodes whose local weight is perturbed (default: under the target)."""
    under = {n.name for n in ctx.spec.node(ctx.target).walk()} - {ctx.target}
    if vary is None:
        names = [n for n in ctx.nodes if n in under]
    else:
        names = v.as_list(vary, "vary")
        bad = [n for n in names if n not in under]
        if bad:
            raise ParameterError(
                f"vary names node(s) {bad} that are not below node {ctx.target!r}; "
                f"choose from {sorted(under)}"
            )
    return np.array([ctx.nodes.index(n) for n in names], dtype=np.intp)


def alternatives(normalization: str, aggregation: str, normalizations: Any,
                 aggregations: Any) -> tuple[list[tuple[str, str]], list[int]]:
    """The nominal (normalization, aggregation) pair first, then every other pair, and
    the positions of the pairs the draws choose among."""
    v.check_choice(normalization, NORMALIZATIONS, "normalization")
    v.check_choice(aggregation, AGGREGATIONS, "aggregation")
    norms = ([normalization] if normalizations is None
             else v.as_list(normalizations, "normalizations"))
    aggs = [aggregation] if aggregations is None else v.as_list(aggregations, "aggregations")
    if not norms or not aggs:
        raise ParameterError("normalizations and aggregations must not be empty")
    for n in norms:
        v.check_choice(n, NORMALIZATIONS, "normalizations entry")
    for a in aggs:
        v.check_choice(a, AGGREGATIONS, "aggregations entry")
    combos = list(dict.fromkeys(itertools.product(norms, aggs)))
    alts = list(dict.fromkeys([(normalization, aggregation), *combos]))
    return alts, [alts.index(c) for c in combos]



def draw_local(ctx: Context, method: str, n_draws: int, rng: np.random.Generator,
               options: dict, combo_idx: list[int]) -> tuple[np.ndarray, np.ndarray, dict,
                                                             dict]:
    """Local weights of every draw under ``method`` (see :func:`weight_sensitivity`),
    the alternative of each draw, the raw random inputs and the per-draw labels."""
    params: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    deterministic = method in ("leave_one_expert_out", "schemes")
    if method in ("expert_bootstrap", "leave_one_expert_out", "rating_noise"):
        Lw = _expert_draws(ctx, method, n_draws, rng, params, labels)
    elif method == "multiplicative":
        delta = check_delta(options.get("delta", 0.25))
        vpos = vary_positions(ctx, options.get("vary"))
        u = rng.uniform(-delta, delta, size=(n_draws, len(vpos)))
        Lw = np.tile(ctx.base_local, (n_draws, 1))
        Lw[:, vpos] *= 1.0 + u
        Lw = renormalize(ctx, Lw)
        params["u"] = pd.DataFrame(u, columns=[ctx.nodes[i] for i in vpos])
        params["delta"] = delta
    else:
        schemes = v.as_list(options.get("schemes", SCHEMES))
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
    return Lw, alt, params, labels


def _expert_draws(ctx: Context, method: str, n_draws: int, rng: np.random.Generator,
                  params: dict, labels: dict) -> np.ndarray:
    """Local weights from resampled (bootstrap), dropped (leave one out) or perturbed
    (rating noise) expert scores."""
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
        params["counts"] = pd.DataFrame(counts, columns=pd.Index(experts, name="expert"))
        return _from_colsums(ctx, counts.astype(float) @ A, pos)
    if method == "leave_one_expert_out":
        if E < 2:
            raise ParameterError("leave_one_expert_out needs at least two experts")
        labels["dropped_expert"] = list(experts)
        return _from_colsums(ctx, (1 - np.eye(E, dtype=np.int64)) @ A, pos)
    noise = rng.integers(-1, 2, size=(n_draws, E, A.shape[1]), dtype=np.int8)
    colsum = np.empty((n_draws, A.shape[1]))
    for lo in range(0, n_draws, 4096):
        hi = min(n_draws, lo + 4096)
        colsum[lo:hi] = np.clip(A[None] + noise[lo:hi], 1, 5).sum(axis=1)
    params["noise"] = noise
    params["experts"] = list(experts)
    params["scored_nodes"] = [ctx.nodes[i] for i in pos]
    return _from_colsums(ctx, colsum, pos)
