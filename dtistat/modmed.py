"""Moderated mediation (conditional process analysis): Hayes' PROCESS models 7, 14 and 58.

``fit_moderated_mediation`` asks whether the indirect effect of X on Y through M depends
on a moderator W (有调节的中介效应). Equations (covariates and fixed effects in each)::

    model 7  (stage="first"):  M = a1 X + a2 W + a3 X·W            Y = c' X + b1 M
    model 14 (stage="second"): M = a1 X                            Y = c' X + b1 M + b2 W + b3 M·W
    model 58 (stage="both"):   M = a1 X + a2 W + a3 X·W            Y = c' X + b1 M + b2 W + b3 M·W

The conditional indirect effect at W = w is ``(a1 + a3 w)(b1 + b3 w)`` (a3 = 0 in model
14, b3 = 0 in model 7). It is linear in w in models 7 and 14, with slope the index of
moderated mediation (Hayes 2015, Multivariate Behavioral Research 50(1):1-22): ``a3 b1``
(model 7) and ``a1 b3`` (model 14). In model 58 it is quadratic in w and has no index.

Estimation reuses :mod:`dtistat.mediation`: OLS with absorbed fixed effects and the
inference core's (cluster-robust) covariance for the equations, and the same batched
(cluster) bootstrap of every coefficient (:mod:`dtistat._bootstrap`) for the intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat import _bootstrap as bs
from dtistat import mediation as med
from dtistat._results import Result, Summary, TableColumn
from dtistat._validate import (
    as_list,
    check_choice,
    check_columns,
    check_floats,
    check_frame,
    check_numeric,
)
from dtistat.errors import DataError, ParameterError
from dtistat.mediation import _TidyCoefficients

__all__ = ["ModeratedMediationResult", "fit_moderated_mediation"]

STAGES = {"first": 7, "second": 14, "both": 58}
DIRECT_MODELS = {7: 8, 14: 15, 58: 59}
_MODERATES = {7: "X -> M", 8: "X -> M and X -> Y", 14: "M -> Y", 15: "M -> Y and X -> Y",
              58: "X -> M and M -> Y", 59: "X -> M, M -> Y and X -> Y"}
W_RULES = ("percentiles", "meansd")
_COLS = list(med._TABLE_COLS)


# ----------------------------------------------------------------------------- result

@dataclass(frozen=True, eq=False, repr=False)
class ModeratedMediationResult(_TidyCoefficients, Result):
    """Result of :func:`fit_moderated_mediation`.

    Attributes
    ----------
    model : PROCESS model number (7, 14, 58; 8, 15, 59 with a moderated direct effect).
    paths : DataFrame of the equations' focal coefficients: term (``a1[m]`` X, ``a2[m]``
        W, ``a3[m]`` X·W in the mediator model; ``c_prime`` X, ``b1[m]`` M, ``b2`` W,
        ``b3[m]`` M·W in the outcome model; with ``direct=True`` ``c2_prime`` W and
        ``c3_prime`` X·W instead of ``b2``), variable, equation, estimate, std_error
        (cluster-robust when clustered), statistic (t), p_value, ci_low, ci_high, df.
    conditional : DataFrame of conditional indirect effects, one row per mediator and
        value of W: term, mediator, w, estimate, bootstrap std_error, z, p_value,
        ci_low, ci_high, ci_method.
    index : DataFrame of Hayes' (2015) index of moderated mediation per mediator (empty
        for models 58 and 59, whose indirect effect is not linear in W), same columns.
    direct : DataFrame of the direct effect of X on Y: ``c_prime`` (one row), or with
        ``direct=True`` the conditional direct effects c' + c3' w at the probed values
        with their analytic (cluster-robust) SE, t or z and interval.
    w_values : the values of W probed; ``w_rule`` how they were chosen.
    w_absorbed : True when W does not vary within the fixed effects, so its main effect
        (a2, b2) is absorbed by them and not estimated.
    boot_draws : DataFrame (n_boot rows) of the bootstrap replicates of every
        coefficient and statistic; singular replicates are NaN rows.
    """

    _FIT = "fit_moderated_mediation"

    x: str
    mediators: tuple[str, ...]
    y: str
    w: str
    model: int
    covariates: tuple[str, ...]
    fe: str | None
    cluster: str | None
    nobs: int
    n_clusters: int | None
    n_dropped: int
    n_boot: int
    n_singular: int
    ci: str
    level: float
    small_sample: str
    w_values: np.ndarray
    w_rule: str
    w_absorbed: bool
    paths: pd.DataFrame
    conditional: pd.DataFrame
    index: pd.DataFrame
    direct: pd.DataFrame
    boot_draws: pd.DataFrame

    def tidy(self) -> pd.DataFrame:
        """Paths, conditional indirect effects and indices: term, estimate, std_error,
        statistic, p_value, ci_low, ci_high (bootstrap intervals for the effects)."""
        parts = [p[_COLS] for p in (self.paths, self.direct, self.conditional, self.index)
                 if len(p)]
        return pd.concat(parts, ignore_index=True)

    def _headline(self) -> list[str]:
        out = [f"PROCESS model {self.model}: {self.x} -> {'|'.join(self.mediators)} -> "
               f"{self.y}, W={self.w}", f"N={self.nobs}"]
        if len(self.index):
            r = self.index.iloc[0]
            out.append(f"index={r['estimate']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]")
        return out + [f"n_boot={self.n_boot}"]

    def table_columns(self, labels: Mapping[str, str] | None = None) -> list[TableColumn]:
        """The mediator and outcome equations as regression-table columns (rows named
        by the variables, e.g. ``x``, ``w``, ``x×w``); ``labels`` maps a response to a
        heading."""
        if labels is not None and not isinstance(labels, Mapping):
            raise ParameterError(f"labels must be a mapping {{equation: heading}}, got "
                                 f"{type(labels).__name__}")
        cols = []
        for e in [*self.mediators, self.y]:
            sub = self.paths[self.paths["equation"] == e].copy()
            sub["term"] = sub["variable"]
            st: dict[str, Any] = {"nobs": self.nobs}
            if self.n_clusters is not None:
                st["n_clusters"] = self.n_clusters
            cols.append(TableColumn(
                name=(labels or {}).get(e, e), coefs=sub[_COLS].reset_index(drop=True),
                stats=st, fixed_effects={"entity": self.fe in ("entity", "twoway"),
                                         "time": self.fe in ("time", "twoway")},
                cluster=str(self.cluster or ""),
                extra={"Controls": "Yes" if self.covariates else "No"}))
        return cols

    def to_frame(self) -> pd.DataFrame:
        """Every table stacked, with a ``table`` column (path, direct, conditional, index)."""
        parts = [self.paths.assign(table="path"), self.direct.assign(table="direct"),
                 self.conditional.assign(table="conditional")]
        if len(self.index):
            parts.append(self.index.assign(table="index"))
        out = pd.concat(parts, ignore_index=True)
        return out[["table"] + [c for c in out.columns if c != "table"]]

    def summary(self) -> Summary:
        """Equations, conditional indirect effects and the index, laid out as papers do."""
        header: list[tuple[str, Any]] = [
            ("Model", f"PROCESS model {self.model} (W moderates {_MODERATES[self.model]})"),
            ("Observations", self.nobs),
            ("Covariates", ", ".join(self.covariates) or "none"),
            ("Fixed effects", self.fe or "none"),
            ("Standard errors",
             f"clustered by {self.cluster} ({self.n_clusters} clusters, small-sample "
             f"'{self.small_sample}')" if self.cluster else "classical (OLS)"),
            ("Values of W", f"{self.w_rule}: " + ", ".join(f"{v:.4g}" for v in self.w_values)),
            ("Intervals", (f"{self.n_boot} bootstrap draws" + (
                f" of whole {self.cluster} clusters" if self.cluster else " of rows")
                + f", {self.ci}") if self.n_boot else "Monte Carlo (no bootstrap)"),
        ]
        tables = {}
        for e in [*self.mediators, self.y]:
            sub = self.paths[self.paths["equation"] == e]
            tables[f"Outcome: {e}"] = sub[["variable"] + _COLS[1:]].set_index("variable")
        dcols = ["estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high"]
        if self.model in DIRECT_MODELS.values():
            tables["Conditional direct effects"] = self.direct[["w"] + dcols].set_index("w")
        else:
            tables["Direct effect"] = self.direct[["term"] + dcols].set_index("term")
        tables["Conditional indirect effects"] = self.conditional[
            ["mediator", "w", "estimate", "std_error", "ci_low", "ci_high"]].set_index(
            ["mediator", "w"])
        if len(self.index):
            tables["Index of moderated mediation"] = self.index[
                ["mediator", "estimate", "std_error", "ci_low", "ci_high"]].set_index("mediator")
        notes = [f"Intervals at the {self.level:.0%} level."]
        if self.w_absorbed:
            notes.append(f"{self.w!r} does not vary within the fixed effects: its main "
                         "effect is absorbed by them; its interactions are estimated.")
        if self.n_dropped:
            notes.append(f"Dropped: {self.n_dropped} row(s) with missing values")
        if self.n_singular:
            notes.append(f"{self.n_singular} singular bootstrap replicate(s) excluded")
        if self.model in (58, 59):
            notes.append(f"Model {self.model}: the indirect effect is quadratic in W, so "
                         "there is no index of moderated mediation; compare conditional "
                         "effects.")
        return Summary(f"Moderated mediation: {self.x} -> [{' | '.join(self.mediators)}] "
                       f"-> {self.y}, moderator {self.w}", tables, header=header, notes=notes)


# --------------------------------------------------------------------------- equations

def _product_name(a: str, b: str, taken: set) -> str:
    name = f"{a}×{b}"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _equations(x, meds, y, w, covs, stage, direct, prod, w_in) -> list[med._Eq]:
    """Mediator equations then the outcome equation, as :mod:`dtistat.mediation` fits them."""
    eqs = []
    ws = [w] if w_in else []
    for mk in meds:
        if stage in ("first", "both"):
            keep = [x] + ws + [prod[x]]
            terms = [f"a1[{mk}]"] + ([f"a2[{mk}]"] if w_in else []) + [f"a3[{mk}]"]
        else:
            keep, terms = [x], [f"a1[{mk}]"]
        eqs.append(med._Eq(mk, mk, keep + covs, keep, terms))
    keep = [x] + list(meds)
    terms = ["c_prime"] + [f"b1[{mk}]" for mk in meds]
    if stage in ("second", "both"):
        keep += ws + [prod[mk] for mk in meds]
        terms += (["c2_prime" if direct else "b2"] if w_in else []) + [f"b3[{mk}]"
                                                                      for mk in meds]
    elif direct:
        keep += ws
        terms += ["c2_prime"] if w_in else []
    if direct:
        keep.append(prod[x])
        terms.append("c3_prime")
    eqs.append(med._Eq(y, y, keep + covs, keep, terms))
    return eqs


class _CondStats:
    """Conditional indirect effects at the probed W values and the indices, from coefs."""

    def __init__(self, terms, meds, w_values, stage):
        self.pos = {t: i for i, t in enumerate(terms)}
        self.meds, self.wv, self.stage = list(meds), np.asarray(w_values, float), stage
        self.names, self.rows = [], []
        for mk in self.meds:
            for v in self.wv:
                self.names.append(f"indirect[{mk}|{v:.6g}]")
                self.rows.append(("conditional", mk, float(v)))
        if stage != "both":
            for mk in self.meds:
                self.names.append(f"index[{mk}]")
                self.rows.append(("index", mk, np.nan))

    def __call__(self, coefs: np.ndarray) -> np.ndarray:
        c = np.atleast_2d(coefs)

        def col(t):
            return c[:, self.pos[t]][:, None] if t in self.pos else np.zeros((len(c), 1))

        out = []
        for mk in self.meds:
            a_w = col(f"a1[{mk}]") + col(f"a3[{mk}]") * self.wv
            b_w = col(f"b1[{mk}]") + col(f"b3[{mk}]") * self.wv
            out.append(a_w * b_w)
        if self.stage == "first":
            out += [col(f"a3[{mk}]") * col(f"b1[{mk}]") for mk in self.meds]
        elif self.stage == "second":
            out += [col(f"a1[{mk}]") * col(f"b3[{mk}]") for mk in self.meds]
        return np.hstack(out)


# ------------------------------------------------------------------------------ values

def probe_values(w: np.ndarray, rule: Any) -> tuple[np.ndarray, str]:
    """Values of the moderator at which to probe the indirect effect.

    A dichotomous W gives its two values. Otherwise ``"percentiles"``: the 16th, 50th
    and 84th percentiles, computed as PROCESS (3 and later) does, by interpolating the
    sorted values at position p(n + 1); ``"meansd"``: the mean and one (n - 1) standard
    deviation either side; or a list of values.

    Examples
    --------
    >>> probe_values(np.array([0.0, 1.0, 1.0, 0.0]), "percentiles")[0]
    array([0., 1.])
    """
    u = np.unique(w)
    if isinstance(rule, str):
        rule = check_choice(rule, W_RULES, "w_values")
        if len(u) == 2:
            return u.astype(float), "the two values of a dichotomous W"
        if rule == "percentiles":
            return (np.percentile(w, [16, 50, 84], method="weibull"),
                    "16th, 50th and 84th percentiles")
        m, s = float(np.mean(w)), float(np.std(w, ddof=1))
        return np.array([m - s, m, m + s]), "mean and one SD either side"
    vals = np.atleast_1d(check_floats(rule, "w_values"))
    if vals.ndim != 1 or len(vals) == 0 or not np.all(np.isfinite(vals)):
        raise ParameterError(f"w_values must be 'percentiles', 'meansd' or a non-empty list "
                             f"of finite numbers, got {rule!r}")
    return vals.astype(float), "values given"


# ----------------------------------------------------------------------------- fitting

def fit_moderated_mediation(
    data: pd.DataFrame,
    *,
    x: str,
    m: str | list[str],
    y: str,
    w: str,
    stage: str = "first",
    direct: bool = False,
    covariates: str | list[str] | tuple = (),
    entity: str | None = None,
    time: str | None = None,
    fe: str | None = None,
    cluster: str | None = None,
    w_values: Any = "percentiles",
    n_boot: int = 5000,
    ci: str = "percentile",
    level: float = 0.95,
    seed: int | np.random.Generator | None = None,
    small_sample: str = "stata",
    n_mc: int = 20_000,
    missing: str = "raise",
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ModeratedMediationResult:
    """Fit a moderated mediation model (PROCESS model 7, 14 or 58).

    Parameters
    ----------
    data : DataFrame
        One row per observation. Never modified.
    x, m, y : str
        Treatment, mediator(s) (a name or a list of parallel mediators) and outcome.
    w : str
        Moderator column (continuous, or dichotomous such as an east/west dummy).
    stage : {"first", "second", "both"}
        Which path W moderates: X -> M (PROCESS model 7), M -> Y (model 14) or both
        (model 58).
    direct : bool
        W also moderates the direct effect X -> Y (PROCESS models 8, 15 and 59 for
        ``stage`` first, second, both): X·W (and W) enter the outcome equation and the
        conditional direct effects are reported in ``result.direct``.
    covariates, entity, time, fe, cluster, small_sample, missing, chunk_size, progress
        As in :func:`dtistat.fit_mediation` (``cluster`` defaults to ``entity`` when
        ``fe`` is given; the bootstrap then resamples whole clusters).
    w_values : "percentiles", "meansd" or list of floats
        Values of W at which conditional indirect effects are reported. Default the
        16th, 50th and 84th percentiles, PROCESS's default since version 3: unlike mean
        ± 1 SD they always lie inside the data, also for a skewed W. A dichotomous W is
        probed at its two values under either rule.
    n_boot : int
        Bootstrap replicates (0: Monte Carlo intervals from the coefficients'
        covariance, ``n_mc`` draws).
    ci : {"percentile", "bc", "bca"}
        Bootstrap interval; default percentile, as PROCESS (3 and later).
    level : float
        Confidence level of every interval.
    seed : int or numpy Generator, optional
        Same seed -> same draws, whatever ``chunk_size``.

    Returns
    -------
    ModeratedMediationResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"x": rng.normal(size=300), "w": rng.normal(size=300)})
    >>> d["m"] = 0.5 * d["x"] + 0.3 * d["x"] * d["w"] + rng.normal(size=300)
    >>> d["y"] = 0.4 * d["m"] + 0.2 * d["x"] + rng.normal(size=300)
    >>> res = fit_moderated_mediation(d, x="x", m="m", y="y", w="w", n_boot=500, seed=1)
    >>> res.model, len(res.conditional)
    (7, 3)
    >>> p = res.paths.set_index("term")["estimate"]
    >>> bool(np.isclose(res.index["estimate"].iloc[0], p["a3[m]"] * p["b1[m]"]))
    True
    """
    data = check_frame(data)
    stage = check_choice(stage, tuple(STAGES), "stage")
    direct = check_choice(direct, (False, True), "direct")
    if not isinstance(w, str):
        raise ParameterError(f"w must be one column name (a string), got {w!r}")
    roles = [x, y] + as_list(m, "m") + as_list(covariates, "covariates")
    if w in roles:
        raise ParameterError(f"w={w!r} is also used as x, m, y or a covariate; the moderator "
                             "must be a column of its own")
    a = med._check_args(
        x=x, m=m, y=y, covariates=as_list(covariates, "covariates") + [w], entity=entity,
        time=time, fe=fe, cluster=cluster, serial=False, n_boot=n_boot, ci=ci, level=level,
        seed=seed, procedure=None, small_sample=small_sample, n_mc=n_mc, missing=missing,
        dropna=None, chunk_size=chunk_size)
    covs = a.covs[:-1]
    check_columns(data, a.model_vars, what="column")
    check_numeric(data, a.model_vars)
    taken = set(map(str, data.columns))
    prod = {v: _product_name(v, w, taken) for v in ([x] if stage != "second" or direct else [])
            + (a.meds if stage != "first" else [])}
    frame = data[a.model_vars + a.keys].assign(**{
        p: data[v].to_numpy(dtype=float, na_value=np.nan)
        * data[w].to_numpy(dtype=float, na_value=np.nan) for v, p in prod.items()})
    a = dataclasses.replace(a, covs=covs, model_vars=a.model_vars + list(prod.values()))
    d = med._prepare(frame, a)
    w_in = _w_varies(d, w, fe)
    eqs = _equations(x, a.meds, y, w, covs, stage, direct, prod, w_in)
    paths, vblocks, _ = med._fit_paths(d, a, eqs)
    paths.insert(1, "variable", [v for e in eqs for v in e.keep])
    paths = paths.drop(columns="path")
    terms = list(paths["term"])
    wv, rule = probe_values(d.Z[:, d.col[w]], w_values)
    st = _CondStats(terms, a.meds, wv, stage)
    theta_hat = st(paths["estimate"].to_numpy())[0]
    boot = med._bootstrap(d, a, eqs, terms, st, progress)
    mc = None if boot.done else med._monte_carlo(paths["estimate"].to_numpy(), vblocks, a, st)
    cond, index = _effects(st, theta_hat, boot, mc, a)
    dtab = _direct_effects(paths, vblocks[-1], wv if direct else None, a.level)
    draws = pd.DataFrame(np.column_stack([boot.coefs, boot.theta]) if boot.done else
                         np.empty((0, len(terms) + len(st.names))), columns=terms + st.names)
    return ModeratedMediationResult(
        x=x, mediators=tuple(a.meds), y=y, w=w,
        model=DIRECT_MODELS[STAGES[stage]] if direct else STAGES[stage], covariates=tuple(covs),
        fe=a.fe, cluster=a.cluster, nobs=d.n, n_clusters=d.G, n_dropped=d.n_dropped,
        n_boot=a.n_boot if boot.done else 0, n_singular=boot.n_singular, ci=a.ci,
        level=a.level, small_sample=a.small_sample, w_values=wv, w_rule=rule,
        w_absorbed=not w_in, paths=paths, conditional=cond, index=index, direct=dtab,
        boot_draws=draws)


def _w_varies(d, w: str, fe: str | None) -> bool:
    """Whether W varies within the fixed effects (else its main effect is absorbed)."""
    z, zd = d.Z[:, d.col[w]], d.Zd[:, d.col[w]]
    scale = float(np.abs(z).max())
    if np.ptp(z) <= 1e-9 * scale:
        raise DataError(f"moderator column {w!r} has no variation; nothing moderates")
    return fe is None or float(np.abs(zd).max()) > 1e-9 * scale


_EFF_COLS = ["term", "mediator", "w"] + _COLS[1:] + ["ci_method"]


def _effects(st: _CondStats, theta_hat, boot, mc, a) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Conditional indirect effects and indices with bootstrap / Monte Carlo intervals."""
    rows = {"conditional": [], "index": []}
    for i, (nm, (kind, mk, v)) in enumerate(zip(st.names, st.rows)):
        th = float(theta_hat[i])
        dr = boot.theta[boot.valid, i] if boot.done else mc[:, i]
        dr = dr[np.isfinite(dr)]
        row = {"term": nm, "mediator": mk, "w": v, "estimate": th,
               "std_error": float(np.std(dr, ddof=1)),
               "ci_method": a.ci if boot.done else "monte_carlo"}
        if not boot.done or a.ci == "percentile":
            row["ci_low"], row["ci_high"] = bs.percentile_ci(dr, a.level)
        elif a.ci == "bc":
            row["ci_low"], row["ci_high"] = bs.bc_ci(dr, th, a.level)
        else:
            row["ci_low"], row["ci_high"] = bs.bca_ci(dr, th, boot.jack[:, i], a.level)
        row["statistic"] = th / row["std_error"] if row["std_error"] > 0 else np.nan
        row["p_value"] = float(2 * stats.norm.sf(abs(row["statistic"])))
        rows[kind].append(row)
    num = {c: float for c in ["w"] + _COLS[1:]}
    return tuple(pd.DataFrame(rows[k], columns=_EFF_COLS).astype(num)
                 for k in ("conditional", "index"))


def _direct_effects(paths: pd.DataFrame, yblock, wv, level: float) -> pd.DataFrame:
    """c' (one row), or c' + c3' w at the probe values with the analytic covariance."""
    pos, V = yblock
    names = list(paths["term"].iloc[pos])
    i = names.index("c_prime")
    row = paths.iloc[pos[i]]
    df = float(row["df"])
    dist = stats.norm if not np.isfinite(df) else stats.t(df)
    q = dist.ppf(0.5 + level / 2)
    if wv is None:
        est, se, terms, ws = np.array([row["estimate"]]), np.array([row["std_error"]]), \
            ["direct"], np.array([np.nan])
    else:
        j = names.index("c3_prime")
        b = paths["estimate"].to_numpy()[pos]
        est = b[i] + b[j] * wv
        se = np.sqrt(V[i, i] + 2 * wv * V[i, j] + wv**2 * V[j, j])
        terms, ws = [f"direct[{v:.6g}]" for v in wv], np.asarray(wv, float)
    t = est / se
    return pd.DataFrame({"term": terms, "w": ws, "estimate": est, "std_error": se,
                         "statistic": t, "p_value": 2 * dist.sf(np.abs(t)),
                         "ci_low": est - q * se, "ci_high": est + q * se, "df": df})
