"""Mediation analysis by linear path models, panel-aware, with a batched cluster bootstrap.

``fit_mediation`` estimates X -> M_k -> Y path models (parallel mediators or a serial
chain) by OLS, optionally with entity, time or two-way fixed effects absorbed and
cluster-robust standard errors, and bootstraps the indirect effects by resampling rows
or whole clusters as batched linear algebra (see :mod:`dtistat._bootstrap`).

Equations (covariates W and fixed effects in every one of them)::

    M_k = a_k X + [d_jk M_j, j < k, serial only] + W + e        (mediator models)
    Y   = c' X + sum_k b_k M_k + W + e                         (outcome model)
    Y   = c X + W + e                                          (total effect)

For OLS on one sample, ``c = c' + (sum of all indirect effects)`` holds exactly.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat import _bootstrap as bs
from dtistat._linalg import demean, demean1, factorize, ols
from dtistat._periods import check_time_types
from dtistat._results import Result, Summary, TableColumn
from dtistat._scale import check_magnitude, column_scale
from dtistat._validate import (
    as_list,
    check_choice,
    check_columns,
    check_floats,
    check_frame,
    check_level,
    check_no_nan,
    check_numeric,
    check_positive_int,
    check_seed,
    check_unique_keys,
    warn,
)
from dtistat.errors import DataError, EstimationError, ParameterError
from dtistat.inference import SMALL_SAMPLE, sandwich

__all__ = [
    "MediationProcedure",
    "MediationResult",
    "MediationSensitivity",
    "fit_mediation",
]

FE_CHOICES = (None, "entity", "time", "twoway")
CI_CHOICES = ("percentile", "bc", "bca")
PROCEDURES = (None, "wen_ye_2014", "jiang_2022")
MAX_EXPLICIT_DUMMIES = 200

VERDICTS = {
    "full": ("full mediation", "完全中介"),
    "partial": ("partial mediation", "部分中介"),
    "suppression": ("suppression", "遮掩效应"),
    "none": ("no indirect effect", "中介效应不显著"),
}

JIANG_WARNING = (
    "procedure='jiang_2022': only X -> Y (c) and X -> M (a) are estimated, with the same "
    "fixed effects and clustered SE. The Y ~ X + M equation is not causally identified "
    "(M is not randomly assigned), so b, c' and the indirect effect a*b are not reported "
    "as causal evidence; argue the M -> Y link from theory and prior work (Jiang Ting "
    "2022, China Industrial Economics (5):100-120)."
)

_MIN_BOOT = 50
_TABLE_COLS = ["term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high"]


# ----------------------------------------------------------------------------- results

@dataclass(frozen=True, eq=False, repr=False)
class MediationProcedure(Result):
    """Steps and verdicts of a published mediation decision procedure.

    Attributes
    ----------
    name : "wen_ye_2014" or "jiang_2022".
    steps : DataFrame (path, step, test, estimate, p_value, ci_low, ci_high, decision,
        decision_zh), one row per step taken for each indirect path.
    verdicts : DataFrame (path, verdict, verdict_zh, ratio_name, ratio).
    note : plain-language caveat.
    """

    name: str
    steps: pd.DataFrame
    verdicts: pd.DataFrame
    note: str = ""

    @property
    def verdict(self) -> str:
        """Verdict of the first path (the only one with a single mediator)."""
        return str(self.verdicts["verdict"].iloc[0]) if len(self.verdicts) else ""

    @property
    def verdict_zh(self) -> str:
        """Chinese label of :attr:`verdict`."""
        return str(self.verdicts["verdict_zh"].iloc[0]) if len(self.verdicts) else ""

    def _headline(self) -> list[str]:
        return [self.name, f"verdict={self.verdict}"]

    def to_frame(self) -> pd.DataFrame:
        """The verdict per indirect path."""
        return self.verdicts.copy()

    def summary(self) -> Summary:
        """Verdicts and the steps taken."""
        return Summary(f"Procedure {self.name}", {"Verdicts": self.verdicts.set_index("path"),
                                                  "Steps": self.steps},
                       notes=[self.note])


@dataclass(frozen=True, eq=False, repr=False)
class MediationSensitivity(Result):
    """Indirect effect as a function of rho = corr(mediator error, outcome error).

    Linear mediator and outcome models without interaction (Imai, Keele & Yamamoto
    2010, Statistical Science 25(1), Theorem 2 / eq. 14)::

        ACME(rho) = a * sigma_1 / sigma_2 * (rho_t - rho * sqrt((1 - rho_t^2) / (1 - rho^2)))

    where sigma_1 and sigma_2 are the error SDs of the total-effect model (Y ~ X + W)
    and the mediator model (M ~ X + W), and rho_t the correlation of their residuals.
    The indirect effect is zero at ``rho = rho_t`` (:attr:`rho_zero`).
    """

    rho: np.ndarray
    indirect: np.ndarray
    rho_zero: float
    a: float
    sigma_total: float
    sigma_mediator: float

    def to_frame(self) -> pd.DataFrame:
        """The curve as a DataFrame (rho, indirect)."""
        return pd.DataFrame({"rho": self.rho, "indirect": self.indirect})

    def _headline(self) -> list[str]:
        return [f"rho_zero={self.rho_zero:.4f}", f"points={len(self.rho)}"]

    def summary(self) -> Summary:
        """The indirect effect at each rho and the rho at which it vanishes."""
        return Summary("Sensitivity of the indirect effect to rho = corr(e_M, e_Y) "
                       "(Imai, Keele & Yamamoto 2010)", self.to_frame().set_index("rho"),
                       header=[("rho at which the indirect effect is zero", self.rho_zero)])


class _TidyCoefficients:
    """The coefficient side of the results protocol read off ``tidy()``: one row per
    term (analytic SEs for the paths, bootstrap SEs and intervals for the effects, which
    are computed when fitting, so another ``level`` needs a refit of ``_FIT``)."""

    _FIT = "fit_mediation"

    def _series(self, col: str) -> pd.Series:
        t = self.tidy()
        return pd.Series(t[col].to_numpy(), index=t["term"], name=col)

    @property
    def params(self) -> pd.Series:
        """Every estimate by term."""
        return self._series("estimate")

    @property
    def std_errors(self) -> pd.Series:
        """Analytic SEs of the paths, bootstrap (or Monte Carlo) SEs of the effects."""
        return self._series("std_error")

    @property
    def bse(self) -> pd.Series:
        """Alias of :attr:`std_errors`."""
        return self.std_errors

    @property
    def tstats(self) -> pd.Series:
        """t (paths) and z (effects) statistics."""
        return self._series("statistic")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values."""
        return self._series("p_value")

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Intervals at the fitted ``level`` (bootstrap intervals for the effects)."""
        if level is not None and not np.isclose(check_level(level), self.level):
            raise ParameterError(f"this result has {self.level:g} intervals; refit with "
                                 f"{self._FIT}(..., level={level!r}) for others")
        t = self.tidy()
        return pd.DataFrame({"lower": t["ci_low"].to_numpy(), "upper": t["ci_high"].to_numpy()},
                            index=t["term"])

    @property
    def cov(self) -> pd.DataFrame:
        """Bootstrap covariance of every bootstrapped statistic (empty without draws)."""
        return self.boot_draws.cov()


@dataclass(frozen=True, eq=False, repr=False)
class MediationResult(_TidyCoefficients, Result):
    """Result of :func:`fit_mediation`.

    Attributes
    ----------
    paths : DataFrame of path coefficients: term (``a[m]``, ``d[m1>m2]``, ``b[m]``,
        ``c``, ``c_prime``), path, equation, estimate, std_error (cluster-robust when
        clustered), stat (t), p_value, ci_low, ci_high, df.
    indirect : DataFrame of indirect effects (``indirect[m]``, ``indirect[m1>m2]``,
        ``indirect_total``, ``contrast[m1-m2]``): estimate, bootstrap std_error, z,
        p_value, ci_low/ci_high (method ``ci_method``), Monte Carlo interval
        (``mc_ci_low``/``mc_ci_high``), and for single-step paths Sobel, Aroian and
        Goodman SE, z and p.
    proportions : DataFrame: ``prop_mediated`` (indirect / c, total and per path) and
        ``suppression_ratio`` (|indirect / c'|) with bootstrap intervals.
    boot_draws : DataFrame (n_boot rows) of bootstrap replicates of every coefficient
        and statistic; rows of singular replicates are NaN (counted in ``n_singular``).
    procedure : MediationProcedure or None.
    """

    x: str
    mediators: tuple[str, ...]
    y: str
    covariates: tuple[str, ...]
    fe: str | None
    cluster: str | None
    serial: bool
    nobs: int
    n_clusters: int | None
    n_dropped: int
    n_boot: int
    n_singular: int
    ci: str
    level: float
    small_sample: str
    paths: pd.DataFrame
    indirect: pd.DataFrame
    proportions: pd.DataFrame
    boot_draws: pd.DataFrame
    procedure: MediationProcedure | None = None
    _sens: dict | None = field(default=None, repr=False)

    # ------------------------------------------------------------ results protocol
    def tidy(self) -> pd.DataFrame:
        """Paths, indirect effects and proportions: term, estimate, std_error, statistic,
        p_value, ci_low, ci_high (bootstrap intervals for the indirect effects)."""
        parts = [self.paths[_TABLE_COLS]]
        if len(self.indirect):
            parts.append(self.indirect[_TABLE_COLS])
        if len(self.proportions):
            parts.append(self.proportions[_TABLE_COLS])
        return pd.concat(parts, ignore_index=True)

    def _headline(self) -> list[str]:
        arrow = " -> ".join(self.mediators) if self.serial else " | ".join(self.mediators)
        out = [f"{self.x} -> [{arrow}] -> {self.y}", f"N={self.nobs}"]
        ind = self.indirect[self.indirect["term"] == "indirect_total"] if len(self.indirect) \
            else self.indirect
        if len(ind) == 0 and len(self.indirect):
            ind = self.indirect.iloc[:1]
        if len(ind):
            r = ind.iloc[0]
            out.append(f"{r['term']}={r['estimate']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]")
        out.append(f"n_boot={self.n_boot}")
        return out

    def table_columns(self, labels: Mapping[str, str] | None = None) -> list[TableColumn]:
        """The path equations as regression-table columns.

        Order: Y ~ X (total effect c), each M_k ~ X (a paths; serial models also
        M_j, j < k), Y ~ X + M (direct effect c′ and b paths). Coefficients are
        renamed to the variables they multiply, so X lines up across columns;
        ``labels`` maps an equation name (the response, or ``"total"``) to a heading.
        """
        return _path_columns(self, labels)

    def to_frame(self) -> pd.DataFrame:
        """Every table stacked, with a ``table`` column (path, indirect, proportion)."""
        parts = [self.paths.assign(table="path")]
        if len(self.indirect):
            parts.append(self.indirect.assign(table="indirect"))
        if len(self.proportions):
            parts.append(self.proportions.assign(table="proportion"))
        out = pd.concat(parts, ignore_index=True)
        return out[["table"] + [c for c in out.columns if c != "table"]]

    def sensitivity(self, rho: Any = None) -> MediationSensitivity:
        """Indirect effect under correlated mediator/outcome errors (IKY 2010).

        Parameters
        ----------
        rho : float or array of floats in (-1, 1), optional
            Values of the error correlation; default ``-0.9, -0.8, ..., 0.9``.

        Returns
        -------
        MediationSensitivity with the curve and ``rho_zero``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> d = pd.DataFrame({"x": rng.normal(size=200)})
        >>> d["m"] = 0.5 * d["x"] + rng.normal(size=200)
        >>> d["y"] = 0.4 * d["m"] + rng.normal(size=200)
        >>> res = fit_mediation(d, x="x", m="m", y="y", n_boot=0, seed=1)
        >>> s = res.sensitivity(rho=[0.0, 0.5])
        >>> bool(np.isclose(s.indirect[0], res.indirect["estimate"].iloc[0]))
        True
        """
        if self._sens is None:
            raise ParameterError(
                "sensitivity() covers one mediator in the parallel model (Imai, Keele & "
                "Yamamoto 2010, linear case); this result has "
                f"{len(self.mediators)} mediator(s), serial={self.serial}, "
                f"procedure={self.procedure.name if self.procedure else None!r}"
            )
        if rho is None:
            rho = np.linspace(-0.9, 0.9, 19).round(10) + 0.0
        r = np.atleast_1d(check_floats(rho, "rho"))
        if r.ndim != 1 or not np.all(np.abs(r) < 1):
            raise ParameterError(f"rho must lie strictly between -1 and 1, got {rho!r}")
        s = self._sens
        rt = s["rho_tilde"]
        acme = s["a"] * s["sigma1"] / s["sigma2"] * (
            rt - r * np.sqrt((1 - rt**2) / (1 - r**2))
        )
        return MediationSensitivity(r, acme, float(rt), s["a"], s["sigma1"], s["sigma2"])

    def summary(self) -> Summary:
        """Paths, indirect effects, proportions and the procedure's verdicts."""
        arrow = (" -> ".join(self.mediators) if self.serial
                 else " | ".join(self.mediators))
        title = (f"Mediation analysis: {self.x} -> [{arrow}] -> {self.y}"
                 + (" (serial)" if self.serial and len(self.mediators) > 1 else ""))
        header: list[tuple[str, Any]] = [
            ("Observations", self.nobs),
            ("Covariates", ", ".join(self.covariates) or "none"),
            ("Fixed effects", self.fe or "none"),
            ("Standard errors",
             f"clustered by {self.cluster} ({self.n_clusters} clusters, small-sample "
             f"'{self.small_sample}')" if self.cluster else "classical (OLS)"),
        ]
        if self.n_boot:
            header.append(("Bootstrap", f"{self.n_boot} draws"
                           + (f" of whole {self.cluster} clusters" if self.cluster
                              else " of rows") + f", {self.ci} {self.level:.0%} intervals"))
        notes = []
        if self.n_dropped:
            notes.append(f"Dropped: {self.n_dropped} row(s) with missing values")
        if self.n_singular:
            notes.append(f"{self.n_singular} singular bootstrap replicate(s) excluded")
        tables = {"Paths": self.paths[_TABLE_COLS].set_index("term")}
        if len(self.indirect):
            tables["Indirect effects"] = self.indirect[_TABLE_COLS + ["ci_method"]
                                                       ].set_index("term")
        if len(self.proportions):
            tables["Proportions"] = self.proportions[["term", "estimate", "ci_low", "ci_high"]
                                                     ].set_index("term")
        if self.procedure is not None:
            tables[f"Procedure {self.procedure.name}"] = self.procedure.verdicts.set_index("path")
            notes.append(self.procedure.note)
        return Summary(title, tables, header=header, notes=notes)


def _path_columns(result: MediationResult, labels: Mapping[str, str] | None
                  ) -> list[TableColumn]:
    if labels is not None and not isinstance(labels, Mapping):
        raise ParameterError(f"labels must be a mapping {{equation: heading}}, got "
                             f"{type(labels).__name__}")
    paths = result.paths
    x, y, meds = result.x, result.y, list(result.mediators)

    def variable(term: str) -> str:
        if term in ("c", "c_prime") or term.startswith("a["):
            return x
        inner = term[2:-1]
        if term.startswith("b["):
            return inner
        if term.startswith("d["):
            return inner.split(">")[0]
        return term

    eqs = [e for e in ["total", *meds, y] if e in set(paths["equation"])]
    r2 = getattr(result, "r2", None)
    cols = []
    for e in eqs:
        sub = paths[paths["equation"] == e].copy()
        sub["term"] = [variable(t) for t in sub["term"]]
        if e == y:  # X first, then the mediators
            sub = sub.sort_values("term", key=lambda s: s.map(
                {x: -1, **{m: i for i, m in enumerate(meds)}}), kind="stable")
        stats_ = {"nobs": result.nobs}
        if result.n_clusters is not None:
            stats_["n_clusters"] = result.n_clusters
        if isinstance(r2, Mapping) and e in r2:
            stats_["r2"] = r2[e]
        name = y if e == "total" else e
        if labels and e in labels:
            name = labels[e]
        cols.append(TableColumn(
            name=name, coefs=sub[_TABLE_COLS].reset_index(drop=True), stats=stats_,
            fixed_effects={"entity": result.fe in ("entity", "twoway"),
                           "time": result.fe in ("time", "twoway")},
            cluster=str(result.cluster or ""),
            extra={"Controls": "Yes" if result.covariates else "No"},
        ))
    return cols


# ------------------------------------------------------------------------------ model

@dataclass
class _Eq:
    name: str          # equation label: the response column, or "total"
    response: str
    regressors: list   # model variables (x, mediators, covariates), constant/FE apart
    keep: list         # regressors whose coefficients are reported
    terms: list        # term names of the kept coefficients


def _build_equations(x, meds, y, covs, serial, jiang) -> list[_Eq]:
    eqs = []
    for k, mk in enumerate(meds):
        prev = meds[:k] if serial else []
        terms = [f"a[{mk}]"] + [f"d[{mj}>{mk}]" for mj in prev]
        eqs.append(_Eq(mk, mk, [x] + prev + covs, [x] + prev, terms))
    if not jiang:
        eqs.append(_Eq(y, y, [x] + meds + covs, [x] + meds,
                       ["c_prime"] + [f"b[{mk}]" for mk in meds]))
    eqs.append(_Eq("total", y, [x] + covs, [x], ["c"]))
    return eqs


def _path_label(term: str, x: str, y: str) -> str:
    if term == "c":
        return f"{x} -> {y} (total)"
    if term == "c_prime":
        return f"{x} -> {y} (direct)"
    inner = term[2:-1]
    if term.startswith("a["):
        return f"{x} -> {inner}"
    if term.startswith("b["):
        return f"{inner} -> {y}"
    return inner.replace(">", " -> ")


def _indirect_paths(meds: list, serial: bool) -> list[tuple[str, ...]]:
    if not serial:
        return [(mk,) for mk in meds]
    out = []
    for r in range(1, len(meds) + 1):
        out.extend(itertools.combinations(meds, r))  # chain order is preserved
    return out


class _Stats:
    """Statistics (indirect effects, contrasts, proportions) as functions of coefficients."""

    def __init__(self, terms: list[str], meds: list, serial: bool, jiang: bool):
        self.pos = {t: i for i, t in enumerate(terms)}
        self.paths = [] if jiang else _indirect_paths(meds, serial)
        self.names = []
        self.kind = []
        for pth in self.paths:
            self.names.append("indirect[" + ">".join(pth) + "]")
            self.kind.append("indirect")
        if self.paths and len(self.paths) > 1:
            self.names.append("indirect_total")
            self.kind.append("indirect")
        if self.paths and not serial and len(meds) > 1:
            for mi, mj in itertools.combinations(meds, 2):
                self.names.append(f"contrast[{mi}-{mj}]")
                self.kind.append("indirect")
        if self.paths:
            self.names.append("prop_mediated")
            self.kind.append("proportion")
            if len(self.paths) > 1:
                for pth in self.paths:
                    self.names.append("prop_mediated[" + ">".join(pth) + "]")
                    self.kind.append("proportion")
            self.names.append("suppression_ratio")
            self.kind.append("proportion")

    def path_terms(self, pth: tuple[str, ...]) -> list[str]:
        t = [f"a[{pth[0]}]"]
        t += [f"d[{pth[i]}>{pth[i + 1]}]" for i in range(len(pth) - 1)]
        return t + [f"b[{pth[-1]}]"]

    def __call__(self, coefs: np.ndarray) -> np.ndarray:
        """(R × n_terms) coefficients -> (R × n_stats) statistics."""
        coefs = np.atleast_2d(coefs)
        col = lambda t: coefs[:, self.pos[t]]
        ind = {}
        for pth in self.paths:
            v = np.ones(coefs.shape[0])
            for t in self.path_terms(pth):
                v = v * col(t)
            ind[pth] = v
        out = {}
        for pth in self.paths:
            out["indirect[" + ">".join(pth) + "]"] = ind[pth]
        total = sum(ind.values()) if ind else None
        if "indirect_total" in self.names:
            out["indirect_total"] = total
        for nm in self.names:
            if nm.startswith("contrast["):
                mi, mj = self._pair(nm)
                out[nm] = ind[(mi,)] - ind[(mj,)]
        if self.paths:
            with np.errstate(divide="ignore", invalid="ignore"):
                out["prop_mediated"] = total / col("c")
                for pth in self.paths:
                    nm = "prop_mediated[" + ">".join(pth) + "]"
                    if nm in self.names:
                        out[nm] = ind[pth] / col("c")
                out["suppression_ratio"] = np.abs(total / col("c_prime"))
        return np.column_stack([out[n] for n in self.names]) if self.names else \
            np.empty((coefs.shape[0], 0))

    def _pair(self, nm: str) -> tuple[str, str]:
        for pth_i, pth_j in itertools.combinations(self.paths, 2):
            if nm == f"contrast[{pth_i[0]}-{pth_j[0]}]":
                return pth_i[0], pth_j[0]
        raise KeyError(nm)  # pragma: no cover


def _components(ecodes: np.ndarray, tcodes: np.ndarray, ne: int, nt: int) -> int:
    """Connected components of the entity-time bipartite graph (rank loss of two-way FE)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(ecodes)
    g = coo_matrix((np.ones(n), (ecodes, ne + tcodes)), shape=(ne + nt, ne + nt))
    return int(connected_components(g, directed=False)[0])


def _nested(fe_codes: np.ndarray, cl_codes: np.ndarray) -> bool:
    """True if every fixed-effect group lies inside one cluster."""
    s = pd.Series(cl_codes).groupby(fe_codes).nunique()
    return bool((s == 1).all())


# ----------------------------------------------------------------------------- fitting

def fit_mediation(
    data: pd.DataFrame,
    *,
    x: str,
    m: str | list[str],
    y: str,
    covariates: str | list[str] | tuple = (),
    entity: str | None = None,
    time: str | None = None,
    fe: str | None = None,
    cluster: str | None = None,
    serial: bool = False,
    n_boot: int = 5000,
    ci: str = "bca",
    level: float = 0.95,
    seed: int | np.random.Generator | None = None,
    procedure: str | None = None,
    small_sample: str = "stata",
    n_mc: int = 20_000,
    missing: str = "raise",
    dropna: bool | None = None,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MediationResult:
    """Fit a linear mediation model: paths, indirect effects and their intervals.

    Parameters
    ----------
    data : DataFrame
        One row per observation (city × quarter in a panel). Never modified.
    x, m, y : str
        Treatment, mediator(s) (a name or a list) and outcome columns.
    covariates : str or list of str
        Controls entered in every equation.
    entity, time : str, optional
        Panel identifiers; needed for ``fe`` and the default ``cluster``.
    fe : {None, "entity", "time", "twoway"}
        Fixed effects absorbed in every equation.
    cluster : str, optional
        Column to cluster standard errors on and to resample in the bootstrap (whole
        clusters). Default: ``entity`` when ``fe`` is given, else rows.
    serial : bool
        Mediators form a chain m1 -> m2 -> ... (each mediator equation includes the
        earlier mediators) instead of acting in parallel.
    n_boot : int
        Bootstrap replicates (0: no bootstrap; indirect intervals are then Monte Carlo).
    ci : {"bca", "bc", "percentile"}
        Bootstrap interval for the indirect effects.
    level : float
        Confidence level of every interval.
    seed : int or numpy Generator, optional
        Same seed -> same draws, whatever ``chunk_size``.
    procedure : {None, "wen_ye_2014", "jiang_2022"}
        Decision procedure to run (see :class:`MediationProcedure`).
    small_sample : {"stata", "areg", "none"}
        Preset of :mod:`dtistat.inference.covariance`: "stata" G/(G-1)·(N-1)/(N-K) with
        K the slopes plus a constant (``xtreg, fe``); "areg" with K also counting the
        absorbed effects; "reghdfe" counting those not nested in the clusters; "none"
        no factor (CR0, normal reference distribution).
    n_mc : int
        Draws of the Monte Carlo interval (Selig & Preacher 2008).
    missing : {"raise", "drop"}
        ``"drop"`` drops rows with a missing value in a used column (counted in
        ``n_dropped`` and shown in ``summary()``); ``"raise"`` (default) raises a
        ``DataError`` naming the column and row.
    dropna : bool, optional
        Deprecated spelling of ``missing="drop"``.
    chunk_size : int, optional
        Bootstrap replicates per batch, rounded up to a multiple of 32 (memory control;
        results do not depend on it).
    progress : callable, optional
        Called as ``progress(done, n_boot)`` after each batch of replicates (for a
        progress bar); it does not affect the results.

    Returns
    -------
    MediationResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"x": rng.normal(size=300)})
    >>> d["m"] = 0.5 * d["x"] + rng.normal(size=300)
    >>> d["y"] = 0.4 * d["m"] + 0.2 * d["x"] + rng.normal(size=300)
    >>> res = fit_mediation(d, x="x", m="m", y="y", n_boot=1000, seed=1)
    >>> list(res.tidy()["term"][:4])
    ['a[m]', 'c_prime', 'b[m]', 'c']
    >>> bool(np.isclose(res.paths.set_index("term").loc["c", "estimate"],
    ...      res.paths.set_index("term").loc["c_prime", "estimate"]
    ...      + res.indirect["estimate"].iloc[0]))
    True
    """
    data = check_frame(data)
    a = _check_args(x=x, m=m, y=y, covariates=covariates, entity=entity, time=time, fe=fe,
                    cluster=cluster, serial=serial, n_boot=n_boot, ci=ci, level=level,
                    seed=seed, procedure=procedure, small_sample=small_sample, n_mc=n_mc,
                    missing=missing, dropna=dropna, chunk_size=chunk_size)
    d = _prepare(data, a)
    eqs = _build_equations(a.x, a.meds, a.y, a.covs, a.serial, a.jiang)
    paths, vblocks, resid = _fit_paths(d, a, eqs)
    terms = list(paths["term"])
    coef_hat = paths["estimate"].to_numpy()
    st = _Stats(terms, a.meds, a.serial, a.jiang)
    theta_hat = st(coef_hat)[0] if st.names else np.empty(0)
    boot = _bootstrap(d, a, eqs, terms, st, progress)
    mc_theta = _monte_carlo(coef_hat, vblocks, a, st)
    indirect, proportions = _effect_tables(paths, st, theta_hat, boot, mc_theta, a)
    draws = pd.DataFrame(np.column_stack([boot.coefs, boot.theta]) if boot.done else
                         np.empty((0, len(terms) + len(st.names))),
                         columns=terms + list(st.names))
    proc = None
    if a.procedure == "wen_ye_2014":
        proc = _wen_ye(paths, st, boot.theta[boot.valid], theta_hat, a.level)
    elif a.jiang:
        warn(JIANG_WARNING)
        proc = _jiang(paths, a.meds, a.x, a.y)
    return MediationResult(
        x=a.x, mediators=tuple(a.meds), y=a.y, covariates=tuple(a.covs), fe=a.fe,
        cluster=a.cluster, serial=bool(a.serial), nobs=d.n, n_clusters=d.G,
        n_dropped=d.n_dropped, n_boot=a.n_boot if boot.done else 0,
        n_singular=boot.n_singular, ci=a.ci, level=a.level, small_sample=a.small_sample,
        paths=paths, indirect=indirect, proportions=proportions, boot_draws=draws,
        procedure=proc, _sens=_sensitivity_inputs(paths, resid, a),
    )


@dataclass
class _Args:
    """Validated arguments of :func:`fit_mediation`."""

    x: str
    meds: list
    y: str
    covs: list
    entity: str | None
    time: str | None
    fe: str | None
    cluster: str | None
    serial: bool
    n_boot: int
    ci: str
    level: float
    rng: np.random.Generator
    procedure: str | None
    small_sample: str
    n_mc: int
    drop_missing: bool
    chunk_size: int | None
    model_vars: list
    keys: list

    @property
    def jiang(self) -> bool:
        return self.procedure == "jiang_2022"


def _check_args(*, x, m, y, covariates, entity, time, fe, cluster, serial, n_boot, ci,
                level, seed, procedure, small_sample, n_mc, missing, dropna,
                chunk_size) -> _Args:
    for nm, v in (("x", x), ("y", y)):
        if not isinstance(v, str):
            raise ParameterError(f"{nm} must be one column name (a string), got {v!r}")
    meds = as_list(m, "m")
    if not meds:
        raise ParameterError("m must name at least one mediator column")
    covs = as_list(covariates, "covariates")
    fe = check_choice(fe, FE_CHOICES, "fe")
    ci = check_choice(ci, CI_CHOICES, "ci")
    procedure = check_choice(procedure, PROCEDURES, "procedure")
    small_sample = check_choice(small_sample, SMALL_SAMPLE, "small_sample")
    if dropna is not None:
        warnings.warn("fit_mediation(dropna=...) is deprecated; use missing='drop'",
                      FutureWarning, stacklevel=3)
        missing = "drop" if dropna else "raise"
    drop_missing = check_choice(missing, ("raise", "drop"), "missing") == "drop"
    level = check_level(level)
    n_boot = check_positive_int(n_boot, "n_boot", minimum=0)
    if 0 < n_boot < _MIN_BOOT:
        raise ParameterError(
            f"n_boot={n_boot}: a bootstrap needs at least {_MIN_BOOT} draws (with fewer its "
            "SEs and bias-corrected intervals are undefined or meaningless; 5000 is usual); "
            "n_boot=0 gives Monte Carlo intervals instead")
    n_mc = check_positive_int(n_mc, "n_mc", minimum=100)
    if chunk_size is not None:
        chunk_size = check_positive_int(chunk_size, "chunk_size")
    if procedure == "wen_ye_2014" and n_boot == 0:
        raise ParameterError(
            "procedure='wen_ye_2014' needs a bootstrap (its step 3 is a bias-corrected "
            "bootstrap of a*b); set n_boot >= 1000")
    if ci == "bca" and 0 < n_boot < 1000:
        warn(f"n_boot={n_boot} is small for BCa intervals (the acceleration and the "
             "tail quantiles need >= 1000 draws, 5000 recommended)", stacklevel=4)
    model_vars = [x] + meds + [y] + covs
    seen: dict = {}
    for role, cols in (("x", [x]), ("m", meds), ("y", [y]), ("covariates", covs)):
        for c in cols:
            if c in seen:
                raise ParameterError(
                    f"column {c!r} is used twice (as {seen[c]} and as {role}); x, m, y "
                    "and covariates must be distinct columns")
            seen[c] = role
    if fe in ("entity", "twoway") and entity is None:
        raise ParameterError(f"fe={fe!r} needs entity= (the panel unit column)")
    if fe in ("time", "twoway") and time is None:
        raise ParameterError(f"fe={fe!r} needs time= (the period column)")
    if cluster is None and fe is not None and entity is not None:
        cluster = entity
    keys = [k for k in dict.fromkeys([entity, time, cluster]) if k is not None]
    for k in keys:
        if k in seen:
            raise ParameterError(f"column {k!r} is both a model variable and a panel key")
    return _Args(x, meds, y, covs, entity, time, fe, cluster, serial, n_boot, ci, level,
                 check_seed(seed), procedure, small_sample, n_mc, drop_missing, chunk_size,
                 model_vars, keys)


@dataclass
class _Data:
    """The estimation sample: raw and demeaned variables, group codes, counts."""

    n: int
    n_dropped: int
    Z: np.ndarray
    Zd: np.ndarray
    col: dict
    fe_dims: list
    absorbed: int
    nested: int
    ccodes: np.ndarray | None
    G: int | None


def _prepare(data: pd.DataFrame, a: _Args) -> _Data:
    """Rows used, fixed effects, clusters; checks that x and the mediators vary."""
    check_columns(data, a.model_vars, what="column")
    check_columns(data, a.keys, what="key column")
    check_numeric(data, a.model_vars)
    vals = data[a.model_vars].to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(vals).all(axis=1)
    for k in a.keys:
        ok &= data[k].notna().to_numpy()
    n_dropped = int((~ok).sum())
    if n_dropped and not a.drop_missing:
        check_no_nan(data, a.model_vars, hint="missing='drop'")
        bad_key = next(k for k in a.keys if data[k].isna().any())
        raise DataError(f"key column {bad_key!r} has missing values; fill them or pass "
                        "missing='drop'")
    if not ok.any():
        worst = max(a.model_vars + a.keys, key=lambda c: int(data[c].isna().sum()))
        raise DataError(f"no rows left: every row has a missing value (column {worst!r} "
                        f"is missing in {int(data[worst].isna().sum())} of {len(data)})")
    df = data.loc[ok, a.model_vars + a.keys] if n_dropped else data[a.model_vars + a.keys]
    if n_dropped:
        warn(f"{n_dropped} row(s) with missing values dropped (missing='drop')", stacklevel=4)
    if a.fe == "twoway":
        check_unique_keys(df, [a.entity, a.time])
    fe_dims, absorbed = _fixed_effects(df, a)
    ccodes, G = (factorize(df[a.cluster]) if a.cluster is not None else (None, None))
    if a.cluster is not None:
        if G < 5:
            raise DataError(
                f"cluster {a.cluster!r} has {G} clusters; clustered SEs and a cluster "
                "bootstrap need at least 5 (20 or more to be reliable)")
        if G < 20:
            warn(f"cluster {a.cluster!r} has only {G} clusters (< 20): clustered SEs and "
                 "the cluster bootstrap are unreliable with so few", stacklevel=4)
    Z = df[a.model_vars].to_numpy(dtype=float)
    check_magnitude(Z, a.model_vars, "fit_mediation")
    col = {v: j for j, v in enumerate(a.model_vars)}
    Zd = demean(Z, [c for _, c in fe_dims]) if fe_dims else Z
    _check_variation(Z, Zd, col, a, fe_dims)
    # reghdfe: absorbed effects nested in the clusters are not counted (the intercept
    # they contain still is)
    nested = 0
    if a.small_sample == "reghdfe" and a.cluster is not None:
        nested = sum(int(c.max()) for _, c in fe_dims if _nested(c, ccodes))
        nested = min(nested, max(absorbed - 1, 0))
    return _Data(len(df), n_dropped, Z, Zd, col, fe_dims, absorbed, nested, ccodes, G)


def _fixed_effects(df: pd.DataFrame, a: _Args) -> tuple[list, int]:
    """The absorbed dimensions and the number of effect parameters they hold."""
    ecodes = factorize(df[a.entity])[0] if a.entity is not None else None
    if a.time is not None:
        check_time_types(df[a.time], a.time)
    tcodes = factorize(df[a.time])[0] if a.time is not None else None
    fe_dims: list[tuple[str, np.ndarray]] = []
    if a.fe in ("entity", "twoway"):
        fe_dims.append((a.entity, ecodes))
    if a.fe in ("time", "twoway"):
        fe_dims.append((a.time, tcodes))
    absorbed = 0
    if a.fe is not None:
        absorbed = sum(int(c.max()) + 1 for _, c in fe_dims)
        if a.fe == "twoway":
            absorbed -= _components(ecodes, tcodes, int(ecodes.max()) + 1,
                                    int(tcodes.max()) + 1)
    return fe_dims, absorbed


def _check_variation(Z, Zd, col, a: _Args, fe_dims) -> None:
    for v in [a.x] + a.meds + [a.y]:
        zj = Z[:, col[v]]
        scale = float(np.abs(zj).max())  # relative to the column: no floor of 1
        spread = (np.abs(Zd[:, col[v]]).max() if fe_dims else np.ptp(zj))
        if spread <= 1e-9 * scale:
            where = (f"within the {a.fe} fixed effects "
                     f"({' and '.join(k for k, _ in fe_dims)})" if fe_dims else "")
            role = {a.x: "treatment", a.y: "outcome"}.get(v, "mediator")
            raise DataError(
                f"{role} column {v!r} has no variation {where}".rstrip()
                + ("; there is nothing to explain" if v == a.y
                   else "; its effect cannot be estimated"))


def _fit_paths(d: _Data, a: _Args, eqs) -> tuple[pd.DataFrame, list, dict]:
    """OLS of every equation with the inference core's covariance: the path table,
    the covariance blocks (Monte Carlo) and the residuals (sensitivity)."""
    const = a.fe is None
    rows: list[dict] = []
    vblocks = []   # (positions in terms, covariance block) for Monte Carlo
    resid = {}
    for eq in eqs:
        Xe = d.Zd[:, [d.col[v] for v in eq.regressors]]
        names = list(eq.regressors)
        if const:
            Xe = np.column_stack([np.ones(d.n), Xe])
            names = ["const"] + names
        try:
            fit = ols(d.Zd[:, d.col[eq.response]], Xe, names=names)
        except EstimationError as err:
            raise EstimationError(
                f"equation for {eq.response!r} ({eq.name}): {err}") from None
        k = Xe.shape[1]
        est = sandwich(
            Xe, fit.resid, fit.xtx_inv,
            cov="cluster" if a.cluster is not None else "unadjusted",
            small_sample=a.small_sample, n_params=k + (1 if a.fe else 0),
            n_absorbed=max(d.absorbed - 1, 0), n_absorbed_nested=d.nested,
            clusters=[d.ccodes] if a.cluster is not None else (), names=names)
        dist = stats.norm if est.df_inference is None else stats.t(est.df_inference)
        q = dist.ppf(0.5 + a.level / 2)
        off = 1 if const else 0
        jj = [off + eq.regressors.index(v) for v in eq.keep]
        vblocks.append((list(range(len(rows), len(rows) + len(jj))), est.cov[np.ix_(jj, jj)]))
        yv = d.Zd[:, d.col[eq.response]]
        yv = yv - yv.mean() if const else yv
        if fit.resid @ fit.resid <= 1e-20 * (yv @ yv) or not np.all(np.diag(est.cov)[jj] > 0):
            raise EstimationError(
                f"equation for {eq.response!r} ({eq.name}) fits the data exactly: its "
                "standard errors are zero and no test or interval is defined")
        for j, t in zip(jj, eq.terms):
            b, s = float(fit.params[j]), float(np.sqrt(est.cov[j, j]))
            rows.append({"term": t, "path": _path_label(t, a.x, a.y), "equation": eq.name,
                         "estimate": b, "std_error": s, "statistic": b / s,
                         "p_value": float(2 * dist.sf(abs(b / s))),
                         "ci_low": b - q * s, "ci_high": b + q * s,
                         "df": np.inf if est.df_inference is None else est.df_inference})
        resid[eq.name] = (fit.resid, d.n - k - d.absorbed)
    return pd.DataFrame(rows), vblocks, resid


@dataclass
class _Boot:
    done: bool
    coefs: np.ndarray
    theta: np.ndarray
    jack: np.ndarray | None
    n_singular: int
    valid: np.ndarray | slice


def _bootstrap(d: _Data, a: _Args, eqs, terms, st: _Stats, progress) -> _Boot:
    """Batched (cluster) bootstrap of every coefficient and statistic."""
    if not (a.n_boot > 0 and not a.jiang):
        return _Boot(False, np.empty((0, len(terms))), np.empty((0, len(st.names))), None,
                     0, slice(None))
    Cq, p, beqs, rescale = _boot_design(
        d.Z, d.col, eqs, d.fe_dims, d.ccodes, d.G, a.x, a.meds, a.covs, terms)
    coefs, sing = bs.bootstrap_coefs(Cq, p, beqs, rng=a.rng, n_boot=a.n_boot,
                                     chunk=a.chunk_size, progress=progress)
    coefs = coefs * rescale
    n_singular = int(sing.sum())
    if n_singular:
        warn(f"{n_singular} of {a.n_boot} bootstrap replicates had a singular design "
             "(e.g. a resample without variation in a regressor or period); they are "
             "excluded from the intervals and counted in result.n_singular", stacklevel=4)
        if n_singular > 0.05 * a.n_boot:
            warn("more than 5% of bootstrap replicates are singular: the intervals "
                 "condition on non-singular resamples and may be biased", stacklevel=4)
    jack = None
    if a.ci == "bca":
        jc, _ = bs.jackknife_coefs(Cq, p, beqs)
        jack = st(jc * rescale)
    return _Boot(True, coefs, st(coefs), jack, n_singular, np.isfinite(coefs).all(axis=1))


def _monte_carlo(coef_hat, vblocks, a: _Args, st: _Stats) -> np.ndarray | None:
    """Monte Carlo draws of the statistics (block-normal coefficients by equation)."""
    if a.jiang:
        return None
    mc = np.tile(coef_hat, (a.n_mc, 1))
    for pos, Vb in vblocks:
        w, U = np.linalg.eigh(Vb)
        L = U * np.sqrt(np.clip(w, 0.0, None))
        mc[:, pos] += a.rng.standard_normal((a.n_mc, len(pos))) @ L.T
    return st(mc)


_IND_COLS = ["term", "path", "estimate", "std_error", "statistic", "p_value", "ci_low",
             "ci_high", "ci_method", "mc_ci_low", "mc_ci_high"] + [
    f"{lab}_{s}" for lab in ("sobel", "aroian", "goodman") for s in ("se", "z", "p")]
_PROP_COLS = ["term", "estimate", "std_error", "statistic", "p_value", "ci_low", "ci_high",
              "ci_method", "mc_ci_low", "mc_ci_high"]


def _effect_tables(paths, st: _Stats, theta_hat, boot: _Boot, mc_theta, a: _Args
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indirect effects and proportions with bootstrap / Monte Carlo intervals."""
    ind_rows, prop_rows = [], []
    pt = paths.set_index("term")
    for i, nm in enumerate(st.names):
        th = float(theta_hat[i])
        row = {"term": nm, "estimate": th}
        if boot.done:
            dr = boot.theta[boot.valid, i]
            dr = dr[np.isfinite(dr)]
            row["std_error"] = float(np.std(dr, ddof=1))
            if a.ci == "percentile":
                row["ci_low"], row["ci_high"] = bs.percentile_ci(dr, a.level)
            elif a.ci == "bc":
                row["ci_low"], row["ci_high"] = bs.bc_ci(dr, th, a.level)
            else:
                row["ci_low"], row["ci_high"] = bs.bca_ci(dr, th, boot.jack[:, i], a.level)
            row["ci_method"] = a.ci
        else:
            dr = mc_theta[:, i]
            dr = dr[np.isfinite(dr)]
            row["std_error"] = float(np.std(dr, ddof=1))
            row["ci_low"], row["ci_high"] = bs.percentile_ci(dr, a.level)
            row["ci_method"] = "monte_carlo"
        row["statistic"] = th / row["std_error"] if row["std_error"] > 0 else np.nan
        row["p_value"] = float(2 * stats.norm.sf(abs(row["statistic"])))
        mdr = mc_theta[:, i]
        row["mc_ci_low"], row["mc_ci_high"] = bs.percentile_ci(mdr[np.isfinite(mdr)], a.level)
        if st.kind[i] == "proportion":
            prop_rows.append(row)
            continue
        row["path"] = _indirect_label(nm, a.x, a.y)
        pth = _path_of(nm, st)
        if pth is not None and len(pth) == 1:
            row.update(_normal_theory(pt.loc[f"a[{pth[0]}]"], pt.loc[f"b[{pth[0]}]"], th))
        ind_rows.append(row)
    return (pd.DataFrame(ind_rows, columns=_IND_COLS),
            pd.DataFrame(prop_rows, columns=_PROP_COLS))


