"""Weighted crosstabs with Rao–Scott, Pearson and linear-by-linear tests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtistat._results import Result, Summary
from dtistat._validate import (
    check_choice,
    check_columns,
    check_frame,
    warn,
)
from dtistat.errors import (
    DataError,
    EstimationError,
)
from dtistat.survey._common import (
    TESTS,
    _categories,
    _complete_answers,
    _fmt_table,
    _psu,
    _psu_sums,
    _scores,
    _weights,
    deprecated_weight,
)

__all__ = ["CrosstabResult", "crosstab"]

# ========================================================================== crosstab

@dataclass(frozen=True, eq=False, repr=False)
class CrosstabResult(Result):
    """Result of :func:`crosstab`.

    Attributes
    ----------
    row, col : the variables (``col`` is the question name for multi-select).
    multi : True for a multi-select question (``options`` are its options; each is a
        yes/no variable and percentages do not sum to 100).
    weighted : whether weights were used; n : respondents used; n_dropped : rows
        dropped for missing values; n_psu : primary sampling units (= n without
        ``cluster``).
    counts : weighted counts (row categories x column categories, or x options: the
        weighted number choosing each option).
    n_table : unweighted counts, same shape.
    row_pct : percent of each row category in each column (multi: percent of the row
        group choosing each option).
    col_pct : percent of each column (option) falling in each row category.
    tests : DataFrame (option, test, statistic, df1, df2, p_value), one row per test:
        ``rao-scott`` (second-order, F; svychisq's default), ``rao-scott-chisq``
        (second-order, Satterthwaite χ²), ``rao-scott-1`` (first-order χ²), ``pearson``
        (unweighted, as ``scipy.stats.chi2_contingency(correction=False)``),
        ``cramers-v`` (statistic only), ``linear-by-linear`` (Agresti's M²,
        unweighted, when both variables are ordered) and ``trend-design``
        (design-based Wald test of the slope, weighted data).
    test : the headline test chosen with ``test=``.
    """

    row: str
    col: str
    multi: bool
    options: tuple
    weighted: bool
    n: int
    n_dropped: int
    n_psu: int
    counts: pd.DataFrame
    n_table: pd.DataFrame
    row_pct: pd.DataFrame
    col_pct: pd.DataFrame
    tests: pd.DataFrame
    test: str

    def _headline_test(self, option: Any = None) -> pd.Series:
        t = self.tests[self.tests["test"] == self.test]
        if self.multi:
            t = t[t["option"] == (option if option is not None else self.options[0])]
        return t.iloc[0]

    @property
    def statistic(self) -> float:
        """Headline statistic (first option for multi-select)."""
        return float(self._headline_test()["statistic"])

    @property
    def p_value(self) -> float:
        """Headline p-value (first option for multi-select)."""
        return float(self._headline_test()["p_value"])

    @property
    def cramers_v(self) -> float:
        """Cramér's V of the unweighted table (first option for multi-select)."""
        t = self.tests[self.tests["test"] == "cramers-v"]
        return float(t["statistic"].iloc[0])

    def test_table(self) -> pd.DataFrame:
        """Tidy table of tests: option, test, statistic, df1, df2, p_value."""
        return self.tests.copy()

    def _headline(self) -> list[str]:
        return [f"{self.row} x {self.col}", f"n={self.n}",
                f"{self.test}={self.statistic:.4g}", f"p={self.p_value:.4g}"]

    def summary(self) -> Summary:
        """Counts, row percentages and the tests."""
        kind = "multi-select " if self.multi else ""
        tests = self.tests if self.multi else self.tests.drop(columns="option")
        notes = []
        if self.n_dropped:
            notes.append(f"Dropped: {self.n_dropped} row(s) with missing values")
        if self.multi:
            notes.append("Multi-select: row percentages choosing each option need not sum "
                         "to 100")
        header = [("Observations", self.n), ("Weighted", self.weighted)]
        if self.n_psu != self.n:
            header.append(("Clusters", self.n_psu))
        return Summary(f"Crosstab of {self.row} x {kind}{self.col}",
                       {"Weighted counts" if self.weighted else "Counts": self.counts,
                        "Row %": self.row_pct, "Tests": tests.set_index("test")},
                       header=header, notes=notes)

    def to_frame(self) -> pd.DataFrame:
        """Long table: row category, column/option, weighted count, n, row_pct, col_pct."""
        def long(df, name):
            s = df.stack()
            s.index.names = [self.row, "option" if self.multi else self.col]
            return s.rename(name)
        return pd.concat([long(self.counts, "weighted"), long(self.n_table, "n"),
                          long(self.row_pct, "row_pct"), long(self.col_pct, "col_pct")],
                         axis=1).reset_index()

    def __str__(self) -> str:
        kind = "multi-select " if self.multi else ""
        tests = self.tests if self.multi else self.tests.drop(columns="option")
        head = [
            f"Crosstab of {self.row} x {kind}{self.col} "
            f"({'weighted' if self.weighted else 'unweighted'}; n = {self.n}"
            + (f", {self.n_dropped} row(s) with missing values dropped" if self.n_dropped else "")
            + (f", {self.n_psu} clusters" if self.n_psu != self.n else "") + ")",
            "Weighted counts:" if self.weighted else "Counts:",
            _fmt_table(self.counts, 2),
            "Row %:" if not self.multi else "Row % choosing each option (need not sum to 100):",
            _fmt_table(self.row_pct, 1),
            "Tests:",
            tests.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep=""),
        ]
        return "\n".join(head)


