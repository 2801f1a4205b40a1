"""Driver regressions: OLS of an outcome on its drivers with dominance analysis.

The outcome (e.g. AI-cluster size) is regressed on drivers (raw indicators or factor
scores) and covariates; standard errors come from the one inference core
(:func:`dtistat.inference.sandwich`), importance from general dominance weights
(Budescu 1993; Azen & Budescu 2003), computed for all 2^d subsets at once.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from dtistat import _linalg
from dtistat._results import CoefResult, Summary, TableColumn
from dtistat._scale import check_magnitude, check_outcome_varies
from dtistat._validate import (
    as_list,
    check_choice,
    check_columns,
    check_frame,
    check_level,
    check_no_nan,
    check_numeric,
)
from dtistat.errors import DataError, ParameterError
from dtistat.inference import check_cov, check_small_sample, sandwich

__all__ = ["DriversResult", "fit_drivers"]

_MAX_DOMINANCE = 20


@dataclass(frozen=True, eq=False, repr=False)
class DriversResult(CoefResult):
    """OLS of an outcome on drivers: robust SEs, standardized betas, VIF, dominance.

    ``params``, ``cov`` and the protocol's ``std_errors``, ``pvalues``, ``conf_int()``,
    ``tidy()`` follow :mod:`dtistat._results`; ``coefficients`` adds ``std_beta`` and
    ``vif``; ``dominance`` the general dominance weights.
    """

    coefficients: pd.DataFrame        # tidy + std_beta, vif
    dominance: pd.DataFrame | None    # general dominance, shares, rank (drivers)
    conditional_dominance: pd.DataFrame | None  # driver x number of other drivers
    cov: pd.DataFrame
    r2: float
    adj_r2: float
    r2_covariates: float
    nobs: int
    df_resid: int
    y: str
    drivers: tuple
    covariates: tuple
    standardized: bool
    cov_type: str
    small_sample: str = "stata"
    df_inference: float | None = None
    level: float = 0.95
    n_clusters: int | None = None

    @property
    def params(self) -> pd.Series:
        """Coefficients by term."""
        c = self.coefficients
        return pd.Series(c["estimate"].to_numpy(), index=c["term"].to_numpy(), name="estimate")

    @property
    def vcov(self) -> pd.DataFrame:
        """Alias of :attr:`cov`."""
        return self.cov

    def _headline(self) -> list[str]:
        return [f"y={self.y}", f"N={self.nobs}", f"R2={self.r2:.4f}", f"cov={self.cov_type}"]

    def to_frame(self) -> pd.DataFrame:
        """Coefficients with std_beta, vif and (drivers) general dominance and share."""
        out = self.coefficients.copy()
        if self.dominance is not None:
            out = out.merge(self.dominance[["general_dominance", "share"]],
                            left_on="term", right_index=True, how="left")
        return out

    def table_columns(self) -> list[TableColumn]:
        """One regression-table column (Controls row: whether covariates were used)."""
        stats_ = {"nobs": self.nobs, "r2": self.r2, "adj_r2": self.adj_r2,
                  "df_resid": self.df_resid}
        if self.n_clusters is not None:
            stats_["n_clusters"] = self.n_clusters
        return [TableColumn(name=self.y, coefs=self.tidy(), stats=stats_,
                            fixed_effects={"entity": False, "time": False},
                            extra={"Controls": "Yes" if self.covariates else "No"})]

    def summary(self) -> Summary:
        """Coefficients (with std_beta, VIF) and the dominance table."""
        scale = "standardized y and drivers" if self.standardized else "raw scale"
        tabs = {"Coefficients": self.coefficients.set_index("term")}
        if self.dominance is not None:
            tabs["General dominance (share of R2)"] = self.dominance
        header = [("Model", f"OLS, {scale}"),
                  ("Covariance", f"{self.cov_type}; small-sample {self.small_sample!r}; "
                                 f"inference {self.distribution}"),
                  ("Observations", self.nobs), ("R2", self.r2), ("Adj. R2", self.adj_r2)]
        if self.covariates:
            header.append(("R2 of the covariates alone", self.r2_covariates))
        return Summary(f"Driver regression of {self.y}", tabs, header=header)


def _all_subsets_r2(C: np.ndarray, cy: np.ndarray, sst: float) -> np.ndarray:
    """R² increments of every subset of d predictors, indexed by bitmask (2^d,).

    ``C`` is the (d, d) cross-product matrix of the (residualized, centred) predictors
    and ``cy`` their cross-products with y; subsets of one size are solved together.
    """
    d = len(cy)
    out = np.zeros(2**d)
    bits = 1 << np.arange(d)
    for s in range(1, d + 1):
        combos = np.array(list(itertools.combinations(range(d), s)), dtype=np.intp)
        Css = C[combos[:, :, None], combos[:, None, :]]
        c = cy[combos]
        b = np.linalg.solve(Css, c[:, :, None])[:, :, 0]
        out[bits[combos].sum(axis=1)] = np.einsum("ij,ij->i", c, b) / sst
    return out


def _dominance(r2: np.ndarray, d: int, names: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    masks = np.arange(2**d)
    size = np.array([bin(m).count("1") for m in masks])
    cond = np.zeros((d, d))
    for j in range(d):
        bit = 1 << j
        base = masks[(masks & bit) == 0]
        inc = r2[base | bit] - r2[base]
        sz = size[base]
        cond[j] = np.bincount(sz, weights=inc, minlength=d) / np.bincount(sz, minlength=d)
    general = cond.mean(axis=1)
    cond_df = pd.DataFrame(cond, index=names,
                           columns=[f"k={s}" for s in range(d)])
    cond_df.columns.name = "other drivers in the model"
    return general, cond_df


def _coefficients(M, regs, cov, small_sample, codes, level):
    """OLS of column 0 on the others with the inference core's covariance."""
    n = len(M)
    X = np.column_stack([np.ones(n), M[:, 1:]])
    fit = _linalg.ols(M[:, 0], X, names=["const"] + regs)
    k = X.shape[1]
    if n - k <= 0:
        raise DataError(f"{n} rows for {k} coefficients: need more rows than regressors")
    est = sandwich(X, fit.resid, fit.xtx_inv, cov=cov, small_sample=small_sample,
                   clusters=[codes] if codes is not None else (), names=["const"] + regs)
    V = est.cov
    se = np.sqrt(np.diag(V))
    b = fit.params
    tstat = b / se
    dist = stats.norm if est.df_inference is None else stats.t(est.df_inference)
    tq = dist.ppf(0.5 + level / 2)
    sdx = M[:, 1:].std(axis=0, ddof=1)
    std_beta = np.r_[np.nan, b[1:] * sdx / M[:, 0].std(ddof=1)]
    if len(regs) > 1:
        vif = np.r_[np.nan, np.diag(np.linalg.inv(np.corrcoef(M[:, 1:], rowvar=False)))]
    else:
        vif = np.r_[np.nan, 1.0]
    coef = pd.DataFrame({"term": ["const"] + regs, "estimate": b, "std_error": se,
                         "statistic": tstat, "p_value": 2 * dist.sf(np.abs(tstat)),
                         "ci_low": b - tq * se, "ci_high": b + tq * se,
                         "std_beta": std_beta, "vif": vif})
    return coef, V, fit, est