def _normal_theory(a_row, b_row, th: float) -> dict:
    """Sobel, Aroian and Goodman standard errors, z and p of a*b."""
    va, vb = a_row["std_error"] ** 2, b_row["std_error"] ** 2
    base = a_row["estimate"] ** 2 * vb + b_row["estimate"] ** 2 * va
    out = {}
    for lab, s2 in (("sobel", base), ("aroian", base + va * vb), ("goodman", base - va * vb)):
        s_ = float(np.sqrt(s2)) if s2 > 0 else np.nan
        z = th / s_
        out[f"{lab}_se"], out[f"{lab}_z"] = s_, z
        out[f"{lab}_p"] = float(2 * stats.norm.sf(abs(z)))
    return out


def _sensitivity_inputs(paths, resid, a: _Args) -> dict | None:
    """What :meth:`MediationResult.sensitivity` needs (one mediator, parallel model)."""
    if a.jiang or len(a.meds) != 1:
        return None
    (e1, df1), (e2, df2) = resid["total"], resid[a.meds[0]]
    pt = paths.set_index("term")
    # residuals in units of a power of two (exact): no under/overflow of e'e near 1e±150
    s1, s2 = float(column_scale(e1)[0]), float(column_scale(e2)[0])
    u1, u2 = e1 / s1, e2 / s2
    return {
        "a": float(pt.loc[f"a[{a.meds[0]}]", "estimate"]),
        "sigma1": s1 * float(np.sqrt(u1 @ u1 / df1)),
        "sigma2": s2 * float(np.sqrt(u2 @ u2 / df2)),
        "rho_tilde": float((u1 @ u2) / np.sqrt((u1 @ u1) * (u2 @ u2))),
    }


