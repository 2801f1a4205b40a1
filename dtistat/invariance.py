"""Multi-group CFA with mean structures and the measurement-invariance ladder.

``fit_cfa(data, model, group=...)`` returns a :class:`MultiGroupCFAResult`;
:func:`invariance_test` fits the configural, metric (equal loadings), scalar (and
intercepts) and optionally strict (and residual variances) or equal-means models and
returns the chi-square difference table papers report (lavaan's ``lavTestLRT``,
semTools' ``measurementInvariance``). The estimator is in :mod:`dtistat._cfa_groups`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat._results import CoefResult, Result, Summary
from dtistat._validate import check_columns, check_frame, check_level, warn
from dtistat.errors import ColumnError, DataError, EstimationError, ParameterError

__all__ = ["MultiGroupCFAResult", "InvarianceResult", "invariance_test"]

#: The invariance ladder: each step adds its classes to those of the steps before it.
STEPS = {"configural": (), "metric": ("loadings",), "scalar": ("intercepts",),
         "strict": ("residuals",), "means": ("means",)}


@dataclass(frozen=True, eq=False, repr=False)
class MultiGroupCFAResult(CoefResult):
    """A multi-group CFA/SEM with a mean structure, fitted by ML as lavaan.

    ``params``/``cov`` hold the distinct free parameters: one held equal across groups
    is named ``"visual =~ x2"``, a group-specific one ``"visual =~ x2 [Pasteur]"``.
    ``estimates`` has every parameter of every group (``group`` column; ``param`` names
    the free parameter the row shows). ``fit`` has the totals (chi2 = sum of the groups'
    chi2), ``group_fit`` the per-group chi2 and SRMR. ``tidy()`` lists the distinct free
    parameters (what ``params`` holds); ``estimates`` every row of every group.
    """

    params: pd.Series
    cov: pd.DataFrame
    estimates: pd.DataFrame
    fit: pd.Series
    group_fit: pd.DataFrame
    implied_cov: dict
    implied_mean: pd.DataFrame
    sample_cov: dict
    sample_mean: pd.DataFrame
    model: str
    group: str
    groups: tuple
    group_equal: tuple
    group_partial: tuple
    nobs: int
    n_iter: int
    level: float = 0.95
    df_inference: None = None
    heywood: tuple = field(default_factory=tuple)
    estimator: str = "ML"
    _state: Any = field(default=None, repr=False)

    def score_tests(self) -> pd.DataFrame:
        """Score (Lagrange multiplier) tests for releasing each equality across groups.

        One row per parameter held equal by ``group_equal`` and per group after the
        first: the 1-df statistic for letting that group's copy differ (the others
        stay equal), computed at this fit's estimates with the expected information,
        as lavaan's ``lavTestScore(fit)`` univariate tests. Large values point to the
        non-invariant parameters to name in ``group_partial``. Sorted by the
        statistic, largest first.

        Examples
        --------
        >>> from semopy.examples import holzinger39
        >>> hs = holzinger39.get_data()
        >>> scalar = fit_cfa_groups(hs, '''visual =~ x1 + x2 + x3
        ...                            textual =~ x4 + x5 + x6
        ...                            speed =~ x7 + x8 + x9''', group="school",
        ...                         group_equal=["loadings", "intercepts"])
        >>> list(scalar.score_tests()["param"][:2])
        ['x3 ~1', 'x7 ~1']
        """
        from dtistat._cfa_groups import param_kind, release_scores

        gm, Ss, ys, ns, theta = self._state
        rows = []
        for k, g, stat in release_scores(gm, Ss, ys, ns, theta):
            ps = next(ps for ps, kk in zip(gm.models[g].params, gm.models[g].free_index,
                                           strict=True) if kk == k)
            rows.append({"param": self.params.index[k], "group": self.groups[g],
                         "kind": param_kind(ps, gm.observed), "statistic": stat, "df": 1,
                         "p_value": float(stats.chi2.sf(stat, 1))})
        out = pd.DataFrame(rows, columns=["param", "group", "kind", "statistic", "df",
                                          "p_value"])
        return out.sort_values("statistic", ascending=False, kind="stable") \
            .reset_index(drop=True)

    @property
    def loadings(self) -> pd.DataFrame:
        """Measurement rows (``=~``) of every group."""
        return self.estimates[self.estimates["op"] == "=~"].reset_index(drop=True)

    def _headline(self) -> list[str]:
        f = self.fit
        return [f"groups={len(self.groups)}", f"N={self.nobs}",
                f"chi2({int(f['df'])})={f['chi2']:.3f}", f"CFI={f['cfi']:.3f}",
                f"RMSEA={f['rmsea']:.3f}"]

    def summary(self) -> Summary:
        """Fit measures, the per-group chi2 and every parameter by group."""
        f = self.fit
        eq = ", ".join(self.group_equal) or "none (configural)"
        if self.group_partial:
            eq += f"; free in every group: {', '.join(self.group_partial)}"
        header = [
            ("Estimation", f"ML, N = {self.nobs} in {len(self.groups)} groups of "
                           f"{self.group!r}, {int(f['npar'])} free parameters"),
            ("Equal across groups", eq),
            ("Model test", f"chi2({int(f['df'])}) = {f['chi2']:.3f}, p = {f['p_value']:.4f}"),
            ("Fit", f"CFI = {f['cfi']:.3f}, TLI = {f['tli']:.3f}, RMSEA = {f['rmsea']:.3f} "
                    f"[90% CI {f['rmsea_ci_low']:.3f}, {f['rmsea_ci_high']:.3f}], "
                    f"SRMR = {f['srmr']:.3f}"),
            *_mlr_rows(f, self.estimator),
            ("Information criteria", f"log-likelihood = {f['loglik']:.3f}, AIC = "
                                     f"{f['aic']:.3f}, BIC = {f['bic']:.3f}"),
        ]
        tabs = {"Groups": self.group_fit}
        for g in self.groups:
            est = self.estimates[self.estimates["group"] == g]
            tabs[f"Parameters [{g}]"] = est[["term", "estimate", "std_error", "statistic",
                                            "p_value", "std_all"]].set_index("term")
        notes = ([f"Heywood case(s): {', '.join(map(str, self.heywood))}"]
                 if self.heywood else [])
        return Summary("Multi-group confirmatory factor analysis", tabs, header=header,
                       notes=notes, digits=3)

    def to_frame(self) -> pd.DataFrame:
        """The fit measures as a one-column frame."""
        return self.fit.to_frame("value")


def _mlr_rows(f, estimator: str) -> list:
    if estimator != "MLR":
        return []
    return [("MLR scaled test", f"chi2({int(f['df'])}) = {f['chi2_scaled']:.3f}, p = "
                                f"{f['p_value_scaled']:.4f}, scaling factor "
                                f"{f['scaling_factor']:.3f} (Yuan-Bentler, Mplus variant)"),
            ("Robust fit", f"CFI = {f['cfi_robust']:.3f}, TLI = {f['tli_robust']:.3f}, "
                           f"RMSEA = {f['rmsea_robust']:.3f}")]


@dataclass(frozen=True, eq=False, repr=False)
class InvarianceResult(Result):
    """The invariance ladder: one row per model, differences to the row above.

    ``table`` columns: chi2, df, p_value, cfi, tli, rmsea, srmr, aic, bic, and
    delta_chi2, delta_df, delta_p_value (likelihood-ratio test against the previous,
    less constrained model, as lavaan's ``lavTestLRT``), delta_cfi and delta_rmsea
    (this model minus the previous one: a fall of CFI is negative). ``fits`` holds the
    fitted models by step name.
    """

    table: pd.DataFrame
    fits: dict
    group: str
    nobs: int

    def _headline(self) -> list[str]:
        t = self.table
        return [f"{s}: chi2({int(t.loc[s, 'df'])})={t.loc[s, 'chi2']:.3f}" for s in t.index]

    def summary(self) -> Summary:
        """The ladder table."""
        return Summary("Measurement invariance", {"Invariance tests": self.table},
                       header=[("Groups", f"{self.group!r}, N = {self.nobs}")],
                       notes=["delta_*: this model minus the one above; the LR test "
                              "compares each model with the one above"], digits=3)

    def to_frame(self) -> pd.DataFrame:
        """The ladder table."""
        return self.table.copy()


# ---------------------------------------------------------------------------------
# Input gate
# ---------------------------------------------------------------------------------

def check_group_equal(group_equal: Any) -> tuple:
    """Normalize ``group_equal`` (a name or names; lavaan's dotted names accepted)."""
    from dtistat._cfa_groups import EQUAL_KINDS

    items = [group_equal] if isinstance(group_equal, str) else group_equal
    try:
        items = list(items)
    except TypeError:
        raise ParameterError(f"group_equal must be a name or a list of names from "
                             f"{EQUAL_KINDS}; got {group_equal!r}") from None
    out = []
    for it in items:
        name = it.replace(".", "_") if isinstance(it, str) else it
        if name not in EQUAL_KINDS:
            raise ParameterError(f"group_equal: {it!r} is not one of {EQUAL_KINDS}")
        if name not in out:
            out.append(name)
    return tuple(out)


def _check_partial(group_partial: Any) -> tuple:
    items = [group_partial] if isinstance(group_partial, str) else group_partial
    try:
        items = tuple(items)
    except TypeError:
        items = (group_partial,)
    if not all(isinstance(i, str) for i in items):
        raise ParameterError(f"group_partial must be a parameter name or a list of them, "
                             f"e.g. ['visual =~ x2', 'x3 ~1']; got {group_partial!r}")
    return items


def _group_labels(data: pd.DataFrame, group: Any, observed: list) -> tuple[list, np.ndarray]:
    """The groups in order of first appearance, and each row's group number."""
    check_columns(data, [group], what="group column")
    if group in observed:
        raise ColumnError(f"group column {group!r} is also a variable of the model; "
                          f"use a separate column to define the groups")
    col = data[group]
    na = col.isna().to_numpy()
    if na.any():
        raise DataError(f"group column {group!r} has a missing value at row "
                        f"{data.index[int(np.flatnonzero(na)[0])]!r} ({int(na.sum())} in "
                        f"all); drop or label those rows")
    codes, labels = pd.factorize(col, sort=False)
    if len(labels) < 2:
        raise DataError(f"group column {group!r} has a single value "
                        f"({labels[0]!r}); a multi-group model needs at least 2 groups "
                        f"(or drop group=)")
    return labels.tolist(), codes


def _group_moments(data, obs, labels, codes, group) -> tuple[list, list, list, list]:
    """Per group: covariance (divisor n_g), means, size, and the data (for MLR)."""
    from dtistat.factors import _correlation, _numeric_block, _sample_cov

    Ss, ys, ns, Xs = [], [], [], []
    for g, lab in enumerate(labels):
        sub = data.loc[codes == g, obs]
        where = f"group {lab!r} of {group!r}"
        try:
            X, _, scale = _numeric_block(sub, obs, what=f"the CFA in {where}")
            _correlation(X, obs)
            Ss.append(_sample_cov(X, scale, obs))
        except DataError as e:
            if where in str(e):
                raise
            raise DataError(f"in {where}: {e}") from None
        ys.append(X.mean(axis=0) * scale)
        ns.append(len(X))
        Xs.append((X, scale))
    return Ss, ys, ns, Xs


# ---------------------------------------------------------------------------------
# Fit measures and the parameter table
# ---------------------------------------------------------------------------------

def _group_fit(Ss, ys, rams, theta, ns, q) -> tuple[dict, pd.DataFrame]:
    """lavaan's multi-group fit measures: totals and per-group chi2 and SRMR."""
    from dtistat.factors import _ncx2_lambda

    G, p, N = len(Ss), Ss[0].shape[0], int(sum(ns))
    chi_g, srmr_g, ll, ll1, base = [], [], 0.0, 0.0, 0.0
    for S, y, r, n in zip(Ss, ys, rams, ns, strict=True):
        Sig, mu = r.implied(theta)[:2]
        chi_g.append(n * r.fml(theta))
        sd = np.sqrt(np.diag(S))
        res = ((S - Sig) / np.outer(sd, sd))[np.tril_indices(p)]
        srmr_g.append(math.sqrt(np.mean(np.r_[res, (y - mu) / sd] ** 2)))
        _, ld_sig = np.linalg.slogdet(Sig)
        _, ld_s = np.linalg.slogdet(S)
        d = y - mu
        ll += -0.5 * n * (p * math.log(2 * math.pi) + ld_sig + float(np.trace(
            np.linalg.solve(Sig, S))) + float(d @ np.linalg.solve(Sig, d)))
        ll1 += -0.5 * n * (p * math.log(2 * math.pi) + ld_s + p)
        base += n * (np.sum(np.log(np.diag(S))) - ld_s)
    chi2, df = float(sum(chi_g)), G * (p * (p + 1) // 2 + p) - q
    base_df = G * p * (p - 1) // 2
    d_m, d_b = max(chi2 - df, 0.0), max(base - base_df, 0.0)
    cfi = 1.0 - d_m / max(d_m, d_b) if max(d_m, d_b) > 0 else 1.0
    tli = (base / base_df - chi2 / df) / (base / base_df - 1.0) if df > 0 else math.nan
    nan = math.nan
    rmsea = r_lo = r_hi = p_value = nan
    if df > 0:  # lavaan's multi-group RMSEA carries a factor sqrt(G) (Steiger 1998)
        rmsea = math.sqrt(d_m / (df * N) * G)
        r_lo = math.sqrt(_ncx2_lambda(chi2, df, 0.95) / (df * N) * G)
        r_hi = math.sqrt(_ncx2_lambda(chi2, df, 0.05) / (df * N) * G)
        p_value = float(stats.chi2.sf(chi2, df))
    w = np.array(ns) / N
    fit = {"npar": q, "nobs": N, "chi2": chi2, "df": df, "p_value": p_value,
           "baseline_chi2": base, "baseline_df": base_df, "cfi": cfi, "tli": tli,
           "rmsea": rmsea, "rmsea_ci_low": r_lo, "rmsea_ci_high": r_hi,
           "srmr": float(w @ np.array(srmr_g)), "loglik": ll, "unrestricted_loglik": ll1,
           "aic": -2 * ll + 2 * q, "bic": -2 * ll + q * math.log(N)}
    per = pd.DataFrame({"nobs": ns, "chi2": chi_g, "srmr": srmr_g})
    return fit, per


def _param_names(gm, labels) -> list:
    """One name per free parameter: plain when shared by all groups, else '[group]'."""
    seen: dict = {}
    for g, m in enumerate(gm.models):
        for ps, k in zip(m.params, m.free_index, strict=True):
            if k >= 0:
                seen.setdefault(k, []).append((g, ps))
    names = []
    for k in range(gm.n_free):
        g, ps = seen[k][0]
        base = f"{ps.lhs} ~1" if ps.op == "~1" else f"{ps.lhs} {ps.op} {ps.rhs}"
        names.append(base if len(seen[k]) > 1 else f"{base} [{labels[g]}]")
    return names


def group_table(m, r, theta, se, level) -> tuple[pd.DataFrame, list]:
    """One group's parameters with their means rows, and each row's free index."""
    from dtistat._cfa_groups import _split
    from dtistat.factors import _parameter_table

    z = stats.norm.ppf(0.5 + level / 2)
    cm, mean = _split(m)
    A, Sm = r.matrices(theta)
    tvar = np.diag(r.implied(theta)[4])
    est = _parameter_table(cm, A, Sm, tvar, se, level)
    mv = r.means(theta)
    rows = []
    for ps, k in mean:
        e, s = mv[ps.i], se[k] if k >= 0 else math.nan
        stat = e / s if k >= 0 and s > 0 else math.nan
        rows.append({"term": f"{ps.lhs} ~1", "estimate": e, "std_error": s,
                     "statistic": stat, "p_value": 2 * stats.norm.sf(abs(stat))
                     if np.isfinite(stat) else math.nan,
                     "ci_low": e - z * s, "ci_high": e + z * s,
                     "std_all": e / math.sqrt(tvar[ps.i]) if tvar[ps.i] > 0 else math.nan,
                     "lhs": ps.lhs, "op": "~1", "rhs": "", "label": ps.label or "",
                     "free": k >= 0})
    est = pd.concat([est, pd.DataFrame(rows)], ignore_index=True)
    kof = {(ps.lhs, ps.op, ps.rhs): k for ps, k in zip(cm.params, cm.free_index,
                                                       strict=True)}
    kof.update({(ps.lhs, "~1", ""): k for ps, k in mean})
    ks = [kof[key] for key in zip(est["lhs"], est["op"], est["rhs"], strict=True)]
    return est, ks


def _estimates(gm, rams, theta, se, names, labels, level) -> pd.DataFrame:
    """Every parameter of every group (lavaan's parameterEstimates with a group column)."""
    frames = []
    for g, (m, r) in enumerate(zip(gm.models, rams, strict=True)):
        est, ks = group_table(m, r, theta, se, level)
        est["param"] = [names[k] if k >= 0 else "" for k in ks]
        est["term"] = [f"{t} [{labels[g]}]" for t in est["term"]]
        est.insert(1, "group", labels[g])
        frames.append(est)
    return pd.concat(frames, ignore_index=True)


def _check_identified(H: np.ndarray, gm, labels) -> None:
    """Refuse a singular information matrix, naming a parameter and its group."""
    ev, evec = np.linalg.eigh(H)
    if ev[0] > 1e-10 * max(ev[-1], 1e-300):
        return
    k = int(np.argmax(np.abs(evec[:, 0])))
    g, ps = next((g, ps) for g, m in enumerate(gm.models)
                 for ps, kk in zip(m.params, m.free_index, strict=True) if kk == k)
    term = f"{ps.lhs} ~1" if ps.op == "~1" else f"{ps.lhs} {ps.op} {ps.rhs}"
    raise EstimationError(
        f"the model is not identified (singular information matrix): the parameter "
        f"{term!r} in group {labels[g]!r} cannot be estimated separately from others "
        f"(a factor mean free in a group where all its indicators' intercepts are free, "
        f"a factor without a fixed loading or variance, or too many free paths)"
    )


def _implied(rams, theta, obs, labels) -> tuple[dict, pd.DataFrame]:
    covs, means = {}, []
    for lab, r in zip(labels, rams, strict=True):
        Sig, mu = r.implied(theta)[:2]
        covs[lab] = pd.DataFrame(Sig, index=obs, columns=obs)
        means.append(mu)
    return covs, pd.DataFrame(means, index=labels, columns=obs)


def _heywood(est: pd.DataFrame) -> list:
    neg = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & (est["estimate"] < 0)]
    bad = [f"{v} [{g}]" for v, g in zip(neg["lhs"], neg["group"], strict=True)]
    big = est[(est["op"] == "=~") & (est["std_all"].abs() >= 1)]
    bad += [f"{v} [{g}]" for v, g in zip(big["rhs"], big["group"], strict=True)
            if f"{v} [{g}]" not in bad]
    if bad:
        warn("Heywood case: negative (residual) variance or standardized loading >= 1 "
             "for " + ", ".join(bad)
             + "; the solution is improper: check the model or the indicator", stacklevel=4)
    return bad


def fit_cfa_groups(data: pd.DataFrame, model: str, *, group: Any,
                   group_equal: Sequence[str] | str = (),
                   group_partial: Sequence[str] | str = (), std_lv: bool = False,
                   level: float = 0.95, estimator: str = "ML") -> MultiGroupCFAResult:
    """Multi-group CFA/SEM with a mean structure (what ``fit_cfa(group=...)`` calls).

    See :func:`dtistat.fit_cfa` for the arguments and an example.
    """
    from dtistat import _cfa, _cfa_groups

    check_frame(data)
    level = check_level(level)
    eq = check_group_equal(group_equal)
    partial = _check_partial(group_partial)
    stmts = _cfa.parse_model(model)
    gm = _cfa_groups.build_groups(stmts, list(data.columns), 1, std_lv=std_lv)
    labels, codes = _group_labels(data, group, gm.observed)
    obs = gm.observed
    Ss, ys, ns, Xs = _group_moments(data, obs, labels, codes, group)
    gm = _cfa_groups.build_groups(stmts, list(data.columns), len(labels), group_equal=eq,
                                  group_partial=partial, std_lv=std_lv)
    p, G, q = len(obs), len(labels), gm.n_free
    df = G * (p * (p + 1) // 2 + p) - q
    if df < 0:
        raise EstimationError(
            f"the model is not identified: {q} free parameters but only "
            f"{G * (p * (p + 1) // 2 + p)} means, variances and covariances in {G} groups "
            f"(degrees of freedom {df} < 0); fix, remove or equate parameters"
        )
    if df == 0:
        warn("the model has 0 degrees of freedom (just identified): it fits perfectly "
             "and chi2, CFI, TLI and RMSEA carry no information")
    out = _cfa_groups.fit_groups(gm, Ss, ys, ns)
    theta, scale = out["theta"], out["theta_scale"]
    _check_identified(out["info_scaled"], gm, labels)
    N = int(sum(ns))
    fit, per = _group_fit(Ss, ys, out["rams"], theta, ns, q)
    if estimator == "MLR":
        from dtistat._cfa_robust import mlr

        Zs = [X * (sc / out["sd"]) for X, sc in Xs]
        V = mlr(out["multi"], theta / scale, Zs, fit, means=True)
    else:
        V = 2.0 / N * np.linalg.inv(out["info_scaled"])
    V = V * np.outer(scale, scale)
    se = np.sqrt(np.diag(V))
    names = _param_names(gm, labels)
    est = _estimates(gm, out["rams"], theta, se, names, labels, level)
    per.index = pd.Index(labels, name=group)
    covs, means = _implied(out["rams"], theta, obs, labels)
    return MultiGroupCFAResult(
        params=pd.Series(theta, index=names, name="estimate"),
        cov=pd.DataFrame(V, index=names, columns=names),
        estimates=est, fit=pd.Series(fit, name="fit"), group_fit=per,
        implied_cov=covs, implied_mean=means,
        sample_cov={lab: pd.DataFrame(S, index=obs, columns=obs)
                    for lab, S in zip(labels, Ss, strict=True)},
        sample_mean=pd.DataFrame(ys, index=labels, columns=obs),
        model=model, group=group, groups=tuple(labels), group_equal=eq,
        group_partial=partial, nobs=N,
        n_iter=out["n_iter"], level=level, heywood=tuple(_heywood(est)),
        estimator=estimator, _state=(gm, Ss, ys, ns, theta),
    )


def _steps(steps: Any) -> list:
    items = [steps] if isinstance(steps, str) else list(steps)
    bad = [s for s in items if s not in STEPS]
    if bad or not items or len(set(items)) != len(items):
        raise ParameterError(f"steps must be distinct names from {tuple(STEPS)} in the "
                             f"order to test (e.g. ('configural', 'metric', 'scalar')); "
                             f"got {steps!r}")
    return items


def _scaled_differences(table: pd.DataFrame, fits: dict, names: list) -> pd.DataFrame:
    """MLR columns and the Satorra-Bentler (2001) scaled chi2 difference test.

    With T the ML statistics, c the scaling factors and d the df of the restricted
    (0) and the less restricted (1) model: ``cd = (d0 c0 - d1 c1) / (d0 - d1)`` and
    ``(T0 - T1) / cd`` on ``d0 - d1`` df (lavaan's ``lav_test_diff_sb2001``; NaN when
    cd is not positive).
    """
    for col in ("chi2_scaled", "scaling_factor", "cfi_robust", "rmsea_robust"):
        table[col] = [fits[s].fit[col] for s in names]
    d_scaled, d_p = [math.nan], [math.nan]
    for a, b in zip(names[:-1], names[1:], strict=True):
        f1, f0 = fits[a].fit, fits[b].fit
        m = f0["df"] - f1["df"]
        cd = (f0["df"] * f0["scaling_factor"] - f1["df"] * f1["scaling_factor"]) / m \
            if m > 0 else math.nan
        t = (f0["chi2"] - f1["chi2"]) / cd if cd > 0 else math.nan
        d_scaled.append(t)
        d_p.append(float(stats.chi2.sf(t, m)) if np.isfinite(t) else math.nan)
    table["delta_chi2_scaled"] = d_scaled
    table["delta_p_value_scaled"] = d_p
    return table


def invariance_test(data: pd.DataFrame, model: str, *, group: Any,
                    steps: Sequence[str] = ("configural", "metric", "scalar"),
                    group_partial: Sequence[str] | str = (), std_lv: bool = False,
                    level: float = 0.95, estimator: str = "ML") -> InvarianceResult:
    """Measurement invariance across groups: the configural -> metric -> scalar ladder.

    Each step fits :func:`dtistat.fit_cfa` with ``group=`` and the equality
    constraints of all steps so far: ``"configural"`` none, ``"metric"`` the loadings,
    ``"scalar"`` the intercepts, ``"strict"`` the residual variances, ``"means"`` the
    factor means. Each row is compared with the row above by the likelihood-ratio
    (chi-square difference) test, as lavaan's ``lavTestLRT``.

    Parameters
    ----------
    data : DataFrame
        Observed variables of ``model`` and the ``group`` column (not modified).
    model : str
        lavaan-style measurement model (see :func:`dtistat.fit_cfa`).
    group : str
        Column defining the groups (any values; no missing values).
    steps : sequence of str
        The models to fit, in order (names above).
    group_partial : str or sequence of str
        Parameters left free in every group whatever the step (partial invariance,
        lavaan's ``group.partial``), e.g. ``["x3 ~1", "visual =~ x2"]``.
    std_lv : bool
        Identify the factors by their variances instead of marker loadings.
    level : float
        Confidence level of the Wald intervals of the fitted models.
    estimator : {"ML", "MLR"}
        ``"MLR"``: robust ML in every step (see :func:`dtistat.fit_cfa`); the table
        adds chi2_scaled, scaling_factor, cfi_robust, rmsea_robust and the
        Satorra-Bentler (2001) scaled difference test ``delta_chi2_scaled`` with its
        p-value (lavaan's ``lavTestLRT`` default for MLR).

    Returns
    -------
    InvarianceResult
        ``table`` (one row per step: chi2, df, p_value, cfi, tli, rmsea, srmr, aic,
        bic, delta_chi2, delta_df, delta_p_value, delta_cfi, delta_rmsea) and ``fits``.

    Examples
    --------
    >>> from semopy.examples import holzinger39
    >>> hs = holzinger39.get_data()
    >>> mi = invariance_test(hs, '''visual =~ x1 + x2 + x3
    ...                             textual =~ x4 + x5 + x6
    ...                             speed =~ x7 + x8 + x9''', group="school")
    >>> mi.table[["chi2", "df", "delta_chi2", "delta_df"]].round(3)
                   chi2  df  delta_chi2  delta_df
    configural  115.851  48         NaN       NaN
    metric      124.044  54       8.192       6.0
    scalar      164.103  60      40.059       6.0
    """
    names = _steps(steps)
    fits: dict = {}
    eq: list = []
    for s in names:
        eq += STEPS[s]
        fits[s] = fit_cfa_groups(data, model, group=group, group_equal=tuple(eq),
                                 group_partial=group_partial, std_lv=std_lv, level=level,
                                 estimator=estimator)
    cols = ["chi2", "df", "p_value", "cfi", "tli", "rmsea", "srmr", "aic", "bic"]
    table = pd.DataFrame([fits[s].fit[cols] for s in names], index=names, columns=cols)
    table["df"] = table["df"].astype(int)
    prev = table.shift(1)
    table["delta_chi2"] = table["chi2"] - prev["chi2"]
    table["delta_df"] = table["df"] - prev["df"]
    table["delta_p_value"] = [float(stats.chi2.sf(c, d)) if d > 0 else math.nan
                              for c, d in zip(table["delta_chi2"], table["delta_df"],
                                              strict=True)]
    table["delta_cfi"] = table["cfi"] - prev["cfi"]
    table["delta_rmsea"] = table["rmsea"] - prev["rmsea"]
    if estimator == "MLR":
        table = _scaled_differences(table, fits, names)
    first = next(iter(fits.values()))
    return InvarianceResult(table=table, fits=fits, group=group, nobs=first.nobs)
