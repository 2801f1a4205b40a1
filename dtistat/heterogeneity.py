"""Group-difference tests of panel coefficients: Chow-type, suest-style and Fisher permutation.

``compare_groups(data, "y ~ x + w", by="region", entity=, time=, fe=)`` fits the
fixed-effects model in each group and tests whether the coefficients differ:

* ``"chow"`` -- one model on the pooled sample with common fixed effects and every
  regressor interacted with the group dummies (the first group is the reference); the
  Wald test that the interactions of the tested terms are zero uses the model's
  covariance (``cov``, ``small_sample``), through ``CoefResult.wald_test``.
* ``"suest"`` -- the group regressions (each with its own fixed effects) stacked, with
  the joint sandwich covariance of Stata's ``suest``: the scores of all group
  regressions summed by cluster (``cov="cluster"``) or by row (``"robust"``), times
  M/(M-1) (clusters) or N/(N-1) (rows) -- ``suest`` applies no (N-1)/(N-k) factor
  (Stata [R] suest, Methods and formulas). With fixed effects it equals the fully
  interacted regression with group-specific effect dummies and that covariance; the
  Wald test of equal coefficients is chi-squared.
* ``"permutation"`` -- the Fisher permutation test of the coefficient difference of two
  groups (Lian Yujun's Stata ``bdiff``; Cleary 1999): the group labels are permuted over
  entities (over clusters when ``cov="cluster"``) ``n_perm`` times and the difference
  re-estimated; the empirical p-value is the share of permuted differences at least as
  large as the observed one (``p_one_sided``, bdiff's) or in absolute value
  (``p_two_sided``).

The permutation is batched, never a refit per draw. Because the fixed effects are
absorbed group by group, each regression is a function of per-unit cross-products only:
with ``Z = [x_dd, d_dd, y_dd]`` (the regressors, the entity-demeaned time dummies and the
outcome, all demeaned within entity), a group's normal equations are the sum of its
units' ``Z'Z`` blocks, and the slope is the Schur complement solve
``(Sxx - Sxd Sdd^+ Sdx)^-1 (Sxy - Sxd Sdd^+ Sdy)`` (Frisch-Waugh-Lovell). So one GEMM of
the (draws x units) membership matrix with the units' flattened blocks gives every
draw's normal equations, and a batched solve of (time periods)-sized systems gives every
draw's slopes. Written by hand: no package offers bdiff or suest with absorbed effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtistat import _bootstrap as bs
from dtistat._linalg import demean1
from dtistat._results import CoefResult, Result, Summary, TestResult
from dtistat._validate import (
    as_list,
    check_choice,
    check_columns,
    check_frame,
    check_level,
    check_no_nan,
    check_numeric,
    check_positive_int,
    check_seed,
)
from dtistat.errors import DataError, EstimationError, ParameterError, SpecError
from dtistat.formula import build_design
from dtistat.inference import sandwich
from dtistat.panel import fit_panel
from dtistat.panel.absorb import absorb, n_components

__all__ = ["CompareGroupsResult", "GroupCoefs", "compare_groups"]

METHODS = ("chow", "suest", "permutation")


@dataclass(frozen=True, eq=False, repr=False)
class GroupCoefs(CoefResult):
    """A coefficient vector with its covariance (the Chow model or the stacked suest fit)."""

    params: pd.Series
    cov: pd.DataFrame
    df_inference: float | None
    title: str
    level: float = 0.95
    nobs: int | None = None
    n_clusters: int | None = None

    def summary(self) -> Summary:
        head = [("Observations", self.nobs), ("Inference", self.distribution)]
        if self.n_clusters:
            head.append(("Clusters", self.n_clusters))
        return Summary(self.title, self.coef_table(), header=head)

    def _headline(self) -> list[str]:
        return [self.title, f"k={len(self.params)}"]


@dataclass(frozen=True, eq=False, repr=False)
class CompareGroupsResult(Result):
    """Result of :func:`compare_groups`.

    Attributes
    ----------
    groups : tuple
        Group labels in order (the first is the reference).
    terms : tuple of str
        The compared coefficients.
    by_group : DataFrame
        Per group and term: estimate, std_error, p_value of the group's own fit.
    fits : dict
        The group fits (``fit_panel`` results).
    chow, suest_test : TestResult or None
        Joint tests of equal coefficients across groups.
    chow_model, suest : GroupCoefs or None
        The interacted model and the stacked suest estimate.
    tests : DataFrame
        Per term: difference (last group minus reference) and the p-value of each method.
    permutation_draws : DataFrame or None
        The permuted differences (one row per draw, one column per term).
    """

    groups: tuple
    terms: tuple
    by: str
    by_group: pd.DataFrame
    fits: dict
    tests: pd.DataFrame
    chow: TestResult | None
    chow_model: GroupCoefs | None
    suest_test: TestResult | None
    suest: GroupCoefs | None
    permutation_draws: pd.DataFrame | None
    n_perm: int
    permutation_unit: str | None

    def to_frame(self) -> pd.DataFrame:
        return self.tests.copy()

    def summary(self) -> Summary:
        wide = self.by_group.pivot(index="term", columns="group",
                                   values=["estimate", "std_error"])
        wide.columns = [f"{a}[{b}]" for a, b in wide.columns]
        tables = {"Coefficients by group": wide.loc[list(self.terms)],
                  "Tests of equal coefficients": self.tests.set_index("term")}
        joint = [t for t in (self.chow, self.suest_test) if t is not None]
        if joint:
            tables["Joint tests"] = pd.concat([t.to_frame() for t in joint]).set_index("test")
        notes = []
        if self.permutation_draws is not None:
            notes.append(f"Permutation (bdiff): {self.n_perm} draws of the group labels over "
                         f"{self.permutation_unit}; empirical p-values.")
        return Summary(f"Group differences by {self.by}: {', '.join(map(str, self.groups))}",
                       tables, notes=notes)

    def _headline(self) -> list[str]:
        out = [f"by={self.by}", f"groups={len(self.groups)}"]
        if self.suest_test is not None:
            out.append(f"suest p={self.suest_test.p_value:.4g}")
        if self.permutation_draws is not None:
            out.append(f"bdiff p={self.tests['p_permutation'].iloc[0]:.4g}")
        return out


# --------------------------------------------------------------------------- setup
def _prepare(data, formula, by, entity, time, cluster, missing):
    data = check_frame(data)
    design = build_design(data, formula, intercept_allowed=False, missing="drop")
    if design.y_name is None:
        raise SpecError(f"formula {formula!r} has no outcome; write 'y ~ x1 + x2'")
    xs = list(design.names)
    for name in [design.y_name, *xs]:
        if name not in data.columns:
            raise SpecError(f"compare_groups takes plain column terms; {name!r} is not "
                            "one (create lags, differences or dummies as columns first)")
    if not xs:
        raise SpecError(f"formula {formula!r} has no regressors")
    dep = design.y_name
    check_columns(data, [entity, time], what="panel column")
    check_columns(data, [by], what="by column")
    check_columns(data, [dep, *xs], what="formula variable")
    check_numeric(data, [dep, *xs])
    check_choice(missing, ("raise", "drop"), "missing")
    cl = as_list(cluster, "cluster")
    check_columns(data, cl, what="cluster column")
    cols = list(dict.fromkeys([entity, time, by, *cl, dep, *xs]))
    d = data[cols]
    if missing == "drop":
        d = d.dropna()
    else:
        for c in (entity, time, by, *cl):
            if d[c].isna().any():
                i = int(np.flatnonzero(d[c].isna().to_numpy())[0])
                raise DataError(f"column {c!r} is missing at row {d.index[i]!r}; fill or "
                                "drop it, or pass missing='drop'")
        check_no_nan(d, [dep, *xs], keys=[entity, time], hint="missing='drop'")
    groups = tuple(sorted(d[by].unique()))
    if len(groups) < 2:
        raise DataError(f"by column {by!r} has {len(groups)} group(s); comparing groups "
                        "needs at least 2")
    return d.reset_index(drop=True), dep, xs, groups


def _check_terms(terms, xs):
    if terms is None:
        return list(xs)
    terms = as_list(terms, "terms")
    bad = [t for t in terms if t not in xs]
    if bad:
        raise ParameterError(f"terms: {bad[0]!r} is not a regressor of the formula; "
                             f"available: {', '.join(xs)}")
    return terms


# --------------------------------------------------------------------------- (i) chow
def _chow(d, dep, xs, terms, by, groups, entity, time, fe, cov, cluster, small_sample,
          level):
    ref = groups[0]
    cols, inter = {}, {}
    for g in groups[1:]:
        ind = (d[by] == g).to_numpy(dtype=float)
        cols[f"{by}[{g}]"] = ind
        for x in xs:
            name = f"{x}:{by}[{g}]"
            cols[name] = d[x].to_numpy(dtype=float) * ind
            inter[(x, g)] = name
    taken = [c for c in cols if c in d.columns]
    if taken:
        raise ParameterError(f"column {taken[0]!r} exists in the data; rename it (it is the "
                             "name of a Chow interaction)")
    dd = d.assign(**cols)
    rhs = " + ".join([f"`{x}`" for x in xs] + [f"`{c}`" for c in cols])
    res = fit_panel(dd, f"`{dep}` ~ {rhs}", entity=entity, time=time, fe=fe, cov=cov,
                    cluster=cluster, small_sample=small_sample, drop_absorbed=True,
                    level=level)
    lost = [a for a in res.absorbed if not a.startswith(f"{by}[")]
    if lost:
        raise EstimationError(f"the Chow model loses {', '.join(map(repr, lost))} to the "
                              f"{fe} fixed effects; the groups cannot be compared on it")
    model = GroupCoefs(res.params, res.cov, res.df_inference,
                       f"Chow: fully interacted model (reference group {ref!r})", level,
                       res.nobs, res.n_clusters[0] if res.n_clusters else None)
    test = model.wald_test([inter[(x, g)] for x in terms for g in groups[1:]])
    per_term = {x: model.wald_test([inter[(x, g)] for g in groups[1:]]).p_value
                for x in terms}
    test = TestResult("Chow (interactions)", test.statistic, test.p_value, test.df,
                      test.distribution, f"equal coefficients of {', '.join(terms)} "
                      f"across {by}")
    return model, test, per_term


# --------------------------------------------------------------------------- group FE
def _fe_dims(ecode, tcode, fe):
    e = pd.factorize(ecode)[0]
    t = pd.factorize(tcode)[0]
    ne, nt = int(e.max()) + 1, int(t.max()) + 1
    return {"entity": [(e, ne)], "time": [(t, nt)], "twoway": [(e, ne), (t, nt)]}[fe]


def _absorb_group(Z, ecode, tcode, fe):
    """Z with the group's own fixed effects swept out (exactly)."""
    dims = _fe_dims(ecode, tcode, fe)
    balanced = fe != "twoway" or len(Z) == dims[0][1] * dims[1][1]
    connected = True
    if fe == "twoway" and not balanced:
        connected = n_components(dims[0][0], dims[0][1], dims[1][0], dims[1][1]) == 1
    return absorb(np.asfortranarray(Z), dims, None, balanced, connected)


