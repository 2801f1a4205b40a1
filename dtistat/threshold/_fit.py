"""``fit_threshold``: validate the panel, run the sequential search, bootstrap, report."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from dtistat import _validate as V
from dtistat._periods import check_time_types
from dtistat._scale import check_magnitude
from dtistat.errors import DataError, EstimationError, ParameterError, SpecError
from dtistat.formula import build_design
from dtistat.inference import check_cov, check_small_sample, sandwich
from dtistat.threshold._core import Panel
from dtistat.threshold._search import (
    boot_summary,
    bootstrap_F,
    lr_constant,
    make_grid,
    sequential,
)
from dtistat.threshold.results import ThresholdResult

__all__ = ["fit_threshold"]

_TESTS = ("Single", "Double", "Triple")
_FE = ("entity", "twoway")


def _formula_frame(data, formula, entity, time):
    """Outcome and controls of a formula (:mod:`dtistat.formula`: transforms, dummies,
    interactions, lags) as columns of a copy of the rows it keeps; returns (frame, y, x).

    Rows without the lagged period of an ``L()``/``D()`` term are dropped, as by
    fit_panel; the rows left must still form a balanced panel (checked by the caller:
    lags drop the first period of every entity, a gap in the calendar unbalances it)."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise SpecError(f"formula must look like 'y ~ x1 + x2', got {formula!r}")
    lhs, rhs = (part.strip() for part in formula.split("~"))
    if rhs in ("", "0", "1", "-1", "1 - 1", "0 + 1"):  # no controls: the outcome alone
        out = build_design(data, "~ " + lhs, entity=entity, time=time,
                           intercept_allowed=False)
        work = data.iloc[out.rows].copy()
        work[out.names[0]] = out.X[:, 0]
        return work, out.names[0], []
    design = build_design(data, formula, entity=entity, time=time, intercept_allowed=False)
    if design.y is None:
        raise SpecError(f"formula {formula!r} has no outcome; write 'y ~ x1 + x2'")
    work = data.iloc[design.rows].copy()
    work[design.y_name] = design.y
    for j, name in enumerate(design.names):
        work[name] = design.X[:, j]
    return work, design.y_name, list(design.names)


def _check_trim(trim, n_thresholds: int) -> tuple:
    vals = [trim] * n_thresholds if isinstance(trim, numbers.Real) else list(trim)
    if len(vals) != n_thresholds:
        raise ParameterError(f"trim has {len(vals)} value(s) but n_thresholds="
                             f"{n_thresholds}; give one number or one per threshold")
    for t in vals:
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 < t < 0.5:
            raise ParameterError(f"trim values must be numbers in (0, 0.5), e.g. 0.01; "
                                 f"got {t!r}")
    return tuple(float(t) for t in vals)


def _check_n_boot(n_boot, n_thresholds: int) -> tuple:
    vals = [n_boot] * n_thresholds if isinstance(n_boot, numbers.Integral) else list(n_boot)
    if len(vals) != n_thresholds:
        raise ParameterError(f"n_boot has {len(vals)} value(s) but n_thresholds="
                             f"{n_thresholds}; give one integer or one per test")
    return tuple(V.check_positive_int(b, "n_boot", minimum=0) for b in vals)


def _balanced(data: pd.DataFrame, entity: str, time: str) -> tuple:
    V.check_unique_keys(data, [entity, time])
    counts = data.groupby(entity, sort=False, observed=True)[time].size()
    periods = pd.unique(data[time])
    if counts.nunique() != 1 or counts.iloc[0] != len(periods):
        short = counts.idxmin()
        raise DataError(
            f"unbalanced panel: {entity}={short!r} has {int(counts.min())} of the "
            f"{len(periods)} periods of {time!r}; Hansen's (1999) estimator (as Stata "
            "xthreg) needs a balanced panel: keep the entities observed in every period "
            "or restrict the periods")
    return len(counts), len(periods)


