"""Frames of a sensitivity analysis: the rank table, leave one out, dominance, effective weights.

Arrays from the engine get their labels here, once, when the result is built.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtistat.sensitivity.bands import summarize
from dtistat.sensitivity.context import Context, cell_keys
from dtistat.sensitivity.draws import effective, removal_local
from dtistat.sensitivity.engine import Evaluation, evaluate
from dtistat.sensitivity.quantiles import order_stat

__all__ = ["dominance_frame", "effective_weights", "leave_one_out", "rank_table"]


def rank_table(ctx: Context, ev: Evaluation, D: int, top_k: int) -> pd.DataFrame:
    """Per cell: nominal score and rank, mean, median and 5/95% ranks, P(top k), from
    the rank counts of every cell."""
    kth = np.array([order_stat(D, p) for p in (0.05, 0.5, 0.95)], dtype=np.int64)
    lay = ev.layout
    parts = [summarize(b.lo, b.w, b.off, b.counts, kth, min(top_k, ctx.NE), D)
             for b in ev.bands]
    m = np.concatenate([p[0] for p in parts])
    qq = np.concatenate([p[1] for p in parts], axis=1)
    t = np.concatenate([p[2] for p in parts])
    size = ctx.G * ctx.NE
    mean = np.zeros(size)
    q = np.zeros((3, size), dtype=np.int64)
    top = np.zeros(size, dtype=np.int64)
    mean[lay.cell], q[:, lay.cell], top[lay.cell] = m, qq, t
    gi, ei, index = cell_keys(ctx)
    flat = gi * ctx.NE + ei
    # the cells come sorted (see cell_keys): no sort needed
    return pd.DataFrame({
        "nominal_score": ctx.nominal_scores[gi, ei],
        "nominal_rank": ctx.nominal_ranks[gi, ei],
        "mean_rank": mean[flat],
        "median_rank": q[1, flat],
        "rank_p05": q[0, flat],
        "rank_p95": q[2, flat],
        "p_top_k": top[flat] / D,
    }, index=index)


def dominance_frame(ctx: Context, counts: np.ndarray, comp: list, comp_idx: np.ndarray,
                    D: int) -> pd.DataFrame:
    """P(entity_a scores above entity_b) per group, for pairs present in the group."""
    rows = []
    for g in range(ctx.G):
        gk = ctx.groups.iloc[g].to_dict()
        for i, a in enumerate(comp):
            for j, b in enumerate(comp):
                if i != j and ctx.valid[g, comp_idx[i]] and ctx.valid[g, comp_idx[j]]:
                    rows.append({**gk, "entity_a": a, "entity_b": b,
                                 "p_above": counts[g, i, j] / D})
    return pd.DataFrame(rows)


def leave_one_out(ctx: Context, chunk: int, n_jobs: int = 1,
                  max_memory: int | None = None) -> pd.DataFrame | None:
    """Ranks under the nominal weights with each indicator and each layer removed."""
    tgt = ctx.spec.node(ctx.target)
    items = [(n, "indicator") for n in ctx.leaf_names]
    items += [(c.name, "layer") for c in tgt.children if not c.is_leaf]
    rows, names = [], []
    for name, level in items:
        lw = removal_local(ctx, name)
        if lw is not None:
            rows.append(lw)
            names.append((name, level))
    if not rows:
        return None
    W = effective(ctx, np.vstack(rows))
    alt = np.zeros(len(rows), dtype=np.intp)
    ev = evaluate(ctx, W, alt, chunk=chunk, histogram=False, keep_ranks=True, n_jobs=n_jobs,
                  max_memory=max_memory)
    gi, ei = np.nonzero(ctx.valid)
    keys = ctx.groups.iloc[gi].reset_index(drop=True)
    keys.insert(0, ctx.entity, ctx.entities[ei])
    frames = []
    for k, (name, level) in enumerate(names):
        f = keys.copy()
        f.insert(0, "level", level)
        f.insert(0, "removed", name)
        f["nominal_rank"] = ctx.nominal_ranks[gi, ei]
        f["rank"] = ev.ranks[k][gi, ei]
        f["rank_change"] = f["nominal_rank"] - f["rank"]
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def effective_weights(ctx: Context, bins: int = 20) -> pd.DataFrame:
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
    Wn = effective(ctx, ctx.base_local[None])[0]
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