# --------------------------------------------------------------------------- (ii) suest
def _suest(d, dep, xs, terms, by, groups, entity, time, fe, cov, cluster, level):
    if cov not in ("robust", "cluster"):
        raise ParameterError(f"suest needs cov='robust' or cov='cluster' (its covariance "
                             f"is always a sandwich), got cov={cov!r}")
    n, k = len(d), len(xs)
    G = len(groups)
    Xs = np.zeros((n, k * G))
    e = np.zeros(n)
    bread = np.zeros((k * G, k * G))
    b = np.zeros(k * G)
    ccol = (as_list(cluster, "cluster") or [entity])[0] if cov == "cluster" else None
    ccodes = pd.factorize(d[ccol])[0] if ccol is not None else None
    for j, g in enumerate(groups):
        rows = np.flatnonzero((d[by] == g).to_numpy())
        if ccodes is not None:
            m = len(np.unique(ccodes[rows]))
            if m < 2:
                raise EstimationError(f"suest: group {by}={g!r} has {m} cluster of "
                                      f"{ccol!r}; each group needs at least 2")
        Z = d.loc[rows, [*xs, dep]].to_numpy(dtype=float)
        Zt = _absorb_group(Z, d[entity].to_numpy()[rows], d[time].to_numpy()[rows], fe)
        Xt, yt = Zt[:, :k], Zt[:, k]
        XtX = Xt.T @ Xt
        if np.linalg.matrix_rank(XtX) < k:
            raise EstimationError(f"suest: the regressors are collinear (or absorbed by the "
                                  f"fixed effects) in group {by}={g!r}")
        B = np.linalg.inv(XtX)
        sl = slice(j * k, (j + 1) * k)
        b[sl] = B @ (Xt.T @ yt)
        e[rows] = yt - Xt @ b[sl]
        Xs[rows, sl] = Xt
        bread[sl, sl] = B
    if ccodes is not None:
        est = sandwich(Xs, e, bread, cov="cluster", small_sample="none", clusters=[ccodes])
        m = est.n_clusters[0]
        q = len(terms) * (G - 1)
        if m <= q:
            raise EstimationError(f"suest: {m} clusters of {ccol!r} cannot support a Wald "
                                  f"test of {q} restrictions; use fewer terms or clusters")
        V = est.cov * m / (m - 1)
    else:
        est = sandwich(Xs, e, bread, cov="robust", small_sample="none")
        V = est.cov * n / (n - 1)
        m = None
    names = [f"{x}[{g}]" for g in groups for x in xs]
    model = GroupCoefs(pd.Series(b, index=names, name="estimate"),
                       pd.DataFrame((V + V.T) / 2, index=names, columns=names), None,
                       f"suest: stacked group regressions (joint {cov} sandwich)",
                       level, n, m)

    def restr(ts):
        R = np.zeros((len(ts) * (G - 1), k * G))
        r = 0
        for x in ts:
            i = xs.index(x)
            for j in range(1, G):
                R[r, j * k + i], R[r, i] = 1.0, -1.0
                r += 1
        return R

    w = model.wald_test(R=restr(terms))
    test = TestResult("suest Wald", w.statistic, w.p_value, w.df, w.distribution,
                      f"equal coefficients of {', '.join(terms)} across {by}")
    per_term = {x: model.wald_test(R=restr([x])).p_value for x in terms}
    return model, test, per_term