def _path_of(name: str, st: _Stats) -> tuple[str, ...] | None:
    for pth in st.paths:
        if name == "indirect[" + ">".join(pth) + "]":
            return pth
    return None


def _indirect_label(name: str, x: str, y: str) -> str:
    if name == "indirect_total":
        return "total indirect"
    if name.startswith("contrast["):
        return "difference of indirect effects " + name[9:-1]
    return f"{x} -> " + " -> ".join(name[9:-1].split(">")) + f" -> {y}"


def _boot_design(Z, col, eqs, fe_dims, ccodes, G, x, meds, covs, terms):
    """Cross-products, equations and coefficient scales for the batched bootstrap.

    Fixed effects nested in the resampled clusters are demeaned once (duplicating a
    whole cluster leaves those group means unchanged); the others (time effects under
    an entity cluster bootstrap) are re-estimated in every replicate as explicit
    dummies, which is what a refit on the resample does. The dummy columns are never
    built for all rows: the per-cluster cross-products are formed block by block of
    whole clusters (:class:`dtistat._bootstrap.CrossProducts`). Columns are centred
    (when a constant is present) and scaled to unit variance for the normal equations;
    ``rescale`` maps coefficients back.
    """
    is_nested = [ccodes is not None and _nested(c, ccodes) for _, c in fe_dims]
    nested = [c for (_, c), ok in zip(fe_dims, is_nested) if ok]
    explicit = [(k, c) for (k, c), ok in zip(fe_dims, is_nested) if not ok]
    n_dum = sum(int(c.max()) for _, c in explicit)
    if n_dum > MAX_EXPLICIT_DUMMIES:
        raise ParameterError(
            f"the bootstrap would need {n_dum} explicit dummies for fixed effects "
            f"({', '.join(k for k, _ in explicit)}) that are not nested in the resampled "
            "clusters; cluster on a variable that contains whole entities (e.g. the entity "
            "itself or its province)")
    Zs = demean(Z, nested) if nested else Z.copy()
    const = not nested
    if const:
        Zs = Zs - Zs.mean(axis=0)
    sd = Zs.std(axis=0)
    sd[sd == 0] = 1.0
    Zs = Zs / sd
    dums = _Dummies([c for _, c in explicit], nested[0] if nested else None)
    names = (["const"] if const else []) + list(col) + [f"_dummy{j}" for j in range(n_dum)]

    def design(rows: np.ndarray) -> np.ndarray:
        parts = ([np.ones((len(rows), 1))] if const else []) + [Zs[rows]]
        return np.hstack(parts + ([dums.rows(rows)] if n_dum else []))

    idx = {nm: j for j, nm in enumerate(names)}
    extra = [idx["const"]] if const else []
    extra += [idx[f"_dummy{j}"] for j in range(n_dum)]
    beqs = []
    rescale = np.ones(len(terms))
    t = 0
    for eq in eqs:
        regs = [idx[v] for v in eq.regressors] + extra
        keep = [eq.regressors.index(v) for v in eq.keep]
        beqs.append(bs.Equation(idx[eq.response], tuple(regs), tuple(keep)))
        for v in eq.keep:
            rescale[t] = sd[col[eq.response]] / sd[col[v]]
            t += 1
    cross = bs.CrossProducts(design, len(names), ccodes, G, len(Z),
                             units=nested[0] if nested and n_dum else None)
    return cross, len(names), beqs, rescale