def _absorbed(A: np.ndarray, Aw: np.ndarray, names: Sequence, what: str,
              effects: str) -> None:
    for j, name in enumerate(names):
        scale = np.abs(A[:, j]).max()  # relative to the column: no floor of 1
        if np.abs(Aw[:, j]).max() <= 1e-10 * scale:
            raise EstimationError(f"{what} {name!r} has no variation left once the "
                                  f"{effects} means are removed: it is absorbed by the "
                                  f"{effects} fixed effects; drop it")


def _regime_names(z: Sequence, q: str, th: tuple) -> list:
    out = []
    b = [None, *th, None]
    for r in range(len(th) + 1):
        lo, hi = b[r], b[r + 1]
        if lo is None:
            cond = f"{q}<={hi:.6g}"
        elif hi is None:
            cond = f"{q}>{lo:.6g}"
        else:
            cond = f"{lo:.6g}<{q}<={hi:.6g}"
        out += [f"{v} [{cond}]" for v in z]
    return out


def _coefficients(panel: Panel, th: tuple, names: list, cov: str, small_sample: str,
                  clusters: np.ndarray) -> tuple:
    """Regime-specific coefficients of the final model and their sandwich covariance."""
    edges = [-np.inf, *th, np.inf]
    blocks = [panel.Xw]
    for r in range(len(th) + 1):
        inside = (panel.q > edges[r]) & (panel.q <= edges[r + 1])
        blocks.append(panel.tr(panel.Z * inside[:, None]) * panel.keep[:, None])
    D = np.concatenate(blocks, axis=1)
    keep = panel.keep > 0
    D, yw = D[keep], panel.yw[keep]
    if np.linalg.matrix_rank(D) < D.shape[1]:
        raise EstimationError("the regime-specific design is singular: a regime variable "
                              "has no within variation inside one of the regimes")
    bread = np.linalg.inv(D.T @ D)
    beta = bread @ (D.T @ yw)
    e = yw - D @ beta
    # as fit_panel: absorbed time effects count in A (not in K), entity effects nest
    n_time = panel.T - 1 if panel.twoway else 0
    est = sandwich(D, e, bread, cov=cov, small_sample=small_sample,
                   n_params=D.shape[1] + 1, n_absorbed=panel.n - 1 + n_time,
                   n_absorbed_nested=panel.n - 1,
                   clusters=[clusters[keep]] if cov == "cluster" else (), names=names)
    r2 = 1.0 - float(e @ e) / float(yw @ yw)
    return (pd.Series(beta, index=names, name="estimate"),
            pd.DataFrame(est.cov, index=names, columns=names), est.df_inference, r2)