# --------------------------------------------------------------------------- (iii) bdiff
def _unit_blocks(d, dep, xs, entity, time, fe, unit_codes, n_units):
    """Per permutation unit, the Z'Z blocks (upper triangles) and the slot layout.

    Z = [x, time dummies, y], entity-demeaned for entity effects (the demeaning does
    not depend on the grouping). Units hold whole entities, so the dummy columns are
    built and demeaned for a block of whole entities at a time: neither the (n × m)
    design nor row outer products exist for all rows (:class:`_bootstrap.CrossProducts`).
    """
    k = len(xs)
    base = d[xs + [dep]].to_numpy(dtype=float)
    e = pd.factorize(d[entity])[0]
    t, tl = pd.factorize(d[time], sort=True)
    nt = 0 if fe == "entity" else len(tl)
    demean_e = fe in ("entity", "twoway")
    if demean_e:
        base = demean1(base, e, int(e.max()) + 1)
    m = k + nt + 1

    def design(rows: np.ndarray) -> np.ndarray:
        Z = np.zeros((len(rows), m))
        Z[:, :k] = base[rows, :k]
        Z[:, m - 1] = base[rows, k]
        if nt:
            D = Z[:, k:m - 1]
            D[np.arange(len(rows)), t[rows]] = 1.0
            if demean_e:
                _, inv = np.unique(e[rows], return_inverse=True)
                Z[:, k:m - 1] = demean1(D, inv.ravel(), int(inv.max()) + 1)
        return Z

    cross = bs.CrossProducts(design, m, unit_codes, n_units, len(d),
                             units=e if demean_e and nt else None)
    return cross, k, m