def _rao_scott(r: np.ndarray, c: np.ndarray, R: int, C: int, w: np.ndarray,
               psu: np.ndarray, m: int) -> dict:
    """Pearson X² on the weighted table rescaled to n, with Rao–Scott corrections.

    Follows Rao & Scott (1984, Ann. Stat. 12(1):46-60) in the log-linear form of
    Lumley (2010, *Complex Surveys*, §6.3; R ``survey::svychisq``): with p the
    weighted cell proportions, V their linearization covariance, D = diag(p) and C a
    basis of interaction contrasts (orthogonal to row and column main effects),
    Delta = (C' D^-1 C / n)^-1 (C' D^-1 V D^-1 C). First order: X² / mean eigenvalue
    ~ chi²((R-1)(C-1)). Second order: F = X² / tr(Delta) ~ F(d, d nu), with
    d = tr(Delta)² / tr(Delta²) and nu = (number of PSUs) - 1.
    """
    n = w.size
    K = R * C
    cell = r * C + c
    W = w.sum()
    p = np.bincount(cell, weights=w, minlength=K) / W
    pr = p.reshape(R, C).sum(1)
    pc = p.reshape(R, C).sum(0)
    expct = np.outer(pr, pc).ravel()
    ok = expct > 0
    x2 = float(n * np.sum((p[ok] - expct[ok]) ** 2 / expct[ok]))

    # linearization of p = sum(w y)/sum(w): z_i = w_i (y_i - p) / W, summed within PSU;
    # V = m/(m-1) sum_psu z z'
    if m == n:
        # one respondent per PSU: sum_i z_i z_i' = diag(a) - a p' - p a' + (sum v) p p',
        # v_i = (w_i / W)^2, a_k = sum of v over cell k (no n x K matrix needed)
        v = (w / W) ** 2
        a = np.bincount(cell, weights=v, minlength=K)
        S = np.diag(a) - np.outer(a, p) - np.outer(p, a) + v.sum() * np.outer(p, p)
    else:
        Z = np.zeros((m, K))
        np.add.at(Z, (psu, cell), w / W)
        Z -= np.bincount(psu, weights=w, minlength=m)[:, None] / W * p[None, :]
        S = Z.T @ Z
    V = m / (m - 1) * S

    # main effects (intercept, rows, columns) on the R x C cells; the interaction
    # contrasts span their orthogonal complement
    X1 = np.column_stack([np.ones(K), np.kron(np.eye(R), np.ones((C, 1)))[:, 1:],
                          np.kron(np.ones((R, 1)), np.eye(C))[:, 1:]])
    q, _ = np.linalg.qr(X1, mode="complete")
    Cm = q[:, X1.shape[1]:]
    idm = np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), 0.0)
    denom = Cm.T @ (idm[:, None] * Cm) / n
    numr = Cm.T @ (idm[:, None] * V * idm[None, :]) @ Cm
    try:
        delta = np.linalg.solve(denom, numr)
    except np.linalg.LinAlgError:
        raise EstimationError(
            "the Rao–Scott design-effect matrix is singular (a whole row or column of the "
            "table is empty); merge sparse categories"
        ) from None
    k = (R - 1) * (C - 1)
    tr = float(np.trace(delta))
    tr2 = float(np.trace(delta @ delta))
    d0 = tr**2 / tr2
    nu = m - 1
    f2 = x2 / tr
    return {
        "x2": x2, "k": k, "nu": nu,
        "first": (x2 / (tr / k), float(k), np.nan, float(stats.chi2.sf(x2 / (tr / k), k))),
        "second_f": (f2, d0, d0 * nu, float(stats.f.sf(f2, d0, d0 * nu))),
        "second_chisq": (x2 * d0 / tr, d0, np.nan, float(stats.chi2.sf(x2 * d0 / tr, d0))),
    }


