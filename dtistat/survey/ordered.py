"""Weighted ordered logit/probit with robust SEs, odds ratios and marginal effects."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from dtistat._linalg import _check_rank
from dtistat._results import CoefResult, Summary
from dtistat._scale import check_magnitude, column_scale
from dtistat._separation import find_separation
from dtistat._validate import (
    check_choice,
    check_columns,
    check_frame,
    check_level,
    warn,
)
from dtistat.errors import (
    DataError,
    EstimationError,
    ParameterError,
    SpecError,
)
from dtistat.formula import build_design
from dtistat.inference import check_cov
from dtistat.survey._common import (
    COV_TYPES,
    LINKS,
    _present,
    _psu,
    _psu_sums,
    _weights,
)

__all__ = ["OrderedResult", "fit_ordered"]

# ======================================================================= fit_ordered

@dataclass(frozen=True, eq=False, repr=False)
class OrderedResult(CoefResult):
    """Result of :func:`fit_ordered`.

    The model is ``P(y <= j | x) = F(cut_j - x'beta)`` with F logistic (``link="logit"``)
    or standard normal (``"probit"``), the parametrization of statsmodels
    ``OrderedModel``: a positive coefficient shifts answers towards higher categories.

    Attributes
    ----------
    formula, link, cov_type : as fitted.
    categories : answer categories in order.
    nobs : respondents used; n_dropped : rows dropped for missing values.
    weighted : whether weights were used.
    params : statsmodels-parametrized estimates (coefficients, first cutpoint, log
        increments of the later cutpoints), with ``cov`` their covariance.
    coefficients : DataFrame (term, estimate, std_error, statistic, p_value, ci_low,
        ci_high; plus odds_ratio, or_ci_low, or_ci_high for the logit link) for the
        coefficients and the cutpoints ``cut[a|b]`` (delta-method SEs).
    marginal_effects : DataFrame (term, outcome, kind, estimate, std_error, statistic,
        p_value, ci_low, ci_high): the average marginal effect of each regressor on the
        probability of each answer category; ``kind`` is ``derivative`` for continuous
        regressors and ``discrete`` (change from the reference level) for 0/1 dummies
        and treatment-coded factors. Effects on the category probabilities sum to 0.
    loglike, loglike_null, pseudo_r2 : (weighted) log-likelihoods and McFadden's R².
    converged, iterations : optimizer status.
    """

    formula: str
    link: str
    cov_type: str
    categories: tuple
    nobs: int
    n_dropped: int
    weighted: bool
    params: pd.Series
    cov: pd.DataFrame
    coefficients: pd.DataFrame
    marginal_effects: pd.DataFrame
    loglike: float
    loglike_null: float
    converged: bool
    iterations: int
    level: float = 0.95

    @property
    def pseudo_r2(self) -> float:
        """McFadden's pseudo R², 1 - loglike / loglike_null."""
        return 1.0 - self.loglike / self.loglike_null

    @property
    def odds_ratios(self) -> pd.DataFrame:
        """Odds ratios of the coefficients (logit link only)."""
        if self.link != "logit":
            raise ParameterError("odds ratios need link='logit'; this model uses probit")
        t = self.coefficients
        t = t[~t["term"].str.startswith("cut[")]
        cols = ["term", "odds_ratio", "or_ci_low", "or_ci_high", "p_value"]
        return t[cols].reset_index(drop=True)

    @property
    def df_inference(self) -> None:
        """Maximum likelihood: inference on the normal distribution."""
        return None

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """Coefficients and cutpoints: term, estimate, std_error, statistic, p_value,
        ci_low, ci_high (+ odds ratios for the logit link)."""
        if level is not None and not np.isclose(self._level(level), self.level):
            raise ParameterError(f"this result has {self.level:g} intervals; refit with "
                                 f"fit_ordered(..., level={level!r})")
        return self.coefficients.copy()

    def _headline(self) -> list[str]:
        return [f"ordered {self.link}", f"N={self.nobs}", f"categories={len(self.categories)}",
                f"pseudo R2={self.pseudo_r2:.4f}"]

    def summary(self) -> Summary:
        """Coefficients (with odds ratios) and the average marginal effects."""
        ame = (self.marginal_effects.pivot(index="term", columns="outcome", values="estimate")
               .reindex(columns=list(self.categories)))
        header = [("Formula", self.formula), ("Observations", self.nobs),
                  ("Weighted", self.weighted), ("Standard errors", self.cov_type),
                  ("Categories", " < ".join(map(str, self.categories))),
                  ("Log-likelihood", self.loglike), ("McFadden pseudo R2", self.pseudo_r2)]
        notes = []
        if self.n_dropped:
            notes.append(f"Dropped: {self.n_dropped} row(s) with missing values")
        if not self.converged:
            notes.append("WARNING: the optimizer did not converge")
        return Summary(f"Ordered {self.link}", {
            "Coefficients": self.coefficients.set_index("term"),
            "Average marginal effects on P(answer)": ame}, header=header, notes=notes)

    def to_frame(self) -> pd.DataFrame:
        """Coefficients and marginal effects stacked, with a ``table`` column."""
        a = self.coefficients.assign(table="coefficient")
        b = self.marginal_effects.assign(table="marginal_effect")
        out = pd.concat([a, b], ignore_index=True)
        return out[["table"] + [c for c in out.columns if c != "table"]]

    def __str__(self) -> str:
        lines = [
            f"Ordered {self.link}: {self.formula}",
            f"Observations: {self.nobs}"
            + (f" ({self.n_dropped} rows with missing values dropped)" if self.n_dropped else "")
            + f"; {'weighted' if self.weighted else 'unweighted'}; SE: {self.cov_type}",
            f"Categories: {' < '.join(map(str, self.categories))}",
            f"Log-likelihood: {self.loglike:.4f}; McFadden pseudo R²: {self.pseudo_r2:.4f}",
            self.coefficients.to_string(index=False, float_format=lambda v: f"{v:.4f}"),
            "Average marginal effects on P(answer):",
            self.marginal_effects.pivot(index="term", columns="outcome", values="estimate")
            .reindex(columns=list(self.categories))
            .to_string(float_format=lambda v: f"{v:.4f}"),
        ]
        if not self.converged:
            lines.insert(1, "WARNING: the optimizer did not converge")
        return "\n".join(lines)


class _OrderedLik:
    """Weighted ordered-response likelihood in statsmodels' OrderedModel parametrization."""

    def __init__(self, y: np.ndarray, X: np.ndarray, K: int, link: str, w: np.ndarray):
        self.y, self.X, self.K, self.w = y, X, K, w
        self.k = X.shape[1]
        if link == "logit":
            self.cdf = special.expit
            self.pdf = lambda z: special.expit(z) * special.expit(-z)
        else:
            self.cdf = special.ndtr
            self.pdf = lambda z: np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)

    def cuts(self, a: np.ndarray) -> np.ndarray:
        """Thresholds from (first, log increments), padded with -inf, +inf."""
        th = np.concatenate([[a[0]], a[0] + np.cumsum(np.exp(a[1:]))])
        return np.concatenate([[-np.inf], th, [np.inf]])

    def cut_jac(self, a: np.ndarray) -> np.ndarray:
        """d(thresholds)/d(a), (K-1) x (K-1)."""
        J = np.zeros((self.K - 1, self.K - 1))
        J[:, 0] = 1.0
        e = np.exp(a[1:])
        for j in range(1, self.K - 1):
            J[j, 1:j + 1] = e[:j]
        return J

    def probs(self, params: np.ndarray, X: np.ndarray | None = None) -> np.ndarray:
        X = self.X if X is None else X
        cut = self.cuts(params[self.k:])
        xb = X @ params[:self.k]
        F = self.cdf(cut[None, :] - xb[:, None])
        return np.diff(F, axis=1)

    def _parts(self, params):
        cut = self.cuts(params[self.k:])
        xb = self.X @ params[:self.k]
        up = cut[self.y + 1] - xb
        lo = cut[self.y] - xb
        # in the upper tail use 1 - F(z) = F(-z) (both links are symmetric) so that the
        # difference of two numbers close to 1 does not cancel to 0
        hi_tail = lo > 0
        P = np.where(hi_tail, self.cdf(-lo) - self.cdf(-up), self.cdf(up) - self.cdf(lo))
        P = np.maximum(P, 1e-300)
        fu = np.where(np.isfinite(up), self.pdf(np.where(np.isfinite(up), up, 0.0)), 0.0)
        fl = np.where(np.isfinite(lo), self.pdf(np.where(np.isfinite(lo), lo, 0.0)), 0.0)
        return P, fu, fl

    def loglikeobs(self, params):
        P, _, _ = self._parts(params)
        return np.log(P)

    def score_obs(self, params):
        P, fu, fl = self._parts(params)
        n = self.y.size
        sb = -self.X * ((fu - fl) / P)[:, None]
        sth = np.zeros((n, self.K - 1))
        rows = np.arange(n)
        up_j = self.y  # threshold index that is the upper bound (if < K-1)
        m = up_j < self.K - 1
        sth[rows[m], up_j[m]] += fu[m] / P[m]
        lo_j = self.y - 1
        m = lo_j >= 0
        sth[rows[m], lo_j[m]] -= fl[m] / P[m]
        return np.column_stack([sb, sth @ self.cut_jac(params[self.k:])])

    def nll(self, params):
        return -float(self.w @ self.loglikeobs(params))

    def ngrad(self, params):
        return -(self.w @ self.score_obs(params))

    def hessian(self, params):
        """Hessian of the weighted log-likelihood by central differences of the score."""
        p = params.size
        H = np.zeros((p, p))
        for i in range(p):
            h = 1e-5 * max(1.0, abs(params[i]))
            e = np.zeros(p)
            e[i] = h
            H[:, i] = (self.ngrad(params - e) - self.ngrad(params + e)) / (2 * h)
        return (H + H.T) / 2