def _slopes(S: np.ndarray, k: int, m: int) -> np.ndarray:
    """Slopes of a batch of normal equations S (B, m, m) in the [x, d, y] layout."""
    Sxx, Sxy = S[:, :k, :k], S[:, :k, m - 1]
    if m - 1 > k:
        Sxd, Sdd, Sdy = S[:, :k, k:m - 1], S[:, k:m - 1, k:m - 1], S[:, k:m - 1, m - 1]
        # Sdd is singular by construction (entity-demeaned time dummies sum to zero):
        # its pseudo-inverse on the eigenvalues above a relative tolerance
        w, v = np.linalg.eigh(Sdd)
        tol = 1e-10 * np.maximum(w[:, -1:], 1e-300)
        inv = np.where(w > tol, 1.0 / np.where(w > tol, w, 1.0), 0.0)
        P = (v * inv[:, None, :]) @ np.swapaxes(v, 1, 2)
        A = Sxd @ P
        Sxx = Sxx - A @ np.swapaxes(Sxd, 1, 2)
        Sxy = Sxy - (A @ Sdy[:, :, None])[:, :, 0]
    return np.linalg.solve(Sxx, Sxy[:, :, None])[:, :, 0]


def permuted_labels(unit_groups: np.ndarray, n_perm: int, rng: np.random.Generator):
    """``n_perm`` random permutations of the units' group indicators (rows = draws)."""
    return rng.permuted(np.tile(unit_groups, (n_perm, 1)), axis=1)