def _trend_design(x: np.ndarray, y: np.ndarray, w: np.ndarray, psu: np.ndarray,
                  m: int) -> tuple[float, float]:
    """Design-based Wald test of the slope of y on x (weighted LS, linearization).

    Variance as ``svyglm``: bread (X'WX)^-1, meat m/(m-1) times the sum over PSUs of
    the outer products of summed w x e. Returns (Wald statistic, p-value of F(1, m-1)).
    """
    X = np.column_stack([np.ones_like(x), x])
    A = X.T @ (w[:, None] * X)
    beta = np.linalg.solve(A, X.T @ (w * y))
    e = y - X @ beta
    U = _psu_sums(X * (w * e)[:, None], psu, m)
    Ainv = np.linalg.inv(A)
    V = Ainv @ (m / (m - 1) * U.T @ U) @ Ainv
    wald = float(beta[1] ** 2 / V[1, 1])
    return wald, float(stats.f.sf(wald, 1, m - 1))


def _tests_for(r, c, R, C, w, psu, m, weighted, row_scores, col_scores, option) -> list[dict]:
    cell = r * C + c
    ntab = np.bincount(cell, minlength=R * C).reshape(R, C).astype(float)
    n = r.size
    rows: list[dict] = []
    rs = _rao_scott(r, c, R, C, w, psu, m)
    rows.append({"test": "rao-scott", "statistic": rs["second_f"][0],
                 "df1": rs["second_f"][1], "df2": rs["second_f"][2],
                 "p_value": rs["second_f"][3]})
    rows.append({"test": "rao-scott-chisq", "statistic": rs["second_chisq"][0],
                 "df1": rs["second_chisq"][1], "df2": np.nan,
                 "p_value": rs["second_chisq"][3]})
    rows.append({"test": "rao-scott-1", "statistic": rs["first"][0], "df1": rs["first"][1],
                 "df2": np.nan, "p_value": rs["first"][3]})
    chi2, pval, dof, _ = stats.chi2_contingency(ntab, correction=False)
    rows.append({"test": "pearson", "statistic": float(chi2), "df1": float(dof),
                 "df2": np.nan, "p_value": float(pval)})
    rows.append({"test": "cramers-v",
                 "statistic": math.sqrt(chi2 / (n * (min(R, C) - 1))),
                 "df1": np.nan, "df2": np.nan, "p_value": np.nan})
    if row_scores is not None and col_scores is not None:
        x, y = row_scores[r], col_scores[c]
        rr = float(np.corrcoef(x, y)[0, 1])
        m2 = (n - 1) * rr**2
        rows.append({"test": "linear-by-linear", "statistic": m2, "df1": 1.0,
                     "df2": np.nan, "p_value": float(stats.chi2.sf(m2, 1))})
        if weighted or m != n:
            wald, p = _trend_design(x, y, w, psu, m)
            rows.append({"test": "trend-design", "statistic": wald, "df1": 1.0,
                         "df2": float(m - 1), "p_value": p})
    for d in rows:
        d["option"] = option
    return rows


def _warn_empty(ntab: pd.DataFrame, what: str) -> None:
    """Warn about the empty cells of ``ntab`` by name (called from a step of crosstab)."""
    zero = [(i, j) for i in ntab.index for j in ntab.columns if ntab.loc[i, j] == 0]
    if zero:
        cells = ", ".join(f"({a!r}, {b!r})" for a, b in zero[:10])
        warn(
            f"{what}: {len(zero)} empty cell(s) {cells}{' ...' if len(zero) > 10 else ''}; "
            f"χ² tests are unreliable with empty cells — consider merging categories",
            stacklevel=5,
        )