def fit_threshold(
    data: pd.DataFrame,
    formula: str | None = None,
    *,
    y: str | None = None,
    x: Sequence[str] | str | None = None,
    threshold_var: str,
    regime_vars: Sequence[str] | str,
    entity: str,
    time: str,
    n_thresholds: int = 1,
    trim: float | Sequence[float] = 0.01,
    grid: int | str = 400,
    n_boot: int | Sequence[int] = 300,
    seed=None,
    cov: str = "cluster",
    cluster: str | None = None,
    small_sample: str = "stata",
    level: float = 0.95,
    transform: str = "within",
    fe: str = "entity",
    n_jobs: int = 1,
) -> ThresholdResult:
    """Hansen (1999) fixed-effects panel threshold regression with bootstrap F tests.

    ``y_it = mu_i + x_it'b + z_it'd_1 1(q_it <= γ1) + z_it'd_2 1(γ1 < q_it <= γ2) + ...``
    estimated by least squares on the within-transformed balanced panel; thresholds found
    one after the other (with the refinement of γ1 given γ2), each number of thresholds
    tested against one fewer by a fixed-regressor residual bootstrap of F, intervals by
    inverting LR(γ) (Hansen 1999, J. Econometrics 93:345-368; Stata ``xthreg``, Wang 2015).

    Parameters
    ----------
    data : DataFrame
        A balanced panel (unbalanced panels are refused, as by ``xthreg``).
    formula : str, optional
        ``"y ~ x1 + x2"`` in :mod:`dtistat.formula`'s grammar (``log()``, ``C()``,
        ``L(x)``...): the outcome and regime-independent controls; alternatively pass
        ``y=`` and ``x=``.
    y, x : str, list of str
        Outcome and regime-independent controls (``x`` may be empty).
    threshold_var : str
        q, the threshold variable (it may also be a control).
    regime_vars : str or list of str
        z, the variables whose coefficients change across regimes.
    entity, time : str
        Panel keys.
    n_thresholds : {1, 2, 3}
    trim : float or sequence of float
        Share trimmed for each threshold (``xthreg``'s ``trim(0.01 0.01 0.05)``).
    grid : int or "hansen"
        ``int``: that many quantiles of q, evenly spaced over the trimmed range (the two
        regimes a new threshold splits off each keep at least its ``trim`` share of the
        observations); ``"hansen"``: Hansen's
        program's grid (400 quantiles of the distinct values of q; new thresholds kept
        ``400 trim`` grid positions away from fixed ones).
    n_boot : int or sequence of int
        Bootstrap draws per test (0: no bootstrap, p-values NaN).
    seed : int or Generator
    cov : {"cluster", "robust", "unadjusted"}
        Covariance of the coefficients (clustered by ``cluster``, default ``entity``).
    cluster : str, optional
    small_sample : str
        Preset of :mod:`dtistat.inference.covariance`; ``"stata"`` is
        ``xtreg, fe vce(cluster)`` (what ``xthreg`` reports).
    level : float
        Level of the threshold intervals (``c = -2 ln(1 - sqrt(level))``) and of
        ``conf_int``.
    transform : {"within", "hansen"}
        ``"within"``: demeaning (``xtreg, fe``); ``"hansen"``: demeaning then deleting
        one period per entity, as Hansen's (1999) own program (his published estimates).
    fe : {"entity", "twoway"}
        Fixed effects, as :func:`dtistat.fit_panel`'s ``fe=``: ``"twoway"`` adds period
        effects by two-way demeaning (balanced panel), which gives the same thresholds,
        SSRs, tests and slopes as period dummies among the controls; σ² keeps Hansen's
        divisor n (T - 1) and absorbed period effects are counted as fit_panel counts them.
    n_jobs : int
        Threads for the bootstrap (results do not depend on it). Draws go in chunks
        of bounded working memory (``_search.BOOT_BYTES``), whatever ``n_boot``.

    Returns
    -------
    ThresholdResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n, T = 60, 8
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n)})
    >>> df["q"] = rng.uniform(0, 1, n * T); df["z"] = rng.normal(size=n * T)
    >>> df["y"] = np.where(df.q <= 0.4, 1.0, -1.0) * df.z + rng.normal(0, .5, n * T)
    >>> res = fit_threshold(df, "y ~ 1", threshold_var="q", regime_vars="z",
    ...                     entity="id", time="t", grid=100, n_boot=50, seed=1)
    >>> bool(abs(res.estimates[0] - 0.4) < 0.05), float(res.tests.loc["Single", "p_value"])
    (True, 0.0)
    """
    data = V.check_frame(data)
    if formula is not None:
        if y is not None or x is not None:
            raise ParameterError("give either formula= or y=/x=, not both")
        data, y, x = _formula_frame(data, formula, entity, time)
    if y is None:
        raise ParameterError("fit_threshold needs the outcome: formula='y ~ ...' or y=")
    x, z = V.as_list(x, "x"), V.as_list(regime_vars, "regime_vars")
    opts = _check_options(x, z, threshold_var, n_thresholds, trim, n_boot, grid, transform,
                          fe, cov, small_sample, level, seed, n_jobs)
    cluster = entity if cluster is None else cluster
    value_cols = list(dict.fromkeys([y, *x, *z, threshold_var]))
    V.check_columns(data, [*value_cols, entity, time, cluster])
    check_time_types(data[time], time)
    V.check_numeric(data, value_cols)
    V.check_no_nan(data, value_cols, keys=[entity, time])
    sq = list(dict.fromkeys([y, *x, *z]))
    check_magnitude(data[sq].to_numpy(dtype=float), sq, "fit_threshold")
    n, T = _balanced(data, entity, time)
    if T < 2:
        raise DataError(f"the panel has {T} period: the within transformation needs 2+")
    d = data.sort_values([entity, time], kind="stable")
    arr = lambda cols: d[cols].to_numpy(dtype=float).reshape(len(d), len(cols))
    panel = Panel(arr([y])[:, 0], arr(x), arr(z), arr([threshold_var])[:, 0], n, T,
                  delete_last=transform == "hansen", twoway=opts["fe"] == "twoway")
    _check_design(panel, x, z, n_thresholds)
    g = make_grid(panel.q, grid, opts["trims"], threshold_var)
    # the work is thousands of small products: BLAS threads only contend for the cores
    # (a tall QR took 100x longer on a busy 2-core machine); n_jobs threads split draws
    with threadpool_limits(limits=1, user_api="blas"):
        stages = sequential(panel, g, n_thresholds)
        return _assemble(panel, g, stages, {
            **opts, "y": y, "x": x, "z": z, "q": threshold_var,
            "n_thresholds": n_thresholds, "grid": grid, "transform": transform,
            "clusters": pd.factorize(d[cluster])[0].astype(np.int64)})