def _batched_difference(C: bs.CrossProducts, k, m, member, chunk=None):
    """b(group 1) - b(group 0) for each row of the (B, units) 0/1 membership matrix."""
    total = C.total()
    chunk = chunk or int(max(1, min(2000, bs.CHUNK_BYTES // (8 * 8 * m * m))))
    out = np.empty((member.shape[0], k))
    for s in range(0, member.shape[0], chunk):
        M = member[s:s + chunk].astype(float)
        S1q = C.weighted(M)
        S1 = bs.unpack(S1q, m)
        S0 = bs.unpack(total[None, :] - S1q, m)
        out[s:s + chunk] = _slopes(S1, k, m) - _slopes(S0, k, m)
    return out


def _permutation_units(d, by, entity, cov, cluster):
    unit = (as_list(cluster, "cluster") or [entity])[0] if cov == "cluster" else entity
    ucodes, ulab = pd.factorize(d[unit])
    if unit != entity:
        per_e = d.groupby(entity)[unit].nunique()
        if (per_e > 1).any():
            raise ParameterError(f"cluster column {unit!r} varies within {entity!r} "
                                 f"(e.g. {per_e.index[per_e > 1][0]!r}); the permutation "
                                 "needs clusters of entities")
    per_u = d.groupby(ucodes)[by].nunique()
    if (per_u > 1).any():
        raise DataError(f"by column {by!r} varies within {unit!r} "
                        f"{ulab[per_u.index[per_u > 1][0]]!r}; the permutation test "
                        f"reassigns whole units, so {by!r} must be constant within each")
    return unit, ucodes, len(ulab)


def _permutation(d, dep, xs, terms, by, groups, entity, time, fe, cov, cluster, n_perm,
                 rng):
    if len(groups) != 2:
        raise ParameterError(f"the permutation test compares two groups; {by!r} has "
                             f"{len(groups)} (subset the data or recode {by!r})")
    unit, ucodes, nu = _permutation_units(d, by, entity, cov, cluster)
    C, k, m = _unit_blocks(d, dep, xs, entity, time, fe, ucodes, nu)
    ug = np.zeros(nu, dtype=np.int8)
    ug[ucodes] = (d[by] == groups[1]).to_numpy()
    obs = _batched_difference(C, k, m, ug[None, :])[0]
    draws = _batched_difference(C, k, m, permuted_labels(ug, n_perm, rng))
    # ties within rounding count as "at least as large" (the identity permutation)
    tol = 1e-9 * np.maximum(np.abs(obs), 1e-12)
    one = np.where(obs >= 0, (draws >= obs - tol).mean(axis=0),
                   (draws <= obs + tol).mean(axis=0))
    two = (np.abs(draws) >= np.abs(obs) - tol).mean(axis=0)
    idx = [xs.index(x) for x in terms]
    frame = pd.DataFrame(draws[:, idx], columns=terms)
    frame.index.name = "draw"
    return obs[idx], one[idx], two[idx], frame, unit


# --------------------------------------------------------------------------- public
def compare_groups(
    data: pd.DataFrame,
    formula: str,
    *,
    by: str,
    entity: str,
    time: str,
    fe: str = "twoway",
    cov: str = "cluster",
    cluster: str | None = None,
    small_sample: str = "stata",
    method: str | Sequence[str] = METHODS,
    terms: str | Sequence[str] | None = None,
    n_perm: int = 1000,
    seed=None,
    missing: str = "raise",
    level: float = 0.95,
) -> CompareGroupsResult:
    """Test whether panel fixed-effects coefficients differ between groups.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel (never modified).
    formula : str
        ``"y ~ x1 + x2"`` with plain column names.
    by : str
        Group column (e.g. region); its sorted first level is the reference.
    entity, time : str
        Panel identifiers.
    fe : {"entity", "time", "twoway"}
        Fixed effects (common in the Chow model, group-specific in suest and bdiff).
    cov, cluster, small_sample
        Covariance of the group fits and the Chow model (see ``fit_panel``); suest
        uses ``"cluster"`` (by ``cluster``, default the entity) and otherwise
        ``"robust"`` (its covariance is always a sandwich).
    method : str or sequence of str
        Any of ``"chow"``, ``"suest"``, ``"permutation"``. The permutation unit is the
        cluster with ``cov="cluster"``, else the entity.
    terms : str or list of str, optional
        Coefficients to compare (default: every regressor).
    n_perm : int
        Permutation draws.
    seed : int or numpy Generator, optional
        Seed of the permutations (same seed, same draws).
    missing : {"raise", "drop"}
    level : float

    Returns
    -------
    CompareGroupsResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"id": np.repeat(np.arange(60), 5), "t": np.tile(np.arange(5), 60)})
    >>> df["east"] = (df["id"] < 30).astype(int)
    >>> df["x"] = rng.normal(size=300)
    >>> df["y"] = (0.5 + 0.5 * df["east"]) * df["x"] + rng.normal(size=300)
    >>> r = compare_groups(df, "y ~ x", by="east", entity="id", time="t", n_perm=200, seed=1)
    >>> bool(r.tests["p_permutation"].iloc[0] < 0.05), bool(r.suest_test.p_value < 0.05)
    (True, True)
    """
    methods = as_list(method, "method")
    for mth in methods:
        check_choice(mth, METHODS, "method")
    check_choice(fe, ("entity", "time", "twoway"), "fe")
    level = check_level(level)
    n_perm = check_positive_int(n_perm, "n_perm")
    rng = check_seed(seed)
    d, dep, xs, groups = _prepare(data, formula, by, entity, time, cluster,
                                       missing)
    terms = _check_terms(terms, xs)
    if cov in ("cluster", "twoway-cluster"):
        for c in as_list(cluster, "cluster") or [entity]:
            m = d.groupby(by)[c].nunique()
            if (m < 2).any():
                g = m.index[m < 2][0]
                raise EstimationError(f"group {by}={g!r} has {int(m[g])} cluster of {c!r}; "
                                      "clustered errors (and suest) need at least 2 per "
                                      "group")
    fits, rows = {}, []
    for g in groups:
        sub = d[d[by] == g]
        try:
            fits[g] = fit_panel(sub, formula, entity=entity, time=time, fe=fe, cov=cov,
                                cluster=cluster, small_sample=small_sample, level=level)
        except EstimationError as err:
            raise EstimationError(f"group {by}={g!r}: {err}") from None
        f = fits[g]
        for x in xs:
            rows.append({"group": g, "term": x, "estimate": float(f.params[x]),
                         "std_error": float(f.std_errors[x]), "p_value": float(f.pvalues[x]),
                         "nobs": f.nobs})
    by_group = pd.DataFrame(rows)
    tests = pd.DataFrame({"term": terms})
    tests["difference"] = [float(fits[groups[-1]].params[x] - fits[groups[0]].params[x])
                           for x in terms]
    chow = chow_model = suest_test = suest = draws = unit = None
    if "chow" in methods:
        chow_model, chow, pt = _chow(d, dep, xs, terms, by, groups, entity, time, fe, cov,
                                     cluster, small_sample, level)
        tests["p_chow"] = [pt[x] for x in terms]
    if "suest" in methods:
        suest, suest_test, pt = _suest(d, dep, xs, terms, by, groups, entity, time, fe,
                                       cov if cov in ("robust", "cluster") else "robust",
                                       cluster, level)
        tests["p_suest"] = [pt[x] for x in terms]
    if "permutation" in methods:
        diff, one, two, draws, unit = _permutation(d, dep, xs, terms, by, groups, entity,
                                                   time, fe, cov, cluster, n_perm, rng)
        tests["difference_permutation"] = diff
        tests["p_permutation"] = one
        tests["p_permutation_two_sided"] = two
    return CompareGroupsResult(groups=groups, terms=tuple(terms), by=by, by_group=by_group,
                               fits=fits, tests=tests, chow=chow, chow_model=chow_model,
                               suest_test=suest_test, suest=suest, permutation_draws=draws,
                               n_perm=n_perm, permutation_unit=unit)