def crosstab(
    data: pd.DataFrame,
    row: str,
    col: str | list[str],
    *,
    weights: str | None = None,
    multi: str | bool | None = None,
    test: str = "rao-scott",
    cluster: str | None = None,
    weight: str | None = None,
) -> CrosstabResult:
    """Weighted crosstab with design-based (Rao–Scott) and unweighted χ² tests.

    Parameters
    ----------
    data : DataFrame of respondents (not modified).
    row : grouping variable (industry, city tier, employer size, ...).
    col : the answer variable; for a multi-select question either a list of 0/1
        option columns, or one column of delimited answers with ``multi=<delimiter>``.
    weights : column of positive weights (e.g. from :func:`rake`); default unweighted.
    weight : deprecated spelling of ``weights``.
    multi : delimiter of a multi-select answer column (e.g. ``";"``); ``None`` (or
        ``True``) for a list of 0/1 columns or a single-choice question.
    test : headline test, one of ``"rao-scott"`` (second-order Rao–Scott F, the
        default of R ``svychisq``), ``"rao-scott-1"`` (first-order, svychisq
        ``statistic="Chisq"``) or ``"pearson"`` (unweighted). All are computed and
        listed in ``tests``.
    cluster : optional column of primary sampling units for a single-stage cluster
        design (the design-based variance then sums within clusters, nu = clusters - 1).

    Returns
    -------
    CrosstabResult

    Notes
    -----
    Rows with a missing row, column or cluster value are dropped (counted in
    ``n_dropped``); for 0/1 option columns a respondent missing any option is dropped.
    The Rao–Scott test follows Rao & Scott (1984, Ann. Stat. 12:46-60) as implemented
    in R ``survey::svychisq`` (Lumley 2010, *Complex Surveys*, §6.3): Pearson's X² of
    the weighted table rescaled to the sample size, divided by the trace of the
    generalized design-effect matrix, referred to F(d, d·nu) with Satterthwaite
    d = tr(Δ)²/tr(Δ²). The linear-by-linear test (Agresti 2013, *Categorical Data
    Analysis*, 3rd ed., §3.4.1) is M² = (n - 1) r², r the correlation of row and
    column scores over respondents; scores are the values of numeric columns and 1..k
    for ordered categoricals; it is run when both variables are ordered (numeric,
    boolean, ordered Categorical, or a multi-select option against an ordered row).
    Categories with no respondent (unused Categorical levels) are left out; empty
    cells inside the table are warned about by name. The design-based trend test
    (``trend-design``, weighted or clustered data) is the Wald test of the slope in the
    weighted least-squares regression of column scores on row scores with the
    linearization (sandwich) variance of ``svyglm``, referred to F(1, nu).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"size": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3],
    ...                   "trained": ["no", "no", "yes", "no", "yes", "yes",
    ...                               "yes", "yes", "yes", "no"]})
    >>> res = crosstab(d, "size", "trained")
    >>> res.row_pct.round(1).loc[3].tolist()
    [25.0, 75.0]
    >>> sorted(res.tests["test"])[:3]
    ['cramers-v', 'linear-by-linear', 'pearson']
    """
    weights = deprecated_weight(weights, weight, "crosstab")
    check_frame(data)
    check_choice(test, TESTS, "test")
    is_multi = isinstance(col, (list, tuple)) or isinstance(multi, str)
    w_all, keep, ind_all, qname = _complete_rows(data, row, col, multi, cluster, weights,
                                                 is_multi)
    d = data.loc[keep]
    n = int(keep.sum())
    if n < 2:
        raise DataError(f"crosstab of {row!r} x {col!r} has {n} complete row(s); need >= 2")
    w = w_all[keep]
    r, rlab, rord = _categories(d[row])
    psu, m = _psu(d, cluster, n)
    if m < 2:
        raise DataError(f"cluster column {cluster!r} has one cluster; need >= 2")
    design = _Design(r, pd.Index(rlab, name=row), w, psu, m, weights is not None,
                     _scores(rlab) if (rord or len(rlab) == 2) else None)
    if not is_multi:
        tables = _single_choice(d, row, col, design)
        options: tuple = ()
        qname = str(col)
    else:
        options = tuple(ind_all.columns)
        tables = _multi_select(ind_all.loc[keep], row, qname, design)
    counts, n_table, row_pct, col_pct, tests = tables
    tdf = pd.DataFrame(tests, columns=["option", "test", "statistic", "df1", "df2", "p_value"])
    return CrosstabResult(
        row=str(row), col=qname, multi=is_multi, options=options,
        weighted=weights is not None, n=n, n_dropped=len(data) - n, n_psu=m,
        counts=counts, n_table=n_table, row_pct=row_pct, col_pct=col_pct,
        tests=tdf, test=test,
    )