def _check_options(x: list, z: list, threshold_var, n_thresholds, trim, n_boot, grid,
                   transform, fe, cov, small_sample, level, seed, n_jobs) -> dict:
    """Validate the arguments that do not need the data; the checked values by name."""
    if not z:
        raise ParameterError("regime_vars must name at least one column")
    if isinstance(threshold_var, (list, tuple)):
        raise ParameterError("threshold_var takes one column name")
    both = [c for c in z if c in x]
    if both:
        raise ParameterError(f"{both[0]!r} is both a regime variable and a control; "
                             "a regime variable already has one coefficient per regime")
    if isinstance(n_thresholds, bool) or n_thresholds not in (1, 2, 3):
        raise ParameterError(f"n_thresholds must be 1, 2 or 3, got {n_thresholds!r}")
    if not (grid == "hansen" or (isinstance(grid, numbers.Integral)
                                 and not isinstance(grid, bool) and grid >= 10)):
        raise ParameterError(f"grid must be an integer >= 10 or 'hansen', got {grid!r}")
    V.check_choice(transform, ("within", "hansen"), "transform")
    V.check_choice(fe, _FE, "fe")
    if fe == "twoway" and transform == "hansen":
        raise ParameterError("fe='twoway' needs transform='within': Hansen's deleted "
                             "period is defined for entity demeaning only")
    cov = check_cov(cov)
    if cov not in ("cluster", "robust", "unadjusted"):
        raise ParameterError(f"cov={cov!r}: fit_threshold offers 'cluster', 'robust' "
                             "and 'unadjusted'")
    return {"trims": _check_trim(trim, n_thresholds),
            "boots": _check_n_boot(n_boot, n_thresholds), "fe": fe, "cov": cov,
            "small_sample": check_small_sample(small_sample),
            "level": V.check_level(level), "rng": V.check_seed(seed),
            "n_jobs": V.check_n_jobs(n_jobs)}


def _check_design(panel: Panel, x: list, z: list, n_thresholds: int) -> None:
    """Refuse absorbed or collinear regressors and panels with no residual variance."""
    effects = "entity and time" if panel.twoway else "entity"
    _absorbed(panel.X, panel.tr(panel.X), x, "control", effects)
    _absorbed(panel.Z, panel.tr(panel.Z), z, "regime variable", effects)
    base = np.concatenate([panel.Xw, panel.Zw], axis=1)
    if np.linalg.matrix_rank(base) < base.shape[1]:
        raise EstimationError(f"the controls and regime variables {[*x, *z]} are collinear "
                              f"after the {effects} fixed-effects transformation")
    k = len(x) + len(z) * (n_thresholds + 1)
    if panel.sigma_df <= k:
        raise DataError(f"{panel.n} entities x {panel.T} periods leave {panel.sigma_df} "
                        f"within observations for the {k} slopes of a {n_thresholds}-"
                        "threshold model: no residual variance is left to compare "
                        "thresholds")


