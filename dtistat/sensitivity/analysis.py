"""weight_sensitivity: how much the weights move an index's rankings (uncertainty analysis).

Every draw of weights is one column of a matrix product with the normalized leaves —
no per-draw rebuild of the index (Saisana, Saltelli & Tarantola 2005, JRSS-A 168(2),
describe the analysis; COINr's ``get_sensitivity`` rebuilds the index per draw). The
draws come from :mod:`.draws`, the ranks from :mod:`.engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat.errors import ParameterError
from dtistat.sensitivity import draws as dr
from dtistat.sensitivity import frames
from dtistat.sensitivity.context import build_context
from dtistat.sensitivity.engine import chunk_draws, evaluate
from dtistat.sensitivity.memory import check_max_memory
from dtistat.sensitivity.results import SensitivityResult
from dtistat.spec import IndexSpec

__all__ = ["weight_sensitivity"]


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
    base_period: Any = None,
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
    max_memory: float | None = None,
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
    max_memory : number, optional
        Bytes the analysis may allocate (default: 80% of the available memory). The
        need is estimated before allocating: a request that would not fit raises
        :class:`~dtistat.errors.ParameterError` saying what would.

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
    the periods × ``by`` groups. Ranks are exact: scores are compared as doubles, never
    truncated or binned. Memory grows with the answer: per cell, rank counts over the
    band of ranks its draws reach (see :mod:`dtistat.sensitivity.bands`), plus the
    per-draw sums of a chunk of ``chunk_size`` draws.

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
    >>> print(res.rank_table()[["city", "nominal_rank", "rank_p05", "rank_p95", "p_top_k"]]
    ...       .to_string(index=False))
    city  nominal_rank  rank_p05  rank_p95  p_top_k
       C             1         1         1     0.98
       B             2         2         3     0.00
       A             3         2         3     0.02
       D             4         4         4     0.00
    """
    v.check_frame(data)
    v.check_choice(method, dr.METHODS, "method")
    _check_options(method, method_options)
    n_draws = v.check_positive_int(n_draws, "n_draws")
    top_k = v.check_positive_int(top_k, "top_k")
    jobs = v.check_n_jobs(n_jobs)
    budget = check_max_memory(max_memory)
    rng = v.check_seed(seed)
    by_cols = tuple(v.as_list(by, "by"))
    if method == "multiplicative":
        dr.check_delta(method_options.get("delta", 0.25))
    alts, combo_idx = dr.alternatives(normalization, aggregation, normalizations, aggregations)
    ctx = build_context(
        data, spec, entity=entity, time=time, by=by_cols, node=node, periods=periods,
        base_period=base_period, normalization=normalization, aggregation=aggregation,
        scope=scope, missing=missing, alts=alts,
    )
    comp, comp_idx = _compare(ctx, compare, entity)
    Lw, alt, raw, labels = dr.draw_local(ctx, method, n_draws, rng, method_options, combo_idx)
    params: dict[str, Any] = {
        "seed": seed if not isinstance(seed, np.random.Generator) else "Generator", **raw}
    D = Lw.shape[0]
    W = dr.effective(ctx, Lw)
    chunk = chunk_draws(ctx, chunk_size)
    ev = evaluate(ctx, W, alt, chunk=chunk, kendall=kendall, compare=comp_idx,
                  progress=progress, n_jobs=jobs, max_memory=budget)
    ranks = frames.rank_table(ctx, ev, D, top_k)
    draws = _draws_frame(ctx, Lw, alt, alts, labels, ev)
    dominance = None
    if ev.dominance is not None:
        dominance = frames.dominance_frame(ctx, ev.dominance, comp, comp_idx, D)
    del ev
    loo = frames.leave_one_out(ctx, chunk, jobs, budget) if leave_one_out else None
    return SensitivityResult(
        method=method, node=ctx.target, entity=entity, time=time, by=by_cols, top_k=top_k,
        n_draws=D, ranks=ranks, draws=draws, parameters=params,
        leave_one_out=loo, dominance=dominance,
        options={"normalization": normalization, "aggregation": aggregation,
                 "alternatives": alts, "base_period": base_period, "scope": scope,
                 "missing": missing, "chunk_size": chunk, "n_jobs": jobs, **method_options},
        _ctx=ctx, _weights=W, _alt=alt,
    )


def _check_options(method: str, method_options: Mapping) -> None:
    """Refuse options the weighting ``method`` does not take."""
    allowed = dr.OPTIONS[method]
    unknown = set(method_options) - allowed
    if unknown:
        raise ParameterError(
            f"unknown option(s) {sorted(unknown)} for method={method!r}; it takes "
            f"{sorted(allowed) or 'no options'}"
        )


def _draws_frame(ctx, Lw: np.ndarray, alt: np.ndarray, alts: list, labels: dict,
                 ev) -> pd.DataFrame:
    """One row per draw: its label(s), the alternative it used, its local weights and
    its rank shift and rank correlation(s) with the nominal ranking."""
    cols: dict[str, Any] = {"draw": np.arange(Lw.shape[0]), **labels}
    if len(alts) > 1:
        cols["normalization"] = [alts[a][0] for a in alt]
        cols["aggregation"] = [alts[a][1] for a in alt]
    for j, nm in enumerate(ctx.nodes):
        cols[f"w:{nm}"] = Lw[:, j]
    cols["rank_shift"] = ev.rank_shift
    cols["spearman"] = ev.spearman
    if ev.kendall is not None:
        cols["kendall"] = ev.kendall
    return pd.DataFrame(cols, copy=False)   # fresh arrays: no copy needed


def _compare(ctx, compare: Sequence | None, entity: str) -> tuple[list | None,
                                                                  np.ndarray | None]:
    """The entities of ``compare`` and their numbers (None when not asked)."""
    if compare is None:
        return None, None
    comp = v.as_list(compare, "compare")
    missing_e = [e for e in comp if e not in ctx.entities]
    if missing_e:
        raise ParameterError(
            f"compare names {entity}(s) {missing_e} that are not in the data"
            f" (e.g. {list(ctx.entities[:5])})"
        )
    if len(set(comp)) < 2:
        raise ParameterError("compare needs at least two distinct entities")
    return comp, ctx.entities.get_indexer(comp)
