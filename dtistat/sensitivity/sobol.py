"""Sobol indices: SALib's Saltelli design and estimators, and the Sobol indices of the weights.

:func:`sobol_indices` wraps SALib for any model; :func:`sobol_weights` makes the
model the mean absolute rank shift of an index under multiplicative weight
perturbations, evaluated by the same engine as :func:`weight_sensitivity`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dtistat import _validate as v
from dtistat.errors import DataError, ParameterError
from dtistat.sensitivity import draws as dr
from dtistat.sensitivity.context import build_context
from dtistat.sensitivity.engine import chunk_draws, evaluate
from dtistat.sensitivity.results import SobolResult
from dtistat.spec import IndexSpec

__all__ = ["sobol_indices", "sobol_weights"]


def _salib():
    try:
        from SALib.analyze import sobol as analyze
        from SALib.sample import sobol as sample
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Sobol indices need SALib: pip install 'SALib>=1.4'"
        ) from None
    return sample, analyze


def _check_bounds(bounds: Any) -> list[list[float]]:
    """Finite (low, high) pairs with low < high, one per factor."""
    try:
        b = np.asarray(bounds, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"bounds must be (low, high) number pairs, got {bounds!r}"
                             ) from None
    if b.ndim != 2 or b.shape[1] != 2 or not np.isfinite(b).all():
        raise ParameterError(f"bounds must be finite (low, high) pairs, one per factor, got "
                             f"{bounds!r}")
    bad = np.flatnonzero(b[:, 0] >= b[:, 1])
    if bad.size:
        raise ParameterError(f"bounds[{int(bad[0])}] = {b[bad[0]].tolist()}: the low end must "
                             "be below the high end")
    return b.tolist()


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
    num_resamples = v.check_positive_int(num_resamples, "num_resamples", minimum=2)
    bounds = _check_bounds(bounds)
    n_base = v.check_positive_int(n_base, "n_base", minimum=16)
    if n_base & (n_base - 1):
        raise ParameterError(f"n_base must be a power of two (Sobol sequence), got {n_base}")
    level = v.check_level(conf_level, "conf_level")
    tolerance = v.check_real(tolerance, "tolerance", minimum=0.0)
    names = v.check_names(names, "names")
    problem: dict[str, Any] = {"num_vars": len(names), "names": names,
                               "bounds": [list(map(float, b)) for b in bounds]}
    if groups is not None:
        problem["groups"] = list(groups)
    k = len(set(groups)) if groups is not None else len(names)
    if k < 2:
        raise ParameterError("Sobol indices need at least two factor groups")
    if len(bounds) != len(names) or (groups is not None and len(problem["groups"])
                                     != len(names)):
        raise ParameterError(f"{len(names)} names but {len(bounds)} bounds"
                             + ("" if groups is None else f" and {len(problem['groups'])} "
                                "groups") + "; give one of each per factor")
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**31 - 1))
    X = sample.sample(problem, n_base, calc_second_order=False, seed=seed)
    Y = v.check_floats(func(X), "the model output").reshape(-1)
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


def sobol_weights(
    data: pd.DataFrame,
    spec: IndexSpec | Mapping,
    *,
    entity: str = "city",
    time: str = "quarter",
    by: str | Sequence[str] | None = None,
    periods: Any = None,
    node: str = "total",
    base_period: Any = None,
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
    dr.check_delta(delta)
    alts, _ = dr.alternatives(normalization, aggregation, None, None)
    ctx = build_context(
        data, spec, entity=entity, time=time, by=tuple(v.as_list(by, "by")), node=node,
        periods=periods, base_period=base_period, normalization=normalization,
        aggregation=aggregation, scope=scope, missing=missing, alts=alts,
    )
    vpos = dr.vary_positions(ctx, vary)
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
    chunk = chunk_draws(ctx, chunk_size)
    jobs = v.check_n_jobs(n_jobs)

    def model(X: np.ndarray) -> np.ndarray:
        Lw = np.tile(ctx.base_local, (X.shape[0], 1))
        Lw[:, vpos] *= X
        W = dr.effective(ctx, dr.renormalize(ctx, Lw))
        alt = np.zeros(X.shape[0], dtype=np.intp)
        return evaluate(ctx, W, alt, chunk=chunk, histogram=False, n_jobs=jobs).rank_shift

    return sobol_indices(
        model, names, [[1.0 - delta, 1.0 + delta]] * len(names), groups=grp,
        n_base=n_base, seed=seed, num_resamples=num_resamples, conf_level=conf_level,
        tolerance=tolerance, output="mean absolute rank shift",
    )