class _Dummies:
    """Indicators of levels 1..L-1 of each re-estimated fixed effect, for given rows.

    Demeaned within the groups of ``within`` (fixed effects nested in the clusters;
    rows come in whole such groups) or else centred, and scaled to unit SD: the
    column means and SDs of the whole sample are known from counts, so no (n × L)
    matrix is built.
    """

    def __init__(self, dims: list[np.ndarray], within: np.ndarray | None):
        self.dims = [(c, int(c.max())) for c in dims]
        self.within = within
        means, var = [], []
        for c, L in self.dims:
            n = len(c)
            if within is None:
                m = np.bincount(c, minlength=L + 1)[1:] / n
                means.append(m)
                var.append(m * (1.0 - m))
            else:  # sum over groups e of c_et - c_et^2 / n_e (c_et: rows of e at level t)
                keys, cnt = np.unique(within.astype(np.int64) * (L + 1) + c,
                                      return_counts=True)
                n_e = np.bincount(within)
                contrib = cnt - cnt.astype(float) ** 2 / n_e[keys // (L + 1)]
                var.append(np.bincount(keys % (L + 1), weights=contrib,
                                       minlength=L + 1)[1:] / n)
        self.mean = np.concatenate(means) if means else None
        sd = np.sqrt(np.clip(np.concatenate(var), 0.0, None)) if var else np.ones(0)
        sd[sd == 0] = 1.0
        self.sd = sd

    def rows(self, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), len(self.sd)))
        off = 0
        for c, L in self.dims:
            cr = c[rows]
            nz = np.flatnonzero(cr > 0)
            out[nz, off + cr[nz] - 1] = 1.0
            off += L
        if self.within is None:
            out -= self.mean
        else:
            _, inv = np.unique(self.within[rows], return_inverse=True)
            out = demean1(out, inv.ravel(), int(inv.max()) + 1)
        return out / self.sd