def _assemble(panel: Panel, g, stages: dict, a: dict) -> ThresholdResult:
    """LR curves, intervals, bootstrap tests and coefficients into the result."""
    c = lr_constant(a["level"])
    dfs = panel.sigma_df
    curves, rows = {}, {}
    for key, st in stages.items():
        ok = np.isfinite(st.path)
        lr = (st.path[ok] - st.ssr) / (st.ssr / dfs)
        gam = g.values[ok]
        curves[key] = pd.DataFrame({"gamma": gam, "ssr": st.path[ok], "lr": lr})
        inside = gam[lr <= c]
        if not (st.ssr > 0 and inside.size):
            raise EstimationError(f"the {key} threshold model fits the data exactly (SSR "
                                  f"{st.ssr:g}): no likelihood-ratio interval exists")
        rows[key] = (st.gamma, float(inside.min()), float(inside.max()), st.ssr)
    order = [k for k in ("Th-1", "Th-21", "Th-22", "Th-3") if k in rows]
    curves = {k: curves[k] for k in order}
    thresholds = pd.DataFrame([rows[k] for k in order], index=order,
                              columns=["estimate", "ci_low", "ci_high", "ssr"])
    # SSR of the models with 0..k thresholds and the null thresholds of each test
    s = [stages["Th-1"].ssr_base, stages["Th-1"].ssr]
    nulls: list = [(), (stages["Th-1"].gamma,)]
    if a["n_thresholds"] >= 2:
        s.append(stages["Th-22"].ssr)
        nulls.append(tuple(sorted((stages["Th-21"].gamma, stages["Th-22"].gamma))))
    if a["n_thresholds"] == 3:
        s[2] = stages["Th-21"].ssr  # the double model at its refined thresholds
        s.append(stages["Th-3"].ssr)
    tests, boot_F = [], {}
    for k in range(1, a["n_thresholds"] + 1):
        F = (s[k - 1] - s[k]) / (s[k] / dfs)
        draws = (bootstrap_F(panel, g, k, nulls[k - 1], a["boots"][k - 1], a["rng"],
                             a["n_jobs"]) if a["boots"][k - 1] else np.empty(0))
        boot_F[_TESTS[k - 1]] = draws
        tests.append((s[k], s[k] / dfs, F, *boot_summary(F, draws), a["boots"][k - 1]))
    tests = pd.DataFrame(tests, index=list(_TESTS[:a["n_thresholds"]]),
                         columns=["ssr", "mse", "F", "p_value", "crit10", "crit5", "crit1",
                                  "n_boot"])
    final = {1: ("Th-1",), 2: ("Th-21", "Th-22"), 3: ("Th-21", "Th-22", "Th-3")}
    th = tuple(sorted(stages[k].gamma for k in final[a["n_thresholds"]]))
    names = [*a["x"], *_regime_names(a["z"], a["q"], th)]
    params, covm, df_inf, r2 = _coefficients(panel, th, names, a["cov"], a["small_sample"],
                                             a["clusters"])
    grid_label = (f"Hansen (400 quantiles of {len(np.unique(panel.q))} distinct values)"
                  if a["grid"] == "hansen" else f"{len(g.values)} quantile points")
    return ThresholdResult(
        params=params, cov=covm, df_inference=df_inf, level=a["level"],
        nobs=int(panel.keep.sum()), n_entities=panel.n, n_periods=panel.T,
        thresholds=thresholds, tests=tests, estimates=th, lr_curves=curves, boot_F=boot_F,
        lr_critical=c, threshold_var=a["q"], regime_vars=tuple(a["z"]),
        controls=tuple(a["x"]), cov_type=a["cov"], small_sample=a["small_sample"],
        grid=grid_label, trim=a["trims"], transform=a["transform"], r2_within=r2,
        fe=a["fe"])