def _importance(M, drivers, sst, r2, importance):
    """R2 of the covariates alone and general/conditional dominance of the drivers."""
    n, nd = len(M), len(drivers)
    # covariates-only model and the drivers residualized on it
    Z = np.column_stack([np.ones(n), M[:, 1 + nd:]])
    coefz = np.linalg.lstsq(Z, M[:, : 1 + nd], rcond=None)[0]
    Rz = M[:, : 1 + nd] - Z @ coefz
    r2_cov = 1.0 - float(Rz[:, 0] @ Rz[:, 0]) / sst
    if importance != "dominance":
        return r2_cov, None, None
    CP = Rz.T @ Rz
    inc = _all_subsets_r2(CP[1:, 1:], CP[1:, 0], sst)
    general, cond = _dominance(inc, nd, drivers)
    total_inc = general.sum()
    dom = pd.DataFrame({
        "general_dominance": general,
        "share": general / r2,
        "share_of_drivers": general / total_inc if total_inc > 0 else np.nan,
        "rank": pd.Series(-general).rank(method="min").astype(int).to_numpy(),
    }, index=pd.Index(drivers, name="driver"))
    return r2_cov, dom, cond


def fit_drivers(data: pd.DataFrame, y: str, drivers: Sequence[str],
                covariates: Sequence[str] = (), *, standardize: bool = True,
                importance: str | None = "dominance", cov: str = "robust",
                cluster: str | None = None, small_sample: str = "stata",
                level: float = 0.95, cov_type: str | None = None) -> DriversResult:
    """Regress an outcome on its drivers and rank them by dominance analysis.

    Parameters
    ----------
    data : DataFrame
        Outcome, drivers (raw indicators or factor scores) and covariates; not
        modified.
    y : str
        Outcome column (e.g. AI-cluster size).
    drivers : sequence of str
        Drivers whose effects and importance are of interest.
    covariates : sequence of str
        Controls kept in every model; dominance shares the R² beyond them.
    standardize : bool
        If True, y and the drivers are z-scored (SD with ddof=1) so the driver
        estimates are standardized betas; ``std_beta`` is reported either way.
    importance : {"dominance", None}
        General dominance weights (Budescu 1993; Azen & Budescu 2003): each driver's
        average R² increment over all subsets of the other drivers; they sum to
        ``R²(all) - R²(covariates only)``. Up to 20 drivers (2^d models).
    cov : {"robust", "unadjusted", "cluster"} or "HC0".."HC3"
        Robust (default; HC1 under ``small_sample="stata"``), classical, or
        cluster-robust (needs ``cluster``) SEs, from :func:`dtistat.inference.sandwich`.
    cluster : str, optional
        Cluster column for ``cov="cluster"``.
    small_sample : str
        Preset of :mod:`dtistat.inference.covariance` ("stata": t(n - k), clusters
        G/(G-1)(n-1)/(n-k) with t(G - 1); "none": HC0/CR0 with the normal).
    level : float
        Confidence level.
    cov_type : str, optional
        Deprecated spelling of ``cov``.

    Returns
    -------
    DriversResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.normal(size=(200, 3)), columns=["vc", "rd", "policy"])
    >>> df["cluster_size"] = df.vc + 0.5 * df.rd + rng.normal(size=200)
    >>> res = fit_drivers(df, "cluster_size", ["vc", "rd", "policy"])
    >>> bool(np.isclose(res.dominance["general_dominance"].sum(), res.r2))
    True
    """
    check_frame(data)
    level = check_level(level)
    check_choice(importance, ("dominance", None), "importance")
    if cov_type is not None:
        warnings.warn("fit_drivers(cov_type=...) is deprecated; use cov=", FutureWarning,
                      stacklevel=2)
        cov = cov_type
    cov = check_cov(cov)
    check_choice(cov, ("robust", "unadjusted", "cluster", "HC0", "HC1", "HC2", "HC3"), "cov")
    small_sample = check_small_sample(small_sample)
    if not isinstance(y, str):
        raise ParameterError(f"y must be one column name, got {y!r}")
    drivers = as_list(drivers, "drivers")
    covariates = as_list(covariates, "covariates")
    if not drivers:
        raise ParameterError("drivers must name at least one column")
    names = [y] + drivers + covariates
    seen: set = set()
    for c in names:
        if c in seen:
            raise ParameterError(f"column {c!r} appears more than once among y, drivers "
                                 "and covariates")
        seen.add(c)
    check_columns(data, names)
    check_numeric(data, names)
    check_no_nan(data, names)
    check_magnitude(data[names].to_numpy(dtype=float), names, "fit_drivers")
    check_outcome_varies(data[y].to_numpy(dtype=float), y, "fit_drivers")
    if importance == "dominance" and len(drivers) > _MAX_DOMINANCE:
        raise ParameterError(
            f"dominance analysis of {len(drivers)} drivers needs 2^{len(drivers)} "
            f"regressions; use at most {_MAX_DOMINANCE} drivers or importance=None"
        )
    codes = None
    if cov == "cluster":
        if cluster is None:
            raise ParameterError("cov='cluster' needs cluster=<column name>")
        check_columns(data, [cluster])
        codes, _ = _linalg.factorize(data[cluster].to_numpy())
    M = data[names].to_numpy(dtype=float, copy=True)
    sd = M.std(axis=0, ddof=1)
    for c, s in zip(names, sd, strict=True):
        if not s > 0:
            raise DataError(f"column {c!r} is constant (no variation); drop it")
    if standardize:
        kz = 1 + len(drivers)
        M[:, :kz] = (M[:, :kz] - M[:, :kz].mean(axis=0)) / sd[:kz]
    regs = drivers + covariates
    coef, V, fit, est = _coefficients(M, regs, cov, small_sample, codes, level)
    n, dfr = len(M), fit.nobs - fit.k
    yc = M[:, 0] - M[:, 0].mean()
    sst = float(yc @ yc)
    r2 = 1.0 - float(fit.resid @ fit.resid) / sst
    adj = 1.0 - (1.0 - r2) * (n - 1) / dfr
    r2_cov, dom, cond = _importance(M, drivers, sst, r2, importance)
    terms = ["const"] + regs
    vc = pd.DataFrame(V, index=terms, columns=terms)
    return DriversResult(coef, dom, cond, vc, r2, adj, r2_cov, n, dfr, y, tuple(drivers),
                         tuple(covariates), bool(standardize), cov, small_sample,
                         est.df_inference, level,
                         est.n_clusters[0] if est.n_clusters else None)