def _fit_lik(lik: _OrderedLik, start: np.ndarray, maxiter: int = 1000
             ) -> tuple[np.ndarray, bool, int]:
    res = optimize.minimize(lik.nll, start, jac=lik.ngrad, method="BFGS",
                            options={"gtol": 1e-9, "maxiter": maxiter})
    x = res.x
    it = int(res.nit)
    # Newton polish: BFGS stops on a gradient tolerance; a few Newton steps make the
    # estimate accurate to the last digits (so weights of 1 reproduce OrderedModel)
    scale = max(1.0, float(lik.w.sum()))
    for _ in range(20):
        g = -lik.ngrad(x)
        if np.max(np.abs(g)) < 1e-10 * scale:
            break
        H = lik.hessian(x)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        f0 = lik.nll(x)
        while t > 1e-4 and lik.nll(x - t * step) > f0 + 1e-12 * abs(f0):
            t /= 2
        x = x - t * step
        it += 1
    g = lik.ngrad(x)
    converged = bool(np.all(np.isfinite(x)) and np.max(np.abs(g)) < 1e-6 * scale)
    return x, converged, it


def _ordered_design(data: pd.DataFrame, formula: str, yname: str, extra: list, link: str,
                    missing: str = "drop"):
    """statsmodels' ``OrderedModel`` on the design of :func:`dtistat.formula.build_design`.

    As ``OrderedModel.from_formula``: categorical terms coded against their first level
    as if there were an intercept, the intercept left out, patsy's column order and
    names; rows with a missing answer, regressor or cluster raise or are dropped (and
    counted), as ``missing`` says.
    Returns the model, the design and the positions of its rows in ``data``.
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    keep = _present(data, [yname] + extra)
    if missing == "raise" and not keep.all():
        col = next(c for c in [yname] + extra if data[c].isna().any())
        i = int(np.flatnonzero(data[col].isna().to_numpy())[0])
        raise DataError(f"column {col!r} is missing at row {data.index[i]!r}; fill it, or "
                        "pass missing=\"drop\" to drop such rows (they are counted)")
    d = data if keep.all() else data.loc[keep]
    design = build_design(d, "~" + formula.split("~", 1)[1], missing=missing,
                          intercept_allowed=False, ordering="patsy")
    if yname in design.variables:
        raise SpecError(f"formula {formula!r}: the answer {yname!r} is also a regressor")
    # the thresholds act as an intercept: a constant or a linear combination of the
    # others is named (the least-squares core's rank check), before statsmodels refuses
    _check_rank(np.column_stack([np.ones(len(design.X)), design.X]),
                ["the thresholds (intercept)", *design.names], 1e-10)
    pos = np.flatnonzero(keep)[design.rows]
    endog = data[yname].iloc[pos]
    X = np.asarray(design.X, dtype=float)
    check_magnitude(X, list(design.names), "fit_ordered")
    # Fit in units where every non-binary regressor is of order one (divided by a
    # power of two, exact): the optimizer and the finite-difference Hessian work on
    # absolute steps, so regressors in millions gave SEs off by a factor 4 and in
    # 1e-13 units estimates of 0. fit_ordered multiplies the units back.
    unit = column_scale(X) if X.size else np.ones(X.shape[1])
    binary = np.all(np.isin(X, (0.0, 1.0)), axis=0) if X.size else np.ones(X.shape[1], bool)
    unit = np.where(binary, 1.0, unit)
    exog = pd.DataFrame(X / unit, columns=design.names, index=endog.index)
    return OrderedModel(endog, exog, distr=link), design, pos, unit


def _term_groups(terms: dict, names: list[str], X: np.ndarray) -> list[tuple[list[int], str]]:
    """Columns grouped for marginal effects.

    ('discrete', dummies of one factor) or ('derivative', [col]).
    """
    binary = [bool(np.all(np.isin(X[:, j], (0.0, 1.0)))) for j in range(X.shape[1])]
    groups: list[tuple[list[int], str]] = []
    seen: set[int] = set()
    if all(c in names for cols in terms.values() for c in cols):
        for tcols in terms.values():
            cols = [names.index(c) for c in tcols]
            if cols and all(binary[j] for j in cols) and np.all(X[:, cols].sum(1) <= 1):
                groups.append((cols, "discrete"))
                seen.update(cols)
    for j in range(X.shape[1]):
        if j in seen:
            continue
        groups.append(([j], "discrete" if binary[j] else "derivative"))
    return groups


def _ame(lik: _OrderedLik, params: np.ndarray, groups, w: np.ndarray) -> np.ndarray:
    """Weighted average marginal effects, one row per regressor column x category."""
    k = lik.k
    beta = params[:k]
    W = w.sum()
    out = np.zeros((k, lik.K))
    for cols, kind in groups:
        if kind == "derivative":
            j = cols[0]
            cut = lik.cuts(params[k:])
            z = cut[None, :] - (lik.X @ beta)[:, None]
            fz = np.zeros_like(z)
            fin = np.isfinite(z)
            fz[fin] = lik.pdf(z[fin])
            dP = -beta[j] * np.diff(fz, axis=1)  # d/dx [F(c_k - xb) - F(c_{k-1} - xb)]
            out[j] = w @ dP / W
        else:
            X0 = lik.X.copy()
            X0[:, cols] = 0.0
            P0 = lik.probs(params, X0)
            for j in cols:
                X1 = X0.copy()
                X1[:, j] = 1.0
                out[j] = w @ (lik.probs(params, X1) - P0) / W
    return out


def fit_ordered(
    data: pd.DataFrame,
    formula: str,
    *,
    weights: str | None = None,
    link: str = "logit",
    cov: str = "robust",
    cluster: str | None = None,
    level: float = 0.95,
    missing: str = "raise",
    weight: str | None = None,
    cov_type: str | None = None,
) -> OrderedResult:
    """Ordered logit/probit for Likert answers, with weights and robust standard errors.

    The design matrix, category handling and parametrization are those of statsmodels
    ``OrderedModel.from_formula`` (no intercept; thresholds ``cut_1 < ... < cut_{K-1}``),
    except that factor levels are named ``C(x)[b]`` as in every dtistat estimator
    (patsy: ``C(x)[T.b]``). Collinear regressors (the thresholds count as an intercept)
    and complete or quasi-complete separation, where no maximum-likelihood estimate
    exists, are refused with an error naming the regressor (and the answers separated).
    ``OrderedModel`` takes no weights, so the weighted log-likelihood
    ``sum_i w_i log P(y_i | x_i)`` is maximized here (BFGS with an analytic score, then
    Newton steps); with unit weights the estimates equal ``OrderedModel``'s, and with
    integer frequency weights they equal a fit on the expanded data.

    Marginal effects are per column of the design matrix: the derivative for a
    continuous column (for a transformed term such as ``I(age**2)`` this is the effect
    of that column alone), the discrete change from the reference level for 0/1 columns
    and treatment-coded factors. Their SEs are by the delta method (numerical
    Jacobian) with the chosen covariance.

    Parameters
    ----------
    data : DataFrame (not modified).
    formula : formula in :mod:`dtistat.formula`'s grammar, e.g.
        ``"attitude ~ age + C(tier)"``. The left-hand side must be an ordered pandas
        Categorical (categories low to high) or numeric.
    weights : column of positive weights (sampling weights, e.g. from :func:`rake`).
    link : ``"logit"`` (default) or ``"probit"``.
    cov : ``"robust"`` (default): sandwich ``H^-1 B H^-1`` with
        ``B = m/(m-1) sum_c s_c s_c'``, s_c the weighted scores summed within PSUs
        (respondents, or ``cluster``) — the linearization variance of Binder (1983,
        Int. Stat. Rev. 51:279-292) used by Stata's ``vce(robust)`` and R ``svyolr``;
        ``"nonrobust"``: inverse (weighted) information ``-H^-1``, right for unweighted
        or frequency-weighted data only.
    cluster : optional PSU column for cluster-robust SEs.
    level : confidence level of the intervals.
    missing : ``"raise"`` (default): a missing answer, regressor or cluster raises a
        ``DataError`` naming the column and row; ``"drop"``: such rows are dropped and
        counted (``n_dropped``, shown in ``summary()``).
    weight, cov_type : deprecated spellings of ``weights`` and ``cov``.

    Returns
    -------
    OrderedResult with coefficients, odds ratios (logit), cutpoints and average
    marginal effects per answer category.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"age": rng.normal(40, 10, 300)})
    >>> latent = 0.05 * d["age"] + rng.logistic(size=300)
    >>> d["worry"] = pd.Categorical(pd.cut(latent, [-np.inf, 1.5, 2.5, np.inf],
    ...                             labels=["low", "mid", "high"]), ordered=True)
    >>> res = fit_ordered(d, "worry ~ age")
    >>> bool(res.coefficients.loc[0, "odds_ratio"] > 1)
    True
    """
    check_frame(data)
    weights, cov = _renamed(weights, weight, cov, cov_type)
    check_choice(link, LINKS, "link")
    cov = "nonrobust" if check_cov(cov) == "unadjusted" else check_cov(cov)
    check_choice(cov, COV_TYPES, "cov")
    check_choice(missing, ("raise", "drop"), "missing")
    level = check_level(level)
    if not isinstance(formula, str) or "~" not in formula:
        raise ParameterError(f"formula must look like 'y ~ x1 + x2', got {formula!r}")
    yname = formula.split("~")[0].strip()
    _check_answer(data, yname)
    w_all = _weights(data, weights)
    extra = [cluster] if cluster is not None else []
    if cluster is not None:
        check_columns(data, [cluster], what="cluster column")
    model, design, pos, unit = _ordered_design(data, formula, yname, extra, link, missing)
    w = w_all[pos]
    y = np.asarray(model.endog, dtype=np.int64)
    X = np.asarray(model.exog, dtype=float)
    labels = tuple(model.labels)
    _check_categories(y, labels, yname)
    names = list(model.exog_names[:X.shape[1]])
    _check_size(X, labels)
    lik = _OrderedLik(y, X, len(labels), link, w)
    params, converged, iters = _fit_lik(lik, np.asarray(model.start_params, dtype=float))
    # under separation the likelihood rises without bound along a direction, so the
    # optimizer ends far out; only such fits pay for the exact test. The scale is the
    # regressor's SD, at least 0.5 (a dummy's largest), so a rare dummy still counts.
    reach = np.abs(params[:X.shape[1]]) * np.maximum(X.std(axis=0), 0.5)
    if not converged or np.max(reach, initial=0.0) > 5:
        _check_separation(X, y, names, labels, yname)
    if not converged:
        warn(f"fit_ordered({formula!r}): the optimizer did not converge "
             f"(largest score {np.max(np.abs(lik.ngrad(params))):.3g})", stacklevel=2)
    V = _ordered_cov(lik, params, formula, cov, data.iloc[pos], cluster, w)
    z = stats.norm.ppf(0.5 + level / 2)
    me = _marginal_effects(lik, params, V, names, labels, _term_groups(design.terms, names, X),
                           w, z)
    loglike = -lik.nll(params)
    # back to the data's units: slopes and derivative marginal effects divide by them
    K = len(labels)
    back = np.concatenate([1.0 / unit, np.ones(K - 1)])
    params, V = params * back, V * np.outer(back, back)
    per = np.repeat(unit, K)
    for c in ("estimate", "std_error", "ci_low", "ci_high"):
        me[c] = np.where(me["kind"] == "derivative", me[c] / per, me[c])
    coef = _coefficients(lik, params, V, names, labels, link, z)
    pnames = names + [f"{labels[j]}/{labels[j + 1]}" for j in range(K - 1)]
    share = np.bincount(y, weights=w, minlength=K) / w.sum()
    ll0 = float(w @ np.log(share[y]))
    return OrderedResult(
        formula=formula, link=link, cov_type=cov, categories=labels,
        nobs=int(y.size), n_dropped=len(data) - int(y.size), weighted=weights is not None,
        params=pd.Series(params, index=pnames, name="params"),
        cov=pd.DataFrame(V, index=pnames, columns=pnames),
        coefficients=coef, marginal_effects=me,
        loglike=loglike, loglike_null=ll0, converged=converged,
        iterations=iters, level=level,
    )


def _renamed(weights, weight, cov, cov_type):
    if weight is not None:
        warnings.warn("fit_ordered(weight=...) is deprecated; use weights=", FutureWarning,
                      stacklevel=3)
        weights = weight if weights is None else weights
    if cov_type is not None:
        warnings.warn("fit_ordered(cov_type=...) is deprecated; use cov=", FutureWarning,
                      stacklevel=3)
        cov = cov_type
    return weights, cov


def _check_answer(data: pd.DataFrame, yname: str) -> None:
    """The Likert answer must carry its order (ordered Categorical or numbers)."""
    check_columns(data, [yname], what="dependent (Likert) column")
    ys = data[yname]
    if isinstance(ys.dtype, pd.CategoricalDtype):
        if not ys.cat.ordered:
            raise DataError(
                f"Likert column {yname!r} is an unordered Categorical "
                f"(categories {list(ys.cat.categories)}); make the order explicit: "
                f"pd.Categorical(data[{yname!r}], categories=[low, ..., high], ordered=True)"
            )
    elif not (pd.api.types.is_numeric_dtype(ys) and not pd.api.types.is_bool_dtype(ys)):
        raise DataError(
            f"Likert column {yname!r} has dtype {ys.dtype} with no order; convert it to "
            f"an ordered Categorical (categories low to high) or numeric codes"
        )


def _check_categories(y: np.ndarray, labels: tuple, yname: str) -> None:
    K = len(labels)
    if K < 2:
        raise DataError(
            f"Likert column {yname!r} has {K} category {list(labels)}; an ordered model "
            f"needs at least 2"
        )
    counts = np.bincount(y, minlength=K)
    if (counts == 0).any():
        raise DataError(
            f"Likert category {labels[int(np.flatnonzero(counts == 0)[0])]!r} of "
            f"{yname!r} has no respondent; drop or merge it"
        )


def _check_size(X: np.ndarray, labels: tuple) -> None:
    n, k = X.shape
    if n <= k + len(labels) - 1:
        raise DataError(f"{n} respondents for {k + len(labels) - 1} parameters (regressors "
                        f"and thresholds); an ordered model needs more respondents")


def _check_separation(X: np.ndarray, y: np.ndarray, names: list, labels: tuple,
                      yname: str) -> None:
    """Refuse (quasi-)complete separation, naming the regressors and answers.

    (Collinearity, with the thresholds as an intercept, is refused in
    :func:`_ordered_design`.) Separation is decided exactly by a linear program (the
    ordinal form of Albert & Anderson 1984 and Konis 2007's LP test, as R's
    ``detectseparation``): the maximum-likelihood estimate does not exist iff some
    non-zero ``b`` and ordered cuts ``c`` place every respondent weakly inside the
    interval of their answer, ``c[y-1] <= x'b <= c[y]``, with slack somewhere; the LP
    maximizes the total slack within a box. It runs when the fit did not converge or
    ended with a coefficient above 5 standard deviations of its regressor on the link
    scale (an odds ratio above e^5 per SD; SDs below 0.5 count as 0.5, so a dummy's
    coefficient above 10), where separation sends the optimizer.
    """
    found = find_separation(X, y, len(labels))
    if found is None:
        return
    b, rows = found
    involved = [names[j] for j in np.flatnonzero(np.abs(b) > 1e-6 * np.abs(b).max())]
    cats = [labels[j] for j in np.unique(y[rows])]
    raise DataError(
        f"{yname!r} is perfectly predicted (complete or quasi-complete separation) by "
        f"{', '.join(map(repr, involved))} for the answer(s) {', '.join(map(repr, cats))} "
        f"({rows.size} respondent(s) separated): no maximum-likelihood estimate exists "
        f"(the {'coefficients diverge' if len(involved) > 1 else 'coefficient diverges'}); "
        f"drop or recode the variable, merge answer categories, or use more data"
    )


def _ordered_cov(lik, params, formula, cov, rows, cluster, w) -> np.ndarray:
    """Inverse information (nonrobust) or the linearization sandwich (Binder 1983)."""
    H = lik.hessian(params)  # Hessian of the weighted log-likelihood
    try:
        Hinv = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        raise EstimationError(
            f"the information matrix of {formula!r} is singular: a regressor has no "
            f"variation or perfectly predicts the answer"
        ) from None
    if cov == "nonrobust":
        return -Hinv
    psu, m = _psu(rows, cluster, len(w))
    if m < 2:
        raise DataError("robust SEs need at least two clusters")
    S = _psu_sums(lik.score_obs(params) * w[:, None], psu, m)
    return Hinv @ (m / (m - 1) * S.T @ S) @ Hinv


def _coefficients(lik, params, V, names, labels, link, z) -> pd.DataFrame:
    """Coefficients and cutpoints (delta method on the increments), odds ratios."""
    k, K = len(names), len(labels)
    J = np.zeros((k + K - 1, k + K - 1))
    J[:k, :k] = np.eye(k)
    J[k:, k:] = lik.cut_jac(params[k:])
    est = np.concatenate([params[:k], lik.cuts(params[k:])[1:-1]])
    se = np.sqrt(np.diag(J @ V @ J.T))
    terms = names + [f"cut[{labels[j]}|{labels[j + 1]}]" for j in range(K - 1)]
    coef = pd.DataFrame({"term": terms, "estimate": est, "std_error": se,
                         "statistic": est / se, "p_value": 2 * stats.norm.sf(np.abs(est / se)),
                         "ci_low": est - z * se, "ci_high": est + z * se})
    if link == "logit":
        isb = np.arange(len(terms)) < k
        # a slope per unit of a regressor in tiny units can exceed log(1.8e308):
        # its odds ratio is then inf (beyond floating point), without a numpy warning
        with np.errstate(over="ignore"):
            coef["odds_ratio"] = np.where(isb, np.exp(coef["estimate"]), np.nan)
            coef["or_ci_low"] = np.where(isb, np.exp(coef["ci_low"]), np.nan)
            coef["or_ci_high"] = np.where(isb, np.exp(coef["ci_high"]), np.nan)
    return coef


def _marginal_effects(lik, params, V, names, labels, groups, w, z) -> pd.DataFrame:
    """Average marginal effects with delta-method SEs (numerical Jacobian)."""
    k, K = len(names), len(labels)
    ame = _ame(lik, params, groups, w).ravel()
    G = np.zeros((ame.size, params.size))
    for i in range(params.size):
        h = 1e-6 * max(1.0, abs(params[i]))
        e = np.zeros(params.size)
        e[i] = h
        G[:, i] = (_ame(lik, params + e, groups, w).ravel()
                   - _ame(lik, params - e, groups, w).ravel()) / (2 * h)
    ase = np.sqrt(np.maximum(np.diag(G @ V @ G.T), 0.0))
    kinds = {j: kind for cols, kind in groups for j in cols}
    me = pd.DataFrame({
        "term": np.repeat(names, K), "outcome": list(labels) * k,
        "kind": np.repeat([kinds[j] for j in range(k)], K),
        "estimate": ame, "std_error": ase,
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        me["statistic"] = me["estimate"] / me["std_error"]
    me["p_value"] = 2 * stats.norm.sf(np.abs(me["statistic"]))
    me["ci_low"] = me["estimate"] - z * me["std_error"]
    me["ci_high"] = me["estimate"] + z * me["std_error"]
    return me