@dataclass(frozen=True, eq=False, repr=False)
class _Design:
    """The complete rows' row codes and labels, weights and sampling units."""

    r: np.ndarray
    rindex: pd.Index
    w: np.ndarray
    psu: np.ndarray
    m: int
    weighted: bool
    row_scores: np.ndarray | None

    def tests(self, c: np.ndarray, C: int, col_scores, option) -> list[dict]:
        """The tests of the row variable against column codes ``c`` (C categories)."""
        return _tests_for(self.r, c, len(self.rindex), C, self.w, self.psu, self.m,
                          self.weighted, self.row_scores, col_scores, option)


def _complete_rows(data: pd.DataFrame, row: str, col: Any, multi: Any,
                   cluster: str | None, weights: str | None, is_multi: bool):
    """Check the columns; return all weights, the complete-row mask, the option
    indicators (multi-select, else None) and the question name (multi-select)."""
    check_columns(data, [row], what="row column")
    if cluster is not None:
        check_columns(data, [cluster], what="cluster column")
    w_all = _weights(data, weights)
    others = [row] + ([cluster] if cluster is not None else [])
    return (w_all,) + _complete_answers(data, col, multi, is_multi, others, "col")


def _single_choice(d: pd.DataFrame, row: str, col: str, g: _Design) -> tuple:
    """Counts, n table, row and column percentages and tests of a single-choice
    question."""
    c, clab, cord = _categories(d[col])
    R, C = len(g.rindex), len(clab)
    if R < 2 or C < 2:
        raise DataError(
            f"crosstab needs at least two categories in each variable; {row!r} has "
            f"{R} and {col!r} has {C} among the complete rows"
        )
    col_scores = _scores(clab) if (cord or C == 2) else None
    cindex = pd.Index(clab, name=col)
    cnt = np.bincount(g.r * C + c, weights=g.w, minlength=R * C).reshape(R, C)
    ncnt = np.bincount(g.r * C + c, minlength=R * C).reshape(R, C)
    counts = pd.DataFrame(cnt, index=g.rindex, columns=cindex)
    n_table = pd.DataFrame(ncnt, index=g.rindex, columns=cindex)
    _warn_empty(n_table, f"crosstab {row!r} x {col!r}")
    tests = g.tests(c, C, col_scores, None)
    row_pct = counts.div(counts.sum(axis=1), axis=0) * 100
    col_pct = counts.div(counts.sum(axis=0), axis=1) * 100
    return counts, n_table, row_pct, col_pct, tests


def _multi_select(ind: pd.DataFrame, row: str, qname: str, g: _Design) -> tuple:
    """Counts, n table, row and column percentages and per-option tests of a
    multi-select question (each option a yes/no variable)."""
    R = len(g.rindex)
    if R < 2:
        raise DataError(f"row variable {row!r} has one category among complete rows")
    yes = ind.to_numpy(dtype=float)
    base = np.bincount(g.r, weights=g.w, minlength=R)
    cnt = np.column_stack([np.bincount(g.r, weights=g.w * yes[:, j], minlength=R)
                           for j in range(yes.shape[1])])
    ncnt = np.column_stack([np.bincount(g.r, weights=yes[:, j], minlength=R)
                            for j in range(yes.shape[1])]).astype(np.int64)
    oindex = pd.Index(tuple(ind.columns), name="option")
    counts = pd.DataFrame(cnt, index=g.rindex, columns=oindex)
    n_table = pd.DataFrame(ncnt, index=g.rindex, columns=oindex)
    row_pct = counts.div(base, axis=0) * 100
    col_pct = counts.div(counts.sum(axis=0).where(lambda s: s > 0), axis=1) * 100
    tests = []
    nbase = np.bincount(g.r, minlength=R)
    for j, o in enumerate(ind.columns):
        cj = yes[:, j].astype(np.int64)
        if cj.min() == cj.max():
            warn(f"option {o!r} of {qname!r} is chosen by "
                 f"{'everyone' if cj[0] else 'no one'}; it has no test", stacklevel=4)
            continue
        tab = pd.DataFrame(np.column_stack([nbase - ncnt[:, j], ncnt[:, j]]),
                           index=g.rindex, columns=pd.Index(["no", "yes"], name=str(o)))
        _warn_empty(tab, f"crosstab {row!r} x option {o!r}")
        tests += g.tests(cj, 2, np.array([0.0, 1.0]), o)
    return counts, n_table, row_pct, col_pct, tests