# --------------------------------------------------------------------------- procedures

def _wen_ye(paths: pd.DataFrame, st: _Stats, draws, theta_hat, level) -> MediationProcedure:
    """Wen Zhonglin & Ye Baojuan (2014), Advances in Psychological Science 22(5):731-745."""
    alpha = 1.0 - level
    pt = paths.set_index("term")
    c, cp = pt.loc["c"], pt.loc["c_prime"]
    steps, verdicts = [], []
    targets = [(nm, _path_of(nm, st)) for nm in st.names
               if nm.startswith("indirect[") or nm == "indirect_total"]
    for nm, pth in targets:
        i = st.names.index(nm)
        ab = float(theta_hat[i])
        label = nm

        def add(step, test, estimate, p=np.nan, lo=np.nan, hi=np.nan, dec="", zh="",
                label=label):
            steps.append({"path": label, "step": step, "test": test, "estimate": estimate,
                          "p_value": p, "ci_low": lo, "ci_high": hi, "decision": dec,
                          "decision_zh": zh})

        c_sig = c["p_value"] < alpha
        add(1, "total effect c", c["estimate"], c["p_value"],
            dec="significant: argue as mediation" if c_sig else
            "not significant: argue as suppression; continue",
            zh="显著，按中介效应立论" if c_sig else "不显著，按遮掩效应立论，继续检验")
        coef_terms = st.path_terms(pth) if pth is not None else []
        all_sig = bool(coef_terms) and all(pt.loc[t, "p_value"] < alpha for t in coef_terms)
        if coef_terms:
            for t in coef_terms:
                add(2, f"path {t}", pt.loc[t, "estimate"], pt.loc[t, "p_value"],
                    dec="significant" if pt.loc[t, "p_value"] < alpha else "not significant",
                    zh="显著" if pt.loc[t, "p_value"] < alpha else "不显著")
        if all_sig:
            ind_sig = True
        else:
            lo, hi = bs.bc_ci(draws[:, i], ab, level)
            ind_sig = bool(lo > 0 or hi < 0)
            add(3, "bias-corrected bootstrap CI of the indirect effect", ab, lo=lo, hi=hi,
                dec="interval excludes 0: indirect effect significant" if ind_sig else
                "interval contains 0: no indirect effect; stop",
                zh="置信区间不含0，间接效应显著" if ind_sig  # noqa: E501
                else "置信区间含0，间接效应不显著，停止")
        if not ind_sig:
            verdicts.append((label, "none", "", np.nan))
            continue
        cp_sig = cp["p_value"] < alpha
        add(4, "direct effect c'", cp["estimate"], cp["p_value"],
            dec="significant: go to step 5" if cp_sig else
            "not significant: only the indirect effect",
            zh="显著，进行第五步" if cp_sig else "不显著，只有中介效应")
        if not cp_sig:
            verdicts.append((label, "full", "", np.nan))
            continue
        same = np.sign(ab) == np.sign(cp["estimate"])
        if same:
            ratio = ab / c["estimate"]
            add(5, "sign of indirect vs direct effect", ab,
                dec=f"same sign: partial mediation, indirect/total = {ratio:.4f}",
                zh=f"同号，部分中介，中介效应占总效应的比例 {ratio:.4f}")
            verdicts.append((label, "partial", "indirect/total", ratio))
        else:
            ratio = abs(ab / cp["estimate"])
            add(5, "sign of indirect vs direct effect", ab,
                dec=f"opposite signs: suppression, |indirect/direct| = {ratio:.4f}",
                zh=f"异号，遮掩效应，|间接效应/直接效应| = {ratio:.4f}")
            verdicts.append((label, "suppression", "|indirect/direct|", ratio))
    vt = pd.DataFrame([
        {"path": p_, "verdict": VERDICTS[v][0], "verdict_zh": VERDICTS[v][1],
         "ratio_name": rn, "ratio": r} for p_, v, rn, r in verdicts])
    return MediationProcedure(
        "wen_ye_2014", pd.DataFrame(steps), vt,
        note="Wen Zhonglin & Ye Baojuan (2014), Advances in Psychological Science "
             "22(5):731-745 (温忠麟, 叶宝娟, 心理科学进展).")


def _jiang(paths: pd.DataFrame, meds, x, y) -> MediationProcedure:
    """Jiang Ting (2022): identify X -> Y and X -> M only."""
    rows = []
    for i, t in enumerate(["c"] + [f"a[{mk}]" for mk in meds]):
        r = paths.set_index("term").loc[t]
        sig = r["p_value"] < 0.05
        rows.append({
            "path": r["path"], "step": 1 if t == "c" else 2,
            "test": "effect of X on Y" if t == "c" else f"effect of X on {t[2:-1]}",
            "estimate": r["estimate"], "p_value": r["p_value"], "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "decision": "significant" if sig else "not significant",
            "decision_zh": "显著" if sig else "不显著"})
    return MediationProcedure(
        "jiang_2022", pd.DataFrame(rows),
        pd.DataFrame(columns=["path", "verdict", "verdict_zh", "ratio_name", "ratio"]),
        note=JIANG_WARNING)
